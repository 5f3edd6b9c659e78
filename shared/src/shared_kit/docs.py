"""Swagger UI at /docs from files the service serves itself: no CDN, no inline script."""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
# Swagger UI's dist files (bundle, stylesheet) and FastAPI's favicon, as a package ships them.
SWAGGER_FILES = Path(fastapi_offline.__file__).parent / "static"
# Our initialiser (swagger-init.js), which FastAPI would write inline into the page.
KIT_FILES = Path(__file__).parent / "static"


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs, with its files under /docs/swagger and /docs/kit."""
    app.mount(f"{DOCS_URL}/swagger", StaticFiles(directory=SWAGGER_FILES), name="swagger-ui")
    app.mount(f"{DOCS_URL}/kit", StaticFiles(directory=KIT_FILES), name="docs-kit")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(docs_page(app.title, root, f"{root}{app.openapi_url}"))


def docs_page(title: str, root: str, openapi_url: str) -> str:
    """The Swagger UI page: same-origin files only; the script reads the document's URL."""
    files, kit = escape(f"{root}{DOCS_URL}/swagger"), escape(f"{root}{DOCS_URL}/kit")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - Swagger UI</title>"
        f'<link rel="stylesheet" href="{files}/swagger-ui.css">'
        f'<link rel="icon" href="{files}/favicon.png"></head>'
        f'<body><div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>'
        f'<script src="{files}/swagger-ui-bundle.js"></script>'
        f'<script src="{kit}/swagger-init.js"></script></body></html>\n'
    )
