"""Events reservations publish, as versioned payload models (JSON Schemas come from these).

Every event carries the whole reservation as consumers need it, keyed by the reservation id.
`learner_id` is the platform's opaque person (or class) id, never a personal code;
`requested_by` is who asked: the platform person id of a guardian or staff member, or a
machine client's id (the contracts service drafts the loan contract for that person).
`approved` and `offered` always name the device; `cancelled` and `expired` name the device the
reservation held (if any) so that the inventory can release it; `device_withdrawn` names the
device an approved reservation gave up (it left service or the school, or was handed to
another family), so that the inventory releases it and an unsigned contract for it is
cancelled; an `approved` (another device) or `waitlisted` event follows. `social_criteria`
names the criteria the family claimed (names only, never the evidence), for statistics'
suppressed counts of loans by criterion.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service.models import Reservation
from shared_kit.events import CloudEvent, add_event
from shared_kit.observability import correlation_id

SOURCE = "/datori/reservations"
PREFIX = "lv.datori.reservations.reservation."

REQUESTED = PREFIX + "requested.v1"
WAITLISTED = PREFIX + "waitlisted.v1"
APPROVED = PREFIX + "approved.v1"
OFFERED = PREFIX + "offered.v1"
CANCELLED = PREFIX + "cancelled.v1"
REJECTED = PREFIX + "rejected.v1"
EXPIRED = PREFIX + "expired.v1"
FULFILLED = PREFIX + "fulfilled.v1"
DEVICE_WITHDRAWN = PREFIX + "device_withdrawn.v1"


class ReservationPayload(BaseModel):
    """The reservation as consumers need it."""

    model_config = ConfigDict(extra="forbid")

    reservation_id: uuid.UUID
    device_id: uuid.UUID | None
    municipality_code: str
    institution_number: str
    beneficiary: str
    learner_id: str
    requested_by: str
    period_start: dt.datetime
    period_end: dt.datetime
    state: str
    reason: str | None
    priority_score: int
    social_criteria: list[str]
    requested_at: dt.datetime
    pickup_deadline: dt.datetime | None


class ReservationRequested(ReservationPayload):
    """A reservation was requested."""


class ReservationWaitlisted(ReservationPayload):
    """No matching device is free: the request waits in the institution's waitlist."""


class ReservationApproved(ReservationPayload):
    """A device was allocated; it must be picked up before `pickup_deadline`."""

    device_id: uuid.UUID


class ReservationOffered(ReservationPayload):
    """A freed device went to this waitlisted request (an `approved` event follows)."""

    device_id: uuid.UUID


class ReservationCancelled(ReservationPayload):
    """The reservation was cancelled; a device it held is free again."""


class ReservationRejected(ReservationPayload):
    """Staff rejected the request (`reason` says why)."""


class ReservationExpired(ReservationPayload):
    """The device was not picked up in time, or the period ended while waiting."""


class ReservationFulfilled(ReservationPayload):
    """The loan contract became active: the device is with the learner."""

    device_id: uuid.UUID


class ReservationDeviceWithdrawn(ReservationPayload):
    """The reservation gave up the device it was approved with (`device_id`; `reason` says
    why); an `approved` (another device) or `waitlisted` event follows."""

    device_id: uuid.UUID


PAYLOADS: dict[str, type[ReservationPayload]] = {
    REQUESTED: ReservationRequested,
    WAITLISTED: ReservationWaitlisted,
    APPROVED: ReservationApproved,
    OFFERED: ReservationOffered,
    CANCELLED: ReservationCancelled,
    REJECTED: ReservationRejected,
    EXPIRED: ReservationExpired,
    FULFILLED: ReservationFulfilled,
    DEVICE_WITHDRAWN: ReservationDeviceWithdrawn,
}


def reservation_event(type_: str, reservation: Reservation) -> CloudEvent:
    """A CloudEvent describing the reservation as it is now."""
    return CloudEvent(
        type=type_,
        source=SOURCE,
        subject=str(reservation.id),
        data=payload(reservation),
        municipality=reservation.municipality_code,
        correlationid=correlation_id.get(),
    )


def payload(reservation: Reservation) -> dict[str, Any]:
    """The reservation as `ReservationPayload` writes it in JSON, built without the model (a
    test holds the two equal): the payload models are the events' schemas."""
    return {
        "reservation_id": str(reservation.id),
        "device_id": _text(reservation.device_id),
        "municipality_code": reservation.municipality_code,
        "institution_number": reservation.institution_number,
        "beneficiary": reservation.beneficiary.value,
        "learner_id": reservation.learner_id,
        "requested_by": reservation.requested_by,
        "period_start": _instant(reservation.period_start),
        "period_end": _instant(reservation.period_end),
        "state": reservation.state.value,
        "reason": reservation.reason,
        "priority_score": reservation.priority_score,
        "social_criteria": sorted({str(c["criterion"]) for c in reservation.social_criteria or []}),
        "requested_at": _instant(reservation.requested_at),
        "pickup_deadline": _instant(reservation.pickup_deadline),
    }


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _instant(value: dt.datetime | None) -> str | None:
    """As pydantic writes a datetime in JSON: ISO 8601, UTC as `Z`."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def publish(session: AsyncSession, type_: str, reservation: Reservation) -> None:
    """Queue a reservation event in the outbox of the caller's transaction."""
    add_event(session, reservation_event(type_, reservation))
