"""The load drill's actors: families, school administrators, a technician and municipal
administrators, each a loop of rounds against the services' public APIs, every call recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared_kit.testing.http import bearer
from shared_kit.testing.tokens import TokenIssuer

LOAD_S = 15.0  # the drill's fixed wall-clock time
SETTLE_S = 45.0  # at most this long for relays and consumers to catch up afterwards
FAMILY_PAUSE_S = (0.8, 1.6)
STAFF_PAUSE_S = (0.3, 0.3)
CANCEL_P = 0.03  # a waiting or unsigned family changes its mind (per look)
REPORT_P = 0.5  # a family with the device reports a problem (per look, once per loan)
REJECT_P = 0.15  # Jūrmala's administrator turns a request down
RETURN_P = 0.25  # an administrator records one return (per round)
RESEND_P = 0.15  # a successful POST is sent again with its key (the answer was "lost")
NO_FAULT_P = 0.3  # the technician looks at a ticket and finds nothing to repair

INVENTORY = "/api/v1/inventory"
RESERVATIONS = "/api/v1/reservations"
CONTRACTS = "/api/v1/contracts"
TICKETS = "/api/v1/tickets"
BORROWERS = ("guardian", "teacher", "school_admin", "municipality_admin")  # 2 logins each
RESENT_HEADERS = ("authorization", "idempotency-key", "if-match", "content-type")
RACES = {"illegal-transition", "precondition-failed"}  # staff acting on what a family changed


@dataclass(frozen=True)
class Site:
    """A school, its municipality, its devices and the families that want one."""

    municipality: str
    name: str
    school: str
    devices: int
    families: int
    auto_approve: bool


SITES = (
    Site("0010000", "Rīga", "3113900101", devices=10, families=36, auto_approve=True),
    Site("0130000", "Jūrmala", "3113900202", devices=8, families=24, auto_approve=False),
)


def now() -> dt.datetime:
    """The wall clock, aware."""
    return dt.datetime.now(dt.UTC)


# Recording ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One answered request."""

    kind: str
    status: int
    seconds: float


@dataclass
class Recorder:
    """Sends and times requests, and notes every answer that breaks the drill's rules."""

    calls: list[Call] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    async def timed(
        self, client: httpx.AsyncClient, kind: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """Send one request and record its status and latency."""
        started = time.perf_counter()
        response = await client.request(method, url, **kwargs)
        self.calls.append(Call(kind, response.status_code, time.perf_counter() - started))
        return response

    async def send(
        self,
        client: httpx.AsyncClient,
        kind: str,
        method: str,
        url: str,
        token: str,
        *,
        allowed: Iterable[str] = (),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """The answer, judged (`allowed`: the problem types a race may cause here); a 503 is
        retried (same key) as a well-behaved client would, though it is a fault all the same."""
        headers = bearer(token) | (headers or {})
        for _ in range(3):
            response = await self.timed(client, kind, method, url, headers=headers, **kwargs)
            self.judge(kind, response, set(allowed))
            if response.status_code != 503:
                break
            await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))
        return response

    def judge(self, kind: str, response: httpx.Response, allowed: set[str]) -> None:
        """Note a 5xx, a 4xx of a type not allowed here, or a 4xx that is not problem+json."""
        status = response.status_code
        if status < 400:
            return
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        name = str(response.json().get("type", "")).rsplit("/", 1)[-1] if problem else ""
        if status >= 500 or name not in allowed:
            request = response.request
            self.faults.append(
                f"{kind}: {request.method} {request.url.path} → {status}: {response.text[:600]}"
            )

    async def resend(self, client: httpx.AsyncClient, kind: str, first: httpx.Response) -> None:
        """Send the first request again, key and all: the first answer must come back."""
        request = first.request
        headers = {k: v for k, v in request.headers.items() if k in RESENT_HEADERS}
        again = await self.timed(
            client, f"{kind} (resent)", request.method, request.url.path,
            headers=headers, content=request.content,
        )  # fmt: skip
        same = again.status_code == first.status_code and again.json() == first.json()
        if not same or again.headers.get("idempotent-replayed") != "true":
            self.faults.append(
                f"{kind} resent with its key: {again.status_code} {again.text[:300]} "
                f"instead of a replay of {first.status_code}"
            )


# Actors ---------------------------------------------------------------------------------------


