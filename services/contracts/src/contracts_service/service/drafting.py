"""Contracts from approved reservations; every version a new immutable document.

Who lends: the institution's registered legal details when there are any, else the
municipality's (the owner of the devices). With neither registered the contract is still
drafted, naming the lender by its registry code, with a visible notice in the PDF, in state
`drafted`: nobody can sign it yet, because a school would not sign a contract that does not
name it properly. Registering the details re-renders such contracts (a new version) and opens
them for signing; a contract awaiting the borrower is re-rendered too when its lender's details
change. Once the borrower has signed, the document no longer changes.

The signing deadline starts when a contract becomes signable. Rendering runs in the press
(`document/press.py`: a worker process) so that a request or consumer does not stall the event
loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service import events
from contracts_service.config import ContractsSettings
from contracts_service.document.model import (
    BorrowerData,
    ContractData,
    DeviceData,
    LenderData,
    SignatureLine,
)
from contracts_service.document.press import Press
from contracts_service.document.template import TEMPLATE_VERSION
from contracts_service.gateway import PersonIdentity
from contracts_service.models import (
    Contract,
    ContractDocument,
    ContractState,
    Device,
    DocumentKind,
    Lender,
    LenderKind,
)
from contracts_service.repository import ContractRepository, DocumentRepository, LenderRepository
from shared_kit.crypto import RotatingCipher

# Contracts whose document may still change when the lender's details do.
RERENDERABLE = (ContractState.DRAFTED, ContractState.AWAITING_BORROWER)


@dataclass(frozen=True)
class ReservationFacts:
    """What an approved reservation tells drafting."""

    reservation_id: uuid.UUID
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    learner_id: str
    borrower_id: uuid.UUID
    period_start: dt.datetime
    period_end: dt.datetime


def contract_number(contract_id: uuid.UUID, drafted_at: dt.datetime) -> str:
    """The number printed on the contract, e.g. DL-2026-1A2B3C4D."""
    return f"DL-{drafted_at:%Y}-{contract_id.hex[:8].upper()}"


def device_data(device: Device) -> DeviceData:
    """The device as a contract prints it."""
    model = " ".join(p for p in (device.manufacturer, device.model) if p)
    return DeviceData(
        device_id=device.id,
        asset_tag=device.asset_tag,
        serial_number=device.serial_number,
        model=model or device.catalogue_item_code,
        category=device.category,
        accessories=list(device.accessories or []),
        value=device.purchase_price,
        insured_until=device.insured_until,
    )


def lender_data(
    lender: Lender | None, institution_number: str, municipality_code: str
) -> LenderData:
    """The lender as printed: its record, or the institution's registry code alone."""
    if lender is None:
        return LenderData(
            kind="institution", code=institution_number, municipality_code=municipality_code
        )
    return LenderData(
        kind=lender.kind.value,
        code=lender.code,
        municipality_code=lender.municipality_code,
        name=lender.name,
        registration_number=lender.registration_number,
        address=lender.address,
        representative=lender.representative,
    )


async def resolve_lender(
    session: AsyncSession, institution_number: str, municipality_code: str
) -> LenderData:
    """The institution's legal details, else the municipality's, else registry codes only."""
    repo = LenderRepository(session)
    lender = await repo.get(LenderKind.INSTITUTION, institution_number)
    if lender is None or lender.municipality_code != municipality_code:
        lender = await repo.get(LenderKind.MUNICIPALITY, municipality_code)
    return lender_data(lender, institution_number, municipality_code)


def contract_data(
    contract: Contract,
    personal_code: SecretStr | None,
    *,
    version: int,
    issued_at: dt.datetime,
    kind: str = "draft",
    signatures: list[SignatureLine] | None = None,
) -> ContractData:
    """Everything a document of this contract prints (the agreement's text: no personal code)."""
    terms = contract.terms
    return ContractData(
        contract_id=contract.id,
        number=contract.number,
        version=version,
        kind=kind,
        template_version=contract.template_version,
        issued_at=issued_at,
        lender=LenderData.model_validate(terms["lender"]),
        borrower=BorrowerData(
            person_id=contract.borrower_id,
            given_name=contract.borrower_given_name,
            family_name=contract.borrower_family_name,
            personal_code=personal_code,
        ),
        learner=terms["learner"],
        institution_number=contract.institution_number,
        device=DeviceData.model_validate(terms["device"]),
        period_start=contract.period_start,
        period_end=contract.period_end,
        signatures=signatures or [],
    )


