"""Ended login sessions and old audit records are purged after their retention."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import service
from gateway_service.main import on_clock
from gateway_service.models import AuditEvent, Person, RefreshFamily
from gateway_service.service.common import audit_purge
from shared_kit.testing.clock import TestClock

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


def family(person: Person, *, expires: dt.datetime, revoked: dt.datetime | None) -> RefreshFamily:
    return RefreshFamily(
        person_id=person.id,
        idp="eklase",
        amr=["pwd"],
        auth_time=NOW,
        audience=["inventory"],
        login_claims={},
        expires_at=expires,
        revoked_at=revoked,
    )


async def test_only_long_ended_sessions_are_purged(db: AsyncSession) -> None:
    person = Person(given_name="Anna", family_name="Bērziņa")
    db.add(person)
    await db.flush()
    long_ago = NOW - dt.timedelta(days=45)
    db.add_all(
        [
            family(person, expires=long_ago, revoked=None),  # expired long ago
            family(
                person, expires=NOW + dt.timedelta(days=5), revoked=long_ago
            ),  # revoked long ago
            family(person, expires=NOW - dt.timedelta(days=1), revoked=None),  # ended recently
            family(person, expires=NOW + dt.timedelta(days=5), revoked=None),  # live
        ]
    )
    await db.flush()
    assert await service.purge_ended_sessions(db, NOW) == {"refresh_families": 2}
    assert await db.scalar(select(func.count()).select_from(RefreshFamily)) == 2


async def test_the_purges_read_the_services_clock(db: AsyncSession) -> None:
    db.add(AuditEvent(actor="a", action="login.succeeded", at=NOW - dt.timedelta(days=31)))
    await db.flush()
    purge = on_clock(audit_purge(30), TestClock(NOW))
    # The housekeeper's own time (the system's) is not the service's.
    assert await purge(db, NOW - dt.timedelta(days=365)) == {"audit_events": 1}


async def test_audit_records_past_retention_are_purged(db: AsyncSession) -> None:
    db.add_all(
        [
            AuditEvent(actor="a", action="login.succeeded", at=NOW - dt.timedelta(days=31)),
            AuditEvent(actor="b", action="login.succeeded", at=NOW - dt.timedelta(days=29)),
        ]
    )
    await db.flush()
    assert await audit_purge(30)(db, NOW) == {"audit_events": 1}
    assert (await db.scalars(select(AuditEvent.actor))).all() == ["b"]
