"""SQL of device searches: their filters, the tenancy condition and the orders; a page of
rows for JSON, a batch of devices for CSV, and a count."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Enum,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    Uuid,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from inventory_service.models import CatalogueItem, Device, Institution, Municipality
from inventory_service.schemas import DeviceFilters, DeviceRead
from shared_kit.pagination import decode_cursor
from shared_kit.prepared import Prepared
from shared_kit.tenancy import Scope

# A device without a warranty end sorts after every date (keyset needs a value, not NULL);
# the indexes of migration 0005 are on the same expression.
NO_WARRANTY_END = dt.date(9999, 12, 31)
# The device table's columns: conditions on them keep a statement plain Core (no ORM entity),
# so a search that selects columns runs without the ORM's per-statement and per-row work.
DEVICE = Device.__table__.c
WARRANTY_ORDER = func.coalesce(DEVICE.warranty_ends_on, literal_column("'9999-12-31'::date", Date))
# The orders a device search offers: name (a field of the device) → its SQL key (then the id).
DEVICE_SORTS: dict[str, ColumnElement[Any]] = {
    "asset_tag": DEVICE.asset_tag,
    "serial_number": DEVICE.serial_number,
    "created_at": DEVICE.created_at,
    "status": DEVICE.status,
    "warranty_ends_on": WARRANTY_ORDER,
}
# What a search page shows of each device: DeviceRead's fields, in its order.
READ_FIELDS = tuple(DeviceRead.model_fields)


def _as_json_reads(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column as a page's JSON takes it, with the least work per value: UUIDs and amounts
    (the price's fixed scale) as the text PostgreSQL writes, which is what `fastjson` writes of
    them, without its Python fallback per value; enums as their text (no enum object made and
    read back); JSON as its text, parsed by orjson in `as_read` (not json.loads through
    SQLAlchemy's codec); the rest as it is. `TestTheAnswer` holds the bytes to pydantic's."""
    kind = column.type
    if isinstance(kind, Uuid | Numeric | JSONB):
        return cast(column, Text).label(column.key)
    if isinstance(kind, Enum):
        return type_coerce(column, String).label(column.key)
    return column


READ_COLUMNS = [_as_json_reads(DEVICE[name]) for name in READ_FIELDS]
_ACCESSORIES = READ_FIELDS.index("accessories")
MUNICIPALITY, INSTITUTION, CATALOGUE_ITEM = (
    Municipality.__table__.c,
    Institution.__table__.c,
    CatalogueItem.__table__.c,
)


def sort_key(sort: str, device: Device) -> tuple[Any, ...]:
    """The keyset position of a device in a sort order (`-` first: descending)."""
    return _position(sort, getattr(device, sort.lstrip("-")), device.id)


def read_key(sort: str, read: dict[str, Any]) -> tuple[Any, ...]:
    """The keyset position of a page's device (`as_read`) in a sort order."""
    return _position(sort, read[sort.lstrip("-")], read["id"])


def _position(sort: str, value: Any, device_id: Any) -> tuple[Any, ...]:
    if value is None and sort.lstrip("-") == "warranty_ends_on":
        value = NO_WARRANTY_END
    return (value, device_id)


def as_read(row: Sequence[Any]) -> dict[str, Any]:
    """A row of `page` as DeviceRead's fields."""
    read = dict(zip(READ_FIELDS, row, strict=True))
    read["accessories"] = orjson.loads(row[_ACCESSORIES])
    return read


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# A search's SQL depends on which conditions it has, not on their values: the conditions take
# named parameters, and each shape's statement is built and compiled once (`_page_statement`).
# A list (statuses, tenants) is one parameter a value (`statuses_0`, `statuses_1`, …), so its
# length is part of the shape and the statement needs no expanding at each call.
Shape = tuple[str, tuple[str, ...]]


def _shape(f: DeviceFilters, scope: Scope) -> tuple[Shape, dict[str, Any]]:
    """The shape of a search (its tenancy condition and filters) and the values they take."""
    values: dict[str, Any] = {}
    tenancy = _tenancy(scope, f, values)
    for name, value in (
        ("municipality", f.municipality_code),
        ("institution", f.institution_number),
        ("statuses", list(f.statuses)),
        ("funding_source", f.funding_source),
        ("warranty_before", f.warranty_before),
        ("os", f.os),
        ("category", f.category),
        ("catalogue_item", f.catalogue_item_code),
        ("q", _escape_like(f.q.strip().upper()) + "%" if f.q else None),
    ):
        if isinstance(value, list):  # each value once: a shape per count, at most eight
            _spread(values, name, sorted(set(value)))
        elif value:
            values[name] = value
    return (tenancy, tuple(values)), values


def _spread(values: dict[str, Any], name: str, items: list[Any]) -> None:
    """A list's values as numbered parameters: `name_0`, `name_1`, …"""
    values.update({f"{name}_{i}": item for i, item in enumerate(items)})


def _listed(names: tuple[str, ...], name: str, kind: Any) -> list[BindParameter[Any]]:
    """The numbered parameters of list `name` in a shape (none: not in it)."""
    return [bindparam(n, type_=kind) for n in names if n.startswith(f"{name}_")]


def _tenancy(scope: Scope, f: DeviceFilters, values: dict[str, Any]) -> str:
    """The tenancy condition's shape ("" when nothing needs restricting), its values added."""
    if scope.everything:
        return ""
    codes, numbers = scope.municipality_codes, scope.institution_numbers
    if f.municipality_code and f.municipality_code in codes:
        return ""  # the municipality filter alone keeps the search inside the scope
    for one, many, tenants in (
        ("tenant_municipality", "tenant_municipalities", codes),
        ("tenant_institution", "tenant_institutions", numbers),
    ):
        if len(tenants) == 1:
            values[one] = next(iter(tenants))
        elif tenants:
            _spread(values, many, sorted(tenants))
    return "restricted"


