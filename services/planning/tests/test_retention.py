"""Retention: after a round's retention period its answers go; results and the log stay."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from planning_service.config import PlanningSettings
from planning_service.main import retention_job
from shared_kit.db import create_session_factory
from shared_kit.testing.clock import TestClock

from .conftest import API, CHILD, CHILD_B, Tokens
from .survey_helpers import ANSWER, answer_url, make_round, outbox, types


async def _run(engine: AsyncEngine, settings: PlanningSettings, clock: TestClock) -> dict:
    sessions = create_session_factory(engine, outbox_topic=settings.events_topic)
    async with sessions() as session, session.begin():
        return await retention_job(settings, clock)(session, clock())


async def test_answers_are_deleted_and_results_stay(
    client: httpx.AsyncClient,
    tokens: Tokens,
    engine: AsyncEngine,
    settings: PlanningSettings,
    clock: TestClock,
) -> None:
    round_ = await make_round(client, tokens.riga_h, retention_months=1)
    assert round_["answers_delete_on"] == "2027-04-30"
    url = answer_url(round_["id"], CHILD)
    await client.put(url, json=ANSWER, headers=tokens.guardian_h)
    await client.put(answer_url(round_["id"], CHILD_B), json=ANSWER, headers=tokens.guardian_h)
    verify = {"criterion": "low_income", "outcome": "verified"}
    await client.post(f"{url}/verifications", json=verify, headers=tokens.school_a_h)
    await client.get(url, headers=tokens.riga_h)  # an audited read
    results = f"{API}/survey-rounds/{round_['id']}/results"
    before = (await client.get(results, headers=tokens.programme_h)).json()

    clock.advance(days=59)  # 29 April: not yet
    assert (await _run(engine, settings, clock))["survey_answers_deleted"] == 0
    clock.advance(days=1)
    assert await _run(engine, settings, clock) == {
        "survey_rounds_expired": 1,
        "survey_answers_deleted": 2,
    }
    assert (await _run(engine, settings, clock))["survey_answers_deleted"] == 0

    assert (await client.get(url, headers=tokens.guardian_h)).status_code == 404
    assert (await client.get(results, headers=tokens.programme_h)).json() == before
    async with engine.connect() as conn:
        answers = await conn.scalar(text("SELECT count(*) FROM survey_answer"))
        checks = await conn.scalar(text("SELECT count(*) FROM criterion_verification"))
        reads = await conn.scalar(text("SELECT count(*) FROM answer_access"))
    assert (answers, checks) == (0, 0) and reads >= 1
    log = await client.get(
        f"{API}/survey-rounds/{round_['id']}/access-log?learner_id={CHILD}",
        headers=tokens.guardian_h,
    )
    assert len(log.json()["items"]) == 2  # the verification and the read
    events = await outbox(engine)
    assert types(events)[-2:] == ["criterion.withdrawn", "survey.answers_deleted"]
    assert '"expired"' in events[-2][1]
    got = (await client.get(f"{API}/survey-rounds/{round_['id']}", headers=tokens.riga_h)).json()
    assert got["answers_deleted_at"] is not None
