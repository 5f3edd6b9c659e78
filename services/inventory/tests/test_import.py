"""CSV import of a delivery: validation report, modes, dry runs, idempotency."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from inventory_service.cli import run_import
from inventory_service.config import InventorySettings
from inventory_service.models import Device, DeviceHistory, DeviceImport
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing.http import bearer, problem

from .conftest import RIGA, SCHOOL_A, VALMIERA_SCHOOL, Tokens
from .test_devices import count

IMPORTS = "/api/v1/inventory/devices/imports"
HEADER = "serial_number,asset_tag,catalogue_item_code,institution_registration_number,funding_source,delivery_date,purchase_price,accessories\n"


def csv_of(rows: list[str]) -> bytes:
    """A delivery CSV with the usual header."""
    return (HEADER + "\n".join(rows) + "\n").encode()


def good_rows(n: int, start: int = 0) -> list[str]:
    """n valid rows."""
    return [
        f"SN-{i:05},RIX-{i:05},CB-11-GR1-3,{SCHOOL_A},react_eu,2022-05-20,299.00,charger;bag"
        for i in range(start, start + n)
    ]


async def upload(
    client: httpx.AsyncClient, token: str, content: bytes, **form: Any
) -> httpx.Response:
    """POST the CSV as a multipart upload."""
    data = {
        "municipality": RIGA,
        **{k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
    }
    files = {"file": ("delivery.csv", content, "text/csv")}
    return await client.post(IMPORTS, data=data, files=files, headers=bearer(token))


class TestImport:
    async def test_imports_a_delivery_with_history_and_events(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        r = await upload(client, tokens.riga, csv_of(good_rows(25)))
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["total_rows"], report["created_rows"], report["failed_rows"]) == (25, 25, 0)
        assert await count(settings, Device) == 25
        assert await count(settings, DeviceHistory) == 25
        assert await count(settings, OutboxMessage) == 25
        devices = (
            await client.get(
                "/api/v1/inventory/devices", params={"limit": 1}, headers=bearer(tokens.riga)
            )
        ).json()["items"]
        assert devices[0]["accessories"] == ["charger", "bag"]
        assert devices[0]["warranty_ends_on"] == "2027-05-20"  # 36 + 24 months
        stored = await client.get(f"{IMPORTS}/{report['id']}", headers=bearer(tokens.riga))
        assert stored.json()["created_rows"] == 25
        foreign = await client.get(f"{IMPORTS}/{report['id']}", headers=bearer(tokens.valmiera))
        problem(foreign, 403, "tenant-forbidden")
        missing = await client.get(
            f"{IMPORTS}/00000000-0000-0000-0000-000000000000", headers=bearer(tokens.riga)
        )
        problem(missing, 404, "import-not-found")

    async def test_reupload_creates_nothing_twice(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        await upload(client, tokens.riga, csv_of(good_rows(10)))
        again = await upload(client, tokens.riga, csv_of(good_rows(12)))
        assert again.status_code == 200
        assert (again.json()["created_rows"], again.json()["unchanged_rows"]) == (2, 10)
        assert await count(settings, Device) == 12
        assert await count(settings, OutboxMessage) == 12

    async def test_all_or_nothing_rejects_whole_file_with_row_report(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        rows = [
            *good_rows(3),
            "SN-BAD1,RIX-B1,NO-SUCH-ITEM,,react_eu,2022-05-20,10,",
            f"SN-BAD2,RIX-B2,CB-11-GR1-3,{VALMIERA_SCHOOL},react_eu,2022-05-20,10,",
            "SN-00000,RIX-DUP,CB-11-GR1-3,,react_eu,2022-05-20,10,",  # serial twice in file
            "SN-BAD4,RIX-B4,CB-11-GR1-3,,lottery,20.5.2022,-1,",
        ]
        r = await upload(client, tokens.riga, csv_of(rows), mode="all_or_nothing")
        report = problem(r, 422, "import-rejected")["report"]
        assert report["failed_rows"] == 5  # both copies of the duplicated serial fail
        by_line = {
            row["line"]: {e["field"] for e in row["errors"]}
            for row in report["rows"]
            if row["errors"]
        }
        assert by_line[5] == {"catalogue_item_code"}
        assert by_line[6] == {"institution_registration_number"}
        assert by_line[8] == {"funding_source", "delivery_date", "purchase_price"}
        assert await count(settings, Device) == 0
        assert await count(settings, OutboxMessage) == 0

    async def test_valid_rows_mode_imports_the_good_ones(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        rows = [*good_rows(4), "SN-BAD,RIX-BAD,NO-SUCH-ITEM,,react_eu,,,"]
        r = await upload(client, tokens.riga, csv_of(rows), mode="valid_rows")
        assert r.status_code == 200
        assert (r.json()["created_rows"], r.json()["failed_rows"]) == (4, 1)
        assert await count(settings, Device) == 4

    async def test_dry_run_writes_nothing(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        r = await upload(client, tokens.riga, csv_of(good_rows(5)), dry_run=True)
        assert r.status_code == 200
        assert {row["outcome"] for row in r.json()["rows"]} == {"would_create"}
        assert await count(settings, Device) == 0

    async def test_idempotency_key_replays_the_report(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        files = {"file": ("d.csv", csv_of(good_rows(3)), "text/csv")}
        headers = {**bearer(tokens.riga_client), "Idempotency-Key": "delivery-2024-17"}
        first = await client.post(
            IMPORTS, data={"municipality": RIGA}, files=files, headers=headers
        )
        second = await client.post(
            IMPORTS, data={"municipality": RIGA}, files=files, headers=headers
        )
        assert first.json() == second.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert await count(settings, Device) == 3


class TestBadFiles:
    @pytest.mark.parametrize(
        ("content", "needle"),
        [
            (b"serial_number,asset_tag\nA,B\n", "missing_columns"),
            (HEADER.encode() + b"", "no data rows"),
            (
                b"serial_number,asset_tag,catalogue_item_code,funding_source,colour\n",
                "unknown_columns",
            ),
            (b"\xff\xfe\x00garbage", "UTF-8"),
        ],
    )
    async def test_unreadable_files_are_422(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        content: bytes,
        needle: str,
    ) -> None:
        r = await upload(client, tokens.riga, content)
        problem(r, 422, "invalid-import")
        assert needle in r.text

    async def test_too_large_is_413(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        content = csv_of(good_rows(1)) + b"x" * settings.import_max_bytes
        r = await upload(client, tokens.riga, content)
        problem(r, 413, "payload-too-large")

    async def test_not_csv_is_415(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        files = {"file": ("photo.png", b"\x89PNG....", "image/png")}
        r = await client.post(
            IMPORTS, data={"municipality": RIGA}, files=files, headers=bearer(tokens.riga)
        )
        problem(r, 415, "unsupported-media-type")

    async def test_missing_file_and_bad_mode_are_422(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        r = await client.post(
            IMPORTS, data={"municipality": RIGA, "mode": "yolo"}, headers=bearer(tokens.riga)
        )
        fields = {e["field"] for e in problem(r, 422, "validation")["errors"]}
        assert {"file", "mode"} <= fields

    async def test_other_municipality_may_not_import_here(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        r = await upload(client, tokens.valmiera, csv_of(good_rows(1)))
        problem(r, 403, "tenant-forbidden")
        r = await upload(client, tokens.school_a, csv_of(good_rows(1)))
        problem(r, 403, "tenant-forbidden")


class TestLargeFiles:
    """Files up to the 50,000-row limit import: no statement binds a parameter per row
    (PostgreSQL's protocol, and asyncpg, allow at most 32,767)."""

    async def test_50000_rows_import_with_history_and_events(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        r = await upload(client, tokens.riga, csv_of(good_rows(50_000)))
        assert r.status_code == 200, r.text[:500]
        assert (r.json()["created_rows"], r.json()["failed_rows"]) == (50_000, 0)
        for table in (Device, DeviceHistory, OutboxMessage):
            assert await count(settings, table) == 50_000

    async def test_32768_rows_with_as_many_references_are_all_checked(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        # Every row names its own catalogue item and school: four lookups of 32,768 values.
        rows = [
            f"SN-{i:05},RIX-{i:05},ITEM-{i:05},{4_000_000_000 + i},react_eu,,,"
            for i in range(32_768)
        ]
        r = await upload(client, tokens.riga, csv_of(rows), dry_run=True)
        assert r.status_code == 422, r.text[:500]
        report = r.json()["report"]
        assert report["failed_rows"] == 32_768
        fields = {e["field"] for e in report["rows"][-1]["errors"]}
        assert fields == {"catalogue_item_code", "institution_registration_number"}
        await assert_nothing_written(settings)


LONG = 140_000  # over the csv module's 131,072-character cell limit
BAD_ROW = f"SN-BAD,RIX-BAD,CB-11-GR1-3,{SCHOOL_A},react_eu,2022-05-20,299.00,"


class TestMalformedFiles:
    """A file that cannot be read as CSV is a 422 naming the line (and cell), whatever the
    mode, and nothing is written."""

    @pytest.mark.parametrize(
        ("content", "line", "column", "needle"),
        [
            (csv_of([*good_rows(2), BAD_ROW + "x" * LONG]), 4, "accessories", "131,072"),
            (csv_of([*good_rows(2), BAD_ROW + '"charger;bag', *good_rows(9000, start=2)]),
             4, "accessories", "not closed"),
            (csv_of([*good_rows(2), BAD_ROW + '"charger;bag']), 4, "accessories", "not closed"),
            (csv_of(['"SN-1"X' + BAD_ROW[6:]]), 2, "serial_number", "closing quote"),
            (csv_of([*good_rows(1), BAD_ROW + "bag\x00"]), 3, None, "NUL"),
            (csv_of([*good_rows(2)]) + b"SN-\xff,RIX-9\n", 4, None, "not UTF-8"),
        ],
        ids=["long-cell", "open-quote-large-file", "open-quote", "after-quote", "nul", "utf8"],
    )  # fmt: skip
    @pytest.mark.parametrize("dry_run", [True, False])
    async def test_the_line_at_fault_is_named(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
        content: bytes,
        line: int,
        column: str | None,
        needle: str,
        dry_run: bool,
    ) -> None:
        for mode in ("all_or_nothing", "valid_rows"):
            r = await upload(client, tokens.riga, content, mode=mode, dry_run=dry_run)
            body = problem(r, 422, "invalid-import")
            assert (body["line"], body.get("column")) == (line, column)
            assert needle in body["detail"] and f"Line {line}" in body["detail"]
        await assert_nothing_written(settings)

    @pytest.mark.parametrize(
        ("content", "needle", "extra"),
        [
            (b"", "empty", {}),
            (b"\r\n\n", "empty", {}),
            ("\ufeffserial_number".encode("utf-16"), "UTF-16", {}),
            (HEADER.replace(",", ";").encode() + b"SN-1;RIX-1\n", "commas, not semicolons",
             {"separator": ";"}),
            (HEADER.replace("asset_tag", "asset_tag,asset_tag").encode() + b"a,b\n", "repeated",
             {"duplicate_columns": ["asset_tag"]}),
        ],
        ids=["empty", "blank-lines", "utf16", "semicolons", "duplicate-header"],
    )  # fmt: skip
    async def test_file_level_problems_are_named(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
        content: bytes,
        needle: str,
        extra: dict[str, Any],
    ) -> None:
        r = await upload(client, tokens.riga, content)
        body = problem(r, 422, "invalid-import")
        assert needle in body["detail"]
        assert extra.items() <= body.items()
        await assert_nothing_written(settings)

    async def test_a_header_with_thousands_of_columns_is_named_briefly(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        header = HEADER.strip() + "".join(f",extra{i}" for i in range(10_000))
        r = await upload(client, tokens.riga, (header + "\n" + good_rows(1)[0] + "\n").encode())
        body = problem(r, 422, "invalid-import")
        assert "unknown extra0" in body["detail"] and "9,995 more" in body["detail"]
        assert len(body["unknown_columns"]) == 20

    async def test_more_rows_than_the_limit_is_422(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        content = csv_of(good_rows(settings.import_max_rows + 1))
        r = await upload(client, tokens.riga, content, dry_run=True)
        body = problem(r, 422, "invalid-import")
        assert body["max_rows"] == 50_000 and "more than 50,000 rows" in body["detail"]

    async def test_a_line_with_more_cells_than_the_header_is_named(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        long_line = BAD_ROW + ",x" * 50_000
        r = await upload(client, tokens.riga, csv_of([*good_rows(2), long_line]))
        report = problem(r, 422, "import-rejected")["report"]
        [bad] = [row for row in report["rows"] if row["errors"]]
        assert bad["line"] == 4 and "more cells" in bad["errors"][0]["detail"]
        await assert_nothing_written(settings)

    @pytest.mark.parametrize(
        "content",
        [
            b"\xef\xbb\xbf" + csv_of(good_rows(3)),
            csv_of(good_rows(3)).replace(b"\n", b"\r\n"),
            csv_of(good_rows(3)).replace(b"\n", b"\r"),
        ],
        ids=["utf8-bom", "crlf", "cr"],
    )
    async def test_byte_order_mark_and_any_line_ending_import(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
        content: bytes,
    ) -> None:
        r = await upload(client, tokens.riga, content)
        assert r.status_code == 200, r.text
        assert [row["line"] for row in r.json()["rows"]] == [2, 3, 4]
        assert await count(settings, Device) == 3

    async def test_rows_are_numbered_by_the_line_they_start_on(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        quoted = '"first line\nsecond line"'
        rows = [f"SN-M1,RIX-M1,CB-11-GR1-3,,react_eu,2022-05-20,10,{quoted}", "", BAD_ROW[:-1]]
        r = await upload(client, tokens.riga, csv_of(rows), mode="valid_rows", dry_run=True)
        assert [row["line"] for row in r.json()["rows"]] == [2, 5]


async def assert_nothing_written(settings: InventorySettings) -> None:
    """No device, history entry, event or import record."""
    for table in (Device, DeviceHistory, OutboxMessage, DeviceImport):
        assert await count(settings, table) == 0


class TestCli:
    async def test_chunked_import_reports_file_line_numbers(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        rows = [*good_rows(7), "SN-BAD,RIX-BAD,NO-SUCH-ITEM,,react_eu,,,", *good_rows(3, start=7)]
        client.headers.update(bearer(tokens.riga))
        totals = await run_import(
            client, csv_of(rows), municipality=RIGA, mode="valid_rows", rows_per_chunk=3, quiet=True
        )
        assert (totals.created, totals.failed) == (10, 1)
        assert totals.failures[0]["line"] == 9  # header is line 1, the bad row the 8th
        # the same run again replays each chunk's stored report (same Idempotency-Keys) …
        replayed = await run_import(
            client, csv_of(rows), municipality=RIGA, mode="valid_rows", rows_per_chunk=3, quiet=True
        )
        assert (replayed.created, replayed.failed) == (10, 1)
        # … and other chunking (new keys) finds every row already imported.
        again = await run_import(
            client, csv_of(rows), municipality=RIGA, mode="valid_rows", rows_per_chunk=4, quiet=True
        )
        assert (again.created, again.unchanged) == (0, 10)
        assert await count(settings, Device) == 10

    async def test_whole_file_rejection_is_reported(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        client.headers.update(bearer(tokens.riga))
        rows = [*good_rows(2), "SN-BAD,RIX-BAD,NO-SUCH-ITEM,,react_eu,,,"]
        totals = await run_import(
            client, csv_of(rows), municipality=RIGA, mode="all_or_nothing", quiet=True
        )
        assert (totals.created, totals.failed) == (0, 1)
