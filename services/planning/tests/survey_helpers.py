"""Helpers of the survey tests: a round, an answer, the outbox as the relay would send it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import API, RIGA, SCHOOL_A, SCHOOL_B

OPENS = dt.date(2027, 3, 1)
CLOSES = dt.date(2027, 3, 31)
ALL_CRITERIA = ["low_income", "single_parent", "large_family", "disabled_child"]
ANSWER = {"device_access": "smartphone_only", "internet": "mobile_only", "criteria": ["low_income"]}


def round_body(**overrides: Any) -> dict[str, Any]:
    """A Rīga round over both demo schools, grades 1-6, open all March 2027."""
    body: dict[str, Any] = {
        "title": "Datoru pieejamība 2027",
        "scope": "municipality",
        "municipality_code": RIGA,
        "opens_on": OPENS.isoformat(),
        "closes_on": CLOSES.isoformat(),
        "grades": [1, 2, 3, 4, 5, 6],
        "institutions": [SCHOOL_A, SCHOOL_B],
        "criteria": ALL_CRITERIA,
    }
    body.update(overrides)
    return body


async def make_round(client: httpx.AsyncClient, token: dict[str, str], **overrides: Any) -> dict:
    """Create a round; its body."""
    response = await client.post(
        f"{API}/survey-rounds", json=round_body(**overrides), headers=token
    )
    assert response.status_code == 201, response.text
    return response.json()


def answer_url(round_id: str, learner_id: str) -> str:
    """The URL of a child's answer."""
    return f"{API}/survey-rounds/{round_id}/answers/{learner_id}"


async def outbox(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(event type, JSON text of the whole message) of every queued event, in order."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT event_type, key, headers, payload FROM outbox_message ORDER BY seq")
            )
        ).all()
    return [(r[0], json.dumps(r[2]) + r[1] + bytes(r[3]).decode()) for r in rows]


def types(events: list[tuple[str, str]]) -> list[str]:
    """The short names of event types (`answer.submitted`)."""
    return [t.removeprefix("lv.datori.planning.").removesuffix(".v1") for t, _ in events]
