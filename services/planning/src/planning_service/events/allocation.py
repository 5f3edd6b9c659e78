"""Allocation events (`lv.datori.planning.allocation…`), keyed by the allocation round's id so
one round's steps stay in order.

`allocation.published` carries every school's allocated number (the round is final from then);
`allocation.adjusted` (the programme manager, before or after publication) and
`allocation.moved` (a municipality between its own schools, after publication) carry the two
schools' numbers after the change, so a consumer that keeps per-school counts simply sets them.
`allocation.order_recorded` says how many devices were ordered for a school under the round's
order reference (deliveries carrying that reference in the inventory count as delivered).
Reasons are free text and stay in planning (audited there), never in an event.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict

from planning_service.events.common import PREFIX

CREATED = PREFIX + "allocation.created.v1"
COMPUTED = PREFIX + "allocation.computed.v1"
ADJUSTED = PREFIX + "allocation.adjusted.v1"
PUBLISHED = PREFIX + "allocation.published.v1"
MOVED = PREFIX + "allocation.moved.v1"
ORDER_RECORDED = PREFIX + "allocation.order_recorded.v1"


class AllocationRound(BaseModel):
    """An allocation round as consumers need it."""

    model_config = ConfigDict(extra="forbid")

    round_id: uuid.UUID
    title: str
    funding_programme: str
    order_reference: str  # deliveries carrying it in the inventory count against the round
    devices: int  # the procurement's total
    state: str  # draft, computed, published
    version: int


class AllocationCreated(AllocationRound):
    """A round was set up (its parameters stay in planning)."""


class AllocationComputed(AllocationRound):
    """The rule ran on the round's stored inputs; totals only."""

    schools: int  # schools with at least one device
    municipalities: int


class SchoolAllocation(BaseModel):
    """A school's allocated number in a round."""

    model_config = ConfigDict(extra="forbid")

    municipality_code: str
    institution_number: str
    allocated: int


class AllocationPublished(AllocationRound):
    """The round is final: every school's number (schools with none are left out)."""

    published_at: dt.datetime
    lines: list[SchoolAllocation]


class AllocationChanged(BaseModel):
    """Devices went from one school to another; both schools' numbers after the change."""

    model_config = ConfigDict(extra="forbid")

    round_id: uuid.UUID
    order_reference: str
    quantity: int
    source: SchoolAllocation  # after the change
    target: SchoolAllocation  # after the change
    at: dt.datetime
    version: int  # the round's version after the change


class AllocationAdjusted(AllocationChanged):
    """The programme manager moved devices (between any schools of the round)."""


class AllocationMoved(AllocationChanged):
    """A municipality moved devices between two of its own schools."""


class OrderRecorded(BaseModel):
    """How many devices are ordered for a school under the round (the latest figure counts)."""

    model_config = ConfigDict(extra="forbid")

    round_id: uuid.UUID
    order_reference: str
    municipality_code: str
    institution_number: str
    ordered: int
    at: dt.datetime


PAYLOADS: dict[str, type[BaseModel]] = {
    CREATED: AllocationCreated,
    COMPUTED: AllocationComputed,
    ADJUSTED: AllocationAdjusted,
    PUBLISHED: AllocationPublished,
    MOVED: AllocationMoved,
    ORDER_RECORDED: OrderRecorded,
}
