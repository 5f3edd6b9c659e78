"""Criteria verified in planning's needs survey count in priority without the family declaring
them: new requests include them, waiting ones are rescored on `criterion.verified` and again on
`criterion.withdrawn`, once per event (the inbox), through the consumer's path and the broker."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reservations_service.config import ReservationsSettings
from reservations_service.consumers import (
    CRITERION_VERIFIED,
    CRITERION_WITHDRAWN,
    build_handlers,
)
from reservations_service.main import create_app
from reservations_service.service.allocation_rules import LOANER_SCORE
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import apply_once
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.kafka import eventually, publish

from .conftest import API, CHILD, OTHER_CHILD, RIGA, SCHOOL_A, Inventory, Tokens, reserve, sql
from .test_consumers import CONTRACTS, checked
from .test_loaners import Tickets, loaner_event, tickets  # noqa: F401 (fixture)

ROUND = str(uuid.uuid4())
WELFARE = {"criterion": "low_income", "source": "welfare_data"}
SCHOOL = {"criterion": "low_income", "source": "verified_by_school"}


def criterion_event(
    kind: str,
    learner: str = CHILD,
    criterion: str = "low_income",
    source: str = "welfare_data",
    round_id: str = ROUND,
    **extra: Any,
) -> CloudEvent:
    """`criterion.verified` / `criterion.withdrawn` as planning publishes them."""
    data = {
        "round_id": round_id,
        "learner_id": learner,
        "institution_number": SCHOOL_A,
        "municipality_code": RIGA,
        "criterion": criterion,
        "source": source,
        "at": "2026-09-01T06:00:00Z",
        **extra,
    }
    evt = CloudEvent(
        type=f"lv.datori.planning.criterion.{kind}.v1",
        source="/datori/planning",
        subject=learner,
        data=data,
        municipality=RIGA,
    )
    return checked(evt) if criterion == "low_income" else evt


def withdrawn(reason: str = "rejected", **fields: Any) -> CloudEvent:
    """`criterion.withdrawn` for a reason."""
    return criterion_event("withdrawn", reason=reason, **fields)


class Planning:
    """Delivers planning's events through the consumer's handlers and inbox, as the runner does."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: ReservationsSettings,
        clock: TestClock,
    ) -> None:
        self.sessions, self.group = sessions, settings.consumer_group
        self.handlers = build_handlers(settings, clock)

    async def deliver(self, *events: CloudEvent) -> list[bool]:
        """Apply each event once (in its own transaction); whether each was new."""
        applied = []
        for evt in events:
            async with self.sessions() as session, session.begin():
                handler = self.handlers[evt.type]
                applied.append(await apply_once(session, self.group, evt, handler))
        return applied


@pytest.fixture
def planning(
    sessions: async_sessionmaker[AsyncSession], settings: ReservationsSettings, clock: TestClock
) -> Planning:
    """The planning service stand-in of this test."""
    return Planning(sessions, settings, clock)


async def read(client: httpx.AsyncClient, tokens: Tokens, reservation_id: str) -> dict[str, Any]:
    """A reservation as the platform admin reads it."""
    r = await client.get(f"{API}/{reservation_id}", headers=bearer(tokens.platform))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def waitlist(client: httpx.AsyncClient, tokens: Tokens) -> list[str]:
    """School A's waitlist, as learner ids in order."""
    r = await client.get(f"{API}/institutions/{SCHOOL_A}/waitlist", headers=bearer(tokens.school_a))
    assert r.status_code == 200, r.text
    return [entry["reservation"]["learner_id"] for entry in r.json()["items"]]


async def a_full_school(client: httpx.AsyncClient, tokens: Tokens, inventory: Inventory) -> None:
    """School A's only device is taken, and the other family's declared child waits first."""
    await inventory.add()
    await reserve(client, tokens.school_a, learner="l-holder")
    declared = [{"criterion": "single_parent", "source": "declared"}]  # 15
    await reserve(client, tokens.other_guardian, learner=OTHER_CHILD, social_criteria=declared)


