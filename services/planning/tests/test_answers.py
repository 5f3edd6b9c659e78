"""The families' answers: the guardian's journey, staff's paper answers, encryption, events."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.testing.clock import TestClock

from .conftest import API, CHILD, CHILD_B, OTHER_CHILD, SCHOOL_A, Tokens
from .survey_helpers import ANSWER, answer_url, make_round, outbox, types


class TestGuardianJourney:
    async def test_task_answer_change_withdraw(
        self, client: httpx.AsyncClient, tokens: Tokens, clock: TestClock
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        tasks = (await client.get(f"{API}/survey-tasks", headers=tokens.guardian_h)).json()
        assert {(t["learner_id"], t["answered"]) for t in tasks} == {
            (CHILD, False),
            (CHILD_B, False),
        }
        assert tasks[0]["criteria"] == round_["criteria"]
        url = answer_url(round_["id"], CHILD)
        first = await client.put(url, json=ANSWER, headers=tokens.guardian_h)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["channel"] == "portal" and body["learner_name"] == "Marta Bērziņa"
        assert body["institution_number"] == SCHOOL_A and body["grade"] == 2
        low = next(c for c in body["criteria"] if c["criterion"] == "low_income")
        assert low == {
            "criterion": "low_income",
            "declared": True,
            "status": "declared",
            "source": None,
            "verified_at": None,
        }
        tasks = (await client.get(f"{API}/survey-tasks", headers=tokens.guardian_h)).json()
        assert {t["learner_id"]: t["answered"] for t in tasks} == {CHILD: True, CHILD_B: False}

        changed = {**ANSWER, "device_access": "own", "criteria": []}
        stale = await client.put(
            url, json=changed, headers={**tokens.guardian_h, "If-Match": '"9"'}
        )
        assert stale.status_code == 412
        etag = first.headers["ETag"]
        second = await client.put(
            url, json=changed, headers={**tokens.guardian_h, "If-Match": etag}
        )
        assert second.status_code == 200 and second.json()["device_access"] == "own"
        assert (await client.get(url, headers=tokens.guardian_h)).json()["criteria"][0][
            "declared"
        ] is False

        assert (await client.delete(url, headers=tokens.guardian_h)).status_code == 204
        assert (await client.get(url, headers=tokens.guardian_h)).status_code == 404

    async def test_no_answer_once_closed(
        self, client: httpx.AsyncClient, tokens: Tokens, clock: TestClock
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = answer_url(round_["id"], CHILD)
        assert (await client.put(url, json=ANSWER, headers=tokens.guardian_h)).status_code == 201
        clock.advance(days=31)  # 1 April 2027
        assert (await client.get(f"{API}/survey-tasks", headers=tokens.guardian_h)).json() == []
        late = await client.put(url, json=ANSWER, headers=tokens.guardian_h)
        assert late.status_code == 409
        assert late.json()["type"].endswith("survey-round-not-open")

    async def test_not_before_it_opens(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        round_ = await make_round(
            client, tokens.riga_h, opens_on="2027-04-01", closes_on="2027-04-30"
        )
        response = await client.put(
            answer_url(round_["id"], CHILD), json=ANSWER, headers=tokens.guardian_h
        )
        assert response.status_code == 409

    async def test_a_child_outside_the_rounds_grades(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        round_ = await make_round(client, tokens.riga_h, grades=[7, 8, 9])
        response = await client.put(
            answer_url(round_["id"], CHILD), json=ANSWER, headers=tokens.guardian_h
        )
        assert response.status_code == 404
        assert response.json()["type"].endswith("learner-not-in-round")


class TestMalformed:
    async def test_bad_values_are_422_problems(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        round_ = await make_round(client, tokens.riga_h, criteria=["low_income"])
        url = answer_url(round_["id"], CHILD)
        for body in (
            {**ANSWER, "device_access": "tablet"},
            {**ANSWER, "criteria": ["low_income", "low_income"]},
            {"device_access": "own"},
            {**ANSWER, "note": "free text is not asked"},
        ):
            response = await client.put(url, json=body, headers=tokens.guardian_h)
            assert response.status_code == 422, body
            assert response.headers["content-type"] == "application/problem+json"
        not_asked = await client.put(
            url, json={**ANSWER, "criteria": ["disabled_child"]}, headers=tokens.guardian_h
        )
        assert not_asked.status_code == 422
        assert not_asked.json()["type"].endswith("criterion-not-asked")
        bad_id = await client.put(
            answer_url(round_["id"], "x" * 80), json=ANSWER, headers=tokens.guardian_h
        )
        assert bad_id.status_code == 422


class TestPaperAnswers:
    async def test_school_staff_record_a_paper_answer(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = answer_url(round_["id"], OTHER_CHILD)
        response = await client.put(url, json=ANSWER, headers=tokens.school_a_h)
        assert response.status_code == 201, response.text
        assert response.json()["channel"] == "paper"
        # The other school's staff may not record answers for this child.
        other = await client.put(
            answer_url(round_["id"], CHILD), json=ANSWER, headers=tokens.school_b_h
        )
        assert other.status_code == 404


class TestPrivacy:
    async def test_the_row_holds_no_readable_answer(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        body = {
            "device_access": "smartphone_only",
            "internet": "none",
            "criteria": ["disabled_child"],
        }
        await client.put(answer_url(round_["id"], CHILD), json=body, headers=tokens.guardian_h)
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT * FROM survey_answer"))).mappings().one()
        everything = " ".join(
            bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
            for v in row.values()
        )
        for secret in ("smartphone_only", "disabled_child", "Marta", "Bērziņa"):
            assert secret not in everything

    async def test_events_carry_no_answer(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = answer_url(round_["id"], CHILD)
        body = {
            "device_access": "smartphone_only",
            "internet": "none",
            "criteria": ["large_family"],
        }
        await client.put(url, json=body, headers=tokens.guardian_h)
        await client.delete(url, headers=tokens.guardian_h)
        events = await outbox(engine)
        assert types(events) == [
            "survey.round_created",
            "answer.submitted",
            "answer.withdrawn",
        ]
        for _, message in events[1:]:
            for secret in ("smartphone_only", "large_family", "device_access", "internet", "Marta"):
                assert secret not in message
