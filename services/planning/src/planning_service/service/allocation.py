"""Allocation rounds: set up, compute from stored inputs, publish; the round's state machine.

draft → computed (compute; again while not published, from the stored inputs or, with
`refresh_inputs`, from fresh ones) → published (final; from then only municipalities' moves
and orders change it). Adjustments by the programme manager (computed or published) survive a
recomputation: they are applied again to the new figures, or the recomputation fails (409) when
one would leave a school below zero.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.events import allocation as events
from planning_service.events.common import publish as publish_event
from planning_service.exceptions import IllegalRoundState, NotEnoughDevices, RoundNotFound
from planning_service.models.allocation import AllocationLine, AllocationRound, AllocationState
from planning_service.repository.allocation import (
    InputRepository,
    LineRepository,
    RoundRepository,
    TransferRepository,
)
from planning_service.schemas.allocation import AllocationRoundCreate
from planning_service.service import allocation_inputs as inputs
from planning_service.service.allocation_access import View, check_round, visible_states
from planning_service.service.allocation_rule import Line, Pool, Result, allocate, decimal_string
from planning_service.viis import ViisFactory
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.tenancy import actor_of

P = TypeVar("P", bound=events.AllocationRound)


async def create_round(
    session: AsyncSession, *, principal: Principal, data: AllocationRoundCreate
) -> AllocationRound:
    """Set up a round (draft)."""
    round_ = AllocationRound(
        id=uuid.uuid4(),
        title=data.title,
        funding_programme=data.funding_programme,
        order_reference=data.order_reference,
        devices=data.devices,
        grade_bands=list(data.grade_bands),
        target_ratio={b: str(v) for b, v in data.target_ratio.items()},
        subtract_devices_held=data.subtract_devices_held,
        survey_round_id=data.survey_round_id,
        survey_weight=data.survey_weight,
        social_weights={c: str(v) for c, v in data.social_weights.items()},
        min_eligible_pupils=data.min_eligible_pupils,
        size_bands=[b.model_dump(mode="json") for b in data.size_bands],
        cap_per_school=data.cap_per_school,
        municipalities=sorted(set(data.municipalities)),
        institutions=sorted(set(data.institutions)),
        state=AllocationState.DRAFT,
        created_by=actor_of(principal),
        municipality_names={},
        pools=[],
    )
    RoundRepository(session).add(round_)
    await session.flush()
    publish_event(
        session, events.CREATED, round_.id, None, _payload(events.AllocationCreated, round_)
    )
    return round_


async def get_round(session: AsyncSession, *, view: View, round_id: uuid.UUID) -> AllocationRound:
    """A round the view may see (404 otherwise)."""
    return check_round(view, await RoundRepository(session).get(round_id))


async def list_rounds(
    session: AsyncSession,
    *,
    view: View,
    state: AllocationState | None,
    cursor: str | None,
    limit: int,
) -> Sequence[AllocationRound]:
    """Rounds the view may see, oldest first."""
    states = visible_states(view)
    if state is not None:
        states = [s for s in states if s is state]
    return await RoundRepository(session).page(states=states, cursor=cursor, limit=limit)


async def compute(
    session: AsyncSession,
    *,
    round_id: uuid.UUID,
    if_match: str | None,
    refresh_inputs: bool,
    open_viis: ViisFactory,
    concurrency: int,
    now: dt.datetime,
) -> AllocationRound:
    """Take the inputs when needed, run the rule, store the lines (the round: computed)."""
    repo = RoundRepository(session)
    round_ = _computable(await repo.get(round_id), if_match)
    figures = None
    if refresh_inputs or round_.inputs_taken_at is None:
        # VIIS is asked before the round is locked: no lock waits on the network.
        figures = await inputs.read_viis(round_, open_viis, concurrency)
    round_ = _computable(await repo.get(round_id, lock=True), if_match)
    if figures is not None:
        await inputs.store_inputs(session, round_, figures)
        round_.inputs_taken_at = now
    stored = await InputRepository(session).all(round_.id)
    result = allocate(inputs.parameters(round_), [inputs.school_input(r) for r in stored])
    await _store_lines(session, round_, result, {r.institution_number: r.name for r in stored})
    round_.state = AllocationState.COMPUTED
    round_.computed_at = now
    round_.unallocated = result.unallocated
    round_.pools = [_pool(p) for p in result.pools]
    RoundRepository.touch(round_, now)
    await session.flush()
    totals = await LineRepository(session).totals(round_.id)
    payload = _payload(
        events.AllocationComputed,
        round_,
        schools=totals.schools,
        municipalities=totals.municipalities,
    )
    publish_event(session, events.COMPUTED, round_.id, None, payload)
    return round_


def _computable(round_: AllocationRound | None, if_match: str | None) -> AllocationRound:
    if round_ is None:
        raise RoundNotFound("No such allocation round")
    check_if_match(if_match, round_.version)
    if round_.state is AllocationState.PUBLISHED:
        raise IllegalRoundState("A published round is final: it is not computed again")
    return round_


async def _store_lines(
    session: AsyncSession, round_: AllocationRound, result: Result, names: dict[str, str]
) -> None:
    adjusted = await TransferRepository(session).net_adjustments(round_.id)
    rows = [
        line_row(round_.id, line, names, adjusted.get(line.institution_number, 0))
        for line in result.lines
    ]
    if short := sorted(r["institution_number"] for r in rows if r["allocated"] < 0):
        raise NotEnoughDevices(
            f"The round's adjustments would leave schools below zero: {', '.join(short)}"
        )
    await LineRepository(session).replace(round_.id, rows)


def line_row(
    round_id: uuid.UUID, line: Line, names: dict[str, str], adjusted: int
) -> dict[str, Any]:
    """A rule's line as stored."""
    a = line.assessment
    number = line.institution_number
    return {
        "round_id": round_id,
        "institution_number": number,
        "municipality_code": a.school.municipality_code,
        "name": names.get(number, ""),
        "eligible_pupils": a.eligible_pupils,
        "eligible_total": a.eligible_total,
        "devices_held": a.devices_held,
        "ratio_need": a.ratio_need,
        "survey_need": a.survey_need,
        "need": a.need,
        "social_factor": str(a.social_factor),
        "weight": decimal_string(a.weight),
        "share": str(line.share),
        "floor": line.floor,
        "remainder": str(line.remainder),
        "rounded_up": line.rounded_up,
        "capped": line.capped,
        "pooled": a.pooled,
        "computed": line.computed,
        "adjustments": adjusted,
        "moves": 0,
        "allocated": line.computed + adjusted,
    }