@functools.lru_cache(maxsize=256)
def _conditions(shape: Shape) -> tuple[ColumnElement[bool], ...]:
    """The WHERE conditions of a search of this shape, on named parameters."""
    tenancy, names = shape
    found = [_tenancy_condition(names)] if tenancy else []
    if "municipality" in names:
        found.append(DEVICE.municipality_id == _id_of(MUNICIPALITY.code, "municipality"))
    if "institution" in names:
        found.append(
            DEVICE.institution_id == _id_of(INSTITUTION.registration_number, "institution")
        )
    if statuses := _listed(names, "statuses", DEVICE.status.type):
        found.append(DEVICE.status.in_(statuses))
    if "funding_source" in names:
        found.append(DEVICE.funding_source == bindparam("funding_source"))
    if "warranty_before" in names:
        found.append(DEVICE.warranty_ends_on < bindparam("warranty_before"))
    items = [
        CATALOGUE_ITEM[column] == bindparam(name)
        for name, column in (("os", "os"), ("category", "category"), ("catalogue_item", "code"))
        if name in names
    ]
    if items:
        found.append(DEVICE.catalogue_item_id.in_(select(CATALOGUE_ITEM.id).where(*items)))
    if "q" in names:
        prefix: BindParameter[str] = bindparam("q")
        found.append(or_(DEVICE.serial_number.like(prefix), DEVICE.asset_tag.like(prefix)))
    return tuple(found)


def _tenancy_condition(names: tuple[str, ...]) -> ColumnElement[bool]:
    """The devices of the caller's municipalities or institutions (neither: none at all)."""
    # No OR with an empty side, and `=` for a single tenant: the planner can then walk the
    # (tenant, asset_tag, id) indexes in order and stop after one page instead of sorting.
    parts = []
    for column, natural_key, one, many in (
        (DEVICE.municipality_id, MUNICIPALITY.code, "tenant_municipality", "tenant_municipalities"),
        (
            DEVICE.institution_id,
            INSTITUTION.registration_number,
            "tenant_institution",
            "tenant_institutions",
        ),
    ):
        if one in names:
            parts.append(column == _id_of(natural_key, one))
        elif listed := _listed(names, many, natural_key.type):
            ids = select(natural_key.table.c.id)
            parts.append(column.in_(ids.where(natural_key.in_(listed))))
    return or_(*parts) if parts else false()


def _id_of(natural_key: Any, name: str) -> Any:
    """The id of the row whose natural key is the value of parameter `name`."""
    return select(natural_key.table.c.id).where(natural_key == bindparam(name)).scalar_subquery()


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
        shape, values = _shape(filters, scope)
        descending = sort.startswith("-") != backwards
        stmt = _ordered(select(Device).where(*_conditions(shape)), sort, descending, bool(cursor))
        if with_references:
            stmt = stmt.options(joinedload(Device.catalogue_item), joinedload(Device.institution))
        params = {**values, **_page_values(sort, cursor, limit)}
        return (await self.session.scalars(stmt, params)).all()

    async def page(
        self,
        filters: DeviceFilters,
        scope: Scope,
        sort: str,
        cursor: str | None,
        limit: int,
        *,
        backwards: bool = False,
    ) -> list[asyncpg.Record]:
        """Like `search`, as rows of the columns a search page shows: no ORM objects, since
        the rows go straight to JSON, run by asyncpg (`Prepared`)."""
        shape, values = _shape(filters, scope)
        descending = sort.startswith("-") != backwards
        stmt = _page_statement(shape, sort, descending, bool(cursor))
        params = {**values, **_page_values(sort, cursor, limit)}
        return await stmt.fetch(self.session, params)

    async def count(self, filters: DeviceFilters, scope: Scope) -> int:
        """How many devices match the filters inside the scope."""
        shape, values = _shape(filters, scope)
        stmt = select(func.count(DEVICE.id)).where(*_conditions(shape))
        return int(await self.session.scalar(stmt, values) or 0)


@functools.lru_cache(maxsize=1024)
def _page_statement(shape: Shape, sort: str, descending: bool, after: bool) -> Prepared:
    """The statement of a search page of this shape (built once: see Shape)."""
    stmt = select(*READ_COLUMNS).where(*_conditions(shape))
    return Prepared(_ordered(stmt, sort, descending, after))


def _keys(sort: str) -> list[ColumnElement[Any]]:
    """The keyset columns of a sort order: its field, then the id."""
    return [DEVICE_SORTS[sort.lstrip("-")], DEVICE.id]


def _ordered(stmt: Select[Any], sort: str, descending: bool, after: bool) -> Select[Any]:
    """Keyset pagination on parameters: in the sort's order (all keys one way), after the
    cursor's position when there is one, one row more than the page to see more."""
    keys = _keys(sort)
    if after:
        start = tuple_(*(bindparam(f"after_{i}", type_=k.type) for i, k in enumerate(keys)))
        stmt = stmt.where(tuple_(*keys) < start if descending else tuple_(*keys) > start)
    order = [k.desc() for k in keys] if descending else keys
    return stmt.order_by(*order).limit(bindparam("limit", type_=Integer))


def _page_values(sort: str, cursor: str | None, limit: int) -> dict[str, Any]:
    """The pagination parameters' values (InvalidCursor for a cursor we did not issue)."""
    values: dict[str, Any] = {"limit": limit + 1}
    if cursor:
        after = decode_cursor(cursor, _keys(sort))
        values.update({f"after_{i}": v for i, v in enumerate(after)})
    return values
