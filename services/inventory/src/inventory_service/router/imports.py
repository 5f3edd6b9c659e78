"""Bulk imports of deliveries from CSV."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile

from inventory_service import importer
from inventory_service.deps import Settings
from inventory_service.router.base import COMMON, PREFIX, READ
from inventory_service.schemas import ImportReport
from inventory_service.service import imports
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import SessionDep
from shared_kit.fields import ATVK_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.problems import problem_responses

router = APIRouter(prefix=PREFIX, responses=COMMON, tags=["devices"])


@router.post(
    "/devices/imports",
    response_model=ImportReport,
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
    report = await imports.import_csv(
        session=session,
        principal=principal,
        content=content,
        filename=file.filename,
        municipality_code=municipality,
        mode=mode,
        dry_run=dry_run,
        max_rows=settings.import_max_rows,
    )
    return idem.respond(200, report)


@router.get("/devices/imports/{import_id}", response_model=ImportReport, responses=READ)
async def get_import(import_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    """The report of an earlier import."""
    return await imports.get_import(session=session, principal=principal, import_id=import_id)
