"""ATVK codes, registration numbers and amounts take the ASCII digits 0-9 only."""

from __future__ import annotations

from typing import Any

import httpx

from shared_kit.testing.digits import foreign_digits
from shared_kit.testing.http import bearer

from .conftest import CHROMEBOOK, RIGA, SCHOOL_A, Tokens, device_body
from .test_import import csv_of, upload

API = "/api/v1/inventory"


def assert_refused(r: httpx.Response, pointer: str, case: str) -> None:
    assert r.status_code == 422, (case, r.text)
    assert pointer in [e["pointer"] for e in r.json()["errors"]], (case, r.text)


class TestOtherScriptsDigits:
    async def test_municipalities_and_institutions(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        admin = bearer(tokens.platform)
        for case, code in foreign_digits("0020000").items():
            body = {"code": code, "name": "Daugavpils"}
            r = await client.post(f"{API}/municipalities", json=body, headers=admin)
            assert_refused(r, "/code", case)
            r = await client.get(
                f"{API}/institutions", params={"municipality": code}, headers=admin
            )
            assert_refused(r, "/query/municipality", case)
        for case, number in foreign_digits("3113900009").items():
            body = {"registration_number": number, "name": "Skola", "municipality_code": RIGA}
            r = await client.post(f"{API}/institutions", json=body, headers=admin)
            assert_refused(r, "/registration_number", case)
        listed = await client.get(f"{API}/municipalities", headers=admin)
        assert len(listed.json()["items"]) == 2

    async def test_devices_and_catalogue(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        riga, admin = bearer(tokens.riga), bearer(tokens.platform)
        for case, price in foreign_digits("329.00").items():
            body = device_body("SN-0001", "RIX-0001", purchase_price=price)
            r = await client.post(f"{API}/devices", json=body, headers=riga)
            assert_refused(r, "/purchase_price", case)
        for case, number in foreign_digits(SCHOOL_A).items():
            body = device_body("SN-0001", "RIX-0001", institution_registration_number=number)
            r = await client.post(f"{API}/devices", json=body, headers=riga)
            assert_refused(r, "/institution_registration_number", case)
        for case, code in foreign_digits(RIGA).items():
            r = await client.get(f"{API}/devices", params={"municipality": code}, headers=riga)
            assert_refused(r, "/query/municipality", case)
        item = {
            k: seeded["catalogue_item"][k]
            for k in ("name", "manufacturer", "model", "category", "os")
        }
        for case, inches in foreign_digits("11.6").items():
            body = {**item, "code": "CB-NEW", "screen_inches": inches}
            r = await client.post(f"{API}/catalogue-items", json=body, headers=admin)
            assert_refused(r, "/screen_inches", case)
        assert (await client.get(f"{API}/devices", headers=riga)).json()["items"] == []

    async def test_csv_import(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        rows = [
            f"SN-{i:05},RIX-{i:05},{CHROMEBOOK},{SCHOOL_A},react_eu,2022-05-20,{price},"
            for i, price in enumerate(foreign_digits("299.00").values())
        ]
        rows += [
            f"SN-9{i:04},RIX-9{i:04},{CHROMEBOOK},{number},react_eu,2022-05-20,299.00,"
            for i, number in enumerate(foreign_digits(SCHOOL_A).values())
        ]
        r = await upload(client, tokens.riga, csv_of(rows), mode="valid_rows")
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["created_rows"], report["failed_rows"]) == (0, len(rows))
        fields = [{e["field"] for e in row["errors"]} for row in report["rows"]]
        assert fields == [{"purchase_price"}] * 5 + [{"institution_registration_number"}] * 5
        for case, code in foreign_digits(RIGA).items():
            r = await upload(client, tokens.riga, csv_of(rows[:1]), municipality=code)
            assert_refused(r, "/municipality", case)
