"""Small helpers for talking to a service in tests: headers and problem+json checks."""

from __future__ import annotations

from typing import Any

import httpx

from shared_kit.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def problem(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem of this status and type; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), response.headers
    body = dict(response.json())
    assert body["type"] == PROBLEM_BASE + type_, body
    assert body["status"] == status, body
    return body
