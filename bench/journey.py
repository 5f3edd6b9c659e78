"""Benchmark 9: journey latency — a loan from reservation to device on loan, across services.

Inventory, reservations, contracts and tickets run as real uvicorn processes (one each, as
`make run` and a pod run them; contracts renders in its worker process) on fresh databases,
with their outbox relays and consumers on the real broker and their default settings, beside
the real gateway (the borrower's name and personal code for the
contract). Devices are seeded through the inventory's API; then JOURNEYS loans run, CONCURRENT
at a time, through the public HTTP APIs only:

reserve (guardian; the default policy approves at once) → wait until the contract is drafted
(reservation.approved: reservations → contracts) → the guardian reads and signs → the school
reads and countersigns (the PDF is sealed) → wait until the inventory shows the device on loan
and the reservation is fulfilled (contract.activated: contracts → inventory, reservations).

Each journey's wall time splits into our HTTP calls and the waits for events. The bench reads
the services' topics with a consumer of its own (the services' client settings) and a wait ends
when the event is on the broker: the state it reports is committed and readable, and the bench
adds no requests of its own to the servers it measures (it used to poll them every 20 ms, which
cost the servers about 45 ms of CPU per journey). Beside them, in the same run: the same
HTTP round trips to GET /healthz (the HTTP floor) and a raw aiokafka produce → consume of one
event (the floor of one event hop).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

import contracts_service.main
import inventory_service.main
import reservations_service.main
import tickets_service.main
from bench.dataset import bearer, platform_admin, seed
from bench.infra import (
    Infra,
    Server,
    cpu_seconds,
    gateway_server,
    machine_cpu_seconds,
    postgres_cpu_seconds,
    postmaster_pid,
    profiled,
    service_server,
)
from bench.relay import delete_topics
from bench.report import Row
from bench.search import percentile
from inventory_service.config import InventorySettings
from shared_kit.events.envelope import CloudEvent
from shared_kit.events.kafka import ensure_topics, make_consumer, make_producer
from shared_kit.testing.gateway import Gateway
from shared_kit.testing.tokens import TokenIssuer

JOURNEYS = 30
CONCURRENT = 5
TARGET_P50_MS = 500.0
TARGET_P99_MS = 1000.0
CORES = os.cpu_count() or 1
WARMUP = 2  # journeys before the measured ones: consumer groups settle, caches fill
DEVICES = JOURNEYS + WARMUP + 8
POLL_S = 0.02  # preparing: until reservations sees the seeded devices
WAIT_TIMEOUT_S = 60.0
# Each wait is two hops: the services' own (reservation.approved → contracts; contract.activated
# → inventory, reservations), then the bench's consumer reading what they published.
HOPS_PER_WAIT = 2
HOPS = 2 * HOPS_PER_WAIT
HOP_SAMPLES = 50
HOP_WAITING_S = 0.01
RIGA = "0010000"
SCHOOL = "3113900001"  # a Rīga school of bench.dataset
ITEM = "CB-11-GR1-3"
MIGRATIONS: dict[str, Path] = {
    "inventory": inventory_service.main.MIGRATIONS,
    "reservations": reservations_service.main.MIGRATIONS,
    "contracts": contracts_service.main.MIGRATIONS,
    "tickets": tickets_service.main.MIGRATIONS,
}
# Where each journey's HTTP calls go, in order: the floor makes as many /healthz round trips.
CALLS = ("reservations", "contracts", "contracts", "contracts", "contracts")
LENDER = {
    "kind": "institution", "code": SCHOOL, "municipality_code": RIGA,
    "name": "Rīgas valstspilsēta, 1. pamatskola", "registration_number": SCHOOL,
    "address": "Skolas iela 1, Rīga, LV-1010", "representative": "direktors",
}  # fmt: skip


DRAFTED = "lv.datori.contracts.contract.drafted.v1"
STATUS_CHANGED = "lv.datori.inventory.device.status_changed.v1"
FULFILLED = "lv.datori.reservations.reservation.fulfilled.v1"


class Watch:
    """The journey's events as the bench's own consumer reads them from the services' topics:
    a future per (event, id), resolved with the event's data when it arrives."""

    def __init__(self) -> None:
        self.futures: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}

    def future(self, what: str, key: str) -> asyncio.Future[dict[str, Any]]:
        """The future of one event, made by whichever comes first: the wait or the event."""
        return self.futures.setdefault((what, key), asyncio.get_running_loop().create_future())

    async def wait(self, what: str, key: str) -> dict[str, Any]:
        """The data of the event once it is on the broker."""
        return await asyncio.wait_for(asyncio.shield(self.future(what, key)), WAIT_TIMEOUT_S)

    def seen(self, event: CloudEvent) -> None:
        """Resolve the future an event answers, if it is one the journeys wait for."""
        if event.type == DRAFTED:
            key = ("drafted", event.data["reservation_id"])
        elif event.type == STATUS_CHANGED and event.data["to_status"] == "on_loan":
            key = ("on loan", event.data["device"]["device_id"])
        elif event.type == FULFILLED:
            key = ("fulfilled", event.data["reservation_id"])
        else:
            return
        if not (future := self.future(*key)).done():
            future.set_result(event.data)

    async def run(self, consumer: Any) -> None:
        """Read the topics until cancelled."""
        async for record in consumer:
            self.seen(CloudEvent.from_kafka(record.headers, record.value))


