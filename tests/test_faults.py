"""Fault drills with the inventory as a real uvicorn process (relay and consumers running):

- its PostgreSQL stops: requests answer 503 problems and `/readyz` fails; when the database is
  back the service recovers by itself;
- it is killed (SIGKILL) while consuming a batch of events and started again: every event takes
  effect, none twice.

Each drill is bounded in time and uses loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import inventory_service.main
from shared_kit.events import CloudEvent
from shared_kit.events.kafka import ensure_topics
from shared_kit.migrations import upgrade
from shared_kit.settings import ServiceSettings
from shared_kit.testing.database import scalar
from shared_kit.testing.infra import Postgres, free_port, start_embedded_postgres
from shared_kit.testing.kafka import eventually, publish
from shared_kit.testing.tokens import JWKSServer, TokenIssuer

pytestmark = pytest.mark.slow

API = "/api/v1/inventory"
RIGA = "0010000"
SCHOOL = "3113900001"
START_TIMEOUT_S = 60.0
APPROVED = "lv.datori.reservations.reservation.approved.v1"


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


class Inventory:
    """The inventory under uvicorn in its own process group; start, SIGKILL, start again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until `/healthz` answers."""
        command = [sys.executable, "-m", "uvicorn", "inventory_service.main:create_app",
                   "--factory", "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"the inventory did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, no goodbye."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def inventory_env(database_url: str, kafka: str, jwks: JWKSServer, unique: str) -> dict[str, str]:
    """The process's settings: this drill's database and topics, the test JWKS."""
    values = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "JWKS_URL": jwks.jwks_url,
        "JWT_AUDIENCE": jwks.issuer.audience,
        "ENVIRONMENT": "test",
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
        "EVENTS_TOPIC": f"inventory.events.{unique}",
        "RESERVATIONS_TOPIC": f"reservations.events.{unique}",
        "CONTRACTS_TOPIC": f"contracts.events.{unique}",
        "TICKETS_TOPIC": f"tickets.events.{unique}",
        "CONSUMER_GROUP": f"inventory.{unique}",
        "OUTBOX_POLL_INTERVAL_S": "0.05",
        "CONSUMER_SESSION_TIMEOUT_MS": "6000",
    }
    return {**os.environ, **{f"INVENTORY_{k}": v for k, v in values.items()}}


async def create_database(postgres: Postgres, name: str) -> str:
    """A migrated inventory database on that server; its URL."""
    engine = create_async_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    url = postgres.url(name)
    await asyncio.to_thread(upgrade, inventory_service.main.MIGRATIONS, url)
    return url


async def seed(client: httpx.AsyncClient, token: str, devices: int = 0) -> None:
    """Rīga, a school, a catalogue item and `devices` available devices (CSV import)."""
    records = [
        ("/municipalities", {"code": RIGA, "name": "Rīgas valstspilsēta"}),
        ("/institutions", {"registration_number": SCHOOL, "name": "Skola",
                           "municipality_code": RIGA}),
        ("/catalogue-items", {"code": "CB-116", "name": "Chromebook", "manufacturer": "Acer",
                              "model": "Spin 311", "category": "chromebook", "os": "chromeos",
                              "screen_inches": "11.6", "touch": True,
                              "base_warranty_months": 36}),
    ]  # fmt: skip
    for path, body in records:
        r = await client.post(f"{API}{path}", json=body, headers=bearer(token))
        assert r.status_code == 201, r.text
    if devices:
        rows = io.StringIO()
        writer = csv.writer(rows)
        writer.writerow(["serial_number", "asset_tag", "catalogue_item_code", "funding_source",
                         "institution_registration_number", "status"])  # fmt: skip
        for i in range(devices):
            writer.writerow([f"SN-F{i}", f"RIX-F{i}", "CB-116", "recovery_fund", SCHOOL,
                             "available"])  # fmt: skip
        r = await client.post(
            f"{API}/devices/imports",
            data={"municipality": RIGA, "mode": "all_or_nothing"},
            files={"file": ("devices.csv", rows.getvalue().encode(), "text/csv")},
            headers=bearer(token),
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["created_rows"] == devices, r.text


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[Path]:
    """The data directory of a PostgreSQL only this drill uses (deleted afterwards)."""
    data = tmp_path / "pg"
    yield data
    with contextlib.suppress(Exception):
        start_embedded_postgres(data, delete_on_exit=True).stop()


async def test_database_outage_answers_503_and_recovers_by_itself(
    own_postgres: Path,
    kafka_bootstrap: str,
    jwks_server: JWKSServer,
    token_issuer: TokenIssuer,
    unique: str,
    tmp_path: Path,
) -> None:
    postgres = start_embedded_postgres(own_postgres, delete_on_exit=False)
    url = await create_database(postgres, "inventory")
    service = Inventory(
        inventory_env(url, kafka_bootstrap, jwks_server, unique), tmp_path / "i.log"
    )
    admin = token_issuer.mint(roles=["platform_admin"])
    service.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=15) as client:
            await seed(client, admin)
            postgres.stop()
            r = await client.get(f"{API}/municipalities", headers=bearer(admin))
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert "retry-after" in r.headers
            assert (await client.get("/readyz")).status_code == 503
            assert (await client.get("/healthz")).status_code == 200  # alive, not ready

            postgres = start_embedded_postgres(own_postgres, delete_on_exit=False)

            async def recovered() -> bool:
                r = await client.get(f"{API}/municipalities", headers=bearer(admin))
                return r.status_code == 200 and (await client.get("/readyz")).status_code == 200

            await eventually(recovered, timeout_s=30)
            r = await client.get(f"{API}/municipalities", headers=bearer(admin))
            assert [m["code"] for m in r.json()["items"]] == [RIGA]
    finally:
        service.stop()
        postgres.stop()


async def test_consumer_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    postgres: Postgres,
    kafka_bootstrap: str,
    jwks_server: JWKSServer,
    token_issuer: TokenIssuer,
    unique: str,
    tmp_path: Path,
) -> None:
    count = 150
    url = await create_database(postgres, f"faults_{unique}")
    env = inventory_env(url, kafka_bootstrap, jwks_server, unique)
    topic = f"reservations.events.{unique}"
    await ensure_topics(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap), [topic])
    service = Inventory(env, tmp_path / "i.log")
    admin = token_issuer.mint(roles=["platform_admin"])
    service.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            await seed(client, admin, devices=count)
            r = await client.get(f"{API}/devices", params={"limit": 200}, headers=bearer(admin))
            devices = [d["id"] for d in r.json()["items"]]
        assert len(devices) == count
        events = [
            CloudEvent(type=APPROVED, source="/drill", subject=d,
                       data={"device_id": d, "reservation_id": str(uuid.uuid4())})
            for d in devices
        ]  # fmt: skip
        await publish(kafka_bootstrap, topic, *events)
        # Kill it once some (not all) of the batch took effect.
        await eventually(lambda: _reserved_at_least(url, 1), timeout_s=30, interval_s=0.01)
        service.kill()
        done_before_kill = await _reserved(url)
        service.start()
        await eventually(lambda: _reserved_at_least(url, count), timeout_s=60)
        entries, inbox = await _history_and_inbox(url)
    finally:
        service.stop()
    assert done_before_kill < count, "the kill came after the whole batch: the drill proves less"
    assert entries == count  # each device moved to reserved exactly once
    assert inbox == count  # each event recorded once


async def _reserved(url: str) -> int:
    return int(await scalar(url, "select count(*) from device where status = 'reserved'"))


async def _reserved_at_least(url: str, n: int) -> bool:
    return await _reserved(url) >= n


async def _history_and_inbox(url: str) -> tuple[int, int]:
    entries = await scalar(
        url,
        "select count(*) from device_history where action = 'status_changed' "
        "and changes->'status'->>1 = 'reserved'",
    )
    inbox = await scalar(url, "select count(*) from inbox_message")
    return int(entries), int(inbox)
