"""SIGTERM during traffic loses no request and no event.

The inventory runs as Kubernetes runs it: its database migrated by the migration command (the
init container's), then `uvicorn inventory_service.main:create_app --factory` in a process of
its own with the outbox relay and the consumer, on real PostgreSQL and the real broker. Clients
register devices without pause while unreadable records stream into a topic the inventory
consumes; a delivery import of a few thousand devices goes out just before the process gets
SIGTERM, so the relay is still behind when shutdown begins (small relay batches). Then:

- every request that got an answer succeeded, and the database holds exactly the devices that
  were answered (registrations plus the import) (a request the server never read — connection refused or closed while idle —
  changed nothing; none was applied without its answer);
- the relay flushed the outbox before the process exited, and the topic holds one
  `device.registered` event per device;
- every record the consumer processed (each unreadable one leaves a dead letter with its
  partition and offset) lies below its group's committed offset, so nothing is redelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared_kit.testing.database import fetch
from shared_kit.testing.infra import free_port
from shared_kit.testing.kafka import events_of, eventually, read_topic
from shared_kit.testing.tokens import JWKSServer, TokenIssuer

pytestmark = pytest.mark.slow

RIGA = "0010000"
SCHOOL = "3113900001"
ITEM = "CB-11-GR1-3"
CLIENTS = 6
TRAFFIC_BEFORE_SIGTERM_S = 1.5
IMPORT_ROWS = 3000
IMPORT_HEAD_START_S = 0.5  # the import takes longer than this: it is in flight at SIGTERM
TRAFFIC_LIMIT_S = 30.0
GRACEFUL_TIMEOUT_S = 20
EXIT_TIMEOUT_S = 60.0
REGISTERED = "lv.datori.inventory.device.registered.v1"


@dataclass
class Tally:
    """What the clients saw."""

    answered: Counter[int] = field(default_factory=Counter)
    created: list[str] = field(default_factory=list)  # device ids of 201 answers
    imported: int = 0  # devices the import answered as created
    unanswered: Counter[str] = field(default_factory=Counter)  # exception names


@dataclass
class Server:
    """The inventory process and how it was configured."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]
    topic: str
    reservations_topic: str
    group: str


