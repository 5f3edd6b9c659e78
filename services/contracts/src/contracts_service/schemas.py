"""API schemas: `XCreate` / `XUpdate` / `XRead`; no schema ever carries a personal code."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from contracts_service.document.text import AgreementText
from contracts_service.models import (
    Contract,
    ContractState,
    DocumentKind,
    LenderKind,
    Party,
    ReturnCondition,
    Signature,
)
from shared_kit.fields import ATVK_PATTERN
from shared_kit.schemas import ReadModel, Strict

SHA256 = r"^[0-9a-fA-F]{64}$"
PERIOD_END = (
    "The loan's end, exclusive: the device is due back before this moment. At midnight in Riga "
    "the last day of the loan is the day before (the agreement prints that day, inclusive); "
    "any other end is printed with its time."
)

LENDER_CODE_PATTERN = r"^[0-9]{7,10}$"  # an ATVK code or a VIIS registration number


# Lenders ------------------------------------------------------------------------------------


class LenderUpdate(Strict):
    """Changed legal details of a lender."""

    name: str | None = Field(None, min_length=2, max_length=300)
    registration_number: str | None = Field(None, pattern=r"^[0-9A-Z]{5,30}$")
    address: str | None = Field(None, min_length=5, max_length=500)
    representative: str | None = Field(None, min_length=3, max_length=300)

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        if any(getattr(self, k) is None for k in self.model_fields_set):
            raise ValueError("fields may be changed, not removed")
        return self


class LenderCreate(Strict):
    """A lender's legal details: the municipality (ATVK code) or an institution (VIIS number)."""

    kind: LenderKind
    code: str = Field(
        pattern=LENDER_CODE_PATTERN, description="ATVK code or VIIS registration number"
    )
    municipality_code: str = Field(pattern=ATVK_PATTERN)
    name: str = Field(min_length=2, max_length=300)
    registration_number: str = Field(
        pattern=r"^[0-9A-Z]{5,30}$", description="Register of Enterprises / taxpayer number"
    )
    address: str = Field(min_length=5, max_length=500)
    representative: str = Field(
        min_length=3, max_length=300, description="Who signs for the lender, e.g. the director"
    )

    @model_validator(mode="after")
    def _municipality_is_itself(self) -> Self:
        if self.kind is LenderKind.MUNICIPALITY and self.code != self.municipality_code:
            raise ValueError("a municipality lender's code is its own ATVK code")
        return self


class LenderRead(ReadModel):
    """A lender."""

    id: uuid.UUID
    kind: LenderKind
    code: str
    municipality_code: str
    name: str
    registration_number: str
    address: str
    representative: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


# Contracts ----------------------------------------------------------------------------------


class DocumentRead(ReadModel):
    """A version of a contract's document (the PDF is downloaded separately)."""

    number: int
    kind: DocumentKind
    sha256: str
    size: int
    template_version: str
    created_at: dt.datetime
    current: bool = False


class AgreementTextRead(BaseModel):
    """The agreement's text of one version, as its PDF prints it; no personal code (that
    appears in the PDF only). The signature records are the contract's `signatures`."""

    contract_id: uuid.UUID
    number: str = Field(description="The contract's number, as printed")
    document_version: int
    document_kind: DocumentKind
    document_sha256: str = Field(description="SHA-256 of the PDF this text is printed in")
    template_version: str
    issued_at: dt.datetime
    texts: list[AgreementText] = Field(
        description="One rendering per language: Latvian first (it prevails), then English"
    )


class SignatureRead(BaseModel):
    """A signature on a contract."""

    party: Party
    signer_id: str
    signer_name: str | None
    signed_at: dt.datetime
    idp: str | None
    amr: list[str]
    auth_time: dt.datetime | None
    document_version: int
    document_sha256: str
    consent_version: str

    @classmethod
    def of(cls, signature: Signature) -> SignatureRead:
        """From a signature whose document is loaded."""
        return cls(
            party=signature.party,
            signer_id=signature.signer_id,
            signer_name=signature.signer_name,
            signed_at=signature.signed_at,
            idp=signature.idp,
            amr=list(signature.amr),
            auth_time=signature.auth_time,
            document_version=signature.document.number,
            document_sha256=signature.document_sha256,
            consent_version=signature.consent_version,
        )


