"""A device search as CSV: every device the filters find (up to a bound), streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory_service.exceptions import ExportTooLarge
from inventory_service.models import Device
from inventory_service.schemas import DeviceFilters
from inventory_service.search_repository import DeviceSearchRepository, sort_key
from inventory_service.service import access
from shared_kit.auth import Principal
from shared_kit.pagination import encode_cursor

# More than this is not a spreadsheet any more: the caller narrows the filters (or pages the
# JSON search). A country's whole stock is ~250,000 devices; a municipality's a few thousand.
MAX_EXPORT_ROWS = 100_000
BATCH = 1_000
COLUMNS = (
    "id",
    "asset_tag",
    "serial_number",
    "catalogue_item_code",
    "catalogue_item_name",
    "institution_registration_number",
    "institution_name",
    "status",
    "condition",
    "funding_source",
    "order_reference",
    "delivery_date",
    "purchase_price",
    "warranty_ends_on",
    "insurer",
    "insurance_policy",
    "insured_until",
    "accessories",
    "created_at",
    "updated_at",
)
# A cell a spreadsheet would run as a formula starts with one of these: it gets a quote first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


async def check_export(
    *, session: AsyncSession, principal: Principal, filters: DeviceFilters
) -> None:
    """Refuse, before anything streams, a search the caller may not make or too large a one."""
    access.ensure_may_search(principal, filters.municipality_code)
    found = await DeviceSearchRepository(session).count(filters, access.scope_for(principal))
    if found > MAX_EXPORT_ROWS:
        raise ExportTooLarge(
            f"The search finds {found} devices; an export holds at most {MAX_EXPORT_ROWS}. "
            "Narrow the filters."
        )


async def export_csv(
    sessions: async_sessionmaker[AsyncSession],
    *,
    principal: Principal,
    filters: DeviceFilters,
    sort: str,
) -> AsyncIterator[str]:
    """The devices the search finds as CSV text, a batch at a time, in the search's order.

    It opens its own session: the response streams after the request's session is closed.
    """
    yield _line(list(COLUMNS))
    scope, cursor, sent = access.scope_for(principal), None, 0
    async with sessions() as session:
        repo = DeviceSearchRepository(session)
        while sent < MAX_EXPORT_ROWS:
            rows = await repo.search(filters, scope, sort, cursor, BATCH, with_references=True)
            batch = list(rows[: min(BATCH, MAX_EXPORT_ROWS - sent)])
            if not batch:
                return
            yield "".join(_line(_row(d)) for d in batch)
            session.expunge_all()  # a batch at a time in memory, not the whole export
            sent += len(batch)
            if len(rows) <= BATCH:
                return
            cursor = encode_cursor(sort_key(sort, batch[-1]))


def _row(device: Device) -> list[Any]:
    item, school = device.catalogue_item, device.institution
    return [
        device.id,
        device.asset_tag,
        device.serial_number,
        item.code,
        item.name,
        school.registration_number if school else "",
        school.name if school else "",
        device.status.value,
        device.condition.value,
        device.funding_source.value,
        device.order_reference,
        device.delivery_date,
        device.purchase_price,
        device.warranty_ends_on,
        device.insurer,
        device.insurance_policy,
        device.insured_until,
        ";".join(device.accessories or []),
        device.created_at.isoformat(),
        device.updated_at.isoformat(),
    ]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return out.getvalue()
