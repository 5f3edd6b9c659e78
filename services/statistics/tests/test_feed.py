"""Daily snapshots and the VIIS feed: stable cursors across pages and new snapshots, ETags, the
published schema, the snapshot events, small-cell suppression, time series and the export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from functools import partial
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kit.testing.clock import TestClock
from shared_kit.testing.cursors import assert_invalid_cursor, raw_cursor
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.kafka import eventually
from statistics_service.config import StatisticsSettings
from statistics_service.events import INSTITUTION_SNAPSHOT
from statistics_service.service.feed import decode_cursor, encode_cursor
from statistics_service.service.figures import suppressed
from statistics_service.service.snapshots import take_daily_snapshots

from .conftest import (
    API,
    CONTRACTS,
    RIGA,
    SCHOOL_1,
    SCHOOL_2,
    VALMIERA_SCHOOL,
    Producers,
    Tokens,
    sql,
)
from .test_views import apply, refresh_pupils

Sessions = async_sessionmaker[AsyncSession]
FEED = f"{API}/feeds/viis"


@pytest.fixture
async def world(client: httpx.AsyncClient, tokens: Tokens, sessions: Sessions) -> Producers:
    """Pupils from VIIS; devices at both demo schools and a Valmiera school; loans with social
    criteria: 3 low-income loans at school 1, 5 at school 2."""
    await refresh_pupils(client, tokens)
    p = Producers()
    events = [p.device() for _ in range(20)]
    events += [p.device(institution=SCHOOL_2) for _ in range(30)]
    events += [p.device(municipality_code="0940200", institution=VALMIERA_SCHOOL)]
    for school, loans in ((SCHOOL_1, 3), (SCHOOL_2, 5)):
        for _ in range(loans):
            reservation, contract = str(uuid.uuid4()), str(uuid.uuid4())
            events.append(
                p.reservation(
                    reservation,
                    "approved",
                    institution=school,
                    priority=40,
                    criteria=["low_income"],
                )
            )
            events.append(p.contract(contract, "activated", reservation, institution=school))
    await apply(sessions, events)
    return p


async def snapshot(client: httpx.AsyncClient, tokens: Tokens) -> int:
    """Take today's snapshots through the operator endpoint."""
    r = await client.post(f"{API}/ops/snapshots", headers=bearer(tokens.platform))
    assert r.status_code == 200, r.text
    return int(r.json()["result"]["snapshots"])


async def page(
    client: httpx.AsyncClient, token: str, after: str | None = None, limit: int = 100
) -> httpx.Response:
    """One feed page."""
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    return await client.get(FEED, params=params, headers=bearer(token))


class TestSnapshots:
    async def test_one_record_per_institution_per_day_until_something_changes(
        self, client: httpx.AsyncClient, tokens: Tokens, world: Producers, clock: TestClock
    ) -> None:
        assert await snapshot(client, tokens) == 3
        assert await snapshot(client, tokens) == 0  # the same Rīga day, nothing changed
        clock.advance(hours=15)  # 00:00 in Rīga: a new day
        assert await snapshot(client, tokens) == 3 + 3  # yesterday's final, today's provisional

    async def test_each_snapshot_is_also_an_event(
        self, client: httpx.AsyncClient, tokens: Tokens, world: Producers, engine: AsyncEngine
    ) -> None:
        await snapshot(client, tokens)
        rows = await sql(
            engine,
            "SELECT key, payload FROM outbox_message WHERE event_type = :t ORDER BY seq",
            t=INSTITUTION_SNAPSHOT,
        )
        assert [r.key for r in rows] == sorted([SCHOOL_1, SCHOOL_2, VALMIERA_SCHOOL])
        schema = json.loads((CONTRACTS / "events" / f"{INSTITUTION_SNAPSHOT}.json").read_text())
        feed = (await page(client, tokens.viis)).json()
        for row, item in zip(rows, feed["items"], strict=True):
            data = json.loads(row.payload)
            Draft202012Validator(schema).validate(data)
            assert data == item["record"]

    async def test_concurrent_writers_commit_in_feed_order(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        world: Producers,
        sessions: Sessions,
        settings: StatisticsSettings,
        clock: TestClock,
        engine: AsyncEngine,
    ) -> None:
        first = sessions()
        await first.begin()
        await take_daily_snapshots(first, settings=settings, now=clock())  # not committed yet

        async def second() -> int:
            async with sessions() as session, session.begin():
                return await take_daily_snapshots(
                    session, settings=settings, now=clock.now.replace(day=2)
                )

        waiting = asyncio.create_task(second())
        await eventually(partial(waiting_for_a_lock, engine))
        assert not waiting.done()  # it waits for the first writer's lock
        assert (await page(client, tokens.viis)).json()["items"] == []
        await first.commit()
        await first.close()
        assert await waiting == 3 + 3  # the first day made final, the second day's provisional
        items = (await page(client, tokens.viis)).json()["items"]
        dates = [i["record"]["snapshot_date"] for i in items]
        assert dates == ["2026-09-01"] * 3 + ["2026-09-02"] * 3


