"""Deliveries (`/municipality/<code>/deliveries`): upload a delivery's CSV, see the dry run's
report row by row, import the valid rows in the background and follow the progress (the page
updates itself with JavaScript, and by reload without), then the final report with the
rejected rows as a CSV to fix and upload again; earlier imports are listed.

The file waits in the web session's draft between the dry run and the import (at most
`delivery_max_bytes`), so the person does not upload it twice; the inventory checks it again
when it imports, and decides.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, Person, PersonApis, Settings
from portal_service.municipality import delivery_labels as labels
from portal_service.municipality.common import (
    INVENTORY,
    PAGE_SIZE,
    Municipality,
    MunicipalityPath,
    municipality_name,
)
from portal_service.municipality.delivery_views import (
    dry_run_summary,
    file_errors,
    import_view,
    list_row,
)
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.drafts import Draft, chosen_files
from portal_service.web.forms import FormErrors, posted_form_key
from portal_service.web.pages import page_router, render_form, render_page
from shared_kit.deps import SessionDep
from shared_kit.downloads import file_response

router = page_router()
BASE = "/municipality/{code}/deliveries"
IMPORTS = f"{INVENTORY}/devices/imports"
Cursor = Annotated[str | None, Query(max_length=2000, pattern=r"^[A-Za-z0-9_-]+$")]


async def delivery_draft(municipality: Municipality, person: Person, session: SessionDep) -> Draft:
    """The delivery being checked in this web session, one per municipality."""
    return Draft(session, person.session.id, f"delivery-{municipality.code}")


DeliveryDraft = Annotated[Draft, Depends(delivery_draft)]


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def _upload_page(
    request: Request,
    place: MunicipalityPath,
    apis: Apis,
    person: Person,
    cursor: str | None = None,
    errors: FormErrors | None = None,
) -> Response:
    page = await apis.inventory.get(
        IMPORTS, municipality=place.code, limit=PAGE_SIZE, cursor=cursor
    )
    catalogue = await apis.inventory.get(f"{INVENTORY}/catalogue-items", active=True, limit=100)
    return render_form(
        request,
        "municipality/deliveries/upload.html",
        errors,
        place=place,
        place_name=await municipality_name(apis, place.code),
        imports=[list_row(i, person.profile.id, place.base) for i in page.get("items") or []],
        cursor=cursor,
        next_cursor=page.get("next_cursor"),
        catalogue=catalogue.get("items") or [],
        columns=labels.COLUMNS,
        max_mb=request.app.state.settings.delivery_max_bytes // (1024 * 1024),
    )


@router.get(BASE)
async def deliveries(
    request: Request,
    place: Municipality,
    person: Person,
    apis: PersonApis,
    cursor: Cursor = None,
) -> Response:
    """The upload form, the CSV's columns explained, and the earlier imports."""
    return await _upload_page(request, place, apis, person, cursor)


@router.get(BASE + "/example.csv")
async def example(place: Municipality, apis: PersonApis) -> Response:
    """A CSV with the columns and one example row, to fill in."""
    catalogue = await apis.inventory.get(f"{INVENTORY}/catalogue-items", active=True, limit=1)
    schools = await apis.inventory.get(
        f"{INVENTORY}/institutions", municipality=place.code, limit=1
    )
    item = _first(catalogue, "code")
    school = _first(schools, "registration_number")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _, _ in labels.COLUMNS])
    for row in labels.EXAMPLE_ROWS:
        writer.writerow([cell.format(item=item, school=school) for cell in row])
    return file_response(
        ("\ufeff" + out.getvalue()).encode(),
        media_type="text/csv; charset=utf-8",
        filename="delivery-example.csv",
    )


def _first(page: dict[str, Any], key: str) -> str:
    """A field of a page's first item (empty without one)."""
    items = page.get("items") or []
    return str(items[0].get(key) or "") if items else ""


