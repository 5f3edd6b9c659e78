"""Allocation rounds through the API: set up, compute from VIIS (the stand-in) and the devices
held, adjust, publish, move, order; the state machine, If-Match, Idempotency-Key, tenancy, and
the events in the outbox."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from planning_service.config import PlanningSettings
from planning_service.main import create_app
from planning_service.viis import ViisFactory
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer
from shared_kit.viis import HttpViisDirectory

from .conftest import API, RIGA, Tokens

ROUNDS = f"{API}/allocation-rounds"
CESIS = "0420200"
RIGA_1, RIGA_2 = "3113900101", "3113900102"
CESIS_1, CESIS_2, CESIS_3 = "4212900101", "4212900102", "4212900103"
# Grades 1-3, one device per 3 pupils: needs 61, 85 (Rīga), 42, 32, 27 (Cēsis): 247 in all.
NEEDS = {RIGA_1: 61, RIGA_2: 85, CESIS_1: 42, CESIS_2: 32, CESIS_3: 27}
BODY: dict[str, Any] = {
    "title": "ANM 2027",
    "funding_programme": "Recovery Fund",
    "order_reference": "ANM-2027-01",
    "devices": 100,
    "grade_bands": ["1-3"],
    "target_ratio": {"1-3": 3},
}


@pytest.fixture(scope="module")
def cesis_admin(token_issuer: TokenIssuer) -> str:
    """A municipality administrator of Cēsu novads."""
    return AudienceTokens(token_issuer, "planning").mint(
        "cesis-admin", roles=["municipality_admin"], municipalities=[CESIS]
    )


async def create(client: httpx.AsyncClient, tokens: Tokens, **changes: Any) -> dict[str, Any]:
    """A new round (201)."""
    r = await client.post(ROUNDS, json={**BODY, **changes}, headers=bearer(tokens.programme))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def step(
    client: httpx.AsyncClient, tokens: Tokens, round_: dict[str, Any], action: str, **params: Any
) -> dict[str, Any]:
    """Compute or publish with the round's ETag."""
    headers = {**bearer(tokens.programme), "If-Match": f'"{round_["version"]}"'}
    r = await client.post(f"{ROUNDS}/{round_['id']}/{action}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def lines_of(client: httpx.AsyncClient, token: str, round_id: str, **params: Any) -> Any:
    """Every line one caller sees."""
    r = await client.get(f"{ROUNDS}/{round_id}/lines", headers=bearer(token), params=params)
    assert r.status_code == 200, r.text
    return {line["institution_number"]: line for line in r.json()["items"]}


async def outbox(engine: AsyncEngine) -> list[tuple[str, dict[str, Any]]]:
    """The events queued so far: (type, data)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT event_type, payload FROM outbox_message ORDER BY seq")
        )
        return [(row.event_type, json.loads(row.payload)) for row in rows]


class TestLifecycle:
    async def test_create_compute_publish(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        created = await create(client, tokens)
        assert created["state"] == "draft" and created["totals"] is None
        computed = await step(client, tokens, created, "compute")
        assert computed["state"] == "computed"
        assert computed["totals"] == {
            "devices": 100,
            "allocated": 100,
            "unallocated": 0,
            "schools": 5,
            "municipalities": 2,
        }
        lines = await lines_of(client, tokens.programme, created["id"])
        assert {n: line["need"] for n, line in lines.items()} == NEEDS
        assert sum(line["allocated"] for line in lines.values()) == 100
        riga = lines[RIGA_2]
        assert riga["eligible_pupils"] == {"by_band": {"1-3": 253}, "total": 253}
        assert riga["share_exact"] == "8500/247" and riga["share"] == "34.412955"
        assert riga["floor"] == 34 and riga["allocated"] == 34 + riga["rounded_up"]
        published = await step(client, tokens, computed, "publish")
        assert published["state"] == "published" and published["published_at"]
        types = [t.rsplit(".", 2)[-2] for t, _ in await outbox(engine)]
        assert types == ["created", "computed", "published"]
        _, announced = (await outbox(engine))[-1]
        assert sum(line["allocated"] for line in announced["lines"]) == 100
        assert announced["order_reference"] == "ANM-2027-01"

    async def test_the_municipalities_table_shows_pools(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        # Cēsu sākumskola (124 pupils in 1-3) is below the minimum: its weight goes to Cēsis.
        created = await create(client, tokens, min_eligible_pupils=125)
        await step(client, tokens, created, "compute")
        r = await client.get(
            f"{ROUNDS}/{created['id']}/municipalities", headers=bearer(tokens.analyst)
        )
        assert r.status_code == 200, r.text
        rows = {row["municipality_code"]: row for row in r.json()}
        assert rows[CESIS]["pooled_schools"] == 3 and rows[CESIS]["pooled_to"] == "national"
        assert rows[RIGA]["pooled_schools"] == 0 and rows[RIGA]["pooled"] == "0.000000"
        assert rows[RIGA]["allocated"] == 100 and rows[CESIS]["allocated"] == 0
        assert rows[RIGA]["name"] == "Rīgas valstspilsēta"

    async def test_supply_beyond_every_need_stays_unallocated(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        created = await create(client, tokens, devices=300)
        computed = await step(client, tokens, created, "compute")
        assert computed["totals"]["allocated"] == 247
        assert computed["totals"]["unallocated"] == 53
        lines = await lines_of(client, tokens.programme, created["id"])
        assert {n: line["allocated"] for n, line in lines.items()} == NEEDS


class TestStateMachine:
    async def test_if_match_and_states(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        created = await create(client, tokens)
        url = f"{ROUNDS}/{created['id']}"
        stale = {**bearer(tokens.programme), "If-Match": '"99"'}
        problem(await client.post(f"{url}/compute", headers=stale), 412, "precondition-failed")
        problem(
            await client.post(f"{url}/publish", headers=bearer(tokens.programme)),
            409,
            "illegal-round-state",
        )
        computed = await step(client, tokens, created, "compute")
        again = await step(client, tokens, computed, "compute")  # recomputing is fine
        assert again["version"] > computed["version"]
        published = await step(client, tokens, again, "publish")
        for action in ("compute", "publish"):
            r = await client.post(f"{url}/{action}", headers=bearer(tokens.programme))
            problem(r, 409, "illegal-round-state")
        r = await client.get(url, headers=bearer(tokens.programme))
        assert r.headers["ETag"] == f'"{published["version"]}"'

    async def test_idempotent_create_and_invalid_bodies(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        headers = {**bearer(tokens.programme), "Idempotency-Key": "round-1"}
        first = await client.post(ROUNDS, json=BODY, headers=headers)
        second = await client.post(ROUNDS, json=BODY, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] == second.json()["id"]
        listed = await client.get(ROUNDS, headers=bearer(tokens.programme))
        assert len(listed.json()["items"]) == 1
        for bad in (
            {"devices": 0},
            {"target_ratio": {"4-6": 3}},
            {"survey_weight": "0.5"},
            {"grade_bands": ["1-3", "1-3"]},
            {"size_bands": [{"min_pupils": 0, "max_pupils": 50, "weight": 1}] * 2},
            {"social_weights": {"low_income": "NaN"}},
        ):
            r = await client.post(ROUNDS, json={**BODY, **bad}, headers=bearer(tokens.programme))
            problem(r, 422, "validation")


def unreachable_viis() -> ViisFactory:
    """The real client aimed at a port nobody listens on."""
    return lambda: HttpViisDirectory("http://127.0.0.1:9", "key", timeout_s=2)  # type: ignore[return-value]


class TestViisDown:
    async def test_503_and_nothing_stored(
        self,
        settings: PlanningSettings,
        clock: TestClock,
        tokens: Tokens,
        engine: AsyncEngine,
    ) -> None:
        async with running_app(create_app(settings, clock, unreachable_viis())) as client:
            created = await create(client, tokens)
            r = await client.post(
                f"{ROUNDS}/{created['id']}/compute", headers=bearer(tokens.programme)
            )
            problem(r, 503, "viis-unavailable")
            r = await client.get(f"{ROUNDS}/{created['id']}", headers=bearer(tokens.programme))
            assert r.json()["state"] == "draft" and r.json()["inputs_taken_at"] is None
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM allocation_input")) == 0


class TestAdjustments:
    async def test_adjust_keeps_the_total_and_is_audited(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        created = await create(client, tokens)
        await step(client, tokens, created, "compute")
        url = f"{ROUNDS}/{created['id']}/adjustments"
        before = await lines_of(client, tokens.programme, created["id"])
        body = {"from_institution": RIGA_2, "to_institution": CESIS_3, "quantity": 5}
        problem(
            await client.post(url, json=body, headers=bearer(tokens.programme)),
            422,
            "validation",
        )  # a reason is required
        body["reason"] = "Cēsis opens a new class in spring"
        r = await client.post(url, json=body, headers=bearer(tokens.programme))
        assert r.status_code == 201, r.text
        assert r.json()["actor"] == "person:programme-1"
        after = await lines_of(client, tokens.programme, created["id"])
        assert after[RIGA_2]["allocated"] == before[RIGA_2]["allocated"] - 5
        assert after[CESIS_3]["allocated"] == before[CESIS_3]["allocated"] + 5
        assert after[CESIS_3]["adjustments"] == 5
        assert sum(line["allocated"] for line in after.values()) == 100
        too_many = {**body, "from_institution": CESIS_1, "quantity": 1000}
        r = await client.post(url, json=too_many, headers=bearer(tokens.programme))
        problem(r, 409, "not-enough-devices")
        # Recomputing keeps the adjustment.
        current = (
            await client.get(f"{ROUNDS}/{created['id']}", headers=bearer(tokens.programme))
        ).json()
        await step(client, tokens, current, "compute")
        again = await lines_of(client, tokens.programme, created["id"])
        assert again[CESIS_3]["allocated"] == after[CESIS_3]["allocated"]
        r = await client.get(url, headers=bearer(tokens.analyst))
        (shown,) = r.json()["items"]
        assert shown["reason"] is None and shown["actor"] is None and shown["quantity"] == 5
        adjusted = [d for t, d in await outbox(engine) if t.endswith("allocation.adjusted.v1")]
        assert adjusted[0]["target"]["allocated"] == after[CESIS_3]["allocated"]
        assert "spring" not in json.dumps(adjusted)


async def published_round(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    """A computed and published round."""
    created = await create(client, tokens)
    computed = await step(client, tokens, created, "compute")
    return await step(client, tokens, computed, "publish")


class TestTenancy:
    async def test_municipalities_see_published_rounds_and_only_their_own(
        self, client: httpx.AsyncClient, tokens: Tokens, cesis_admin: str
    ) -> None:
        draft = await create(client, tokens)
        for token in (tokens.riga, cesis_admin):
            r = await client.get(f"{ROUNDS}/{draft['id']}", headers=bearer(token))
            problem(r, 404, "round-not-found")
        round_ = await published_round(client, tokens)
        rid = round_["id"]
        assert set(await lines_of(client, cesis_admin, rid)) == {CESIS_1, CESIS_2, CESIS_3}
        problem(
            await client.get(
                f"{ROUNDS}/{rid}/lines", headers=bearer(cesis_admin), params={"municipality": RIGA}
            ),
            404,
            "not-found",
        )
        problem(
            await client.get(
                f"{ROUNDS}/{rid}/lines", headers=bearer(cesis_admin), params={"institution": RIGA_1}
            ),
            404,
            "school-not-in-round",
        )
        r = await client.get(f"{ROUNDS}/{rid}/municipalities", headers=bearer(cesis_admin))
        assert [row["municipality_code"] for row in r.json()] == [CESIS]
        r = await client.get(f"{ROUNDS}/{rid}/inputs", headers=bearer(cesis_admin))
        assert {i["municipality_code"] for i in r.json()["items"]} == {CESIS}

    async def test_others_are_refused(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        for token in (tokens.guardian, tokens.school_a, tokens.teacher_a, tokens.learner):
            problem(await client.get(ROUNDS, headers=bearer(token)), 403, "forbidden")
        for token in (tokens.analyst, tokens.riga):
            r = await client.post(ROUNDS, json=BODY, headers=bearer(token))
            problem(r, 403, "forbidden")


class TestMovesAndOrders:
    async def test_a_municipality_moves_between_its_own_schools(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        cesis_admin: str,
        engine: AsyncEngine,
    ) -> None:
        created = await create(client, tokens)
        computed = await step(client, tokens, created, "compute")
        url = f"{ROUNDS}/{created['id']}/moves"
        move = {"from_institution": RIGA_1, "to_institution": RIGA_2, "quantity": 3, "reason": "x"}
        problem(
            await client.post(url, json=move, headers=bearer(tokens.riga)),
            404,
            "round-not-found",
        )  # not published yet
        await step(client, tokens, computed, "publish")
        before = await lines_of(client, tokens.riga, created["id"])
        r = await client.post(url, json=move, headers=bearer(tokens.riga))
        assert r.status_code == 201, r.text
        after = await lines_of(client, tokens.riga, created["id"])
        assert after[RIGA_1]["allocated"] == before[RIGA_1]["allocated"] - 3
        assert after[RIGA_2]["moves"] == 3
        across = {**move, "to_institution": CESIS_1}
        problem(
            await client.post(url, json=across, headers=bearer(tokens.riga)),
            404,
            "school-not-in-round",
        )
        problem(
            await client.post(url, json=move, headers=bearer(cesis_admin)),
            404,
            "school-not-in-round",
        )
        drain = {**move, "quantity": after[RIGA_1]["allocated"] + 1}
        problem(
            await client.post(url, json=drain, headers=bearer(tokens.riga)),
            409,
            "not-enough-devices",
        )
        problem(
            await client.post(url, json=move, headers=bearer(tokens.programme)),
            403,
            "forbidden",
        )
        r = await client.get(url, headers=bearer(cesis_admin))
        assert r.json()["items"] == []
        r = await client.get(url, headers=bearer(tokens.analyst))
        (seen,) = r.json()["items"]
        assert seen["reason"] is None and seen["quantity"] == 3
        r = await client.get(url, headers=bearer(tokens.riga))
        assert r.json()["items"][0]["reason"] == "x"
        moved = [d for t, d in await outbox(engine) if t.endswith("allocation.moved.v1")]
        assert moved[0]["source"]["allocated"] == after[RIGA_1]["allocated"]

    async def test_orders(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        draft = await create(client, tokens)
        computed = await step(client, tokens, draft, "compute")
        url = f"{ROUNDS}/{draft['id']}/orders"
        r = await client.put(
            f"{url}/{RIGA_1}", json={"ordered": 5}, headers=bearer(tokens.programme)
        )
        problem(r, 409, "illegal-round-state")
        await step(client, tokens, computed, "publish")
        r = await client.put(f"{url}/{RIGA_1}", json={"ordered": 20}, headers=bearer(tokens.riga))
        assert r.status_code == 200 and r.json()["ordered"] == 20
        r = await client.put(f"{url}/{CESIS_1}", json={"ordered": 5}, headers=bearer(tokens.riga))
        problem(r, 404, "school-not-in-round")
        r = await client.put(
            f"{url}/{CESIS_1}", json={"ordered": 7}, headers=bearer(tokens.programme)
        )
        assert r.json()["ordered"] == 7
        r = await client.put(
            f"{url}/{CESIS_1}", json={"ordered": -1}, headers=bearer(tokens.programme)
        )
        problem(r, 422, "validation")
        orders = [d for t, d in await outbox(engine) if t.endswith("order_recorded.v1")]
        assert [(o["institution_number"], o["ordered"]) for o in orders] == [
            (RIGA_1, 20),
            (CESIS_1, 7),
        ]
