"""Request and response models of the inventory API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from inventory_service.models import (
    Category,
    Condition,
    DeviceStatus,
    FundingSource,
    ImportState,
    OperatingSystem,
)
from shared_kit.fields import AsciiDecimal, AtvkCode, RegNumber
from shared_kit.schemas import ReadModel, Strict

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9._/-]+$",
    ),
]
Serial = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=3,
        max_length=100,
        pattern=r"^[A-Za-z0-9._/-]+$",
    ),
]


# Reference data -----------------------------------------------------------------------------


class MunicipalityCreate(Strict):
    code: AtvkCode = Field(description="ATVK code (7 digits)", examples=["0010000"])
    name: Text


class MunicipalityUpdate(Strict):
    name: Text


class MunicipalityRead(ReadModel):
    id: uuid.UUID
    code: str
    name: str
    version: int


class InstitutionCreate(Strict):
    registration_number: RegNumber = Field(description="VIIS registration number")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    municipality_code: AtvkCode


class InstitutionUpdate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class InstitutionRead(ReadModel):
    id: uuid.UUID
    registration_number: str
    name: str
    municipality_id: uuid.UUID
    address: str | None = None
    grades: list[int] = Field(default_factory=list, description="Grades taught, as VIIS says")
    viis_synced_at: dt.datetime | None = None
    version: int


class MunicipalityListItem(MunicipalityRead):
    institution_count: int = Field(description="Institutions registered in the municipality")


# What VIIS lists, and importing it -----------------------------------------------------------


class ViisMunicipalityRead(BaseModel):
    """A municipality VIIS lists institutions of."""

    code: str
    name: str


class ViisInstitutionRead(BaseModel):
    """An institution as VIIS lists it."""

    registration_number: str
    name: str
    municipality_code: str
    address: str | None = None
    grades: list[int] = Field(default_factory=list)


class ImportedInstitution(BaseModel):
    """One institution of a VIIS import, by number and name."""

    registration_number: str
    name: str


class ViisImportReport(BaseModel):
    """What a VIIS import did: institutions created, updated (name, address or grades),
    unchanged, and those VIIS lists here but the platform keeps in another municipality
    (left alone: moving a school between municipalities moves its devices' tenancy)."""

    municipality_code: str
    created: list[ImportedInstitution] = Field(default_factory=list)
    updated: list[ImportedInstitution] = Field(default_factory=list)
    unchanged: list[ImportedInstitution] = Field(default_factory=list)
    elsewhere: list[ImportedInstitution] = Field(default_factory=list)


# Catalogue ----------------------------------------------------------------------------------


class CatalogueOptions(Strict):
    """Options on top of the base configuration (see the ministry's catalogue)."""

    memory_upgrade_gb: int | None = Field(None, ge=0, le=256)
    adapters: list[Text] = []
    management_software: bool = False
    bag: bool = False
    mouse: bool = False
    extra_warranty_months: int = Field(0, ge=0, le=120)


class CatalogueItemCreate(Strict):
    code: Code
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    manufacturer: Text
    model: Text
    category: Category
    os: OperatingSystem
    screen_inches: AsciiDecimal | None = Field(None, ge=5, le=40, decimal_places=1)
    touch: bool = False
    specs: dict[str, str | int | float | bool] = Field(
        default_factory=dict, examples=[{"cpu": "Intel N100", "ram_gb": 8, "storage_gb": 128}]
    )
    options: CatalogueOptions = CatalogueOptions()
    base_warranty_months: int = Field(36, ge=0, le=120)
    school_levels: list[Text] = Field(default_factory=list, examples=[["grades 1-3"]])


class CatalogueItemUpdate(Strict):
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
        | None
    ) = None
    specs: dict[str, str | int | float | bool] | None = None
    options: CatalogueOptions | None = None
    school_levels: list[Text] | None = None
    active: bool | None = None


class CatalogueItemRead(ReadModel):
    id: uuid.UUID
    code: str
    name: str
    manufacturer: str
    model: str
    category: Category
    os: OperatingSystem
    screen_inches: Decimal | None
    touch: bool
    specs: dict[str, Any]
    options: dict[str, Any]
    base_warranty_months: int
    school_levels: list[str]
    active: bool
    version: int


# Devices ------------------------------------------------------------------------------------


class DeviceFields(Strict):
    """Fields a device can be registered or updated with."""

    funding_source: FundingSource
    order_reference: Text | None = None
    delivery_date: dt.date | None = None
    purchase_price: AsciiDecimal | None = Field(None, ge=0, le=100_000, decimal_places=2)
    extra_warranty_months: int = Field(0, ge=0, le=120)
    insurer: Text | None = None
    insurance_policy: Text | None = None
    insured_until: dt.date | None = None
    condition: Condition = Condition.NEW
    accessories: list[Text] = Field(default_factory=list, max_length=30)
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = None

    @field_validator("delivery_date")
    @classmethod
    def _not_future(cls, value: dt.date | None) -> dt.date | None:
        if value and value > dt.date.today() + dt.timedelta(days=366):
            raise ValueError("delivery date is more than a year in the future")
        return value


