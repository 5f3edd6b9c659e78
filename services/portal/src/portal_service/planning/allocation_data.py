"""The allocation rounds as the planning API gives them: a round, its municipalities, its pages
of lines, moves, adjustments and stored inputs, a school's line, and a line's figures put into
words for its "Explain" page."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from portal_service.deps import Apis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.planning.allocation_labels import BANDS, GRADES
from portal_service.planning.common import PLANNING
from portal_service.web.api import ServiceApi

ROUNDS = f"{PLANNING}/allocation-rounds"
STATISTICS = "/api/v1/statistics/allocations"
PAGE_LIMIT = 100
MAX_PAGES = 100  # 10,000 rows: more schools than Latvia has


async def every_page(api: ServiceApi, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor list (`{"items", "next_cursor"}`), page after page."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = await api.get(path, limit=PAGE_LIMIT, cursor=cursor, **params)
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    return found


async def round_of(apis: Apis, round_id: str) -> dict[str, Any]:
    """One round (another's, or one the person may not see, is not found)."""
    found: dict[str, Any] = await apis.planning.get(f"{ROUNDS}/{round_id}")
    return found


async def municipalities_of(apis: Apis, round_id: str) -> list[dict[str, Any]]:
    """The round's result per municipality (a plain list: Latvia has 43)."""
    found: list[dict[str, Any]] = await apis.planning.get(f"{ROUNDS}/{round_id}/municipalities")
    return found


async def lines_of(apis: Apis, round_id: str, **filters: Any) -> list[dict[str, Any]]:
    """The round's lines, per school (filtered by municipality or institution)."""
    return await every_page(apis.planning, f"{ROUNDS}/{round_id}/lines", **filters)


async def line_of(apis: Apis, round_id: str, number: str) -> dict[str, Any]:
    """One school's line (a school not in the round, or not the person's, is not found)."""
    page = await apis.planning.get(f"{ROUNDS}/{round_id}/lines", institution=number)
    found = next((x for x in page["items"] if x["institution_number"] == number), None)
    if found is None:
        raise PageNotFound("no such school in the round")
    return dict(found)


def with_times(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Transfers with their `at` as a time (the pages show it in Rīga's time)."""
    return [item | {"at": dt.datetime.fromisoformat(item["at"])} for item in items]


def names_of(lines: list[dict[str, Any]]) -> dict[str, str]:
    """School registration number → its name, from the round's lines."""
    return {x["institution_number"]: x["name"] or x["institution_number"] for x in lines}


def pupils_by_band(grades: dict[str, int], bands: list[str]) -> dict[str, int]:
    """A stored input's pupils per grade as pupils per grade band of the round."""
    return {b: sum(int(grades.get(str(g), 0)) for g in GRADES[b]) for b in bands}


def shown(value: str | None, places: int = 2) -> str:
    """A decimal string as the page shows it (rounded for reading; exact in the CSV)."""
    if value is None:
        return ""
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-places)):f}"


Said = tuple[str, dict[str, Any]]  # a message id and its parameters
ROUNDED_UP = N_(
    "Exact share %(share)s (%(exact)s) → %(floor)s + 1 for the remainder %(remainder)s."
)
ROUNDED_DOWN = N_("Exact share %(share)s (%(exact)s) → %(floor)s (remainder %(remainder)s).")
LIMITED = N_("Limited to %(limit)s devices: its need, or the cap per school.")
BY_SIZE = N_("Weight of the size band its %(pupils)s eligible pupils fall in: %(weight)s.")


def _band_sentence(band: str, pupils: int, held: int, ratio: Decimal, subtract: bool) -> Said:
    needed = math.ceil(pupils / ratio)
    figures = {"pupils": pupils, "band": band, "held": held, "needed": needed}
    figures |= {"ratio": f"{ratio.normalize():f}", "band_need": max(0, needed - held)}
    if subtract:
        message = N_(
            "%(pupils)s pupils in grades %(band)s at 1 device per %(ratio)s pupils: %(needed)s "
            "devices; %(held)s held, so %(band_need)s needed."
        )
    else:
        message = N_(
            "%(pupils)s pupils in grades %(band)s at 1 device per %(ratio)s pupils: "
            "%(needed)s devices needed; %(held)s held (not subtracted)."
        )
    return message, figures


def _band_sentences(line: dict[str, Any], round_: dict[str, Any]) -> list[Said]:
    pupils, held = line["eligible_pupils"]["by_band"], line["devices_held"]
    ratios = round_["target_ratio"]
    said = [
        _band_sentence(
            band,
            pupils.get(band, 0),
            held.get(band, 0),
            Decimal(ratios.get(band, "1")),
            round_["subtract_devices_held"],
        )
        for band in BANDS
        if band in round_["grade_bands"]
    ]
    said.append((N_("Need by the target ratio: %(need)s devices."), {"need": line["ratio_need"]}))
    return said


def _survey_sentences(line: dict[str, Any], round_: dict[str, Any]) -> list[Said]:
    if not round_["survey_round_id"]:
        return []
    return [
        (
            N_(
                "Survey: the share of answering families without a suitable device at home, "
                "scaled to the eligible pupils: %(count)s devices, weighing %(weight)s against "
                "the target ratio."
            ),
            {"count": line["survey_need"], "weight": shown(round_["survey_weight"])},
        )
    ]


def _share_sentences(line: dict[str, Any], round_: dict[str, Any]) -> list[Said]:
    said: list[Said] = []
    if line["pooled"]:
        said.append(
            (
                N_(
                    "Fewer eligible pupils than the round's minimum of %(min)s: the school's "
                    "share is pooled at its municipality."
                ),
                {"min": round_["min_eligible_pupils"]},
            )
        )
    figures = {
        "share": shown(line["share"]),
        "exact": line["share_exact"],
        "floor": line["floor"],
        "remainder": shown(line["remainder"]),
    }
    said.append((ROUNDED_UP if line["rounded_up"] else ROUNDED_DOWN, figures))
    if line["capped"]:
        cap = round_["cap_per_school"]
        limit = line["need"] if cap is None else min(cap, line["need"])
        said.append((LIMITED, {"limit": limit}))
    return said


def explain(line: dict[str, Any], round_: dict[str, Any]) -> list[Said]:
    """A school's line in words, step by step (message ids with their figures)."""
    said = _band_sentences(line, round_) + _survey_sentences(line, round_)
    said.append((N_("Need: %(need)s devices."), {"need": line["need"]}))
    if round_["social_weights"]:
        said.append((N_("Social factor: %(factor)s."), {"factor": shown(line["social_factor"], 4)}))
    weight = shown(line["weight"], 4)
    if round_["size_bands"]:
        said.append((BY_SIZE, {"pupils": line["eligible_pupils"]["total"], "weight": weight}))
    else:
        said.append((N_("Weight: %(weight)s."), {"weight": weight}))
    said += _share_sentences(line, round_)
    said.append((N_("Computed: %(computed)s devices."), {"computed": line["computed"]}))
    changes = {
        "adjustments": signed(line["adjustments"]),
        "moves": signed(line["moves"]),
        "allocated": line["allocated"],
    }
    said.append(
        (
            N_(
                "Adjustments: %(adjustments)s; moves by the municipality: %(moves)s; allocated: "
                "%(allocated)s devices."
            ),
            changes,
        )
    )
    return said


def signed(number: int) -> str:
    """A change with its sign (+2, -1, 0)."""
    return f"+{number}" if number > 0 else str(number)
