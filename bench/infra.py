"""The infrastructure the benchmarks run on, started exactly as the tests start it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.report import keep_log, results_dir
from inventory_service.main import MIGRATIONS
from shared_kit.migrations import upgrade
from shared_kit.testing.gateway import Gateway, running_gateway
from shared_kit.testing.infra import (
    Postgres,
    broker_from_env_or_tansu,
    free_port,
    postgres_from_env_or_embedded,
)
from shared_kit.testing.tokens import JWKSServer, TokenIssuer


@dataclass
class Infra:
    """PostgreSQL, a Kafka-protocol broker, and a token issuer with its JWKS endpoint."""

    workdir: Path
    postgres: Postgres
    bootstrap: str
    issuer: TokenIssuer
    jwks: JWKSServer

    @contextlib.asynccontextmanager
    async def fresh_database(
        self, prefix: str, migrations: Path = MIGRATIONS
    ) -> AsyncIterator[str]:
        """URL of a new, uniquely named database migrated to the head of `migrations` (the
        inventory's unless told otherwise); dropped after."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        await self._admin(f'CREATE DATABASE "{name}"')
        try:
            url = self.postgres.url(name)
            await asyncio.to_thread(upgrade, migrations, url)
            yield url
        finally:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def settle(self, url: str) -> None:
        """Vacuum, analyze and checkpoint after the bulk load, as a database at rest would be.

        Otherwise autovacuum and checkpoints of the 300,000 rows just written run during the
        load test and measure the bulk load, not the searches.
        """
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text("VACUUM (ANALYZE)"))
                await conn.execute(text("CHECKPOINT"))
        finally:
            await engine.dispose()

    async def _admin(self, sql: str) -> None:
        engine = create_async_engine(self.postgres.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()


@contextlib.contextmanager
def infrastructure() -> Iterator[Infra]:
    """Start everything in a temporary directory; stop and delete it all afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        postgres = postgres_from_env_or_embedded(workdir / "pg", delete_on_exit=True)
        try:
            with broker_from_env_or_tansu() as bootstrap:
                issuer = TokenIssuer()
                jwks = JWKSServer(issuer).start()
                try:
                    yield Infra(workdir, postgres, bootstrap, issuer, jwks)
                finally:
                    jwks.stop()
        finally:
            postgres.stop()


def inventory_env(infra: Infra, database_url: str) -> dict[str, str]:
    """Environment of an inventory server process without background workers."""
    return {
        **os.environ,
        "INVENTORY_DATABASE_URL": database_url,
        "INVENTORY_KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "INVENTORY_JWKS_URL": infra.jwks.jwks_url,
        "INVENTORY_JWT_AUDIENCE": infra.issuer.audience,
        "INVENTORY_ENVIRONMENT": "dev",
        "INVENTORY_LOG_LEVEL": "WARNING",
        "INVENTORY_RUN_BACKGROUND_WORKERS": "false",
    }


INVENTORY_APP = "inventory_service.main:create_app"
# Two worker processes, as a pod with 2 CPUs would run (or two replicas): one Python process
# is bound to one core by the GIL, and the target is for the service, not for one process.
WORKERS = 2


def spawn_inventory(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start `uvicorn inventory_service.main:create_app --factory` on a loopback port."""
    return spawn_uvicorn(INVENTORY_APP, env, port, log_path)


def spawn_uvicorn(
    factory: str, env: dict[str, str], port: int, log_path: Path, workers: int = WORKERS
) -> subprocess.Popen[bytes]:
    """Start `uvicorn <factory> --factory` with `workers` processes on a loopback port."""
    command = [sys.executable, "-m", "uvicorn", factory, "--factory"]
    options = [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]
    with log_path.open("wb") as log:
        return subprocess.Popen([*command, *options], env=env, stdout=log, stderr=subprocess.STDOUT)


@dataclass(frozen=True)
class Server:
    """A running server process: where it listens and its process id."""

    url: str
    pid: int


@contextlib.asynccontextmanager
async def inventory_server(
    infra: Infra, database_url: str, env: dict[str, str] | None = None
) -> AsyncIterator[Server]:
    """A real uvicorn process serving the inventory, once /readyz answers 200; `env` adds to
    or overrides its environment."""
    port = free_port()
    log_path = infra.workdir / f"inventory-{port}.log"
    process = spawn_inventory({**inventory_env(infra, database_url), **(env or {})}, port, log_path)
    try:
        server = Server(f"http://127.0.0.1:{port}", process.pid)
        await wait_ready(server.url, process, log_path)
        yield server
    finally:
        stop_process(process)


def service_env(infra: Infra, prefix: str, database_url: str) -> dict[str, str]:
    """Environment of a service process without background workers, trusting the bench JWKS."""
    values = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "JWKS_URL": infra.jwks.jwks_url,
        "JWT_AUDIENCE": infra.issuer.audience,
        "ENVIRONMENT": "dev",
        "LOG_LEVEL": "WARNING",
        "RUN_BACKGROUND_WORKERS": "false",
        "DB_POOL_PREFILL": "true",  # as k8s/base runs every service
    }
    return {**os.environ, **{f"{prefix}{k}": v for k, v in values.items()}}


