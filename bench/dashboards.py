"""Benchmark 12: the console's dashboards at national scale — Rīga's (106 schools,
`/municipality/0010000`) for its municipality administrator and the national one (`/ministry`,
43 municipalities) for a ministry analyst — beside the API calls each page makes.

The statistics benchmark's data (`bench.dashboards_data`): about 600 schools, 250,000 devices,
300,000 events, and a month of daily snapshots. Real uvicorn processes (2 workers each) serve
statistics, the inventory (the municipalities' names), notifications (the header's unread
count) and the portal, each on its own fresh database; the portal's sessions are written as a
login leaves them. Each page is asked for REQUESTS times, one request at a time (one person
reading a dashboard), every time with the statistics views fresh (the projection epoch
advanced first, as any event does: the view cache of a live service rarely holds); the figure
is the portal's server time from its `Server-Timing` header. Right after each page request,
its API calls are made alone — the same URLs and token, all at once as the page makes them —
and timed from the client: the baseline, in the same run and under the same load.

`BENCH_PROFILE=1` records the portal's processes with py-spy (collapsed stacks) into
bench/results/dashboards-portal-profile.txt.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import httpx

from bench import dashboards_data as data
from bench.infra import Infra, Server, profiled, service_server
from bench.report import Row
from bench.search import percentile
from bench.statistics import DEVICES, EVENTS
from inventory_service.main import MIGRATIONS as INVENTORY_MIGRATIONS
from notifications_service.main import MIGRATIONS as NOTIFICATIONS_MIGRATIONS
from portal_service.main import MIGRATIONS as PORTAL_MIGRATIONS
from portal_service.ministry.dashboard import NAMES_LIMIT, NATIONAL
from portal_service.municipality.dashboard import IDLE_PAGE, today
from portal_service.web.figures import IDLE_DAYS, STATISTICS, series_range
from portal_service.web.unread import UNREAD_COUNT
from shared_kit.db import create_engine, create_session_factory
from statistics_service.main import MIGRATIONS as STATISTICS_MIGRATIONS

REQUESTS = 60  # per page, after WARM_UP requests
WARM_UP = 3
TARGET_P99_MS = 300.0
RIGA = data.RIGA
INVENTORY = "/api/v1/inventory"
# Nothing listens here: the portal must need no gateway (its tokens outlive the run) and must
# not reach services of the dev stack's ports that are not part of this run.
NOWHERE = "http://127.0.0.1:9"
TIMING = re.compile(r"(\w+);dur=([\d.]+)")
CALL_COUNT = re.compile(r'desc="(\d+) calls"')
Fresh = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Dashboard:
    """A page, the session that asks for it, and the API calls it makes with its token."""

    name: str
    path: str
    cookie: str
    token: str
    calls: list[str]


@dataclass
class Timings:
    """Per request (ms): the portal's server time, its API wait within it, the calls alone;
    how many API calls the page said it made, and each call's status alone."""

    page: list[float] = field(default_factory=list)
    waited: list[float] = field(default_factory=list)
    alone: list[float] = field(default_factory=list)
    calls: Counter[int] = field(default_factory=Counter)
    statuses: dict[str, int] = field(default_factory=dict)


def municipal_calls(urls: dict[str, str]) -> list[str]:
    """Rīga's dashboard's API calls (`municipality.dashboard.overview`; its name is cached)."""
    area = f"{urls['statistics']}{STATISTICS}/municipalities/{RIGA}"
    lists = [{"idle_days": IDLE_DAYS, "kind": kind, "limit": IDLE_PAGE}
             for kind in ("idle", "never_lent")]  # fmt: skip
    return [
        f"{area}?idle_days={IDLE_DAYS}",
        f"{area}/timeseries?" + urlencode(series_range(today())),
        *(f"{area}/idle-devices?" + urlencode(query) for query in lists),
        urls["notifications"] + UNREAD_COUNT,
    ]


def national_calls(urls: dict[str, str]) -> list[str]:
    """The national dashboard's API calls (`ministry.dashboard.national`)."""
    area = urls["statistics"] + NATIONAL
    return [
        f"{area}?idle_days={IDLE_DAYS}",
        f"{area}/timeseries?" + urlencode(series_range(today())),
        f"{urls['inventory']}{INVENTORY}/municipalities?limit={NAMES_LIMIT}",
        urls["notifications"] + UNREAD_COUNT,
    ]


