"""Platforms (`/municipality/<code>/platforms`): the machine clients the municipality's own
systems use (OAuth 2.0 client credentials): the list; a new one, whose secret is shown once,
on the page that answers the form, and never again; a new secret (the old one stops working
at once); revoking one. The gateway decides which permissions (scopes) a municipality may give.
A page with a secret is never stored (no-store) and its address shows nothing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from starlette.datastructures import FormData

from portal_service.deps import PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.municipality.common import GATEWAY, Municipality, MunicipalityPath
from portal_service.municipality.staff import render_console
from portal_service.municipality.staff_forms import moment
from portal_service.web.api import ApiProblem
from portal_service.web.forms import Form, FormErrors, problem_errors
from portal_service.web.pages import page_router

router = page_router()
CLIENTS = f"{GATEWAY}/clients"
SECTION = "/platforms"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ClientId = Annotated[str, Path(pattern=r"^cl_[0-9a-f]{1,60}$")]
Done = Literal["revoked"]
# The permissions in words (the gateway's own description for one the portal does not know).
SCOPE_NAMES: dict[str, str] = {
    "inventory:read": N_("Read devices, the catalogue and reference data"),
    "inventory:write": N_("Register and change the municipality's devices"),
    "reservations:read": N_("Read reservations"),
    "reservations:write": N_("Create and change reservations"),
    "contracts:read": N_("Read loan contracts"),
    "contracts:write": N_("Create and change loan contracts"),
    "tickets:read": N_("Read problem reports"),
    "tickets:write": N_("File and change problem reports"),
    "statistics:read": N_("Read aggregated statistics"),
    "statistics:feed": N_("Read the statistics feed for VIIS"),
}


class ClientForm(Form):
    """A new client: its name and the permissions it gets."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    scopes: Annotated[list[str], Field(min_length=1, max_length=30)]
    messages = {
        "name": N_("Enter a name for the system, like Rīga's school register"),
        "scopes": N_("Choose at least one permission"),
    }


def _form_of(form: FormData) -> dict[str, Any]:
    return {
        "name": form.get("name") or "",
        "scopes": [s for s in form.getlist("scopes") if isinstance(s, str)],
    }


def client_view(client: dict[str, Any]) -> dict[str, Any]:
    """A client as the page shows it: permissions in words, dates as dates."""
    return {
        "client_id": client["client_id"],
        "name": client.get("name") or client["client_id"],
        "scopes": [SCOPE_NAMES.get(s, s) for s in client.get("scopes") or []],
        "active": bool(client.get("active")),
        "created_at": moment(client.get("created_at")),
        "rotated_at": moment(client.get("secret_rotated_at")),
        "revoked_at": moment(client.get("revoked_at")),
    }


async def _scopes(apis: PersonApis) -> list[tuple[str, str]]:
    """The permissions the gateway lets this person give, in words."""
    found = await apis.gateway.get(f"{GATEWAY}/client-scopes")
    return [(s["scope"], SCOPE_NAMES.get(s["scope"], s["description"])) for s in found]


async def _client_of(apis: PersonApis, place: MunicipalityPath, client_id: str) -> Any:
    """A live client of this municipality (anything else is not found)."""
    client = await apis.gateway.get(f"{CLIENTS}/{client_id}")
    if client.get("municipality_code") != place.code or not client.get("active"):
        raise PageNotFound("not a live client of this municipality")
    return client_view(client)


def _secret_page(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(NO_STORE)
    return page


@router.get("/municipality/{code}/platforms")
async def platforms(
    request: Request, place: Municipality, apis: PersonApis, done: Done | None = None
) -> Response:
    """The municipality's machine clients, active first."""
    found = await apis.gateway.get(CLIENTS, municipality_code=place.code, limit=200)
    clients = sorted(
        (client_view(c) for c in found.get("items") or []),
        key=lambda c: (not c["active"], c["name"].casefold()),
    )
    return await render_console(
        request, apis, place, "platforms.html", SECTION, clients=clients, done=done
    )


async def _new_form(
    request: Request,
    apis: PersonApis,
    place: MunicipalityPath,
    errors: FormErrors | None,
    values: dict[str, Any] | None = None,
) -> Response:
    return await render_console(
        request,
        apis,
        place,
        "platforms_new.html",
        SECTION,
        errors=errors,
        values=values or {"name": "", "scopes": []},
        scopes=await _scopes(apis),
    )


@router.get("/municipality/{code}/platforms/new")
async def new_page(request: Request, place: Municipality, apis: PersonApis) -> Response:
    """Register a system: its name and permissions."""
    return await _new_form(request, apis, place, None)


@router.post("/municipality/{code}/platforms/new")
async def create(request: Request, place: Municipality, apis: PersonApis) -> Response:
    """Register the client; its secret is on this answer only."""
    values = _form_of(await request.form())
    try:
        form = ClientForm.model_validate(values)
    except ValidationError as exc:
        return await _new_form(request, apis, place, ClientForm.errors_of(exc), values)
    body = {"name": form.name, "municipality_code": place.code, "scopes": form.scopes}
    try:
        created = await apis.gateway.post(CLIENTS, body)
    except ApiProblem as problem:
        errors = problem_errors(problem, ClientForm.messages, by_type=REFUSALS)
        return await _new_form(request, apis, place, errors, values)
    page = await render_console(
        request, apis, place, "platforms_secret.html", SECTION, client=created, new=True
    )
    return _secret_page(page)


REFUSALS = {
    "unknown-scope": ("scopes", N_("One of these permissions cannot be given. Choose again")),
    "admin-forbidden": ("scopes", N_("You cannot give one of these permissions. Choose again")),
}


@router.get("/municipality/{code}/platforms/{client_id}/secret")
async def rotate_page(
    request: Request, place: Municipality, apis: PersonApis, client_id: ClientId
) -> Response:
    """Are you sure? The old secret stops working at once."""
    client = await _client_of(apis, place, client_id)
    return await render_console(
        request, apis, place, "platforms_confirm.html", SECTION, client=client, action="secret"
    )


@router.post("/municipality/{code}/platforms/{client_id}/secret")
async def rotate(
    request: Request, place: Municipality, apis: PersonApis, client_id: ClientId
) -> Response:
    """A new secret, shown on this answer only."""
    await _client_of(apis, place, client_id)
    try:
        rotated = await apis.gateway.post(f"{CLIENTS}/{client_id}/secret")
    except ApiProblem as problem:
        raise PageNotFound(f"rotation refused: {problem.type}") from problem
    page = await render_console(
        request, apis, place, "platforms_secret.html", SECTION, client=rotated, new=False
    )
    return _secret_page(page)


@router.get("/municipality/{code}/platforms/{client_id}/revoke")
async def revoke_page(
    request: Request, place: Municipality, apis: PersonApis, client_id: ClientId
) -> Response:
    """Are you sure? The system gets no new access."""
    client = await _client_of(apis, place, client_id)
    return await render_console(
        request, apis, place, "platforms_confirm.html", SECTION, client=client, action="revoke"
    )


@router.post("/municipality/{code}/platforms/{client_id}/revoke")
async def revoke(place: Municipality, apis: PersonApis, client_id: ClientId) -> Response:
    """Revoke the client (one revoked meanwhile is as good)."""
    await _client_of(apis, place, client_id)
    try:
        await apis.gateway.post(f"{CLIENTS}/{client_id}/revoke")
    except ApiProblem as problem:
        if problem.type != "already-revoked":
            raise PageNotFound(f"revoke refused: {problem.type}") from problem
    return RedirectResponse(f"{place.base}/platforms?done=revoked", status_code=303)
