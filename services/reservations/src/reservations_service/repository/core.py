"""The SQL of reservations' read model, policies, reservations, locks and criteria."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service.models import (
    ALLOCATING,
    WAITING,
    Beneficiary,
    Device,
    Institution,
    LearnerCriterion,
    Policy,
    Reservation,
    ReservationState,
)
from reservations_service.schemas import ReservationFilters
from shared_kit.db import any_of
from shared_kit.pagination import KeyColumn, fetch_page
from shared_kit.readmodel import upsert_if_newer
from shared_kit.tenancy import Scope

# Advisory lock name spaces (two-key form, so they never meet the kit's one-key locks).
LOCK_INSTITUTION = 0x5E51
LOCK_LEARNER = 0x5E52

# Inventory statuses in which a device may be lent; our own allocations decide who has it.
LENDABLE_STATUSES = ("available", "reserved")
# Statuses that take a device out of service: allocations that were not picked up move on.
OUT_OF_SERVICE_STATUSES = ("in_repair", "lost", "stolen", "written_off")

ACTIVE_STATES = (
    ReservationState.REQUESTED,
    ReservationState.WAITLISTED,
    ReservationState.APPROVED,
)


def waitlist_key() -> list[KeyColumn]:
    """Priority order as sort columns: score descending, then request time, then id."""
    return [-Reservation.priority_score, Reservation.requested_at, Reservation.id]


def institution_lock(
    number: str | ColumnElement[str], *, shared: bool = False
) -> ColumnElement[Any]:
    """The expression that takes an institution's lock (shared: only new requests hold it so,
    see `service.requesting`)."""
    take = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    return take(LOCK_INSTITUTION, func.hashtext(number))


def learner_lock(learner_id: str | ColumnElement[str]) -> ColumnElement[Any]:
    """The expression that takes a learner's lock."""
    return func.pg_advisory_xact_lock(LOCK_LEARNER, func.hashtext(learner_id))


class Locks:
    """Transaction-scoped advisory locks that serialise allocation decisions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def institution(self, *numbers: str) -> None:
        """Lock institutions (sorted, so two callers never wait on each other in a cycle)."""
        for number in sorted(set(numbers)):
            await self.session.execute(select(institution_lock(number)))

    async def learner(self, learner_id: str) -> None:
        """Lock one learner's reservations (always taken before an institution lock)."""
        await self.session.execute(select(learner_lock(learner_id)))


class InstitutionRepository:
    """Institutions of the read model."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, number: str) -> Institution | None:
        return await self.session.get(Institution, number)

    async def upsert(self, number: str, municipality_code: str) -> None:
        stmt = insert(Institution).values(
            registration_number=number, municipality_code=municipality_code
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Institution.registration_number],
                set_={"municipality_code": municipality_code, "updated_at": func.now()},
                where=Institution.municipality_code != municipality_code,
            )
        )


class Placement(NamedTuple):
    """A device's inventory version and institution as the read model holds them."""

    version: int
    institution_number: str | None


class DeviceRepository:
    """Devices of the read model.

    Rows are written by an upsert, never through the ORM, so reads refresh the objects a
    session already holds (`populate_existing`): a device changed earlier in the same
    transaction is seen as it is now.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, device_id: uuid.UUID) -> Device | None:
        return await self.session.get(Device, device_id, populate_existing=True)

    async def placement(self, device_id: uuid.UUID) -> Placement | None:
        """The stored version and institution of a device, if it is known."""
        stmt = select(Device.inventory_version, Device.institution_number).where(
            Device.id == device_id
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return Placement(*row) if row is not None else None

    async def apply(self, values: dict[str, Any]) -> bool:
        """Insert or update a device unless the stored one is as new; True if applied."""
        return await upsert_if_newer(self.session, Device, values, version="inventory_version")

    async def lendable_at(self, institution_number: str) -> Sequence[Device]:
        stmt = (
            select(Device)
            .where(
                Device.institution_number == institution_number,
                Device.status.in_(LENDABLE_STATUSES),
            )
            .order_by(Device.id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).all()


class PolicyRepository:
    """Municipal policies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, municipality_code: str, *, for_update: bool = False) -> Policy | None:
        return await self.session.get(
            Policy, municipality_code, with_for_update=for_update, populate_existing=for_update
        )

    def add(self, policy: Policy) -> None:
        self.session.add(policy)


