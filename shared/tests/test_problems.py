"""Every failure leaves as RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared_kit.problems import Conflict, install_problem_handlers


class _Driver(Exception):
    """A driver error carrying a SQLSTATE, as asyncpg's do."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class Body(BaseModel):
    name: str
    count: int


def build() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(body: Body) -> Body:
        return body

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("Already there", current="x")

    @app.get("/integrity")
    async def integrity() -> None:
        raise IntegrityError("insert", {}, Exception("duplicate key"))

    @app.get("/db-down")
    async def db_down() -> None:
        raise OperationalError("select 1", {}, Exception("connection refused"))

    @app.get("/pool-exhausted")
    async def pool_exhausted() -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")

    @app.get("/nul")
    async def nul() -> None:
        raise DBAPIError("select", {}, _Driver("invalid byte sequence", "22021"))

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_validation_names_every_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"count": "many"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert {e["pointer"] for e in r.json()["errors"]} == {"/name", "/count"}


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/conflict", 409, "Already there"),
        ("/integrity", 409, "conflicts"),
        ("/db-down", 503, "database"),
        ("/pool-exhausted", 503, "database connection"),
        ("/nowhere", 404, "Not Found"),
    ],
)
async def test_errors_map_to_problems(
    client: httpx.AsyncClient, path: str, status: int, needle: str
) -> None:
    r = await client.get(path)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == status and needle in body["detail"]
    assert body["instance"] == path


async def test_unexpected_errors_do_not_leak_internals(client: httpx.AsyncClient) -> None:
    r = await client.get("/bug")
    assert r.status_code == 500
    assert "secret" not in r.text and r.json()["title"] == "Internal error"


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    r = await client.delete("/things")
    assert r.status_code == 405 and r.json()["status"] == 405


async def test_405_names_every_allowed_method() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/items")
    async def read() -> None: ...

    @app.post("/items")
    async def write() -> None: ...

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.delete("/items")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


async def test_text_the_database_cannot_store_is_422(client: httpx.AsyncClient) -> None:
    r = await client.get("/nul")
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
