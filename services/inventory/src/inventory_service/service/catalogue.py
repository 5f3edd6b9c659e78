"""The procurement catalogue: models a municipality can buy, with their base configuration."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service.exceptions import CatalogueItemNotFound, DuplicateCode
from inventory_service.models import CatalogueItem, Category, OperatingSystem
from inventory_service.repository import CatalogueRepository
from inventory_service.schemas import CatalogueItemCreate, CatalogueItemUpdate
from inventory_service.service import access
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match


async def create_catalogue_item(
    *, session: AsyncSession, principal: Principal, data: CatalogueItemCreate
) -> CatalogueItem:
    """Add a catalogue item."""
    access.ensure_catalogue_editor(principal)
    if await CatalogueRepository(session).by_code(data.code):
        raise DuplicateCode(f"Catalogue item {data.code} already exists")
    item = CatalogueItem(
        **data.model_dump(mode="python", exclude={"options"}), options=data.options.model_dump()
    )
    session.add(item)
    await session.flush()
    return item


async def update_catalogue_item(
    *,
    session: AsyncSession,
    principal: Principal,
    item: CatalogueItem,
    data: CatalogueItemUpdate,
    if_match: str | None,
) -> CatalogueItem:
    """Change a catalogue item's descriptive fields."""
    access.ensure_catalogue_editor(principal)
    check_if_match(if_match, item.version)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(item, name, value)
    await session.flush()
    return item


async def get_catalogue_item(*, session: AsyncSession, code: str) -> CatalogueItem:
    """A catalogue item by code."""
    item = await CatalogueRepository(session).by_code(code)
    if item is None:
        raise CatalogueItemNotFound(f"No catalogue item with code {code}")
    return item


async def list_catalogue_items(
    *,
    session: AsyncSession,
    category: Category | None,
    os: OperatingSystem | None,
    active: bool | None,
    cursor: str | None,
    limit: int,
) -> Sequence[CatalogueItem]:
    """A page of catalogue items, by code (every reader sees the whole catalogue)."""
    return await CatalogueRepository(session).page(category, os, active, cursor, limit)
