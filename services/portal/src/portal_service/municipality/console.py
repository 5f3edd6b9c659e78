"""Rendering a console page: the municipality's name and the side navigation of its sections
around the page's own content (`municipality/console.html`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from portal_service.deps import Apis
from portal_service.municipality.common import SECTIONS, MunicipalityPath, municipality_name
from portal_service.web.forms import FormErrors
from portal_service.web.pages import render_form


async def render_console(
    request: Request,
    municipality: MunicipalityPath,
    apis: Apis,
    name: str,
    section: str,
    errors: FormErrors | None = None,
    **context: Any,
) -> HTMLResponse:
    """A console page of `section` (a path of `SECTIONS`); 400 when `errors` refuse a form."""
    return render_form(
        request,
        name,
        errors,
        municipality=municipality,
        municipality_name=await municipality_name(apis, municipality.code),
        sections=SECTIONS,
        section=section,
        **context,
    )