@contextlib.asynccontextmanager
async def service_server(
    infra: Infra,
    name: str,
    prefix: str,
    database_url: str,
    env: dict[str, str] | None = None,
    *,
    benchmark: str,
    workers: int = WORKERS,
) -> AsyncIterator[Server]:
    """`uvicorn <name>_service.main:create_app` (`workers` processes), once /readyz answers
    200; `env` adds to or overrides its environment. Its log is kept in bench/results/ per
    `benchmark`."""
    port = free_port()
    log_path = infra.workdir / f"{name}-{port}.log"
    app = f"{name}_service.main:create_app"
    process = spawn_uvicorn(
        app, {**service_env(infra, prefix, database_url), **(env or {})}, port, log_path, workers
    )
    try:
        server = Server(f"http://127.0.0.1:{port}", process.pid)
        await wait_ready(server.url, process, log_path, name=name)
        yield server
    finally:
        stop_process(process)
        keep_log(log_path, benchmark, name)


@contextlib.asynccontextmanager
async def gateway_server(infra: Infra) -> AsyncIterator[Gateway]:
    """The real gateway with its VIIS and Mykoob stand-ins, on its own database, as the tests
    start it (`running_gateway`), with a `people:personal-code` client for contracts."""
    stack = contextlib.ExitStack()
    # running_gateway is synchronous and runs an event loop of its own for its database.
    gateway = await asyncio.to_thread(stack.enter_context, running_gateway(infra.postgres))
    try:
        yield gateway
    finally:
        await asyncio.to_thread(stack.close)


async def wait_ready(
    base_url: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout_s: float = 60.0,
    name: str = "inventory",
) -> None:
    """Poll /readyz until it answers 200; fail with the server log when it dies or hangs."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} not ready after {timeout_s:.0f} s:\n{tail(log_path)}")


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Terminate a child process, killing it when it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout_s)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its live descendants (uvicorn's workers and
    theirs, e.g. contracts' render worker; Linux /proc); else None."""
    own = _own_cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(_own_cpu_seconds(child) or 0.0 for child in _descendants(pid))


def machine_cpu_seconds() -> float:
    """CPU seconds every process of this machine has used since boot (Linux /proc/stat):
    user, nice, system, irq, softirq and steal; idle and waiting for I/O left out."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # guest time is already in user
    return busy / os.sysconf("SC_CLK_TCK")


async def workers_started(pid: int, *, quiet_s: float = 0.5, timeout_s: float = 60.0) -> None:
    """Wait until a server's processes stop burning CPU: /readyz answers once the first worker
    is up, while the others may still be importing, which would count as the load's CPU."""
    deadline = time.monotonic() + timeout_s
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet_s)
        after = cpu_seconds(pid)
        if before is None or after is None or after - before < 0.05 * quiet_s:
            return
        before = after


def postgres_cpu_seconds(postmaster: int) -> float | None:
    """CPU seconds of a PostgreSQL server: the postmaster, its live children (backends,
    background processes) and the children it reaped (backends of closed connections)."""
    try:
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    reaped = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime..cstime
    return reaped + sum(_own_cpu_seconds(child) or 0.0 for child in _children(postmaster))


async def postmaster_pid(database_url: str) -> int | None:
    """The process id of the PostgreSQL server behind `database_url`, when it runs on this
    machine (the parent of a backend); else None."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            backend = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            return parent_pid(backend)  # while the backend lives
    finally:
        await engine.dispose()


def parent_pid(pid: int) -> int | None:
    """The parent of a process (Linux /proc)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _own_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):  # each thread's own children
        with contextlib.suppress(OSError, ValueError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _descendants(pid: int) -> list[int]:
    found, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo += _children(child)
    return found


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


PY_SPY = shutil.which("py-spy") or "/root/.local/bin/py-spy"


@contextlib.contextmanager
def quiet_heap() -> Iterator[None]:
    """This process's objects left out of the garbage collector while a measured loop runs.

    The bench process holds up to 500,000 objects by then (the inventory's 100,000 generated
    devices among them), and each full collection of them paused it for 200 to 290 ms: a
    pause inside the loop was counted as the server's latency (a search's p99 of 290 ms
    against 30 in the same hour without one). Frozen before the loop (no collection: that
    would count in the bench's CPU) and unfrozen after it: what the loop makes is collected
    as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.asynccontextmanager
async def profiled(pid: int, name: str) -> AsyncIterator[None]:
    """When BENCH_PROFILE is set, py-spy records `pid` and its subprocesses (uvicorn's
    workers) while the block runs: collapsed stacks in bench/results/<name>-profile.txt."""
    if not os.environ.get("BENCH_PROFILE"):
        yield
        return
    out = results_dir() / f"{name}-profile.txt"
    command = [PY_SPY, "record", "--pid", str(pid), "--subprocesses", "--format", "raw",
               "--rate", "250", "--nonblocking", "--output", str(out)]  # fmt: skip
    spy = await asyncio.create_subprocess_exec(*command)
    await asyncio.sleep(1.0)  # attached before the work starts
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on an interrupt
        await asyncio.wait_for(spy.wait(), 30)
