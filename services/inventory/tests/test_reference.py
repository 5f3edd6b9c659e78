"""Reference data and the catalogue over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared_kit.testing.http import bearer, problem

from .conftest import CHROMEBOOK, RIGA, SCHOOL_A, VALMIERA, VALMIERA_SCHOOL, Tokens

API = "/api/v1/inventory"


class TestMunicipalities:
    async def test_only_platform_admins_register(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        body = {"code": "0020000", "name": "Daugavpils valstspilsēta"}
        denied = await client.post(f"{API}/municipalities", json=body, headers=bearer(tokens.riga))
        problem(denied, 403, "tenant-forbidden")
        made = await client.post(
            f"{API}/municipalities", json=body, headers=bearer(tokens.platform)
        )
        assert made.status_code == 201 and made.headers["etag"] == '"1"'
        again = await client.post(
            f"{API}/municipalities", json=body, headers=bearer(tokens.platform)
        )
        problem(again, 409, "duplicate")

    @pytest.mark.parametrize("code", ["123", "00100000", "ABCDEFG", ""])
    async def test_code_must_be_atvk(
        self, client: httpx.AsyncClient, tokens: Tokens, code: str
    ) -> None:
        r = await client.post(
            f"{API}/municipalities",
            json={"code": code, "name": "X"},
            headers=bearer(tokens.platform),
        )
        assert problem(r, 422, "validation")["errors"][0]["pointer"] == "/code"

    async def test_each_admin_sees_their_own(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        mine = await client.get(f"{API}/municipalities", headers=bearer(tokens.valmiera))
        assert [m["code"] for m in mine.json()["items"]] == [VALMIERA]
        every = await client.get(f"{API}/municipalities", headers=bearer(tokens.analyst))
        assert [m["code"] for m in every.json()["items"]] == [RIGA, VALMIERA]
        other = await client.get(f"{API}/municipalities/{RIGA}", headers=bearer(tokens.valmiera))
        problem(other, 403, "tenant-forbidden")
        missing = await client.get(f"{API}/municipalities/0999999", headers=bearer(tokens.platform))
        problem(missing, 404, "municipality-not-found")

    async def test_rename_with_if_match(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        url, admin = f"{API}/municipalities/{RIGA}", bearer(tokens.platform)
        ok = await client.patch(url, json={"name": "Rīga"}, headers={**admin, "If-Match": '"1"'})
        assert ok.status_code == 200 and ok.json()["name"] == "Rīga"
        stale = await client.patch(url, json={"name": "R"}, headers={**admin, "If-Match": '"1"'})
        problem(stale, 412, "precondition-failed")
        denied = await client.patch(url, json={"name": "R"}, headers=bearer(tokens.riga))
        problem(denied, 403, "tenant-forbidden")


class TestInstitutions:
    async def test_municipality_admin_registers_in_own_municipality_only(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        body = {
            "registration_number": "3113900009",
            "name": "Rīgas 9. skola",
            "municipality_code": RIGA,
        }
        made = await client.post(f"{API}/institutions", json=body, headers=bearer(tokens.riga))
        assert made.status_code == 201
        elsewhere = await client.post(
            f"{API}/institutions",
            headers=bearer(tokens.valmiera),
            json={**body, "registration_number": "3113900010"},
        )
        problem(elsewhere, 403, "tenant-forbidden")
        twice = await client.post(f"{API}/institutions", json=body, headers=bearer(tokens.riga))
        problem(twice, 409, "duplicate")

    async def test_unknown_municipality_is_404(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        r = await client.post(
            f"{API}/institutions",
            headers=bearer(tokens.platform),
            json={"registration_number": "1", "name": "X", "municipality_code": "0999999"},
        )
        problem(r, 422, "validation")  # registration numbers have at least 4 digits
        r = await client.post(
            f"{API}/institutions",
            headers=bearer(tokens.platform),
            json={"registration_number": "1234", "name": "X", "municipality_code": "0999999"},
        )
        problem(r, 404, "municipality-not-found")

    async def test_listing_follows_tenancy(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        school = await client.get(f"{API}/institutions", headers=bearer(tokens.school_a))
        assert [i["registration_number"] for i in school.json()["items"]] == [SCHOOL_A]
        filtered = await client.get(
            f"{API}/institutions",
            params={"municipality": VALMIERA},
            headers=bearer(tokens.platform),
        )
        assert [i["registration_number"] for i in filtered.json()["items"]] == [VALMIERA_SCHOOL]
        foreign = await client.get(
            f"{API}/institutions/{VALMIERA_SCHOOL}", headers=bearer(tokens.riga)
        )
        problem(foreign, 403, "tenant-forbidden")

    async def test_rename(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        url = f"{API}/institutions/{SCHOOL_A}"
        ok = await client.patch(url, json={"name": "Jauns nosaukums"}, headers=bearer(tokens.riga))
        assert ok.status_code == 200 and ok.json()["version"] == 2
        denied = await client.patch(url, json={"name": "X"}, headers=bearer(tokens.school_a))
        problem(denied, 403, "tenant-forbidden")


class TestCatalogue:
    async def test_list_filter_get_and_update(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        await client.post(
            f"{API}/catalogue-items",
            headers=bearer(tokens.riga),
            json={
                "code": "nb-14-win",
                "name": 'Laptop 14"',
                "manufacturer": "Lenovo",
                "model": "ThinkPad E14",
                "category": "laptop",
                "os": "windows",
                "screen_inches": "14.0",
            },
        )
        windows = await client.get(
            f"{API}/catalogue-items", params={"os": "windows"}, headers=bearer(tokens.school_a)
        )
        assert [c["code"] for c in windows.json()["items"]] == ["NB-14-WIN"]
        item = await client.get(
            f"{API}/catalogue-items/{CHROMEBOOK.lower()}", headers=bearer(tokens.technician)
        )
        assert item.status_code == 200 and item.json()["options"]["extra_warranty_months"] == 24
        url = f"{API}/catalogue-items/{CHROMEBOOK}"
        done = await client.patch(
            url, json={"active": False}, headers={**bearer(tokens.platform), "If-Match": '"1"'}
        )
        assert done.status_code == 200 and done.json()["active"] is False
        stale = await client.patch(
            url, json={"active": True}, headers={**bearer(tokens.platform), "If-Match": '"1"'}
        )
        problem(stale, 412, "precondition-failed")
        denied = await client.patch(url, json={"active": True}, headers=bearer(tokens.school_a))
        problem(denied, 403, "tenant-forbidden")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("screen_inches", "99"),
            ("category", "phone"),
            ("base_warranty_months", -1),
            ("code", "has space"),
        ],
    )
    async def test_bad_items_are_422(
        self, client: httpx.AsyncClient, tokens: Tokens, field: str, value: Any
    ) -> None:
        body = {
            "code": "X-1",
            "name": "X",
            "manufacturer": "M",
            "model": "M",
            "category": "laptop",
            "os": "linux",
            field: value,
        }
        r = await client.post(f"{API}/catalogue-items", json=body, headers=bearer(tokens.platform))
        assert problem(r, 422, "validation")["errors"][0]["pointer"] == f"/{field}"

    async def test_unknown_item_is_404_and_duplicates_409(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        r = await client.get(f"{API}/catalogue-items/NOPE", headers=bearer(tokens.riga))
        problem(r, 404, "catalogue-item-not-found")
        dup = seeded["catalogue_item"]
        body = {k: dup[k] for k in ("code", "name", "manufacturer", "model", "category", "os")}
        again = await client.post(
            f"{API}/catalogue-items", json=body, headers=bearer(tokens.platform)
        )
        problem(again, 409, "duplicate")