class TestRescoring:
    async def test_a_verification_moves_the_child_up_and_a_withdrawal_back(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        planning: Planning,
    ) -> None:
        await a_full_school(client, tokens, inventory)
        mine = await reserve(client, tokens.guardian)
        assert mine["state"] == "waitlisted" and mine["priority_score"] == 0
        assert await waitlist(client, tokens) == [OTHER_CHILD, CHILD]

        assert await planning.deliver(criterion_event("verified")) == [True]
        now = await read(client, tokens, mine["id"])
        assert (now["priority_score"], now["verified_criteria"]) == (40, [WELFARE])
        assert now["social_criteria"] == [] and now["waitlist_position"] == 1
        assert now["version"] > mine["version"]
        assert await waitlist(client, tokens) == [CHILD, OTHER_CHILD]

        assert await planning.deliver(withdrawn(reason="answer_withdrawn")) == [True]
        back = await read(client, tokens, mine["id"])
        assert (back["priority_score"], back["verified_criteria"]) == (0, [])
        assert await waitlist(client, tokens) == [OTHER_CHILD, CHILD]

    async def test_a_redelivered_event_changes_nothing(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        planning: Planning,
    ) -> None:
        await a_full_school(client, tokens, inventory)
        mine = await reserve(client, tokens.guardian)
        verified, gone = criterion_event("verified"), withdrawn()
        assert await planning.deliver(verified, verified) == [True, False]
        once = await read(client, tokens, mine["id"])
        assert await planning.deliver(verified) == [False]
        assert await read(client, tokens, mine["id"]) == once
        assert await planning.deliver(gone, gone, verified) == [True, False, False]
        assert (await read(client, tokens, mine["id"]))["priority_score"] == 0

    async def test_another_round_or_source_keeps_the_criterion(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        planning: Planning,
    ) -> None:
        await a_full_school(client, tokens, inventory)
        mine = await reserve(client, tokens.guardian)
        later = str(uuid.uuid4())
        await planning.deliver(
            criterion_event("verified", source="verified_by_school"),
            criterion_event("verified", round_id=later),
        )
        both = await read(client, tokens, mine["id"])
        assert (both["priority_score"], both["verified_criteria"]) == (40, [SCHOOL, WELFARE])
        await planning.deliver(withdrawn(source="verified_by_school"))
        left = await read(client, tokens, mine["id"])
        assert (left["priority_score"], left["verified_criteria"]) == (40, [WELFARE])
        await planning.deliver(withdrawn(round_id=later, reason="expired"))
        assert (await read(client, tokens, mine["id"]))["priority_score"] == 0

    async def test_only_waiting_requests_of_the_learner_are_rescored(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        planning: Planning,
        tickets: Tickets,  # noqa: F811 (fixture)
    ) -> None:
        await inventory.add()
        holder = await reserve(client, tokens.guardian)  # approved at once
        await tickets.request(loaner_event(str(uuid.uuid4())))  # the child's loaner waits
        await planning.deliver(criterion_event("verified"))
        approved = await read(client, tokens, holder["id"])
        assert approved["state"] == "approved" and approved["version"] == holder["version"]
        assert (approved["priority_score"], approved["verified_criteria"]) == (0, [])
        r = await client.get(API, params={"learner_id": CHILD}, headers=bearer(tokens.platform))
        [loaner] = [item for item in r.json()["items"] if item["loaner_ticket_id"]]
        assert loaner["priority_score"] == LOANER_SCORE and loaner["verified_criteria"] == []

    async def test_unknown_criteria_and_sources_are_ignored(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        planning: Planning,
        engine: AsyncEngine,
    ) -> None:
        await a_full_school(client, tokens, inventory)
        mine = await reserve(client, tokens.guardian)
        newer = criterion_event("verified", criterion="care_leaver", future_field=1)
        declared = criterion_event("verified", criterion="single_parent", source="declared")
        assert await planning.deliver(newer, declared) == [True, True]
        assert await sql(engine, "SELECT * FROM learner_criterion") == []
        assert (await read(client, tokens, mine["id"]))["version"] == mine["version"]


class TestNewRequests:
    async def test_a_new_request_counts_the_verified_criteria_once(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        planning: Planning,
    ) -> None:
        await a_full_school(client, tokens, inventory)
        await planning.deliver(
            criterion_event("verified"),
            criterion_event("verified", criterion="disabled_child", source="verified_by_school"),
        )
        declared = [{"criterion": "low_income", "source": "declared"}]  # counts once, verified
        mine = await reserve(client, tokens.guardian, social_criteria=declared)
        assert mine["priority_score"] == 40 + 20
        assert mine["verified_criteria"] == [
            {"criterion": "disabled_child", "source": "verified_by_school"},
            WELFARE,
        ]
        assert mine["social_criteria"] == declared
        assert await waitlist(client, tokens) == [CHILD, OTHER_CHILD]
        sibling = await reserve(client, tokens.guardian, learner="person-child-2")
        assert (sibling["priority_score"], sibling["verified_criteria"]) == (0, [])

    @pytest.mark.parametrize("kind", [CRITERION_VERIFIED, CRITERION_WITHDRAWN])
    def test_the_events_carry_no_answers(self, kind: str) -> None:
        schema = json.loads((CONTRACTS / "events" / f"{kind}.json").read_text())
        assert set(schema["properties"]) <= {
            "round_id",
            "learner_id",
            "institution_number",
            "municipality_code",
            "criterion",
            "source",
            "at",
            "reason",
        }


@pytest.fixture
async def live(
    settings: ReservationsSettings, clock: TestClock
) -> AsyncIterator[httpx.AsyncClient]:
    """Reservations with their consumer running."""
    live_settings = settings.model_copy(update={"run_background_workers": True})
    async with running_app(create_app(live_settings, clock)) as client:
        yield client


class TestThroughTheBroker:
    async def test_a_verified_criterion_reorders_the_waitlist(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        settings: ReservationsSettings,
    ) -> None:
        await a_full_school(live, tokens, inventory)
        mine = await reserve(live, tokens.guardian)
        assert await waitlist(live, tokens) == [OTHER_CHILD, CHILD]
        verified = criterion_event("verified", source="verified_by_school")
        bootstrap, topic = settings.kafka_bootstrap_servers, settings.planning_topic
        await publish(bootstrap, topic, verified, verified)  # redelivered by another route

        async def reordered() -> bool:
            return await waitlist(live, tokens) == [CHILD, OTHER_CHILD]

        await eventually(reordered)
        now = await read(live, tokens, mine["id"])
        assert (now["priority_score"], now["verified_criteria"]) == (40, [SCHOOL])
        at = dt.datetime(2026, 9, 2, tzinfo=dt.UTC).isoformat()
        await publish(bootstrap, topic, withdrawn(source="verified_by_school", at=at))

        async def back() -> bool:
            return await waitlist(live, tokens) == [OTHER_CHILD, CHILD]

        await eventually(back)