@dataclass
class Drill:
    """The services, the recorder, the drill's random choices and its end."""

    inventory: httpx.AsyncClient
    reservations: httpx.AsyncClient
    contracts: httpx.AsyncClient
    tickets: httpx.AsyncClient
    recorder: Recorder
    rng: random.Random
    until: float = 0.0

    def running(self) -> bool:
        """Whether the drill's time is not up yet."""
        return time.monotonic() < self.until

    async def post(
        self, client: httpx.AsyncClient, kind: str, url: str, token: str, **kwargs: Any
    ) -> httpx.Response:
        """POST with a fresh Idempotency-Key; a JSON one is sometimes sent again with it."""
        headers = kwargs.pop("headers", {}) | {"Idempotency-Key": uuid.uuid4().hex}
        response = await self.recorder.send(
            client, kind, "POST", url, token, headers=headers, **kwargs
        )
        if response.is_success and "json" in kwargs and self.rng.random() < RESEND_P:
            await self.recorder.resend(client, kind, response)
        return response

    async def get(
        self, client: httpx.AsyncClient, kind: str, url: str, token: str, **params: Any
    ) -> Any:
        """GET that must succeed; its JSON (None when it did not)."""
        response = await self.recorder.send(client, kind, "GET", url, token, params=params)
        return response.json() if response.status_code == 200 else None


Round = Callable[..., Awaitable[None]]


async def keep_going(d: Drill, pause: tuple[float, float], step: Round, *args: Any) -> None:
    """Repeat an actor's round, with a pause, until the drill's time is up."""
    while d.running():
        await step(d, *args)
        await asyncio.sleep(d.rng.uniform(*pause))


@dataclass
class Family:
    """A guardian acting for one learner at one school."""

    site: Site
    learner: str
    token: str
    reservation: str | None = None
    signed: bool = False
    reported: bool = False

    def start_over(self, reservation: str | None = None) -> None:
        """Forget the last reservation (or take up a new one)."""
        self.reservation, self.signed, self.reported = reservation, False, False


async def family_round(d: Drill, f: Family) -> None:
    """Reserve, or look at the reservation and act on what it says."""
    if f.reservation is None:
        await reserve(d, f)
        return
    path = f"{RESERVATIONS}/{f.reservation}"
    reservation = await d.get(d.reservations, "reservation: poll", path, f.token)
    state = reservation["state"] if reservation else None
    if state in ("requested", "waitlisted") and d.rng.random() < CANCEL_P:
        await cancel(d, f)
    elif state == "approved" and not f.signed:
        await sign_or_cancel(d, f)
    elif state == "fulfilled" and dt.datetime.fromisoformat(reservation["end"]) <= now():
        f.start_over()  # the device went back
    elif state == "fulfilled" and not f.reported and d.rng.random() < REPORT_P:
        await report_problem(d, f, reservation["device_id"])
    elif state in ("cancelled", "rejected", "expired"):
        f.start_over()


async def reserve(d: Drill, f: Family) -> None:
    """Ask for any device at the family's school."""
    body = {"learner_id": f.learner, "institution_number": f.site.school}
    r = await d.post(d.reservations, "reservation: create", RESERVATIONS, f.token, json=body)
    if r.status_code == 201:
        f.start_over(r.json()["id"])


async def cancel(d: Drill, f: Family) -> None:
    """Cancel (409 when the school decided meanwhile)."""
    url = f"{RESERVATIONS}/{f.reservation}/cancel"
    kind, race = "reservation: cancel", {"illegal-transition"}
    r = await d.post(d.reservations, kind, url, f.token, json={}, allowed=race)
    if r.status_code == 200:
        f.start_over()


async def sign_or_cancel(d: Drill, f: Family) -> None:
    """Sign the contract once it is drafted, or (rarely) change one's mind before that."""
    if d.rng.random() < CANCEL_P:
        await cancel(d, f)
        return
    found = await d.get(
        d.contracts, "contract: find", CONTRACTS, f.token, reservation_id=f.reservation
    )
    contract = found["items"][0] if found and found["items"] else None
    if contract is not None and contract["state"] == "awaiting_borrower":
        f.signed = await sign(d, contract["id"], f.token, "sign")


async def sign(d: Drill, contract_id: str, token: str, action: str) -> bool:
    """Sign or countersign the current version, named by its SHA-256 (409 if the contract was
    cancelled meanwhile, or its device went to a repair before the hand-over); whether it was
    signed."""
    path = f"{CONTRACTS}/{contract_id}"
    docs = await d.get(d.contracts, "contract: documents", f"{path}/documents", token)
    if not docs:
        return False
    body = {"document_sha256": docs[-1]["sha256"], "consent_version": "2026.1"}
    url, race = f"{path}/{action}", {"illegal-state", "device-out-of-service"}
    r = await d.post(d.contracts, f"contract: {action}", url, token, json=body, allowed=race)
    return r.status_code == 200


async def report_problem(d: Drill, f: Family, device_id: str) -> None:
    """Report a flickering screen (403 while tickets has not heard of the loan yet)."""
    body = {"device_id": device_id, "category": "screen", "description": "Ekrāns mirgo"}
    race = {"no-relation-to-device"}
    r = await d.post(d.tickets, "ticket: report", TICKETS, f.token, json=body, allowed=race)
    f.reported = r.status_code == 201


