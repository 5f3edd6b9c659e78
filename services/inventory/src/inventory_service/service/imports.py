"""Bulk imports of a delivery: check the CSV's rows against the database, then create the new
devices with their history and events in one go."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service import events, importer
from inventory_service.exceptions import ImportNotFound, ImportRejected
from inventory_service.import_repository import ImportRepository
from inventory_service.importer import ImportRowData, ParsedRow
from inventory_service.models import (
    CatalogueItem,
    Device,
    DeviceImport,
    ImportState,
    Institution,
    Municipality,
)
from inventory_service.repository import (
    CatalogueRepository,
    DeviceRepository,
    HistoryRepository,
    InstitutionRepository,
    MunicipalityRepository,
)
from inventory_service.schemas import ImportReport, ImportRow
from inventory_service.service import access, devices, reference
from shared_kit.auth import Principal, Role
from shared_kit.events import add_events
from shared_kit.observability import correlation_id
from shared_kit.tenancy import TenantForbidden, actor_of


async def check_against_database(
    session: AsyncSession, rows: list[ParsedRow], municipality: Municipality
) -> tuple[dict[str, CatalogueItem], dict[str, Institution]]:
    """References must exist; already-registered serials are unchanged or conflicts."""
    candidates = [r for r in rows if r.data and not r.errors]
    datas = [r.data for r in candidates if r.data]
    items = await CatalogueRepository(session).by_codes({d.catalogue_item_code for d in datas})
    numbers = {d.institution_registration_number for d in datas} - {None}
    institutions = await InstitutionRepository(session).by_numbers(numbers)  # type: ignore[arg-type]
    repo = DeviceRepository(session)
    existing = await repo.existing_serials([d.serial_number for d in datas])
    taken_tags = await repo.existing_tags(municipality.id, [d.asset_tag for d in datas])
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
    max_rows: int,
) -> ImportReport:
    """Validate and import a CSV delivery; returns the per-row report."""
    access.ensure_manages(principal, municipality_code)
    municipality = await reference.get_municipality(session=session, code=municipality_code)
    rows = importer.read_rows(content, max_rows)
    if not await apply_rows(session, rows, municipality, actor_of(principal), mode, dry_run):
        failed = sum(1 for r in rows if r.errors)
        raise ImportRejected(
            f"{failed} of {len(rows)} rows are invalid; nothing was imported",
            report=_report(None, mode, dry_run, rows).model_dump(mode="json"),
        )
    if dry_run:
        return _report(None, mode, dry_run, rows)
    record = _record(municipality, content, filename, mode, principal, rows)
    ImportRepository(session).add(record)
    await session.flush()
    return _report(record.id, mode, dry_run, rows)


async def apply_rows(
    session: AsyncSession,
    rows: list[ParsedRow],
    municipality: Municipality,
    actor: str,
    mode: str,
    dry_run: bool,
) -> bool:
    """Check rows against the database and create the new devices (unless a dry run); False,
    with nothing written, when an all-or-nothing set of rows has an invalid one."""
    items, institutions = await check_against_database(session, rows, municipality)
    if mode == "all_or_nothing" and any(r.errors for r in rows):
        return False
    new = [r for r in rows if not r.errors and r.outcome != "unchanged"]
    for r in new:
        r.outcome = "would_create" if dry_run else "created"
    if not dry_run:
        await _create(session, actor, new, municipality, items, institutions)
    return True


async def _create(
    session: AsyncSession,
    actor: str,
    rows: list[ParsedRow],
    municipality: Municipality,
    items: dict[str, CatalogueItem],
    institutions: dict[str, Institution],
) -> None:
    created = [_device(r.data, municipality, items, institutions) for r in rows if r.data]
    columns = [c.key for c in Device.__table__.columns if c.key not in ("created_at", "updated_at")]
    await DeviceRepository(session).insert_many(
        [{c: getattr(d, c) for c in columns} for d in created]
    )
    cid = correlation_id.get()
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
            for d in created
        ]
    )
    await add_events(session, [events.device_event(events.DEVICE_REGISTERED, d) for d in created])


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
        warranty_ends_on=devices.warranty_end(d.delivery_date, item, d.extra_warranty_months),
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
        processed_rows=len(rows),
        created_rows=counts["created"],
        unchanged_rows=counts["unchanged"],
        failed_rows=counts["invalid"],
        report=failed_rows(rows),
        columns=importer.header_of(content),
        state=ImportState.DONE,
        correlation_id=correlation_id.get(),
        finished_at=dt.datetime.now(dt.UTC),
    )


def failed_rows(rows: list[ParsedRow]) -> list[dict[str, Any]]:
    """The stored report's entries: the failed rows, each with its cells as in the file."""
    return [{**_row(r).model_dump(), "cells": r.cells} for r in rows if r.errors]


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
        processed_rows=len(rows),
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
        state=record.state,
        filename=record.filename,
        created_at=record.created_at,
        finished_at=record.finished_at,
        processed_rows=record.processed_rows,
        total_rows=record.total_rows,
        created_rows=record.created_rows,
        unchanged_rows=record.unchanged_rows,
        failed_rows=record.failed_rows,
        rows=[ImportRow(**r) for r in record.report],
    )


async def get_import(
    *, session: AsyncSession, principal: Principal, import_id: uuid.UUID
) -> ImportReport:
    """The stored report of an import, for the municipality that made it."""
    return report_of(await visible_import(session, principal, import_id))


async def visible_import(
    session: AsyncSession, principal: Principal, import_id: uuid.UUID
) -> DeviceImport:
    """An import record the caller may see: their own municipality's (any, for the platform)."""
    record = await ImportRepository(session).get(import_id)
    if record is None:
        raise ImportNotFound(f"No import with id {import_id}")
    if not principal.has(Role.PLATFORM_ADMIN):
        mine = await MunicipalityRepository(session).ids_for_codes(principal.municipalities)
        if record.municipality_id not in mine:
            raise TenantForbidden("This import belongs to another municipality")
    return record
