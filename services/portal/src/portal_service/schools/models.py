"""The school pages' own tolerant copies of what the services answer (only the fields shown)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from portal_service.i18n import RIGA


def first_day(start: dt.datetime) -> dt.date:
    """The first day of a period, in Riga."""
    return start.astimezone(RIGA).date()


def last_day(end: dt.datetime) -> dt.date:
    """The last day of a period whose end is exclusive, in Riga."""
    return (end - dt.timedelta(microseconds=1)).astimezone(RIGA).date()


class Read(BaseModel):
    """A service's answer: unknown fields are ignored, so a service may add them freely."""

    model_config = ConfigDict(extra="ignore")


class Claim(Read):
    """A social criterion a request claims, and where its evidence comes from."""

    criterion: str
    source: str


class Wish(Read):
    """Which devices a request accepts (all empty: any device of the school)."""

    category: str | None = None
    os: str | None = None
    screen_inches: str | None = None
    min_screen_inches: str | None = None
    max_screen_inches: str | None = None
    touch: bool | None = None
    catalogue_item_code: str | None = None


class Reservation(Read):
    """A reservation request."""

    id: uuid.UUID
    state: str
    institution_number: str
    beneficiary: str = "learner"
    learner_id: str
    requested_device_id: uuid.UUID | None = None
    criteria: Wish | None = None
    social_criteria: list[Claim] = []
    priority_score: int = 0
    device_id: uuid.UUID | None = None
    start: dt.datetime
    end: dt.datetime
    pickup_deadline: dt.datetime | None = None
    reason: str | None = None
    requested_at: dt.datetime
    decided_at: dt.datetime | None = None
    waitlist_position: int | None = None
    loaner_ticket_id: uuid.UUID | None = None
    version: int

    @property
    def first_day(self) -> dt.date:
        """The period's first day."""
        return first_day(self.start)

    @property
    def last_day(self) -> dt.date:
        """The period's last day."""
        return last_day(self.end)

    @property
    def reference(self) -> str:
        """A short reference people can read out on the phone."""
        return str(self.id)[:8].upper()


class WaitlistEntry(Read):
    """A waiting request and its place in the school's line."""

    position: int
    reservation: Reservation


class Signature(Read):
    """A signature on an agreement."""

    party: str
    signer_name: str | None = None
    signed_at: dt.datetime


class Contract(Read):
    """A loan agreement."""

    id: uuid.UUID
    number: str
    state: str
    overdue: bool = False
    reservation_id: uuid.UUID
    device_id: uuid.UUID
    institution_number: str
    learner: str
    borrower_name: str | None = None
    device: dict[str, Any] = {}
    period_start: dt.datetime
    period_end: dt.datetime
    sign_by: dt.datetime | None = None
    borrower_signed_at: dt.datetime | None = None
    lender_signed_at: dt.datetime | None = None
    activated_at: dt.datetime | None = None
    returned_at: dt.datetime | None = None
    signatures: list[Signature] = []
    version: int

    @property
    def first_day(self) -> dt.date:
        """The loan's first day."""
        return first_day(self.period_start)

    @property
    def last_day(self) -> dt.date:
        """The loan's last day (the end is exclusive)."""
        return last_day(self.period_end)

    @property
    def accessories(self) -> list[str]:
        """The accessories lent with the device, as the agreement lists them."""
        return [str(a) for a in self.device.get("accessories") or []]


class Document(Read):
    """A version of an agreement's document."""

    number: int
    sha256: str
    current: bool = False


class Consent(Read):
    """The consent text a signer agrees to."""

    version: str
    lv: str
    en: str


class ReturnRecord(Read):
    """A recorded return."""

    condition: str
    notes: str | None = None
    recorded_at: dt.datetime
    photos: list[dict[str, Any]] = []


class Device(Read):
    """A device of the inventory."""

    id: uuid.UUID
    serial_number: str
    asset_tag: str
    catalogue_item_id: uuid.UUID
    condition: str = ""
    accessories: list[str] = []
    status: str
    warranty_ends_on: dt.date | None = None


class CatalogueItem(Read):
    """A catalogue item: what model a device is."""

    id: uuid.UUID
    code: str
    name: str


class Ticket(Read):
    """A problem report about a device."""

    id: uuid.UUID
    number: int
    state: str
    device_id: uuid.UUID
    asset_tag: str | None = None
    category: str
    severity: str
    description: str
    source: str = ""
    opened_at: dt.datetime
    resolved_at: dt.datetime | None = None


class Page(Read):
    """One page of a list and the cursor of the next (None: the last page)."""

    items: list[Any] = Field(default_factory=list)
    next_cursor: str | None = None
