"""Signing: the borrower signs a version after a strong, recent login; the lender countersigns;
then the final PDF is rendered with a signature page and sealed (PAdES).

The login policy reads the access token's `idp`, `amr` and `auth_time` claims (the gateway
copies them from the identity provider's assertion). The borrower names the version they
read by its SHA-256 or number; anything but the current version is refused. The lender
countersigns the version the borrower signed. The record of each signature keeps who, when,
how they had logged in, the document hash, the consent text version, address and agent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service import events
from contracts_service.config import ContractsSettings
from contracts_service.document.model import SignatureLine
from contracts_service.document.press import Press
from contracts_service.document.template import CONSENT_VERSION
from contracts_service.exceptions import (
    AlreadySigned,
    BorrowerHasNotSigned,
    ConsentOutdated,
    ContractNotReady,
    DeviceOutOfService,
    IllegalState,
    LoginTooOld,
    LoginTooWeak,
    SupersededVersion,
    UnknownDocument,
)
from contracts_service.models import (
    Contract,
    ContractDocument,
    ContractState,
    DocumentKind,
    Party,
    Signature,
)
from contracts_service.repository import (
    DeviceRepository,
    DocumentRepository,
    SignatureRepository,
)
from contracts_service.service import access
from contracts_service.service.drafting import contract_data, new_document, personal_code
from shared_kit.auth import Principal
from shared_kit.crypto import RotatingCipher

S = ContractState
# Inventory statuses of a device that cannot be handed over.
OUT_OF_SERVICE = ("in_repair", "lost", "stolen", "written_off")
SEAL_REASON = "Patapinājuma līgums parakstīts / Loan agreement signed"


class PolicyHint(TypedDict):
    """The login policy as a refusal's problem details state it."""

    required_idp: str | None
    allowed_amr: list[str]
    max_age_s: int


@dataclass(frozen=True)
class LoginPolicy:
    """What login a borrower needs to sign."""

    required_idp: str | None
    allowed_amr: frozenset[str]
    max_age_s: int

    @classmethod
    def from_settings(cls, settings: ContractsSettings) -> LoginPolicy:
        """The configured policy (an empty IdP or method list means any)."""
        return cls(
            settings.sign_required_idp or None,
            frozenset(settings.sign_allowed_amr),
            settings.sign_max_age_s,
        )

    def check(self, principal: Principal, now: dt.datetime) -> None:
        """Raise 403 when the login is too weak or too old to sign."""
        claims = principal.claims
        hint: PolicyHint = {
            "required_idp": self.required_idp,
            "allowed_amr": sorted(self.allowed_amr),
            "max_age_s": self.max_age_s,
        }
        idp, amr = claims.get("idp"), set(claims.get("amr") or [])
        if (self.required_idp and idp != self.required_idp) or (
            self.allowed_amr and not amr & self.allowed_amr
        ):
            raise LoginTooWeak(
                "Signing needs a login through Latvija.lv with eParaksts, eID, a bank or "
                "Smart-ID; log in again that way and sign",
                **hint,
            )
        auth_time = claims.get("auth_time")
        age = now.timestamp() - float(auth_time) if isinstance(auth_time, int | float) else None
        if age is None or age > self.max_age_s or age < -60:
            raise LoginTooOld(
                f"Signing needs a login within the last {self.max_age_s // 60} minutes; log in "
                "again through Latvija.lv and sign",
                **hint,
            )


@dataclass(frozen=True)
class SigningRequest:
    """What the signer says they sign, and where the request came from."""

    document_sha256: str | None
    document_version: int | None
    consent_version: str
    client_address: str | None
    user_agent: str | None


async def requested_document(
    session: AsyncSession, contract: Contract, request: SigningRequest
) -> ContractDocument:
    """The version the signer names; 409 when it is not the current one."""
    repo = DocumentRepository(session)
    document = None
    if request.document_sha256 is not None:
        document = await repo.by_sha256(contract.id, request.document_sha256.lower())
    elif request.document_version is not None:
        document = await repo.get(contract.id, request.document_version)
    if document is None or document.kind is not DocumentKind.DRAFT:
        raise UnknownDocument("This contract has no such version to sign")
    if request.document_version is not None and document.number != request.document_version:
        raise UnknownDocument("The version number and the SHA-256 name different versions")
    if document.number != contract.current_document:
        raise SupersededVersion(
            f"Version {document.number} was replaced by version {contract.current_document}; "
            "read the new version and sign it",
            current_version=contract.current_document,
        )
    if request.consent_version != CONSENT_VERSION:
        raise ConsentOutdated(
            "The consent text changed; show the current one and sign again",
            current_consent_version=CONSENT_VERSION,
        )
    return document


