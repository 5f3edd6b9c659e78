"""Response bodies of the statistics API, and the VIIS feed record (its JSON Schema is published
at `GET /api/v1/statistics/feeds/viis/schema` and is the payload of the snapshot event).

All are `Strict`: the published schemas refuse unknown fields, and so does reading a stored
record back."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from shared_kit.fields import REG_NUMBER_PATTERN, AtvkCode
from shared_kit.schemas import Strict

FEED_SCHEMA_VERSION: Literal["1.2.0"] = "1.2.0"

Atvk = AtvkCode
RegNumber = Annotated[str, StringConstraints(pattern=REG_NUMBER_PATTERN)]
DimensionValue = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]


class CountOrSuppressed(Strict):
    """A count that may identify people when small: 1-4 are published as null, suppressed."""

    count: int | None = Field(description="The count; null when suppressed")
    suppressed: bool = Field(description="True when the count is between 1 and 4")


class DeviceFigures(Strict):
    """Devices by dimension; `in_service` excludes lost, stolen and written-off devices."""

    total: int
    in_service: int
    by_status: dict[str, int]
    by_os: dict[str, int]
    by_category: dict[str, int]
    by_funding_source: dict[str, int]
    by_warranty_state: dict[str, int] = Field(
        description="`in_warranty` (ends today or later), `expired`, `unknown` (no end date)"
    )


class LoanFigures(Strict):
    """Loan contracts: active and overdue loans, by state, active loans by social criterion."""

    active: int
    overdue: int
    by_state: dict[str, int]
    by_social_criterion: dict[str, CountOrSuppressed] = Field(
        description="Active loans whose reservation claimed the criterion (`any`: any "
        "criterion gave priority). Counts 1-4 are suppressed; 0 is shown as 0."
    )


class ReservationFigures(Strict):
    """Reservations: waiting (requested or waitlisted), the waitlist, by state."""

    waiting: int
    waitlisted: int
    by_state: dict[str, int]


class TicketFigures(Strict):
    """Problem tickets: open, resolved, SLA breaches, mean time to resolve."""

    open: int
    resolved: int
    sla_breaches: int
    mean_hours_to_resolve: float | None


class PupilFigures(Strict):
    """Pupils per grade, from VIIS."""

    total: int
    by_grade: dict[str, int]


class BandCoverage(Strict):
    """Coverage of one grade band against its target (pupils per device)."""

    band: str
    first_grade: int
    last_grade: int
    pupils: int
    devices: int = Field(description="Devices in service available to the band's grades")
    pupils_per_device: float | None
    target_pupils_per_device: Decimal | None
    devices_needed: int | None = Field(
        description="Sum over institutions of max(0, ceil(pupils / target) - devices): the "
        "devices still needed for every institution to meet the target"
    )
    target_met: bool | None


class LoanDays(Strict):
    """Days on loan within a window of the last N days."""

    days: int = Field(
        description="Nights on loan within the window, summed over the area's lendable devices"
    )
    per_device: float | None = Field(description="`days` per lendable device; null when none")


class NotLendable(Strict):
    """Stock that is not lendable, of one funding programme."""

    funding_source: str
    never_available: int = Field(description="In stock and never made available")
    in_repair_long: int = Field(description="In repair for over 30 days")
    lost_stolen_written_off: int


class UsageFigures(Strict):
    """Are the devices used? Lendable devices are available, reserved or on loan; days are Rīga
    days. Device counts identify nobody and are never suppressed."""

    lendable: int
    on_loan: int
    utilisation: float | None = Field(
        description="on_loan / lendable (0..1, 4 decimals); null when no device is lendable"
    )
    loan_days: dict[str, LoanDays] = Field(
        description="By window length in days (`30`, `90`, `365`), ending today"
    )
    idle_threshold_days: int
    idle: int = Field(
        description="Lendable devices not on loan whose last loan ended (never lent: whose "
        "delivery was) more than `idle_threshold_days` days ago"
    )
    never_lent: int = Field(description="Lendable devices never lent since their delivery")
    not_lendable: list[NotLendable] = Field(description="By funding programme")


class Figures(Strict):
    """Everything statistics knows about one area."""

    devices: DeviceFigures
    loans: LoanFigures
    reservations: ReservationFigures
    tickets: TicketFigures
    pupils: PupilFigures
    coverage: list[BandCoverage]
    usage: UsageFigures | None = Field(
        description="Always given by the views; null only in feed records taken before "
        "schema version 1.2.0"
    )


class AreaSummary(Strict):
    """A municipality or institution inside a view, with its headline figures."""

    code: str
    name: str | None
    devices_total: int
    devices_in_service: int
    active_loans: int
    pupils: int
    coverage: list[BandCoverage]
    utilisation: float | None = Field(description="Lendable devices on loan, 0..1")
    idle: int = Field(description="Idle lendable devices (the view's `idle_days`)")
    never_lent: int
    tickets_open: int
    sla_breaches: int


class StatisticsView(Strict):
    """A national, municipality or institution view of the live read model."""

    level: Literal["national", "municipality", "institution"]
    code: str | None
    name: str | None
    municipality_code: str | None
    as_of: dt.datetime
    filters: dict[str, str]
    figures: Figures
    children: list[AreaSummary] = Field(
        description="Municipalities of the national view, institutions of a municipality"
    )


class SeriesPoint(Strict):
    """One day of a time series (summed over the institutions snapshotted that day)."""

    date: dt.date
    provisional: bool = Field(description="The day is not over: its figures may still change")
    institutions: int
    devices_total: int
    devices_in_service: int
    active_loans: int
    overdue_loans: int
    reservations_waiting: int
    waitlisted: int
    tickets_open: int
    sla_breaches: int
    pupils: int
    devices_lendable: int
    devices_on_loan: int
    utilisation: float | None
    devices_idle: int = Field(description="Idle by the threshold the snapshots were taken with")
    devices_never_lent: int
    loan_days_30: int
    loan_days_90: int
    loan_days_365: int
    coverage: list[BandCoverage]


class TimeSeries(Strict):
    """Daily snapshots of an area between two dates."""

    level: Literal["national", "municipality", "institution"]
    code: str | None
    date_from: dt.date
    date_to: dt.date
    points: list[SeriesPoint]


class InstitutionSnapshotRecord(Strict):
    """One institution's figures on one day: a record of the VIIS feed (no personal data)."""

    schema_version: Literal["1.2.0"] = FEED_SCHEMA_VERSION
    sequence: int = Field(description="Position in the feed (increases, never reused)")
    snapshot_date: dt.date = Field(description="The Rīga day the figures describe")
    provisional: bool = Field(
        description="True while the day lasts: the figures so far, replaced by a newer record "
        "of the same day and institution (a greater `sequence`) when they change. False once "
        "the day has closed: the day's final record, never replaced"
    )
    taken_at: dt.datetime = Field(description="When the figures were read")
    municipality_code: str
    institution_registration_number: str
    institution_name: str | None
    figures: Figures


