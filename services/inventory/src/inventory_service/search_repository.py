"""SQL of device searches: their filters, the tenancy condition and the orders; a page of
rows for JSON, a batch of devices for CSV, and a count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Date, Row, Select, false, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from inventory_service.models import CatalogueItem, Device, Institution, Municipality
from inventory_service.schemas import DeviceFilters, DeviceRead
from shared_kit.pagination import fetch_page, paginate
from shared_kit.tenancy import Scope

# A device without a warranty end sorts after every date (keyset needs a value, not NULL);
# the indexes of migration 0005 are on the same expression.
NO_WARRANTY_END = dt.date(9999, 12, 31)
# The device table's columns: conditions on them keep a statement plain Core (no ORM entity),
# so a search that selects columns runs without the ORM's per-statement and per-row work.
DEVICE = Device.__table__.c
WARRANTY_ORDER = func.coalesce(DEVICE.warranty_ends_on, literal_column("'9999-12-31'::date", Date))
# The orders a device search offers: name → the SQL key (then the id) and its value in Python
# (of a Device or of a row of its columns).
DEVICE_SORTS: dict[str, tuple[ColumnElement[Any], Callable[[Any], Any]]] = {
    "asset_tag": (DEVICE.asset_tag, lambda d: d.asset_tag),
    "serial_number": (DEVICE.serial_number, lambda d: d.serial_number),
    "created_at": (DEVICE.created_at, lambda d: d.created_at),
    "status": (DEVICE.status, lambda d: d.status),
    "warranty_ends_on": (WARRANTY_ORDER, lambda d: d.warranty_ends_on or NO_WARRANTY_END),
}
# What a search page shows of each device: DeviceRead's fields, in its order.
READ_FIELDS = tuple(DeviceRead.model_fields)
READ_COLUMNS = [DEVICE[name] for name in READ_FIELDS]
MUNICIPALITY, INSTITUTION, CATALOGUE_ITEM = (
    Municipality.__table__.c,
    Institution.__table__.c,
    CatalogueItem.__table__.c,
)


def sort_key(sort: str, device: Any) -> tuple[Any, ...]:
    """The keyset position of a device (or a row of its columns) in a sort order (`-` first:
    descending)."""
    return (DEVICE_SORTS[sort.lstrip("-")][1](device), device.id)


def as_read(row: Row[Any]) -> dict[str, Any]:
    """A row of `page` as DeviceRead's fields (`Row._asdict` is twice as slow)."""
    return dict(zip(READ_FIELDS, row, strict=True))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _scope_condition(scope: Scope, f: DeviceFilters) -> ColumnElement[bool] | None:
    """The tenancy condition of a device search, or None when nothing needs restricting."""
    if scope.everything:
        return None
    codes, numbers = scope.municipality_codes, scope.institution_numbers
    if f.municipality_code and f.municipality_code in codes:
        return None  # the municipality filter alone keeps the search inside the scope
    # No OR with an empty side, and `=` for a single tenant: the planner can then walk the
    # (tenant, asset_tag, id) indexes in order and stop after one page instead of sorting.
    parts = []
    if codes:
        parts.append(_belongs(DEVICE.municipality_id, MUNICIPALITY.id, MUNICIPALITY.code, codes))
    if numbers:
        parts.append(
            _belongs(
                DEVICE.institution_id, INSTITUTION.id, INSTITUTION.registration_number, numbers
            )
        )
    return or_(*parts) if parts else false()


def _belongs(
    column: Any, key: Any, natural_key: Any, values: frozenset[str]
) -> ColumnElement[bool]:
    """`column` refers to one of the rows whose natural key is in `values`."""
    if len(values) == 1:
        (value,) = values
        return column == select(key).where(natural_key == value).scalar_subquery()
    return column.in_(select(key).where(natural_key.in_(values)))


class DeviceSearchRepository:
    """Device searches inside a tenancy scope, in a stable order."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(
        self,
        filters: DeviceFilters,
        scope: Scope,
        sort: str,
        cursor: str | None,
        limit: int,
        *,
        backwards: bool = False,
        with_references: bool = False,
    ) -> Sequence[Device]:
        """A page of the devices matching the filters inside the scope, in the sort's order
        after the cursor (`backwards`: the page before it, nearest first); `with_references`
        loads each device's catalogue item and institution too."""
        stmt = _filtered(select(Device), filters, scope)
        if with_references:
            stmt = stmt.options(joinedload(Device.catalogue_item), joinedload(Device.institution))
        columns = [DEVICE_SORTS[sort.lstrip("-")][0], DEVICE.id]
        descending = sort.startswith("-") != backwards
        return await fetch_page(self.session, stmt, columns, cursor, limit, descending=descending)

    async def page(
        self,
        filters: DeviceFilters,
        scope: Scope,
        sort: str,
        cursor: str | None,
        limit: int,
        *,
        backwards: bool = False,
    ) -> Sequence[Row[Any]]:
        """Like `search`, as rows of the columns a search page shows: no ORM objects, since
        the rows go straight to JSON."""
        stmt = _filtered(select(*READ_COLUMNS), filters, scope)
        columns = [DEVICE_SORTS[sort.lstrip("-")][0], DEVICE.id]
        descending = sort.startswith("-") != backwards
        query = paginate(stmt, columns, cursor, limit, descending=descending)
        return (await self.session.execute(query)).all()

    async def count(self, filters: DeviceFilters, scope: Scope) -> int:
        """How many devices match the filters inside the scope."""
        stmt = _filtered(select(func.count(DEVICE.id)), filters, scope)
        return int(await self.session.scalar(stmt) or 0)


def _filtered(stmt: Select[Any], f: DeviceFilters, scope: Scope) -> Select[Any]:
    """`stmt` narrowed to the devices the filters find inside the scope."""
    tenancy = _scope_condition(scope, f)
    if tenancy is not None:
        stmt = stmt.where(tenancy)
    if f.municipality_code:
        stmt = stmt.where(
            DEVICE.municipality_id
            == select(MUNICIPALITY.id)
            .where(MUNICIPALITY.code == f.municipality_code)
            .scalar_subquery()
        )
    if f.institution_number:
        stmt = stmt.where(
            DEVICE.institution_id
            == select(INSTITUTION.id)
            .where(INSTITUTION.registration_number == f.institution_number)
            .scalar_subquery()
        )
    if f.statuses:
        stmt = stmt.where(DEVICE.status.in_(f.statuses))
    if f.funding_source:
        stmt = stmt.where(DEVICE.funding_source == f.funding_source)
    if f.warranty_before:
        stmt = stmt.where(DEVICE.warranty_ends_on < f.warranty_before)
    if f.os or f.category or f.catalogue_item_code:
        items = select(CATALOGUE_ITEM.id)
        if f.os:
            items = items.where(CATALOGUE_ITEM.os == f.os)
        if f.category:
            items = items.where(CATALOGUE_ITEM.category == f.category)
        if f.catalogue_item_code:
            items = items.where(CATALOGUE_ITEM.code == f.catalogue_item_code)
        stmt = stmt.where(DEVICE.catalogue_item_id.in_(items))
    if f.q:
        prefix = _escape_like(f.q.strip().upper()) + "%"
        stmt = stmt.where(or_(DEVICE.serial_number.like(prefix), DEVICE.asset_tag.like(prefix)))
    return stmt
