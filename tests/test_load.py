"""The load drill (issue 9): many concurrent simulated families and staff for a fixed time.

Inventory, reservations, contracts and tickets run in-process with their relays and consumers
on the real PostgreSQL and broker; contracts looks borrowers up at the real gateway. Two
schools have fewer devices than families: Rīga's municipality approves on request, Jūrmala's
waits for the school's administrator. For `LOAD_S` seconds, asyncio tasks play

- families (a guardian token for one learner): reserve, poll, sometimes cancel, sign the
  drafted contract, and once the device is with them sometimes report a screen problem;
- each school's administrator: approves or rejects requests (Jūrmala), countersigns signed
  contracts, records the return of a loan whose device has no open ticket now and then;
- a technician: looks at new tickets, takes the device in (or finds no fault) and resolves
  the repairs; municipal administrators: list and search devices, read availability, the
  waitlist and the support queue.

Every POST carries an `Idempotency-Key`; some are sent again with it, as by a client whose
answer was lost, and must replay the first answer. Once the time is up and every outbox is
published and every consumer has applied every event it reads, the drill asserts: no 5xx;
4xx only where a race makes them expected, all problem+json; no double booking; inventory,
contracts and tickets agree with the live reservations, and exactly the devices taken in
for a repair not yet completed are in repair; no event lost, unknown,
dead-lettered or applied twice (every device's history is one unbroken chain). It prints p50
and p99 per kind of request and the request rate. Loopback only; bounded in time.

The gateway knows only the stand-in's demo people (and lets one address log in ten times in
a burst), so the families borrow in the names of four of them: contracts needs a real person
behind a reservation's `requested_by`, not one per family.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from load_drill.actors import (
    BORROWERS,
    CONTRACTS,
    FAMILY_PAUSE_S,
    INVENTORY,
    LOAD_S,
    RESERVATIONS,
    SITES,
    Drill,
    Family,
    Recorder,
    Site,
    bearer,
    family_round,
    keep_going,
    staff,
)
from load_drill.checks import (
    broken_histories,
    disagreements,
    double_bookings,
    end_state,
    rows,
    settle,
    summary,
)

from shared_kit.testing.gateway import Gateway
from shared_kit.testing.tokens import TokenIssuer

# Reproduce a run with LOAD_DRILL_SEED=<the seed it printed>.
REPORT_PROPERTY = "load_drill_report"
pytestmark = [pytest.mark.slow, pytest.mark.load]


@pytest.fixture
def pool_prefill() -> bool:
    """Production's pools (k8s/base): open at start, so the peak that begins the drill opens
    none. Opened on demand, forty families at once made each service open its connections
    under full load, and one run's connects outlasted their 5 s timeout (503)."""
    return True


async def seed(d: Drill, admin: str) -> None:
    """Both municipalities and schools, one catalogue item, each site's devices, lender and
    reservation policy."""
    item = {"code": "CB-116", "name": "Chromebook 11.6", "manufacturer": "Acer",
            "model": "Spin 311", "category": "chromebook", "os": "chromeos",
            "screen_inches": "11.6", "touch": True, "base_warranty_months": 36}  # fmt: skip
    await created(d.inventory, f"{INVENTORY}/catalogue-items", admin, item)
    for site in SITES:
        town = {"code": site.municipality, "name": site.name}
        await created(d.inventory, f"{INVENTORY}/municipalities", admin, town)
        school = {"registration_number": site.school, "name": f"{site.name} 1. pamatskola",
                  "municipality_code": site.municipality}  # fmt: skip
        await created(d.inventory, f"{INVENTORY}/institutions", admin, school)
        await import_devices(d.inventory, admin, site)
        lender = {"kind": "institution", "code": site.school, "registration_number": site.school,
                  "municipality_code": site.municipality, "name": f"{site.name} 1. pamatskola",
                  "address": "Skolas iela 1, LV-1010", "representative": "direktors"}  # fmt: skip
        await created(d.contracts, f"{CONTRACTS}/lenders", admin, lender)
        url = f"{RESERVATIONS}/policies/{site.municipality}"
        policy = {"auto_approve": site.auto_approve}
        r = await d.reservations.put(url, json=policy, headers=bearer(admin))
        assert r.status_code == 200, r.text


