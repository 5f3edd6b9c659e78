"""Bulk import of a delivery from CSV: validate every row, then create the new devices."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import UploadFile
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service import csvfile, events, service
from inventory_service.config import InventorySettings
from inventory_service.exceptions import ImportRejected, InvalidImport
from inventory_service.models import (
    CatalogueItem,
    Device,
    DeviceImport,
    DeviceStatus,
    Institution,
    Municipality,
)
from inventory_service.repository import (
    CatalogueRepository,
    DeviceRepository,
    HistoryRepository,
    ImportRepository,
    InstitutionRepository,
)
from inventory_service.schemas import Code, DeviceFields, ImportReport, ImportRow, RegNumber, Serial
from shared_kit.auth import Principal
from shared_kit.events import add_events
from shared_kit.observability import correlation_id
from shared_kit.problems import ProblemError
from shared_kit.tenancy import actor_of

REQUIRED = ("serial_number", "asset_tag", "catalogue_item_code", "funding_source")
OPTIONAL = (
    "institution_registration_number",
    "order_reference",
    "delivery_date",
    "purchase_price",
    "extra_warranty_months",
    "insurer",
    "insurance_policy",
    "insured_until",
    "condition",
    "accessories",
    "notes",
    "status",
)
CSV_HELP = (
    "CSV with a header row. Required columns: "
    + ", ".join(REQUIRED)
    + ". Optional: "
    + ", ".join(OPTIONAL)
    + ". `accessories` are separated by `;`. `status` is in_stock "
    "(default) or available. Modes: `all_or_nothing` rejects the file if any row is invalid; "
    "`valid_rows` imports the valid rows and reports the rest. Rows whose serial number is "
    "already registered with the same asset tag are reported `unchanged`."
)
LISTED = 20  # unknown columns named in a rejection; a header may have thousands
CSV_TYPES = {
    "text/csv",
    "application/csv",
    "text/plain",
    "application/vnd.ms-excel",
    "application/octet-stream",
}


class TooLarge(ProblemError):
    status, type, title = 413, "payload-too-large", "File too large"


class UnsupportedType(ProblemError):
    status, type, title = 415, "unsupported-media-type", "Not a CSV file"


class ImportRowData(DeviceFields):
    """One CSV row after parsing."""

    serial_number: Serial
    asset_tag: Code
    catalogue_item_code: Code
    institution_registration_number: RegNumber | None = None
    status: DeviceStatus = DeviceStatus.IN_STOCK


@dataclass
class ParsedRow:
    """A row with its line number, parsed data and the errors found so far."""

    line: int
    raw: dict[str, str]
    data: ImportRowData | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    outcome: str = "valid"  # valid → created | would_create; or unchanged | invalid

    def fail(self, field_name: str, detail: str) -> None:
        self.errors.append({"field": field_name, "detail": detail})
        self.outcome = "invalid"


async def read_upload(file: UploadFile, max_bytes: int) -> bytes:
    """The uploaded bytes, refusing files that are too large or plainly not CSV."""
    content_type = (file.content_type or "application/octet-stream").split(";")[0].strip()
    if content_type not in CSV_TYPES:
        raise UnsupportedType(f"Expected a CSV file, got {content_type}")
    content = await file.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise TooLarge(f"The file is larger than {max_bytes} bytes")
    return content


def parse_csv(content: bytes, max_rows: int) -> list[ParsedRow]:
    """Decode and split the CSV; an unreadable file or a wrong header rejects the whole file."""
    records = csvfile.read_records(content)
    first = next(records, None)
    if first is None:
        raise InvalidImport("The file is empty")
    header = [h.strip() for h in first.cells]
    check_header(header)
    rows: list[ParsedRow] = []
    for record in records:
        if len(rows) == max_rows:
            raise InvalidImport(
                f"The CSV has more than {max_rows:,} rows; split it into files of at most "
                f"{max_rows:,} rows",
                max_rows=max_rows,
            )
        rows.append(_parsed(record, header))
    if not rows:
        raise InvalidImport("The CSV has no data rows")
    return rows


def check_header(header: list[str]) -> None:
    """Every required column, each column once, and no unknown one."""
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    duplicate = [c for c, n in Counter(header).items() if n > 1 and c in REQUIRED + OPTIONAL]
    if not (missing or unknown or duplicate):
        return
    hint = csvfile.separator_hint(header)
    detail = "; ".join(
        f"{what} {_names(columns)}"
        for what, columns in (("missing", missing), ("unknown", unknown), ("repeated", duplicate))
        if columns
    )
    if hint:
        detail = f"columns must be separated by commas, not {hint['separator_name']}"
    raise InvalidImport(
        f"The CSV header is wrong: {detail}",
        missing_columns=missing,
        unknown_columns=unknown[:LISTED],
        duplicate_columns=duplicate,
        expected=list(REQUIRED + OPTIONAL),
        **hint,
    )


def _names(columns: list[str]) -> str:
    shown = ", ".join(c or "(empty)" for c in columns[:5])
    return shown + (f" and {len(columns) - 5:,} more" if len(columns) > 5 else "")


def _parsed(record: csvfile.Record, header: list[str]) -> ParsedRow:
    row = ParsedRow(line=record.line, raw=dict(zip(header, record.cells, strict=False)))
    if len(record.cells) > len(header):
        row.fail("-", "the row has more cells than the header")
    return row


def validate_row(row: ParsedRow) -> None:
    """Field-level validation of one row."""
    if row.errors:
        return
    values: dict[str, Any] = {k: v.strip() for k, v in row.raw.items() if k and v and v.strip()}
    if "accessories" in values:
        values["accessories"] = [a.strip() for a in values["accessories"].split(";") if a.strip()]
    try:
        row.data = ImportRowData.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            row.fail(".".join(str(p) for p in err["loc"]) or "-", err["msg"])
        return
    if row.data.status not in (DeviceStatus.IN_STOCK, DeviceStatus.AVAILABLE):
        row.fail("status", "imported devices start in_stock or available")


def check_duplicates_in_file(rows: list[ParsedRow]) -> None:
    """A serial or asset tag may appear only once in a file."""
    valid = [r for r in rows if r.data and not r.errors]
    serials = Counter(r.data.serial_number for r in valid if r.data)
    tags = Counter(r.data.asset_tag for r in valid if r.data)
    for r in valid:
        assert r.data is not None
        if serials[r.data.serial_number] > 1:
            r.fail("serial_number", "appears more than once in the file")
        if tags[r.data.asset_tag] > 1:
            r.fail("asset_tag", "appears more than once in the file")


async def check_against_database(
    session: AsyncSession, rows: list[ParsedRow], municipality: Municipality
) -> tuple[dict[str, CatalogueItem], dict[str, Institution]]:
    """References must exist; already-registered serials are unchanged or conflicts."""
    candidates = [r for r in rows if r.data and not r.errors]
    datas = [r.data for r in candidates if r.data]
    items = await CatalogueRepository(session).by_codes({d.catalogue_item_code for d in datas})
    numbers = {d.institution_registration_number for d in datas} - {None}
    institutions = await InstitutionRepository(session).by_numbers(numbers)  # type: ignore[arg-type]
    devices = DeviceRepository(session)
    existing = await devices.existing_serials([d.serial_number for d in datas])
    taken_tags = await devices.existing_tags(municipality.id, [d.asset_tag for d in datas])
    for r in candidates:
        _check_row(r, items, institutions, existing, taken_tags, municipality)
    return items, institutions


def _check_row(
    r: ParsedRow,
    items: dict[str, CatalogueItem],
    institutions: dict[str, Institution],
    existing: dict[str, dict[str, Any]],
    taken_tags: set[str],
    municipality: Municipality,
) -> None:
    d = r.data
    assert d is not None
    if d.catalogue_item_code not in items:
        r.fail("catalogue_item_code", f"no catalogue item {d.catalogue_item_code}")
    number = d.institution_registration_number
    if number and (
        number not in institutions or institutions[number].municipality_id != municipality.id
    ):
        r.fail("institution_registration_number", f"no institution {number} in this municipality")
    known = existing.get(d.serial_number)
    if known is not None:
        if known["municipality_id"] == municipality.id and known["asset_tag"] == d.asset_tag:
            r.outcome = "unchanged" if not r.errors else r.outcome
        else:
            r.fail("serial_number", "already registered with another asset tag or municipality")
    elif d.asset_tag in taken_tags:
        r.fail("asset_tag", "already used by another device of this municipality")


async def import_csv(
    *,
    session: AsyncSession,
    principal: Principal,
    content: bytes,
    filename: str | None,
    municipality_code: str,
    mode: str,
    dry_run: bool,
    settings: InventorySettings,
) -> ImportReport:
    """Validate and import a CSV delivery; returns the per-row report."""
    service.ensure_manages(principal, municipality_code)
    municipality = await service.get_municipality(session=session, code=municipality_code)
    rows = parse_csv(content, settings.import_max_rows)
    for row in rows:
        validate_row(row)
    check_duplicates_in_file(rows)
    items, institutions = await check_against_database(session, rows, municipality)
    new = [r for r in rows if not r.errors and r.outcome != "unchanged"]
    failed = [r for r in rows if r.errors]
    if failed and mode == "all_or_nothing":
        report = _report(None, mode, dry_run, rows)
        raise ImportRejected(
            f"{len(failed)} of {len(rows)} rows are invalid; nothing was imported",
            report=report.model_dump(mode="json"),
        )
    for r in new:
        r.outcome = "would_create" if dry_run else "created"
    if dry_run:
        return _report(None, mode, dry_run, rows)
    await _create(session, principal, new, municipality, items, institutions)
    record = _record(municipality, content, filename, mode, principal, rows)
    ImportRepository(session).add(record)
    await session.flush()
    return _report(record.id, mode, dry_run, rows)


async def _create(
    session: AsyncSession,
    principal: Principal,
    rows: list[ParsedRow],
    municipality: Municipality,
    items: dict[str, CatalogueItem],
    institutions: dict[str, Institution],
) -> None:
    devices = [_device(r.data, municipality, items, institutions) for r in rows if r.data]
    columns = [c.key for c in Device.__table__.columns if c.key not in ("created_at", "updated_at")]
    await DeviceRepository(session).insert_many(
        [{c: getattr(d, c) for c in columns} for d in devices]
    )
    actor, cid = actor_of(principal), correlation_id.get()
    await HistoryRepository(session).insert_many(
        [
            {
                "id": uuid.uuid4(),
                "device_id": d.id,
                "actor": actor,
                "action": "imported",
                "changes": {
                    "status": [None, d.status.value],
                    "serial_number": [None, d.serial_number],
                },
                "device_version": 1,
                "correlation_id": cid,
            }
            for d in devices
        ]
    )
    await add_events(session, [events.device_event(events.DEVICE_REGISTERED, d) for d in devices])


def _device(
    d: ImportRowData | None,
    municipality: Municipality,
    items: dict[str, CatalogueItem],
    institutions: dict[str, Institution],
) -> Device:
    assert d is not None
    item = items[d.catalogue_item_code]
    number = d.institution_registration_number
    fields = d.model_dump(exclude={"catalogue_item_code", "institution_registration_number"})
    return Device(
        id=uuid.uuid4(),
        version=1,
        **fields,
        catalogue_item=item,
        catalogue_item_id=item.id,
        municipality=municipality,
        municipality_id=municipality.id,
        institution=institutions.get(number) if number else None,
        institution_id=institutions[number].id if number else None,
        warranty_ends_on=service.warranty_end(d.delivery_date, item, d.extra_warranty_months),
        status_before_repair=None,
    )


def _record(
    municipality: Municipality,
    content: bytes,
    filename: str | None,
    mode: str,
    principal: Principal,
    rows: list[ParsedRow],
) -> DeviceImport:
    counts = Counter(r.outcome for r in rows)
    return DeviceImport(
        id=uuid.uuid4(),
        municipality_id=municipality.id,
        file_sha256=hashlib.sha256(content).hexdigest(),
        filename=(filename or "")[:300],
        mode=mode,
        dry_run=False,
        actor=actor_of(principal),
        total_rows=len(rows),
        created_rows=counts["created"],
        unchanged_rows=counts["unchanged"],
        failed_rows=counts["invalid"],
        report=[_row(r).model_dump() for r in rows if r.errors],
    )


def _row(r: ParsedRow) -> ImportRow:
    serial = r.data.serial_number if r.data else (r.raw.get("serial_number") or None)
    return ImportRow(line=r.line, serial_number=serial, outcome=r.outcome, errors=r.errors)


def _report(
    import_id: uuid.UUID | None, mode: str, dry_run: bool, rows: list[ParsedRow]
) -> ImportReport:
    counts = Counter(r.outcome for r in rows)
    return ImportReport(
        id=import_id,
        mode=mode,
        dry_run=dry_run,
        total_rows=len(rows),
        created_rows=counts["created"] + counts["would_create"],
        unchanged_rows=counts["unchanged"],
        failed_rows=counts["invalid"],
        rows=[_row(r) for r in rows],
    )


def report_of(record: DeviceImport) -> ImportReport:
    """The stored report of an import (failed rows only, counts for all)."""
    return ImportReport(
        id=record.id,
        mode=record.mode,
        dry_run=record.dry_run,
        total_rows=record.total_rows,
        created_rows=record.created_rows,
        unchanged_rows=record.unchanged_rows,
        failed_rows=record.failed_rows,
        rows=[ImportRow(**r) for r in record.report],
    )
