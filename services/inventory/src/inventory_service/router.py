"""HTTP endpoints of the inventory under `/api/v1/inventory`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from inventory_service import importer, service
from inventory_service.deps import (
    LockedDevice,
    Reader,
    Settings,
    ValidCatalogueItem,
    ValidDevice,
    ValidInstitution,
    ValidMunicipality,
)
from inventory_service.models import (
    Category,
    DeviceStatus,
    FundingSource,
    OperatingSystem,
)
from inventory_service.repository import (
    CatalogueRepository,
    DeviceFilters,
    HistoryRepository,
    InstitutionRepository,
    MunicipalityRepository,
)
from inventory_service.schemas import (
    CatalogueItemCreate,
    CatalogueItemRead,
    CatalogueItemUpdate,
    DeviceCreate,
    DeviceRead,
    DeviceTransition,
    DeviceUpdate,
    HistoryRead,
    ImportReport,
    InstitutionCreate,
    InstitutionRead,
    InstitutionUpdate,
    MunicipalityCreate,
    MunicipalityRead,
    MunicipalityUpdate,
)
from shared_kit.auth import CurrentPrincipal
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import SessionDep
from shared_kit.fields import ATVK_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response
from shared_kit.problems import problem_responses

PREFIX = "/api/v1/inventory"
router = APIRouter(prefix=PREFIX, responses=problem_responses(400, 401, 403, 422, 503))
READ = problem_responses(404)
WRITE = problem_responses(404, 409, 412)


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


# Municipalities -----------------------------------------------------------------------------


@router.post(
    "/municipalities",
    status_code=201,
    response_model=MunicipalityRead,
    tags=["reference data"],
    responses=problem_responses(409),
)
async def create_municipality(
    body: MunicipalityCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    idem: IdempotencyDep,
):
    """Register a municipality (platform administrators)."""
    if replay := await idem.replay(body):
        return replay
    municipality = await service.create_municipality(
        session=session, principal=principal, data=body
    )
    return idem.respond(
        201, MunicipalityRead.model_validate(municipality), {"ETag": etag(municipality.version)}
    )


@router.get("/municipalities", response_model=Page[MunicipalityRead], tags=["reference data"])
async def list_municipalities(
    session: SessionDep, principal: Reader, cursor: CursorParam = None, limit: LimitParam = 50
):
    """Municipalities you may see, ordered by code."""
    scope = service.scope_for(principal)
    rows = await MunicipalityRepository(session).page(scope, cursor, limit)
    items, nxt = page_of(rows, limit, lambda m: (m.code,))
    return page_response([MunicipalityRead.model_validate(m) for m in items], nxt)


@router.get(
    "/municipalities/{code}",
    response_model=MunicipalityRead,
    tags=["reference data"],
    responses=READ,
)
async def get_municipality(municipality: ValidMunicipality, response: Response):
    """One municipality."""
    _etag(response, municipality.version)
    return municipality


@router.patch(
    "/municipalities/{code}",
    response_model=MunicipalityRead,
    tags=["reference data"],
    responses=WRITE,
)
async def update_municipality(
    body: MunicipalityUpdate,
    municipality: ValidMunicipality,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Rename a municipality (platform administrators)."""
    municipality = await service.rename_municipality(
        session=session,
        principal=principal,
        municipality=municipality,
        name=body.name,
        if_match=if_match,
    )
    _etag(response, municipality.version)
    return municipality


# Institutions -------------------------------------------------------------------------------


@router.post(
    "/institutions",
    status_code=201,
    response_model=InstitutionRead,
    tags=["reference data"],
    responses=problem_responses(404, 409),
)
async def create_institution(
    body: InstitutionCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    idem: IdempotencyDep,
):
    """Register an education institution in a municipality you manage."""
    if replay := await idem.replay(body):
        return replay
    institution = await service.create_institution(session=session, principal=principal, data=body)
    return idem.respond(
        201, InstitutionRead.model_validate(institution), {"ETag": etag(institution.version)}
    )


@router.get("/institutions", response_model=Page[InstitutionRead], tags=["reference data"])
async def list_institutions(
    session: SessionDep,
    principal: Reader,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    municipality: Annotated[str | None, Query(pattern=ATVK_PATTERN)] = None,
):
    """Institutions you may see, ordered by registration number."""
    scope = service.scope_for(principal)
    rows = await InstitutionRepository(session).page(scope, municipality, cursor, limit)
    items, nxt = page_of(rows, limit, lambda i: (i.registration_number,))
    return page_response([InstitutionRead.model_validate(i) for i in items], nxt)


@router.get(
    "/institutions/{number}",
    response_model=InstitutionRead,
    tags=["reference data"],
    responses=READ,
)
async def get_institution(institution: ValidInstitution, response: Response):
    """One institution."""
    _etag(response, institution.version)
    return institution


