"""What is happening for a family: per child, the tasks first, then reservations, loans and open
problem reports, read from the services with the person's own token in one concurrent round
(plus one read per waiting reservation, for its place in the queue)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from portal_service.deps import Apis, SignedIn
from portal_service.exceptions import ServiceUnavailable
from portal_service.families import labels
from portal_service.families.reservations import reservation_view
from portal_service.i18n import N_
from portal_service.planning import survey_tasks
from portal_service.web.gateway import Child
from portal_service.web.labels import DEVICE_CATEGORIES

ACTIVE_CONTRACTS = ("drafted", "awaiting_borrower", "awaiting_lender", "active")
PAGE = {"limit": 50}


@dataclass
class Task:
    """One thing the family has to do, for the design system's task list."""

    title: str  # a message id, with `params`
    params: dict[str, Any]
    href: str | None
    status: str  # a message id
    status_classes: str = ""
    hint: str | None = None


@dataclass
class ChildOverview:
    """One child's tasks, reservations, loans and open problem reports."""

    child: Child | None
    tasks: list[Task] = field(default_factory=list)
    reservations: list[dict[str, Any]] = field(default_factory=list)
    loans: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing is happening for this child."""
        return not (self.tasks or self.reservations or self.loans or self.tickets)


@dataclass
class Overview:
    """The home page's family part; `unavailable` when a service did not answer."""

    children: list[ChildOverview]
    others: ChildOverview
    unavailable: bool = False


async def _items(call: Awaitable[Any]) -> list[dict[str, Any]] | None:
    """A page's items, or None when the service did not answer (the home page still shows)."""
    try:
        answer = await call
    except ServiceUnavailable:
        return None
    return list(answer.get("items") or [])


async def _no_items() -> dict[str, Any]:
    """The answer of a read a person has no business making (learners: no reservations)."""
    return {"items": []}


async def load(person: SignedIn, apis: Apis) -> Overview:
    """The family's overview: each service read once, all at the same time."""
    roles = set(person.profile.roles)
    guardian = "guardian" in roles
    reservations, contracts, tickets = await asyncio.gather(
        _items(
            apis.reservations.get(
                "/api/v1/reservations", state=[*labels.ACTIVE_RESERVATIONS, "fulfilled"], **PAGE
            )
            if guardian
            else _no_items()
        ),
        _items(apis.contracts.get("/api/v1/contracts", state=list(ACTIVE_CONTRACTS), **PAGE)),
        _items(apis.tickets.get("/api/v1/tickets", open="true", **PAGE)),
    )
    unavailable = reservations is None or contracts is None or tickets is None
    reservations = await _with_places(apis, reservations or [])
    found = _arrange(person, reservations, contracts or [], tickets or [], unavailable)
    if guardian:
        await survey_tasks.add_tasks(found.children, apis, Task)
    return found


async def _with_places(apis: Apis, reservations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Waiting reservations read one by one: only a single read carries the queue place."""
    waiting = [r for r in reservations if r["state"] == "waitlisted"]
    if not waiting:
        return reservations
    reads = await asyncio.gather(
        *(apis.reservations.get(f"/api/v1/reservations/{r['id']}") for r in waiting),
        return_exceptions=True,
    )
    places = {r["id"]: r for r in reads if isinstance(r, dict)}
    return [places.get(r["id"], r) for r in reservations]


def _arrange(
    person: SignedIn,
    reservations: list[dict[str, Any]],
    contracts: list[dict[str, Any]],
    tickets: list[dict[str, Any]],
    unavailable: bool,
) -> Overview:
    children = {c.id: ChildOverview(c) for c in person.profile.children}
    others = ChildOverview(None)

    def of(learner_id: str | None) -> ChildOverview:
        return children.get(learner_id or "", others)

    contract_of = {c["reservation_id"]: c for c in contracts}
    for contract in contracts:
        view = _loan(contract)
        of(contract["learner_id"]).tasks.extend(_contract_tasks(view))
        if contract["state"] == "active":
            of(contract["learner_id"]).loans.append(view)
    for reservation in reservations:
        view = reservation_view(person, reservation)
        box = of(reservation["learner_id"])
        if reservation["state"] != "fulfilled":
            box.reservations.append(view)
        if reservation["state"] == "approved" and view["pickup_by"]:
            drafted = contract_of.get(reservation["id"])
            if drafted is None:  # the agreement is still being drafted
                box.tasks.append(_contract_tasks({"state": "drafted", "id": ""})[0])
            box.tasks.append(_collect_task(view, drafted))
    learner_of_contract = {c["id"]: c["learner_id"] for c in contracts}
    for ticket in tickets:
        learner = ticket.get("learner_id") or learner_of_contract.get(ticket.get("contract_id"))
        of(learner).tickets.append(_ticket(ticket))
    for box in [*children.values(), others]:
        box.tasks.sort(key=lambda t: t.params.get("sort", dt.datetime.max.replace(tzinfo=dt.UTC)))
    return Overview(list(children.values()), others, unavailable)


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _loan(contract: dict[str, Any]) -> dict[str, Any]:
    device = contract.get("device") or {}
    return {
        **contract,
        "sign_by_at": _when(contract.get("sign_by")),
        "return_by": labels.last_day(dt.datetime.fromisoformat(contract["period_end"])),
        "model": device.get("model") or "",
        "asset_tag": device.get("asset_tag") or "",
        "category": DEVICE_CATEGORIES.get(str(device.get("category") or ""), ""),
    }


def _contract_tasks(loan: dict[str, Any]) -> list[Task]:
    href = f"/families/contracts/{loan['id']}"
    state = loan["state"]
    if state == "awaiting_borrower":
        return [
            Task(
                N_("Sign the loan agreement by %(when)s"),
                {"when": loan["sign_by_at"], "sort": loan["sign_by_at"]},
                href,
                N_("To do"),
                "govuk-tag--blue",
            )
        ]
    if state == "drafted":
        return [
            Task(
                N_("Sign the loan agreement"),
                {"sort": dt.datetime.min.replace(tzinfo=dt.UTC)},  # signing comes first
                None,
                N_("Cannot start yet"),
                "govuk-task-list__status--cannot-start-yet",
                N_("The school is preparing the agreement."),
            )
        ]
    if state == "active":
        end = dt.datetime.fromisoformat(loan["period_end"])
        overdue = bool(loan.get("overdue"))
        return [
            Task(
                N_("Return the computer by %(day)s"),
                {"day": loan["return_by"], "sort": end},
                href,
                N_("Overdue") if overdue else N_("On loan"),
                "govuk-tag--red" if overdue else "govuk-tag--turquoise",
            )
        ]
    return []


def _collect_task(reservation: dict[str, Any], contract: dict[str, Any] | None) -> Task:
    """Collecting waits for the family's signature (the contract's state says whether given)."""
    signed = contract is not None and contract["state"] == "awaiting_lender"
    return Task(
        N_("Collect the computer from the school by %(when)s"),
        {"when": reservation["pickup_by"], "sort": reservation["pickup_by"]},
        f"/families/reservations/{reservation['id']}" if signed else None,
        N_("To do") if signed else N_("Cannot start yet"),
        "govuk-tag--blue" if signed else "govuk-task-list__status--cannot-start-yet",
        None if signed else N_("Sign the loan agreement first."),
    )


def _ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        **ticket,
        "state_label": labels.TICKET_STATES.get(ticket["state"], ticket["state"]),
        "opened": _when(ticket.get("opened_at")),
    }
