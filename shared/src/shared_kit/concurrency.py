"""Optimistic concurrency on the API: `ETag` out, `If-Match` in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from shared_kit.problems import PreconditionFailed

IfMatch = Annotated[
    str | None,
    Header(description="ETag from a previous read; the update fails with 412 if it is stale"),
]


def etag(version: int) -> str:
    """Strong ETag for a resource version."""
    return f'"{version}"'


def check_if_match(if_match: str | None, version: int) -> None:
    """Raise 412 when `If-Match` names a version other than the current one."""
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if etag(version) not in wanted:
        raise PreconditionFailed(
            "The resource has changed since you read it (If-Match is stale)",
            current_etag=etag(version),
        )
