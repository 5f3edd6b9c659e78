"""The dashboards benchmark's data: the statistics benchmark's national dataset with a month
of daily snapshots, the municipalities' names in the inventory, and portal sessions.

The statistics database gets the VIIS stand-in's national pupils and the synthetic history of
`bench.statistics` through the consumer's batch handler, then a daily snapshot of every school
for each of the last `SNAPSHOT_DAYS` days (so the dashboards' 30-day series read as many rows
as a month of running leaves). Sessions are written into the portal's table as a completed login
leaves them (`portal_service.service`): the cookie's hash, the person's token and profile
sealed with the session key.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.dataset import bearer, platform_admin, post
from bench.statistics import BATCH, DEVICES, EVENTS, load_pupils, records
from portal_service.config import PortalSettings
from portal_service.models import WebSession
from portal_service.repository import WebSessionRepository
from portal_service.service import SessionCipher, new_secret, token_hash
from shared_kit.db import create_engine, create_session_factory
from shared_kit.testing.tokens import TokenIssuer
from statistics_service.config import StatisticsSettings
from statistics_service.consumers import build_consumers
from statistics_service.repository.projection import bump_epoch
from statistics_service.service.snapshots import take_daily_snapshots
from statistics_service.service.views import local_date

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "dev"))
import viis_standin

SNAPSHOT_DAYS = 30  # the dashboards' series cover the last 30 days
_SERIES = ("devices_total, devices_in_service, active_loans, overdue_loans, reservations_waiting, "
           "waitlisted, tickets_open, sla_breaches, pupils")  # fmt: skip
# A day's final records (and their bands) again for each of the `days` days before it.
COPY_DAYS = f"""
WITH src AS (
  SELECT * FROM institution_snapshot WHERE snapshot_date = :day AND NOT provisional
), copied AS (
  INSERT INTO institution_snapshot
    (snapshot_date, municipality_code, institution_number, {_SERIES}, provisional, record)
  SELECT src.snapshot_date - back, municipality_code, institution_number, {_SERIES}, false,
         jsonb_set(record, '{{snapshot_date}}', to_jsonb((src.snapshot_date - back)::text))
  FROM src CROSS JOIN generate_series(1, :days) AS back
  RETURNING seq, snapshot_date, institution_number
)
INSERT INTO snapshot_band (snapshot_seq, band, snapshot_date, municipality_code,
                           institution_number, pupils, devices, devices_needed)
SELECT copied.seq, b.band, copied.snapshot_date, b.municipality_code, b.institution_number,
       b.pupils, b.devices, b.devices_needed
FROM copied
JOIN src ON src.institution_number = copied.institution_number
JOIN snapshot_band b ON b.snapshot_seq = src.seq
"""
RIGA = viis_standin.RIGA
TOKEN_TTL_S = 3 * 3600  # outlives the run: the portal never refreshes it (no gateway here)
School = tuple[str, str]


def national_schools() -> list[School]:
    """(registration number, municipality) of the stand-in's national register."""
    return [(s.registration_number, s.municipality_code)
            for s in viis_standin.national_institutions()]  # fmt: skip


async def load_statistics(
    url: str, schools: list[School], devices: int = DEVICES, events: int = EVENTS
) -> int:
    """Pupils, the national history and a month of daily snapshots; how many events."""
    settings = StatisticsSettings(database_url=url, environment="test")
    engine = create_engine(url, pool_size=2)
    sessions = create_session_factory(engine, outbox_topic=settings.events_topic)
    try:
        await load_pupils(sessions)
        polled = records(schools, devices, events)
        [runner] = build_consumers(sessions, settings)
        for i in range(0, len(polled), BATCH):
            await runner.handle_batch(polled[i : i + BATCH])
        await daily_snapshots(sessions, settings)
        return len(polled)
    finally:
        await engine.dispose()


async def daily_snapshots(
    sessions: async_sessionmaker[AsyncSession], settings: StatisticsSettings
) -> None:
    """The snapshot job yesterday and today (yesterday's records final, today's provisional);
    yesterday's final records copied to the days before, back to SNAPSHOT_DAYS days ago (the
    job computes every school's figures each run: a month of runs would take minutes)."""
    now = dt.datetime.now(dt.UTC)
    for at in (now - dt.timedelta(days=1), now):
        async with sessions() as session, session.begin():
            await take_daily_snapshots(session, settings=settings, now=at)
    async with sessions() as session, session.begin():
        await session.execute(
            text(COPY_DAYS),
            {"day": local_date(now, settings) - dt.timedelta(days=1), "days": SNAPSHOT_DAYS - 2},
        )


async def fresh_views(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Advance the projection epoch, as any applied event does: no view is served from cache."""
    async with sessions() as session, session.begin():
        await bump_epoch(session)


def municipality_names(schools: list[School]) -> dict[str, str]:
    """A name for each municipality of the register (Rīga's real one; the others invented,
    as their codes are)."""
    codes = sorted({code for _number, code in schools})
    return {c: "Rīgas valstspilsēta" if c == RIGA else f"Demo novads {c}" for c in codes}


async def seed_municipalities(base_url: str, issuer: TokenIssuer, names: dict[str, str]) -> None:
    """The municipalities in the inventory, as the platform administrator registers them."""
    headers = bearer(platform_admin(issuer))
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for code, name in names.items():
            await post(client, "/municipalities", {"code": code, "name": name}, headers)


def person_token(issuer: TokenIssuer, person: str, **claims: Any) -> str:
    """An access token such as the gateway gives a person logged in to the portal."""
    return issuer.mint(person, ttl_s=TOKEN_TTL_S, **claims)


async def mint_session(
    portal_db: str, token: str, person: str, name: tuple[str, str], roles: list[str]
) -> str:
    """A logged-in web session of a person, as a completed login leaves it; its cookie."""
    settings = PortalSettings(database_url=portal_db, environment="test")
    cipher = SessionCipher(settings.session_key.get_secret_value())
    cookie, at = new_secret(), dt.datetime.now(dt.UTC)
    profile = {"id": person, "given_name": name[0], "family_name": name[1], "roles": roles,
               "children": []}  # fmt: skip
    secrets_ = {"access_token": token, "refresh_token": secrets.token_urlsafe(32),
                "profile": profile, "drafts": {}}  # fmt: skip
    row = WebSession(
        token_sha256=token_hash(cookie),
        csrf_token=new_secret(),
        person_id=uuid.UUID(person),
        secrets_encrypted=cipher.seal(secrets_),
        access_expires_at=at + dt.timedelta(seconds=TOKEN_TTL_S),
        last_seen_at=at,
        authenticated_at=at,
        expires_at=at + dt.timedelta(seconds=settings.session_absolute_timeout_s),
    )
    engine = create_engine(portal_db, pool_size=1)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await WebSessionRepository(session).add(row)
    finally:
        await engine.dispose()
    return cookie
