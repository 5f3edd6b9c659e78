"""A municipality's schools from VIIS: the register as VIIS lists it, and the import (refresh).

VIIS is the stand-in of `deploy/dev/viis_standin.py`, in-process over ASGI, called through the
kit's real HTTP client; "unavailable" is a real connection to a closed port.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from inventory_service.config import InventorySettings
from inventory_service.main import create_app
from inventory_service.service.viis import ViisFactory
from shared_kit.testing.client import running_app
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.infra import free_port
from shared_kit.viis import HttpViisDirectory, ViisInstitutionRegister

from .conftest import RIGA, SCHOOL_A, VALMIERA, Tokens

API = "/api/v1/inventory"
REPO = Path(__file__).resolve().parents[3]
VIIS_KEY = "test-viis-key"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


standin = _load("inventory_viis_standin", REPO / "deploy" / "dev" / "viis_standin.py")
CESIS = standin.CESIS
IMPORT = f"{API}/municipalities/{CESIS}/institutions/viis-import"


class _Owned:
    """A directory and the HTTP client it was given, closed together."""

    def __init__(self, directory: HttpViisDirectory, http: httpx.AsyncClient) -> None:
        self.directory, self.http = directory, http

    async def __aenter__(self) -> ViisInstitutionRegister:
        return self.directory

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


def viis_of(app: Any, base_url: str = "http://viis.test") -> ViisFactory:
    """Opens the real VIIS client against `app` (the stand-in) over ASGI."""

    def open_client() -> AbstractAsyncContextManager[ViisInstitutionRegister]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        return _Owned(HttpViisDirectory(base_url, VIIS_KEY, http=http), http)

    return open_client


@pytest.fixture
def register() -> Any:
    """The stand-in's app (its demo data set)."""
    return standin.create_app(VIIS_KEY)


