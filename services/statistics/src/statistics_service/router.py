"""HTTP endpoints of statistics under `/api/v1/statistics`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from shared_kit.deps import NowDep, SessionDep
from shared_kit.downloads import download_headers
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN
from shared_kit.pagination import CursorParam, LimitParam, Page, page_response
from shared_kit.problems import problem_responses
from statistics_service.deps import (
    Cache,
    Devices,
    FeedReader,
    IdleDays,
    Operator,
    Reader,
    Settings,
    Viis,
)
from statistics_service.schemas import (
    FEED_SCHEMA_VERSION,
    FeedPage,
    FeedSchema,
    IdleDevice,
    OperationResult,
    StatisticsView,
    TimeSeries,
)
from statistics_service.service import feed, history, idle, pupils, snapshots, views

PREFIX = "/api/v1/statistics"
router = APIRouter(prefix=PREFIX, responses=problem_responses(400, 401, 403, 422, 503))
READ = problem_responses(404)

Atvk = Annotated[str, Path(pattern=ATVK_PATTERN, description="Municipality (ATVK code)")]
RegNo = Annotated[
    str, Path(pattern=REG_NUMBER_PATTERN, description="Institution registration number")
]
DateFrom = Annotated[
    dt.date | None, Query(alias="from", description="First day (default: 30 days back)")
]
DateTo = Annotated[dt.date | None, Query(alias="to", description="Last day (default: today)")]
IdleKind = Annotated[
    idle.Kind,
    Query(description="`idle`: idle for more than `idle_days`; `never_lent`: never lent at all"),
]


# Views ------------------------------------------------------------------------------------


@router.get("/national", response_model=StatisticsView, tags=["views"])
async def national_view(
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    devices: Devices,
    cache: Cache,
    idle_days: IdleDays = None,
) -> Response:
    """The whole country now, with a summary per municipality (ministry analysts)."""
    view = await views.national(
        session,
        principal=principal,
        settings=settings,
        now=now,
        devices=devices,
        cache=cache,
        idle_days=idle_days,
    )
    return _json(view)


@router.get("/municipalities/{code}", response_model=StatisticsView, tags=["views"], responses=READ)
async def municipality_view(
    code: Atvk,
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    devices: Devices,
    cache: Cache,
    idle_days: IdleDays = None,
) -> Response:
    """One municipality now, with a summary per institution."""
    view = await views.municipality(
        session,
        principal=principal,
        code=code,
        settings=settings,
        now=now,
        devices=devices,
        cache=cache,
        idle_days=idle_days,
    )
    return _json(view)


@router.get(
    "/institutions/{registration_number}",
    response_model=StatisticsView,
    tags=["views"],
    responses=READ,
)
async def institution_view(
    registration_number: RegNo,
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    devices: Devices,
    cache: Cache,
    idle_days: IdleDays = None,
) -> Response:
    """One institution now."""
    view = await views.institution(
        session,
        principal=principal,
        registration_number=registration_number,
        settings=settings,
        now=now,
        devices=devices,
        cache=cache,
        idle_days=idle_days,
    )
    return _json(view)


def _json(view: StatisticsView) -> Response:
    # Serialised straight by pydantic: the views are the hot path (see `page_response`).
    return Response(view.model_dump_json(), media_type="application/json")


# Idle devices ------------------------------------------------------------------------------


@router.get(
    "/national/idle-devices", response_model=Page[IdleDevice], tags=["usage"], responses=READ
)
async def national_idle_devices(
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    idle_days: IdleDays = None,
    kind: IdleKind = "idle",
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Idle (or never lent) lendable devices of the whole country, most idle first."""
    area = await idle.checked_area(session, principal=principal)
    items, next_cursor = await idle.idle_devices(
        session, area=area, settings=settings, now=now, idle_days=idle_days, kind=kind,
        cursor=cursor, limit=limit,
    )  # fmt: skip
    return page_response(items, next_cursor)


