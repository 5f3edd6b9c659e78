"""A delivery's CSV file: its columns, its rows, and each row's own checks.

The checks against the database and the import itself are `service.imports`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import UploadFile
from pydantic import ValidationError

from inventory_service import csvfile
from inventory_service.exceptions import InvalidImport, TooLarge, UnsupportedType
from inventory_service.models import DeviceStatus
from inventory_service.schemas import Code, DeviceFields, RegNumber, Serial

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
    cells: list[str] = field(default_factory=list)  # as in the file, for a rejected rows' CSV
    data: ImportRowData | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    outcome: str = "valid"  # valid → created | would_create; or unchanged | invalid

    def fail(self, field_name: str, detail: str) -> None:
        """Record an error in a field; the row is invalid."""
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


def header_of(content: bytes) -> list[str]:
    """The file's columns, as its header names them."""
    first = next(csvfile.read_records(content), None)
    return [h.strip() for h in first.cells] if first is not None else []


def read_rows(content: bytes, max_rows: int) -> list[ParsedRow]:
    """The file's rows, each checked on its own and against the file's other rows."""
    rows = parse_csv(content, max_rows)
    for row in rows:
        validate_row(row)
    check_duplicates_in_file(rows)
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
    raw = dict(zip(header, record.cells, strict=False))
    row = ParsedRow(line=record.line, raw=raw, cells=record.cells)
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
