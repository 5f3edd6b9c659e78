"""Codes and numbers take the ASCII digits 0-9 only."""

from __future__ import annotations

import httpx
import pytest

from gateway_service import crypto
from gateway_service.login.eklase import form_encoded_token
from shared_kit.testing.digits import foreign_digits
from shared_kit.testing.http import bearer

from .conftest import RIGA, Tokens

API = "/api/v1/gateway"


def assert_refused(r: httpx.Response, pointer: str, case: str) -> None:
    assert r.status_code == 422, (case, r.text)
    assert pointer in [e["pointer"] for e in r.json()["errors"]], (case, r.text)


class TestOtherScriptsDigits:
    @pytest.mark.parametrize("code", foreign_digits("010190-10001").values())
    def test_a_personal_code_in_other_digits_is_refused(self, code: str) -> None:
        with pytest.raises(ValueError) as info:
            crypto.normalise_personal_code(code)
        assert code not in str(info.value)

    def test_a_hyphen_only_where_the_code_has_one(self) -> None:
        assert crypto.normalise_personal_code("010190-10001") == "01019010001"
        with pytest.raises(ValueError):
            crypto.normalise_personal_code("0101-9010001")

    async def test_clients_and_grants(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        admin = bearer(tokens.platform)
        person = "6f1c2a34-0000-4000-8000-000000000000"
        for case, code in foreign_digits(RIGA).items():
            body = {"name": "Rīga", "municipality_code": code, "scopes": ["inventory:read"]}
            r = await client.post(f"{API}/clients", json=body, headers=admin)
            assert_refused(r, "/municipality_code", case)
            body = {"person_id": person, "role": "technician", "municipality_code": code}
            r = await client.post(f"{API}/grants", json=body, headers=admin)
            assert_refused(r, "/municipality_code", case)
        for case, number in foreign_digits("3113900001").items():
            body = {"person_id": person, "role": "institution_admin", "institution_number": number}
            r = await client.post(f"{API}/grants", json=body, headers=admin)
            assert_refused(r, "/institution_number", case)


class TestEklaseToken:
    @pytest.mark.parametrize(
        ("expires_in", "kept"), [("3600", 3600), ("\u00b2", None), ("\u0661\u0662", None)]
    )
    def test_the_lifetime_is_read_only_from_ascii_digits(
        self, expires_in: str, kept: int | None
    ) -> None:
        answer = httpx.Response(
            200,
            text=f"access_token=a&token_type=bearer&expires_in={expires_in}",
            headers={"content-type": "application/x-www-form-urlencoded"},
            request=httpx.Request("POST", "https://eklase.invalid/token"),
        )
        token = form_encoded_token(answer).json()
        assert token.get("expires_in") == kept and token["access_token"] == "a"
