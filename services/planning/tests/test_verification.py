"""Verifying criteria: the source follows the caller; events name the criterion and source only."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import CHILD, Tokens
from .survey_helpers import ANSWER, answer_url, make_round, outbox, types


async def _answered(client: httpx.AsyncClient, tokens: Tokens) -> str:
    round_ = await make_round(client, tokens.riga_h)
    url = answer_url(round_["id"], CHILD)
    assert (await client.put(url, json=ANSWER, headers=tokens.guardian_h)).status_code == 201
    return url


def _criterion(body: dict, name: str) -> dict:
    return next(c for c in body["criteria"] if c["criterion"] == name)


class TestSources:
    async def test_school_attests_and_municipality_verifies(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        url = await _answered(client, tokens)
        school = await client.post(
            f"{url}/verifications",
            json={"criterion": "low_income", "outcome": "verified"},
            headers=tokens.school_a_h,
        )
        assert school.status_code == 200, school.text
        assert _criterion(school.json(), "low_income")["source"] == "verified_by_school"
        welfare = await client.post(
            f"{url}/verifications",
            json={"criterion": "single_parent", "outcome": "verified"},
            headers=tokens.riga_h,
        )
        found = _criterion(welfare.json(), "single_parent")
        assert (found["status"], found["source"], found["declared"]) == (
            "verified",
            "welfare_data",
            False,
        )
        events = await outbox(engine)
        assert types(events)[-2:] == ["criterion.verified", "criterion.verified"]
        assert "verified_by_school" in events[-2][1] and "welfare_data" in events[-1][1]
        assert "smartphone_only" not in events[-1][1]

    async def test_rejecting_a_verified_criterion_withdraws_it(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        url = await _answered(client, tokens)
        verify = {"criterion": "low_income", "outcome": "verified"}
        await client.post(f"{url}/verifications", json=verify, headers=tokens.riga_h)
        reject = {**verify, "outcome": "rejected"}
        response = await client.post(f"{url}/verifications", json=reject, headers=tokens.riga_h)
        assert _criterion(response.json(), "low_income")["status"] == "rejected"
        events = await outbox(engine)
        assert types(events)[-1] == "criterion.withdrawn" and '"rejected"' in events[-1][1]

    async def test_dropping_a_verified_criterion_withdraws_it(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        url = await _answered(client, tokens)
        verify = {"criterion": "low_income", "outcome": "verified"}
        await client.post(f"{url}/verifications", json=verify, headers=tokens.school_a_h)
        changed = await client.put(url, json={**ANSWER, "criteria": []}, headers=tokens.guardian_h)
        assert _criterion(changed.json(), "low_income")["status"] == "declared"
        events = await outbox(engine)
        assert types(events)[-2:] == ["criterion.withdrawn", "answer.submitted"]
        assert '"answer_withdrawn"' in events[-2][1]


class TestWhoVerifies:
    async def test_guardians_and_other_schools_cannot(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        url = await _answered(client, tokens)
        verify = {"criterion": "low_income", "outcome": "verified"}
        guardian = await client.post(f"{url}/verifications", json=verify, headers=tokens.guardian_h)
        assert guardian.status_code == 403
        for token in (tokens.school_b_h, tokens.valmiera_h):
            response = await client.post(f"{url}/verifications", json=verify, headers=token)
            assert response.status_code == 404
        bad = await client.post(
            f"{url}/verifications",
            json={"criterion": "rich", "outcome": "x"},
            headers=tokens.riga_h,
        )
        assert bad.status_code == 422
