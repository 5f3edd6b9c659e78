"""App factory: every service gets the same middleware, handlers, ops endpoints and workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from shared_kit.auth import JWKSVerifier
from shared_kit.clock import Clock, system_clock
from shared_kit.db import (
    create_engine,
    create_read_session_factory,
    create_session_factory,
    prefill,
)
from shared_kit.docs import install_docs
from shared_kit.events.consumer import ConsumerRunner
from shared_kit.events.relay import OutboxRelay
from shared_kit.housekeeping import Housekeeper, Purge
from shared_kit.migrations import head_revision, known_revisions
from shared_kit.observability import RequestContextMiddleware, configure_logging
from shared_kit.ops import dead_letter_router, ops_router
from shared_kit.problems import install_problem_handlers
from shared_kit.routing import include_flat
from shared_kit.security_headers import PagePolicy, SecurityHeadersMiddleware
from shared_kit.settings import Environment, ServiceSettings

logger = logging.getLogger(__name__)

ConsumerFactory = Callable[
    [async_sessionmaker[AsyncSession], ServiceSettings], list[ConsumerRunner]
]


class Worker(Protocol):
    """A background loop of a service: runs until stopped."""

    name: str

    async def run(self) -> None:
        """Work until `stop` is called."""

    async def stop(self) -> None:
        """Ask `run` to finish its current step and return."""


WorkerFactory = Callable[[async_sessionmaker[AsyncSession], ServiceSettings], list[Worker]]


@dataclass
class ServiceSpec:
    """What makes one service: its name, routers, topic, consumers and migrations."""

    name: str
    title: str
    description: str
    settings: ServiceSettings
    routers: list[APIRouter]
    migrations: Path | None = None
    consumers: ConsumerFactory | None = None
    housekeeping: list[Purge] = field(default_factory=list)
    clock: Clock = system_clock
    version: str = "0.1.0"
    openapi_tags: list[dict[str, str]] = field(default_factory=list)
    # False for a service that neither publishes nor consumes (the portal): no outbox relay,
    # no dead-letter API, no kit tables to purge, and readiness does not ask for a broker.
    broker: bool = True
    # What the service's HTML pages may do beyond the kit's strict default (security_headers).
    page_policy: PagePolicy = field(default_factory=PagePolicy)
    # The service's own background loops (a dispatcher, a scheduler), started and stopped with
    # the consumers; each has `name`, `async run()` and `async stop()`.
    workers: WorkerFactory | None = None
    # What else the service holds open (a pool of worker processes), closed as it stops: after
    # the requests, consumers and loops that use it, before the database engine.
    closing: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


# The services report through JSON logs and Prometheus /metrics, not OpenTelemetry. FastAPI's
# native OpenTelemetry asks the global providers on every request whether it is wanted (3 to
# 4 % of a lean request's CPU); turned off, that check is one dictionary lookup.
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class ServiceApp(FastAPI):
    """FastAPI with the security headers outermost, so that they are on every response."""

    page_policy = PagePolicy()

    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's ServerErrorMiddleware, which answers an unexpected error itself.
        return SecurityHeadersMiddleware(super().build_middleware_stack(), self.page_policy)


def create_service_app(spec: ServiceSpec) -> ServiceApp:
    """Build the FastAPI app of a service."""
    settings = spec.settings

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.environment is not Environment.TEST:  # pytest owns logging in tests
            configure_logging(spec.name, settings.log_level, settings.log_json)
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_overflow,
            pool_timeout_s=settings.db_pool_timeout_s,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        if settings.db_pool_prefill:
            await prefill(engine, settings.db_pool_size)
        sessions = create_session_factory(engine, outbox_topic=settings.events_topic)
        app.state.engine, app.state.sessions = engine, sessions
        app.state.read_sessions = create_read_session_factory(engine)
        app.state.verifier = JWKSVerifier(
            settings.jwks_url,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway_s=settings.jwt_leeway_s,
            min_refresh_interval_s=settings.jwks_min_refresh_s,
        )
        relay = OutboxRelay(sessions, settings, [settings.events_topic]) if spec.broker else None
        app.state.relay = relay
        app.state.housekeeper = Housekeeper(
            sessions, settings, spec.housekeeping, kit_tables=spec.broker
        )
        app.state.consumers = spec.consumers(sessions, settings) if spec.consumers else []
        app.state.workers = spec.workers(sessions, settings) if spec.workers else []
        tasks = _start_workers(app) if settings.run_background_workers else []
        if settings.environment is not Environment.TEST:
            settle_heap()
        try:
            yield
        finally:
            await _stop_workers(app, tasks)
            for close in spec.closing:
                await close()
            await engine.dispose()

    # Swagger UI from our own files (install_docs); no ReDoc (its bundle needs inline styles),
    # and no OAuth2 redirect page (no API documents an OAuth2 flow for Swagger UI to run).
    app = ServiceApp(
        telemetry=NO_OPENTELEMETRY,
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        openapi_tags=spec.openapi_tags,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.page_policy = spec.page_policy
    app.state.settings = settings
    app.state.clock = spec.clock
    app.state.migrations_head = head_revision(spec.migrations) if spec.migrations else None
    app.state.migrations_known = known_revisions(spec.migrations) if spec.migrations else None
    app.state.consumers = []
    app.state.workers = []
    app.state.uses_broker = spec.broker
    install_problem_handlers(app)
    install_docs(app)
    app.add_middleware(RequestContextMiddleware)
    include_flat(app, ops_router)
    if spec.broker:
        include_flat(app, dead_letter_router(f"/api/v1/{spec.name}"))
    for router in spec.routers:
        include_flat(app, router)
    return app


# A young collection after this many new objects (net of those freed), not Python's 700.
YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Leave what start-up built out of the garbage collector's full collections, and collect
    the young generation less often.

    A started service holds about 180,000 objects that live as long as its process (modules,
    routes, models, mappers). Every full collection walked them all, about 90 ms a time and
    some 0.08 ms of each request's CPU under load (`bench tickets`). Collected once and then
    frozen (`gc.freeze`), they are left out of every later collection; what the requests make
    is collected as before. Not in tests: a test process builds many apps one after another,
    and what is frozen is never collected.

    Under load every young collection also walks what the requests in flight hold (objects
    that outlive one collection move on to the next generation's, which walks them again), so
    its cost hardly depends on how many objects are new: at Python's threshold of 700, 9,000
    ticket reports in process (16 at a time) made 715 young collections of 0.87 ms each, and
    the collector took 96 µs of each report's CPU; at 10,000, 42 collections and 27 to 31 µs
    (5,000: 32 µs; 20,000: 36 µs). Garbage that only the collector frees (cycles) waits for at most
    10,000 new objects, a few megabytes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _start_workers(app: FastAPI) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(app.state.housekeeper.run(), name="housekeeping")]
    if app.state.relay is not None:
        tasks.append(asyncio.create_task(app.state.relay.run(), name="outbox-relay"))
    for runner in app.state.consumers:
        tasks.append(asyncio.create_task(runner.run(), name=f"consumer-{runner.name}"))
    for worker in app.state.workers:
        tasks.append(asyncio.create_task(worker.run(), name=f"worker-{worker.name}"))
    return tasks


async def _stop_workers(app: FastAPI, tasks: list[asyncio.Task[None]]) -> None:
    # Consumers first (they commit offsets), then the relay drains what requests wrote.
    # Whatever is still running after the grace period is cancelled: an unfinished outbox
    # batch rolls back and is published by the next start; consumer offsets are committed
    # only after their database commit, so nothing is lost either way.
    for runner in app.state.consumers:
        await runner.stop()
    for worker in app.state.workers:
        await worker.stop()
    if app.state.relay is not None:
        await app.state.relay.stop()
    await app.state.housekeeper.stop()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=app.state.settings.shutdown_grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
