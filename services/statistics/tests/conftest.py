"""Statistics test fixtures: a fresh migrated database per test, the real broker, real tokens, a
clock the tests move, the VIIS stand-in (in-process over ASGI, through the real client), and
events built as the producers publish them."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import random
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kit.db import create_engine, create_session_factory
from shared_kit.events import CloudEvent
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.plugin import SettingsFactory
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer
from shared_kit.viis import HttpViisDirectory, ViisSchoolRegister
from statistics_service.config import StatisticsSettings
from statistics_service.consumers import to_fact
from statistics_service.facts import ContractFact, DeviceFact, ReservationFact, TicketFact
from statistics_service.main import MIGRATIONS, create_app
from statistics_service.repository.projection import COUNTERS
from statistics_service.service.pupils import ViisFactory

API = "/api/v1/statistics"
REPO = Path(__file__).resolve().parents[3]
CONTRACTS = REPO / "contracts"
RIGA = "0010000"
VALMIERA = "0940200"
SCHOOL_1 = "3113900101"  # the VIIS stand-in's demo basic school (grades 1-9)
SCHOOL_2 = "3113900102"  # the demo secondary school (grades 1-12)
VALMIERA_SCHOOL = "4213900001"  # known only from events
VIIS_KEY = "test-viis-key"
START = dt.datetime(2026, 9, 1, 6, 0, tzinfo=dt.UTC)  # 09:00 in Rīga


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


standin = _load("statistics_viis_standin", REPO / "deploy" / "dev" / "viis_standin.py")


@pytest.fixture
def clock() -> TestClock:
    """This test's clock, starting on 1 September 2026 at 09:00 in Rīga."""
    return TestClock(START)


@pytest.fixture
async def settings(service_settings: SettingsFactory) -> StatisticsSettings:
    """Settings bound to this test's database, topics and the test JWKS."""
    return await service_settings(StatisticsSettings, MIGRATIONS, viis_api_key=VIIS_KEY)


