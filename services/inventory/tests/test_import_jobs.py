"""Background imports: queued with 202, run a chunk at a time by the worker, resumed after a
crash without importing anything twice; the list of earlier imports; the rejected rows' CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory_service import importer
from inventory_service.config import InventorySettings
from inventory_service.models import Device, DeviceHistory, DeviceImport
from inventory_service.service import import_jobs
from inventory_service.workers import ImportWorker
from shared_kit.clock import system_clock
from shared_kit.db import create_engine, create_session_factory
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing.http import bearer, problem

from .conftest import RIGA, SCHOOL_A, VALMIERA, Tokens
from .test_devices import count
from .test_import import IMPORTS, csv_of, good_rows, upload

BAD_ITEM = "SN-BAD,RIX-BAD,NO-SUCH-ITEM,,react_eu,,,"
BAD_DATE = f"SN-DATE,RIX-DATE,CB-11-GR1-3,{SCHOOL_A},react_eu,2022-13-40,,"


def delivery(prefix: str) -> bytes:
    """25 good rows with two bad ones among them (lines 5 and 20), serials under a prefix."""
    rows = [
        r.replace("SN-", f"SN-{prefix}").replace("RIX-", f"RIX-{prefix}") for r in good_rows(25)
    ]
    rows.insert(3, BAD_ITEM.replace("SN-", f"SN-{prefix}"))
    rows.insert(18, BAD_DATE.replace("SN-", f"SN-{prefix}"))
    return csv_of(rows)


@pytest.fixture
async def sessions(settings: InventorySettings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test's database, as the worker gets them from the app."""
    engine = create_engine(settings.database_url)
    yield create_session_factory(engine, outbox_topic=settings.events_topic)
    await engine.dispose()


def worker(
    sessions: async_sessionmaker[AsyncSession],
    settings: InventorySettings,
    at: dt.datetime | None = None,
    chunk_rows: int = 10,
) -> ImportWorker:
    """An imports worker with small chunks (and a clock standing at `at`)."""
    small = settings.model_copy(update={"import_chunk_rows": chunk_rows})
    return ImportWorker(sessions, small, (lambda: at) if at else system_clock)