async def waiting_for_a_lock(engine: AsyncEngine) -> bool:
    """Whether a transaction on this test's database waits for an advisory lock."""
    rows = await sql(
        engine,
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    return bool(rows[0].n)


def by_school(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """A feed page's records by (day, institution)."""
    return {
        (r["snapshot_date"], r["institution_registration_number"]): r
        for r in (i["record"] for i in body["items"])
    }


async def etag_answer(client: httpx.AsyncClient, tokens: Tokens, etag: str) -> int:
    """The status of a feed read from the beginning with `If-None-Match: etag`."""
    headers = {**bearer(tokens.viis), "If-None-Match": etag}
    return (await client.get(FEED, params={"limit": 100}, headers=headers)).status_code


class TestTodaysSnapshotIsProvisional:
    async def test_a_device_added_after_the_first_read_shows_up_with_a_new_etag(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        world: Producers,
        clock: TestClock,
        sessions: Sessions,
    ) -> None:
        await snapshot(client, tokens)
        first = await page(client, tokens.viis)
        today = by_school(first.json())[("2026-09-01", SCHOOL_1)]
        assert today["provisional"] and today["figures"]["devices"]["total"] == 20

        clock.advance(hours=1)
        await apply(sessions, [world.device()])
        assert await snapshot(client, tokens) == 1  # only school 1 changed
        assert await etag_answer(client, tokens, first.headers["etag"]) == 200
        news = (await page(client, tokens.viis, first.json()["next"])).json()["items"]
        [replaced] = [i["record"] for i in news]  # after the cursor: the new version only
        assert replaced["institution_registration_number"] == SCHOOL_1
        assert replaced["provisional"] and replaced["snapshot_date"] == "2026-09-01"
        assert replaced["figures"]["devices"]["total"] == 21
        assert replaced["sequence"] > today["sequence"]
        everything = (await page(client, tokens.viis)).json()
        assert by_school(everything)[("2026-09-01", SCHOOL_1)] == replaced
        assert len(everything["items"]) == 3  # the old version left the feed

        second = await page(client, tokens.viis)
        assert await snapshot(client, tokens) == 0  # nothing new: the same page, the same ETag
        assert await etag_answer(client, tokens, second.headers["etag"]) == 304

    async def test_after_the_day_closes_its_snapshot_is_final_and_immutable(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        world: Producers,
        clock: TestClock,
        sessions: Sessions,
    ) -> None:
        await snapshot(client, tokens)
        clock.advance(hours=14, minutes=55)  # 23:55 in Rīga
        await apply(sessions, [world.device()])
        await snapshot(client, tokens)
        clock.advance(minutes=10)  # 00:05: 1 September has closed
        await apply(sessions, [world.device()])
        assert await snapshot(client, tokens) == 3 + 3
        closed = by_school((await page(client, tokens.viis)).json())
        finals = {k: r for k, r in closed.items() if k[0] == "2026-09-01"}
        assert len(finals) == 3 and not any(r["provisional"] for r in finals.values())
        # The day's last figures: the device added at 23:55 counts, the one at 00:05 not.
        assert finals[("2026-09-01", SCHOOL_1)]["figures"]["devices"]["total"] == 21
        assert closed[("2026-09-02", SCHOOL_1)]["figures"]["devices"]["total"] == 22

        for _ in range(3):  # later changes and days leave the final records alone
            await apply(sessions, [world.device(), world.device(institution=SCHOOL_2)])
            clock.advance(hours=9)
            await snapshot(client, tokens)
        later = by_school((await page(client, tokens.viis, limit=1000)).json())
        assert {k: r for k, r in later.items() if k[0] == "2026-09-01"} == finals
        assert later[("2026-09-02", SCHOOL_1)]["provisional"] is False
        assert later[("2026-09-03", SCHOOL_1)]["provisional"] is True


class TestCursors:
    async def test_no_record_skipped_or_repeated_across_pages_and_new_snapshots(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        world: Producers,
        clock: TestClock,
        sessions: Sessions,
    ) -> None:
        seen: list[dict[str, Any]] = []
        cursor = None
        for day in range(4):
            await snapshot(client, tokens)
            r = await page(client, tokens.viis, cursor, limit=2)  # one page, then a change
            body = r.json()
            seen += [i["record"] for i in body["items"]]
            cursor = body["next"]
            await apply(sessions, [world.device()])  # school 1's provisional record changes
            await snapshot(client, tokens)
            clock.advance(days=1)
            if day == 3:
                break
        while True:
            body = (await page(client, tokens.viis, cursor, limit=2)).json()
            seen += [i["record"] for i in body["items"]]
            if not body["has_more"]:
                cursor = body["next"]
                break
            cursor = body["next"]
        everything = [
            i["record"] for i in (await page(client, tokens.viis, limit=1000)).json()["items"]
        ]
        # Three closed days' final records and today's provisional ones.
        assert [r["provisional"] for r in everything] == [False] * 9 + [True] * 3
        sequences = [r["sequence"] for r in seen]
        assert sequences == sorted(set(sequences))  # nothing twice, in feed order
        assert [r for r in seen if r in everything] == everything  # nothing missed
        # What the client saw besides: provisional versions, each replaced by a later one.
        replaced = [r for r in seen if r not in everything]
        assert replaced and all(r["provisional"] for r in replaced)
        quiet = (await page(client, tokens.viis, cursor)).json()
        assert quiet == {"schema_version": "1.2.0", "items": [], "next": cursor, "has_more": False}

    async def test_item_cursors_resume_after_that_item(
        self, client: httpx.AsyncClient, tokens: Tokens, world: Producers
    ) -> None:
        await snapshot(client, tokens)
        items = (await page(client, tokens.viis)).json()["items"]
        resumed = (await page(client, tokens.viis, items[0]["cursor"])).json()["items"]
        assert resumed == items[1:]

    async def test_etag_and_not_modified(
        self, client: httpx.AsyncClient, tokens: Tokens, world: Producers, clock: TestClock
    ) -> None:
        await snapshot(client, tokens)
        first = await page(client, tokens.viis)
        etag = first.headers["etag"]
        again = await client.get(
            FEED, params={"limit": 100}, headers={**bearer(tokens.viis), "If-None-Match": etag}
        )
        assert again.status_code == 304 and again.headers["etag"] == etag
        clock.advance(days=1)
        await snapshot(client, tokens)
        changed = await client.get(
            FEED, params={"limit": 100}, headers={**bearer(tokens.viis), "If-None-Match": etag}
        )
        assert changed.status_code == 200 and changed.headers["etag"] != etag

    @pytest.mark.parametrize(
        ("params", "type_"),
        [
            ({"after": "not-a-cursor"}, "invalid-cursor"),
            ({"after": encode_cursor(1)[:-2] + "!!"}, "validation"),
            ({"after": "dmlpczE6LTE"}, "invalid-cursor"),  # "viis1:-1"
            ({"limit": 1001}, "validation"),
            ({"limit": 0}, "validation"),
        ],
    )
    async def test_bad_cursor_or_limit(
        self, client: httpx.AsyncClient, tokens: Tokens, params: dict[str, Any], type_: str
    ) -> None:
        r = await client.get(FEED, params=params, headers=bearer(tokens.viis))
        problem(r, 422, type_)

    async def test_a_forged_cursor_is_a_problem_naming_after(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        positions = ["١٢", "\uff11\uff12", "+5", " 5", "5_0", "5.0", "99999999999999999999", ""]
        forged = [raw_cursor(f"viis1:{p}") for p in positions]
        forged += [raw_cursor(b"viis1:\xff"), encode_cursor(12) + "A", encode_cursor(1)[:-1] + "R"]
        for cursor in forged:
            r = await client.get(FEED, params={"after": cursor}, headers=bearer(tokens.viis))
            assert_invalid_cursor(r, "after", case=cursor)

    def test_cursor_round_trip(self) -> None:
        assert decode_cursor(encode_cursor(12345)) == 12345
        assert decode_cursor(None) == 0


class TestFeedAccess:
    async def test_who_reads_the_feed(
        self, client: httpx.AsyncClient, tokens: Tokens, world: Producers
    ) -> None:
        await snapshot(client, tokens)
        for who in ("viis", "analyst", "riga_client"):
            r = await page(client, getattr(tokens, who))
            assert r.status_code == 200, (who, r.text)
        for who in ("riga", "unscoped_client", "guardian"):  # no feed role or scope
            problem(await page(client, getattr(tokens, who)), 403, "forbidden")
        riga = (await page(client, tokens.riga_client)).json()["items"]
        assert {i["record"]["municipality_code"] for i in riga} == {RIGA}

    async def test_the_published_schema_describes_the_records(
        self, client: httpx.AsyncClient, tokens: Tokens, world: Producers
    ) -> None:
        await snapshot(client, tokens)
        r = await client.get(f"{FEED}/schema", headers=bearer(tokens.viis))
        assert r.status_code == 200
        body = r.json()
        assert body["version"] == "1.2.0" == body["schema"]["version"]
        Draft202012Validator.check_schema(body["schema"])
        for item in (await page(client, tokens.viis)).json()["items"]:
            Draft202012Validator(body["schema"]).validate(item["record"])


class TestSuppression:
    @pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, None), (4, None), (5, 5), (120, 120)])
    def test_rule(self, count: int, shown: int | None) -> None:
        cell = suppressed(count, 5)
        assert (cell.count, cell.suppressed) == (shown, shown is None)

    async def test_small_cells_in_the_feed_views_and_export(
        self, client: httpx.AsyncClient, tokens: Tokens, world: Producers
    ) -> None:
        await snapshot(client, tokens)
        records = {
            i["record"]["institution_registration_number"]: i["record"]
            for i in (await page(client, tokens.viis)).json()["items"]
        }
        school_1 = records[SCHOOL_1]["figures"]["loans"]["by_social_criterion"]
        school_2 = records[SCHOOL_2]["figures"]["loans"]["by_social_criterion"]
        assert school_1["low_income"] == {"count": None, "suppressed": True}  # 3 loans
        assert school_2["low_income"] == {"count": 5, "suppressed": False}
        assert school_1["single_parent"] == {"count": 0, "suppressed": False}
        assert "3" not in json.dumps(school_1)  # nowhere a hint of the small count
        view = (
            await client.get(f"{API}/municipalities/{RIGA}", headers=bearer(tokens.analyst))
        ).json()
        assert view["figures"]["loans"]["by_social_criterion"]["low_income"]["count"] == 8
        export = await client.get(f"{API}/export.csv", headers=bearer(tokens.analyst))
        assert export.headers["x-content-type-options"] == "nosniff"
        assert export.headers["content-disposition"].startswith('attachment; filename="statistics-')
        rows = {
            r["institution_registration_number"]: r
            for r in csv.DictReader(io.StringIO(export.text))
        }
        assert rows[SCHOOL_1]["active_loans_low_income"] == ""
        assert rows[SCHOOL_2]["active_loans_low_income"] == "5"