def tail(path: Path, lines: int = 60) -> str:
    """The end of a log file."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def migrate(env: dict[str, str], log: Path) -> None:
    """Run the migration command exactly as the init container does."""
    command = [sys.executable, "-m", "shared_kit.migrations", "inventory_service"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    log.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "inventory_service: database at" in done.stdout


@contextlib.contextmanager
def spawn(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`uvicorn … --factory` as in the image's CMD; killed at the end whatever happened."""
    command = [
        sys.executable, "-m", "uvicorn", "inventory_service.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port),
        "--timeout-graceful-shutdown", str(GRACEFUL_TIMEOUT_S),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def wait_ready(server: Server) -> None:
    """Poll /readyz (database migrated, broker reachable) until it answers 200."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=server.url, timeout=2) as client:
        while time.monotonic() < deadline:
            assert server.process.poll() is None, tail(server.log)
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"not ready:\n{tail(server.log)}")


async def seed(url: str, issuer: TokenIssuer) -> None:
    """A municipality, a school and a catalogue item to register devices against."""
    admin = {"Authorization": f"Bearer {issuer.mint(roles=['platform_admin'])}"}
    async with httpx.AsyncClient(base_url=f"{url}/api/v1/inventory", headers=admin) as client:
        for path, body in (
            ("/municipalities", {"code": RIGA, "name": "Rīgas valstspilsēta"}),
            (
                "/institutions",
                {"registration_number": SCHOOL, "name": "Rīgas 1. pamatskola",
                 "municipality_code": RIGA},
            ),
            (
                "/catalogue-items",
                {"code": ITEM, "name": "Chromebook", "manufacturer": "Acer",
                 "model": "Spin 311", "category": "chromebook", "os": "chromeos",
                 "screen_inches": "11.6", "touch": True, "base_warranty_months": 36},
            ),
        ):  # fmt: skip
            r = await client.post(path, json=body)
            assert r.status_code == 201, r.text


async def register_devices(url: str, token: str, worker: int, tally: Tally) -> None:
    """Register devices one after another until the server stops accepting connections."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + TRAFFIC_LIMIT_S
    n = 0
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        while time.monotonic() < deadline:
            n += 1
            body = {
                "serial_number": f"SN-{worker}-{n:05d}",
                "asset_tag": f"RIX-{worker}-{n:05d}",
                "catalogue_item_code": ITEM,
                "municipality_code": RIGA,
                "institution_registration_number": SCHOOL,
                "funding_source": "recovery_fund",
            }
            try:
                r = await client.post("/api/v1/inventory/devices", json=body)
            except httpx.ConnectError:
                tally.unanswered["ConnectError"] += 1
                return  # the listener is closed: shutdown has begun
            except httpx.TransportError as exc:
                # The server closed an idle keep-alive connection as this request went out:
                # it never read it. A fresh connection tells whether it still listens.
                tally.unanswered[type(exc).__name__] += 1
                continue
            tally.answered[r.status_code] += 1
            if r.status_code == 201:
                tally.created.append(r.json()["id"])


async def import_delivery(url: str, token: str, tally: Tally) -> None:
    """One CSV delivery of IMPORT_ROWS devices (all or nothing)."""
    rows = [f"IMP-{i:05d},IMP-{i:05d},{ITEM},{SCHOOL},recovery_fund" for i in range(IMPORT_ROWS)]
    content = ("serial_number,asset_tag,catalogue_item_code,institution_registration_number,"
               "funding_source\n" + "\n".join(rows) + "\n").encode()  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        try:
            r = await client.post(
                "/api/v1/inventory/devices/imports",
                data={"municipality": RIGA},
                files={"file": ("delivery.csv", content, "text/csv")},
            )
        except httpx.TransportError as exc:
            # Still in the listen backlog when the listener closed (a loaded machine): the
            # server never read it, and the check below finds none of its devices.
            tally.unanswered[f"import {type(exc).__name__}"] += 1
            return
    tally.answered[r.status_code] += 1
    if r.is_success:
        tally.imported = r.json()["created_rows"]


async def stream_garbage(bootstrap: str, topic: str, stop: asyncio.Event) -> int:
    """Unreadable records (no CloudEvent headers) into a consumed topic; each is dead-lettered."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    sent = 0
    try:
        while not stop.is_set():
            await producer.send_and_wait(topic, b"not an event", key=f"k{sent}".encode())
            sent += 1
            await asyncio.sleep(0.02)
    finally:
        await producer.stop()
    return sent


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition of the topic (-1 or None: none)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic) or set()
        result = {}
        for p in sorted(partitions):
            offset = await consumer.committed(TopicPartition(topic, p))
            result[p] = -1 if offset is None else offset
        return result
    finally:
        await consumer.stop()


@pytest.fixture
async def server(
    make_database: Callable[[Path | None], Awaitable[str]],
    jwks_server: JWKSServer,
    token_issuer: TokenIssuer,
    kafka_bootstrap: str,
    unique: str,
    tmp_path: Path,
) -> Any:
    """A migrated inventory process with relay and consumer, seeded and ready."""
    database_url = await make_database(None)  # empty: the migration command does the rest
    topic = f"inventory.events.{unique}"
    reservations_topic = f"reservations.events.{unique}"
    group = f"inventory.{unique}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "INVENTORY_ENVIRONMENT": "dev",
        "INVENTORY_DATABASE_URL": database_url,
        "INVENTORY_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "INVENTORY_JWKS_URL": jwks_server.jwks_url,
        "INVENTORY_JWT_AUDIENCE": token_issuer.audience,
        "INVENTORY_EVENTS_TOPIC": topic,
        "INVENTORY_RESERVATIONS_TOPIC": reservations_topic,
        "INVENTORY_CONTRACTS_TOPIC": f"contracts.events.{unique}",
        "INVENTORY_TICKETS_TOPIC": f"tickets.events.{unique}",
        "INVENTORY_CONSUMER_GROUP": group,
        "INVENTORY_CONSUMER_SESSION_TIMEOUT_MS": "3000",
        "INVENTORY_KAFKA_TOPIC_PARTITIONS": "3",
        # Small relay batches: the import's events take many of them, so shutdown finds the
        # relay behind and must drain it.
        "INVENTORY_OUTBOX_BATCH_SIZE": "100",
        "INVENTORY_LOG_LEVEL": "WARNING",
        "INVENTORY_LOG_JSON": "false",
    }
    migrate(env, tmp_path / "migrate.log")
    port, log = free_port(), tmp_path / "inventory.log"
    with spawn(env, port, log) as process:
        running = Server(
            f"http://127.0.0.1:{port}", process, log, env, topic, reservations_topic, group
        )
        await wait_ready(running)
        await seed(running.url, token_issuer)
        yield running


class TestSigtermDuringTraffic:
    """The process drains requests, flushes the outbox and commits offsets before it exits."""

    async def test_no_request_and_no_event_is_lost(
        self, server: Server, token_issuer: TokenIssuer, kafka_bootstrap: str
    ) -> None:
        token = token_issuer.mint(roles=["municipality_admin"], municipalities=[RIGA])
        tally, stop_garbage = Tally(), asyncio.Event()
        garbage = asyncio.create_task(
            stream_garbage(kafka_bootstrap, server.reservations_topic, stop_garbage)
        )
        database_url = server.env["INVENTORY_DATABASE_URL"]
        # The consumer has joined its group and is processing before the traffic starts.
        await eventually(lambda: fetch(database_url, "select 1 from dead_letter limit 1"))
        clients = [
            asyncio.create_task(register_devices(server.url, token, worker, tally))
            for worker in range(CLIENTS)
        ]
        await asyncio.sleep(TRAFFIC_BEFORE_SIGTERM_S)
        clients.append(asyncio.create_task(import_delivery(server.url, token, tally)))
        await asyncio.sleep(IMPORT_HEAD_START_S)
        answered_before = len(tally.created)
        server.process.send_signal(signal.SIGTERM)
        await asyncio.gather(*clients)
        exit_code = await asyncio.to_thread(server.process.wait, EXIT_TIMEOUT_S)
        stop_garbage.set()
        await garbage
        log = tail(server.log)

        # uvicorn re-raises the signal once its shutdown is complete.
        assert exit_code in (0, -signal.SIGTERM), log
        assert "Application shutdown complete" in server.log.read_text(), log
        assert answered_before > 0, "no traffic before SIGTERM"
        assert len(tally.created) > answered_before, "no request was in flight at SIGTERM"
        assert set(tally.answered) <= {200, 201}, (tally.answered, log)
        assert tally.imported in (0, IMPORT_ROWS), tally
        assert tally.unanswered["ConnectError"] == CLIENTS, tally.unanswered

        devices = {str(row[0]) for row in await fetch(database_url, "select id from device")}
        registered_ids = {
            str(row[0])
            for row in await fetch(
                database_url, "select id from device where serial_number like 'SN-%'"
            )
        }
        assert registered_ids == set(tally.created), "a device was stored without its 201, or lost"
        assert len(devices) == len(tally.created) + tally.imported, "an import half-applied"

        unpublished = await fetch(
            database_url, "select count(*) from outbox_message where published_at is null"
        )
        assert unpublished[0][0] == 0, "the relay did not flush the outbox on shutdown"
        records = await read_topic(kafka_bootstrap, server.topic, at_least=len(devices))
        registered = [e.subject for e in events_of(records) if e.type == REGISTERED]
        assert sorted(registered) == sorted(devices), "an event is missing or doubled"

        letters = await fetch(database_url, 'select topic, partition, "offset" from dead_letter')
        committed = await committed_offsets(
            kafka_bootstrap, server.group, server.reservations_topic
        )
        behind = [(p, o) for _, p, o in letters if committed.get(p, -1) <= o]
        assert not behind, f"processed but not committed (partition, offset): {behind[:5]}"
