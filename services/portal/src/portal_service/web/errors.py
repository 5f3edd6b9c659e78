"""Errors as pages of the design system: not found, a refused form, a failed login, 500."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from portal_service.exceptions import (
    CsrfRejected,
    GatewayUnavailable,
    LoginFailed,
    LoginRequired,
    PageNotFound,
    ServiceUnavailable,
    StepUpRefused,
)
from portal_service.web.api import ApiProblem
from portal_service.web.pages import here, render_page

logger = logging.getLogger(__name__)


def install_page_errors(app: FastAPI) -> None:
    """Replace the kit's problem+json answers with pages (the portal has no JSON API)."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        back = exc.next_path or (here(request) if request.method == "GET" else "/home")
        return RedirectResponse(f"/?{urlencode({'next': back})}", status_code=303)

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, exc: PageNotFound) -> Response:
        logger.info("not found: %s", exc.detail)
        return render_page(request, "web/error.html", 404, kind="not_found")

    @app.exception_handler(ServiceUnavailable)
    async def _service_down(request: Request, exc: ServiceUnavailable) -> Response:
        logger.warning("service unavailable: %s", exc.detail)
        return render_page(request, "web/error.html", 503, kind="unavailable")

    @app.exception_handler(ApiProblem)
    async def _refused(request: Request, exc: ApiProblem) -> Response:
        # A page that did not expect this answer: say it did not work, never crash.
        logger.info("a service refused: %s %s", exc.status, exc.type)
        status = exc.status if 400 <= exc.status < 500 else 400
        return render_page(request, "web/error.html", status, kind="bad_request")

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        logger.info("form refused: %s", exc.detail)
        return render_page(request, "web/error.html", 400, kind="csrf")

    @app.exception_handler(LoginFailed)
    async def _login_failed(request: Request, exc: LoginFailed) -> Response:
        logger.info("login not finished: %s", exc.detail)
        return render_page(request, "web/error.html", 400, kind="login")

    @app.exception_handler(StepUpRefused)
    async def _step_up_refused(request: Request, exc: StepUpRefused) -> Response:
        logger.info("step-up refused: %s", exc.detail)
        return render_page(request, "web/error.html", 400, kind="step_up")

    @app.exception_handler(GatewayUnavailable)
    async def _unavailable(request: Request, exc: GatewayUnavailable) -> Response:
        logger.warning("gateway unavailable: %s", exc.detail)
        return render_page(request, "web/error.html", 503, kind="unavailable")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        kind = "not_found" if exc.status_code in (404, 405) else "bad_request"
        status = 404 if kind == "not_found" else exc.status_code
        return render_page(request, "web/error.html", status, kind=kind)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # A page's address with a wrong part is a page that does not exist.
        return render_page(request, "web/error.html", 404, kind="not_found")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        logger.exception("page failed")
        return render_page(request, "web/error.html", 500, kind="crash")