class TestHistory:
    async def test_time_series_of_daily_snapshots(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        world: Producers,
        clock: TestClock,
        sessions: Sessions,
    ) -> None:
        await snapshot(client, tokens)
        clock.advance(days=1)
        await apply(sessions, [world.device() for _ in range(7)])
        await snapshot(client, tokens)
        r = await client.get(
            f"{API}/national/timeseries",
            params={"from": "2026-09-01", "to": "2026-09-03"},
            headers=bearer(tokens.analyst),
        )
        assert r.status_code == 200, r.text
        points = r.json()["points"]
        assert [p["date"] for p in points] == ["2026-09-01", "2026-09-02"]
        assert [p["provisional"] for p in points] == [False, True]
        assert [p["devices_total"] for p in points] == [51, 58]
        assert [p["institutions"] for p in points] == [3, 3]
        first_band = next(b for b in points[1]["coverage"] if b["band"] == "1-3")
        assert first_band["devices"] == 27 + 30 and first_band["pupils"] == 181 + 253
        school = await client.get(
            f"{API}/institutions/{SCHOOL_1}/timeseries", headers=bearer(tokens.school_1)
        )
        assert [p["devices_total"] for p in school.json()["points"]] == [20, 27]
        riga = await client.get(
            f"{API}/municipalities/{RIGA}/timeseries", headers=bearer(tokens.riga)
        )
        assert [p["institutions"] for p in riga.json()["points"]] == [2, 2]

    @pytest.mark.parametrize(
        "params",
        [{"from": "2026-09-05", "to": "2026-09-01"}, {"from": "2020-01-01", "to": "2026-09-01"}],
    )
    async def test_bad_ranges(
        self, client: httpx.AsyncClient, tokens: Tokens, params: dict[str, str]
    ) -> None:
        r = await client.get(
            f"{API}/national/timeseries", params=params, headers=bearer(tokens.analyst)
        )
        problem(r, 422, "invalid-date-range")

    async def test_csv_export(
        self, client: httpx.AsyncClient, tokens: Tokens, world: Producers
    ) -> None:
        await snapshot(client, tokens)
        r = await client.get(
            f"{API}/export.csv", params={"municipality": RIGA}, headers=bearer(tokens.riga)
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [row["institution_registration_number"] for row in rows] == [SCHOOL_1, SCHOOL_2]
        assert rows[0]["devices_total"] == "20" and rows[0]["devices_needed_1-3"] == "41"
        assert rows[0]["provisional"] == "true"  # today's
        assert rows[0]["institution_name"] == "Rīgas Demo 1. pamatskola"
        national = await client.get(f"{API}/export.csv", headers=bearer(tokens.riga))
        problem(national, 403, "tenant-forbidden")