async def created(client: httpx.AsyncClient, url: str, token: str, body: dict[str, Any]) -> None:
    """POST that must answer 201."""
    r = await client.post(url, json=body, headers=bearer(token))
    assert r.status_code == 201, r.text


async def import_devices(client: httpx.AsyncClient, admin: str, site: Site) -> None:
    """The site's devices, available, in one CSV import."""
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["serial_number", "asset_tag", "catalogue_item_code", "funding_source",
                     "institution_registration_number", "status"])  # fmt: skip
    for i in range(site.devices):
        tag = f"LD-{site.municipality}-{i}"
        writer.writerow([f"SN-{tag}", tag, "CB-116", "recovery_fund", site.school, "available"])
    r = await client.post(
        f"{INVENTORY}/devices/imports",
        data={"municipality": site.municipality, "mode": "all_or_nothing"},
        files={"file": ("devices.csv", rows.getvalue().encode(), "text/csv")},
        headers=bearer(admin),
    )
    assert r.status_code == 200 and r.json()["created_rows"] == site.devices, r.text


async def make_families(gateway: Gateway, issuer: TokenIssuer) -> list[Family]:
    """Each site's families: a guardian token for one learner, in the name of a person the
    gateway knows, from a strong and recent login (so that they may sign)."""
    people = [(await gateway.login(name))["sub"] for name in BORROWERS]
    made: list[Family] = []
    for site in SITES:
        for i in range(site.families):
            learner = f"load-{site.municipality}-{i}"
            token = issuer.mint(
                people[len(made) % len(people)], roles=["guardian"], learners=[learner],
                idp="latvija", amr=["eparaksts"], auth_time=int(time.time()), ttl_s=900,
            )  # fmt: skip
            made.append(Family(site, learner, token))
    return made


# The drill ------------------------------------------------------------------------------------


async def test_load_drill(
    inventory: httpx.AsyncClient,
    reservations: httpx.AsyncClient,
    contracts: httpx.AsyncClient,
    tickets: httpx.AsyncClient,
    gateway: Gateway,
    token_issuer: TokenIssuer,
    databases: dict[str, str],
    record_property: Callable[[str, object], None],
) -> None:
    seed_value = int(os.environ.get("LOAD_DRILL_SEED") or random.randrange(2**32))
    d = Drill(inventory, reservations, contracts, tickets, Recorder(), random.Random(seed_value))
    await seed(d, token_issuer.mint(roles=["platform_admin"]))
    families = await make_families(gateway, token_issuer)
    assert (await settle(databases)).settled(), "the system was not quiet before the drill"

    started = time.monotonic()
    d.until = started + LOAD_S
    async with asyncio.TaskGroup() as group:
        for actor in [keep_going(d, FAMILY_PAUSE_S, family_round, f) for f in families]:
            group.create_task(actor)
        for actor in staff(d, token_issuer):
            group.create_task(actor)
    elapsed = time.monotonic() - started
    book = await settle(databases)
    started_loans = "select count(*) from contract where activated_at is not null"
    loans = (await rows(databases["contracts"], started_loans))[0][0]
    report = f"load drill, seed {seed_value}:\n{summary(d.recorder.calls, elapsed, book, loans)}"
    record_property(REPORT_PROPERTY, report)  # printed at the end of the run (conftest.py)
    print(report)

    assert not d.recorder.faults, "\n".join(d.recorder.faults[:20])
    assert not book.dead, "\n".join(book.dead)
    assert not any(book.pending.values()), f"events never published: {book.pending}"
    assert not any(book.missing.values()), f"events never applied: {book.missing}"
    assert not any(book.unknown.values()), f"events applied that nobody published: {book.unknown}"
    assert not await double_bookings(databases["reservations"])
    assert not (found := disagreements(await end_state(databases))), "\n".join(found)
    assert not (broken := await broken_histories(databases["inventory"])), "\n".join(broken)
    assert loans > 0, "no loan started: the drill proved little"