@pytest.fixture
async def viis_client(
    settings: InventorySettings, register: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """Client of an inventory whose VIIS is the stand-in."""
    async with running_app(create_app(settings, viis_of(register))) as c:
        yield c


async def _onboard(client: httpx.AsyncClient, tokens: Tokens, code: str = CESIS) -> None:
    body = {"code": code, "name": "Cēsu novads"}
    r = await client.post(f"{API}/municipalities", json=body, headers=bearer(tokens.platform))
    assert r.status_code == 201, r.text


def _numbers(entries: list[dict[str, Any]]) -> list[str]:
    return [e["registration_number"] for e in entries]


class TestRegister:
    async def test_municipalities_and_their_institutions(
        self, viis_client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = bearer(tokens.platform)
        listed = (await viis_client.get(f"{API}/viis/municipalities", headers=admin)).json()
        assert {"code": CESIS, "name": "Cēsu novads"} in listed
        r = await viis_client.get(f"{API}/viis/municipalities/{CESIS}/institutions", headers=admin)
        assert r.status_code == 200
        schools = r.json()
        assert _numbers(schools) == list(standin.CESIS_SCHOOLS)
        assert schools[0]["address"] and schools[0]["grades"] == [1, 2, 3, 4, 5, 6]

    async def test_only_platform_admins_read_it(
        self, viis_client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        for token in (tokens.riga, tokens.analyst, tokens.riga_client):
            r = await viis_client.get(f"{API}/viis/municipalities", headers=bearer(token))
            problem(r, 403, "tenant-forbidden")
        r = await viis_client.get(
            f"{API}/viis/municipalities/{CESIS}/institutions", headers=bearer(tokens.riga)
        )
        problem(r, 403, "tenant-forbidden")

    async def test_malformed_code_is_a_problem(
        self, viis_client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        r = await viis_client.get(
            f"{API}/viis/municipalities/cesis/institutions", headers=bearer(tokens.platform)
        )
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")


class TestImport:
    async def test_imports_the_schools_with_their_details(
        self, viis_client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await _onboard(viis_client, tokens)
        r = await viis_client.post(IMPORT, headers=bearer(tokens.platform))
        assert r.status_code == 200, r.text
        report = r.json()
        assert _numbers(report["created"]) == list(standin.CESIS_SCHOOLS)
        assert report["updated"] == report["unchanged"] == report["elsewhere"] == []
        school = (
            await viis_client.get(
                f"{API}/institutions/{standin.CESIS_SCHOOLS[2]}", headers=bearer(tokens.platform)
            )
        ).json()
        assert school["name"] == "Priekuļu Demo vidusskola"
        assert school["address"] == "Skolas iela 3, Priekuļi, LV-4126"
        assert school["grades"] == list(range(1, 13))
        page = await viis_client.get(f"{API}/municipalities", headers=bearer(tokens.platform))
        counts = {m["code"]: m["institution_count"] for m in page.json()["items"]}
        assert counts[CESIS] == 3

    async def test_a_refresh_creates_nothing_twice(
        self, viis_client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await _onboard(viis_client, tokens)
        admin = bearer(tokens.platform)
        assert (await viis_client.post(IMPORT, headers=admin)).status_code == 200
        number = standin.CESIS_SCHOOLS[0]
        before = await viis_client.get(f"{API}/institutions/{number}", headers=admin)
        again = (await viis_client.post(IMPORT, headers=admin)).json()
        assert again["created"] == again["updated"] == []
        assert _numbers(again["unchanged"]) == list(standin.CESIS_SCHOOLS)
        after = await viis_client.get(f"{API}/institutions/{number}", headers=admin)
        assert after.headers["etag"] == before.headers["etag"]
        # A school renamed by hand is brought back to VIIS's name (and only that one).
        renamed = await viis_client.patch(
            f"{API}/institutions/{number}",
            json={"name": "Old name"},
            headers={**admin, "If-Match": after.headers["etag"]},
        )
        assert renamed.status_code == 200
        third = (await viis_client.post(IMPORT, headers=admin)).json()
        assert _numbers(third["updated"]) == [number] and len(third["unchanged"]) == 2
        listed = await viis_client.get(
            f"{API}/institutions", params={"municipality": CESIS}, headers=admin
        )
        assert len(listed.json()["items"]) == 3

    async def test_the_import_is_logged_with_its_counts(
        self, viis_client: httpx.AsyncClient, tokens: Tokens, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="inventory_service")
        await _onboard(viis_client, tokens)
        assert (await viis_client.post(IMPORT, headers=bearer(tokens.platform))).is_success
        record = next(r for r in caplog.records if r.getMessage() == "VIIS import")
        assert record.__dict__["institutions_created"] == 3

    async def test_same_idempotency_key_replays(
        self, viis_client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await _onboard(viis_client, tokens)
        headers = {**bearer(tokens.platform), "Idempotency-Key": "onboard-cesis-1"}
        first = await viis_client.post(IMPORT, headers=headers)
        second = await viis_client.post(IMPORT, headers=headers)
        assert first.json() == second.json() and len(second.json()["created"]) == 3

    async def test_a_school_kept_in_another_municipality_is_left_there(
        self, viis_client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        await _onboard(viis_client, tokens)
        admin = bearer(tokens.platform)
        number = standin.CESIS_SCHOOLS[1]
        body = {"registration_number": number, "name": "Mistake", "municipality_code": VALMIERA}
        assert (await viis_client.post(f"{API}/institutions", json=body, headers=admin)).is_success
        report = (await viis_client.post(IMPORT, headers=admin)).json()
        assert _numbers(report["elsewhere"]) == [number] and len(report["created"]) == 2
        kept = (await viis_client.get(f"{API}/institutions/{number}", headers=admin)).json()
        assert kept["name"] == "Mistake"

    async def test_only_platform_admins_import(
        self, viis_client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        riga_import = f"{API}/municipalities/{RIGA}/institutions/viis-import"
        for token in (tokens.riga, tokens.riga_client, tokens.analyst):
            problem(
                await viis_client.post(riga_import, headers=bearer(token)), 403, "tenant-forbidden"
            )
        listed = await viis_client.get(
            f"{API}/institutions", params={"municipality": RIGA}, headers=bearer(tokens.platform)
        )
        assert SCHOOL_A in _numbers(listed.json()["items"])
        assert len(listed.json()["items"]) == 2  # nothing imported by the refused calls

    async def test_unknown_municipality_is_not_found(
        self, viis_client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        r = await viis_client.post(IMPORT, headers=bearer(tokens.platform))
        problem(r, 404, "municipality-not-found")

    async def test_viis_unavailable_is_503_and_writes_nothing(
        self, settings: InventorySettings, tokens: Tokens
    ) -> None:
        closed = f"http://127.0.0.1:{free_port()}"

        def open_client() -> AbstractAsyncContextManager[ViisInstitutionRegister]:
            return HttpViisDirectory(closed, VIIS_KEY, timeout_s=2)

        async with running_app(create_app(settings, open_client)) as client:
            await _onboard(client, tokens)
            r = await client.post(IMPORT, headers=bearer(tokens.platform))
            problem(r, 503, "viis-unavailable")
            r = await client.get(f"{API}/viis/municipalities", headers=bearer(tokens.platform))
            problem(r, 503, "viis-unavailable")
            listed = await client.get(
                f"{API}/institutions",
                params={"municipality": CESIS},
                headers=bearer(tokens.platform),
            )
            assert listed.json()["items"] == []
