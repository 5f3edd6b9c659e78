"""Operational endpoints: liveness, readiness, metrics and the dead-letter list."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, text

from shared_kit.auth import Role, require_roles
from shared_kit.deps import SessionDep
from shared_kit.events.consumer import DeadLetter
from shared_kit.events.kafka import broker_reachable
from shared_kit.migrations import current_revision
from shared_kit.pagination import CursorParam, LimitParam, Page, fetch_page, page_of, page_response
from shared_kit.problems import Conflict, NotFound, ServiceUnavailable, problem_responses

BROKER_CHECK_TTL_S = 5.0

ops_router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Liveness or readiness answer."""

    status: str
    checks: dict[str, str] = {}


@ops_router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process is up and serving."""
    return Health(status="ok")


@ops_router.get("/readyz", response_model=Health, responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> Health:
    """Readiness: database reachable and migrated, broker reachable."""
    checks = {"database": await _database_check(request)}
    if getattr(request.app.state, "uses_broker", True):
        checks["broker"] = await _broker_check(request)
    if any(v != "ok" for v in checks.values()):
        raise ServiceUnavailable("The service is not ready", checks=checks)
    return Health(status="ok", checks=checks)


@ops_router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _database_check(request: Request) -> str:
    state = request.app.state
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("select 1"))
        revision = await current_revision(state.engine)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    # A revision this image does not know is a newer one: during a rolling update the first
    # new pod migrates while the old pods still serve (migrations are additive).
    behind = revision is None or revision in (state.migrations_known or ())
    if state.migrations_head and revision != state.migrations_head and behind:
        return f"migrations pending (at {revision}, head {state.migrations_head})"
    return "ok"


async def _broker_check(request: Request) -> str:
    state = request.app.state
    now = time.monotonic()
    cached = getattr(state, "broker_check", None)
    if cached is None or now - cached[0] > BROKER_CHECK_TTL_S:
        cached = (now, await broker_reachable(state.settings))
        state.broker_check = cached
    return "ok" if cached[1] else "unreachable"


class DeadLetterRead(BaseModel):
    """A poison event kept for inspection."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    payload: str
    error: str
    attempts: int
    created_at: datetime
    resolved_at: datetime | None


def dead_letter_router(prefix: str) -> APIRouter:
    """`GET {prefix}/ops/dead-letters` and `POST …/{id}/retry`, for platform admins."""
    router = APIRouter(
        prefix=f"{prefix}/ops",
        tags=["operations"],
        responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    )
    admin = require_roles(Role.PLATFORM_ADMIN)

    @router.get("/dead-letters", response_model=Page[DeadLetterRead], dependencies=[admin])
    async def list_dead_letters(
        session: SessionDep,
        cursor: CursorParam = None,
        limit: LimitParam = 50,
        unresolved: bool = True,
    ) -> Response:
        """Events consumers could not apply."""
        stmt = select(DeadLetter)
        if unresolved:
            stmt = stmt.where(DeadLetter.resolved_at.is_(None))
        columns = [DeadLetter.created_at, DeadLetter.id]
        rows = await fetch_page(session, stmt, columns, cursor, limit)
        items, nxt = page_of(rows, limit, lambda r: (r.created_at, r.id))
        return page_response([DeadLetterRead.model_validate(r) for r in items], nxt)

    @router.post(
        "/dead-letters/{letter_id}/retry", response_model=DeadLetterRead, dependencies=[admin]
    )
    async def retry_dead_letter(
        letter_id: uuid.UUID, request: Request, session: SessionDep
    ) -> DeadLetterRead:
        """Apply a dead-lettered event again (after the cause was fixed)."""
        letter = await session.get(DeadLetter, letter_id, with_for_update=True)
        if letter is None:
            raise NotFound("No such dead letter")
        if letter.resolved_at is not None:
            raise Conflict("This dead letter was already resolved")
        runner = next((c for c in request.app.state.consumers if c.name == letter.consumer), None)
        if runner is None:
            raise Conflict(f"No consumer named {letter.consumer} runs in this service")
        try:
            await runner.retry_dead_letter(session, letter)
        except Exception as exc:
            raise Conflict(f"The event still cannot be applied: {exc}") from exc
        return DeadLetterRead.model_validate(letter)

    return router
