"""The answers an update endpoint gives to each kind of `If-Match` (RFC 9110 §13.1.1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

Send = Callable[[str], Awaitable[httpx.Response]]

# Syntactically wrong fields: each is a 400 problem naming the header.
MALFORMED_IF_MATCH = ("3", '"3', "W/3", 'w/"3"', '"3" "4"', '*, "3"', '"a b"', "")


async def assert_if_match_rules(send: Send, current: str) -> None:
    """`send(if_match)` updates the resource; `current` is its strong ETag, e.g. `"3"`.

    Weak and stale tags are 412 and malformed fields 400, all problem+json and all before any
    change; finally a list naming the current tag among others succeeds (2xx).
    """
    for value in (f"W/{current}", '"stale-tag"', f'W/"x", W/{current}'):
        response = await send(value)
        assert response.status_code == 412, (value, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for value in MALFORMED_IF_MATCH:
        response = await send(value)
        assert response.status_code == 400, (value, response.text)
        assert response.json()["errors"][0]["pointer"] == "/header/if-match", response.text
    response = await send(f'W/{current}, "stale-tag", {current}')
    assert 200 <= response.status_code < 300, response.text