@router.post(BASE)
async def upload(
    request: Request,
    place: Municipality,
    person: Person,
    apis: PersonApis,
    draft: DeliveryDraft,
    settings: Settings,
) -> Response:
    """Check the file with a dry run; keep it and its report for the next step."""
    files = chosen_files((await request.form()).getlist("file"))
    if not files:
        errors = FormErrors().add("file", labels.NO_FILE)
        return await _upload_page(request, place, apis, person, errors=errors)
    chosen = files[0]
    content = await chosen.read(settings.delivery_max_bytes + 1)
    filename = (chosen.filename or "delivery.csv")[:200]
    if len(content) > settings.delivery_max_bytes:
        mb = settings.delivery_max_bytes // (1024 * 1024)
        errors = FormErrors().add("file", labels.TOO_LARGE, mb=mb)
        return await _upload_page(request, place, apis, person, errors=errors)
    try:
        report = await _send(apis, place.code, filename, content, dry_run=True)
    except ApiProblem as problem:
        return await _upload_page(request, place, apis, person, errors=file_errors(problem))
    await draft.keep_file(filename, "text/csv", content)
    await draft.save(**dry_run_summary(report, filename))
    return _to(f"{place.base}/deliveries/check")


async def _send(
    apis: Apis,
    code: str,
    filename: str,
    content: bytes,
    *,
    dry_run: bool,
    key: str | None = None,
) -> dict[str, Any]:
    """The file to the inventory: a dry run (the report at once), or the import (queued)."""
    form = {"municipality": code, "mode": "valid_rows"}
    form |= {"dry_run": "true"} if dry_run else {"background": "true"}
    answer = await apis.inventory.request(
        "POST",
        IMPORTS,
        data=form,
        files={"file": (filename, content, "text/csv")},
        idempotency_key=key,
        timeout=120,
    )
    return dict(answer.json())


async def _check_page(
    request: Request, place: MunicipalityPath, summary: dict[str, Any], errors: FormErrors | None
) -> Response:
    return render_form(
        request,
        "municipality/deliveries/check.html",
        errors,
        place=place,
        summary=summary,
        form_key=new_form_key(),
    )


@router.get(BASE + "/check")
async def check(request: Request, place: Municipality, draft: DeliveryDraft) -> Response:
    """The dry run's report: which rows would be imported, which are rejected and why."""
    summary = await draft.answers()
    if not summary:
        return _to(f"{place.base}/deliveries")
    return await _check_page(request, place, summary, None)


@router.post(BASE + "/check")
async def start(
    request: Request, place: Municipality, apis: PersonApis, draft: DeliveryDraft
) -> Response:
    """Import the kept file's valid rows in the background; then its progress."""
    kept = await draft.contents()
    if not kept:  # already sent (a second click), or the session's draft is gone
        return _to(f"{place.base}/deliveries")
    key = await posted_form_key(request)
    try:
        queued = await _send(
            apis, place.code, kept[0].filename, kept[0].content, dry_run=False, key=key
        )
    except ApiProblem as problem:
        errors = file_errors(problem, default=labels.CHANGED, field="form")
        return await _check_page(request, place, await draft.answers(), errors)
    await draft.discard()
    return _to(f"{place.base}/deliveries/{queued['id']}")


async def _import(apis: Apis, import_id: uuid.UUID) -> dict[str, Any]:
    """The import's report or progress (another municipality's is not found)."""
    return dict(await apis.inventory.get(f"{IMPORTS}/{import_id}"))


@router.get(BASE + "/{import_id}")
async def progress(
    request: Request, place: Municipality, apis: PersonApis, import_id: uuid.UUID
) -> Response:
    """The import's progress while it runs, its report once it is over."""
    view = import_view(await _import(apis, import_id), place.base)
    return render_page(request, "municipality/deliveries/import.html", place=place, imp=view)


@router.get(BASE + "/{import_id}/status")
async def status(
    request: Request, place: Municipality, apis: PersonApis, import_id: uuid.UUID
) -> Response:
    """The progress part of the page alone, for the page's script to put in place."""
    view = import_view(await _import(apis, import_id), place.base)
    return render_page(request, "municipality/deliveries/_status.html", place=place, imp=view)


@router.get(BASE + "/{import_id}/rejected.csv")
async def rejected(place: Municipality, apis: PersonApis, import_id: uuid.UUID) -> Response:
    """The rejected rows as the inventory gives them: the file's columns plus `error`."""
    answer = await apis.inventory.download(f"{IMPORTS}/{import_id}/rejected.csv")
    return file_response(
        answer.content,
        media_type="text/csv; charset=utf-8",
        filename=f"rejected-rows-{import_id}.csv",
    )
