"""Granting by personal code: the name VIIS gives a code, and a grant that is never made twice.

VIIS is the stand-in (a real process, as in `test_login_oauth`); the code never comes back.
"""

from __future__ import annotations

import httpx
import pytest

from shared_kit.testing.http import bearer, problem

from .conftest import RIGA, Tokens
from .test_login_oauth import (  # noqa: F401 (fixtures)
    PEOPLE,
    assert_no_personal_code,
    settings,
    standins,
)

pytestmark = pytest.mark.slow
API = "/api/v1/gateway"
CESIS = "0420200"  # the stand-in's municipality to onboard
NEWCOMER = PEOPLE["cesis_admin"]


def _admin_of(code: str = CESIS) -> dict[str, str]:
    return {
        "personal_code": NEWCOMER.personal_code,
        "role": "municipality_admin",
        "municipality_code": code,
    }


class TestLookUp:
    async def test_the_name_and_never_the_code(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        body = {"personal_code": NEWCOMER.personal_code.replace("-", "")}
        r = await client.post(f"{API}/people/lookup", json=body, headers=bearer(tokens.platform))
        assert r.status_code == 200, r.text
        found = r.json()
        assert set(found) == {"id", "given_name", "family_name"}
        assert (found["given_name"], found["family_name"]) == ("Sarmīte", "Ābele")
        assert r.headers["cache-control"].startswith("no-store")
        assert_no_personal_code(r.text)

    async def test_unknown_malformed_and_forbidden(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = bearer(tokens.platform)
        unknown = {"personal_code": "010101-10000"}
        r = await client.post(f"{API}/people/lookup", json=unknown, headers=admin)
        problem(r, 404, "person-not-found")
        bad = {"personal_code": "12345"}
        r = await client.post(f"{API}/people/lookup", json=bad, headers=admin)
        problem(r, 422, "invalid-personal-code")
        assert "12345" not in r.text
        mine = {"personal_code": NEWCOMER.personal_code}
        r = await client.post(f"{API}/people/lookup", json=mine, headers=bearer(tokens.technician))
        problem(r, 403, "admin-forbidden")


class TestGrant:
    async def test_granted_once_then_answered_as_held(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = bearer(tokens.platform)
        first = await client.post(f"{API}/grants/by-personal-code", json=_admin_of(), headers=admin)
        assert first.status_code == 201, first.text
        assert_no_personal_code(first.text)
        grant = first.json()
        assert (grant["role"], grant["municipality_code"]) == ("municipality_admin", CESIS)
        again = await client.post(f"{API}/grants/by-personal-code", json=_admin_of(), headers=admin)
        assert again.status_code == 200 and again.json()["id"] == grant["id"]
        listed = await client.get(
            f"{API}/grants", params={"person_id": grant["person_id"]}, headers=admin
        )
        assert [g["id"] for g in listed.json()["items"]] == [grant["id"]]

    async def test_the_gateway_decides_who_may_grant_what(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        riga = bearer(tokens.riga)
        r = await client.post(f"{API}/grants/by-personal-code", json=_admin_of(RIGA), headers=riga)
        problem(r, 403, "admin-forbidden")
        technician = {**_admin_of(RIGA), "role": "technician"}
        r = await client.post(f"{API}/grants/by-personal-code", json=technician, headers=riga)
        assert r.status_code == 201, r.text
        no_place = {**_admin_of(), "municipality_code": None}
        r = await client.post(
            f"{API}/grants/by-personal-code", json=no_place, headers=bearer(tokens.platform)
        )
        assert r.status_code == 422
        unknown = {**_admin_of(), "personal_code": "010101-10000"}
        r = await client.post(
            f"{API}/grants/by-personal-code", json=unknown, headers=bearer(tokens.platform)
        )
        problem(r, 404, "person-not-found")
