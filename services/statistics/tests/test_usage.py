"""Device use: a known history with an injected clock gives exactly the expected utilisation,
loan days, idle and never-lent devices and stock that is not lendable, whatever the order and
however often the events arrive; the idle-devices lists, their tenancy and their bad input."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.events import CloudEvent
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem
from statistics_service.consumers import to_fact
from statistics_service.service.projection import apply_facts

from .conftest import API, RIGA, SCHOOL_1, SCHOOL_2, VALMIERA, Producers, Tokens

Sessions = async_sessionmaker[AsyncSession]
TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # 10:00 in Rīga


def day(offset: int) -> dt.date:
    """TODAY plus `offset` days."""
    return TODAY + dt.timedelta(days=offset)


class History:
    """Device events at chosen days (noon UTC, 14:00 in Rīga), devices named by letter."""

    def __init__(self) -> None:
        self.p = Producers()
        self.ids: dict[str, str] = {}
        self.events: list[CloudEvent] = []

    def on(self, offset: int, name: str, **fields: Any) -> None:
        """Device `name`'s event on day TODAY + `offset` (the first one registers it)."""
        moment = dt.datetime.combine(day(offset), dt.time(12), dt.UTC)
        self.p.time = moment - self.p.step
        device_id = self.ids.setdefault(name, str(uuid.uuid4()))
        self.events.append(self.p.device(device_id, **fields))


def known_history() -> History:
    """School 1 (recovery fund unless said):
    A lent from day -100 to -40, available: idle 40 days; B on loan since day -10;
    C never lent, delivered 60 days ago (exactly the threshold: not idle); D never lent,
    delivered 70 days ago; E reserved, lent from day -200 to -61: idle 61 days;
    F in stock, never made available (react_eu); G in stock after being available;
    H in repair since day -31, I since day -30; J lost; K lent from day -20, stolen on day -5.
    School 2: L never lent, delivered on 2024-09-01."""
    h = History()
    for name in "ABE":
        h.on(-400, name)
    h.on(-100, "A", status="on_loan")
    h.on(-40, "A", status="available")
    h.on(-10, "B", status="on_loan")
    h.on(-300, "C", delivery_date=day(-60).isoformat())
    h.on(-300, "D", delivery_date=day(-70).isoformat())
    h.on(-200, "E", status="on_loan")
    h.on(-61, "E", status="available")
    h.on(-50, "E", status="reserved")
    h.on(-400, "F", status="in_stock", funding_source="react_eu")
    h.on(-400, "G")
    h.on(-300, "G", status="in_stock")
    for name, since in (("H", -31), ("I", -30)):
        h.on(-400, name)
        h.on(since - 5, name, status="in_repair")  # a first repair, ended
        h.on(since - 3, name, status="available")
        h.on(since, name, status="in_repair")
        h.on(since + 2, name, condition="repairable")  # a new version, the same status
    h.on(-400, "J")
    h.on(-100, "J", status="lost")
    h.on(-400, "K")
    h.on(-20, "K", status="on_loan")
    h.on(-5, "K", status="stolen")
    h.on(-400, "L", institution=SCHOOL_2)
    return h


async def apply_in_order(sessions: Sessions, events: list[CloudEvent]) -> None:
    """All events in one batch, in the producers' order."""
    facts = [f for e in events if (f := to_fact(e)) is not None]
    async with sessions() as session, session.begin():
        await apply_facts(session, facts)


async def apply_shuffled_twice(sessions: Sessions, events: list[CloudEvent]) -> None:
    """Every event twice, shuffled, in small batches of random size."""
    rng = random.Random(18)
    shuffled = events + events
    rng.shuffle(shuffled)
    i = 0
    while i < len(shuffled):
        size = rng.randrange(1, 6)
        await apply_in_order(sessions, shuffled[i : i + size])
        i += size


@pytest.fixture(params=["in order", "shuffled, every event twice"])
async def history(request: pytest.FixtureRequest, sessions: Sessions, clock: TestClock) -> History:
    """The known history, applied in the producers' order or any other, with duplicates."""
    h = known_history()
    if request.param == "in order":
        await apply_in_order(sessions, h.events)
    else:
        await apply_shuffled_twice(sessions, h.events)
    clock.set(NOW)
    return h


async def get(client: httpx.AsyncClient, token: str, path: str, **params: Any) -> Any:
    """A 200 answer's body."""
    r = await client.get(f"{API}{path}", headers=bearer(token), params=params)
    assert r.status_code == 200, r.text
    return r.json()


