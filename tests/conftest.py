"""Cross-service fixtures: the services in-process with their relays and consumers, sharing
this test's topics on the real broker, each on its own database, trusting the test JWKS.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import contracts_service.main
import inventory_service.main
import reservations_service.main
import tickets_service.main
from contracts_service.config import ContractsSettings
from inventory_service.config import InventorySettings
from reservations_service.config import ReservationsSettings
from shared_kit.testing.client import running_app
from shared_kit.testing.gateway import Gateway, running_gateway
from shared_kit.testing.infra import Postgres
from shared_kit.testing.tokens import JWKSServer, TokenIssuer
from tickets_service.config import TicketsSettings


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The load drill's latency table, also when its worker's output was captured (xdist)."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for name, value in getattr(report, "user_properties", []):
            if name == "load_drill_report" and report.when == "call":
                terminalreporter.write_sep("-", "load drill")
                terminalreporter.write_line(str(value))


@pytest.fixture
def databases() -> dict[str, str]:
    """Database URL of each service this test started, by service name (for checks in SQL)."""
    return {}


def topics(unique: str) -> dict[str, str]:
    """This test's topics, one per producing service."""
    names = ("inventory", "reservations", "contracts", "tickets")
    return {name: f"{name}.events.{unique}" for name in names}


@pytest.fixture
def pool_prefill() -> bool:
    """Whether the services open their pools' connections at start (production does; the
    load drill, which plays production's peak, overrides this)."""
    return False


@pytest.fixture
def common(
    jwks_server: JWKSServer, token_issuer: TokenIssuer, kafka_bootstrap: str, pool_prefill: bool
) -> dict[str, Any]:
    """Settings the services share here: test JWKS, the broker, fast relays, no JSON logs."""
    return {
        "environment": "test",
        "jwks_url": jwks_server.jwks_url,
        "jwt_audience": token_issuer.audience,
        "jwks_min_refresh_s": 0,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "log_json": False,
        "outbox_poll_interval_s": 0.05,
        "consumer_session_timeout_ms": 3000,
        "db_pool_prefill": pool_prefill,
    }


@pytest.fixture
async def inventory(
    make_database: Callable[..., Any],
    common: dict[str, Any],
    unique: str,
    databases: dict[str, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """The inventory with relay and consumers running."""
    t = topics(unique)
    settings = InventorySettings(
        **common,
        database_url=await make_database(inventory_service.main.MIGRATIONS),
        events_topic=t["inventory"],
        reservations_topic=t["reservations"],
        contracts_topic=t["contracts"],
        tickets_topic=t["tickets"],
        consumer_group=f"inventory.{unique}",
    )
    databases["inventory"] = settings.database_url
    async with running_app(inventory_service.main.create_app(settings)) as client:
        yield client


@pytest.fixture
async def reservations(
    make_database: Callable[..., Any],
    common: dict[str, Any],
    unique: str,
    databases: dict[str, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """The reservations service with relay and consumers running."""
    t = topics(unique)
    settings = ReservationsSettings(
        **common,
        database_url=await make_database(reservations_service.main.MIGRATIONS),
        events_topic=t["reservations"],
        inventory_topic=t["inventory"],
        contracts_topic=t["contracts"],
        tickets_topic=t["tickets"],
        consumer_group=f"reservations.{unique}",
    )
    databases["reservations"] = settings.database_url
    async with running_app(reservations_service.main.create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def gateway(postgres: Postgres) -> Iterator[Gateway]:
    """A real gateway (subprocess) with a `people:personal-code` client, for the session."""
    with running_gateway(postgres) as running:
        yield running


@pytest.fixture
async def contracts(
    make_database: Callable[..., Any],
    common: dict[str, Any],
    unique: str,
    gateway: Gateway,
    databases: dict[str, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """The contracts service with relay and consumers, looking people up at the gateway."""
    t = topics(unique)
    settings = ContractsSettings(
        **common,
        database_url=await make_database(contracts_service.main.MIGRATIONS),
        events_topic=t["contracts"],
        reservations_topic=t["reservations"],
        inventory_topic=t["inventory"],
        tickets_topic=t["tickets"],
        consumer_group=f"contracts.{unique}",
        gateway_url=gateway.url,
        gateway_client_id=gateway.client_id,
        gateway_client_secret=SecretStr(gateway.client_secret),
    )
    databases["contracts"] = settings.database_url
    async with running_app(contracts_service.main.create_app(settings)) as client:
        yield client


@pytest.fixture
async def tickets(
    make_database: Callable[..., Any],
    common: dict[str, Any],
    unique: str,
    databases: dict[str, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """The tickets service with relay, consumers and SLA job running."""
    t = topics(unique)
    settings = TicketsSettings(
        **common,
        database_url=await make_database(tickets_service.main.MIGRATIONS),
        events_topic=t["tickets"],
        inventory_topic=t["inventory"],
        contracts_topic=t["contracts"],
        consumer_group=f"tickets.{unique}",
    )
    databases["tickets"] = settings.database_url
    async with running_app(tickets_service.main.create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def from_root() -> Callable[[str], ModuleType]:
    """Imports a module of the repository root (`bench.…`, not installed) as `python -m` does."""
    root = str(Path(__file__).parents[1])

    def load(name: str) -> ModuleType:
        sys.path.insert(0, root)
        try:
            return importlib.import_module(name)
        finally:
            sys.path.remove(root)

    return load