class ContractRead(BaseModel):
    """A loan contract."""

    id: uuid.UUID
    number: str
    state: ContractState
    overdue: bool
    reservation_id: uuid.UUID
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    learner_id: str
    learner: str
    borrower_id: uuid.UUID
    borrower_name: str | None
    lender: dict[str, Any]
    lender_complete: bool
    device: dict[str, Any]
    period_start: dt.datetime
    period_end: dt.datetime = Field(description=PERIOD_END)
    template_version: str
    current_document: int
    sign_by: dt.datetime
    drafted_at: dt.datetime
    borrower_signed_at: dt.datetime | None
    lender_signed_at: dt.datetime | None
    activated_at: dt.datetime | None
    returned_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    expired_at: dt.datetime | None
    terminated_at: dt.datetime | None
    overdue_since: dt.datetime | None
    end_reason: str | None
    device_loss: str | None = Field(
        None, description="lost or stolen: confirmed by the tickets service during the loan"
    )
    device_loss_at: dt.datetime | None = None
    device_loss_ticket_id: uuid.UUID | None = None
    signatures: list[SignatureRead]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, contract: Contract, signatures: list[Signature]) -> ContractRead:
        """From a contract and its signatures."""
        name = " ".join(
            p for p in (contract.borrower_given_name, contract.borrower_family_name) if p
        )
        fields = {k: getattr(contract, k) for k in cls.model_fields if hasattr(contract, k)}
        return cls(
            **fields,
            overdue=contract.overdue_since is not None and contract.state is ContractState.ACTIVE,
            learner=contract.terms["learner"],
            borrower_name=name or None,
            lender=contract.terms["lender"],
            device=contract.terms["device"],
            signatures=[SignatureRead.of(s) for s in signatures],
        )


class SignRequest(Strict):
    """What the signer read and agreed to: a version (by SHA-256 or number) and the consent."""

    document_sha256: str | None = Field(None, pattern=SHA256)
    document_version: int | None = Field(None, ge=1)
    consent_version: str = Field(min_length=1, max_length=40)

    @model_validator(mode="after")
    def _names_a_version(self) -> Self:
        if self.document_sha256 is None and self.document_version is None:
            raise ValueError("give document_sha256 or document_version")
        return self


class TerminateRequest(Strict):
    """Why an active loan ends early."""

    reason: str = Field(min_length=3, max_length=2000)


class ConsentRead(BaseModel):
    """The text a signer agrees to, by version."""

    version: str
    lv: str
    en: str


class PhotoRead(BaseModel):
    """A photo taken at a return (download it separately)."""

    id: uuid.UUID
    filename: str | None
    media_type: str
    size: int
    sha256: str
    created_at: dt.datetime


class ReturnRead(BaseModel):
    """A recorded return."""

    contract_id: uuid.UUID
    condition: ReturnCondition
    notes: str | None
    recorded_by: str
    recorded_at: dt.datetime
    photos: list[PhotoRead]


# Verification -------------------------------------------------------------------------------


class SealRead(BaseModel):
    """What pyHanko's validator says of one embedded signature."""

    field_name: str | None
    signer: str | None
    signed_at: dt.datetime | None
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    ok: bool


class VerifiedSigner(BaseModel):
    """A party who signed, as our records say (no personal code)."""

    party: Party
    name: str | None
    signed_at: dt.datetime
    idp: str | None
    amr: list[str]
    document_version: int


class VerificationRead(BaseModel):
    """Whether an uploaded PDF is one of ours, unaltered, and who signed it."""

    verdict: str = Field(description="authentic, altered or unknown")
    sha256: str
    known: bool
    contract_id: uuid.UUID | None = None
    contract_number: str | None = None
    contract_state: ContractState | None = None
    document_version: int | None = None
    document_kind: DocumentKind | None = None
    current: bool = False
    seals: list[SealRead] = Field(default_factory=list)
    signers: list[VerifiedSigner] = Field(default_factory=list)
