"""Planning test fixtures: a fresh migrated database per test, the real broker, real tokens,
a clock the tests move, the VIIS stand-in (the real protocol) for schools and pupils, and a real
gateway (with its own VIIS stand-in) for where each child learns.

The gateway trusts the test token issuer, so the tokens the tests send planning (audiences
`planning` and `gateway`) are the ones planning forwards. The children are the gateway's
people, found by their personal codes (the VIIS stand-in's demo children) as a school would.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from planning_service.config import PlanningSettings
from planning_service.main import MIGRATIONS, create_app
from planning_service.viis import PlanningViis, ViisFactory
from shared_kit.db import create_engine
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.gateway import Gateway, running_gateway
from shared_kit.testing.infra import Postgres
from shared_kit.testing.tokens import AudienceTokens, JWKSServer, TokenIssuer
from shared_kit.viis import HttpViisDirectory

API = "/api/v1/planning"
REPO = Path(__file__).resolve().parents[3]
VIIS_KEY = "test-viis-key"
RIGA = "0010000"
VALMIERA = "0940200"
CESIS = "0420200"  # the VIIS stand-in's second demo municipality
SCHOOL_A = "3113900101"  # the stand-in's Rīga basic school (grades 1-9)
SCHOOL_B = "3113900102"  # the stand-in's Rīga secondary school (grades 1-12)
VALMIERA_SCHOOL = "4213900001"
GUARDIAN = "7d1c2a4e-1111-4c3b-9a55-000000000001"
OTHER_GUARDIAN = "7d1c2a4e-1111-4c3b-9a55-000000000002"
AUDIENCES = ["planning", "gateway"]  # planning forwards the caller's token to the gateway
START = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)  # a Monday morning in Riga, in March


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


standin = _load("planning_viis_standin", REPO / "deploy" / "dev" / "viis_standin.py")


def viis_factory(dataset: str = "demo") -> ViisFactory:
    """Opens the real VIIS client against the stand-in (in-process, over ASGI)."""
    app = standin.create_app(VIIS_KEY, dataset)

    def open_client() -> AbstractAsyncContextManager[PlanningViis]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        return _Owned(HttpViisDirectory("http://viis.test", VIIS_KEY, http=http), http)

    return open_client


class _Owned:
    """A directory and the HTTP client it was given, closed together."""

    def __init__(self, directory: HttpViisDirectory, http: httpx.AsyncClient) -> None:
        self.directory, self.http = directory, http

    async def __aenter__(self) -> PlanningViis:
        return self.directory

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


@pytest.fixture
def clock() -> TestClock:
    """This test's clock: starts at START and moves only when told."""
    return TestClock(START)


@pytest.fixture
async def settings(service_settings: Callable[..., Awaitable[Any]]) -> PlanningSettings:
    """Settings bound to this test's database, topics and the test JWKS."""
    settings: PlanningSettings = await service_settings(PlanningSettings, MIGRATIONS)
    return settings


@pytest.fixture(scope="session")
def gateway(
    postgres: Postgres, jwks_server: JWKSServer, token_issuer: TokenIssuer
) -> Iterator[Gateway]:
    """A real gateway trusting the test issuer, for the whole session."""
    with running_gateway(postgres, trust=(jwks_server.jwks_url, token_issuer.issuer)) as running:
        yield running


@pytest.fixture
def settings_with_gateway(settings: PlanningSettings, gateway: Gateway) -> PlanningSettings:
    """The test settings, pointed at the gateway."""
    return settings.model_copy(update={"gateway_url": gateway.url})


@pytest.fixture
def app(settings_with_gateway: PlanningSettings, clock: TestClock) -> FastAPI:
    """The planning app of this test."""
    return create_app(settings_with_gateway, clock, viis_factory())


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running planning app (no background workers)."""
    async with running_app(app) as c:
        yield c


@pytest.fixture
async def engine(settings: PlanningSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's database, for asserting in SQL."""
    engine = create_engine(settings.database_url, pool_size=2)
    yield engine
    await engine.dispose()


@dataclass(frozen=True)
class Children:
    """The demo children as the gateway knows them: their person ids."""

    child: str  # Marta, grade 2 at SCHOOL_A
    child_b: str  # Jānis, grade 5 at SCHOOL_B (the same guardian)
    other_child: str  # Emīls, grade 3 at SCHOOL_A (another family)


def _children(gateway: Gateway, token_issuer: TokenIssuer) -> Children:
    """The children's person ids, registered in the gateway through a lookup by code."""
    admin = token_issuer.mint(roles=["platform_admin"], audience="gateway")
    ids = []
    for key in ("child_grade2", "child_grade5", "other_child"):
        code = standin.DEMO_PEOPLE[key].personal_code
        r = httpx.post(
            f"{gateway.url}/api/v1/gateway/people/lookup",
            json={"personal_code": code},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=15,
        )
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    return Children(*ids)


class Tokens(AudienceTokens):
    """Ready-made tokens (audiences `planning` and `gateway`) for the usual callers, and the
    children's person ids (`tokens.child`, ...)."""

    def __init__(self, issuer: TokenIssuer, children: Children) -> None:
        super().__init__(issuer, "planning")
        self.child, self.child_b, self.other_child = (
            children.child,
            children.child_b,
            children.other_child,
        )
        self.platform = self.mint(roles=["platform_admin"])
        self.programme = self.mint("programme-1", roles=["programme_manager"])
        self.riga = self.mint("riga-admin", roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = self.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.school_a = self.mint("school-a", roles=["institution_admin"], institutions=[SCHOOL_A])
        self.school_b = self.mint(roles=["institution_admin"], institutions=[SCHOOL_B])
        self.teacher_a = self.mint(roles=["teacher"], institutions=[SCHOOL_A])
        self.guardian = self.mint(GUARDIAN, roles=["guardian"], learners=[self.child, self.child_b])
        self.other_guardian = self.mint(
            OTHER_GUARDIAN, roles=["guardian"], learners=[self.other_child]
        )
        self.learner = self.mint(self.child, roles=["learner"])
        self.analyst = self.mint(roles=["ministry_analyst"])

    def mint(self, subject: str | None = None, **claims: Any) -> str:
        """A token for planning that the gateway accepts too."""
        claims.setdefault("audience", AUDIENCES)
        return self.issuer.mint(subject, **claims)

    def __getattr__(self, name: str) -> dict[str, str]:
        """`tokens.guardian_h`: the Authorization header of `tokens.guardian`."""
        if name.endswith("_h"):
            return {"Authorization": f"Bearer {getattr(self, name[:-2])}"}
        raise AttributeError(name)


@pytest.fixture(scope="session")
def tokens(token_issuer: TokenIssuer, gateway: Gateway) -> Tokens:
    """Tokens for the programme manager, admins, school staff, guardians and analysts."""
    return Tokens(token_issuer, _children(gateway, token_issuer))
