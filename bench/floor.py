"""The floor under a service's POST: the kit's app and nothing of the service's own work.

`create_app` (for uvicorn, `BENCH_FLOOR_SERVICE` = `tickets` or `reservations`) serves that
service's creation path with the kit's app factory (its middleware, problem handlers, lifespan
and database engine), the service's own token dependency (`Writer`: the JWT verified against
the JWKS, roles and scope) and its own body model, and answers 201 with the validated body as
JSON, rendered as the services render theirs (`fastjson`). It reads and writes nothing.

The tickets and reservations benchmarks send it the very requests they sent the service, on
the same number of workers and connections, and report its CPU per request beside the
service's: what is left between the two is the service's own work (its SQL included).

With `write=True` (`BENCH_FLOOR_WRITE=1`) the handler also records the body in one write
transaction through the kit's request session (`SessionDep`: BEGIN, one INSERT, COMMIT), the
least any creation does: the floor of a request that writes, through the kit's stack.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI, Response
from sqlalchemy import text

from bench.infra import (
    WORKERS,
    Infra,
    Server,
    service_env,
    spawn_uvicorn,
    stop_process,
    wait_ready,
)
from bench.rawsql import asyncpg_dsn
from bench.report import Row, keep_log
from reservations_service import deps as reservations_deps
from reservations_service.config import ReservationsSettings
from reservations_service.schemas import ReservationCreate
from shared_kit import fastjson
from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.deps import SessionDep
from shared_kit.testing.infra import free_port
from tickets_service import deps as tickets_deps
from tickets_service.config import TicketsSettings
from tickets_service.schemas import TicketCreate

FACTORY = "bench.floor:create_app"
PATHS = {"tickets": "/api/v1/tickets", "reservations": "/api/v1/reservations"}
WRITES = "bench_floor_write"
INSERT = text(f"INSERT INTO {WRITES} (body) VALUES (CAST(:body AS jsonb))")


def _answer(body: Any) -> Response:
    return Response(fastjson.dumps(body.model_dump(mode="json")), 201,
                    media_type="application/json")  # fmt: skip


def creation_router(path: str, body_model: type[Any], writer: Any, *, write: bool) -> APIRouter:
    """A service's creation path: its body model, its token check (`writer`), and with `write`
    one INSERT of the body in the request's transaction; nothing else."""

    async def create(body: Any, principal: Any) -> Response:
        return _answer(body)

    async def create_and_write(body: Any, principal: Any, session: Any) -> Response:
        await session.execute(INSERT, {"body": body.model_dump_json()})
        return _answer(body)

    handler = create_and_write if write else create
    handler.__annotations__ = {"body": body_model, "principal": writer, "return": Response}
    if write:
        handler.__annotations__["session"] = SessionDep
    router = APIRouter()
    router.add_api_route(path, handler, methods=["POST"], status_code=201)
    return router


def create_app() -> FastAPI:
    """The floor app of the service `BENCH_FLOOR_SERVICE` names (its settings and prefix)."""
    service = os.environ["BENCH_FLOOR_SERVICE"]
    write = os.environ.get("BENCH_FLOOR_WRITE") == "1"
    if service == "tickets":
        settings: Any = TicketsSettings()
        router = creation_router(PATHS[service], TicketCreate, tickets_deps.Writer, write=write)
    else:
        settings = ReservationsSettings()
        router = creation_router(
            PATHS[service], ReservationCreate, reservations_deps.Writer, write=write
        )
    spec = ServiceSpec(name=f"{service}-floor", title=f"{service} floor",
                       description="The kit's floor under a POST", settings=settings,
                       routers=[router], broker=False)  # fmt: skip
    return create_service_app(spec)


@contextlib.asynccontextmanager
async def floor_server(
    infra: Infra,
    service: str,
    database_url: str,
    *,
    benchmark: str,
    workers: int = WORKERS,
    write: bool = False,
) -> AsyncIterator[Server]:
    """The floor app for `service` as a uvicorn process like the service's own (same prefix,
    database URL, JWKS and workers); with `write`, each request inserts its body."""
    port = free_port()
    log_path = infra.workdir / f"{service}-floor-{port}.log"
    env = {**service_env(infra, f"{service.upper()}_", database_url),
           "BENCH_FLOOR_SERVICE": service, "BENCH_FLOOR_WRITE": "1" if write else "0"}  # fmt: skip
    if write:
        await _writes_table(database_url)
    process = spawn_uvicorn(FACTORY, env, port, log_path, workers)
    try:
        server = Server(f"http://127.0.0.1:{port}", process.pid)
        await wait_ready(server.url, process, log_path, name=f"{service} floor")
        yield server
    finally:
        stop_process(process)
        keep_log(log_path, benchmark, f"{service}-floor")


async def _writes_table(database_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {WRITES} (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
        )
    finally:
        await connection.close()


def floor_row(name: str, server_ms: float, floor_ms: float) -> Row:
    """The service's server CPU per request beside the floor app's for the same requests."""
    return Row(name, server_ms, "ms", baseline=floor_ms,
               baseline_name="the kit's floor: the same requests to the kit's app with the "
               "service's token check and body model, no work")  # fmt: skip
