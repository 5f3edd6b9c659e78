"""Benchmark 4: gateway tokens — client-credentials issuance, and what verifying them adds.

Issuance runs against a real gateway (uvicorn, 2 workers) on its own PostgreSQL database at
production settings (salted SHA-256 of 256-bit client secrets), beside ES256 signing alone
(joserfc, one core, in this process); the in-process figures in the notes (one secret check,
the gateway's own `issue_access_token`) show where the time goes.

Verification is measured in the inventory service with its JWKS pointing at that gateway:
one cheap authenticated GET, asked with one reused token (the verifier's cache answers after
the first request in each worker) and with a new token per request (a full ES256
verification each), beside the unauthenticated `/healthz` at the same rate; then
`JWKSVerifier.verify` alone, in this process, beside joserfc's `jwt.decode` of the same tokens.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select

from bench.dataset import API, bearer, platform_admin
from bench.infra import (
    WORKERS,
    Infra,
    Server,
    cpu_seconds,
    inventory_server,
    spawn_uvicorn,
    stop_process,
    wait_ready,
)
from bench.rawhttp import Connection, http_sender, pool, prepare
from bench.report import Row
from bench.search import TIMEOUT_S as GET_TIMEOUT_S
from bench.search import Request, Sample, open_loop, percentile
from gateway_service import crypto, service
from gateway_service.config import GatewaySettings
from gateway_service.main import MIGRATIONS as GATEWAY_MIGRATIONS
from gateway_service.models import AuditEvent
from shared_kit.auth import JWKSVerifier, Role
from shared_kit.db import create_engine, create_session_factory
from shared_kit.testing.infra import free_port

GATEWAY_APP = "gateway_service.main:create_app"
CLIENT_SCOPE = "inventory:read"
CLIENT_MUNICIPALITY = "0010000"
AUDIENCE = "inventory"  # the audience of an `inventory:read` token, which inventory checks

CONCURRENCY = 16  # token requests in flight (closed loop)
ISSUE_WARMUP_S = 1.0
ISSUE_S = 5.0
RATE_LIMIT = 1_000_000  # token_rate_per_s and token_rate_burst, out of the load's way
TIMEOUT_S = 10.0

RATE = 100  # requests per second of each kind of GET: modest, far from saturation
ROUNDS = 8  # the kinds take turns in blocks, so drift in the machine's load hits all alike
BLOCK_S = 1.0
KIND_WARMUP_S = 0.5
CONNECTIONS = 20

SECRET_CHECKS = 10
SIGNATURES = 400  # per batch; the fastest of SIGNATURE_BATCHES counts
SIGNATURE_BATCHES = 5
COLD_VERIFICATIONS = 2_000
CACHED_VERIFICATIONS = 20_000
CACHED_TOKENS = 100  # the cached verifications cycle through this many tokens

SIGNING = "ES256 signing alone in process, joserfc, 1 core"
HEALTHZ = "GET /healthz (no token)"
CACHED = "GET /municipalities, one token (cached)"
FRESH = "GET /municipalities, new token each"
KINDS = (HEALTHZ, CACHED, FRESH)


@dataclass(frozen=True)
class Gateway:
    """A running gateway and the settings it runs with (for in-process use of its code)."""

    server: Server
    settings: GatewaySettings


def gateway_settings(infra: Infra, database_url: str, issuer: str) -> dict[str, Any]:
    """What the benchmark's gateway differs in from the defaults (env: GATEWAY_<NAME>)."""
    return {
        "environment": "dev",
        "database_url": database_url,
        "kafka_bootstrap_servers": infra.bootstrap,
        "run_background_workers": False,
        "log_level": "WARNING",
        "issuer": issuer,
        "key_encryption_key": Fernet.generate_key().decode(),
        # The admin API (registering the client) trusts the benchmark's token issuer.
        "jwks_url": infra.jwks.jwks_url,
        "jwt_issuer": infra.issuer.issuer,
        "jwt_audience": infra.issuer.audience,
        "token_rate_per_s": RATE_LIMIT,
        "token_rate_burst": RATE_LIMIT,
    }


