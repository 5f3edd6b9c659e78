"""Background imports: the API queues a checked file, the imports worker (`workers.py`) runs it
a chunk at a time. Each chunk's devices, history, events and the job's progress commit in one
transaction under the worker's lease, so a job taken over after a crash resumes exactly where
the last commit left it; the rows themselves are checked and created as a synchronous import
does (`imports.apply_rows`), so the outcomes and the report are the same. An all-or-nothing
file is one chunk: all of it or nothing."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import uuid
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service import importer
from inventory_service.import_repository import ClaimedJob, ImportRepository
from inventory_service.importer import ParsedRow
from inventory_service.models import DeviceImport, ImportState, Municipality
from inventory_service.repository import MunicipalityRepository
from inventory_service.schemas import ImportReport, ImportSummary
from inventory_service.service import access, imports, reference
from shared_kit.auth import Principal, Role
from shared_kit.observability import correlation_id
from shared_kit.pagination import page_of
from shared_kit.tenancy import TenantForbidden, actor_of

REJECTED_COLUMN = "error"


async def queue_import(
    *,
    session: AsyncSession,
    principal: Principal,
    content: bytes,
    filename: str | None,
    municipality_code: str,
    mode: str,
    max_rows: int,
) -> ImportReport:
    """Check the file (a bad one is refused now, not later) and queue it for the worker."""
    access.ensure_manages(principal, municipality_code)
    municipality = await reference.get_municipality(session=session, code=municipality_code)
    rows = importer.read_rows(content, max_rows)
    record = DeviceImport(
        id=uuid.uuid4(),
        municipality_id=municipality.id,
        file_sha256=hashlib.sha256(content).hexdigest(),
        filename=(filename or "")[:300],
        mode=mode,
        dry_run=False,
        actor=actor_of(principal),
        total_rows=len(rows),
        processed_rows=0,
        created_rows=0,
        unchanged_rows=0,
        failed_rows=0,
        report=[],
        columns=importer.header_of(content),
        state=ImportState.QUEUED,
        content=content,
        correlation_id=correlation_id.get(),
    )
    ImportRepository(session).add(record)
    await session.flush()
    await session.refresh(record, ["created_at"])
    return imports.report_of(record)


async def claim(
    *, session: AsyncSession, now: dt.datetime, lease: dt.timedelta
) -> tuple[ClaimedJob, bytes] | None:
    """The next job to run and its file, leased to the caller."""
    repo = ImportRepository(session)
    job = await repo.claim(now, lease)
    if job is None:
        return None
    return job, await repo.content(job.id) or b""


async def run_chunk(
    *,
    session: AsyncSession,
    job: ClaimedJob,
    rows: list[ParsedRow],
    chunk_rows: int,
    now: dt.datetime,
    lease: dt.timedelta,
) -> bool:
    """Import the job's next rows and record the progress; False when it is over (or another
    worker has taken it)."""
    record = await ImportRepository(session).held(job)
    if record is None:
        return False
    municipality = await session.get(Municipality, record.municipality_id)
    assert municipality is not None
    start = record.processed_rows
    size = len(rows) if record.mode == "all_or_nothing" else chunk_rows
    part = rows[start : start + size]
    token = correlation_id.set(record.correlation_id)
    try:
        applied = await imports.apply_rows(
            session, part, municipality, record.actor, record.mode, dry_run=False
        )
    finally:
        correlation_id.reset(token)
    _count(record, part)
    record.lease_until = now + lease
    if not applied:
        _finish(record, ImportState.FAILED, now)
    elif record.processed_rows >= record.total_rows:
        _finish(record, ImportState.DONE, now)
    return record.state is ImportState.RUNNING


def _count(record: DeviceImport, part: list[ParsedRow]) -> None:
    counts = Counter(r.outcome for r in part)
    record.processed_rows += len(part)
    record.created_rows += counts["created"]
    record.unchanged_rows += counts["unchanged"]
    record.failed_rows += counts["invalid"]
    if any(r.errors for r in part):
        record.report = [*record.report, *imports.failed_rows(part)]


def _finish(record: DeviceImport, state: ImportState, now: dt.datetime) -> None:
    record.state, record.finished_at = state, now
    record.content = None  # the rejected rows keep their own cells
    record.lease_owner = record.lease_until = None


async def give_up(*, session: AsyncSession, job: ClaimedJob, now: dt.datetime) -> None:
    """A job whose file cannot be read any more (the settings changed): failed, as it is."""
    record = await ImportRepository(session).held(job)
    if record is not None:
        _finish(record, ImportState.FAILED, now)


async def release(*, session: AsyncSession, job: ClaimedJob) -> None:
    """Hand a job back for another worker to take at once."""
    await ImportRepository(session).release(job)


async def list_imports(
    *,
    session: AsyncSession,
    principal: Principal,
    municipality_code: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ImportSummary], str | None]:
    """Earlier imports, the newest first: one municipality's, or all the caller may see."""
    ids = await _visible_municipalities(session, principal, municipality_code)
    records = await ImportRepository(session).newest_first(ids, cursor, limit)
    items, next_cursor = page_of(records, limit, lambda r: (r.created_at, r.id))
    return [summary_of(r) for r in items], next_cursor


async def _visible_municipalities(
    session: AsyncSession, principal: Principal, code: str | None
) -> list[uuid.UUID] | None:
    if code is not None:
        access.ensure_manages(principal, code)
        return [(await reference.get_municipality(session=session, code=code)).id]
    if principal.has(Role.PLATFORM_ADMIN):
        return None
    if not principal.has(Role.MUNICIPALITY_ADMIN, Role.SERVICE):
        raise TenantForbidden("Only municipality administrators see the imports")
    return await MunicipalityRepository(session).ids_for_codes(principal.municipalities)


def summary_of(record: DeviceImport) -> ImportSummary:
    """An import as a line of the list."""
    return ImportSummary.model_validate(record, from_attributes=True)


async def rejected_csv(*, session: AsyncSession, principal: Principal, import_id: uuid.UUID) -> str:
    """The import's rejected rows in the file's own columns plus `error`, to fix and resend."""
    record = await imports.visible_import(session, principal, import_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = list(record.columns)
    writer.writerow([*columns, REJECTED_COLUMN])
    for entry in record.report:
        writer.writerow([*_cells(entry, len(columns)), _errors(entry)])
    return out.getvalue()


def _cells(entry: dict[str, Any], width: int) -> list[str]:
    cells = [str(c) for c in entry.get("cells") or []]
    return (cells + [""] * width)[:width] if width else cells


def _errors(entry: dict[str, Any]) -> str:
    return "; ".join(f"{e.get('field')}: {e.get('detail')}" for e in entry.get("errors") or [])