async def queue(
    client: httpx.AsyncClient, token: str, content: bytes, **form: Any
) -> dict[str, Any]:
    """Queue a background import; its 202 answer."""
    r = await upload(client, token, content, mode="valid_rows", background=True, **form)
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"{IMPORTS}/{r.json()['id']}"
    return dict(r.json())


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between two imports of the same rows (ids, serials)."""
    return {
        "counts": [
            report[k] for k in ("total_rows", "created_rows", "unchanged_rows", "failed_rows")
        ],
        "rows": [(r["line"], r["outcome"], r["errors"]) for r in report["rows"]],
    }


class TestBackgroundImport:
    async def test_completes_with_the_same_report_as_a_synchronous_import(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        at_once = await upload(client, tokens.riga, delivery("A"), mode="valid_rows")
        assert at_once.status_code == 200, at_once.text
        queued = await queue(client, tokens.riga, delivery("B"))
        assert (queued["state"], queued["processed_rows"], queued["total_rows"]) == (
            "queued",
            0,
            27,
        )
        assert await worker(sessions, settings).run_once()
        done = (await client.get(f"{IMPORTS}/{queued['id']}", headers=bearer(tokens.riga))).json()
        stored = (
            await client.get(f"{IMPORTS}/{at_once.json()['id']}", headers=bearer(tokens.riga))
        ).json()
        assert (done["state"], done["processed_rows"]) == ("done", 27)
        assert comparable(done) == comparable(stored)
        assert [r["line"] for r in done["rows"]] == [5, 20]
        assert done["filename"] == "delivery.csv" and done["finished_at"]
        # 25 devices each way, each with its history and its event
        for table in (Device, DeviceHistory, OutboxMessage):
            assert await count(settings, table) == 50
        assert not await worker(sessions, settings).run_once()  # nothing left to do

    async def test_progress_is_visible_and_a_crash_resumes_without_duplicates(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        queued = await queue(client, tokens.riga, delivery("C"))
        now = dt.datetime.now(dt.UTC)
        first = worker(sessions, settings, at=now)
        async with sessions() as session, session.begin():
            claimed = await import_jobs.claim(session=session, now=now, lease=first.lease)
        assert claimed is not None
        job, content = claimed
        rows = importer.read_rows(content, settings.import_max_rows)
        assert await first.step(job, rows)  # one chunk of 10 rows, then the worker "dies"
        running = (
            await client.get(f"{IMPORTS}/{queued['id']}", headers=bearer(tokens.riga))
        ).json()
        assert (running["state"], running["processed_rows"], running["total_rows"]) == (
            "running",
            10,
            27,
        )
        assert running["created_rows"] == 9 and [r["line"] for r in running["rows"]] == [5]
        # While its lease lasts nobody else takes the job …
        assert not await worker(sessions, settings, at=now).run_once()
        # … and after it another worker resumes where the last commit left it.
        later = now + first.lease + dt.timedelta(seconds=1)
        assert await worker(sessions, settings, at=later).run_once()
        # The first worker, back from the dead, has lost the job and writes nothing.
        assert not await first.step(job, rows)
        done = (await client.get(f"{IMPORTS}/{queued['id']}", headers=bearer(tokens.riga))).json()
        assert (done["state"], done["processed_rows"], done["created_rows"]) == ("done", 27, 25)
        assert [r["line"] for r in done["rows"]] == [5, 20]
        for table in (Device, DeviceHistory, OutboxMessage):
            assert await count(settings, table) == 25

    async def test_a_stopped_worker_hands_the_job_back(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        queued = await queue(client, tokens.riga, delivery("D"))
        stopping = worker(sessions, settings)
        await stopping.stop()
        assert await stopping.run_once()  # one chunk, then the job is handed back
        r = await client.get(f"{IMPORTS}/{queued['id']}", headers=bearer(tokens.riga))
        assert (r.json()["state"], r.json()["processed_rows"]) == ("running", 10)
        assert await worker(sessions, settings).run_once()  # taken at once, no lease to wait
        r = await client.get(f"{IMPORTS}/{queued['id']}", headers=bearer(tokens.riga))
        assert (r.json()["state"], r.json()["created_rows"]) == ("done", 25)
        assert await count(settings, Device) == 25

    async def test_an_all_or_nothing_file_with_a_bad_row_fails_whole(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        r = await upload(client, tokens.riga, delivery("E"), background=True)
        assert r.status_code == 202, r.text
        assert await worker(sessions, settings).run_once()
        failed = (
            await client.get(f"{IMPORTS}/{r.json()['id']}", headers=bearer(tokens.riga))
        ).json()
        assert (failed["state"], failed["created_rows"], failed["failed_rows"]) == ("failed", 0, 2)
        assert await count(settings, Device) == 0
        assert await count(settings, OutboxMessage) == 0

    async def test_a_rerun_of_the_same_file_reports_every_row_unchanged(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        await queue(client, tokens.riga, delivery("F"))
        again = await queue(client, tokens.riga, delivery("F"))
        assert await worker(sessions, settings).run_once()
        assert await worker(sessions, settings).run_once()
        r = await client.get(f"{IMPORTS}/{again['id']}", headers=bearer(tokens.riga))
        assert (r.json()["created_rows"], r.json()["unchanged_rows"]) == (0, 25)
        assert await count(settings, Device) == 25


class TestRejectedRows:
    async def test_rejected_rows_come_back_in_the_files_columns_with_an_error(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        sessions: async_sessionmaker[AsyncSession],
        settings: InventorySettings,
    ) -> None:
        queued = await queue(client, tokens.riga, delivery("G"))
        assert await worker(sessions, settings).run_once()
        r = await client.get(f"{IMPORTS}/{queued['id']}/rejected.csv", headers=bearer(tokens.riga))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert table[0] == [*importer.header_of(delivery("G")), "error"]
        assert table[1][:3] == ["SN-GBAD", "RIX-BAD", "NO-SUCH-ITEM"]
        assert "catalogue_item_code: no catalogue item NO-SUCH-ITEM" in table[1][-1]
        assert table[2][0] == "SN-GDATE" and table[2][-1].startswith("delivery_date:")
        assert len(table) == 3
        # fixed and sent again, the rows import as any others
        fixed = [[*row[:2], "CB-11-GR1-3", *row[3:5], "2022-05-20", *row[6:8]] for row in table[1:]]
        body = io.StringIO()
        csv.writer(body).writerows([table[0][:-1], *fixed])
        again = await upload(client, tokens.riga, body.getvalue().encode(), mode="valid_rows")
        assert again.json()["created_rows"] == 2, again.text

    async def test_a_synchronous_imports_rejected_rows_too(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        r = await upload(client, tokens.riga, delivery("H"), mode="valid_rows")
        rejected = await client.get(
            f"{IMPORTS}/{r.json()['id']}/rejected.csv", headers=bearer(tokens.riga)
        )
        rows = list(csv.reader(io.StringIO(rejected.content.decode("utf-8-sig"))))
        assert [row[0] for row in rows[1:]] == ["SN-HBAD", "SN-HDATE"]


class TestList:
    async def test_earlier_imports_newest_first_a_page_at_a_time(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        first = await upload(client, tokens.riga, delivery("I"), mode="valid_rows")
        second = await queue(client, tokens.riga, delivery("J"))
        await upload(client, tokens.riga, delivery("K"), mode="valid_rows", dry_run=True)
        page = await client.get(
            IMPORTS, params={"municipality": RIGA, "limit": 1}, headers=bearer(tokens.riga)
        )
        assert page.status_code == 200, page.text
        [newest] = page.json()["items"]
        assert newest["id"] == second["id"] and newest["state"] == "queued"
        assert newest["actor"].startswith("person:") and newest["filename"] == "delivery.csv"
        rest = await client.get(
            IMPORTS,
            params={"limit": 5, "cursor": page.json()["next_cursor"]},
            headers=bearer(tokens.riga),
        )
        [older] = rest.json()["items"]  # the dry run left no record
        assert older["id"] == first.json()["id"]
        assert (older["state"], older["created_rows"], older["failed_rows"]) == ("done", 25, 2)
        assert rest.json()["next_cursor"] is None
        platform = await client.get(IMPORTS, headers=bearer(tokens.platform))
        assert len(platform.json()["items"]) == 2

    async def test_another_municipality_sees_none_of_them(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        sessions: async_sessionmaker[AsyncSession],
        settings: InventorySettings,
    ) -> None:
        queued = await queue(client, tokens.riga, delivery("L"))
        assert await worker(sessions, settings).run_once()
        valmiera = bearer(tokens.valmiera)
        assert (await client.get(IMPORTS, headers=valmiera)).json()["items"] == []
        theirs = await client.get(IMPORTS, params={"municipality": VALMIERA}, headers=valmiera)
        assert theirs.json()["items"] == []
        problem(
            await client.get(IMPORTS, params={"municipality": RIGA}, headers=valmiera),
            403,
            "tenant-forbidden",
        )
        problem(
            await client.get(f"{IMPORTS}/{queued['id']}", headers=valmiera), 403, "tenant-forbidden"
        )
        problem(
            await client.get(f"{IMPORTS}/{queued['id']}/rejected.csv", headers=valmiera),
            403,
            "tenant-forbidden",
        )
        problem(await client.get(IMPORTS, headers=bearer(tokens.guardian)), 403, "tenant-forbidden")
        problem(
            await upload(
                client, tokens.valmiera, delivery("M"), mode="valid_rows", background=True
            ),
            403,
            "tenant-forbidden",
        )


class TestBadInput:
    async def test_bad_requests_are_4xx_and_queue_nothing(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        refused = await upload(client, tokens.riga, delivery("N"), background=True, dry_run=True)
        assert problem(refused, 422, "invalid-import")["errors"][0]["pointer"] == "/background"
        header = await upload(client, tokens.riga, b"serial;asset_tag\nA;B\n", background=True)
        problem(header, 422, "invalid-import")
        empty = await upload(client, tokens.riga, b"", background=True)
        assert empty.status_code == 422
        riga = bearer(tokens.riga)
        for params in (
            {"limit": 0},
            {"cursor": "not a cursor"},
            {"cursor": "bm90IGpzb24"},
            {"municipality": "x"},
        ):
            r = await client.get(IMPORTS, params=params, headers=riga)
            assert r.status_code == 422, (params, r.text)
        missing = await client.get(
            f"{IMPORTS}/00000000-0000-0000-0000-000000000000/rejected.csv", headers=riga
        )
        problem(missing, 404, "import-not-found")
        assert (await client.get(f"{IMPORTS}/nope/rejected.csv", headers=riga)).status_code == 422
        assert await count(settings, DeviceImport) == 0
