"""Every service's routes, added flat by the kit, are the ones FastAPI's `include_router` gives."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts

import shared_kit.app

SERVICES = ["inventory", "reservations", "contracts", "tickets", "statistics", "gateway",
            "notifications", "planning", "portal"]  # fmt: skip


def build(service: str) -> FastAPI:
    app: FastAPI = importlib.import_module(f"{service}_service.main").create_app()
    return app


def named(function: Any) -> str | None:
    """A function by its name: some are made per app (/openapi.json's, the dead letters' role
    checks), so two apps' are equal, not the same."""
    return getattr(function, "__qualname__", None)


def routes(app: FastAPI) -> list[tuple[Any, ...]]:
    """What a request meets at each route, in order: its class, path, methods, name, handler,
    dependencies, status and response class."""
    return [
        (type(c.original_route), c.path, c.methods, c.name, named(c.endpoint),
         [named(d.dependency) for d in getattr(c, "dependencies", [])],
         getattr(c, "status_code", None), getattr(c, "response_class", None))
        for c in iter_route_contexts(app.routes)
    ]  # fmt: skip


@pytest.mark.parametrize("service", SERVICES)
def test_flat_routes_are_the_included_ones(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", "postgresql+asyncpg://u@127.0.0.1/none")
    flat = build(service)
    with monkeypatch.context() as patch:

        def include(app: FastAPI, router: APIRouter) -> None:
            app.include_router(router)

        patch.setattr(shared_kit.app, "include_flat", include)
        included = build(service)
    assert all(hasattr(route, "path_regex") for route in flat.routes)  # no tree to walk
    assert not all(hasattr(route, "path_regex") for route in included.routes)
    assert routes(flat) == routes(included)
    assert flat.openapi() == included.openapi()
