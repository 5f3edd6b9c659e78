"""The statements of a new request: each reads or writes all it can in one round trip.

They are `Prepared`: compiled once and run by asyncpg in the request's transaction, without
SQLAlchemy's work around each execution (the busiest write of the service: every family at the
start of a school year).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import (
    DateTime,
    Insert,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    exists,
    func,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service.models import (
    ALLOCATING,
    Device,
    Institution,
    LearnerCriterion,
    Policy,
    Reservation,
)
from reservations_service.repository.core import (
    LENDABLE_STATUSES,
    active_count,
    institution_lock,
    learner_lock,
)
from shared_kit.events.outbox import OutboxMessage
from shared_kit.prepared import Prepared


class Opening(NamedTuple):
    """What a new request reads first: its institution's municipality and stored policy."""

    municipality_code: str
    policy: Policy | None


class Facts(NamedTuple):
    """What deciding a new request reads under the locks, in one statement.

    `devices` are the institution's lendable devices (id order) with the periods they are
    allocated for that have not ended: (id, category, os, screen_inches, touch,
    catalogue_item_code, starts, ends).
    """

    active: int
    verified: list[tuple[str, str]]
    devices: list[tuple[Any, ...]]


POLICY_COLUMNS = (
    Policy.auto_approve,
    Policy.max_active_per_learner,
    Policy.max_period_days,
    Policy.pickup_days,
    Policy.school_year_end,
    Policy.version,
    Policy.updated_by,
)
RESERVATION = Reservation.__table__
OUTBOX = OutboxMessage.__table__
# Generated or set by the database; everything else a new request writes itself.
SERVER_SET = frozenset({"created_at", "updated_at", "period"})
RESERVATION_COLUMNS = tuple(c.key for c in RESERVATION.c if c.key not in SERVER_SET)
OUTBOX_COLUMNS = ("event_id", "topic", "key", "event_type", "headers", "payload")

# The statements are built once: SQLAlchemy then finds them in its cache without walking them.
LEARNER = bindparam("learner", type_=String())
INSTITUTION = bindparam("institution", type_=String())
NOW = bindparam("now", type_=DateTime(timezone=True))


def _opening(*, learner: bool) -> Select[Any]:
    """Locks (the learner's first), the institution's municipality and its stored policy."""
    locks = [learner_lock(LEARNER)] if learner else []
    locks.append(institution_lock(INSTITUTION, shared=True))
    return (
        select(Institution.municipality_code, Policy.municipality_code, *POLICY_COLUMNS)
        .add_columns(*locks)  # after the columns: the target list is evaluated in order
        .outerjoin(Policy, Policy.municipality_code == Institution.municipality_code)
        .where(Institution.registration_number == INSTITUTION)
    )


def _lendable_with_bookings() -> Subquery:
    """The institution's lendable devices with the periods of their allocations not ended."""
    booked = and_(
        Reservation.device_id == Device.id,
        Reservation.state.in_(ALLOCATING),
        Reservation.period_end > NOW,
    )
    held = Reservation.id.is_not(None)
    by_period = (Reservation.period_start, Reservation.period_end)
    return (
        select(
            Device.id,
            Device.category,
            Device.os,
            Device.screen_inches,
            Device.touch,
            Device.catalogue_item_code,
            func.array_agg(aggregate_order_by(Reservation.period_start, *by_period))
            .filter(held)
            .label("starts"),
            func.array_agg(aggregate_order_by(Reservation.period_end, *by_period))
            .filter(held)
            .label("ends"),
        )
        .outerjoin(Reservation, booked)
        .where(
            Device.institution_number == INSTITUTION,
            Device.status.in_(LENDABLE_STATUSES),
        )
        .group_by(Device.id)
        .subquery()
    )