def _pool(pool: Pool) -> dict[str, Any]:
    return {
        "municipality_code": pool.municipality_code,
        "share": str(pool.share),
        "schools": pool.schools,
        "to": pool.to,
    }


async def publish(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    if_match: str | None,
    now: dt.datetime,
) -> AllocationRound:
    """Make a computed round final and announce every school's number."""
    round_ = await RoundRepository(session).get(round_id, lock=True)
    if round_ is None:
        raise RoundNotFound("No such allocation round")
    check_if_match(if_match, round_.version)
    if round_.state is not AllocationState.COMPUTED:
        raise IllegalRoundState(f"Only a computed round is published; this one is {round_.state}")
    round_.state = AllocationState.PUBLISHED
    round_.published_at = now
    round_.published_by = actor_of(principal)
    await session.flush()
    lines = await LineRepository(session).all(round_.id)
    payload = _payload(
        events.AllocationPublished,
        round_,
        published_at=now,
        lines=[school_allocation(line) for line in lines if line.allocated > 0],
    )
    publish_event(session, events.PUBLISHED, round_.id, None, payload)
    return round_


def school_allocation(line: AllocationLine) -> events.SchoolAllocation:
    """A line as events carry it."""
    return events.SchoolAllocation(
        municipality_code=line.municipality_code,
        institution_number=line.institution_number,
        allocated=line.allocated,
    )


def _payload(model: type[P], round_: AllocationRound, **extra: Any) -> P:
    return model(
        round_id=round_.id,
        title=round_.title,
        funding_programme=round_.funding_programme,
        order_reference=round_.order_reference,
        devices=round_.devices,
        state=round_.state.value,
        version=round_.version,
        **extra,
    )