async def school_admin_round(d: Drill, site: Site, token: str) -> None:
    """Decide requests (manual policy), countersign, and now and then record a return."""
    if not site.auto_approve:
        await decide_requests(d, site, token)
    await countersign_all(d, site, token)
    if d.rng.random() < RETURN_P:
        await return_one(d, site, token)


async def decide_requests(d: Drill, site: Site, token: str) -> None:
    """Approve (or waitlist) most requests, reject some; If-Match guards against a cancel."""
    page = await d.get(
        d.reservations, "reservation: list", RESERVATIONS, token,
        state="requested", institution_number=site.school, limit=20,
    )  # fmt: skip
    for item in page["items"] if page and d.running() else []:
        url = f"{RESERVATIONS}/{item['id']}"
        match = {"If-Match": f'"{item["version"]}"'}
        if d.rng.random() < REJECT_P:
            body: dict[str, Any] = {"reason": "Ierīces šai klasei nav paredzētas"}
            kind, url = "reservation: reject", f"{url}/reject"
        else:
            body = {"waitlist_if_unavailable": True}
            kind, url = "reservation: approve", f"{url}/approve"
        await d.post(d.reservations, kind, url, token, json=body, headers=match, allowed=RACES)


async def countersign_all(d: Drill, site: Site, token: str) -> None:
    """Countersign every contract its borrower has signed."""
    page = await d.get(
        d.contracts, "contract: list", CONTRACTS, token,
        state="awaiting_lender", institution=site.school,
    )  # fmt: skip
    for contract in page["items"] if page else []:
        if d.running():
            await sign(d, contract["id"], token, "countersign")


async def return_one(d: Drill, site: Site, token: str) -> None:
    """Record the return of one active loan whose device has no open ticket."""
    page = await d.get(
        d.contracts, "contract: list", CONTRACTS, token, state="active", institution=site.school
    )
    if not page or not page["items"]:
        return
    contract = d.rng.choice(page["items"])
    tickets = await d.get(
        d.tickets, "ticket: list", TICKETS, token, device_id=contract["device_id"], open=True
    )
    if tickets is None or tickets["items"]:
        return  # at the workshop: it comes back from there first
    url = f"{CONTRACTS}/{contract['id']}/return"
    await d.post(d.contracts, "contract: return", url, token, data={"condition": "good"})


async def technician_round(d: Drill, token: str) -> None:
    """Look at new tickets, take the device in (or find no fault), resolve the repairs."""
    page = await d.get(d.tickets, "ticket: list", TICKETS, token, open=True, limit=50)
    moves = {"new": "in_progress", "in_progress": "in_repair", "in_repair": "resolved"}
    for ticket in page["items"] if page else []:
        if ticket["state"] in moves:
            url = f"{TICKETS}/{ticket['id']}/transitions"
            match = {"If-Match": f'"{ticket["version"]}"'}
            no_fault = ticket["state"] == "in_progress" and d.rng.random() < NO_FAULT_P
            body = {"to": "resolved" if no_fault else moves[ticket["state"]]}
            kind = "ticket: transition"
            await d.post(d.tickets, kind, url, token, json=body, headers=match, allowed=RACES)


async def municipal_admin_round(d: Drill, site: Site, token: str) -> None:
    """Look around: free devices, a search, availability, the waitlist, the support queue."""
    devices = f"{INVENTORY}/devices"
    await d.get(
        d.inventory, "inventory: devices", devices, token,
        municipality=site.municipality, status="available",
    )  # fmt: skip
    await d.get(d.inventory, "inventory: search", devices, token, q=f"LD-{site.municipality}")
    await d.get(
        d.reservations, "reservation: availability", f"{RESERVATIONS}/availability", token,
        institution_number=site.school,
    )  # fmt: skip
    url = f"{RESERVATIONS}/institutions/{site.school}/waitlist"
    await d.get(d.reservations, "reservation: waitlist", url, token)
    await d.get(d.tickets, "ticket: queue", f"{TICKETS}/queues/{site.municipality}/summary", token)


def staff(d: Drill, issuer: TokenIssuer) -> list[Coroutine[Any, Any, None]]:
    """The staff's rounds: a technician, and each site's school and municipal administrator."""
    towns = [s.municipality for s in SITES]
    technician = issuer.mint(roles=["technician"], municipalities=towns, ttl_s=900)
    rounds = [keep_going(d, STAFF_PAUSE_S, technician_round, technician)]
    for site in SITES:
        school_admin = issuer.mint(
            str(uuid.uuid4()), roles=["institution_admin"], institutions=[site.school], ttl_s=900
        )
        town_admin = issuer.mint(
            roles=["municipality_admin"], municipalities=[site.municipality], ttl_s=900
        )
        rounds.append(keep_going(d, STAFF_PAUSE_S, school_admin_round, site, school_admin))
        rounds.append(keep_going(d, STAFF_PAUSE_S, municipal_admin_round, site, town_admin))
    return rounds


# Setting up -----------------------------------------------------------------------------------
