"""The whole local stack (`deploy/dev/stack.py`) as a subprocess of a test.

`DevStack` starts the stack on a port range of its own (locked across processes, so parallel
pytest-xdist workers never pick the same one), with a private `STACK_DATA_DIR`, waits until it
has seeded the demo data, parses the URLs it prints into `StackUrls`, and stops it with Ctrl-C
(SIGINT) — killing what is left by pid when that takes too long. When it fails to start, the
error carries its output and the tails of the service logs.

Also here: a login as a browser would do it, without a browser (`login_token`), and callers of
the services' public APIs with one token (`Api`, `AsyncApi`). Needs the dev dependencies.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from html import unescape
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

import httpx

REPO = Path(__file__).resolve().parents[4]  # shared/src/shared_kit/testing/stack.py
STACK_SCRIPT = REPO / "deploy" / "dev" / "stack.py"
READY_MARKER = "/token?role="  # the stack prints it last, once seeded and serving
ROW = re.compile(r"^(\S+)\s+(http://127\.0\.0\.1:\d+)\s+(\S.*)$")  # name, URL, docs
# About 20 s on an idle 2-core machine; minutes when other stacks share its cores.
START_TIMEOUT_S = float(os.environ.get("STACK_START_TIMEOUT_S", "480"))
STOP_TIMEOUT_S = float(os.environ.get("STACK_STOP_TIMEOUT_S", "60"))
PORT_SPAN = 100  # the stand-ins sit 90-96 above the port base
KAFKA_OFFSET = 50  # the broker's port above the port base (unused by the services)
LOCK_DIR = Path(tempfile.gettempdir()) / "datori-stack-ports"
LOG_TAIL_LINES = 20


class StackError(RuntimeError):
    """The stack did not start (or stop) as it should; the message has its output."""


@dataclass(frozen=True)
class StackUrls:
    """Base URLs of everything the stack serves, as it printed them."""

    portal: str
    gateway: str
    inventory: str
    reservations: str
    contracts: str
    tickets: str
    statistics: str
    notifications: str
    planning: str
    console: str
    latvija: str
    eklase: str
    mykoob: str
    viis: str
    mail: str  # the mail sink's web inbox (`/api/messages` for tests)
    sms: str  # the SMS stand-in (`/api/v1/messages` for tests)

    @classmethod
    def from_table(cls, printed: dict[str, str]) -> StackUrls:
        """From the printed table (name → URL); fails naming what is missing."""
        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in printed]
        if missing:
            raise StackError(f"the stack did not print {missing}")
        return cls(**{name: printed[name] for name in names})

    def apis(self) -> dict[str, str]:
        """The services with a REST API under `/api/v1/<name>` (not the portal or helpers)."""
        return {name: getattr(self, name) for name in API_SERVICES}


API_SERVICES = ("gateway", "inventory", "reservations", "contracts", "tickets", "statistics",
                "notifications", "planning")  # fmt: skip


def quiet_env() -> dict[str, str]:
    """Settings for a stack that mostly waits between a test's steps, for every service: one
    partition per topic (Tansu answers a fetch as soon as a record arrives only on a topic of
    one partition), idle consumers that ask the broker twice a second, and relays that poll
    every 2 s (a commit in the relay's own process wakes it at once). An idle stack took 0.29
    of a core with the defaults, 0.13 with these."""
    quiet = {"KAFKA_TOPIC_PARTITIONS": "1", "CONSUMER_FETCH_WAIT_MS": "500",
             "OUTBOX_POLL_INTERVAL_S": "2"}  # fmt: skip
    prefixes = [name.upper() for name in (*API_SERVICES, "portal")]
    return {f"{prefix}_{name}": value for prefix in prefixes for name, value in quiet.items()}


# Ports ---------------------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    """Whether nothing listens on the loopback port (TIME_WAIT leftovers do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class PortRange:
    """`PORT_SPAN` free loopback ports from `base`, below the ephemeral range (no outgoing
    connection takes one while the stack starts), held by a lock file so that no other test
    process on this machine picks the same range until `release()`."""

    def __init__(self, span: int = PORT_SPAN, candidates: list[int] | None = None) -> None:
        if candidates is None:
            low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
            candidates = list(range(10_000, low - span, span))
            random.shuffle(candidates)  # parallel callers mostly try different ranges first
        bases = candidates
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        for base in bases:
            lock = self._lock(base)
            if lock is None:
                continue
            if all(port_is_free(p) for p in range(base, base + span)):
                self.base, self._file = base, lock
                return
            lock.close()
        raise StackError("no free range of loopback ports")

    @staticmethod
    def _lock(base: int) -> IO[str] | None:
        handle = (LOCK_DIR / f"{base}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        return handle

    def release(self) -> None:
        """Let other processes use the range again (the lock also ends with this process)."""
        self._file.close()


# Processes -----------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Pids of every process below `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def postmaster_pid(data_dir: Path) -> int | None:
    """The embedded PostgreSQL's pid, when the stack started one and it runs."""
    pidfile = data_dir / "postgres" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(pidfile.read_text().split()[0])
    return None


class DevStack:
    """A `deploy/dev/stack.py` subprocess whose output is collected line by line."""

    def __init__(
        self,
        data_dir: Path,
        ports: PortRange | None = None,
        *,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        isolated: bool = False,
    ) -> None:
        """Start it on `ports` (the caller's to release) or on a range of its own (released
        by `stop()`); `args` go to `stack.py`, `env` on top of this process's environment.
        `isolated`: its own embedded PostgreSQL and broker even when `DATABASE_URL` or
        `KAFKA_BOOTSTRAP_SERVERS` point at shared ones (the stack's database and topic names
        are fixed, so two stacks on one server would share their data)."""
        self.data_dir = data_dir
        self._own_ports = ports is None
        self.ports = PortRange() if ports is None else ports
        self.port_base = self.ports.base
        command = [sys.executable, str(STACK_SCRIPT), "--port-base", str(self.port_base),
                   "--kafka-port", str(self.port_base + KAFKA_OFFSET)]  # fmt: skip
        shared = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") if isolated else ()
        inherited = {k: v for k, v in os.environ.items() if k not in shared}
        own = {"STACK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        # Each service's own readiness wait inside the stack, as patient as ours for it all.
        patience = str(min(240.0, START_TIMEOUT_S / 2))
        own["STACK_READY_TIMEOUT_S"] = os.environ.get("STACK_READY_TIMEOUT_S", patience)
        self.process = subprocess.Popen(
            [*command, *args],
            cwd=REPO,
            env={**inherited, **(env or {}), **own},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        """Everything it printed so far."""
        return "\n".join(self.lines)

    def wait_for(self, marker: str, timeout_s: float = START_TIMEOUT_S) -> None:
        """Collect output until a line contains `marker`; `StackError` on exit or timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                raise StackError(f"the stack exited ({self.process.wait()}):\n{self.report()}")
            self.lines.append(line)
            if marker in line:
                return
        raise StackError(f"no {marker!r} within {timeout_s:.0f} s:\n{self.report()}")

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> StackUrls:
        """Wait until it has seeded and serves; its URLs."""
        self.wait_for(READY_MARKER, timeout_s)
        return self.urls

    def report(self) -> str:
        """Its output and the tail of every service's log (for a failure message)."""
        parts = [self.output]
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            parts.append(f"--- {log.name} (last {LOG_TAIL_LINES} lines) ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def services(self) -> dict[str, str]:
        """Name to base URL of everything in the printed table."""
        return {m[1]: m[2] for line in self.lines if (m := ROW.match(line.strip()))}

    @property
    def urls(self) -> StackUrls:
        """The printed URLs."""
        return StackUrls.from_table(self.services())

    @property
    def console(self) -> str:
        """The dev console's base URL."""
        return self.urls.console

    def postgres_url(self, database: str) -> str:
        """The URL of a database on the stack's PostgreSQL (as printed at start)."""
        printed = re.search(r"PostgreSQL: (\S+)", self.output)
        if printed is None:
            raise StackError(f"no PostgreSQL URL printed:\n{self.output}")
        scheme, rest = printed[1].split("://", 1)
        user_host, _, query = rest.partition("?")
        base = user_host.rsplit("/", 1)[0]
        return f"{scheme}://{base}/{database}" + (f"?{query}" if query else "")

    def token(self, role: str, **claims: str) -> str:
        """An access token minted by the console with the gateway's key (any role, claims)."""
        url = f"{self.console}/token"
        response = httpx.get(url, params={"role": role, **claims}, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def started_pids(self) -> list[int]:
        """Every process it started that runs now (PostgreSQL's postmaster included)."""
        found = descendants(self.process.pid)
        postmaster = postmaster_pid(self.data_dir)
        return [*found, postmaster] if postmaster is not None else found

    def service_pid(self, name: str) -> int | None:
        """The pid of a service's process (e.g. `notifications`), to signal it in a drill; None
        while it is not running. The stack writes it to `run/<name>.pid` at each (re)start (its
        processes are forked from one pre-loaded parent, so their command lines are alike)."""
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.data_dir / "run" / f"{name}.pid").read_text())
            if pid in descendants(self.process.pid) and alive(pid):
                return pid
        return None

    def interrupt(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Ctrl-C, and wait for it to stop everything; its exit code."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout_s)
        self._drain()
        return code

    def kill(self) -> None:
        """Kill it and every process it started, by pid."""
        pids = self.started_pids()
        self.process.kill()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """Ctrl-C; kill by pid when it takes longer than `timeout_s`. Its exit code (None
        when killed). The port range is free for others afterwards."""
        try:
            if self.process.poll() is not None:
                return self.process.returncode
            pids = self.started_pids()
            try:
                return self.interrupt(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                return None
        finally:
            if self._own_ports:
                self.ports.release()

    def _drain(self) -> None:
        with contextlib.suppress(queue.Empty):
            while (line := self._queue.get(timeout=5)) is not None:
                self.lines.append(line)


@contextlib.contextmanager
def running_stack(
    data_dir: Path, ports: PortRange | None = None, *, timeout_s: float = START_TIMEOUT_S
) -> Iterator[DevStack]:
    """A started, seeded stack; stopped (or killed) at the end, whatever happened."""
    stack = DevStack(data_dir, ports)
    try:
        stack.wait_ready(timeout_s)
        yield stack
    finally:
        stack.stop()


# Logins and API calls ------------------------------------------------------------------------


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of an HTML form."""
    pairs = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {unescape(k): unescape(v) for k, v in pairs}


def form_action(page: str) -> str:
    """The action of the page's (first) form."""
    found = re.search(r'<form method="post" action="([^"]*)"', page)
    if found is None:
        raise AssertionError(f"no form in the page:\n{page}")
    return unescape(found[1])


def login_token(
    console: str, person: str, provider: str = "latvija", method: str = "eparaksts"
) -> str:
    """A real login of a demo person (a `viis_standin.DEMO_PEOPLE` key) through the gateway and
    a provider stand-in, played as a browser would without one; the person's access token as
    the dev console shows it."""
    with httpx.Client(timeout=20, follow_redirects=False) as browser:
        choice = browser.get(browser.get(f"{console}/login").headers["location"])
        link = re.search(rf'href="(/login/{provider}\?[^"]+)"', choice.text)
        if link is None:
            raise AssertionError(f"no {provider} login on the gateway's page:\n{choice.text}")
        gateway = str(choice.url).split("/login")[0]
        idp = browser.get(gateway + unescape(link[1])).headers["location"]
        page = browser.get(idp)
        form = {**hidden_fields(page.text), "person": person, "decision": "approve",
                "method": method, "school": ""}  # fmt: skip
        answer = browser.post(urljoin(idp, form_action(page.text)), data=form)
        if answer.status_code == 200:  # SAML: an auto-submitting form to the gateway's ACS
            answer = browser.post(form_action(answer.text), data=hidden_fields(answer.text))
        while answer.status_code in (302, 303):
            answer = browser.get(urljoin(str(answer.url), answer.headers["location"]))
        access = re.search(r'<textarea id="access"[^>]*>([^<]+)</textarea>', answer.text)
        if access is None:
            raise AssertionError(f"the login of {person} did not end with a token:\n{answer.text}")
        return access[1]


def _url(urls: dict[str, str], service: str, path: str) -> str:
    return f"{urls[service]}/api/v1/{service}{path}"


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (to read ids such as `sub` or `learners` in a test)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


class Api:
    """A caller of the stack's public APIs with one token (blocking)."""

    def __init__(self, urls: dict[str, str] | StackUrls, token: str) -> None:
        self.urls = urls.apis() if isinstance(urls, StackUrls) else urls
        self.token = token
        self.claims = token_claims(token)
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to `/api/v1/<service><path>` of a service."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = _url(self.urls, service, path)
        return httpx.request(method, url, headers=headers, timeout=30, **kwargs)

    def ok(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a 2xx answer (AssertionError on anything else)."""
        response = self.call(method, service, path, **kwargs)
        assert response.is_success, f"{method} {service}{path}: {response.text}"
        return response.json() if response.content else None


class AsyncApi:
    """A caller of the stack's public APIs with one token, for async tests."""

    def __init__(self, urls: dict[str, str] | StackUrls, token: str) -> None:
        self.urls = urls.apis() if isinstance(urls, StackUrls) else urls
        self.token = token
        self.claims = token_claims(token)
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to `/api/v1/<service><path>` of a service."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.request(
                method, _url(self.urls, service, path), headers=headers, **kwargs
            )

    async def ok(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a 2xx answer (AssertionError on anything else)."""
        response = await self.call(method, service, path, **kwargs)
        assert response.is_success, f"{method} {service}{path}: {response.text}"
        return response.json() if response.content else None