SCHOOL_1_USAGE = {
    "lendable": 5,  # A, B, C, D, E
    "on_loan": 1,
    "utilisation": 0.2,
    "loan_days": {
        "30": {"days": 10, "per_device": 2.0},  # B 10
        "90": {"days": 89, "per_device": 17.8},  # A 50, B 10, E 29
        "365": {"days": 209, "per_device": 41.8},  # A 60, B 10, E 139
    },
    "idle_threshold_days": 60,
    "idle": 2,  # D (70 days), E (61); not A (40) nor C (exactly 60)
    "never_lent": 2,  # C, D
    "not_lendable": [
        {
            "funding_source": "react_eu",
            "never_available": 1,  # F
            "in_repair_long": 0,
            "lost_stolen_written_off": 0,
        },
        {
            "funding_source": "recovery_fund",
            "never_available": 0,  # G was available once
            "in_repair_long": 1,  # H (31 days), not I (30)
            "lost_stolen_written_off": 2,  # J, K
        },
    ],
}


class TestFiguresOfAKnownHistory:
    async def test_institution(
        self, client: httpx.AsyncClient, tokens: Tokens, history: History
    ) -> None:
        view = await get(client, tokens.school_1, f"/institutions/{SCHOOL_1}")
        assert view["figures"]["usage"] == SCHOOL_1_USAGE

    async def test_another_threshold(
        self, client: httpx.AsyncClient, tokens: Tokens, history: History
    ) -> None:
        view = await get(client, tokens.analyst, f"/institutions/{SCHOOL_1}", idle_days=30)
        usage = view["figures"]["usage"]
        assert (usage["idle_threshold_days"], usage["idle"]) == (30, 4)  # A, C, D, E
        view = await get(client, tokens.analyst, f"/institutions/{SCHOOL_1}", idle_days=61)
        assert view["figures"]["usage"]["idle"] == 1  # D; E's 61 days are not more than 61

    async def test_the_next_day(
        self, client: httpx.AsyncClient, tokens: Tokens, history: History, clock: TestClock
    ) -> None:
        clock.advance(days=1)
        usage = (await get(client, tokens.analyst, f"/institutions/{SCHOOL_1}"))["figures"]["usage"]
        assert usage["idle"] == 3  # C is now 61 days past its delivery
        assert usage["loan_days"]["30"]["days"] == 11  # B's loan goes on
        assert usage["not_lendable"][1]["in_repair_long"] == 2  # I too

    async def test_municipality_and_its_schools(
        self, client: httpx.AsyncClient, tokens: Tokens, history: History
    ) -> None:
        view = await get(client, tokens.riga, f"/municipalities/{RIGA}")
        usage = view["figures"]["usage"]
        assert (usage["lendable"], usage["idle"], usage["never_lent"]) == (6, 3, 3)  # and L
        assert usage["utilisation"] == round(1 / 6, 4)
        assert usage["loan_days"]["365"] == {"days": 209, "per_device": round(209 / 6, 2)}
        children = {c["code"]: c for c in view["children"]}
        school_1 = {k: children[SCHOOL_1][k] for k in ("utilisation", "idle", "never_lent")}
        assert school_1 == {"utilisation": 0.2, "idle": 2, "never_lent": 2}
        school_2 = {k: children[SCHOOL_2][k] for k in ("utilisation", "idle", "never_lent")}
        assert school_2 == {"utilisation": 0.0, "idle": 1, "never_lent": 1}
        assert children[SCHOOL_1]["tickets_open"] == children[SCHOOL_1]["sla_breaches"] == 0

    async def test_national(
        self, client: httpx.AsyncClient, tokens: Tokens, history: History
    ) -> None:
        view = await get(client, tokens.analyst, "/national")
        [riga] = view["children"]
        assert (riga["code"], riga["idle"], riga["never_lent"]) == (RIGA, 3, 3)
        assert view["figures"]["usage"]["lendable"] == 6


def listed(page: dict[str, Any], names: dict[str, str]) -> list[tuple[str, int]]:
    """(device letter, idle days) of a page's items."""
    letters = {v: k for k, v in names.items()}
    return [(letters[i["device_id"]], i["idle_days"]) for i in page["items"]]


class TestIdleDeviceLists:
    async def test_most_idle_first_and_the_boundary(
        self, client: httpx.AsyncClient, tokens: Tokens, history: History
    ) -> None:
        page = await get(client, tokens.school_1, f"/institutions/{SCHOOL_1}/idle-devices")
        assert listed(page, history.ids) == [("D", 70), ("E", 61)]
        assert page["next_cursor"] is None
        d = page["items"][0]
        assert d == {
            "device_id": history.ids["D"],
            "municipality_code": RIGA,
            "institution_number": SCHOOL_1,
            "category": "laptop",
            "os": "windows",
            "funding_source": "recovery_fund",
            "status": "available",
            "delivered_on": day(-70).isoformat(),
            "age_days": 70,
            "last_loan_ended_on": None,
            "idle_days": 70,
        }
        assert page["items"][1]["last_loan_ended_on"] == day(-61).isoformat()
        never = await get(
            client, tokens.school_1, f"/institutions/{SCHOOL_1}/idle-devices", kind="never_lent"
        )
        assert listed(never, history.ids) == [("D", 70), ("C", 60)]

    async def test_pages_of_a_municipality(
        self, client: httpx.AsyncClient, tokens: Tokens, history: History
    ) -> None:
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 1, "idle_days": 30}
            if cursor:
                params["cursor"] = cursor
            page = await get(client, tokens.riga, f"/municipalities/{RIGA}/idle-devices", **params)
            seen += listed(page, history.ids)
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen[0][0] == "L" and seen[1:] == [("D", 70), ("E", 61), ("C", 60), ("A", 40)]

    async def test_national(
        self, client: httpx.AsyncClient, tokens: Tokens, history: History
    ) -> None:
        page = await get(client, tokens.analyst, "/national/idle-devices", kind="never_lent")
        assert [name for name, _ in listed(page, history.ids)] == ["L", "D", "C"]


