"""Every response of a kit-built app carries the security headers; HTML gets the strict set."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel

from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.settings import ServiceSettings
from shared_kit.testing.client import running_app

PAGE = "<!doctype html><title>x</title><p>x</p>"
RESTRICTIVE = "default-src 'none'; frame-ancestors 'none'"

router = APIRouter()


class Thing(BaseModel):
    name: str


@router.get("/page", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/failing-page", response_class=HTMLResponse)
async def failing_page() -> HTMLResponse:
    return HTMLResponse(PAGE, status_code=400)


@router.get("/loose-page", response_class=HTMLResponse)
async def loose_page() -> HTMLResponse:
    headers = {"Content-Security-Policy": "default-src *", "X-Frame-Options": "ALLOWALL"}
    return HTMLResponse(PAGE, headers=headers)


@router.post("/things")
async def create(thing: Thing) -> Thing:
    return thing


@router.get("/text")
async def text() -> PlainTextResponse:
    return PlainTextResponse("<script>alert(1)</script>")


@router.get("/bug")
async def bug() -> None:
    raise RuntimeError("unexpected")


def build_app() -> FastAPI:
    """A kit-built app with a few routes of each kind."""
    settings = ServiceSettings(environment="test", run_background_workers=False)
    spec = ServiceSpec(
        name="things", title="Things", description="", settings=settings, routers=[router]
    )
    return create_service_app(spec)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(build_app()) as c:
        yield c


def directives(policy: str) -> dict[str, str]:
    """A CSP as {directive: sources}."""
    pairs = (part.strip().partition(" ") for part in policy.split(";") if part.strip())
    return {name: sources for name, _, sources in pairs}


class TestHtmlPages:
    @pytest.mark.parametrize("path", ["/page", "/failing-page", "/loose-page"])
    async def test_get_the_strict_set(self, client: httpx.AsyncClient, path: str) -> None:
        r = await client.get(path)
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cross-origin-opener-policy"] == "same-origin"
        policy = r.headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        csp = directives(policy)
        assert csp["default-src"] == "'none'"
        assert csp["frame-ancestors"] == "'none'"
        assert csp["base-uri"] == "'none'"
        assert csp["form-action"] == "'self'"
        assert csp["style-src"] == "'self'"
        assert csp["script-src"].startswith("'self' 'nonce-")

    async def test_each_page_gets_its_own_nonce(self, client: httpx.AsyncClient) -> None:
        policies = [(await client.get("/page")).headers["content-security-policy"] for _ in "ab"]
        first, second = (directives(policy) for policy in policies)
        assert first["script-src"] != second["script-src"]

    async def test_one_header_of_each_name(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/loose-page")
        assert len(r.headers.get_list("content-security-policy")) == 1
        assert r.headers.get_list("x-frame-options") == ["DENY"]


class TestOtherResponses:
    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/healthz", 200),
            ("GET", "/text", 200),
            ("POST", "/things", 422),
            ("GET", "/nowhere", 404),
            ("DELETE", "/page", 405),
            ("GET", "/bug", 500),
            ("GET", "/docs/swagger/swagger-ui.css", 200),
        ],
    )
    async def test_get_nosniff_and_a_restrictive_policy(
        self, client: httpx.AsyncClient, method: str, path: str, status: int
    ) -> None:
        r = await client.request(method, path, json={})
        assert r.status_code == status
        assert not r.headers["content-type"].startswith("text/html")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"] == RESTRICTIVE