def _facts() -> Select[Any]:
    """One row of the learner's facts joined to every lendable device (at least one row)."""
    pairs = (
        select(LearnerCriterion.criterion, LearnerCriterion.source)
        .where(LearnerCriterion.learner_id == LEARNER)
        .distinct()
        .subquery()
    )
    order = aggregate_order_by
    known = select(
        active_count(LEARNER, NOW).scalar_subquery().label("active"),
        select(func.array_agg(order(pairs.c.criterion, pairs.c.criterion, pairs.c.source)))
        .scalar_subquery()
        .label("criteria"),
        select(func.array_agg(order(pairs.c.source, pairs.c.criterion, pairs.c.source)))
        .scalar_subquery()
        .label("sources"),
    ).subquery()
    devices = _lendable_with_bookings()
    return (
        select(known, devices).select_from(known.outerjoin(devices, true())).order_by(devices.c.id)
    )


def _recording(events: int) -> Insert:
    """The reservation, inserted as decided unless the exclusion constraint refuses its
    allocation, and then its `events` into the outbox, in one statement (one round trip).

    The events are one SELECT each, in order (so they take their `seq`, the publication
    order, in that order), and each selects nothing when the reservation was refused.
    """
    values: dict[Any, Any] = {
        RESERVATION.c[name]: bindparam(f"r_{name}") for name in RESERVATION_COLUMNS
    }
    recorded = (
        insert(RESERVATION)
        .values(values)
        .on_conflict_do_nothing()
        .returning(RESERVATION.c.id)
        .cte("recorded")
    )
    written = exists(select(recorded.c.id))
    rows = [
        select(
            *(bindparam(f"e{i}_{name}", type_=OUTBOX.c[name].type) for name in OUTBOX_COLUMNS)
        ).where(written)
        for i in range(events)
    ]
    chosen = rows[0] if events == 1 else union_all(*rows)
    return insert(OUTBOX).from_select(OUTBOX_COLUMNS, chosen).returning(OUTBOX.c.seq)


OPEN_FOR_LEARNER = Prepared(_opening(learner=True))
OPEN_FOR_STAFF = Prepared(_opening(learner=False))
FACTS = Prepared(_facts())
RECORD = {1: Prepared(_recording(1)), 2: Prepared(_recording(2))}  # by the number of events


class RequestRepository:
    """The statements of a new request: each reads or writes all it can in one round trip."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, institution_number: str, learner_id: str | None) -> Opening | None:
        """Take the learner's lock (if any), then the institution's shared lock, and read the
        institution's municipality and stored policy; None for an unknown institution."""
        params = {"institution": institution_number, "learner": learner_id}
        stmt = OPEN_FOR_STAFF if learner_id is None else OPEN_FOR_LEARNER
        row = await stmt.fetchrow(self.session, params)
        if row is None:
            return None
        if row[1] is None:
            return Opening(row[0], None)
        names = [c.key for c in POLICY_COLUMNS]
        stored = dict(zip(names, row[2 : 2 + len(names)], strict=True))
        return Opening(row[0], Policy(municipality_code=row[0], **stored))

    async def facts(self, institution_number: str, learner_id: str, now: dt.datetime) -> Facts:
        """The learner's active count and verified criteria, and the institution's lendable
        devices with their bookings (see `Facts`)."""
        params = {"institution": institution_number, "learner": learner_id, "now": now}
        rows = await FACTS.fetch(self.session, params)
        first = rows[0]
        verified = list(zip(first["criteria"] or [], first["sources"] or [], strict=True))
        lendable = [tuple(r[3:]) for r in rows if r["id"] is not None]
        return Facts(int(first["active"]), verified, lendable)

    async def insert(self, reservation: Reservation, events: list[dict[str, Any]]) -> bool:
        """Insert a reservation as decided with its events' outbox rows (`outbox_values`);
        False when the exclusion constraint refuses its allocation (another request took the
        device meanwhile), and nothing was written."""
        params = {f"r_{name}": getattr(reservation, name) for name in RESERVATION_COLUMNS}
        for i, event in enumerate(events):
            params.update({f"e{i}_{name}": event[name] for name in OUTBOX_COLUMNS})
        return await RECORD[len(events)].fetchrow(self.session, params) is not None