@contextlib.asynccontextmanager
async def gateway_server(infra: Infra, database_url: str) -> AsyncIterator[Gateway]:
    """`uvicorn gateway_service.main:create_app --factory`, once /readyz answers 200."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    values = gateway_settings(infra, database_url, url)
    env = {**os.environ, **{f"GATEWAY_{k.upper()}": str(v) for k, v in values.items()}}
    log_path = infra.workdir / f"gateway-{port}.log"
    process = spawn_uvicorn(GATEWAY_APP, env, port, log_path)
    try:
        await wait_ready(url, process, log_path, name="gateway")
        yield Gateway(Server(url, process.pid), GatewaySettings(**values))
    finally:
        stop_process(process)


async def register_client(gateway: str, infra: Infra) -> tuple[str, str, str]:
    """A machine client with `inventory:read` (admin API), its secret and one token of it."""
    async with httpx.AsyncClient(base_url=gateway, timeout=TIMEOUT_S) as client:
        body = {"name": "Bench", "municipality_code": CLIENT_MUNICIPALITY, "scopes": [CLIENT_SCOPE]}
        created = await client.post(
            "/api/v1/gateway/clients", json=body, headers=bearer(platform_admin(infra.issuer))
        )
        if created.status_code != 201:
            raise RuntimeError(f"POST /clients → {created.status_code}: {created.text}")
        client_id, secret = created.json()["client_id"], created.json()["client_secret"]
        answer = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client_id, secret),
        )
        if answer.status_code != 200:
            raise RuntimeError(f"POST /oauth/token → {answer.status_code}: {answer.text}")
        return client_id, secret, answer.json()["access_token"]


def basic(client_id: str, secret: str) -> dict[str, str]:
    """HTTP Basic client authentication (the id and secret need no form-encoding)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token_request(base_url: str, client_id: str, secret: str) -> bytes:
    """The bytes of a client-credentials `POST /oauth/token`."""
    body = b"grant_type=client_credentials"
    lines = [
        "POST /oauth/token HTTP/1.1",
        f"Host: {urlsplit(base_url).netloc}",
        *(f"{k}: {v}" for k, v in basic(client_id, secret).items()),
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def machine_cpu_s() -> float | None:
    """CPU seconds all processes on the machine have used (Linux /proc/stat); else None."""
    try:
        head = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, head[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def busy_note(
    what: str, machine_s: float | None, server: str, server_s: float | None, span_s: float
) -> list[str]:
    """How busy the machine was while `what` ran, and how much of it was the server."""
    if machine_s is None or server_s is None:
        return []
    cpus = os.cpu_count() or 1
    return [
        f"during {what} the machine's {cpus} CPUs were {machine_s / span_s / cpus:.0%} busy: "
        f"the {server} {server_s / span_s:.2f} CPUs, everything else (PostgreSQL, this load "
        f"generator, any other process) {(machine_s - server_s) / span_s:.2f} CPUs"
    ]


def run_time_s(pid: int) -> float | None:
    """CPU seconds of a process, its children and all their threads, to the nanosecond (Linux
    schedstat); else clock ticks (`cpu_seconds`), too coarse for a fraction of a millisecond
    per request."""
    if not Path("/proc/self/schedstat").exists():
        return cpu_seconds(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    total = 0
    for process in (pid, *map(int, children)):
        with contextlib.suppress(OSError):  # a process or thread that has just ended
            for task in Path(f"/proc/{process}/task").iterdir():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def delta(before: float | None, after: float | None) -> float | None:
    """after - before, unless either is unknown."""
    return None if before is None or after is None else after - before


# Issuance -----------------------------------------------------------------------------------


@dataclass
class Issued:
    """Latencies of the token requests that answered 200, and how many did not."""

    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0


async def closed_loop(idle: asyncio.Queue[Connection], raw: bytes, seconds: float) -> Issued:
    """CONCURRENCY clients, each sending its next request as soon as the last one answered."""
    issued, deadline = Issued(), time.perf_counter() + seconds

    async def one_client() -> None:
        connection = await idle.get()
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status = await asyncio.wait_for(connection.get(raw), TIMEOUT_S)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    issued.errors += 1
                    return  # this connection is unusable now
                if status == 200:
                    issued.latencies_s.append(time.perf_counter() - started)
                else:
                    issued.errors += 1
        finally:
            idle.put_nowait(connection)

    await asyncio.gather(*(one_client() for _ in range(CONCURRENCY)))
    return issued


async def audited_tokens(database_url: str) -> int:
    """Audit rows the gateway wrote for client-credentials tokens."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).where(AuditEvent.action == "token.client_credentials")
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def issuance(
    gateway: Gateway, client_id: str, secret: str, signing_per_s: float
) -> tuple[list[Row], list[str], int]:
    """Client-credentials tokens per second at CONCURRENCY beside ES256 signing alone; rows,
    notes, tokens issued."""
    raw = token_request(gateway.server.url, client_id, secret)
    async with pool(gateway.server.url, CONCURRENCY) as idle:
        warmup = await closed_loop(idle, raw, ISSUE_WARMUP_S)
        machine_before, cpu_before = machine_cpu_s(), cpu_seconds(gateway.server.pid)
        started = time.perf_counter()
        issued = await closed_loop(idle, raw, ISSUE_S)
        span, cpu_after = time.perf_counter() - started, cpu_seconds(gateway.server.pid)
        machine = delta(machine_before, machine_cpu_s())
    gateway_cpu = delta(cpu_before, cpu_after)
    ms = [s * 1000 for s in issued.latencies_s]
    count, total = len(ms), len(ms) + issued.errors
    name = f"Token issuance, client credentials, {CONCURRENCY} concurrent"
    rows = [
        Row(name, count / span, "tokens/s", baseline=signing_per_s, baseline_name=SIGNING),
        Row(f"{name}: errors of {total:,}", issued.errors, "", "0", issued.errors == 0),
    ]
    cpu = "n/a" if gateway_cpu is None else f"{gateway_cpu / count * 1000:.2f} ms"
    notes = [
        f"token issuance: p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
        f"gateway CPU per token {cpu}; {count:,} tokens in {span:.1f} s over {CONCURRENCY} "
        f"keep-alive connections to {WORKERS} gateway workers, after a {ISSUE_WARMUP_S:.0f} s "
        "warm-up; client secrets checked as in production (salted SHA-256); the token "
        "endpoint's rate limit (token_rate_per_s "
        f"{GatewaySettings.model_fields['token_rate_per_s'].default:g}, burst "
        f"{GatewaySettings.model_fields['token_rate_burst'].default} per caller address) "
        f"raised to {RATE_LIMIT:,} for the benchmark, which calls from one address",
        *busy_note("the issuance", machine, "gateway", gateway_cpu, span),
    ]
    return rows, notes, count + len(warmup.latencies_s)


# Where a token's time goes (in this process) ------------------------------------------------


def secret_check_ms() -> float:
    """Milliseconds of one `verify_secret` of a client secret (the fastest of SECRET_CHECKS:
    the cost itself, not what other processes on the machine add)."""
    secret = crypto.new_secret()
    stored = crypto.hash_secret(secret)
    times = []
    for _ in range(SECRET_CHECKS):
        started = time.perf_counter()
        if not crypto.verify_secret(secret, stored):
            raise RuntimeError("verify_secret refused the right secret")
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def signing_rate(settings: GatewaySettings) -> float:
    """ES256 signatures per second of a client-credentials token's claims, joserfc alone
    (the fastest of SIGNATURE_BATCHES batches)."""
    key = crypto.new_signing_key()
    header = {"alg": service.ALG, "kid": key.kid, "typ": "at+jwt"}
    now = int(time.time())
    claims = {
        "iss": settings.issuer,
        "sub": "cl_0123456789abcdef0123",
        "aud": [AUDIENCE],
        "iat": now,
        "exp": now + settings.access_token_ttl_s,
        "jti": "0" * 32,
        "roles": [Role.SERVICE.value],
        "municipalities": [CLIENT_MUNICIPALITY],
        "institutions": [],
        "learners": [],
        "client_id": "cl_0123456789abcdef0123",
        "scope": CLIENT_SCOPE,
    }
    batches = []
    for _ in range(SIGNATURE_BATCHES):
        started = time.perf_counter()
        for _ in range(SIGNATURES):
            jwt.encode(header, claims, key)
        batches.append(time.perf_counter() - started)
    return SIGNATURES / min(batches)


async def mint(settings: GatewaySettings, client_id: str, count: int) -> tuple[list[str], float]:
    """Tokens signed by the gateway's own `issue_access_token` with its active key and the
    claims of a client-credentials token; and the milliseconds each took."""
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        sessions = create_session_factory(engine)
        async with sessions() as session, session.begin():

            async def one() -> str:
                issued = await service.issue_access_token(
                    session=session,
                    settings=settings,
                    now=datetime.now(UTC),
                    subject=client_id,
                    audience=service.audiences_for([CLIENT_SCOPE], settings),
                    roles=[Role.SERVICE],
                    municipalities=[CLIENT_MUNICIPALITY],
                    client_id=client_id,
                    scope=CLIENT_SCOPE,
                )
                return issued.token

            await one()  # decrypts the active key once
            started = time.perf_counter()
            tokens = [await one() for _ in range(count)]
            each_ms = (time.perf_counter() - started) / count * 1000
    finally:
        await engine.dispose()
    return tokens, each_ms


# Verification in a service ------------------------------------------------------------------


def requests_needed() -> int:
    """How many GETs of one kind the warm-up and the rounds send (`open_loop`'s count)."""
    return int(RATE * KIND_WARMUP_S) + ROUNDS * int(RATE * BLOCK_S)


def sources(url: str, token: str, fresh: list[str]) -> dict[str, Iterator[Request]]:
    """Endless GETs of each kind (the new-token kind runs as far as its tokens go)."""
    path = f"{API}/municipalities"
    healthz = (HEALTHZ, prepare(url, "/healthz", {}, {}))
    cached = (CACHED, prepare(url, path, {}, bearer(token)))
    return {
        HEALTHZ: itertools.repeat(healthz),
        CACHED: itertools.repeat(cached),
        FRESH: iter([(FRESH, prepare(url, path, {}, bearer(t))) for t in fresh]),
    }


@dataclass
class Kind:
    """What one kind of GET measured: its samples, and the server's and machine's CPU."""

    samples: list[Sample] = field(default_factory=list)
    cpu_s: float | None = 0.0
    machine_s: float | None = 0.0
    span_s: float = 0.0


def add(total: float | None, more: float | None) -> float | None:
    """A running sum that becomes unknown once a part is."""
    return None if total is None or more is None else total + more


async def alternate(server: Server, source: dict[str, Iterator[Request]]) -> dict[str, Kind]:
    """Warm each kind up, then ROUNDS blocks of each in turn at RATE."""
    kinds = {label: Kind() for label in source}
    async with pool(server.url, CONNECTIONS) as idle:
        send = http_sender(idle, GET_TIMEOUT_S)
        for label in kinds:
            await open_loop(send, source[label], RATE, KIND_WARMUP_S)
        for _ in range(ROUNDS):
            for label, kind in kinds.items():
                before, machine_before = run_time_s(server.pid), machine_cpu_s()
                started = time.perf_counter()
                kind.samples += await open_loop(send, source[label], RATE, BLOCK_S)
                kind.span_s += time.perf_counter() - started
                kind.cpu_s = add(kind.cpu_s, delta(before, run_time_s(server.pid)))
                kind.machine_s = add(kind.machine_s, delta(machine_before, machine_cpu_s()))
    return kinds


def latency_rows(kinds: dict[str, Kind]) -> list[Row]:
    """p50/p99 of the authenticated kinds beside /healthz's, and errors."""
    p = percentiles(kinds)
    rows = []
    for label in (CACHED, FRESH):
        for i, name in enumerate(("p50", "p99")):
            rows.append(
                Row(f"{label} @ {RATE}/s: {name}", p[label][i], "ms",
                    baseline=p[HEALTHZ][i], baseline_name="GET /healthz, no token, same rate")
            )  # fmt: skip
    total = sum(len(k.samples) for k in kinds.values())
    errors = sum(not s.ok for k in kinds.values() for s in k.samples)
    rows.append(Row(f"Verification GETs: errors of {total:,}", errors, "", "0", errors == 0))
    return rows


def percentiles(kinds: dict[str, Kind]) -> dict[str, tuple[float, float]]:
    """p50 and p99 in ms of each kind."""
    ms = {k: [s.latency_s * 1000 for s in v.samples] for k, v in kinds.items()}
    return {k: (percentile(v, 50), percentile(v, 99)) for k, v in ms.items()}


def cpu_note(kinds: dict[str, Kind]) -> str:
    """The inventory's CPU per request of each kind."""
    parts = [
        f"{label} {cpu_s / len(kind.samples) * 1000:.2f} ms"
        for label, kind in kinds.items()
        if (cpu_s := kind.cpu_s) is not None
    ]
    return "inventory CPU per request: " + ("; ".join(parts) or "n/a")


def differences_note(kinds: dict[str, Kind]) -> str:
    """What each kind adds to another (differences of percentiles)."""
    p = percentiles(kinds)
    parts = [
        f"{name} p50 {p[more][0] - p[less][0]:+.2f} ms, p99 {p[more][1] - p[less][1]:+.2f} ms"
        for name, more, less in (
            ("one token (cached) vs /healthz", CACHED, HEALTHZ),
            ("new token each vs /healthz", FRESH, HEALTHZ),
            ("new token each vs one token (cached)", FRESH, CACHED),
        )
    ]
    return "added by " + "; ".join(parts)


def latency_notes(kinds: dict[str, Kind]) -> list[str]:
    """How the GETs were run, and how busy the machine was meanwhile."""
    machine: float | None = 0.0
    inventory: float | None = 0.0
    for k in kinds.values():
        machine, inventory = add(machine, k.machine_s), add(inventory, k.cpu_s)
    span = sum(k.span_s for k in kinds.values())
    return [
        f"verification: inventory ({WORKERS} workers) with its JWKS at the gateway; each kind open "
        f"loop at {RATE}/s in {ROUNDS} blocks of {BLOCK_S:.0f} s taking turns, after "
        f"{KIND_WARMUP_S} s each of warm-up; GET /municipalities (the cheapest authenticated "
        "endpoint, empty table) runs one SQL query that /healthz does not, so “vs /healthz” "
        "is the endpoint's own work plus authentication, and “new token each vs one token” is "
        "the ES256 verification itself; the “added by” figures are differences of percentiles, "
        "not percentiles of differences",
        differences_note(kinds),
        cpu_note(kinds),
        "new tokens: signed in this process by the gateway's `issue_access_token` with its "
        "active key and a client-credentials token's claims, since each token from "
        "/oauth/token costs an HTTP round trip and an audit row; inventory CPU per request is "
        "the run time of all its processes and threads (kernel schedstat)",
        *busy_note("the GETs", machine, "inventory", inventory, span),
    ]


# JWKSVerifier.verify in process ------------------------------------------------------------


@dataclass
class Verified:
    """Microseconds of each verification in this process."""

    cold: list[float] = field(default_factory=list)  # JWKSVerifier.verify of new tokens
    raw: list[float] = field(default_factory=list)  # joserfc's jwt.decode of the same tokens
    cached: list[float] = field(default_factory=list)  # JWKSVerifier.verify of verified ones


def since_us(started_ns: int) -> float:
    """Microseconds since `started_ns` (perf_counter_ns)."""
    return (time.perf_counter_ns() - started_ns) / 1000


async def verify_timings(jwks_url: str, issuer: str, tokens: list[str]) -> Verified:
    """Each new token through `verify` and through a bare `jwt.decode`, then cached ones."""
    timings = Verified()
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        verifier = JWKSVerifier(jwks_url, audience=AUDIENCE, issuer=issuer, client=client)
        await verifier.verify(tokens[0])  # fetches the JWKS
        keys = KeySet.import_key_set((await client.get(jwks_url)).json())
        for token in tokens[1:]:
            started = time.perf_counter_ns()
            await verifier.verify(token)
            timings.cold.append(since_us(started))
            started = time.perf_counter_ns()
            jwt.decode(token, keys, algorithms=[service.ALG])
            timings.raw.append(since_us(started))
        again = itertools.cycle(tokens[1 : 1 + CACHED_TOKENS])
        for token in itertools.islice(again, CACHED_VERIFICATIONS):
            started = time.perf_counter_ns()
            await verifier.verify(token)
            timings.cached.append(since_us(started))
    return timings


def verify_rows(timings: Verified) -> list[Row]:
    """Median and p99 of new tokens beside the bare decode's."""
    name = "JWKSVerifier.verify in process, new token"
    raw = f"joserfc jwt.decode, {service.ALG}, of the same tokens"
    cold, bare = timings.cold, timings.raw
    return [
        Row(f"{name}: median", statistics.median(cold), "µs",
            baseline=statistics.median(bare), baseline_name=raw),
        Row(f"{name}: p99", percentile(cold, 99), "µs",
            baseline=percentile(bare, 99), baseline_name=raw),
    ]  # fmt: skip


def verify_note(timings: Verified) -> str:
    """How the in-process verifications ran, and the cached ones' figures."""
    cached = timings.cached
    return (
        f"JWKSVerifier.verify: {len(timings.cold):,} distinct tokens, each then decoded by "
        f"joserfc alone (signature and JSON, no claim checks, no cache); then {len(cached):,} "
        f"verifications cycling through {CACHED_TOKENS} already verified ones: median "
        f"{statistics.median(cached):.2f} µs, p99 {percentile(cached, 99):.2f} µs"
    )


# All of it ----------------------------------------------------------------------------------


def in_process_note(signing_per_s: float, mint_ms: float) -> str:
    """Where an issued token's time goes, one core."""
    return (
        f"in process, one core: a client secret check {secret_check_ms():.3f} ms "
        f"(`crypto.verify_secret`, the fastest of {SECRET_CHECKS}); ES256 signing alone "
        f"{1000 / signing_per_s:.3f} ms (joserfc's `jwt.encode` of a client token's claims, the "
        f"fastest of {SIGNATURE_BATCHES} batches of {SIGNATURES}); `issue_access_token` "
        f"{mint_ms:.2f} ms (mean of the tokens minted for the verification runs; adds the "
        "gateway's query for its active key to the signing)"
    )


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Issuance through a real gateway, then verification in the inventory and in process."""
    async with (
        infra.fresh_database("bench_gateway", GATEWAY_MIGRATIONS) as gateway_url,
        gateway_server(infra, gateway_url) as gateway,
    ):
        settings = gateway.settings
        client_id, secret, token = await register_client(gateway.server.url, infra)
        signing_per_s = signing_rate(settings)
        rows, notes, issued = await issuance(gateway, client_id, secret, signing_per_s)
        audited, issued = await audited_tokens(gateway_url), issued + 1  # + register_client's
        notes.append(f"audit rows of client-credentials tokens: {audited:,} for {issued:,} issued")
        fresh, mint_ms = await mint(settings, client_id, requests_needed() + COLD_VERIFICATIONS)
        notes.append(in_process_note(signing_per_s, mint_ms))

        print("Token verification in the inventory …", flush=True)
        verify_env = {
            "INVENTORY_JWKS_URL": f"{gateway.server.url}/.well-known/jwks.json",
            "INVENTORY_JWT_ISSUER": settings.issuer,
            "INVENTORY_JWT_AUDIENCE": AUDIENCE,
        }
        http_tokens, micro_tokens = fresh[: requests_needed()], fresh[requests_needed() :]
        async with (
            infra.fresh_database("bench_tokens") as inventory_url,
            inventory_server(infra, inventory_url, verify_env) as inventory,
        ):
            kinds = await alternate(inventory, sources(inventory.url, token, http_tokens))
        rows += latency_rows(kinds)
        notes += latency_notes(kinds)

        jwks_url = f"{gateway.server.url}/.well-known/jwks.json"
        timings = await verify_timings(jwks_url, settings.issuer, [token, *micro_tokens])
        rows += verify_rows(timings)
        notes.append(verify_note(timings))
    return rows, notes
