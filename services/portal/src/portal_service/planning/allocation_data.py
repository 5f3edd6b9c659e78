"""The allocation rounds as the planning API gives them: a round, its pages of lines, moves and
adjustments, a school's line, and a line's figures put into words for its "Explain" page."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from portal_service.deps import Apis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.planning.allocation_labels import BANDS
from portal_service.planning.common import PLANNING
from portal_service.web.api import ServiceApi

ROUNDS = f"{PLANNING}/allocation-rounds"
STATISTICS = "/api/v1/statistics/allocations"
PAGE_LIMIT = 100
MAX_PAGES = 100  # 10,000 rows: more schools than Latvia has


async def every_page(api: ServiceApi, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor list, page after page."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = await api.get(path, limit=PAGE_LIMIT, cursor=cursor, **params)
        if isinstance(page, list):
            return page
        found += page.get("items") or []
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return found


async def round_of(apis: Apis, round_id: str) -> dict[str, Any]:
    """One round (another's, or one the person may not see, is not found)."""
    found: dict[str, Any] = await apis.planning.get(f"{ROUNDS}/{round_id}")
    return found


async def lines_of(apis: Apis, round_id: str, **filters: Any) -> list[dict[str, Any]]:
    """The round's lines, per school (filtered by municipality or institution)."""
    return await every_page(apis.planning, f"{ROUNDS}/{round_id}/lines", **filters)


async def line_of(apis: Apis, round_id: str, number: str) -> dict[str, Any]:
    """One school's line (a school not in the round is not found)."""
    lines = await lines_of(apis, round_id, institution=number)
    found = next((x for x in lines if x.get("institution_number") == number), None)
    if found is None:
        raise PageNotFound("no such school in the round")
    return found


def with_times(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit rows with their `at` as a time (the pages show it in Rīga's time)."""
    out = []
    for item in items:
        at = item.get("at") or item.get("created_at")
        out.append(item | {"at": dt.datetime.fromisoformat(at) if isinstance(at, str) else None})
    return out


def by_band(value: Any) -> dict[str, int]:
    """Figures per grade band, however the line nests them (a map, with or without its total,
    a `by_band` map, or a list of {band, …})."""
    if isinstance(value, dict):
        inner = value.get("by_band", value)
        if isinstance(inner, list):
            return by_band(inner)
        return {k: int(v) for k, v in inner.items() if k in BANDS and v is not None}
    if isinstance(value, list):
        out = {}
        for row in value:
            figures = [v for k, v in row.items() if k != "band" and isinstance(v, int)]
            if row.get("band") in BANDS and figures:
                out[row["band"]] = figures[0]
        return out
    return {}


def total_of(value: Any) -> int:
    """A per-band figure's total (the line's own when it gives one)."""
    if isinstance(value, int):
        return value
    if isinstance(value, dict) and isinstance(value.get("total"), int):
        return int(value["total"])
    return sum(by_band(value).values())


def decimal_of(value: Any) -> Decimal | None:
    """An exact figure the API sends as a decimal string."""
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def shown(value: Any, places: int = 2) -> str:
    """A decimal as the page shows it (rounded for reading; the exact one is in the CSV)."""
    number = decimal_of(value)
    if number is None:
        return ""
    return f"{number.quantize(Decimal(1).scaleb(-places)):f}"


Said = tuple[str, dict[str, Any]]  # a message id and its parameters


def _band_sentences(line: dict[str, Any], ratios: dict[str, Any]) -> list[Said]:
    pupils, held = by_band(line.get("eligible_pupils")), by_band(line.get("devices_held"))
    said: list[Said] = []
    for band in BANDS:
        if band not in pupils:
            continue
        ratio = decimal_of(ratios.get(band))
        figures = {
            "pupils": pupils[band],
            "band": band,
            "held": held.get(band, 0),
        }
        if not ratio:
            said.append(
                (N_("%(pupils)s pupils in grades %(band)s; %(held)s devices held."), figures)
            )
            continue
        figures |= {"ratio": f"{ratio.normalize():f}", "needed": math.ceil(pupils[band] / ratio)}
        said.append(
            (
                N_(
                    "%(pupils)s pupils in grades %(band)s at 1 device per %(ratio)s pupils: "
                    "%(needed)s devices needed; %(held)s held."
                ),
                figures,
            )
        )
    return said


def _share_sentence(line: dict[str, Any]) -> Said:
    figures = {
        "share": shown(line.get("share")),
        "floor": line.get("floor", 0),
        "remainder": shown(line.get("remainder")),
    }
    if line.get("rounded_up"):
        return N_("Exact share %(share)s → %(floor)s + 1 for the remainder."), figures
    return N_("Exact share %(share)s → %(floor)s (remainder %(remainder)s)."), figures


def explain(line: dict[str, Any], round_: dict[str, Any]) -> list[Said]:
    """A school's line in words, step by step (message ids with their figures)."""
    said = _band_sentences(line, round_.get("target_ratio") or {})
    said.append((N_("Need: %(need)s devices."), {"need": line.get("need", 0)}))
    if round_.get("survey_round_id"):
        said.append(
            (
                N_("Survey: %(count)s children without a suitable device at home."),
                {"count": line.get("survey_need", 0)},
            )
        )
    said.append((N_("Weight: %(weight)s."), {"weight": shown(line.get("weight"), 4)}))
    if line.get("pooled"):
        said.append(
            (
                N_(
                    "Fewer eligible pupils than the round's minimum of %(min)s: the school's "
                    "share is pooled at its municipality."
                ),
                {"min": round_.get("min_eligible_pupils", 0)},
            )
        )
    said.append(_share_sentence(line))
    if line.get("capped"):
        limit = {"limit": line.get("limit", line.get("computed", 0))}
        said.append((N_("Limited to %(limit)s devices: its need, or the cap per school."), limit))
    said.append((N_("Computed: %(computed)s devices."), {"computed": line.get("computed", 0)}))
    said.append(
        (
            N_(
                "Adjustments: %(adjustments)s; moves by the municipality: %(moves)s; allocated: "
                "%(allocated)s devices."
            ),
            {
                "adjustments": signed(line.get("adjustments")),
                "moves": signed(line.get("moves")),
                "allocated": line.get("allocated", 0),
            },
        )
    )
    return said


def signed(value: Any) -> str:
    """A change with its sign (+2, -1, 0)."""
    number = int(value or 0)
    return f"+{number}" if number > 0 else (str(number) if number < 0 else "0")
