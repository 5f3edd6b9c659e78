"""SQL of deliveries: fan-out, the dispatcher's claims and outcomes, and the admin list.

Every write that could be repeated (a redelivered event, a second replica) is guarded: new
rows with ON CONFLICT DO NOTHING, outcomes only on a delivery that is still `sending`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, bindparam, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from notifications_service.kinds import Channel
from notifications_service.models import (
    ContactPoint,
    Delivery,
    DeliveryState,
    Notice,
    Preference,
    Recipient,
)
from shared_kit.db import any_of
from shared_kit.pagination import paginate

PENDING, SENDING = DeliveryState.PENDING, DeliveryState.SENDING


@dataclass(frozen=True)
class Job:
    """A claimed delivery with what sending it needs: its notice, the person's language, the
    contact point and the preference for the kind, as they are now."""

    id: uuid.UUID
    channel: Channel
    person_id: str
    attempts: int
    kind: str
    params: dict[str, Any]
    link: str | None
    notice_created_at: dt.datetime
    language: str
    contact_point_id: uuid.UUID | None
    address_encrypted: str | None
    verified: bool
    rejected: bool
    enabled: bool | None  # None: no preference stored for the kind
    chosen: list[str] | None


def _job(row: Any) -> Job:
    (id_, channel, person, attempts, kind, params, link, created, language,
     cp_id, encrypted, verified, rejected, enabled, chosen) = row  # fmt: skip
    return Job(
        id=id_,
        channel=channel,
        person_id=person,
        attempts=attempts,
        kind=kind,
        params=params or {},
        link=link,
        notice_created_at=created,
        language=language or "lv",
        contact_point_id=cp_id,
        address_encrypted=encrypted,
        verified=bool(verified),
        rejected=bool(rejected),
        enabled=enabled,
        chosen=chosen,
    )


@dataclass(frozen=True)
class Choice:
    """A person's stored preference for a kind."""

    enabled: bool
    channels: list[str]


def _reach() -> Any:
    person, kind = bindparam("person", type_=String), bindparam("kind", type_=String)
    usable = and_(
        ContactPoint.person_id == person,
        ContactPoint.verified_at.is_not(None),
        ContactPoint.rejected_at.is_(None),
    )
    chosen = and_(Preference.person_id == person, Preference.kind == kind)
    return (
        select(ContactPoint.channel, Preference.enabled, Preference.channels)
        .select_from(select(literal(1)).subquery())
        .outerjoin(Preference, chosen)
        .outerjoin(ContactPoint, usable)
    )


_REACH = _reach()


_SENT = (
    update(Delivery)
    .where(Delivery.id == bindparam("delivery_id"), Delivery.state == SENDING)
    .values(
        state=DeliveryState.SENT,
        sent_at=bindparam("sent_now"),
        attempts=bindparam("sent_attempts"),
        last_error=None,
        lease_until=None,
    )
    .returning(Delivery.id)
)