def _signature(
    contract: Contract,
    document: ContractDocument,
    party: Party,
    principal: Principal,
    name: str | None,
    request: SigningRequest,
    now: dt.datetime,
) -> Signature:
    auth_time = principal.claims.get("auth_time")
    return Signature(
        id=uuid.uuid4(),
        contract_id=contract.id,
        document_id=document.id,
        party=party,
        signer_id=principal.subject,
        signer_name=name,
        signed_at=now,
        idp=principal.claims.get("idp"),
        amr=list(principal.claims.get("amr") or []),
        auth_time=dt.datetime.fromtimestamp(auth_time, dt.UTC)
        if isinstance(auth_time, int | float)
        else None,
        document_sha256=document.sha256,
        consent_version=request.consent_version,
        client_address=request.client_address,
        user_agent=(request.user_agent or "")[:500] or None,
    )


async def sign(
    *,
    session: AsyncSession,
    settings: ContractsSettings,
    principal: Principal,
    contract: Contract,
    request: SigningRequest,
    now: dt.datetime,
) -> Contract:
    """The borrower signs the current version."""
    access.check_borrower(principal, contract)
    if contract.state is S.DRAFTED:
        raise ContractNotReady("The lender's details are still missing; it cannot be signed yet")
    if contract.borrower_signed_at is not None:
        raise AlreadySigned("You have already signed this contract")
    if contract.state is not S.AWAITING_BORROWER:
        raise IllegalState(f"A {contract.state.value} contract cannot be signed")
    document = await requested_document(session, contract, request)
    LoginPolicy.from_settings(settings).check(principal, now)
    name = " ".join(p for p in (contract.borrower_given_name, contract.borrower_family_name) if p)
    SignatureRepository(session).add(
        _signature(contract, document, Party.BORROWER, principal, name or None, request, now)
    )
    contract.state = S.AWAITING_LENDER
    contract.borrower_signed_at = now
    await session.flush()
    events.publish(session, events.SIGNED_BY_BORROWER, contract, document, signed_at=now)
    return contract


async def countersign(
    *,
    session: AsyncSession,
    settings: ContractsSettings,
    principal: Principal,
    contract: Contract,
    request: SigningRequest,
    now: dt.datetime,
    cipher: RotatingCipher,
    press: Press,
) -> Contract:
    """The lender countersigns; the final PDF is sealed and the contract becomes active."""
    access.check_lender(principal, contract)
    if contract.state in (S.DRAFTED, S.AWAITING_BORROWER):
        raise BorrowerHasNotSigned("The borrower signs first; the lender countersigns after")
    if contract.lender_signed_at is not None:
        raise AlreadySigned("The lender has already countersigned this contract")
    if contract.state is not S.AWAITING_LENDER:
        raise IllegalState(f"A {contract.state.value} contract cannot be countersigned")
    await check_handover(session, contract)
    document = await requested_document(session, contract, request)
    lender_name = contract.terms["lender"].get("name") or contract.institution_number
    signature = _signature(contract, document, Party.LENDER, principal, lender_name, request, now)
    signatures = [*await SignatureRepository(session).of(contract.id), signature]
    SignatureRepository(session).add(signature)
    sealed = await seal_contract(session, contract, signatures, now, cipher, press, settings)
    contract.state = S.ACTIVE
    contract.lender_signed_at = contract.activated_at = now
    await session.flush()
    events.publish(session, events.ACTIVATED, contract, sealed, activated_at=now)
    return contract


async def check_handover(session: AsyncSession, contract: Contract) -> None:
    """The device can be handed over: the inventory has it in service at the contract's school
    (as the read model last heard; the reservation then withdraws it and the contract is
    cancelled)."""
    device = await DeviceRepository(session).get(contract.device_id)
    status = device.status if device is not None else None
    if status in OUT_OF_SERVICE:
        raise DeviceOutOfService(f"The device is {status.replace('_', ' ')}")
    school = device.institution_number if device is not None else None
    if school not in (None, contract.institution_number):
        raise DeviceOutOfService("The device has moved to another school")


def signature_line(signature: Signature, version: int) -> SignatureLine:
    """A signature as the signature page prints it."""
    method = " / ".join(
        p for p in (signature.idp, ", ".join(signature.amr) if signature.amr else None) if p
    )
    return SignatureLine(
        party=signature.party.value,
        name=signature.signer_name or "—",
        signer_id=signature.signer_id,
        signed_at=signature.signed_at,
        method=method or "—",
        document_version=version,
        document_sha256=signature.document_sha256,
        consent_version=signature.consent_version,
    )


async def seal_contract(
    session: AsyncSession,
    contract: Contract,
    signatures: list[Signature],
    now: dt.datetime,
    cipher: RotatingCipher,
    press: Press,
    settings: ContractsSettings,
) -> ContractDocument:
    """Render the final document with its signature page, seal it, store it as current."""
    number = await DocumentRepository(session).next_number(contract.id)
    lines = [signature_line(s, contract.current_document) for s in signatures]
    data = contract_data(
        contract,
        personal_code(contract, cipher),
        version=number,
        issued_at=now,
        kind="sealed",
        signatures=lines,
    )
    pdf = await press.render_and_seal(data, reason=SEAL_REASON, location=settings.seal_location)
    document = new_document(contract, data, pdf, DocumentKind.SEALED)
    DocumentRepository(session).add(document)
    contract.current_document = number
    return document
