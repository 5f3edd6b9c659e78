"""What the notifications routers share: problem responses, and refusals that keep a change."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from shared_kit.problems import ProblemError, problem_response, problem_responses

COMMON = problem_responses(401, 403, 422)


def refusal(request: Request, exc: ProblemError) -> JSONResponse:
    """`exc` as an answer rather than raised, so the request's session still commits what led
    to it (a wrong code counted, a lock set)."""
    return problem_response(
        exc.status, exc.type, exc.title, exc.detail, request.url.path, exc.headers, **exc.extra
    )
