"""A service's routes are added flat: the same routes as `include_router` gives, matched once."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.routing import APIRoute
from starlette.routing import Mount

from shared_kit.app import ServiceApp
from shared_kit.problems import install_problem_handlers
from shared_kit.routing import _FLAT, include_flat
from shared_kit.testing.client import running_app


async def needs_key(x_key: Annotated[str | None, Header()] = None) -> None:
    if x_key != "open":
        raise HTTPException(403, "no key")


class TaggedRoute(APIRoute):
    """A route class of its own, as the gateway's login pages have."""


def nested() -> APIRouter:
    """Three levels, each adding a prefix, tags, responses or a dependency to those below."""
    leaf = APIRouter(prefix="/items", tags=["items"], route_class=TaggedRoute)

    @leaf.get("", responses={404: {"description": "None yet"}})
    async def list_items() -> list[str]:
        return ["a"]

    @leaf.get("/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @leaf.post("/{item_id}", status_code=201)
    async def write_item(item_id: int) -> dict[str, int]:
        return {"written": item_id}

    guarded = APIRouter(prefix="/guarded", dependencies=[Depends(needs_key)], tags=["guarded"])
    guarded.include_router(leaf)
    top = APIRouter(prefix="/api", responses={400: {"description": "Bad"}})

    @top.get("/items/first")  # before the guarded tree, so it wins over /guarded/… never
    async def first() -> str:
        return "first"

    top.include_router(guarded)
    top.include_router(leaf)
    return top


def app_with(add: Callable[[FastAPI, APIRouter], None], router: APIRouter) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    add(app, router)
    return app


async def answers(app: FastAPI, method: str, path: str, **headers: str) -> tuple[int, str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.request(method, path, headers=headers)
    return r.status_code, r.text


class TestSameRoutes:
    def test_the_openapi_document_is_the_one_include_router_gives(self) -> None:
        router = nested()
        flat = app_with(include_flat, router)
        included = app_with(lambda app, r: app.include_router(r), router)
        assert flat.openapi() == included.openapi()
        paths = flat.openapi()["paths"]
        assert set(paths) == {
            "/api/items/first", "/api/guarded/items", "/api/guarded/items/{item_id}",
            "/api/items", "/api/items/{item_id}",
        }  # fmt: skip
        assert paths["/api/guarded/items"]["get"]["tags"] == ["guarded", "items"]
        assert set(paths["/api/guarded/items"]["get"]["responses"]) == {"200", "400", "404", "422"}

    @pytest.mark.parametrize(
        ("method", "path", "headers"),
        [
            ("GET", "/api/items", {}),
            ("GET", "/api/items/7", {}),
            ("POST", "/api/items/7", {}),
            ("GET", "/api/items/first", {}),
            ("GET", "/api/items/x", {}),  # 422: not a number
            ("GET", "/api/guarded/items", {}),  # 403: the include's dependency runs
            ("GET", "/api/guarded/items", {"x-key": "open"}),
            ("DELETE", "/api/items/7", {}),  # 405
            ("GET", "/api/nothing", {}),  # 404
        ],
    )
    async def test_every_request_gets_the_same_answer(
        self, method: str, path: str, headers: dict[str, str]
    ) -> None:
        router = nested()
        flat = await answers(app_with(include_flat, router), method, path, **headers)
        included = app_with(lambda app, r: app.include_router(r), router)
        assert flat == await answers(included, method, path, **headers)

    def test_each_route_keeps_its_class_and_its_order(self) -> None:
        app = app_with(include_flat, nested())
        routes = [r for r in app.routes if isinstance(r, APIRoute)]
        assert [(r.path, sorted(r.methods)) for r in routes] == [
            ("/api/items/first", ["GET"]),
            ("/api/guarded/items", ["GET"]),
            ("/api/guarded/items/{item_id}", ["GET"]),
            ("/api/guarded/items/{item_id}", ["POST"]),
            ("/api/items", ["GET"]),
            ("/api/items/{item_id}", ["GET"]),
            ("/api/items/{item_id}", ["POST"]),
        ]
        assert [type(r) for r in routes[1:]] == [TaggedRoute] * 6

    def test_a_route_that_is_not_an_api_route_is_refused(self) -> None:
        router = APIRouter()
        router.routes.append(Mount("/files", app=FastAPI()))
        with pytest.raises(TypeError, match="Mount"):
            include_flat(FastAPI(), router)


class TestFlat:
    def test_the_app_holds_the_routes_themselves(self) -> None:
        app = app_with(include_flat, nested())
        # Each matched by its own pattern: no included-router node to walk level by level.
        assert all(hasattr(r, "path_regex") for r in app.routes)
        assert len(app.routes) == len(FastAPI().routes) + 7

    async def test_405_names_the_methods_of_a_nested_route(self) -> None:
        transport = httpx.ASGITransport(app=app_with(include_flat, nested()))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.delete("/api/items/7")
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST"

    async def test_a_service_app_is_flat(self, kit_app: Callable[..., ServiceApp]) -> None:
        app = kit_app(nested())
        assert all(hasattr(r, "path_regex") for r in app.routes)
        async with running_app(app) as client:
            r = await client.put("/api/guarded/items/3")
            assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
            assert (await client.get("/api/guarded/items/3", headers={"x-key": "open"})).json() == {
                "id": 3
            }


class TestBuiltOnce:
    def test_apps_of_one_router_share_its_routes(self) -> None:
        router = nested()
        first, second = app_with(include_flat, router), app_with(include_flat, router)
        assert all(a is b for a, b in zip(first.routes[-7:], second.routes[-7:], strict=True))

    def test_a_router_that_is_gone_leaves_nothing_behind(self) -> None:
        router = nested()
        include_flat(FastAPI(), router)
        key = id(router)
        assert key in _FLAT
        del router
        gc.collect()
        assert key not in _FLAT
