"""What the delivery tests share: people with contact points, notices fanned out, one pass."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notifications_service.channels import build_senders
from notifications_service.config import NotificationsSettings
from notifications_service.dispatcher import Dispatch, PassReport
from notifications_service.kinds import Channel
from notifications_service.models import ContactPoint, Notice, Preference, Recipient
from notifications_service.service import fanout
from notifications_service.service.quiet import QuietHours
from shared_kit.clock import Clock
from shared_kit.crypto import RotatingCipher
from shared_kit.db import create_session_factory

GUARDIAN = "7d1c2a4e-1111-4c3b-9a55-000000000001"
OTHER = "7d1c2a4e-1111-4c3b-9a55-000000000002"


def sessions_of(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory on the test's engine."""
    return create_session_factory(engine)


async def person(
    engine: AsyncEngine,
    settings: NotificationsSettings,
    person_id: str = GUARDIAN,
    *,
    email: str | None = None,
    sms: str | None = None,
    language: str = "lv",
    verified: bool = True,
) -> None:
    """A recipient with the given contact points (verified unless told otherwise)."""
    cipher = RotatingCipher(settings.contact_key)
    async with sessions_of(engine).begin() as session:
        session.add(Recipient(person_id=person_id, language=language))
        for channel, address in ((Channel.EMAIL, email), (Channel.SMS, sms)):
            if address is not None:
                session.add(
                    ContactPoint(
                        person_id=person_id,
                        channel=channel,
                        address_encrypted=cipher.encrypt(address).decode(),
                        verified_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC) if verified else None,
                    )
                )


async def prefer(
    engine: AsyncEngine,
    kind: str,
    *,
    enabled: bool = True,
    channels: list[str],
    who: str = GUARDIAN,
) -> None:
    """Store a person's choice for a kind."""
    async with sessions_of(engine).begin() as session:
        session.add(Preference(person_id=who, kind=kind, enabled=enabled, channels=channels))


async def notify(
    engine: AsyncEngine,
    settings: NotificationsSettings,
    now: dt.datetime,
    kind: str = "reservation_approved",
    *,
    who: str = GUARDIAN,
    cause: str | None = None,
    params: dict[str, Any] | None = None,
    link: str | None = None,
) -> uuid.UUID:
    """A notice for the person and its deliveries, in one transaction (as a consumer does)."""
    async with sessions_of(engine).begin() as session:
        notice = Notice(
            id=uuid.uuid4(),
            person_id=who,
            kind=kind,
            cause=cause or f"event-{uuid.uuid4()}",
            params=params or {"number": 7},
            link=link,
            created_at=now,
        )
        session.add(notice)
        await session.flush()
        await fanout.plan(session, notice, now=now, quiet=QuietHours.of(settings))
    return notice.id


async def many(engine: AsyncEngine, now: dt.datetime, people: int, kind: str) -> None:
    """`people` people with a verified e-mail and one notice each, pending by e-mail (SQL)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO notice (id, person_id, kind, cause, params, created_at) "
                "SELECT gen_random_uuid(), 'p' || i, :kind, 'bulk:' || i, '{}'::jsonb, :now "
                "FROM generate_series(1, :n) AS i"
            ),
            {"kind": kind, "now": now, "n": people},
        )
        await conn.execute(
            text(
                "INSERT INTO delivery (id, notice_id, person_id, channel, next_attempt_at) "
                "SELECT gen_random_uuid(), id, person_id, 'email', :now FROM notice "
                "WHERE cause LIKE 'bulk:%'"
            ),
            {"now": now},
        )


async def contact_many(engine: AsyncEngine, settings: NotificationsSettings, people: int) -> None:
    """Verified e-mail contact points p1@example.lv … for the bulk people."""
    cipher = RotatingCipher(settings.contact_key)
    rows = [
        {
            "id": uuid.uuid4(),
            "person_id": f"p{i}",
            "address": cipher.encrypt(f"p{i}@example.lv").decode(),
        }
        for i in range(1, people + 1)
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO contact_point (id, person_id, channel, address_encrypted, "
                "verified_at) VALUES (:id, :person_id, 'email', :address, now())"
            ),
            rows,
        )


async def one_pass(
    engine: AsyncEngine, settings: NotificationsSettings, clock: Clock
) -> PassReport:
    """One dispatcher pass with the real senders."""
    senders = build_senders(settings)
    try:
        return await Dispatch(sessions_of(engine), settings, senders, clock).run_pass()
    finally:
        for sender in senders.values():
            await sender.close()


async def deliveries(engine: AsyncEngine, who: str | None = None) -> list[Any]:
    """Every delivery (of a person), with its notice's kind, oldest notice first."""
    sql = (
        "SELECT d.*, n.kind FROM delivery d JOIN notice n ON n.id = d.notice_id "
        + ("WHERE d.person_id = :who " if who else "")
        + "ORDER BY n.created_at, d.channel"
    )
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), {"who": who})).mappings().all())


async def notices(engine: AsyncEngine, who: str = GUARDIAN) -> list[Notice]:
    """The person's notices."""
    async with sessions_of(engine)() as session:
        return list(await session.scalars(select(Notice).where(Notice.person_id == who)))


async def contact_point(engine: AsyncEngine, channel: Channel, who: str = GUARDIAN) -> Any:
    """The person's contact point by a channel."""
    async with sessions_of(engine)() as session:
        return await session.scalar(
            select(ContactPoint).where(
                ContactPoint.person_id == who, ContactPoint.channel == channel
            )
        )


async def forget(engine: AsyncEngine, channel: Channel, who: str = GUARDIAN) -> None:
    """The person deleted their contact point."""
    async with sessions_of(engine).begin() as session:
        await session.execute(
            delete(ContactPoint).where(
                ContactPoint.person_id == who, ContactPoint.channel == channel
            )
        )


async def turn_off(engine: AsyncEngine, kind: str, who: str = GUARDIAN) -> None:
    """The person turned a kind off (after its deliveries were planned)."""
    async with sessions_of(engine).begin() as session:
        stored = await session.get(Preference, (who, kind))
        if stored is None:
            session.add(Preference(person_id=who, kind=kind, enabled=False, channels=["email"]))
        else:
            await session.execute(
                update(Preference)
                .where(Preference.person_id == who, Preference.kind == kind)
                .values(enabled=False)
            )
