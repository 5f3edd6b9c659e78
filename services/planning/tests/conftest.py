"""Planning test fixtures: a fresh migrated database per test, the real broker, real tokens,
a clock the tests move, and the VIIS stand-in (the real protocol) for learners and pupils."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
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
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer
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
CHILD = "VIIS-DEMO-0002"  # Marta, grade 2 at SCHOOL_A
CHILD_B = "VIIS-DEMO-0003"  # Jānis, grade 5 at SCHOOL_B (the same guardian)
OTHER_CHILD = "VIIS-DEMO-0011"  # Emīls, grade 3 at SCHOOL_A (another family)
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


@pytest.fixture
def app(settings: PlanningSettings, clock: TestClock) -> FastAPI:
    """The planning app of this test."""
    return create_app(settings, clock, viis_factory())


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


class Tokens(AudienceTokens):
    """Ready-made tokens (audience `planning`) for the usual callers."""

    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__(issuer, "planning")
        self.platform = self.mint(roles=["platform_admin"])
        self.programme = self.mint("programme-1", roles=["programme_manager"])
        self.riga = self.mint("riga-admin", roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = self.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.school_a = self.mint("school-a", roles=["institution_admin"], institutions=[SCHOOL_A])
        self.school_b = self.mint(roles=["institution_admin"], institutions=[SCHOOL_B])
        self.teacher_a = self.mint(roles=["teacher"], institutions=[SCHOOL_A])
        self.guardian = self.mint(GUARDIAN, roles=["guardian"], learners=[CHILD, CHILD_B])
        self.other_guardian = self.mint(OTHER_GUARDIAN, roles=["guardian"], learners=[OTHER_CHILD])
        self.learner = self.mint(CHILD, roles=["learner"])
        self.analyst = self.mint(roles=["ministry_analyst"])

    def __getattr__(self, name: str) -> dict[str, str]:
        """`tokens.guardian_h`: the Authorization header of `tokens.guardian`."""
        if name.endswith("_h"):
            return {"Authorization": f"Bearer {getattr(self, name[:-2])}"}
        raise AttributeError(name)


@pytest.fixture(scope="session")
def tokens(token_issuer: TokenIssuer) -> Tokens:
    """Tokens for the programme manager, admins, school staff, guardians and analysts."""
    return Tokens(token_issuer)