class TestTenancyAndBadInput:
    @pytest.mark.parametrize(
        ("token", "path", "status", "type_"),
        [
            ("riga", f"/municipalities/{VALMIERA}/idle-devices", 403, "tenant-forbidden"),
            ("riga", "/national/idle-devices", 403, "tenant-forbidden"),
            ("school_1", f"/institutions/{SCHOOL_2}/idle-devices", 403, "tenant-forbidden"),
            ("school_1", f"/municipalities/{RIGA}/idle-devices", 403, "tenant-forbidden"),
            ("valmiera", f"/institutions/{SCHOOL_1}/idle-devices", 403, "tenant-forbidden"),
            ("analyst", "/institutions/9999999999/idle-devices", 404, "institution-not-found"),
            ("analyst", "/municipalities/0999999/idle-devices", 404, "municipality-not-found"),
        ],
    )
    async def test_lists_follow_the_views_tenancy(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        sessions: Sessions,
        token: str,
        path: str,
        status: int,
        type_: str,
    ) -> None:
        await apply_in_order(sessions, known_history().events)
        r = await client.get(f"{API}{path}", headers=bearer(getattr(tokens, token)))
        problem(r, status, type_)

    async def test_guardians_see_no_list(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        r = await client.get(f"{API}/national/idle-devices", headers=bearer(tokens.guardian))
        assert r.status_code == 403

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/national/idle-devices", {"idle_days": 0}),
            ("/national/idle-devices", {"idle_days": 3651}),
            ("/national/idle-devices", {"idle_days": "sixty"}),
            ("/national/idle-devices", {"kind": "lent"}),
            ("/national/idle-devices", {"limit": 0}),
            ("/national/idle-devices", {"limit": 201}),
            ("/national/idle-devices", {"cursor": "bm90LWEtY3Vyc29y"}),
            ("/national/idle-devices", {"cursor": "not a cursor"}),
            ("/national", {"idle_days": 0}),
            (f"/municipalities/{RIGA}", {"idle_days": -1}),
            (f"/institutions/{SCHOOL_1}", {"idle_days": 4000}),
        ],
    )
    async def test_bad_query_values(
        self, client: httpx.AsyncClient, tokens: Tokens, path: str, params: dict[str, Any]
    ) -> None:
        r = await client.get(f"{API}{path}", headers=bearer(tokens.analyst), params=params)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


class TestFeedAndHistory:
    async def test_snapshots_carry_the_usage_figures(
        self, client: httpx.AsyncClient, tokens: Tokens, sessions: Sessions, clock: TestClock
    ) -> None:
        await apply_in_order(sessions, known_history().events)
        clock.set(NOW)
        r = await client.post(f"{API}/ops/snapshots", headers=bearer(tokens.platform))
        assert r.status_code == 200, r.text
        feed = await get(client, tokens.viis, "/feeds/viis")
        assert feed["schema_version"] == "1.2.0"
        records = {
            i["record"]["institution_registration_number"]: i["record"] for i in feed["items"]
        }
        assert records[SCHOOL_1]["figures"]["usage"] == SCHOOL_1_USAGE
        series = await get(client, tokens.riga, f"/institutions/{SCHOOL_1}/timeseries")
        [point] = series["points"]
        assert {k: point[k] for k in point if k.startswith(("devices_", "loan_days", "util"))} == {
            "devices_total": 11,
            "devices_in_service": 9,
            "devices_lendable": 5,
            "devices_on_loan": 1,
            "utilisation": 0.2,
            "devices_idle": 2,
            "devices_never_lent": 2,
            "loan_days_30": 10,
            "loan_days_90": 89,
            "loan_days_365": 209,
        }
        r = await client.get(
            f"{API}/export.csv", headers=bearer(tokens.riga), params={"institution": SCHOOL_1}
        )
        header, row = r.text.splitlines()[:2]
        cells = dict(zip(header.split(","), row.split(","), strict=True))
        assert (cells["devices_idle"], cells["loan_days_365"]) == ("2", "209")