async def page_once(browser: httpx.AsyncClient, url: str, into: Timings) -> None:
    """One page request: the portal's server time and API wait (Server-Timing)."""
    answer = await browser.get(url)
    if answer.status_code != 200:
        raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    header = answer.headers.get("server-timing", "")
    spans = dict(TIMING.findall(header))
    into.page.append(float(spans["app"]))
    into.waited.append(float(spans.get("api", 0.0)))
    if count := CALL_COUNT.search(header):
        into.calls[int(count.group(1))] += 1


async def calls_once(http: httpx.AsyncClient, board: Dashboard, into: Timings) -> None:
    """The page's API calls alone, all at once as the page makes them (client time)."""
    headers = {"Authorization": f"Bearer {board.token}"}
    started = time.perf_counter()
    answers = await asyncio.gather(*(http.get(url, headers=headers) for url in board.calls))
    into.alone.append((time.perf_counter() - started) * 1000)
    for url, answer in zip(board.calls, answers, strict=True):
        if answer.status_code >= 500 or answer.status_code in (401, 403):
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
        into.statuses[url] = answer.status_code


async def measure(portal: str, board: Dashboard, fresh: Fresh, requests: int = REQUESTS) -> Timings:
    """WARM_UP then REQUESTS rounds: fresh views, the page; fresh views, its calls alone."""
    cookies = {"portal_session": board.cookie}
    async with (
        httpx.AsyncClient(base_url=portal, cookies=cookies, timeout=60) as browser,
        httpx.AsyncClient(timeout=60) as http,
    ):
        for _ in range(WARM_UP):
            await page_once(browser, board.path, Timings())
            await calls_once(http, board, Timings())
        timings = Timings()
        for _ in range(requests):
            await fresh()
            await page_once(browser, board.path, timings)
            await fresh()
            await calls_once(http, board, timings)
    return timings


def rows(board: Dashboard, timings: Timings) -> list[Row]:
    """p50 and p99 of the page's server time beside its API calls alone."""
    out = []
    for p in (50, 99):
        figure, alone = percentile(timings.page, p), percentile(timings.alone, p)
        goal = f"p99 < {TARGET_P99_MS:.0f} ms" if p == 99 else ""
        out.append(Row(f"dashboards: {board.name}, views fresh: server time p{p}", figure, "ms",
                       goal, figure < TARGET_P99_MS if goal else None, alone,
                       f"its {len(board.calls)} API calls alone, at once"))  # fmt: skip
    return out


def note(board: Dashboard, timings: Timings) -> str:
    """Where the page's time goes, and what its calls answered."""
    waited, page = percentile(timings.waited, 50), percentile(timings.page, 50)
    counts = " or ".join(f"{n} calls ({times} times)" for n, times in sorted(timings.calls.items()))
    answered = ", ".join(f"{_short(url)} {status}" for url, status in timings.statuses.items())
    if set(timings.calls) != {len(board.calls)}:  # the page changed: the baseline must follow
        counts += f" — NOT the baseline's {len(board.calls)}: update bench/dashboards.py"
    return (
        f"dashboards, {board.name} (`{board.path}`): p50 {page:.0f} ms of which waiting for its "
        f"API calls {waited:.0f} ms and the portal's own work {page - waited:.0f} ms (session, "
        f"figures, charts, template); the page made {counts} (Server-Timing); alone: {answered}"
    )


def _short(url: str) -> str:
    path = url.split("://", 1)[1].split("/", 1)[1].removeprefix("api/v1/")
    path, _, query = path.partition("?")
    kind = dict(parse_qsl(query)).get("kind")
    return f"/{path}" + (f" ({kind})" if kind else "")


