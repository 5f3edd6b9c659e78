"""Devices: registration, search, reads, edits, status transitions and history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from inventory_service.deps import LockedDevice, Reader, ValidDevice
from inventory_service.models import Category, DeviceStatus, FundingSource, OperatingSystem
from inventory_service.router.base import COMMON, PREFIX, READ, WRITE, set_etag
from inventory_service.schemas import (
    DeviceCount,
    DeviceCreate,
    DeviceFilters,
    DevicePage,
    DeviceRead,
    DeviceSort,
    DeviceTransition,
    DeviceUpdate,
    HistoryRead,
    TransitionsRead,
)
from inventory_service.service import devices, export, history, states
from shared_kit.auth import CurrentPrincipal
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import ReadSessionDep, SessionDep
from shared_kit.downloads import download_headers
from shared_kit.fastjson import FastJSONResponse
from shared_kit.fields import ATVK_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response
from shared_kit.problems import Unprocessable, field_error, problem_responses

router = APIRouter(prefix=PREFIX, responses=COMMON, tags=["devices"])


@router.post(
    "/devices",
    status_code=201,
    response_model=DeviceRead,
    responses=problem_responses(404, 409),
)
async def register_device(
    body: DeviceCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    idem: IdempotencyDep,
):
    """Register one device."""
    if replay := await idem.replay(body):
        return replay
    device = await devices.register_device(session=session, principal=principal, data=body)
    headers = {"ETag": etag(device.version), "Location": f"{PREFIX}/devices/{device.id}"}
    return idem.respond(201, DeviceRead.model_validate(device), headers)


async def device_filters(
    municipality: Annotated[str | None, Query(pattern=ATVK_PATTERN)] = None,
    institution: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[list[DeviceStatus], Query()] = [],  # noqa: B006 - FastAPI query list
    os: OperatingSystem | None = None,
    category: Category | None = None,
    funding_source: FundingSource | None = None,
    catalogue_item: Annotated[str | None, Query(max_length=60)] = None,
    warranty_before: dt.date | None = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Prefix of a serial number or asset tag"),
    ] = None,
) -> DeviceFilters:
    """The search's filters from the query (the same for the page, the count and the CSV)."""
    # async: FastAPI runs a plain `def` dependency in a thread pool, a hop on every search.
    return DeviceFilters(
        municipality_code=municipality,
        institution_number=institution,
        statuses=status,
        os=os,
        category=category,
        funding_source=funding_source,
        catalogue_item_code=catalogue_item.upper() if catalogue_item else None,
        warranty_before=warranty_before,
        q=q,
    )


Filters = Annotated[DeviceFilters, Depends(device_filters)]
SortParam = Annotated[
    DeviceSort,
    Query(description="Order by this field, or descending with `-` first; then by id"),
]
CSV = "text/csv"


def wants_csv(format: str | None, accept: str | None) -> bool:
    """CSV when asked by `format=csv`, or by an Accept header that prefers it to JSON."""
    if format is not None:
        return format == "csv"
    types = [part.split(";")[0].strip() for part in (accept or "").split(",")]
    return CSV in types and "application/json" not in types[: types.index(CSV)]


@router.get(
    "/devices",
    response_model=DevicePage,
    responses={
        200: {"content": {CSV: {}}, "description": "A page (JSON), or every device (CSV)"},
        **problem_responses(400),
    },
)
async def search_devices(
    request: Request,
    session: ReadSessionDep,
    principal: Reader,
    filters: Filters,
    cursor: CursorParam = None,
    before: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_-]{1,2000}$", description="`prev_cursor`: the page before"),
    ] = None,
    limit: LimitParam = 50,
    sort: SortParam = "asset_tag",
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="`csv`: every device found (no pages), as `Accept: text/csv` does"),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Search devices you may see; stable order by `sort` then id. As CSV (`format=csv` or
    `Accept: text/csv`): every device found, streamed, up to 100,000."""
    if wants_csv(format, accept):
        await export.check_export(session=session, principal=principal, filters=filters)
        body = export.export_csv(
            request.app.state.sessions, principal=principal, filters=filters, sort=sort
        )
        headers = download_headers("devices.csv")
        return StreamingResponse(body, media_type=f"{CSV}; charset=utf-8", headers=headers)
    if cursor and before:
        raise Unprocessable(
            "Give `cursor` or `before`, not both",
            errors=[field_error(("query", "before"), "not with cursor", "conflicting")],
        )
    found = await devices.search_devices(
        session=session,
        principal=principal,
        filters=filters,
        sort=sort,
        cursor=cursor,
        before=before,
        limit=limit,
    )
    # The rows go straight to JSON: DevicePage's fields, written as pydantic would write them.
    page = {
        "items": found.items,
        "next_cursor": found.next_cursor,
        "prev_cursor": found.prev_cursor,
    }
    return FastJSONResponse(page)


@router.get("/devices/count", response_model=DeviceCount)
async def count_devices(session: ReadSessionDep, principal: Reader, filters: Filters):
    """How many devices a search with these filters finds."""
    found = await devices.count_devices(session=session, principal=principal, filters=filters)
    return DeviceCount(count=found)


@router.get("/devices/{device_id}", response_model=DeviceRead, responses=READ)
async def get_device(device: ValidDevice, response: Response):
    """One device."""
    set_etag(response, device.version)
    return device


@router.patch("/devices/{device_id}", response_model=DeviceRead, responses=WRITE)
async def update_device(
    body: DeviceUpdate,
    device: LockedDevice,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
):
    """Change device attributes or assign it to an institution."""
    device = await devices.update_device(
        session=session, principal=principal, device=device, data=body, if_match=if_match
    )
    set_etag(response, device.version)
    return device


@router.get("/devices/{device_id}/transitions", response_model=TransitionsRead, responses=READ)
async def device_transitions(device: ValidDevice, principal: CurrentPrincipal, response: Response):
    """The statuses you may move the device to now (its ETag: the version they hold for)."""
    set_etag(response, device.version)
    allowed = states.allowed_transitions(principal, device)
    return TransitionsRead(status=device.status, allowed=allowed)


@router.post("/devices/{device_id}/transitions", response_model=DeviceRead, responses=WRITE)
async def transition_device(
    body: DeviceTransition,
    device: LockedDevice,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
):
    """Move a device to another status (illegal transitions are 409)."""
    device = await states.transition_device(
        session=session,
        principal=principal,
        device=device,
        to=body.to,
        reason=body.reason,
        if_match=if_match,
    )
    set_etag(response, device.version)
    return device


@router.get("/devices/{device_id}/history", response_model=Page[HistoryRead], responses=READ)
async def device_history(
    device: ValidDevice,
    session: ReadSessionDep,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """Every change of the device, oldest first: who, when, what."""
    rows = await history.device_history(session=session, device=device, cursor=cursor, limit=limit)
    items, nxt = page_of(rows, limit, lambda h: (h.seq,))
    return page_response([HistoryRead.model_validate(h) for h in items], nxt)
