"""What families are told about their reservations and loan agreements, and when.

Reservations: approved, waitlisted, offered (a device freed up from the waitlist), rejected,
expired, each to whoever asked (`requested_by`, the guardian). A loaner (a replacement while
the learner's own device is away, scored `LOANER_SCORE` by the reservations service) is
`loaner_offered` when it gets a device, and its waitlisting is not news to the family. An
`offered` is followed by an `approved` for the same reservation: the family hears one of them.

Contracts, to the borrower: ready to sign when the lender's details are complete (once per
contract) and a reminder 2 days before `sign_by`; device ready to collect when the borrower
signed, and a reminder the day before the reservation's pickup deadline; the return due in 7
days and tomorrow (from the active contract's `period_end`); overdue the day after
`overdue_since`, then weekly, four times at most. Signing, collecting, returning, ending or
cancelling cancels the reminders whose reason went away.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.repository.readmodels import TrackingRepository
from notifications_service.service.notices import Tell, tell
from notifications_service.service.reminders import Slot, at_local, cancel, local_day, replan

LOANER_SCORE = 1000
SIGN_REMINDER = "contract_sign_reminder"
PICKUP_REMINDER = "pickup_reminder"
RETURN_REMINDERS = ("return_due_soon", "return_due_tomorrow")
OVERDUE = "loan_overdue"
OVERDUE_DAYS = (1, 8, 15, 22)  # the day after, then weekly: four at most
CONTRACT_REMINDERS = (SIGN_REMINDER, *RETURN_REMINDERS, OVERDUE)
ENDED = ("returned", "terminated", "expired", "cancelled")
RESERVATION_GONE = ("fulfilled", "cancelled", "expired", "rejected")
RESERVATION_KINDS = {
    "waitlisted": "reservation_waitlisted",
    "offered": "reservation_offered",
    "approved": "reservation_approved",
    "rejected": "reservation_rejected",
    "expired": "reservation_expired",
}


@dataclass(frozen=True)
class ReservationFacts:
    """A reservation event's facts."""

    reservation_id: uuid.UUID
    person_id: str
    municipality_code: str
    institution_number: str
    state: str
    priority_score: int
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    pickup_deadline: dt.datetime | None

    @property
    def loaner(self) -> bool:
        """A replacement device the tickets service asked for."""
        return self.priority_score >= LOANER_SCORE


@dataclass(frozen=True)
class ContractFacts:
    """A contract event's facts."""

    contract_id: uuid.UUID
    reservation_id: uuid.UUID | None
    number: str
    person_id: str
    institution_number: str
    state: str
    period_end: dt.datetime | None
    sign_by: dt.datetime | None = None
    lender_complete: bool = True
    overdue_since: dt.datetime | None = None


def reservation_link(reservation_id: uuid.UUID) -> str:
    """The family's page of a reservation."""
    return f"/families/reservations/{reservation_id}"


def contract_link(contract_id: uuid.UUID) -> str:
    """The family's page of a loan agreement."""
    return f"/families/contracts/{contract_id}"


def _day(moment: dt.datetime | None, timezone: str) -> str | None:
    return local_day(moment, timezone).isoformat() if moment else None


