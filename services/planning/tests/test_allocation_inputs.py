"""An allocation round's inputs: the devices held, from the inventory's events through the real
broker, counted per school and band; stored, so a recomputation years later gives the same
lines whatever VIIS and the inventory say by then."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from planning_service.config import PlanningSettings
from planning_service.consumers import levels_mask
from planning_service.main import create_app
from planning_service.service.allocation_inputs import band_of
from shared_kit.events import CloudEvent
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.kafka import eventually, publish

from .conftest import API, CHILD, CHILD_B, RIGA, Tokens, standin, viis_factory
from .survey_helpers import ANSWER, answer_url, make_round

ROUNDS = f"{API}/allocation-rounds"
CONTRACTS = Path(__file__).parents[3] / "contracts"
RIGA_1, RIGA_2 = "3113900101", "3113900102"
BODY: dict[str, Any] = {
    "title": "REACT-EU 2027",
    "funding_programme": "REACT-EU",
    "order_reference": "REACT-2027",
    "devices": 150,
    "grade_bands": ["1-3", "4-6"],
    "target_ratio": {"1-3": 3, "4-6": 3},
    "subtract_devices_held": True,
    "municipalities": [RIGA],
}


def device(
    version: int,
    *,
    institution: str | None = RIGA_1,
    levels: list[str] | None = None,
    status: str = "available",
    kind: str = "registered",
    device_id: str | None = None,
) -> CloudEvent:
    """An inventory device event as the inventory publishes it, checked against its schema."""
    device_id = device_id or str(uuid.uuid4())
    snap = {
        "device_id": device_id,
        "version": version,
        "serial_number": f"SN-{device_id[:8]}",
        "asset_tag": f"RIX-{device_id[:6].upper()}",
        "municipality_code": RIGA,
        "institution_registration_number": institution,
        "catalogue_item_code": "LAPTOP-14",
        "manufacturer": "Lenovo",
        "model": "ThinkPad E14",
        "category": "laptop",
        "os": "windows",
        "school_levels": levels or [],
        "screen_inches": "14.0",
        "touch": False,
        "accessories": ["charger"],
        "purchase_price": "649.00",
        "funding_source": "recovery_fund",
        "delivery_date": "2024-09-01",
        "warranty_ends_on": "2027-09-01",
        "insured_until": None,
        "condition": "good",
        "status": status,
    }
    extra: dict[str, Any] = {}
    if kind == "status_changed":
        extra = {"from_status": "available", "to_status": status, "reason": None}
    type_ = f"lv.datori.inventory.device.{kind}.v1"
    data = {"device": snap, **extra}
    schema = json.loads((CONTRACTS / "events" / f"{type_}.json").read_text())
    Draft202012Validator(schema).validate(data)
    return CloudEvent(
        type=type_, source="/datori/inventory", subject=device_id, data=data, municipality=RIGA
    )


@pytest.fixture
async def live(settings: PlanningSettings, clock: TestClock) -> AsyncIterator[httpx.AsyncClient]:
    """Planning with its consumer running, VIIS the demo stand-in."""
    live_settings = settings.model_copy(update={"run_background_workers": True})
    async with running_app(create_app(live_settings, clock, viis_factory())) as client:
        yield client


async def _settled(engine: AsyncEngine, *, devices: int, lost: int) -> bool:
    """Whether planning knows this many devices, this many of them lost."""
    query = "SELECT count(*), count(*) FILTER (WHERE status = 'lost') FROM held_device"
    async with engine.connect() as conn:
        known, gone = (await conn.execute(text(query))).one()
    return bool(known == devices and gone == lost)


async def inputs_of(client: httpx.AsyncClient, tokens: Tokens, round_id: str) -> dict[str, Any]:
    """School → stored inputs."""
    r = await client.get(f"{ROUNDS}/{round_id}/inputs", headers=bearer(tokens.programme))
    assert r.status_code == 200, r.text
    return {i["institution_number"]: i for i in r.json()["items"]}


async def compute(
    client: httpx.AsyncClient, tokens: Tokens, round_id: str, refresh: bool = False
) -> dict[str, Any]:
    """Compute the round; its lines by school."""
    r = await client.post(
        f"{ROUNDS}/{round_id}/compute",
        headers=bearer(tokens.programme),
        params={"refresh_inputs": str(refresh).lower()},
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{ROUNDS}/{round_id}/lines", headers=bearer(tokens.programme))
    return {line["institution_number"]: line for line in r.json()["items"]}


class TestDevicesHeld:
    async def test_counted_once_in_the_lowest_eligible_band_and_kept_with_the_round(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        settings: PlanningSettings,
        engine: AsyncEngine,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        lost = str(uuid.uuid4())
        first = device(1, levels=["grades 1-3"])
        events = [
            first,
            device(1, levels=["grades 1-6"]),  # counts in 1-3, not twice
            device(1, levels=["grades 4-6"], status="on_loan"),
            device(1, status="in_repair"),  # no levels: the lowest band with pupils
            device(1, device_id=lost),
            device(2, device_id=lost, status="lost", kind="status_changed"),
            device(1, institution=RIGA_2, levels=["grades 10-12"]),  # outside the bands
            device(1, institution=None),  # in the municipality's store
            dataclasses.replace(first, id=str(uuid.uuid4())),  # a replay
        ]
        await publish(settings.kafka_bootstrap_servers, settings.inventory_topic, *events)
        await eventually(lambda: _settled(engine, devices=7, lost=1))
        r = await live.post(ROUNDS, json=BODY, headers=bearer(tokens.programme))
        round_id = r.json()["id"]
        lines = await compute(live, tokens, round_id)
        stored = await inputs_of(live, tokens, round_id)
        assert stored[RIGA_1]["devices_held"] == {"1-3": 3, "4-6": 1}
        assert stored[RIGA_2]["devices_held"] == {}
        assert stored[RIGA_1]["pupils"]["1"] == 62
        # 181 pupils in 1-3: 61 devices less 3 held; 164 in 4-6: 55 less 1.
        assert lines[RIGA_1]["need"] == 58 + 54
        assert lines[RIGA_1]["devices_held"] == {"1-3": 3, "4-6": 1}

        # Years later: VIIS counts other pupils, the school holds another device.
        monkeypatch.setitem(standin.PUPIL_COUNTS[RIGA_1], 1, 500)
        await publish(
            settings.kafka_bootstrap_servers,
            settings.inventory_topic,
            device(1, institution=RIGA_2, levels=["grades 4-6"]),
        )
        await eventually(lambda: _settled(engine, devices=8, lost=1))
        assert await compute(live, tokens, round_id) == lines
        assert await inputs_of(live, tokens, round_id) == stored
        fresh = await compute(live, tokens, round_id, refresh=True)
        assert fresh[RIGA_1]["eligible_pupils"]["total"] == 181 - 62 + 500 + 164
        assert fresh[RIGA_2]["devices_held"]["4-6"] == 1


class TestBands:
    def test_school_levels(self) -> None:
        assert levels_mask(["grades 1-3"]) == 0b1110
        assert levels_mask(["1.\u20134.", "7"]) == 0b10011110
        assert levels_mask(["any"]) == 0

    def test_band_of_a_device(self) -> None:
        pupils = {4: 10, 5: 10}
        assert band_of(levels_mask(["grades 1-6"]), ["1-3", "4-6"], pupils) == "1-3"
        assert band_of(levels_mask(["grades 1-6"]), ["4-6"], pupils) == "4-6"
        assert band_of(0, ["1-3", "4-6"], pupils) == "4-6"  # where the school has pupils
        assert band_of(levels_mask(["grades 10-12"]), ["1-3"], pupils) is None


class TestSurveyNeed:
    async def test_the_survey_round_blends_into_need_and_weight(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        survey = await make_round(client, tokens.riga_h)
        answers = {
            CHILD: ANSWER,  # grade 2 at RIGA_1: a smartphone only, low income
            CHILD_B: {"device_access": "own", "internet": "yes", "criteria": []},  # RIGA_2
        }
        for learner, answer in answers.items():
            r = await client.put(
                answer_url(survey["id"], learner), json=answer, headers=tokens.guardian_h
            )
            assert r.status_code == 201, r.text
        body = {
            **BODY,
            "grade_bands": ["1-3"],
            "target_ratio": {"1-3": 3},
            "subtract_devices_held": False,
            "survey_round_id": survey["id"],
            "survey_weight": "0.5",
            "social_weights": {"low_income": "1"},
        }
        r = await client.post(ROUNDS, json=body, headers=bearer(tokens.programme))
        lines = await compute(client, tokens, r.json()["id"])
        stored = await inputs_of(client, tokens, r.json()["id"])
        assert stored[RIGA_1]["survey"] == {
            "responses": 1,
            "without_suitable_device": {"1-3": 1},
            "criteria": {"low_income": 1},
        }
        # RIGA_1: its one answer lacks a device, read as a sample of its 181 pupils in grades
        # 1-3: (61 + 181) / 2 = 121, doubled by the answer's low income; RIGA_2's one answer
        # has a device: 85 / 2.
        assert (lines[RIGA_1]["survey_need"], lines[RIGA_1]["need"]) == (181, 121)
        assert (lines[RIGA_1]["social_factor"], lines[RIGA_1]["weight"]) == (
            "2.000000",
            "242.000000",
        )
        assert (lines[RIGA_2]["need"], lines[RIGA_2]["weight"]) == (43, "42.500000")
        # 150 * 242 / 284.5 is past RIGA_1's need: it gets its need, RIGA_2 the rest.
        assert (lines[RIGA_1]["allocated"], lines[RIGA_2]["allocated"]) == (121, 29)
        assert lines[RIGA_1]["capped"] and not lines[RIGA_2]["capped"]
