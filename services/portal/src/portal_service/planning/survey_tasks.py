"""The home page's survey tasks: per child, "tell us about computers at home" while a round
is open and unanswered, and "change or withdraw your answers" once answered."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portal_service.deps import Apis
from portal_service.exceptions import PageNotFound, ServiceUnavailable
from portal_service.i18n import N_, RIGA
from portal_service.planning.survey_family_answer import tasks_of
from portal_service.planning.survey_family_forms import base_of
from portal_service.web.api import ApiProblem

if TYPE_CHECKING:
    from portal_service.home.overview import ChildOverview

logger = logging.getLogger(__name__)


async def add_tasks(children: list[ChildOverview], apis: Apis, make: Callable[..., Any]) -> None:
    """Each child's survey tasks beside their other tasks, made by `make` (the home page's
    task); none when the planning service cannot say."""
    try:
        found = await tasks_of(apis)
    except (ServiceUnavailable, PageNotFound, ApiProblem) as exc:
        logger.info("no survey tasks: %s", type(exc).__name__)
        return
    by_child = {box.child.id: box for box in children if box.child is not None}
    for task in found:
        box = by_child.get(str(task.get("learner_id")))
        if box is not None and task.get("round_id"):
            box.tasks.append(_task(make, task, box.child.given_name if box.child else ""))


def _task(make: Callable[..., Any], task: dict[str, Any], name: str) -> Any:
    closes = dt.date.fromisoformat(task["closes_on"]) if task.get("closes_on") else None
    last = dt.datetime.combine(closes or dt.date.max, dt.time.max, RIGA)
    href = base_of(str(task["round_id"]), str(task["learner_id"]))
    if task.get("answered"):
        return make(
            N_("Change or withdraw your answers about computers at home"),
            {"sort": last},
            href,
            N_("Completed"),
        )
    return make(
        N_("Tell us about computers at home for %(name)s by %(day)s"),
        {"name": name, "day": closes, "sort": last},
        href,
        N_("To do"),
        "govuk-tag--blue",
    )