def _when(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def last_day(period_end: dt.datetime, timezone: str) -> dt.date:
    """The loan's last local day (`period_end` is exclusive)."""
    return local_day(period_end - dt.timedelta(microseconds=1), timezone)


# Reservations --------------------------------------------------------------------------------


async def reservation_changed(
    session: AsyncSession,
    change: str,
    facts: ReservationFacts,
    *,
    cause: str,
    now: dt.datetime,
    timezone: str,
) -> None:
    """Keep the reservation's facts, tell the family what changed, re-plan its pickup."""
    before = await TrackingRepository(session).keep_reservation(
        {
            "reservation_id": facts.reservation_id,
            "person_id": facts.person_id,
            "municipality_code": facts.municipality_code,
            "institution_number": facts.institution_number,
            # `offered` is remembered so that the `approved` right after it says nothing more.
            "state": "offered" if change == "offered" else facts.state,
            "loaner": facts.loaner,
            "pickup_deadline": facts.pickup_deadline,
        }
    )
    kind = _reservation_kind(change, facts, before)
    if kind is not None:
        params = {
            "school": facts.institution_number,
            "period_start_on": _day(facts.period_start, timezone),
            "period_end_on": _day(facts.period_end, timezone),
            "pickup_deadline_at": _when(facts.pickup_deadline),
        }
        link = reservation_link(facts.reservation_id)
        await tell(session, Tell(kind, facts.person_id, cause, params, link), now=now)
    if change in RESERVATION_GONE:
        await cancel(session, subject_id=str(facts.reservation_id), kinds=[PICKUP_REMINDER])
    else:
        await plan_pickup(session, facts.reservation_id, now=now, timezone=timezone, known=facts)


def _reservation_kind(change: str, facts: ReservationFacts, before: str | None) -> str | None:
    if change == "approved" and before in ("offered", "approved"):
        return None  # the offer (or the first approval) said it already
    if facts.loaner:
        return "loaner_offered" if change in ("offered", "approved") else None
    return RESERVATION_KINDS.get(change)


class PickupFacts(Protocol):
    """What the pickup reminder reads of a reservation (kept, or just heard of)."""

    @property
    def institution_number(self) -> str: ...

    @property
    def pickup_deadline(self) -> dt.datetime | None: ...


async def plan_pickup(
    session: AsyncSession,
    reservation_id: uuid.UUID,
    *,
    now: dt.datetime,
    timezone: str,
    known: PickupFacts | None = None,
) -> None:
    """The reminder the day before the pickup deadline, while a signed device waits;
    `known`: the reservation's facts just kept (else they are read)."""
    repo = TrackingRepository(session)
    contract = await repo.contract_of(reservation_id)
    if contract is None:
        # Nothing to plan or cancel: a pickup reminder is only ever planned beside the
        # reservation's contract, and tracked contracts are never deleted.
        return
    reservation = known or await repo.reservation(reservation_id)
    slots: list[Slot] = []
    waiting = contract.state == "awaiting_lender"
    if reservation is not None and waiting and reservation.pickup_deadline is not None:
        deadline = reservation.pickup_deadline
        day = local_day(deadline, timezone)
        slots.append(
            Slot(
                kind=PICKUP_REMINDER,
                subject_id=str(reservation_id),
                key=day.isoformat(),
                person_id=contract.person_id,
                due_at=at_local(day - dt.timedelta(days=1), timezone),
                params={
                    "school": reservation.institution_number,
                    "number": contract.number,
                    "pickup_deadline_at": _when(deadline),
                },
                link=reservation_link(reservation_id),
            )
        )
    await replan(
        session, subject_id=str(reservation_id), kinds=[PICKUP_REMINDER], slots=slots, now=now
    )


# Contracts -----------------------------------------------------------------------------------


async def contract_changed(
    session: AsyncSession,
    change: str,
    facts: ContractFacts,
    *,
    cause: str,
    now: dt.datetime,
    timezone: str,
) -> None:
    """Keep the contract's facts, tell the borrower what changed, re-plan its reminders."""
    await TrackingRepository(session).keep_contract(
        {
            "contract_id": facts.contract_id,
            "reservation_id": facts.reservation_id,
            "person_id": facts.person_id,
            "number": facts.number,
            "institution_number": facts.institution_number,
            "state": facts.state,
        }
    )
    params = {"number": facts.number, "school": facts.institution_number}
    link = contract_link(facts.contract_id)
    subject = str(facts.contract_id)
    if change == "drafted":
        await _drafted(session, facts, params, link, now=now, timezone=timezone)
    elif change == "signed_by_borrower":
        await cancel(session, subject_id=subject, kinds=[SIGN_REMINDER])
        ready = Tell("device_ready_to_collect", facts.person_id, cause, params, link)
        await tell(session, ready, now=now)
    elif change == "overdue":
        await _overdue(session, facts, params, link, now=now, timezone=timezone)
    elif change in ENDED:
        await cancel(session, subject_id=subject, kinds=CONTRACT_REMINDERS)
    if facts.state == "active":
        await _plan_return(session, facts, params, link, now=now, timezone=timezone)
    if facts.reservation_id is not None:
        await plan_pickup(session, facts.reservation_id, now=now, timezone=timezone)


async def _drafted(
    session: AsyncSession,
    facts: ContractFacts,
    params: dict[str, str],
    link: str,
    *,
    now: dt.datetime,
    timezone: str,
) -> None:
    subject = str(facts.contract_id)
    signable = facts.lender_complete and facts.state in ("awaiting_borrower", "drafted")
    if not signable or facts.sign_by is None:
        await cancel(session, subject_id=subject, kinds=[SIGN_REMINDER])
        return
    with_deadline = {**params, "sign_by_at": _when(facts.sign_by)}
    cause = f"contract_ready_to_sign:{subject}"  # once per contract, whatever its versions
    ready = Tell("contract_ready_to_sign", facts.person_id, cause, with_deadline, link)
    await tell(session, ready, now=now)
    day = local_day(facts.sign_by, timezone)
    slot = Slot(
        kind=SIGN_REMINDER,
        subject_id=subject,
        key=facts.sign_by.astimezone(dt.UTC).isoformat(),
        person_id=facts.person_id,
        due_at=at_local(day - dt.timedelta(days=2), timezone),
        params=with_deadline,
        link=link,
    )
    await replan(session, subject_id=subject, kinds=[SIGN_REMINDER], slots=[slot], now=now)


async def _plan_return(
    session: AsyncSession,
    facts: ContractFacts,
    params: dict[str, str],
    link: str,
    *,
    now: dt.datetime,
    timezone: str,
) -> None:
    if facts.period_end is None or facts.overdue_since is not None:
        return
    due = last_day(facts.period_end, timezone)
    with_due = {**params, "due_on": due.isoformat()}
    slots = [
        Slot(kind, str(facts.contract_id), due.isoformat(), facts.person_id, at, with_due, link)
        for kind, at in (
            ("return_due_soon", at_local(due - dt.timedelta(days=7), timezone)),
            ("return_due_tomorrow", at_local(due - dt.timedelta(days=1), timezone)),
        )
    ]
    await replan(
        session, subject_id=str(facts.contract_id), kinds=RETURN_REMINDERS, slots=slots, now=now
    )


async def _overdue(
    session: AsyncSession,
    facts: ContractFacts,
    params: dict[str, str],
    link: str,
    *,
    now: dt.datetime,
    timezone: str,
) -> None:
    subject = str(facts.contract_id)
    await cancel(session, subject_id=subject, kinds=RETURN_REMINDERS)
    since = local_day(facts.overdue_since or now, timezone)
    due = last_day(facts.period_end, timezone) if facts.period_end else since
    with_due = {**params, "due_on": due.isoformat()}
    slots = [
        Slot(
            OVERDUE,
            subject,
            (since + dt.timedelta(days=days)).isoformat(),
            facts.person_id,
            at_local(since + dt.timedelta(days=days), timezone),
            with_due,
            link,
        )
        for days in OVERDUE_DAYS
    ]
    await replan(session, subject_id=subject, kinds=[OVERDUE], slots=slots, now=now)