@pytest.fixture
async def engine(settings: StatisticsSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's database, for seeding and for asserting in SQL."""
    engine = create_engine(settings.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine, settings: StatisticsSettings) -> async_sessionmaker[AsyncSession]:
    """Sessions on this test's database, writing events to the service's topic."""
    return create_session_factory(engine, outbox_topic=settings.events_topic)


def viis_factory(dataset: str = "riga") -> ViisFactory:
    """Opens the real VIIS client against the stand-in (in-process, over ASGI); by default
    Rīga's two demo schools alone."""
    app = standin.create_app(VIIS_KEY, dataset)

    def open_client() -> AbstractAsyncContextManager[ViisSchoolRegister]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        return _Owned(HttpViisDirectory("http://viis.test", VIIS_KEY, http=http), http)

    return open_client


class _Owned:
    """A directory and the HTTP client it was given, closed together."""

    def __init__(self, directory: HttpViisDirectory, http: httpx.AsyncClient) -> None:
        self.directory, self.http = directory, http

    async def __aenter__(self) -> ViisSchoolRegister:
        return self.directory

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


@pytest.fixture
async def client(
    settings: StatisticsSettings, clock: TestClock
) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running statistics app (no background workers), VIIS = the demo stand-in."""
    async with running_app(create_app(settings, clock, viis_factory())) as c:
        yield c


class Tokens(AudienceTokens):
    """Ready-made tokens (audience `statistics`) for the usual callers."""

    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__(issuer, "statistics")
        self.platform = self.mint(roles=["platform_admin"])
        self.analyst = self.mint(roles=["ministry_analyst"])
        self.programme = self.mint(roles=["programme_manager"])
        self.riga = self.mint(roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = self.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.school_1 = self.mint(roles=["institution_admin"], institutions=[SCHOOL_1])
        self.guardian = self.mint(roles=["guardian"], learners=["person-child-1"])
        self.viis = self.mint(
            "client-viis", roles=["service"], client_id="viis", scope="statistics:feed"
        )
        self.riga_client = self.mint(
            "client-riga",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-platform",
            scope="statistics:read statistics:feed",
        )
        self.unscoped_client = self.mint(
            "client-other", roles=["service"], client_id="other", scope="inventory:read"
        )


@pytest.fixture(scope="session")
def tokens(token_issuer: TokenIssuer) -> Tokens:
    """Tokens for analysts, admins, school staff and machine clients."""
    return Tokens(token_issuer)


# Events as the producers publish them ------------------------------------------------------


def checked(evt: CloudEvent) -> CloudEvent:
    """The event, after checking its data against the committed schema of its type."""
    schema = json.loads((CONTRACTS / "events" / f"{evt.type}.json").read_text())
    Draft202012Validator(schema).validate(evt.data)
    return evt


class Producers:
    """Builds events of the inventory, reservations, contracts and tickets; each call is a
    moment later than the previous one, as a producer's events are."""

    def __init__(
        self, start: dt.datetime = START, step: dt.timedelta = dt.timedelta(seconds=1)
    ) -> None:
        self.time, self.step = start, step
        self.devices: dict[str, dict[str, Any]] = {}

    def _tick(self) -> dt.datetime:
        self.time += self.step
        return self.time

    def device(self, device_id: str | None = None, **fields: Any) -> CloudEvent:
        """A device event: the first makes a device (available laptop at school 1), later ones
        change fields of it (`institution`, `levels` renamed) and bump its version. `levels=None`
        leaves `school_levels` out, as events from before the inventory sent it did."""
        device_id = device_id or str(uuid.uuid4())
        renamed = {
            {"institution": "institution_registration_number", "levels": "school_levels"}.get(
                k, k
            ): v
            for k, v in fields.items()
        }
        snapshot = self.devices.get(device_id)
        if snapshot is None:
            snapshot = {
                "device_id": device_id,
                "version": 1,
                "serial_number": f"SN-{device_id[:8]}",
                "asset_tag": f"TAG-{device_id[:8]}",
                "municipality_code": RIGA,
                "institution_registration_number": SCHOOL_1,
                "catalogue_item_code": "LAPTOP-14",
                "manufacturer": "Lenovo",
                "model": "ThinkPad E14",
                "category": "laptop",
                "os": "windows",
                "school_levels": [],
                "screen_inches": "14.0",
                "touch": False,
                "accessories": ["charger"],
                "purchase_price": "649.00",
                "funding_source": "recovery_fund",
                "delivery_date": "2024-09-01",
                "warranty_ends_on": None,
                "insured_until": None,
                "condition": "new",
                "status": "available",
            }
            kind = "registered"
        else:
            snapshot = {**snapshot, "version": snapshot["version"] + 1}
            kind = "updated"
        snapshot.update(renamed)
        if snapshot.get("school_levels", []) is None:
            del snapshot["school_levels"]
        self.devices[device_id] = snapshot
        return self.device_event(kind, snapshot)

    def device_event(self, kind: str, snapshot: dict[str, Any]) -> CloudEvent:
        """A device event carrying exactly this snapshot."""
        data: dict[str, Any] = {"device": snapshot}
        if kind == "updated":
            data["changed_fields"] = ["status"]
        evt = CloudEvent(
            type=f"lv.datori.inventory.device.{kind}.v1",
            source="/datori/inventory",
            subject=snapshot["device_id"],
            data=data,
            time=self._tick(),
            municipality=snapshot["municipality_code"],
        )
        return checked(evt) if "school_levels" in snapshot else evt

    def reservation(
        self,
        reservation_id: str,
        state: str = "requested",
        *,
        institution: str = SCHOOL_1,
        municipality: str = RIGA,
        priority: int = 0,
        criteria: list[str] | None = None,
    ) -> CloudEvent:
        """A reservation event in `state` (the event type follows the state)."""
        kind = {"active": "fulfilled"}.get(state, state)
        data: dict[str, Any] = {
            "reservation_id": reservation_id,
            "device_id": None,
            "municipality_code": municipality,
            "institution_number": institution,
            "beneficiary": "learner",
            "learner_id": "person-child-1",
            "requested_by": "person-guardian-1",
            "period_start": "2026-09-01T06:00:00Z",
            "period_end": "2027-06-01T06:00:00Z",
            "state": state,
            "reason": None,
            "priority_score": priority,
            "social_criteria": [],
            "requested_at": "2026-09-01T06:00:00Z",
            "pickup_deadline": None,
        }
        if state in ("approved", "offered", "fulfilled"):
            data["device_id"] = str(uuid.uuid4())
        if criteria is not None:
            data["social_criteria"] = criteria
        evt = CloudEvent(
            type=f"lv.datori.reservations.reservation.{kind}.v1",
            source="/datori/reservations",
            subject=reservation_id,
            data=data,
            time=self._tick(),
            municipality=municipality,
        )
        return checked(evt)

    def contract(
        self,
        contract_id: str,
        kind: str,
        reservation_id: str,
        *,
        institution: str = SCHOOL_1,
        municipality: str = RIGA,
    ) -> CloudEvent:
        """A contracts event of `kind` (drafted, activated, overdue, returned, …)."""
        states = {
            "drafted": "awaiting_borrower",
            "signed_by_borrower": "awaiting_lender",
            "activated": "active",
            "overdue": "active",
            "returned": "returned",
            "terminated": "terminated",
            "expired": "expired",
            "cancelled": "cancelled",
        }
        moment = self._tick()
        extra: dict[str, Any] = {
            "drafted": {"sign_by": moment.isoformat(), "lender_complete": True},
            "signed_by_borrower": {"signed_at": moment.isoformat()},
            "activated": {"activated_at": moment.isoformat()},
            "overdue": {"overdue_since": moment.isoformat()},
            "returned": {
                "returned_at": moment.isoformat(),
                "condition": "good",
                "notes": None,
                "photo_ids": [],
            },
            "terminated": {"terminated_at": moment.isoformat(), "reason": "moved away"},
            "expired": {"expired_at": moment.isoformat()},
            "cancelled": {"cancelled_at": moment.isoformat(), "reason": "withdrawn"},
        }[kind]
        data = {
            "contract_id": contract_id,
            "number": "RIX-2026-000001",
            "reservation_id": reservation_id,
            "device_id": str(uuid.uuid4()),
            "municipality_code": municipality,
            "institution_number": institution,
            "learner_id": "person-child-1",
            "borrower_id": str(uuid.uuid4()),
            "state": states[kind],
            "period_start": "2026-09-01T06:00:00Z",
            "period_end": "2027-06-01T06:00:00Z",
            "document_version": 1,
            "document_sha256": "0" * 64,
            **extra,
        }
        return checked(
            CloudEvent(
                type=f"lv.datori.contracts.contract.{kind}.v1",
                source="/datori/contracts",
                subject=contract_id,
                data=data,
                time=moment,
                municipality=municipality,
            )
        )

    def ticket(
        self,
        ticket_id: str,
        kind: str = "opened",
        *,
        state: str = "new",
        institution: str | None = SCHOOL_1,
        municipality: str = RIGA,
        opened_at: dt.datetime | None = None,
        resolved_at: dt.datetime | None = None,
    ) -> CloudEvent:
        """A tickets event of `kind` (opened, acknowledged, resolved, closed, reopened,
        sla_breached) carrying the ticket in `state`."""
        opened = opened_at or START
        data: dict[str, Any] = {
            "ticket_id": ticket_id,
            "number": 1,
            "device_id": str(uuid.uuid4()),
            "municipality_code": municipality,
            "institution_number": institution,
            "category": "hardware",
            "severity": "normal",
            "state": state,
            "source": "portal",
            "reporter_kind": "guardian",
            "reporter_id": str(uuid.uuid4()),
            "learner_id": None,
            "contract_id": None,
            "repair": False,
            "warranty_claim": False,
            "assignee_id": None,
            "opened_at": opened.isoformat(),
            "first_response_at": None,
            "resolved_at": resolved_at.isoformat() if resolved_at else None,
            "closed_at": None,
            "response_due_at": None,
            "resolution_due_at": None,
        }
        if kind == "sla_breached":
            data |= {
                "clock": "resolution",
                "target_minutes": 2880,
                "due_at": (opened + dt.timedelta(days=2)).isoformat(),
                "detected_at": (opened + dt.timedelta(days=2, minutes=1)).isoformat(),
            }
        return checked(
            CloudEvent(
                type=f"lv.datori.tickets.ticket.{kind}.v1",
                source="/datori/tickets",
                subject=ticket_id,
                data=data,
                time=self._tick(),
                municipality=municipality,
            )
        )


def random_history(seed: int, scale: int = 1) -> list[CloudEvent]:
    """A plausible history of devices, reservations, contracts and tickets, in production order
    (interleaved across aggregates); `scale` multiplies the number of aggregates."""
    rng = random.Random(seed)
    p = Producers(step=dt.timedelta(hours=5))  # loans across days, so loan days count
    schools = [(RIGA, SCHOOL_1), (RIGA, SCHOOL_2), (VALMIERA, VALMIERA_SCHOOL), (RIGA, "")]
    streams: list[list[Callable[[], CloudEvent]]] = []
    for _ in range(12 * scale):
        device_id = str(uuid.uuid4())
        municipality, school = rng.choice(schools)
        first: dict[str, Any] = {
            "municipality_code": municipality,
            "institution": school or None,
            "category": rng.choice(["laptop", "laptop", "tablet", "accessory"]),
            "os": rng.choice(["windows", "chromeos"]),
            "funding_source": rng.choice(["react_eu", "recovery_fund"]),
            "warranty_ends_on": rng.choice([None, "2026-06-30", "2027-12-31"]),
        }
        if rng.random() < 0.3:
            first["levels"] = [rng.choice(["grades 1-3", "4.-6. klase", "7-9"])]
        if device_id[0] in "01234567":  # about half were delivered under a procurement's order
            first["order_reference"] = f"ANM-2026/{device_id[1] in '01234567'}"
        changes = [
            rng.choice(
                [
                    {"status": rng.choice(["reserved", "on_loan", "in_repair", "lost"])},
                    {"status": "available"},
                    {"institution": rng.choice([SCHOOL_1, SCHOOL_2])},
                    {"warranty_ends_on": "2028-01-31"},
                ]
            )
            for _ in range(rng.randrange(0, 4))
        ]
        streams.append([partial(p.device, device_id, **c) for c in [first, *changes]])
    for _ in range(10 * scale):
        reservation_id, contract_id = str(uuid.uuid4()), str(uuid.uuid4())
        municipality, school = rng.choice(schools[:3])
        where = {"institution": school, "municipality": municipality}
        criteria = rng.choice([None, [], ["low_income"], ["single_parent", "large_family"]])
        claim = {"priority": 20 if criteria else 0, "criteria": criteria, **where}
        decided = rng.choice(["waitlisted", "approved", "cancelled"])
        streams.append(
            [partial(p.reservation, reservation_id, st, **claim) for st in ("requested", decided)]
        )
        if rng.random() < 0.7:
            ends = rng.choice([[], ["overdue"], ["returned"], ["overdue", "returned"]])
            streams.append(
                [
                    partial(p.contract, contract_id, kind, reservation_id, **where)
                    for kind in ["drafted", "activated", *ends]
                ]
            )
    for i in range(6 * scale):
        ticket_id = str(uuid.uuid4())
        municipality, school = rng.choice(schools[:3])
        where = {"institution": school, "municipality": municipality}
        steps = [partial(p.ticket, ticket_id, "opened", **where)]
        if rng.random() < 0.4:
            steps.append(partial(p.ticket, ticket_id, "sla_breached", **where))
        if i % 2:
            at = START + dt.timedelta(hours=rng.randrange(1, 72))
            steps.append(
                partial(p.ticket, ticket_id, "resolved", state="resolved", resolved_at=at, **where)
            )
        streams.append(steps)
    events: list[CloudEvent] = []
    while streams:  # interleave the aggregates' streams, each in its own order
        stream = rng.choice(streams)
        events.append(stream.pop(0)())
        if not stream:
            streams.remove(stream)
    return events


def shuffled_with_duplicates(events: list[CloudEvent], seed: int) -> list[CloudEvent]:
    """The same events in another order, a third of them twice."""
    rng = random.Random(seed)
    out = events + rng.sample(events, len(events) // 3)
    rng.shuffle(out)
    return out


# The reference: counters recomputed from the events, independently of the projection -------

Counters = dict[str, dict[tuple[Any, ...], tuple[int, ...]]]
OUT = {"lost", "stolen", "written_off"}


def recompute(events: Iterable[CloudEvent]) -> Counters:
    """The counters, computed from the latest event of every aggregate."""
    latest: dict[Any, Any] = {}
    breached: set[Any] = set()  # a ticket breached by any of its events stays breached
    for evt in events:
        fact = to_fact(evt)
        if fact is None:
            continue
        key = (type(fact), getattr(fact, _ID[type(fact)]))
        if key not in latest or fact.order > latest[key].order:
            latest[key] = fact
        if isinstance(fact, TicketFact) and fact.sla_breached:
            breached.add(fact.ticket_id)
    reservations = {f.reservation_id: f for f in latest.values() if isinstance(f, ReservationFact)}
    versions: dict[Any, dict[int, DeviceFact]] = {}
    for evt in events:
        fact = to_fact(evt)
        if isinstance(fact, DeviceFact):
            versions.setdefault(fact.device_id, {})[fact.version] = fact
    out: dict[str, dict[tuple[Any, ...], list[int]]] = {name: {} for name in COUNTERS}

    def bump(name: str, key: tuple[Any, ...], *values: int) -> None:
        row = out[name].setdefault(key, [0] * len(values))
        for i, v in enumerate(values):
            row[i] += v

    for f in latest.values():
        where = (f.municipality_code, f.institution_number)
        if isinstance(f, DeviceFact):
            history = [versions[f.device_id][v] for v in sorted(versions[f.device_id])]
            for name, key in _usage_reference(f, history):
                bump(name, key, 1)
            dims = (f.status, f.os, f.category, f.funding_source)
            bump("device_count", (*where, *dims), 1)
            if f.warranty_ends_on is not None:
                bump("device_warranty_count", (*where, *dims, f.warranty_ends_on), 1)
            if f.status not in OUT and f.category != "accessory":
                bump("device_band_count", (*where, f.levels_mask), 1)
            if f.order_reference:
                bump("device_order_count", (*where, f.order_reference), 1)
        elif isinstance(f, ReservationFact):
            bump(
                "reservation_count", (*where, f.state, bool(f.criteria) or f.priority_score > 0), 1
            )
        elif isinstance(f, ContractFact):
            bump("loan_count", (*where, f.state, f.overdue), 1)
            reservation = reservations.get(f.reservation_id)
            if f.state == "active" and reservation is not None:
                names = set(reservation.criteria)
                if names or reservation.priority_score > 0:
                    names.add("any")
                for name in names:
                    bump("loan_criterion_count", (*where, name), 1)
        elif isinstance(f, TicketFact):
            timed = int(not f.is_open and f.resolve_seconds is not None)
            seconds = f.resolve_seconds if timed and f.resolve_seconds else 0
            ever = f.ticket_id in breached
            bump("ticket_count", (*where, f.is_open, ever), 1, timed, seconds)
    return {name: {k: tuple(v) for k, v in rows.items()} for name, rows in out.items()}


LENDABLE = {"available", "reserved", "on_loan"}
OPEN = dt.date(9999, 12, 31)


def _usage_reference(
    state: DeviceFact, history: list[DeviceFact]
) -> list[tuple[str, tuple[Any, ...]]]:
    """The usage counter keys of one device, from all of its versions (oldest first)."""

    def day(at: dt.datetime) -> dt.date:
        return at.astimezone(ZoneInfo("Europe/Riga")).date()

    loans, start = [], None
    for v in history:
        if v.status == "on_loan" and start is None:
            start = v.event_time
        elif v.status != "on_loan" and start is not None:
            loans.append((day(start), day(v.event_time)))
            start = None
    if start is not None:
        loans.append((day(start), OPEN))
    first = len(history) - 1
    while first > 0 and history[first - 1].status == state.status:
        first -= 1
    ended = [e for _, e in loans if e != OPEN]
    delivered = state.delivered_on or day(min(v.event_time for v in history))
    idle = state.status in LENDABLE and state.status != "on_loan"
    since = (ended[-1] if ended else delivered) if idle else day(history[first].event_time)
    where = (state.municipality_code, state.institution_number)
    ever_available = any(v.status in LENDABLE for v in history)
    key = (*where, state.funding_source, state.status, ever_available, bool(loans), since)
    out: list[tuple[str, tuple[Any, ...]]] = [("device_usage_count", key)]
    if state.status in LENDABLE:
        out += [("loan_day_count", (*where, s, e)) for s, e in loans if e > s]
    return out


_ID = {
    DeviceFact: "device_id",
    ReservationFact: "reservation_id",
    ContractFact: "contract_id",
    TicketFact: "ticket_id",
}


async def stored_counters(engine: AsyncEngine) -> Counters:
    """The counters as stored (rows whose values are all zero left out)."""
    out: Counters = {}
    async with engine.connect() as conn:
        for name, (keys, values) in COUNTERS.items():
            rows = await conn.execute(text(f"SELECT {', '.join(keys + values)} FROM {name}"))
            out[name] = {
                tuple(r[: len(keys)]): tuple(r[len(keys) :]) for r in rows if any(r[len(keys) :])
            }
    return out


async def apply_in_batches(
    sessions: async_sessionmaker[AsyncSession], events: list[CloudEvent], seed: int
) -> None:
    """Apply events through the projection in random batch sizes, one transaction each."""
    from statistics_service.service.projection import apply_facts

    rng = random.Random(seed)
    i = 0
    while i < len(events):
        size = rng.randrange(1, 40)
        facts = [f for e in events[i : i + size] if (f := to_fact(e)) is not None]
        async with sessions() as session, session.begin():
            await apply_facts(session, facts)
        i += size


async def sql(engine: AsyncEngine, query: str, **params: Any) -> list[Any]:
    """Rows of a query, for assertions."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(query), params)).all())
