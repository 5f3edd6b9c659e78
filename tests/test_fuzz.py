"""Schemathesis against every service's OpenAPI, each service a real uvicorn process on its own
database: no 5xx, every response conforms to the documented schema and content type, and every
4xx is an RFC 9457 problem+json that says what was wrong.

Requests carry a platform administrator's token (so they pass authentication and reach the
validation and business rules); a few examples per operation keep the run short.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

import contracts_service.main
import gateway_service.main
import inventory_service.main
import planning_service.main
import reservations_service.main
import statistics_service.main
import tickets_service.main
from shared_kit.testing.infra import free_port
from shared_kit.testing.tokens import JWKSServer, TokenIssuer

pytestmark = pytest.mark.slow

EXAMPLES = 8  # per operation
START_TIMEOUT_S = 120.0  # for all of them, started at once


@dataclass(frozen=True)
class Target:
    """A service to fuzz: its app factory, migrations and settings prefix."""

    name: str
    app: str
    migrations: Path
    prefix: str
    options: tuple[str, ...] = ("--factory",)
    # Roles of the fuzzing token besides platform_admin, so requests reach the business rules.
    roles: tuple[str, ...] = ()


TARGETS = {
    t.name: t
    for t in (
        Target("inventory", "inventory_service.main:create_app",
               inventory_service.main.MIGRATIONS, "INVENTORY_"),
        Target("reservations", "reservations_service.main:create_app",
               reservations_service.main.MIGRATIONS, "RESERVATIONS_"),
        Target("contracts", "contracts_service.main:create_app",
               contracts_service.main.MIGRATIONS, "CONTRACTS_"),
        Target("gateway", "gateway_service.main:create_app",
               gateway_service.main.MIGRATIONS, "GATEWAY_"),
        Target("tickets", "tickets_service.main:create_app",
               tickets_service.main.MIGRATIONS, "TICKETS_"),
        Target("statistics", "statistics_service.main:create_app",
               statistics_service.main.MIGRATIONS, "STATISTICS_"),
        # Planning asks VIIS (the stand-in) for schools and pupils (learners: the gateway).
        Target("planning", "planning_service.main:create_app",
               planning_service.main.MIGRATIONS, "PLANNING_", roles=("programme_manager",)),
    )
}  # fmt: skip


DEV = Path(__file__).resolve().parents[1] / "deploy" / "dev"
# Stand-ins for systems we cannot reach. Statistics refreshes pupil counts from VIIS.
VIIS_STANDIN = Target("viis", "viis_standin:app", Path(), "VIIS_", ("--app-dir", str(DEV)))
# The Latvija.lv IdP stand-in: the gateway's SAML endpoints read its metadata.
LATVIJA_STANDIN = Target("latvija", "latvija_standin:app", Path(), "", ("--app-dir", str(DEV)))


def env_for(target: Target, database_url: str, kafka: str, jwks: JWKSServer) -> dict[str, str]:
    """A service process trusting the test JWKS, without background workers."""
    values = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "JWKS_URL": jwks.jwks_url,
        "JWT_AUDIENCE": jwks.issuer.audience,
        "JWT_ISSUER": jwks.issuer.issuer,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
        "RUN_BACKGROUND_WORKERS": "false",
    }
    return {**os.environ, **{f"{target.prefix}{k}": v for k, v in values.items()}}


@contextlib.contextmanager
def serving(*started: tuple[Target, dict[str, str], Path]) -> Iterator[list[str]]:
    """Each service under uvicorn on a free port, all started at once and then awaited (each
    import takes seconds), until the block ends; their base URLs in order."""
    processes, urls = [], []
    try:
        for target, env, log in started:
            port = free_port()
            command = [sys.executable, "-m", "uvicorn", target.app, *target.options,
                       "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
            with log.open("wb") as out:
                processes.append(
                    (subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT), log)
                )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + START_TIMEOUT_S
        for (process, log), url in zip(processes, urls, strict=True):
            while time.monotonic() < deadline:
                assert process.poll() is None, log.read_text()
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
        yield urls
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(15)


@pytest.fixture(scope="module")
async def servers(
    database_factory: Any,
    kafka_bootstrap: str,
    jwks_server: JWKSServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, str]]:
    """Every fuzzed service, each on a fresh migrated database."""
    logs = tmp_path_factory.mktemp("fuzz-logs")
    with contextlib.ExitStack() as stack:
        viis, latvija = stack.enter_context(
            serving(
                (VIIS_STANDIN, dict(os.environ), logs / "viis.log"),
                (LATVIJA_STANDIN, dict(os.environ), logs / "l.log"),
            )
        )
        services = []
        for name, target in TARGETS.items():
            name_of_db = await database_factory.create(target.migrations)
            database_url = database_factory.server.url(name_of_db)
            env = env_for(target, database_url, kafka_bootstrap, jwks_server)
            env[f"{target.prefix}VIIS_URL"] = viis  # statistics and planning read VIIS
            env[f"{target.prefix}LATVIJA_IDP_METADATA_URL"] = f"{latvija}/metadata"  # gateway
            services.append((target, env, logs / f"{name}.log"))
        urls = stack.enter_context(serving(*services))
        yield dict(zip(TARGETS, urls, strict=True))


def problem_json_for_4xx(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is application/problem+json with a status and a title (RFC 9457) — except at
    the OAuth 2.0 endpoints, whose errors RFC 6749 defines (JSON with `error`)."""
    if 400 <= response.status_code < 500 and case.path.startswith("/oauth/"):
        assert response.json().get("error"), response.text
    elif 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (
            f"{response.status_code} answered {content_type!r}"
        )
        body = response.json()
        assert body.get("status") == response.status_code and body.get("title"), body
    return None


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def schema_of(servers: dict[str, str], name: str) -> Any:
    """The service's OpenAPI, loaded from the running process."""
    return schemathesis.openapi.from_url(f"{servers[name]}/openapi.json")


@pytest.fixture(scope="module")
def admin(token_issuer: TokenIssuer) -> dict[str, dict[str, str]]:
    """Per service, a platform administrator's bearer header (with the service's extra roles)
    for every service's audience here."""
    return {
        name: {"Authorization": f"Bearer {token_issuer.mint(roles=['platform_admin', *t.roles])}"}
        for name, t in TARGETS.items()
    }


def fuzz(case: Any, admin: dict[str, str]) -> None:
    """Call one generated case and run the checks."""
    case.call_and_validate(
        headers=admin, checks=CHECKS, additional_checks=[problem_json_for_4xx], timeout=30
    )


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def operations(schema: Any) -> list[Any]:
    """Every operation of the schema."""
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("name", list(TARGETS))
def test_no_server_errors_and_every_answer_as_documented(
    name: str, servers: dict[str, str], admin: dict[str, dict[str, str]]
) -> None:
    failures = []
    for operation in operations(schema_of(servers, name)):

        @given(case=operation.as_strategy())
        @FUZZ_SETTINGS
        def run(case: Any) -> None:
            fuzz(case, admin[name])

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