@router.patch(
    "/institutions/{number}",
    response_model=InstitutionRead,
    tags=["reference data"],
    responses=WRITE,
)
async def update_institution(
    body: InstitutionUpdate,
    institution: ValidInstitution,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Rename an institution."""
    institution = await service.rename_institution(
        session=session,
        principal=principal,
        institution=institution,
        name=body.name,
        if_match=if_match,
    )
    _etag(response, institution.version)
    return institution


# Catalogue ----------------------------------------------------------------------------------


@router.post(
    "/catalogue-items",
    status_code=201,
    response_model=CatalogueItemRead,
    tags=["catalogue"],
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
    item = await service.create_catalogue_item(session=session, principal=principal, data=body)
    return idem.respond(201, CatalogueItemRead.model_validate(item), {"ETag": etag(item.version)})


@router.get("/catalogue-items", response_model=Page[CatalogueItemRead], tags=["catalogue"])
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
    rows = await CatalogueRepository(session).page(category, os, active, cursor, limit)
    items, nxt = page_of(rows, limit, lambda c: (c.code,))
    return page_response([CatalogueItemRead.model_validate(c) for c in items], nxt)


@router.get(
    "/catalogue-items/{code}", response_model=CatalogueItemRead, tags=["catalogue"], responses=READ
)
async def get_catalogue_item(item: ValidCatalogueItem, response: Response):
    """One catalogue item."""
    _etag(response, item.version)
    return item


@router.patch(
    "/catalogue-items/{code}", response_model=CatalogueItemRead, tags=["catalogue"], responses=WRITE
)
async def update_catalogue_item(
    body: CatalogueItemUpdate,
    item: ValidCatalogueItem,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Change a catalogue item (warranty terms stay as procured)."""
    item = await service.update_catalogue_item(
        session=session, principal=principal, item=item, data=body, if_match=if_match
    )
    _etag(response, item.version)
    return item


# Device imports (before /devices/{id} so the paths never clash) -----------------------------


@router.post(
    "/devices/imports",
    response_model=ImportReport,
    tags=["devices"],
    responses=problem_responses(404, 409, 413, 415),
    openapi_extra={"description": importer.CSV_HELP},
)
async def import_devices(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: Settings,
    idem: IdempotencyDep,
    file: Annotated[UploadFile, File(description="CSV of the delivery (UTF-8)")],
    municipality: Annotated[str, Form(pattern=ATVK_PATTERN)],
    mode: Annotated[Literal["all_or_nothing", "valid_rows"], Form()] = "all_or_nothing",
    dry_run: Annotated[bool, Form()] = False,
):
    """Import a delivery from CSV; rows already imported are reported `unchanged`."""
    content = await importer.read_upload(file, settings.import_max_bytes)
    if replay := await idem.replay(content + f"|{municipality}|{mode}|{dry_run}".encode()):
        return replay
    report = await importer.import_csv(
        session=session,
        principal=principal,
        content=content,
        filename=file.filename,
        municipality_code=municipality,
        mode=mode,
        dry_run=dry_run,
        settings=settings,
    )
    return idem.respond(200, report)


@router.get(
    "/devices/imports/{import_id}", response_model=ImportReport, tags=["devices"], responses=READ
)
async def get_import(import_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    """The report of an earlier import."""
    record = await service.get_import(session=session, principal=principal, import_id=import_id)
    return importer.report_of(record)


# Devices ------------------------------------------------------------------------------------


@router.post(
    "/devices",
    status_code=201,
    response_model=DeviceRead,
    tags=["devices"],
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
    device = await service.register_device(session=session, principal=principal, data=body)
    headers = {"ETag": etag(device.version), "Location": f"{PREFIX}/devices/{device.id}"}
    return idem.respond(201, DeviceRead.model_validate(device), headers)


@router.get("/devices", response_model=Page[DeviceRead], tags=["devices"])
async def search_devices(
    session: SessionDep,
    principal: Reader,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
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
    sort: Literal["asset_tag", "serial_number", "created_at"] = "asset_tag",
):
    """Search devices you may see; stable order by `sort` then id."""
    filters = DeviceFilters(
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
    rows = await service.search_devices(
        session=session,
        principal=principal,
        filters=filters,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    items, nxt = page_of(rows, limit, lambda d: (getattr(d, sort), d.id))
    return page_response([DeviceRead.model_validate(d) for d in items], nxt)


@router.get("/devices/{device_id}", response_model=DeviceRead, tags=["devices"], responses=READ)
async def get_device(device: ValidDevice, response: Response):
    """One device."""
    _etag(response, device.version)
    return device


@router.patch("/devices/{device_id}", response_model=DeviceRead, tags=["devices"], responses=WRITE)
async def update_device(
    body: DeviceUpdate,
    device: LockedDevice,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
):
    """Change device attributes or assign it to an institution."""
    device = await service.update_device(
        session=session,
        principal=principal,
        device=device,
        data=body,
        if_match=if_match,
    )
    _etag(response, device.version)
    return device


@router.post(
    "/devices/{device_id}/transitions", response_model=DeviceRead, tags=["devices"], responses=WRITE
)
async def transition_device(
    body: DeviceTransition,
    device: LockedDevice,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
):
    """Move a device to another status (illegal transitions are 409)."""
    device = await service.transition_device(
        session=session,
        principal=principal,
        device=device,
        to=body.to,
        reason=body.reason,
        if_match=if_match,
    )
    _etag(response, device.version)
    return device


@router.get(
    "/devices/{device_id}/history",
    response_model=Page[HistoryRead],
    tags=["devices"],
    responses=READ,
)
async def device_history(
    device: ValidDevice,
    session: SessionDep,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """Every change of the device, oldest first: who, when, what."""
    rows = await HistoryRepository(session).for_device(device.id, cursor, limit)
    items, nxt = page_of(rows, limit, lambda h: (h.seq,))
    return page_response([HistoryRead.model_validate(h) for h in items], nxt)