@router.get(
    "/municipalities/{code}/idle-devices",
    response_model=Page[IdleDevice],
    tags=["usage"],
    responses=READ,
)
async def municipality_idle_devices(
    code: Atvk,
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    idle_days: IdleDays = None,
    kind: IdleKind = "idle",
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Idle (or never lent) lendable devices of one municipality, most idle first."""
    area = await idle.checked_area(session, principal=principal, municipality_code=code)
    items, next_cursor = await idle.idle_devices(
        session, area=area, settings=settings, now=now, idle_days=idle_days, kind=kind,
        cursor=cursor, limit=limit,
    )  # fmt: skip
    return page_response(items, next_cursor)


@router.get(
    "/institutions/{registration_number}/idle-devices",
    response_model=Page[IdleDevice],
    tags=["usage"],
    responses=READ,
)
async def institution_idle_devices(
    registration_number: RegNo,
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    idle_days: IdleDays = None,
    kind: IdleKind = "idle",
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Idle (or never lent) lendable devices of one institution, most idle first."""
    area = await idle.checked_area(
        session, principal=principal, institution_number=registration_number
    )
    items, next_cursor = await idle.idle_devices(
        session, area=area, settings=settings, now=now, idle_days=idle_days, kind=kind,
        cursor=cursor, limit=limit,
    )  # fmt: skip
    return page_response(items, next_cursor)


# History -----------------------------------------------------------------------------------


@router.get("/national/timeseries", response_model=TimeSeries, tags=["history"])
async def national_series(
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> TimeSeries:
    """Daily snapshots of the whole country."""
    area = await views.checked_area(session, principal=principal)
    return await history.series(
        session, area=area, settings=settings, now=now, date_from=date_from, date_to=date_to
    )


@router.get(
    "/municipalities/{code}/timeseries", response_model=TimeSeries, tags=["history"], responses=READ
)
async def municipality_series(
    code: Atvk,
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> TimeSeries:
    """Daily snapshots of one municipality."""
    area = await views.checked_area(session, principal=principal, municipality_code=code)
    return await history.series(
        session, area=area, settings=settings, now=now, date_from=date_from, date_to=date_to
    )


@router.get(
    "/institutions/{registration_number}/timeseries",
    response_model=TimeSeries,
    tags=["history"],
    responses=READ,
)
async def institution_series(
    registration_number: RegNo,
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> TimeSeries:
    """Daily snapshots of one institution."""
    area = await views.checked_area(
        session, principal=principal, institution_number=registration_number
    )
    return await history.series(
        session, area=area, settings=settings, now=now, date_from=date_from, date_to=date_to
    )


@router.get(
    "/export.csv",
    tags=["history"],
    responses={200: {"content": {"text/csv": {}}, "description": "Snapshot rows"}, **READ},
    response_class=StreamingResponse,
)
async def export_csv(
    request: Request,
    session: SessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    municipality: Annotated[str | None, Query(pattern=ATVK_PATTERN)] = None,
    institution: Annotated[str | None, Query(pattern=REG_NUMBER_PATTERN)] = None,
) -> StreamingResponse:
    """The daily institution snapshots of a range as CSV (suppressed counts are empty)."""
    area = await views.checked_area(
        session, principal=principal, municipality_code=municipality, institution_number=institution
    )
    filename, body = history.export(
        request.app.state.sessions,
        area=area,
        settings=settings,
        now=now,
        date_from=date_from,
        date_to=date_to,
    )
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers=download_headers(filename),
    )


# The VIIS feed -----------------------------------------------------------------------------


@router.get(
    "/feeds/viis",
    response_model=FeedPage,
    tags=["feed"],
    responses={304: {"description": "The page has not changed (If-None-Match)"}},
)
async def viis_feed(
    session: SessionDep,
    principal: FeedReader,
    after: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_-]{1,100}$", description="Cursor from `next` (exclusive)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT)] = 100,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Daily institution snapshots after a cursor, oldest first (scope `statistics:feed`).

    Today's are provisional: a changed one comes again, after the cursor, with a greater
    `sequence`; a closed day's final record (`provisional: false`) never changes."""
    body, etag = await feed.page(session, principal=principal, after=after, limit=limit)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/feeds/viis/schema", response_model=FeedSchema, tags=["feed"])
async def viis_feed_schema(principal: FeedReader) -> FeedSchema:
    """The JSON Schema of a feed record and its version (also the snapshot event's payload)."""
    return FeedSchema.model_validate(
        {"version": FEED_SCHEMA_VERSION, "schema": feed.record_schema()}
    )


# Operations --------------------------------------------------------------------------------


@router.post("/ops/snapshots", response_model=OperationResult, tags=["operations"])
async def take_snapshots(
    session: SessionDep, principal: Operator, settings: Settings, now: NowDep
) -> OperationResult:
    """Refresh today's provisional snapshots and make closed days final, now (a job does this
    every few minutes by itself)."""
    written = await snapshots.take_daily_snapshots(session, settings=settings, now=now)
    return OperationResult(result={"snapshots": written})


@router.post("/ops/pupils/refresh", response_model=OperationResult, tags=["operations"])
async def refresh_pupils(
    session: SessionDep, principal: Operator, settings: Settings, now: NowDep, viis: Viis
) -> OperationResult:
    """Refresh institutions and pupil counts from VIIS now (a job does this every few hours)."""
    result = await pupils.refresh_from_viis(
        session, open_viis=viis, now=now, concurrency=settings.viis_concurrency
    )
    return OperationResult(result=result)
