"""Bulk imports of deliveries from CSV: at once, or in the background with progress."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from inventory_service import importer
from inventory_service.deps import Settings
from inventory_service.exceptions import InvalidImport
from inventory_service.router.base import COMMON, PREFIX, READ
from inventory_service.schemas import ImportReport, ImportSummary
from inventory_service.service import import_jobs, imports
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import SessionDep
from shared_kit.downloads import file_response
from shared_kit.fields import ATVK_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_response
from shared_kit.problems import field_error, problem_responses

router = APIRouter(prefix=PREFIX, responses=COMMON, tags=["devices"])
IMPORTS = "/devices/imports"
BACKGROUND_HELP = (
    " With `background=true` the file is checked and queued: the answer is 202 with the "
    "import's `Location`, where `state` (queued, running, done, failed) and `processed_rows` "
    "of `total_rows` follow its progress; the report is the same as a synchronous import's."
)


@router.post(
    IMPORTS,
    response_model=ImportReport,
    responses={202: {"model": ImportReport}, **problem_responses(404, 409, 413, 415)},
    openapi_extra={"description": importer.CSV_HELP + BACKGROUND_HELP},
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
    background: Annotated[bool, Form(description="Queue the import; 202")] = False,
):
    """Import a delivery from CSV; rows already imported are reported `unchanged`."""
    if background and dry_run:
        detail = "A dry run answers at once; it is not run in the background"
        raise InvalidImport(detail, errors=[field_error(("body", "background"), detail, "dry_run")])
    content = await importer.read_upload(file, settings.import_max_bytes)
    options = f"|{municipality}|{mode}|{dry_run}" + ("|background" if background else "")
    if replay := await idem.replay(content + options.encode()):
        return replay
    if background:
        queued = await import_jobs.queue_import(
            session=session,
            principal=principal,
            content=content,
            filename=file.filename,
            municipality_code=municipality,
            mode=mode,
            max_rows=settings.import_max_rows,
        )
        return idem.respond(202, queued, {"Location": f"{PREFIX}{IMPORTS}/{queued.id}"})
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


@router.get(IMPORTS, response_model=Page[ImportSummary])
async def list_imports(
    session: SessionDep,
    principal: CurrentPrincipal,
    municipality: Annotated[str | None, Query(pattern=ATVK_PATTERN)] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
) -> Response:
    """Earlier imports, the newest first: who, when, which file, how far, what came of it."""
    items, next_cursor = await import_jobs.list_imports(
        session=session,
        principal=principal,
        municipality_code=municipality,
        cursor=cursor,
        limit=limit,
    )
    return page_response(items, next_cursor)


@router.get(IMPORTS + "/{import_id}", response_model=ImportReport, responses=READ)
async def get_import(import_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    """The report of an import, or the progress of one still running."""
    return await imports.get_import(session=session, principal=principal, import_id=import_id)


@router.get(
    IMPORTS + "/{import_id}/rejected.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **READ},
)
async def rejected_rows(
    import_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The rejected rows in the file's own columns plus `error`: fix them and upload again."""
    text = await import_jobs.rejected_csv(session=session, principal=principal, import_id=import_id)
    # A byte order mark, so that spreadsheet programs read the UTF-8 (the import accepts it).
    return file_response(
        ("\ufeff" + text).encode(),
        media_type="text/csv; charset=utf-8",
        filename=f"rejected-{import_id}.csv",
    )
