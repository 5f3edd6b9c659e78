"""`Server-Timing`: the portal's own time, and the time it waited for the APIs within it."""

from __future__ import annotations

import re

import httpx
import pytest

from portal_service.web.timing import busy_time

TIMING = re.compile(r'^app;dur=([\d.]+), api;dur=([\d.]+);desc="(\d+) calls"$')


def test_overlapping_calls_count_once() -> None:
    assert busy_time([]) == 0
    assert busy_time([(0.0, 1.0), (0.5, 2.0), (3.0, 4.0)]) == pytest.approx(3.0)
    assert busy_time([(0.0, 5.0), (1.0, 2.0)]) == pytest.approx(5.0)


async def test_a_page_without_api_calls_says_so(http: httpx.AsyncClient) -> None:
    answer = await http.get("/")
    found = TIMING.match(answer.headers["server-timing"])
    assert found is not None, answer.headers["server-timing"]
    assert float(found[1]) > 0 and (found[2], found[3]) == ("0.0", "0")


async def test_the_gateways_calls_are_timed_within_the_page(http: httpx.AsyncClient) -> None:
    # The gateway refuses a made-up code: one call, timed, and part of the page's own time.
    start = await http.get("/login/latvija", params={"next": "/home"})
    state = re.search(r"state=([^&]+)", start.headers["location"])
    assert state is not None
    answer = await http.get("/login/callback", params={"state": state[1], "code": "made-up"})
    assert answer.status_code == 400
    found = TIMING.match(answer.headers["server-timing"])
    assert found is not None, answer.headers["server-timing"]
    assert found[3] == "1" and 0 < float(found[2]) <= float(found[1])