@contextlib.asynccontextmanager
async def watching(bootstrap: str, suffix: str) -> AsyncIterator[Watch]:
    """A Watch on this run's topics, reading from their start in a group of its own."""
    settings = InventorySettings(kafka_bootstrap_servers=bootstrap)
    topics = [f"{name}.events.{suffix}" for name in ("contracts", "inventory", "reservations")]
    await ensure_topics(settings, topics)
    consumer = make_consumer(settings, f"bench.{suffix}", *topics)
    await consumer.start()
    watch = Watch()
    reader = asyncio.create_task(watch.run(consumer))
    try:
        yield watch
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await consumer.stop()


@dataclass
class Stack:
    """The running services' clients, the tokens that act on them, and the 5xx seen."""

    clients: dict[str, httpx.AsyncClient]
    issuer: TokenIssuer
    guardian_id: str
    admin: dict[str, str]
    school: dict[str, str]
    watch: Watch
    pids: dict[str, int] = field(default_factory=dict)
    postmaster: int | None = None
    server_errors: int = 0

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds each service's processes (uvicorn and its workers) have used so far."""
        return {name: cpu_seconds(pid) or 0.0 for name, pid in self.pids.items()}

    def whole_s(self) -> dict[str, float]:
        """CPU seconds so far of PostgreSQL, of this process (the bench: its HTTP clients,
        its consumer, the tokens it mints) and of the whole machine."""
        postgres = postgres_cpu_seconds(self.postmaster) if self.postmaster else None
        return {
            "PostgreSQL": postgres or 0.0,
            "the bench itself": time.process_time(),
            "machine": machine_cpu_seconds(),
        }

    async def count(self, response: httpx.Response) -> None:
        """httpx response hook: tally the 5xx answers."""
        if response.status_code >= 500:
            self.server_errors += 1


@dataclass
class Journey:
    """One journey: seconds per step (`wait…` steps are event waits) and in all."""

    steps: dict[str, float] = field(default_factory=dict)
    total_s: float = 0.0

    @property
    def http_s(self) -> float:
        """Seconds in our HTTP calls."""
        return sum(s for name, s in self.steps.items() if not name.startswith("wait"))

    @property
    def wait_s(self) -> float:
        """Seconds waiting for events to reach the broker and the bench's consumer."""
        return sum(s for name, s in self.steps.items() if name.startswith("wait"))