class DeliveryRepository:
    """Deliveries and what the dispatcher reads beside them."""

    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self.session = session

    # Fan-out ----------------------------------------------------------------------------------

    async def reach(self, person_id: str, kind: str) -> tuple[Choice | None, set[Channel]]:
        """The person's stored choice for a kind, and the channels with a verified, not
        rejected contact point (one round trip, a statement built once: fan-out runs for
        every notice)."""
        rows = (await self.session.execute(_REACH, {"person": person_id, "kind": kind})).all()
        choice = Choice(rows[0][1], rows[0][2]) if rows and rows[0][1] is not None else None
        return choice, {row[0] for row in rows if row[0] is not None}

    async def add_all(
        self, notice_id: uuid.UUID, person_id: str, due: dict[Channel, dt.datetime]
    ) -> None:
        """Pending deliveries of the notice by each channel, unless they exist."""
        rows = [
            {
                "id": uuid.uuid4(),
                "notice_id": notice_id,
                "person_id": person_id,
                "channel": channel,
                "next_attempt_at": at,
            }
            for channel, at in sorted(due.items())
        ]
        await self.session.execute(
            insert(Delivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[Delivery.notice_id, Delivery.channel])
        )

    # The dispatcher's claim -------------------------------------------------------------------

    async def claim(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int
    ) -> list[uuid.UUID]:
        """Mark up to `limit` due deliveries `sending` until `lease_until`: pending ones whose
        time came, and sending ones whose lease ran out (their dispatcher died)."""
        due = (
            select(Delivery.id)
            .where(
                Delivery.state.in_([PENDING, SENDING]),
                Delivery.next_attempt_at <= now,
                or_(Delivery.state == PENDING, Delivery.lease_until < now),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = await self.session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(due.scalar_subquery()))
            .values(state=SENDING, lease_until=lease_until)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        return list(claimed)

    async def jobs(self, ids: Sequence[uuid.UUID]) -> list[Job]:
        """The claimed deliveries with their notices, languages, contact points, choices."""
        if not ids:
            return []
        cp, pref = ContactPoint, Preference
        stmt = (
            select(
                Delivery.id,
                Delivery.channel,
                Delivery.person_id,
                Delivery.attempts,
                Notice.kind,
                Notice.params,
                Notice.link,
                Notice.created_at,
                Recipient.language,
                cp.id,
                cp.address_encrypted,
                cp.verified_at.is_not(None),
                cp.rejected_at.is_not(None),
                pref.enabled,
                pref.channels,
            )
            .join(Notice, Notice.id == Delivery.notice_id)
            .outerjoin(Recipient, Recipient.person_id == Delivery.person_id)
            .outerjoin(cp, and_(cp.person_id == Delivery.person_id, cp.channel == Delivery.channel))
            .outerjoin(pref, and_(pref.person_id == Delivery.person_id, pref.kind == Notice.kind))
            .where(any_of(Delivery.id, ids))
            .order_by(Delivery.next_attempt_at)
        )
        return [_job(row) for row in (await self.session.execute(stmt)).all()]

    # Outcomes ---------------------------------------------------------------------------------

    async def _settle(self, delivery_id: uuid.UUID, **values: Any) -> bool:
        """Set the outcome of a delivery this dispatcher still holds; False if it lost it."""
        done = await self.session.scalar(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == SENDING)
            .values(lease_until=None, **values)
            .returning(Delivery.id)
        )
        return done is not None

    async def sent(self, delivery_id: uuid.UUID, attempts: int, now: dt.datetime) -> bool:
        """The provider accepted it (a statement built once: every message runs it)."""
        params = {"delivery_id": delivery_id, "sent_attempts": attempts, "sent_now": now}
        return await self.session.scalar(_SENT, params) is not None

    async def retry(
        self, delivery_id: uuid.UUID, attempts: int, at: dt.datetime, error: str
    ) -> bool:
        """Back to pending until `at`, after a temporary failure."""
        return await self._settle(
            delivery_id, state=PENDING, attempts=attempts, next_attempt_at=at, last_error=error
        )

    async def wait(self, delivery_id: uuid.UUID, at: dt.datetime) -> bool:
        """Back to pending until `at` without an attempt (quiet hours, a shutdown)."""
        return await self._settle(delivery_id, state=PENDING, next_attempt_at=at)

    async def fail(self, delivery_id: uuid.UUID, attempts: int, error: str) -> bool:
        """Given up: attempts used up or refused for good."""
        return await self._settle(
            delivery_id, state=DeliveryState.FAILED, attempts=attempts, last_error=error
        )

    async def cancel(self, delivery_id: uuid.UUID, reason: str) -> bool:
        """No longer to be sent."""
        return await self._settle(delivery_id, state=DeliveryState.CANCELLED, last_error=reason)

    async def reject_contact_point(
        self, contact_point_id: uuid.UUID, now: dt.datetime, reason: str
    ) -> dt.datetime | None:
        """Mark the contact point refused for good; its `rejected_at`, or None if it already
        was (or is gone)."""
        return await self.session.scalar(
            update(ContactPoint)
            .where(ContactPoint.id == contact_point_id, ContactPoint.rejected_at.is_(None))
            .values(rejected_at=now, rejected_reason=reason[:200])
            .returning(ContactPoint.rejected_at)
        )

    async def cancel_pending(self, person_id: str, channel: Channel, reason: str) -> int:
        """Cancel the person's pending deliveries by the channel; how many."""
        cancelled = await self.session.scalars(
            update(Delivery)
            .where(
                Delivery.person_id == person_id,
                Delivery.channel == channel,
                Delivery.state == PENDING,
            )
            .values(state=DeliveryState.CANCELLED, last_error=reason)
            .returning(Delivery.id)
        )
        return len(cancelled.all())

    async def add_notice(
        self,
        person_id: str,
        kind: str,
        cause: str,
        params: dict[str, Any],
        now: dt.datetime,
        link: str | None = None,
    ) -> None:
        """An in-portal notice, once per (cause, person)."""
        await self.session.execute(
            insert(Notice)
            .values(
                id=uuid.uuid4(),
                person_id=person_id,
                kind=kind,
                cause=cause,
                params=params,
                link=link,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[Notice.cause, Notice.person_id])
        )

    # The admin list ---------------------------------------------------------------------------

    async def page(
        self, state: DeliveryState, cursor: str | None, limit: int
    ) -> Sequence[tuple[Delivery, str]]:
        """Deliveries in a state with their notices' kinds, least recently changed first."""
        stmt = (
            select(Delivery, Notice.kind)
            .join(Notice, Notice.id == Delivery.notice_id)
            .where(Delivery.state == state)
        )
        columns = [Delivery.updated_at, Delivery.id]
        rows = (await self.session.execute(paginate(stmt, columns, cursor, limit))).all()
        return [(row[0], row[1]) for row in rows]

    async def get(self, delivery_id: uuid.UUID) -> Delivery | None:
        """One delivery, locked for a change."""
        return await self.session.scalar(
            select(Delivery).where(Delivery.id == delivery_id).with_for_update()
        )
