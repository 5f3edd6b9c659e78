"""The procurement catalogue."""

from __future__ import annotations

from fastapi import APIRouter, Response

from inventory_service.deps import Reader, ValidCatalogueItem
from inventory_service.models import Category, OperatingSystem
from inventory_service.router.base import COMMON, PREFIX, READ, WRITE, set_etag
from inventory_service.schemas import CatalogueItemCreate, CatalogueItemRead, CatalogueItemUpdate
from inventory_service.service import catalogue
from shared_kit.auth import CurrentPrincipal
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import SessionDep
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response
from shared_kit.problems import problem_responses

router = APIRouter(prefix=PREFIX, responses=COMMON, tags=["catalogue"])


@router.post(
    "/catalogue-items",
    status_code=201,
    response_model=CatalogueItemRead,
    responses=problem_responses(409),
)
async def create_catalogue_item(
    body: CatalogueItemCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    idem: IdempotencyDep,
):
    """Add a catalogue item (a model with its base configuration and options)."""
    if replay := await idem.replay(body):
        return replay
    item = await catalogue.create_catalogue_item(session=session, principal=principal, data=body)
    return idem.respond(201, CatalogueItemRead.model_validate(item), {"ETag": etag(item.version)})


@router.get("/catalogue-items", response_model=Page[CatalogueItemRead])
async def list_catalogue_items(
    session: SessionDep,
    _: Reader,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    category: Category | None = None,
    os: OperatingSystem | None = None,
    active: bool | None = None,
):
    """Catalogue items, ordered by code."""
    rows = await catalogue.list_catalogue_items(
        session=session, category=category, os=os, active=active, cursor=cursor, limit=limit
    )
    items, nxt = page_of(rows, limit, lambda c: (c.code,))
    return page_response([CatalogueItemRead.model_validate(c) for c in items], nxt)


@router.get("/catalogue-items/{code}", response_model=CatalogueItemRead, responses=READ)
async def get_catalogue_item(item: ValidCatalogueItem, response: Response):
    """One catalogue item."""
    set_etag(response, item.version)
    return item


@router.patch("/catalogue-items/{code}", response_model=CatalogueItemRead, responses=WRITE)
async def update_catalogue_item(
    body: CatalogueItemUpdate,
    item: ValidCatalogueItem,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Change a catalogue item (warranty terms stay as procured)."""
    item = await catalogue.update_catalogue_item(
        session=session, principal=principal, item=item, data=body, if_match=if_match
    )
    set_etag(response, item.version)
    return item
