"""RFC 9457 problem+json errors, and the handlers that turn every failure into one."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://datori.lv/problems/"

logger = logging.getLogger(__name__)


class ProblemError(Exception):
    """A business error that knows its HTTP status and problem type."""

    status: int = 400
    type: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra


class NotFound(ProblemError):
    status, type, title = 404, "not-found", "Not found"


class Forbidden(ProblemError):
    status, type, title = 403, "forbidden", "Forbidden"


class Unauthorized(ProblemError):
    status, type, title = 401, "unauthorized", "Authentication required"


class Conflict(ProblemError):
    status, type, title = 409, "conflict", "Conflict"


class PreconditionFailed(ProblemError):
    status, type, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(ProblemError):
    status, type, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ProblemError):
    status, type, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(ProblemError):
    status, type, title = 422, "unprocessable", "Unprocessable content"


class TooManyRequests(ProblemError):
    status, type, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(ProblemError):
    status, type, title = 503, "service-unavailable", "Service unavailable"


def problem_response(
    status: int,
    type_: str,
    title: str,
    detail: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": type_ if type_.startswith(("http", "about:")) else PROBLEM_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _pointer(loc: tuple[Any, ...]) -> str:
    """JSON pointer for a validation error location, without FastAPI's `body` prefix."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def field_error(loc: tuple[Any, ...], detail: str, code: str) -> dict[str, str]:
    """One `errors[]` member: where the bad value is (`("query", "cursor")`, …) and why."""
    return {
        "pointer": _pointer(loc),
        "in": str(loc[0]) if loc else "body",
        "field": ".".join(str(p) for p in loc[1:]),
        "detail": detail,
        "code": code,
    }


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    headers.update(exc.headers)
    return problem_response(
        exc.status, exc.type, exc.title, exc.detail, request.url.path, headers or None, **exc.extra
    )


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """The `errors` member of a validation problem: pointer, place, field, message, code."""
    return [
        field_error(
            tuple(err.get("loc", ())), err.get("msg", "invalid"), err.get("type", "invalid")
        )
        for err in exc.errors()
    ]


def invalid_fields(errors: list[dict[str, str]]) -> str:
    """The names of the fields in validation errors, for a problem's detail."""
    return ", ".join(e["field"] or e["in"] for e in errors)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    names = invalid_fields(errors)
    return problem_response(
        422,
        "validation",
        "Invalid request",
        f"The request has invalid or missing fields: {names}",
        request.url.path,
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        # One route per method: Starlette names only the first route's methods.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(
        exc.status_code,
        "about:blank",
        titles.get(exc.status_code, "HTTP error"),
        str(exc.detail),
        request.url.path,
        headers or None,
    )


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _on_stale(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        412,
        "precondition-failed",
        "Precondition failed",
        "The resource was changed by someone else; fetch it again and retry",
        request.url.path,
    )


async def _on_integrity(request: Request, exc: Exception) -> JSONResponse:
    # Services translate the constraints they expect; this is the safety net for races
    # (two requests inserting the same unique value at once).
    constraint = getattr(getattr(exc, "orig", None), "constraint_name", None)
    logger.info("integrity conflict", extra={"constraint": constraint})
    return problem_response(
        409,
        "conflict",
        "Conflict",
        "The change conflicts with the current state (a concurrent request may have won)",
        request.url.path,
        constraint=constraint,
    )


async def _on_pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("no database connection free within the pool timeout")
    return problem_response(
        503,
        "service-busy",
        "Service busy",
        "Every database connection of this instance is in use; retry shortly",
        request.url.path,
        headers={"Retry-After": "1"},
    )


async def _on_db_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(
        503,
        "service-unavailable",
        "Service unavailable",
        "The database is not reachable right now; retry later",
        request.url.path,
        headers={"Retry-After": "5"},
    )


async def _on_db_busy(request: Request, exc: Exception) -> JSONResponse:
    sqlstate = _sqlstate(exc)
    logger.warning("database busy", extra={"sqlstate": sqlstate})
    return problem_response(
        503,
        "service-busy",
        "Service busy",
        "The database could not finish the request in time or lost it to a concurrent one; "
        "retry shortly",
        request.url.path,
        headers={"Retry-After": "1"},
    )


async def _on_data(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        422,
        "unprocessable",
        "Unprocessable content",
        "A value cannot be stored (out of range, or a character such as NUL that text may "
        "not contain)",
        request.url.path,
    )


# SQLSTATEs of a database that cannot be reached: connection exceptions, a server shutting
# down or not accepting connections yet, too many connections.
UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# A transaction that lost to a concurrent one, waited too long for a lock or for its
# statement, or met a server short of resources: the same request may well succeed soon.
_BUSY = ("40001", "40P01", "55P03", "57014", "53")


def _sqlstate(exc: Exception) -> str:
    return str(getattr(getattr(exc, "orig", None), "sqlstate", None) or "")


async def _on_dbapi(request: Request, exc: Exception) -> JSONResponse:
    # The SQLSTATE says what happened, not the exception class: asyncpg reports both a lost
    # connection and a statement with too many parameters (our bug) as an InterfaceError.
    # SQLAlchemy marks the error `connection_invalidated` when the connection is gone.
    sqlstate = _sqlstate(exc)
    if getattr(exc, "connection_invalidated", False) or sqlstate.startswith(UNREACHABLE_SQLSTATES):
        return await _on_db_unavailable(request, exc)
    if sqlstate.startswith("22"):
        return await _on_data(request, exc)
    if sqlstate.startswith("23"):
        return await _on_integrity(request, exc)
    if sqlstate.startswith(_BUSY):
        return await _on_db_busy(request, exc)
    if isinstance(exc, OperationalError) and not sqlstate:
        return await _on_db_unavailable(request, exc)  # PEP 249: the database's operation
    return await _on_unexpected(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error")
    return problem_response(
        500, "internal", "Internal error", "An unexpected error occurred", request.url.path
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register handlers so that every error leaves as problem+json."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StaleDataError, _on_stale)
    app.add_exception_handler(IntegrityError, _on_integrity)
    app.add_exception_handler(PoolTimeout, _on_pool_exhausted)
    app.add_exception_handler(OSError, _on_db_unavailable)
    app.add_exception_handler(TimeoutError, _on_db_unavailable)
    app.add_exception_handler(DataError, _on_data)
    app.add_exception_handler(DBAPIError, _on_dbapi)
    app.add_exception_handler(Exception, _on_unexpected)


class Problem(BaseModel):
    """RFC 9457 problem details (documentation model)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid access token",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict with the current state",
    412: "Stale If-Match",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid request",
    428: "Precondition required",
    503: "Service unavailable",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json answers."""
    return {
        code: {
            "description": _DESCRIPTIONS.get(code, "Problem"),
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for code in codes
    }
