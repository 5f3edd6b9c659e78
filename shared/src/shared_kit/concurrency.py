"""Optimistic concurrency on the API: `ETag` out, `If-Match` in (RFC 9110 §13.1.1)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from shared_kit.problems import PreconditionFailed, ProblemError, field_error

# The tokens of an entity-tag list; anything else (`bad`) makes the field malformed.
_TOKEN = re.compile(
    r'(?P<tag>(?P<weak>W/)?"(?P<opaque>[\x21\x23-\x7e\x80-\xff]*)")|(?P<comma>,)|[ \t]+|(?P<bad>.)',
    re.DOTALL,
)
_MALFORMED = 'If-Match is `*` or a comma-separated list of entity-tags such as `"3"`'


class InvalidIfMatch(ProblemError):
    status, type, title = 400, "invalid-if-match", "Malformed If-Match"

    def __init__(self, detail: str) -> None:
        error = field_error(("header", "if-match"), detail, "invalid_if_match")
        super().__init__(detail, errors=[error])


def parse_if_match(value: str) -> frozenset[str] | None:
    """The opaque tags of the strong entity-tags `If-Match` lists; None for `*`.

    Weak tags are left out: `If-Match` compares strongly, so they never match. InvalidIfMatch
    when the value is neither `*` nor a comma-separated list of at least one entity-tag.
    """
    if value.strip(" \t") == "*":
        return None
    strong: set[str] = set()
    tags, after_tag = 0, False
    for token in _TOKEN.finditer(value):
        if token["bad"] is not None or (token["tag"] is not None and after_tag):
            raise InvalidIfMatch(_MALFORMED)
        if token["tag"] is not None:
            tags, after_tag = tags + 1, True
            if token["weak"] is None:
                strong.add(token["opaque"])
        elif token["comma"] is not None:
            after_tag = False
    if not tags:
        raise InvalidIfMatch("If-Match names no entity-tag")
    return frozenset(strong)


def _if_match(
    request: Request,
    if_match: Annotated[
        str | None,
        Header(description="ETag from a previous read; the update fails with 412 if it is stale"),
    ] = None,
) -> str | None:
    """Every `If-Match` line as one list (RFC 9110 §5.3), refused early when malformed."""
    lines = request.headers.getlist("if-match")
    if not lines:
        return None
    value = ", ".join(lines)
    parse_if_match(value)
    return value


IfMatch = Annotated[str | None, Depends(_if_match)]


def etag(version: int) -> str:
    """Strong ETag for a resource version."""
    return f'"{version}"'


def check_if_match(if_match: str | None, version: int) -> None:
    """Raise 412 unless `If-Match` is absent, `*` or lists the current version's strong ETag.

    `*` matches because the caller holds the resource (it has its version). A weak tag such as
    `W/"3"` never matches (RFC 9110 §13.1.1 requires the strong comparison).
    """
    if if_match is None:
        return
    wanted = parse_if_match(if_match)
    if wanted is not None and str(version) not in wanted:
        raise PreconditionFailed(
            "The resource has changed since you read it (If-Match is stale or weak)",
            current_etag=etag(version),
        )