class DeviceCreate(DeviceFields):
    serial_number: Serial
    asset_tag: Code
    catalogue_item_code: Code
    municipality_code: AtvkCode
    institution_registration_number: RegNumber | None = None
    status: DeviceStatus = DeviceStatus.IN_STOCK


class DeviceUpdate(Strict):
    """Partial update; status changes go through the transitions endpoint."""

    asset_tag: Code | None = None
    institution_registration_number: RegNumber | None = None
    unassign: bool = Field(False, description="Remove the institution assignment")
    funding_source: FundingSource | None = None
    order_reference: Text | None = None
    delivery_date: dt.date | None = None
    purchase_price: AsciiDecimal | None = Field(None, ge=0, le=100_000, decimal_places=2)
    extra_warranty_months: int | None = Field(None, ge=0, le=120)
    insurer: Text | None = None
    insurance_policy: Text | None = None
    insured_until: dt.date | None = None
    condition: Condition | None = None
    accessories: list[Text] | None = None
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = None


class DeviceTransition(Strict):
    to: DeviceStatus
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class TransitionsRead(BaseModel):
    """Where a device can go from its status, for the caller."""

    status: DeviceStatus
    allowed: list[DeviceStatus]


class DeviceRead(ReadModel):
    id: uuid.UUID
    serial_number: str
    asset_tag: str
    catalogue_item_id: uuid.UUID
    municipality_id: uuid.UUID
    institution_id: uuid.UUID | None
    funding_source: FundingSource
    order_reference: str | None
    delivery_date: dt.date | None
    purchase_price: Decimal | None
    extra_warranty_months: int
    warranty_ends_on: dt.date | None
    insurer: str | None
    insurance_policy: str | None
    insured_until: dt.date | None
    condition: Condition
    accessories: list[str]
    notes: str | None
    status: DeviceStatus
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass
class DeviceFilters:
    """Search criteria for devices (the query parameters of a search)."""

    municipality_code: str | None = None
    institution_number: str | None = None
    statuses: list[DeviceStatus] = field(default_factory=list)
    os: OperatingSystem | None = None
    category: Category | None = None
    funding_source: FundingSource | None = None
    catalogue_item_code: str | None = None
    warranty_before: dt.date | None = None
    q: str | None = None


# The orders of a device search: a field, ascending, or with `-` descending (then by id).
DeviceSort = Literal[
    "asset_tag",
    "-asset_tag",
    "serial_number",
    "-serial_number",
    "created_at",
    "-created_at",
    "status",
    "-status",
    "warranty_ends_on",
    "-warranty_ends_on",
]


class DevicePage(BaseModel):
    """A page of a device search; `next_cursor` as `cursor` gives the next page,
    `prev_cursor` as `before` the one before (absent on the first page)."""

    items: list[DeviceRead]
    next_cursor: str | None = None
    prev_cursor: str | None = None


class DeviceCount(BaseModel):
    """How many devices a search finds."""

    count: int


class HistoryRead(ReadModel):
    id: uuid.UUID
    at: dt.datetime
    actor: str
    action: str
    changes: dict[str, Any]
    reason: str | None
    device_version: int


# Import -------------------------------------------------------------------------------------


class ImportRow(BaseModel):
    """What happened to one CSV row."""

    line: int
    serial_number: str | None
    outcome: str = Field(
        description="created, unchanged (already imported), invalid, would_create (dry run), "
        "or valid (not imported because another row of an all-or-nothing file failed)"
    )
    errors: list[dict[str, str]] = []


class ImportReport(BaseModel):
    id: uuid.UUID | None
    mode: str
    dry_run: bool
    state: ImportState = Field(
        ImportState.DONE,
        description="queued, running, done, or failed (an all-or-nothing file with invalid "
        "rows: nothing imported); a synchronous import is done when it answers",
    )
    filename: str | None = None
    created_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    processed_rows: int | None = Field(
        None, description="Rows checked and imported so far (all of them once done)"
    )
    total_rows: int
    created_rows: int
    unchanged_rows: int
    failed_rows: int
    rows: list[ImportRow] = Field(
        description="Every row (a synchronous import's answer), or the failed ones (stored)"
    )


class ImportSummary(ReadModel):
    """An import as a line of the list of earlier imports."""

    id: uuid.UUID
    state: ImportState
    mode: str
    filename: str | None
    actor: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    total_rows: int
    processed_rows: int
    created_rows: int
    unchanged_rows: int
    failed_rows: int
