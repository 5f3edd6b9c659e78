"""What a contract document prints: plain data, so rendering needs no database."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class LenderData(BaseModel):
    """The lender as printed; `complete` is False when only registry codes are known."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["municipality", "institution"]
    code: str
    municipality_code: str
    name: str | None = None
    registration_number: str | None = None
    address: str | None = None
    representative: str | None = None

    @property
    def complete(self) -> bool:
        """Whether every legal detail a contract needs is known."""
        return all((self.name, self.registration_number, self.address, self.representative))


class BorrowerData(BaseModel):
    """The borrower (the guardian); the personal code is printed in the PDF only, so the
    agreement's text is built without it (None)."""

    model_config = ConfigDict(frozen=True)

    person_id: uuid.UUID
    given_name: str | None
    family_name: str | None
    personal_code: SecretStr | None = None

    @property
    def full_name(self) -> str:
        """Given and family name (or a placeholder when the gateway knows none)."""
        return " ".join(p for p in (self.given_name, self.family_name) if p) or "—"


class DeviceData(BaseModel):
    """The device as printed."""

    model_config = ConfigDict(frozen=True)

    device_id: uuid.UUID
    asset_tag: str
    serial_number: str
    model: str
    category: str
    accessories: list[str] = Field(default_factory=list)
    value: Decimal | None = None
    insured_until: dt.date | None = None


class SignatureLine(BaseModel):
    """A signature as printed on the sealed document's signature page."""

    model_config = ConfigDict(frozen=True)

    party: Literal["borrower", "lender"]
    name: str
    signer_id: str
    signed_at: dt.datetime
    method: str
    document_version: int
    document_sha256: str
    consent_version: str


class ContractData(BaseModel):
    """Everything one PDF of a contract shows; rendering it twice gives the same bytes."""

    model_config = ConfigDict(frozen=True)

    contract_id: uuid.UUID
    number: str
    version: int
    kind: Literal["draft", "sealed"] = "draft"
    template_version: str
    issued_at: dt.datetime
    lender: LenderData
    borrower: BorrowerData
    learner: str
    institution_number: str
    device: DeviceData
    period_start: dt.datetime
    period_end: dt.datetime
    signatures: list[SignatureLine] = Field(default_factory=list)
