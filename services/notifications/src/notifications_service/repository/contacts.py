"""SQL of recipients, contact points and the deliveries a removed contact point cancels."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.kinds import Channel
from notifications_service.models import ContactPoint, Delivery, DeliveryState, Recipient


class RecipientRepository:
    """People this service knows, with their language."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(self, person_id: str) -> None:
        """Make the person's row if it is not there yet (a concurrent maker is harmless)."""
        stmt = insert(Recipient).values(person_id=person_id).on_conflict_do_nothing()
        await self.session.execute(stmt)

    async def language(self, person_id: str) -> str | None:
        """The person's language, if they have a row."""
        stmt = select(Recipient.language).where(Recipient.person_id == person_id)
        return await self.session.scalar(stmt)

    async def take_code(
        self, person_id: str, *, now: dt.datetime, window: dt.timedelta, limit: int
    ) -> dt.datetime | None:
        """Count one more code sent to the person; None when the window's `limit` is reached,
        else the window's start. One statement: concurrent requests cannot both take the last."""
        fresh = or_(
            Recipient.codes_window_start.is_(None), Recipient.codes_window_start <= now - window
        )
        stmt = (
            update(Recipient)
            .where(
                Recipient.person_id == person_id,
                or_(fresh, Recipient.codes_in_window < limit),
            )
            .values(
                codes_window_start=case((fresh, now), else_=Recipient.codes_window_start),
                codes_in_window=case((fresh, 1), else_=Recipient.codes_in_window + 1),
            )
            .returning(Recipient.codes_window_start)
        )
        return await self.session.scalar(stmt)

    async def codes_window_start(self, person_id: str) -> dt.datetime | None:
        """When the person's current window of codes began."""
        stmt = select(Recipient.codes_window_start).where(Recipient.person_id == person_id)
        return await self.session.scalar(stmt)

    async def set_language(self, person_id: str, language: str) -> None:
        """Store the person's language (making their row if needed)."""
        stmt = insert(Recipient).values(person_id=person_id, language=language)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Recipient.person_id],
            set_={"language": language, "updated_at": func.now()},
        )
        await self.session.execute(stmt)


class ContactPointRepository:
    """A person's contact points; every query is by the person."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_person(self, person_id: str) -> Sequence[ContactPoint]:
        """The person's contact points, e-mail first."""
        stmt = (
            select(ContactPoint)
            .where(ContactPoint.person_id == person_id)
            .order_by(ContactPoint.channel)
        )
        return (await self.session.scalars(stmt)).all()

    async def lock(self, person_id: str, channel: Channel) -> ContactPoint | None:
        """The person's contact point of a channel, locked until the transaction ends."""
        stmt = (
            select(ContactPoint)
            .where(ContactPoint.person_id == person_id, ContactPoint.channel == channel)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)

    async def lock_or_create(
        self, person_id: str, channel: Channel, address_encrypted: str
    ) -> tuple[ContactPoint, bool]:
        """The contact point locked, made with this address if missing; True when made here."""
        stmt = (
            insert(ContactPoint)
            .values(
                id=uuid.uuid4(),
                person_id=person_id,
                channel=channel,
                address_encrypted=address_encrypted,
            )
            .on_conflict_do_nothing(index_elements=[ContactPoint.person_id, ContactPoint.channel])
            .returning(ContactPoint.id)
        )
        created = await self.session.scalar(stmt) is not None
        point = await self.lock(person_id, channel)
        assert point is not None  # made above, or by a concurrent request that committed
        return point, created

    async def delete(self, point: ContactPoint) -> None:
        """Erase a contact point (its encrypted address with it)."""
        await self.session.execute(delete(ContactPoint).where(ContactPoint.id == point.id))

    async def cancel_pending_deliveries(self, person_id: str, channel: Channel) -> int:
        """Cancel the person's deliveries of a channel that wait to be sent; how many."""
        stmt = (
            update(Delivery)
            .where(
                Delivery.person_id == person_id,
                Delivery.channel == channel,
                Delivery.state == DeliveryState.PENDING,
            )
            .values(state=DeliveryState.CANCELLED, last_error="contact point removed")
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)
