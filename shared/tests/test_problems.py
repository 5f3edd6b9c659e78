"""Every failure leaves as RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import literal, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.db import create_engine
from shared_kit.problems import Conflict, install_problem_handlers
from shared_kit.testing.infra import free_port


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


def database_app(engine: AsyncEngine) -> FastAPI:
    """Endpoints that meet real PostgreSQL and asyncpg errors of each kind."""
    app = FastAPI()
    install_problem_handlers(app)

    async def run(sql: str, **params: object) -> None:
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)

    @app.get("/too-many-parameters")
    async def too_many_parameters() -> None:
        # A bug of ours (one bind parameter per value, more than a statement may have).
        async with engine.connect() as conn:
            await conn.execute(select(literal(1)).where(literal(1).in_(list(range(40_000)))))

    @app.get("/out-of-range")
    async def out_of_range() -> None:
        await run("SELECT CAST(:n AS integer)", n=3_000_000_000)

    @app.get("/statement-timeout")
    async def statement_timeout() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL statement_timeout = '10ms'"))
            await conn.execute(text("SELECT pg_sleep(5)"))

    @app.get("/connection-killed")
    async def connection_killed() -> None:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            await run("SELECT pg_terminate_backend(:pid)", pid=pid)
            await conn.execute(text("SELECT 1"))

    @app.get("/nobody-listening")
    async def nobody_listening() -> None:
        nowhere = create_engine(f"postgresql+asyncpg://u:p@127.0.0.1:{free_port()}/db")
        try:
            async with nowhere.connect() as conn:
                await conn.execute(text("SELECT 1"))
        finally:
            await nowhere.dispose()

    return app


class TestDatabaseErrors:
    """Only a database that cannot be reached is a 503 "not reachable"; our own bugs are
    500s and bad values 422s, whatever class the driver gives them."""

    @pytest.fixture
    async def db_client(
        self, make_database: Callable[[Path | None], Awaitable[str]]
    ) -> AsyncIterator[httpx.AsyncClient]:
        engine = create_engine(await make_database(None))
        transport = httpx.ASGITransport(app=database_app(engine), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c
        await engine.dispose()

    @pytest.mark.parametrize(
        ("path", "status", "type_"),
        [
            ("/too-many-parameters", 500, "internal"),
            ("/out-of-range", 422, "unprocessable"),
            ("/statement-timeout", 503, "service-busy"),
            ("/connection-killed", 503, "service-unavailable"),
            ("/nobody-listening", 503, "service-unavailable"),
        ],
    )
    async def test_each_kind_of_database_error_has_its_answer(
        self, db_client: httpx.AsyncClient, path: str, status: int, type_: str
    ) -> None:
        r = await db_client.get(path)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].endswith("/" + type_)
        assert ("not reachable" in r.text) == (type_ == "service-unavailable")
        assert ("retry-after" in r.headers) == (status == 503)
