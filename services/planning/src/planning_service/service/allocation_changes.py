"""Changes after the computation: adjustments, moves and orders.

An adjustment (the programme manager, computed or published round) and a move (a municipality
administrator between two of their own schools, published round) take devices from one school
and give them to another: the total stays, no school goes below zero, and each is audited (who,
when, why) in `allocation_transfer`. The two schools' lines are locked in a fixed order, the
round's row too (its version counts every change). Reasons stay here, never in an event.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.events import allocation as events
from planning_service.events.common import publish as publish_event
from planning_service.exceptions import (
    IllegalRoundState,
    NotEnoughDevices,
    RoundNotFound,
    SchoolNotInRound,
)
from planning_service.models.allocation import (
    AllocationLine,
    AllocationRound,
    AllocationState,
    AllocationTransfer,
    TransferKind,
)
from planning_service.repository.allocation import LineRepository, RoundRepository
from planning_service.repository.allocation import TransferRepository as Transfers
from planning_service.schemas.allocation import TransferBody
from planning_service.service.allocation import school_allocation
from planning_service.service.allocation_access import View, allows, check_round
from shared_kit.auth import Principal
from shared_kit.tenancy import actor_of

ADJUSTABLE = (AllocationState.COMPUTED, AllocationState.PUBLISHED)


async def adjust(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    body: TransferBody,
    now: dt.datetime,
) -> AllocationTransfer:
    """The programme manager moves devices between any two schools of the round."""
    round_ = await _locked(session, round_id)
    if round_.state not in ADJUSTABLE:
        raise IllegalRoundState("Compute the round before adjusting it")
    every = View(every_round=True, municipalities=None, reasons=True)
    transfer, source, target = await _transfer(
        session, round_, body, TransferKind.ADJUSTMENT, every, principal, now
    )
    payload = events.AllocationAdjusted(**_changed(round_, transfer, source, target))
    publish_event(session, events.ADJUSTED, round_.id, None, payload)
    return transfer


async def move(
    session: AsyncSession,
    *,
    principal: Principal,
    view: View,
    round_id: uuid.UUID,
    body: TransferBody,
    now: dt.datetime,
) -> AllocationTransfer:
    """A municipality moves devices between two of its own schools (published rounds only)."""
    round_ = check_round(view, await _locked(session, round_id))
    if round_.state is not AllocationState.PUBLISHED:
        raise IllegalRoundState("Devices are moved once the round is published")
    transfer, source, target = await _transfer(
        session, round_, body, TransferKind.MOVE, view, principal, now
    )
    payload = events.AllocationMoved(**_changed(round_, transfer, source, target))
    publish_event(session, events.MOVED, round_.id, source.municipality_code, payload)
    return transfer


async def record_order(
    session: AsyncSession,
    *,
    principal: Principal,
    view: View,
    round_id: uuid.UUID,
    institution: str,
    ordered: int,
    now: dt.datetime,
) -> AllocationLine:
    """How many devices are ordered for a school under the round (published rounds only)."""
    round_ = check_round(view, await RoundRepository(session).get(round_id))
    if round_.state is not AllocationState.PUBLISHED:
        raise IllegalRoundState("Orders are recorded once the round is published")
    line = (await LineRepository(session).locked(round_.id, [institution])).get(institution)
    if line is None or not allows(view, line.municipality_code):
        raise SchoolNotInRound(f"School {institution} has no line in this round of yours")
    line.ordered, line.ordered_at, line.ordered_by = ordered, now, actor_of(principal)
    payload = events.OrderRecorded(
        round_id=round_.id,
        order_reference=round_.order_reference,
        municipality_code=line.municipality_code,
        institution_number=line.institution_number,
        ordered=ordered,
        at=now,
    )
    publish_event(session, events.ORDER_RECORDED, round_.id, line.municipality_code, payload)
    return line


async def _locked(session: AsyncSession, round_id: uuid.UUID) -> AllocationRound:
    round_ = await RoundRepository(session).get(round_id, lock=True)
    if round_ is None:
        raise RoundNotFound("No such allocation round")
    return round_


async def _transfer(
    session: AsyncSession,
    round_: AllocationRound,
    body: TransferBody,
    kind: TransferKind,
    view: View,
    principal: Principal,
    now: dt.datetime,
) -> tuple[AllocationTransfer, AllocationLine, AllocationLine]:
    """Take `quantity` from one school's line, give it to the other's, and record why."""
    lines = await LineRepository(session).locked(
        round_.id, [body.from_institution, body.to_institution]
    )
    source, target = (
        _line(lines, body.from_institution, view),
        _line(lines, body.to_institution, view),
    )
    if source.allocated < body.quantity:
        raise NotEnoughDevices(
            f"School {source.institution_number} has {source.allocated} devices in the round"
        )
    column = "adjustments" if kind is TransferKind.ADJUSTMENT else "moves"
    setattr(source, column, getattr(source, column) - body.quantity)
    setattr(target, column, getattr(target, column) + body.quantity)
    source.allocated -= body.quantity
    target.allocated += body.quantity
    RoundRepository.touch(round_, now)
    transfer = AllocationTransfer(
        id=uuid.uuid4(),
        round_id=round_.id,
        kind=kind,
        from_institution=source.institution_number,
        from_municipality=source.municipality_code,
        to_institution=target.institution_number,
        to_municipality=target.municipality_code,
        quantity=body.quantity,
        reason=body.reason,
        actor=actor_of(principal),
        at=now,
    )
    Transfers(session).add(transfer)
    await session.flush()
    return transfer, source, target


def _line(lines: dict[str, AllocationLine], number: str, view: View) -> AllocationLine:
    line = lines.get(number)
    if line is None or not allows(view, line.municipality_code):
        raise SchoolNotInRound(f"School {number} has no line in this round of yours")
    return line


def _changed(
    round_: AllocationRound,
    transfer: AllocationTransfer,
    source: AllocationLine,
    target: AllocationLine,
) -> dict[str, object]:
    return {
        "round_id": round_.id,
        "order_reference": round_.order_reference,
        "quantity": transfer.quantity,
        "source": school_allocation(source),
        "target": school_allocation(target),
        "at": transfer.at,
        "version": round_.version,
    }
