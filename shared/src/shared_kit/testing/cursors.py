"""Forged list cursors, and the answer every list endpoint must give them."""

from __future__ import annotations

import base64
import json

import httpx

TIMESTAMP = "2026-01-02T03:04:05.123456+00:00"
UUID = "6f1c2a34-0000-4000-8000-000000000000"
TEXT = "Ā-1"  # stands for a slot of free text, where any string is a valid value

# JSON that is no value of any slot (a cursor this kit issued holds a string in each).
_BAD_SLOTS = {
    "number": "5",
    "huge number": "1e400",
    "null": "null",
    "list": '["x"]',
    "object": '{"x": 1}',
    "string with NUL": '"a\\u0000b"',
    "lone surrogate": '"\\ud800"',
}
# Strings that are no value of a typed slot (timestamp, id, number, enum).
_BAD_TYPED_SLOTS = {"word": '"x"', "number in Arabic-Indic digits": '"١٢٣"'}


def raw_cursor(text: str | bytes) -> str:
    """A cursor around any bytes, base64 as `encode_cursor` writes it."""
    data = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forged_cursors(*slots: str) -> dict[str, str]:
    """Cursors for a sort key whose slots hold these valid values, each broken in its own way.

    E.g. `forged_cursors(TIMESTAMP, UUID)` for a key (created_at, id); `TEXT` for a text slot.
    """
    valid = [json.dumps(s) for s in slots]
    cursors = {
        "not base64": "A",
        "last character changed": raw_cursor(json.dumps(slots))[:-1] + "_",
        "not UTF-8": raw_cursor(b"[\xff]"),
        "not JSON": raw_cursor("[" + ",".join(valid)),
        "an object": raw_cursor(json.dumps(dict(enumerate(slots)))),
        "a string": raw_cursor(json.dumps(slots[0])),
        "too short": raw_cursor(json.dumps(slots[:-1])),
        "too long": raw_cursor(json.dumps([*slots, slots[-1]])),
    }
    for i, sample in enumerate(slots):
        bad_slots = _BAD_SLOTS if sample == TEXT else {**_BAD_SLOTS, **_BAD_TYPED_SLOTS}
        for name, bad in bad_slots.items():
            text = "[" + ",".join([*valid[:i], bad, *valid[i + 1 :]]) + "]"
            cursors[f"slot {i}: {name}"] = raw_cursor(text)
    return cursors


def assert_invalid_cursor(
    response: httpx.Response, parameter: str = "cursor", case: str = ""
) -> None:
    """The answer to a cursor the endpoint did not issue: 422 problem+json naming it."""
    where = f"{case}: {response.text}"
    assert response.status_code == 422, where
    assert response.headers["content-type"] == "application/problem+json", where
    assert [e["field"] for e in response.json().get("errors", [])] == [parameter], where


async def assert_refuses_forged_cursors(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], *slots: str, **params: str
) -> None:
    """GET `url` with each of `forged_cursors(*slots)`: each answer is the 422 naming `cursor`."""
    for case, cursor in forged_cursors(*slots).items():
        response = await client.get(url, params={**params, "cursor": cursor}, headers=headers)
        assert_invalid_cursor(response, case=case)