class ReservationRepository:
    """Reservations."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, reservation: Reservation) -> None:
        self.session.add(reservation)

    async def get(
        self, reservation_id: uuid.UUID, *, for_update: bool = False
    ) -> Reservation | None:
        return await self.session.get(
            Reservation, reservation_id, with_for_update=for_update, populate_existing=for_update
        )

    async def by_loaner_ticket(self, ticket_id: uuid.UUID) -> Reservation | None:
        """The loaner reservation made for a ticket."""
        stmt = select(Reservation).where(Reservation.loaner_ticket_id == ticket_id)
        return await self.session.scalar(stmt)

    async def waiting_of_learner(self, learner_id: str, *, lock: bool) -> Sequence[Reservation]:
        """A learner's own waiting requests (not loaners: their score is fixed); with `lock`,
        locked and re-read."""
        stmt = (
            select(Reservation)
            .where(
                Reservation.learner_id == learner_id,
                Reservation.beneficiary == Beneficiary.LEARNER,
                Reservation.state.in_(WAITING),
                Reservation.loaner_ticket_id.is_(None),
            )
            .order_by(Reservation.id)
        )
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(stmt)).all()

    async def count_active(self, learner_id: str, now: dt.datetime) -> int:
        """Waiting or approved reservations, and fulfilled ones whose loan has not ended."""
        return int(await self.session.scalar(active_count(learner_id, now)) or 0)

    async def booked_periods(
        self, device_ids: Iterable[uuid.UUID], now: dt.datetime
    ) -> list[tuple[uuid.UUID, dt.datetime, dt.datetime]]:
        """(device, start, end) of the allocations of these devices that have not ended yet."""
        ids = list(device_ids)
        if not ids:
            return []
        stmt = select(
            Reservation.device_id, Reservation.period_start, Reservation.period_end
        ).where(
            any_of(Reservation.device_id, ids),
            Reservation.state.in_(ALLOCATING),
            Reservation.period_end > now,
        )
        rows = (await self.session.execute(stmt)).all()
        return [(d, s, e) for d, s, e in rows if d is not None]

    async def waitlisted(self, institution_number: str, now: dt.datetime) -> Sequence[Reservation]:
        """Waitlisted requests of an institution whose period has not ended, best first."""
        stmt = (
            select(Reservation)
            .where(
                Reservation.institution_number == institution_number,
                Reservation.state == ReservationState.WAITLISTED,
                Reservation.period_end > now,
            )
            .order_by(*waitlist_key())
            .with_for_update()
        )
        return (await self.session.scalars(stmt)).all()

    async def approved_on(self, device_id: uuid.UUID) -> Sequence[Reservation]:
        """Approved (not yet picked up) reservations holding a device."""
        stmt = (
            select(Reservation)
            .where(
                Reservation.device_id == device_id,
                Reservation.state == ReservationState.APPROVED,
            )
            .order_by(Reservation.id)
            .with_for_update()
        )
        return (await self.session.scalars(stmt)).all()

    async def page(
        self, filters: ReservationFilters, scope: Scope, cursor: str | None, limit: int
    ) -> Sequence[Reservation]:
        stmt = select(Reservation)
        condition = scope.condition(
            municipality=Reservation.municipality_code,
            institution=Reservation.institution_number,
            person=Reservation.learner_id,
        )
        if condition is not None:
            stmt = stmt.where(condition)
        if filters.states:
            stmt = stmt.where(Reservation.state.in_(filters.states))
        if filters.institution_number:
            stmt = stmt.where(Reservation.institution_number == filters.institution_number)
        if filters.learner_id:
            stmt = stmt.where(Reservation.learner_id == filters.learner_id)
        if filters.municipality_code:
            stmt = stmt.where(Reservation.municipality_code == filters.municipality_code)
        columns = [Reservation.requested_at, Reservation.id]
        return await fetch_page(self.session, stmt, columns, cursor, limit)

    async def waitlist_page(
        self, institution_number: str, cursor: str | None, limit: int
    ) -> Sequence[Reservation]:
        stmt = select(Reservation).where(
            Reservation.institution_number == institution_number,
            Reservation.state == ReservationState.WAITLISTED,
        )
        return await fetch_page(self.session, stmt, waitlist_key(), cursor, limit)

    async def waitlist_position(self, reservation: Reservation) -> int:
        """1-based position of a waitlisted reservation in its institution's waitlist."""
        key = (-reservation.priority_score, reservation.requested_at, reservation.id)
        stmt = select(func.count()).where(
            Reservation.institution_number == reservation.institution_number,
            Reservation.state == ReservationState.WAITLISTED,
            tuple_(*waitlist_key()) < tuple_(*key),
        )
        return int(await self.session.scalar(stmt) or 0) + 1

    async def overdue(self, now: dt.datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
        """(id, institution) of approved reservations past their pickup deadline and of
        requested or waitlisted ones whose whole period has passed; not locked (the caller
        takes the institution locks first, then re-reads each row)."""
        stmt = (
            select(Reservation.id, Reservation.institution_number)
            .where(
                or_(
                    and_(
                        Reservation.state == ReservationState.APPROVED,
                        Reservation.pickup_deadline <= now,
                    ),
                    and_(
                        Reservation.state.in_(
                            (ReservationState.REQUESTED, ReservationState.WAITLISTED)
                        ),
                        Reservation.period_end <= now,
                    ),
                )
            )
            .order_by(Reservation.id)
            .limit(limit)
        )
        return [(r, i) for r, i in (await self.session.execute(stmt)).all()]

    async def institutions_with_waitlist(self) -> list[str]:
        """Institutions where someone is waiting."""
        stmt = (
            select(Reservation.institution_number)
            .where(Reservation.state == ReservationState.WAITLISTED)
            .distinct()
        )
        return list(await self.session.scalars(stmt))


def active_count(
    learner_id: str | ColumnElement[str], now: dt.datetime | ColumnElement[dt.datetime]
) -> Select[int]:
    """Count of a learner's waiting or approved reservations and of loans not ended yet."""
    return select(func.count()).where(
        Reservation.learner_id == learner_id,
        or_(
            Reservation.state.in_(ACTIVE_STATES),
            and_(Reservation.state == ReservationState.FULFILLED, Reservation.period_end > now),
        ),
    )


class LearnerCriterionRepository:
    """Learners' criteria verified in planning's needs survey."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, row: LearnerCriterion) -> None:
        """Insert the verification, or move its time forward when it is newer."""
        stmt = insert(LearnerCriterion).values(
            learner_id=row.learner_id,
            criterion=row.criterion,
            source=row.source,
            round_id=row.round_id,
            verified_at=row.verified_at,
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["learner_id", "criterion", "source", "round_id"],
                set_={"verified_at": stmt.excluded.verified_at},
                where=LearnerCriterion.verified_at < stmt.excluded.verified_at,
            )
        )

    async def remove(self, row: LearnerCriterion) -> None:
        """Delete the verification unless it was made again after `row.verified_at`."""
        await self.session.execute(
            delete(LearnerCriterion).where(
                LearnerCriterion.learner_id == row.learner_id,
                LearnerCriterion.criterion == row.criterion,
                LearnerCriterion.source == row.source,
                LearnerCriterion.round_id == row.round_id,
                LearnerCriterion.verified_at <= row.verified_at,
            )
        )

    async def of_learner(self, learner_id: str) -> list[tuple[str, str]]:
        """The learner's distinct (criterion, source) pairs, sorted."""
        stmt = (
            select(LearnerCriterion.criterion, LearnerCriterion.source)
            .where(LearnerCriterion.learner_id == learner_id)
            .distinct()
            .order_by(LearnerCriterion.criterion, LearnerCriterion.source)
        )
        return [(c, s) for c, s in (await self.session.execute(stmt)).all()]