class FeedItem(Strict):
    """A feed record and the cursor that resumes the feed after it."""

    cursor: str
    record: InstitutionSnapshotRecord


class FeedPage(Strict):
    """A page of the VIIS feed; poll again with `after=next` for newer records."""

    schema_version: str = FEED_SCHEMA_VERSION
    items: list[FeedItem]
    next: str = Field(description="Cursor to pass as `after`; the same one when nothing is new")
    has_more: bool


class FeedSchema(Strict):
    """The JSON Schema of a feed record, with its version."""

    version: str
    schema_: dict[str, Any] = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class OperationResult(Strict):
    """What an operator-triggered job did."""

    result: dict[str, int]


class IdleDevice(Strict):
    """A lendable device that is idle or was never lent (no personal data)."""

    device_id: uuid.UUID
    municipality_code: str
    institution_number: str | None = Field(description="Null when assigned to no institution")
    category: str
    os: str
    funding_source: str
    status: str
    delivered_on: dt.date
    age_days: int = Field(description="Days since delivery")
    last_loan_ended_on: dt.date | None = Field(description="Null when never lent")
    idle_days: int = Field(description="Days since the last loan ended, else since delivery")


class AllocationFigures(Strict):
    """Devices allocated to, ordered for and delivered to an area under one round."""

    allocated: int
    ordered: int
    delivered: int = Field(
        description="Devices in the inventory with the round's order reference at the area's "
        "schools now (written-off ones included)"
    )


class MunicipalityAllocation(AllocationFigures):
    """A municipality's figures in a round."""

    municipality_code: str


class InstitutionAllocation(AllocationFigures):
    """A school's figures in a round."""

    municipality_code: str
    institution_number: str


class AllocationRoundSummary(Strict):
    """A published allocation round with its figures within the caller's tenancy."""

    round_id: uuid.UUID
    title: str
    funding_programme: str
    order_reference: str
    devices: int
    published_at: dt.datetime
    totals: AllocationFigures


class AllocationRoundList(Strict):
    """The published allocation rounds statistics knows, newest first."""

    items: list[AllocationRoundSummary]


class AllocationView(Strict):
    """A round's allocated, ordered and delivered devices per municipality (and per school
    with `?municipality=`, or for a school's own admin)."""

    round_id: uuid.UUID
    order_reference: str
    funding_programme: str
    totals: AllocationFigures
    municipalities: list[MunicipalityAllocation]
    institutions: list[InstitutionAllocation] | None
