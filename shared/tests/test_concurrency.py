"""`If-Match` per RFC 9110: strong comparison, `*`, lists, and a 400 for a malformed field."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from shared_kit.concurrency import (
    IfMatch,
    InvalidIfMatch,
    check_if_match,
    etag,
    parse_if_match,
)
from shared_kit.problems import PreconditionFailed, install_problem_handlers

MALFORMED = [
    "",
    " ",
    ",",
    " , ,",
    "3",
    '"3',
    '3"',
    "W/3",
    'w/"3"',
    'W/ "3"',
    'W"3"',
    '"3" "4"',
    '"3""4"',
    '"3";q=1',
    '*, "3"',
    '"3", *',
    "**",
    '"a b"',
    '"a\\"b"',
    '"\x7f"',
    '"3"\r\n',
]


class TestParsing:
    @pytest.mark.parametrize(
        ("value", "strong"),
        [
            ('"3"', {"3"}),
            (' "3" ', {"3"}),
            ('W/"3"', set()),
            ('"1", W/"3", "3"', {"1", "3"}),
            ('W/"1",W/"2"', set()),
            (',, "3" ,', {"3"}),
            ('"a,b"', {"a,b"}),
            ('""', {""}),
            ('"\xe9t\xe9"', {"\xe9t\xe9"}),
        ],
    )
    def test_the_strong_tags_of_a_list(self, value: str, strong: set[str]) -> None:
        assert parse_if_match(value) == strong

    @pytest.mark.parametrize("value", ["*", " *\t"])
    def test_star(self, value: str) -> None:
        assert parse_if_match(value) is None

    @pytest.mark.parametrize("value", MALFORMED)
    def test_malformed_is_a_400_naming_the_header(self, value: str) -> None:
        with pytest.raises(InvalidIfMatch) as caught:
            parse_if_match(value)
        assert caught.value.status == 400
        assert [e["field"] for e in caught.value.extra["errors"]] == ["if-match"]

    def test_a_long_malformed_value_is_refused_quickly(self) -> None:
        with pytest.raises(InvalidIfMatch):
            parse_if_match('"' + " ," * 50_000 + "x")


class TestStrongComparison:
    @pytest.mark.parametrize("value", [None, "*", '"3"', '"1", "3"', 'W/"3", "3"'])
    def test_matches(self, value: str | None) -> None:
        check_if_match(value, 3)

    @pytest.mark.parametrize("value", ['W/"3"', '"2"', 'W/"2", W/"3"', '"03"'])
    def test_a_weak_or_stale_tag_is_412(self, value: str) -> None:
        with pytest.raises(PreconditionFailed) as caught:
            check_if_match(value, 3)
        assert caught.value.extra["current_etag"] == etag(3) == '"3"'


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.patch("/thing")
    async def patch(if_match: IfMatch = None) -> dict[str, str | None]:
        check_if_match(if_match, 2)
        return {"if_match": if_match}

    return app


class TestOverHttp:
    async def _patch(self, headers: list[tuple[str, str]]) -> httpx.Response:
        transport = httpx.ASGITransport(app=_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.patch("/thing", headers=headers)

    async def test_weak_is_412_problem(self) -> None:
        r = await self._patch([("If-Match", 'W/"2"')])
        assert r.status_code == 412
        assert r.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize("value", ["2", '"2', 'w/"2"', '*, "2"', ""])
    async def test_malformed_is_400_problem(self, value: str) -> None:
        r = await self._patch([("If-Match", value)])
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["pointer"] == "/header/if-match"

    async def test_every_line_of_the_field_counts(self) -> None:
        r = await self._patch([("If-Match", '"1"'), ("If-Match", '"2"')])
        assert r.status_code == 200 and r.json()["if_match"] == '"1", "2"'
        r = await self._patch([("If-Match", '"1"'), ("If-Match", "*")])
        assert r.status_code == 400

    async def test_absent_and_star_pass(self) -> None:
        assert (await self._patch([])).status_code == 200
        assert (await self._patch([("If-Match", "*")])).status_code == 200