def wiring(name: str, suffix: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment: this run's topics and groups, relay and consumers running."""
    prefix = f"{name.upper()}_"
    env = {f"{prefix}{other.upper()}_TOPIC": f"{other}.events.{suffix}" for other in MIGRATIONS}
    env |= {
        f"{prefix}EVENTS_TOPIC": f"{name}.events.{suffix}",
        f"{prefix}CONSUMER_GROUP": f"{name}.{suffix}",
        f"{prefix}RUN_BACKGROUND_WORKERS": "true",
    }
    return env | (extra or {})


def gateway_client(gateway: Gateway) -> dict[str, str]:
    """How contracts reaches the gateway's person endpoint."""
    return {
        "CONTRACTS_GATEWAY_URL": gateway.url,
        "CONTRACTS_GATEWAY_CLIENT_ID": gateway.client_id,
        "CONTRACTS_GATEWAY_CLIENT_SECRET": gateway.client_secret,
    }


# One process per service, as `make run` and a pod run it. Five journeys share two cores with
# four services, the gateway, PostgreSQL and the broker: a second uvicorn worker per service
# doubled the idle consumers and relays (the relays then took turns by advisory lock) and
# cost 15 % more CPU per journey (2026-12-07).
SERVICE_WORKERS = 1


async def start_services(
    stack: contextlib.AsyncExitStack, infra: Infra, gateway: Gateway, suffix: str
) -> dict[str, Server]:
    """Each service on a fresh database, all on this run's topics (named by `suffix`)."""
    servers = {}
    for name, migrations in MIGRATIONS.items():
        url = await stack.enter_async_context(
            infra.fresh_database(f"bench_journey_{name}", migrations)
        )
        env = wiring(name, suffix, gateway_client(gateway) if name == "contracts" else None)
        servers[name] = await stack.enter_async_context(
            service_server(
                infra,
                name,
                f"{name.upper()}_",
                url,
                env,
                benchmark="journey",
                workers=SERVICE_WORKERS,
            )
        )
    return servers


def expect(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a response that must have this status."""
    if response.status_code != status:
        request = response.request
        raise RuntimeError(
            f"{request.method} {request.url.path} → {response.status_code}: {response.text[:300]}"
        )
    return response.json()


async def seed_devices(stack: Stack) -> None:
    """DEVICES available Chromebooks at the school, as the platform administrator adds them."""
    client = stack.clients["inventory"]
    for i in range(DEVICES):
        body = {
            "serial_number": f"SN-J{i:05d}", "asset_tag": f"RIX-J{i:05d}",
            "catalogue_item_code": ITEM, "municipality_code": RIGA,
            "institution_registration_number": SCHOOL, "funding_source": "recovery_fund",
            "status": "available",
        }  # fmt: skip
        device = expect(await client.post("/api/v1/inventory/devices", json=body,
                                          headers=stack.admin), 201)  # fmt: skip
        if device["status"] != "available":
            path = f"/api/v1/inventory/devices/{device['id']}/transitions"
            expect(await client.post(path, json={"to": "available"}, headers=stack.admin))


async def all_free(stack: Stack) -> bool:
    """Whether the reservations service sees every seeded device free at the school."""
    params = {"institution_number": SCHOOL, "category": "chromebook"}
    r = await stack.clients["reservations"].get(
        "/api/v1/reservations/availability", params=params, headers=stack.admin
    )
    return r.status_code == 200 and r.json()["free"] == DEVICES


async def until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll `check` every POLL_S until it returns something true; its result."""
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not seen within {WAIT_TIMEOUT_S:.0f} s")
        await asyncio.sleep(POLL_S)
    return result


async def timed(journey: Journey, step: str, awaitable: Awaitable[Any]) -> Any:
    """Await one step, adding its seconds to the journey under `step`."""
    started = time.perf_counter()
    try:
        return await awaitable
    finally:
        journey.steps[step] = journey.steps.get(step, 0.0) + time.perf_counter() - started


def guardian(stack: Stack, learner: str) -> dict[str, str]:
    """The guardian's token for one child: a recent, strong Latvija.lv login (may sign)."""
    token = stack.issuer.mint(
        stack.guardian_id, roles=["guardian"], learners=[learner],
        idp="latvija", amr=["eparaksts"], auth_time=int(time.time()),
    )  # fmt: skip
    return bearer(token)


async def sign(
    stack: Stack, journey: Journey, contract_id: str, headers: dict[str, str], action: str
) -> Any:
    """Read the contract's documents, then sign (or countersign) the current version."""
    contracts, path = stack.clients["contracts"], f"/api/v1/contracts/{contract_id}"
    docs = await timed(journey, f"{action}: read", contracts.get(f"{path}/documents",
                                                                 headers=headers))  # fmt: skip
    body = {"document_sha256": expect(docs)[-1]["sha256"], "consent_version": "2026.1"}
    request = contracts.post(f"{path}/{action}", json=body, headers=headers)
    return expect(await timed(journey, action, request))


async def loan(stack: Stack) -> Journey:
    """One journey through the public APIs, timed step by step."""
    learner = str(uuid.uuid4())
    mine, journey = guardian(stack, learner), Journey()
    body = {"learner_id": learner, "institution_number": SCHOOL,
            "criteria": {"category": "chromebook"}}  # fmt: skip
    started = time.perf_counter()
    request = stack.clients["reservations"].post("/api/v1/reservations", json=body, headers=mine)
    reservation = expect(await timed(journey, "reserve", request), 201)
    if reservation["state"] != "approved":
        raise RuntimeError(f"reservation {reservation['state']}, not approved")
    rid, device = reservation["id"], reservation["device_id"]
    contract = await timed(journey, "wait: drafted", stack.watch.wait("drafted", rid))
    await sign(stack, journey, contract["contract_id"], mine, "sign")
    active = await sign(stack, journey, contract["contract_id"], stack.school, "countersign")
    if active["state"] != "active":
        raise RuntimeError(f"contract {active['state']} after countersigning, not active")
    both = asyncio.gather(stack.watch.wait("on loan", device), stack.watch.wait("fulfilled", rid))
    await timed(journey, "wait: on loan and fulfilled", both)
    journey.total_s = time.perf_counter() - started
    return journey


async def loans(stack: Stack) -> tuple[list[Journey], list[str]]:
    """JOURNEYS, CONCURRENT at a time; the failures."""
    gate = asyncio.Semaphore(CONCURRENT)

    async def one() -> Journey | str:
        async with gate:
            try:
                return await loan(stack)
            except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
                return f"{type(exc).__name__}: {exc}"

    outcomes = await asyncio.gather(*(one() for _ in range(JOURNEYS)))
    done = [o for o in outcomes if isinstance(o, Journey)]
    return done, [o for o in outcomes if isinstance(o, str)]


async def measured_loans(
    stack: Stack,
) -> tuple[list[Journey], dict[str, float], dict[str, float], list[str]]:
    """The journeys, the CPU per measured journey of each service and of the rest (see
    `Stack.whole_s`), and the failures."""
    for _ in range(WARMUP):
        await loan(stack)
    before, whole = stack.cpu_s(), stack.whole_s()
    journeys, failures = await loans(stack)
    cpu = spent(before, stack.cpu_s(), JOURNEYS)
    return journeys, cpu, spent(whole, stack.whole_s(), JOURNEYS), failures


async def http_floor_ms(stack: Stack, samples: int = JOURNEYS) -> list[float]:
    """Milliseconds of as many GET /healthz round trips as a journey makes calls, in order."""
    floors = []
    for _ in range(samples):
        started = time.perf_counter()
        for name in CALLS:
            expect(await stack.clients[name].get("/healthz"))
        floors.append((time.perf_counter() - started) * 1000)
    return floors


async def hop_ms(bootstrap: str) -> list[float]:
    """Milliseconds from send to receipt of one event, raw aiokafka on a fresh topic, with
    the services' client settings (producer linger 5 ms, the consumer's fetch wait)."""
    settings = InventorySettings(kafka_bootstrap_servers=bootstrap)
    topic = f"bench.journey.hop.{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])
    producer = make_producer(settings)
    consumer = make_consumer(settings, f"{topic}.group", topic)
    await producer.start()
    await consumer.start()
    try:
        await one_hop(producer, consumer, topic)  # joins the group, reads from the start
        return [await one_hop(producer, consumer, topic) for _ in range(HOP_SAMPLES)]
    finally:
        await consumer.stop()
        await producer.stop()
        await delete_topics(settings, [topic])


async def one_hop(producer: Any, consumer: Any, topic: str) -> float:
    """Send one event to a consumer already waiting for it, as the services' consumers wait,
    and read it; milliseconds."""
    arrival = asyncio.ensure_future(consumer.getone())
    await asyncio.sleep(HOP_WAITING_S)  # its fetch is at the broker before the event is
    started = time.perf_counter()
    await (await producer.send(topic, b'{"bench": "hop"}', key=uuid.uuid4().bytes))
    await asyncio.wait_for(arrival, WAIT_TIMEOUT_S)
    return (time.perf_counter() - started) * 1000


async def dead_letters(stack: Stack) -> int:
    """Events the consumers of all services could not apply."""
    total = 0
    for name, client in stack.clients.items():
        r = await client.get(f"/api/v1/{name}/ops/dead-letters", headers=stack.admin)
        total += len(expect(r)["items"])
    return total


@contextlib.asynccontextmanager
async def running_stack(infra: Infra) -> AsyncIterator[Stack]:
    """The gateway and the four services, a client for each, the demo guardian logged in."""
    async with contextlib.AsyncExitStack() as exits:
        gateway = await exits.enter_async_context(gateway_server(infra))
        suffix = f"journey-{uuid.uuid4().hex[:8]}"
        servers = await start_services(exits, infra, gateway, suffix)
        watch = await exits.enter_async_context(watching(infra.bootstrap, suffix))
        person = await gateway.login("guardian")  # the gateway now knows her personal code
        school = infra.issuer.mint(roles=["institution_admin"], institutions=[SCHOOL],
                                   ttl_s=3 * 3600)  # fmt: skip
        admin = bearer(platform_admin(infra.issuer))
        stack = Stack({}, infra.issuer, person["sub"], admin, bearer(school), watch)
        for name, server in servers.items():
            stack.pids[name] = server.pid
            stack.clients[name] = await exits.enter_async_context(httpx.AsyncClient(
                base_url=server.url, timeout=30, event_hooks={"response": [stack.count]}
            ))  # fmt: skip
        stack.postmaster = await postmaster_pid(gateway.database_url)
        yield stack


async def prepare(stack: Stack) -> None:
    """Reference data, devices and the school as lender; wait until reservations sees them."""
    await seed(stack.clients["inventory"], stack.issuer)
    await seed_devices(stack)
    lenders = stack.clients["contracts"]
    expect(await lenders.post("/api/v1/contracts/lenders", json=LENDER, headers=stack.admin), 201)
    await until(partial(all_free, stack), "the devices in reservations")


def p50(values: list[float]) -> float:
    """The median (nearest rank)."""
    return percentile(values, 50)


def step_medians(journeys: list[Journey]) -> str:
    """Median milliseconds of each step, in journey order."""
    names = list(journeys[0].steps) if journeys else []
    return ", ".join(f"{n} {p50([j.steps[n] * 1000 for j in journeys]):.0f}" for n in names)


def rows_for(
    journeys: list[Journey], floor_ms: float, hop: float, errors: int, letters: int
) -> list[Row]:
    """Total, HTTP and waiting times against their floors (p50 ms of GET /healthz round
    trips, and of one raw broker hop); completions and errors."""
    total = [j.total_s * 1000 for j in journeys]
    http = [j.http_s * 1000 for j in journeys]
    wait = [j.wait_s * 1000 for j in journeys]
    drafted = [j.steps["wait: drafted"] * 1000 for j in journeys]
    loaned = [j.steps["wait: on loan and fulfilled"] * 1000 for j in journeys]
    name = f"Journey ({JOURNEYS}, {CONCURRENT} at a time)"
    calls, hops = f"{len(CALLS)} GET /healthz", f"{HOPS} raw broker hops"
    both = f"{calls} + {hops}"
    done = len(journeys)
    p99 = percentile(total, 99)
    return [
        Row(f"{name}: total p50", p50(total), "ms", f"< {TARGET_P50_MS:,.0f}",
            p50(total) < TARGET_P50_MS, floor_ms + HOPS * hop, both),
        Row(f"{name}: total p99", p99, "ms", f"< {TARGET_P99_MS:,.0f}", p99 < TARGET_P99_MS),
        Row(f"{name}: our {len(CALLS)} HTTP calls p50", p50(http), "ms", baseline=floor_ms,
            baseline_name=calls),
        Row(f"{name}: waiting for events p50", p50(wait), "ms", baseline=HOPS * hop,
            baseline_name=hops),
        Row(f"{name}: approved → drafted p50", p50(drafted), "ms",
            baseline=HOPS_PER_WAIT * hop, baseline_name=f"{HOPS_PER_WAIT} raw broker hops"),
        Row(f"{name}: activated → on loan + fulfilled p50", p50(loaned), "ms",
            baseline=HOPS_PER_WAIT * hop, baseline_name=f"{HOPS_PER_WAIT} raw broker hops"),
        Row(f"{name}: completed", done, "", f"{JOURNEYS}", done == JOURNEYS),
        Row(f"{name}: server errors (5xx)", errors, "", "0", errors == 0),
        Row(f"{name}: events dead-lettered", letters, "", "0", letters == 0),
    ]  # fmt: skip


def spent(before: dict[str, float], after: dict[str, float], per: int) -> dict[str, float]:
    """Milliseconds of CPU each service used between two readings, per journey (or floor)."""
    return {name: (after[name] - before[name]) * 1000 / per for name in before}


def whole_rows(whole: dict[str, float]) -> list[Row]:
    """CPU per journey beyond the services: PostgreSQL, the bench, the whole machine (the
    rest is the broker, the gateway and its stand-ins); and the p50 that CPU allows.

    With CONCURRENT journeys always under way and every core busy, a journey takes at least
    CONCURRENT times its CPU over the cores (Little's law): the row shows that bound, and the CPU
    per journey the p50 target would need."""
    name = f"Journey ({JOURNEYS}, {CONCURRENT} at a time): CPU per journey"
    machine = whole["machine"]
    bound = CONCURRENT * machine / CORES
    needed = TARGET_P50_MS * CORES / CONCURRENT
    return [
        Row(f"{name}, PostgreSQL", whole["PostgreSQL"], "ms"),
        Row(f"{name}, the bench itself (client, consumer, tokens)", whole["the bench itself"],
            "ms"),
        Row(f"{name}, whole machine (services, PostgreSQL, broker, gateway, bench)", machine,
            "ms", f"≤ {needed:.0f} for p50 < {TARGET_P50_MS:.0f}", machine <= needed),
        Row(f"Journey ({JOURNEYS}, {CONCURRENT} at a time): p50 the CPU allows "
            f"({CONCURRENT} at a time, machine CPU per journey, {CORES} cores)", bound, "ms"),
    ]  # fmt: skip


def cpu_rows(cpu: dict[str, float], floor: dict[str, float]) -> list[Row]:
    """Server CPU per journey, per service and in all, beside the CPU the HTTP floor's /healthz
    round trips cost the same servers (per journey's worth of calls). Measured journeys only;
    it includes the services' background work (relays, consumers, housekeeping) meanwhile."""
    name = f"Journey ({JOURNEYS}, {CONCURRENT} at a time): server CPU per journey"
    rows = [Row(f"{name}, all services", sum(cpu.values()), "ms", baseline=sum(floor.values()),
                baseline_name=f"{len(CALLS)} GET /healthz")]  # fmt: skip
    rows += [Row(f"{name}, {service}", ms, "ms", baseline=floor[service],
                 baseline_name="its share of the /healthz calls")
             for service, ms in cpu.items()]  # fmt: skip
    return rows


def notes_for(
    journeys: list[Journey], floor_ms: float, hop: float, failures: list[str]
) -> list[str]:
    """How the journeys ran, what the settings were, and what failed."""
    total = [j.total_s * 1000 for j in journeys]
    defaults = InventorySettings()
    notes = [
        f"journey: inventory, reservations, contracts and tickets as uvicorn processes ("
        f"{SERVICE_WORKERS} each; contracts renders in its worker process) with relays and "
        "consumers, on fresh databases and this run's topics, "
        "plus the real gateway (1 worker) and its VIIS and Mykoob stand-ins; "
        f"{WARMUP} warm-up journeys, then {JOURNEYS} at {CONCURRENT} at a time, each for a "
        "new learner of the demo guardian at one school; the default policy approves at once "
        "(no approval call); calls: reserve, read + sign, read + countersign",
        "journey: drafting (in 'waiting') looks the borrower and the learner up at the gateway "
        "(the bench's learners are unknown there: 404, no name) and renders the PDF; "
        "countersigning renders and seals it (dev settings: a demo CA made at start-up)",
        "journey: a wait ends when the bench's own consumer of the services' topics reads the "
        "event (its state is committed; no requests of the bench's own meanwhile); service "
        "defaults: outbox relay poll "
        f"{defaults.outbox_poll_interval_s} s, but a commit wakes the relay of its own worker "
        "at once (one relay publishes at a time, by advisory lock: a wake-up that finds the "
        "other worker's relay holding it retries every 50 ms), producer linger 5 ms, consumer "
        f"fetch wait {defaults.consumer_fetch_wait_ms} ms; p99 of {len(total)} journeys is their "
        "maximum",
        f"journey step medians (ms): {step_medians(journeys)}",
        f"journey floors (p50): {len(CALLS)} GET /healthz {floor_ms:.1f} ms; raw aiokafka "
        f"produce → consume of one event {hop:.1f} ms ({HOP_SAMPLES} sends, one at a time, "
        "services' client settings, the consumer already waiting as the services' consumers "
        "wait: the embedded broker answers a fetch that came before the event only when the "
        "fetch wait is nearly over, Kafka at once); "
        f"{HOPS} sequential hops in a journey as measured: {HOPS_PER_WAIT} per wait, the "
        "services' own and the bench's consumer reading the result",
    ]
    if failures:
        notes.append(f"journey failures ({len(failures)}): {'; '.join(failures[:3])}")
    return notes


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Start the stack, run the journeys, measure the floors beside them."""
    async with running_stack(infra) as stack:
        await prepare(stack)
        async with contextlib.AsyncExitStack() as spies:
            for name, pid in stack.pids.items():
                await spies.enter_async_context(profiled(pid, f"journey-{name}"))
            journeys, cpu, whole, failures = await measured_loans(stack)
        before = stack.cpu_s()
        floor_ms = p50(await http_floor_ms(stack))
        floor_cpu = spent(before, stack.cpu_s(), JOURNEYS)
        hop = p50(await hop_ms(infra.bootstrap))
        letters = await dead_letters(stack)
    if not journeys:
        raise RuntimeError(f"no journey completed: {'; '.join(failures[:3])}")
    rows = rows_for(journeys, floor_ms, hop, stack.server_errors, letters)
    rows += cpu_rows(cpu, floor_cpu) + whole_rows(whole)
    return rows, notes_for(journeys, floor_ms, hop, failures)