def personal_code(contract: Contract, cipher: RotatingCipher) -> SecretStr:
    """The borrower's personal code, wrapped so that it never shows in a repr or a log line."""
    return SecretStr(cipher.decrypt(contract.borrower_personal_code_encrypted))


def new_document(
    contract: Contract, data: ContractData, pdf: bytes, kind: DocumentKind
) -> ContractDocument:
    """An immutable document row for rendered (or sealed) bytes."""
    return ContractDocument(
        id=uuid.uuid4(),
        contract_id=contract.id,
        number=data.version,
        kind=kind,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        pdf=pdf,
        template_version=data.template_version,
        created_at=data.issued_at,
    )


async def render_version(
    session: AsyncSession,
    contract: Contract,
    cipher: RotatingCipher,
    press: Press,
    now: dt.datetime,
) -> ContractDocument:
    """Render the contract's terms as its next version and make that the current one."""
    number = await DocumentRepository(session).next_number(contract.id)
    data = contract_data(contract, personal_code(contract, cipher), version=number, issued_at=now)
    pdf = await press.render(data)
    document = new_document(contract, data, pdf, DocumentKind.DRAFT)
    DocumentRepository(session).add(document)
    contract.current_document = number
    return document


async def draft(
    *,
    session: AsyncSession,
    settings: ContractsSettings,
    cipher: RotatingCipher,
    press: Press,
    facts: ReservationFacts,
    device: Device,
    borrower: PersonIdentity,
    learner_name: str | None,
    now: dt.datetime,
) -> Contract:
    """Draft the contract of an approved reservation (the existing one when drafted before)."""
    repo = ContractRepository(session)
    existing = await repo.by_reservation(facts.reservation_id)
    if existing is not None:
        return existing
    lender = await resolve_lender(session, facts.institution_number, facts.municipality_code)
    contract_id = uuid.uuid4()
    terms: dict[str, Any] = {
        "lender": lender.model_dump(mode="json"),
        "device": device_data(device).model_dump(mode="json"),
        "learner": learner_name or f"ID {facts.learner_id}",
    }
    contract = Contract(
        id=contract_id,
        number=contract_number(contract_id, now),
        reservation_id=facts.reservation_id,
        device_id=facts.device_id,
        municipality_code=facts.municipality_code,
        institution_number=facts.institution_number,
        learner_id=facts.learner_id,
        borrower_id=facts.borrower_id,
        borrower_given_name=borrower.given_name,
        borrower_family_name=borrower.family_name,
        borrower_personal_code_encrypted=cipher.encrypt(borrower.personal_code.get_secret_value()),
        period_start=facts.period_start,
        period_end=facts.period_end,
        state=ContractState.AWAITING_BORROWER if lender.complete else ContractState.DRAFTED,
        template_version=TEMPLATE_VERSION,
        terms=terms,
        lender_complete=lender.complete,
        sign_by=now + dt.timedelta(days=settings.signing_deadline_days),
        drafted_at=now,
    )
    repo.add(contract)
    document = await render_version(session, contract, cipher, press, now)
    await session.flush()
    _drafted(session, contract, document)
    return contract


def _drafted(session: AsyncSession, contract: Contract, document: ContractDocument) -> None:
    events.publish(
        session,
        events.DRAFTED,
        contract,
        document,
        sign_by=contract.sign_by,
        lender_complete=contract.lender_complete,
    )


async def refresh_lender(
    *,
    session: AsyncSession,
    settings: ContractsSettings,
    cipher: RotatingCipher,
    press: Press,
    kind: LenderKind,
    code: str,
    municipality_code: str,
    now: dt.datetime,
) -> int:
    """Re-render the not-yet-signed contracts whose lender details changed; how many."""
    contracts = await ContractRepository(session).awaiting_lender_details(kind, code, RERENDERABLE)
    changed = 0
    for contract in contracts:
        if contract.municipality_code != municipality_code:
            continue  # a lender record never reaches into another municipality's contracts
        lender = await resolve_lender(
            session, contract.institution_number, contract.municipality_code
        )
        if LenderData.model_validate(contract.terms["lender"]) == lender:
            continue
        contract.terms = {**contract.terms, "lender": lender.model_dump(mode="json")}
        contract.lender_complete = lender.complete
        if contract.state is ContractState.DRAFTED and lender.complete:
            contract.state = ContractState.AWAITING_BORROWER
            contract.sign_by = now + dt.timedelta(days=settings.signing_deadline_days)
        document = await render_version(session, contract, cipher, press, now)
        await session.flush()
        _drafted(session, contract, document)
        changed += 1
    return changed
