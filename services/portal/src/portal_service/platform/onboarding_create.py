""" "Create": every step of onboarding through the services' APIs, idempotent as a whole.

Each step first asks whether its part is already there, and each write carries an idempotency
key derived from the flow's key, so a repeated submit, a reload, or the whole flow run again for
the same municipality creates nothing twice and finishes what an earlier run left undone. A
policy the municipality already has is left as it is (its administrators may have changed it).
Each step reports "created" or "already there"; the first that fails stops the run.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from portal_service.deps import Apis
from portal_service.exceptions import ServiceUnavailable
from portal_service.i18n import N_
from portal_service.municipality.common import CONTRACTS, GATEWAY, INVENTORY, RESERVATIONS, TICKETS
from portal_service.platform.onboarding_flow import FAILED
from portal_service.web.api import ApiProblem

logger = logging.getLogger(__name__)
CREATED, THERE = "created", "there"
# The steps in the order they run, with what the confirmation page calls them.
STEP_NAMES: dict[str, str] = {
    "municipality": N_("Municipality"),
    "schools": N_("Schools from VIIS"),
    "reservations": N_("Reservation rules"),
    "sla": N_("Support time targets"),
    "lender": N_("Lender"),
    "admin": N_("First administrator"),
}


@dataclass
class Outcome:
    """What one step did: created, already there, or failed (and, for schools, the counts)."""

    step: str
    state: str
    counts: dict[str, int] = field(default_factory=dict)


async def create_all(apis: Apis, draft: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Run every step in order until one fails; the outcomes as plain data."""
    outcomes: list[Outcome] = []
    code = str(draft["code"])
    runs = [
        ("municipality", _municipality),
        ("schools", _schools),
        ("reservations", _reservations),
        ("sla", _sla),
        ("lender", _lender),
        ("admin", _admin),
    ]
    for step, run in runs:
        try:
            outcomes.append(await run(apis, code, draft, f"{key}-{step}"))
        except (ApiProblem, ServiceUnavailable) as exc:
            # The problem's status and type, or which service failed: never the answers.
            logger.warning("onboarding step %s failed: %s", step, exc)
            outcomes.append(Outcome(step, FAILED))
            break
    return [asdict(o) for o in outcomes]


async def _municipality(apis: Apis, code: str, draft: dict[str, Any], key: str) -> Outcome:
    body = {"code": code, "name": draft["name"]}
    try:
        await apis.inventory.post(f"{INVENTORY}/municipalities", json=body, idempotency_key=key)
    except ApiProblem as problem:
        if problem.status != 409:
            raise
        return Outcome("municipality", THERE)
    return Outcome("municipality", CREATED)


async def _schools(apis: Apis, code: str, draft: dict[str, Any], key: str) -> Outcome:
    report = await apis.inventory.post(
        f"{INVENTORY}/municipalities/{code}/institutions/viis-import", idempotency_key=key
    )
    counts = {k: len(report.get(k) or []) for k in ("created", "updated", "unchanged", "elsewhere")}
    return Outcome("schools", CREATED if counts["created"] else THERE, counts)


async def _reservations(apis: Apis, code: str, draft: dict[str, Any], key: str) -> Outcome:
    path = f"{RESERVATIONS}/policies/{code}"
    current = await apis.reservations.get(path)
    if int(current.get("version") or 0) > 0:
        return Outcome("reservations", THERE)
    rules = draft["reservations"]
    body = {k: v for k, v in current.items() if k not in ("municipality_code", "version")}
    body.update(
        auto_approve=rules["auto_approve"] == "yes",
        max_period_days=rules["max_period_days"],
        pickup_days=rules["pickup_days"],
    )
    try:
        await apis.reservations.put(path, json=body, if_match='"0"')
    except ApiProblem as problem:
        if problem.status != 412:  # stored meanwhile (a parallel run): it is there
            raise
        return Outcome("reservations", THERE)
    return Outcome("reservations", CREATED)


async def _sla(apis: Apis, code: str, draft: dict[str, Any], key: str) -> Outcome:
    current = await apis.tickets.get(f"{TICKETS}/sla-policies/{code}")
    stored = {p["severity"] for p in current if int(p.get("version") or 0) > 0}
    created = False
    for severity, (response_h, resolution_h) in draft["sla"].items():
        if severity in stored:
            continue
        body = {"response_minutes": response_h * 60, "resolution_minutes": resolution_h * 60}
        try:
            await apis.tickets.put(
                f"{TICKETS}/sla-policies/{code}/{severity}", json=body, if_match='"0"'
            )
        except ApiProblem as problem:
            if problem.status != 412:
                raise
            continue
        created = True
    return Outcome("sla", CREATED if created else THERE)


async def _lender(apis: Apis, code: str, draft: dict[str, Any], key: str) -> Outcome:
    path = f"{CONTRACTS}/lenders"
    found = await apis.contracts.request("GET", f"{path}/municipality/{code}", allow=(404,))
    if found.status_code == 200:
        return Outcome("lender", THERE)
    body = {"kind": "municipality", "code": code, "municipality_code": code, **draft["lender"]}
    try:
        await apis.contracts.post(path, json=body, idempotency_key=key)
    except ApiProblem as problem:
        if problem.status != 409:
            raise
        return Outcome("lender", THERE)
    return Outcome("lender", CREATED)


async def _admin(apis: Apis, code: str, draft: dict[str, Any], key: str) -> Outcome:
    personal_code = draft.get("personal_code")
    if not personal_code:
        return Outcome("admin", THERE)  # granted by an earlier run of this flow
    body = {
        "personal_code": personal_code,
        "role": "municipality_admin",
        "municipality_code": code,
    }
    answer = await apis.gateway.request("POST", f"{GATEWAY}/grants/by-personal-code", json=body)
    return Outcome("admin", CREATED if answer.status_code == 201 else THERE)