async def benchmark(
    infra: Infra, *, devices: int = DEVICES, events: int = EVENTS, requests: int = REQUESTS
) -> tuple[list[Row], list[str]]:
    """Load the data, start the services and the portal, measure both dashboards (a smaller
    dataset and fewer requests when asked, to try it quickly)."""
    schools = data.national_schools()
    async with contextlib.AsyncExitStack() as stack:
        databases = {
            name: await stack.enter_async_context(
                infra.fresh_database(f"bench_dashboards_{name}", migrations))
            for name, migrations in (("statistics", STATISTICS_MIGRATIONS),
                                     ("inventory", INVENTORY_MIGRATIONS),
                                     ("notifications", NOTIFICATIONS_MIGRATIONS),
                                     ("portal", PORTAL_MIGRATIONS))
        }  # fmt: skip
        print(f"  {events:,} events, {data.SNAPSHOT_DAYS} daily snapshots …", flush=True)
        await data.load_statistics(databases["statistics"], schools, devices, events)
        await infra.settle(databases["statistics"])
        servers = await start_services(stack, infra, databases)
        urls = {name: server.url for name, server in servers.items()}
        names = data.municipality_names(schools)
        await data.seed_municipalities(urls["inventory"], infra.issuer, names)
        boards = await sign_in(infra, databases["portal"], urls)
        async with (
            epoch_bumper(databases["statistics"]) as fresh,
            profiled(servers["portal"].pid, "dashboards-portal"),
        ):
            measured = [(b, await measure(urls["portal"], b, fresh, requests)) for b in boards]
    out = [row for board, timings in measured for row in rows(board, timings)]
    notes = [
        f"dashboards: {len(schools)} schools in {len(names)} municipalities, {devices:,} "
        f"devices, {events:,} events through the statistics consumer, {data.SNAPSHOT_DAYS} days "
        "of daily snapshots; statistics, inventory, notifications and the portal as uvicorn "
        f"processes (2 workers each); each page {requests} times one at a time after "
        f"{WARM_UP} warm-ups, the statistics views fresh each time (projection epoch advanced); "
        "server time from the portal's Server-Timing header; baseline: right after each page, "
        "its API calls with the same token made at once by an httpx client, client time",
        *(note(board, timings) for board, timings in measured),
    ]
    return out, notes


async def start_services(
    stack: contextlib.AsyncExitStack, infra: Infra, databases: dict[str, str]
) -> dict[str, Server]:
    """statistics, inventory and notifications, then the portal calling them."""
    servers: dict[str, Server] = {}
    for name in ("statistics", "inventory", "notifications"):
        servers[name] = await stack.enter_async_context(
            service_server(infra, name, f"{name.upper()}_", databases[name],
                           benchmark="dashboards")
        )  # fmt: skip
    wiring = {f"PORTAL_{name.upper()}_URL": servers[name].url if name in servers else NOWHERE
              for name in ("gateway", "inventory", "reservations", "contracts", "tickets",
                           "statistics", "notifications")}  # fmt: skip
    servers["portal"] = await stack.enter_async_context(
        service_server(infra, "portal", "PORTAL_", databases["portal"], wiring,
                       benchmark="dashboards")
    )  # fmt: skip
    return servers


async def sign_in(infra: Infra, portal_db: str, urls: dict[str, str]) -> list[Dashboard]:
    """Sessions of Rīga's municipality administrator and of a ministry analyst."""
    admin, analyst = str(uuid.uuid4()), str(uuid.uuid4())
    admin_token = data.person_token(
        infra.issuer, admin, roles=["municipality_admin"], municipalities=[RIGA]
    )
    analyst_token = data.person_token(infra.issuer, analyst, roles=["ministry_analyst"])
    admin_cookie = await data.mint_session(
        portal_db, admin_token, admin, ("Dace", "Krūmiņa"), ["municipality_admin"]
    )
    analyst_cookie = await data.mint_session(
        portal_db, analyst_token, analyst, ("Laura", "Vītola"), ["ministry_analyst"]
    )
    return [
        Dashboard("Rīga's (106 schools)", f"/municipality/{RIGA}", admin_cookie, admin_token,
                  municipal_calls(urls)),
        Dashboard("national (43 municipalities)", "/ministry", analyst_cookie, analyst_token,
                  national_calls(urls)),
    ]  # fmt: skip


@contextlib.asynccontextmanager
async def epoch_bumper(url: str) -> AsyncIterator[Fresh]:
    """A function that makes the statistics views fresh (on a connection of its own)."""
    engine = create_engine(url, pool_size=1)
    sessions = create_session_factory(engine)
    try:
        yield lambda: data.fresh_views(sessions)
    finally:
        await engine.dispose()
