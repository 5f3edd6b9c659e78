"""SQL of the rules: notices, reminders, the read models of other services' events, the roster."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.models import (
    DigestRun,
    Notice,
    Recipient,
    Reminder,
    ReminderState,
    StaffMember,
    TrackedContract,
    TrackedReservation,
)
from shared_kit.pagination import decode_cursor


class NoticeRepository:
    """A person's notices."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, values: dict[str, Any]) -> Notice | None:
        """Insert a notice unless its (cause, person) exists; the new notice or None."""
        stmt = (
            insert(Notice)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=[Notice.cause, Notice.person_id])
            .returning(Notice)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def page(self, person_id: str, cursor: str | None, limit: int) -> Sequence[Notice]:
        """One page of a person's notices, newest first (plus one row to tell more follow)."""
        key: list[ColumnElement[Any]] = [Notice.created_at, Notice.id]
        stmt = select(Notice).where(Notice.person_id == person_id)
        if cursor:
            stmt = stmt.where(tuple_(*key) < tuple_(*decode_cursor(cursor, key)))
        stmt = stmt.order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit + 1)
        return (await self.session.scalars(stmt)).all()

    async def unread(self, person_id: str) -> int:
        """How many of a person's notices are unread."""
        stmt = select(func.count()).where(Notice.person_id == person_id, Notice.read_at.is_(None))
        return int(await self.session.scalar(stmt) or 0)

    async def own(self, person_id: str, notice_id: uuid.UUID) -> Notice | None:
        """A notice of this person (None for anyone else's)."""
        stmt = select(Notice).where(Notice.id == notice_id, Notice.person_id == person_id)
        return (await self.session.scalars(stmt)).one_or_none()

    async def mark_all_read(self, person_id: str, now: dt.datetime) -> None:
        """Every unread notice of a person read now."""
        await self.session.execute(
            update(Notice)
            .where(Notice.person_id == person_id, Notice.read_at.is_(None))
            .values(read_at=now)
        )

    async def of_cause(self, cause: str) -> Sequence[Notice]:
        """Notices made for one cause (tests and diagnostics)."""
        return (await self.session.scalars(select(Notice).where(Notice.cause == cause))).all()


class RecipientRepository:
    """People's languages."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def language(self, person_id: str) -> str | None:
        """The language a person chose, if they did."""
        return await self.session.scalar(
            select(Recipient.language).where(Recipient.person_id == person_id)
        )


class ReminderRepository:
    """Planned messages."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def plan(self, values: dict[str, Any]) -> None:
        """Plan a slot: new, moved, or back after a cancellation; a slot done stays done."""
        stmt = insert(Reminder).values(id=uuid.uuid4(), state=ReminderState.PLANNED, **values)
        changed = {k: stmt.excluded[k] for k in ("person_id", "due_at", "params", "link")}
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Reminder.cause],
                set_={**changed, "state": ReminderState.PLANNED, "updated_at": func.now()},
                where=Reminder.state != ReminderState.DONE,
            )
        )

    async def cancel_other(
        self, subject_id: str, kinds: Sequence[str], keep: Sequence[str]
    ) -> None:
        """Cancel a subject's planned reminders of these kinds, except the causes kept."""
        await self.session.execute(
            update(Reminder)
            .where(
                Reminder.subject_id == subject_id,
                Reminder.kind.in_(kinds),
                Reminder.state == ReminderState.PLANNED,
                Reminder.cause.not_in(keep),
            )
            .values(state=ReminderState.CANCELLED, updated_at=func.now())
        )

    async def claim_due(self, now: dt.datetime, limit: int) -> Sequence[Reminder]:
        """Planned reminders due by `now`, locked; rows another replica holds are skipped."""
        stmt = (
            select(Reminder)
            .where(Reminder.state == ReminderState.PLANNED, Reminder.due_at <= now)
            .order_by(Reminder.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(stmt)).all()

    async def of_subject(self, subject_id: str) -> Sequence[Reminder]:
        """A subject's reminders in due order (tests and diagnostics)."""
        stmt = select(Reminder).where(Reminder.subject_id == subject_id).order_by(Reminder.due_at)
        return (await self.session.scalars(stmt)).all()


class TrackingRepository:
    """The read models of reservations and contracts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reservation(self, reservation_id: uuid.UUID) -> TrackedReservation | None:
        """A reservation as last heard of."""
        return await self.session.get(TrackedReservation, reservation_id, populate_existing=True)

    async def keep_reservation(self, values: dict[str, Any]) -> None:
        """Insert or overwrite a reservation's facts."""
        stmt = insert(TrackedReservation).values(**values)
        fields = {k: stmt.excluded[k] for k in values if k != "reservation_id"}
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[TrackedReservation.reservation_id],
                set_={**fields, "updated_at": func.now()},
            )
        )

    async def contract_of(self, reservation_id: uuid.UUID) -> TrackedContract | None:
        """The contract drafted for a reservation, if one was heard of."""
        stmt = select(TrackedContract).where(TrackedContract.reservation_id == reservation_id)
        return (await self.session.scalars(stmt.limit(1))).one_or_none()

    async def keep_contract(self, values: dict[str, Any]) -> None:
        """Insert or overwrite a contract's facts."""
        stmt = insert(TrackedContract).values(**values)
        fields = {k: stmt.excluded[k] for k in values if k != "contract_id"}
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[TrackedContract.contract_id],
                set_={**fields, "updated_at": func.now()},
            )
        )

    async def waiting_by_school(self) -> list[tuple[str, str, int]]:
        """(municipality, school, requests waiting for approval) for every school with some."""
        stmt = (
            select(
                TrackedReservation.municipality_code,
                TrackedReservation.institution_number,
                func.count(),
            )
            .where(TrackedReservation.state == "requested")
            .group_by(TrackedReservation.municipality_code, TrackedReservation.institution_number)
            .order_by(TrackedReservation.institution_number)
        )
        return [(m, s, int(n)) for m, s, n in (await self.session.execute(stmt)).all()]


class RosterRepository:
    """Staff roles, as the gateway last told them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def set_roles(
        self, person_id: str, roles: list[dict[str, Any]], changed_at: dt.datetime
    ) -> None:
        """A person's whole role set; an older change than the one kept is ignored."""
        stmt = insert(StaffMember).values(person_id=person_id, roles=roles, changed_at=changed_at)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[StaffMember.person_id],
                set_={"roles": stmt.excluded.roles, "changed_at": stmt.excluded.changed_at},
                where=StaffMember.changed_at <= stmt.excluded.changed_at,
            )
        )

    async def holders(self, role: str, **scope: str) -> list[str]:
        """People holding `role` with this scope (institution_number or municipality_code)."""
        wanted = [{"role": role, **scope}]
        stmt = (
            select(StaffMember.person_id)
            .where(StaffMember.roles.contains(wanted))
            .order_by(StaffMember.person_id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def claim_digest(self, name: str, day: dt.date) -> bool:
        """True for the one caller that makes this digest of this day."""
        stmt = (
            insert(DigestRun)
            .values(name=name, day=day)
            .on_conflict_do_nothing()
            .returning(DigestRun.day)
        )
        return (await self.session.scalar(stmt)) is not None
