"""/docs is Swagger UI from the service's own files: nothing from a CDN, no inline script."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.settings import ServiceSettings
from shared_kit.testing.client import running_app

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def build_app() -> FastAPI:
    """A kit-built app with nothing but the kit's own routes."""
    settings = ServiceSettings(environment="test", run_background_workers=False)
    return create_service_app(
        ServiceSpec(
            name="things", title="Things", description="", settings=settings, routers=[],
        )
    )  # fmt: skip


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(build_app()) as c:
        yield c


def referenced(page: str) -> list[str]:
    """Every URL the page loads or links to."""
    return re.findall(r'(?:src|href|data-openapi-url)="([^"]*)"', page)


class TestDocsPage:
    async def test_references_only_same_origin_paths(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/docs")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        urls = referenced(r.text)
        assert len(urls) == 5, urls  # stylesheet, icon, document, bundle, initialiser
        assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls

    async def test_has_no_inline_script_or_style(self, client: httpx.AsyncClient) -> None:
        page = (await client.get("/docs")).text
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
        assert len(scripts) == 2
        assert all('src="' in attributes and body == "" for attributes, body in scripts)
        assert "<style" not in page and "style=" not in page

    async def test_referenced_files_are_served(self, client: httpx.AsyncClient) -> None:
        page = (await client.get("/docs")).text
        files = [url for url in referenced(page) if url != "/openapi.json"]
        for url in files:
            r = await client.get(url)
            assert r.status_code == 200, url
            expected = CONTENT_TYPES[url[url.rindex(".") :]]
            assert r.headers["content-type"].split(";")[0] == expected, url
            assert r.headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/openapi.json")).status_code == 200

    async def test_behind_a_path_prefix_urls_keep_it(self) -> None:
        app = build_app()
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, root_path="/things")
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                page = (await client.get("/docs")).text
        assert all(url.startswith("/things/") for url in referenced(page))

    @pytest.mark.parametrize("path", ["/redoc", "/docs/oauth2-redirect", "/docs/swagger/x.js"])
    async def test_other_doc_pages_are_gone(self, client: httpx.AsyncClient, path: str) -> None:
        r = await client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
