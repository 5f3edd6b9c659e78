"""The allocation rules: the priority score, matching, and the assignment's invariants
checked by hypothesis on random devices, bookings and requests."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reservations_service.service.allocation_rules import (
    Assignment,
    Booking,
    Criteria,
    DeviceView,
    Request,
    assign,
    effective_start,
    is_free,
    overlaps,
    priority_score,
)

T0 = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


def day(n: int) -> dt.datetime:
    """T0 plus n days."""
    return T0 + dt.timedelta(days=n)


class TestPriorityScore:
    @pytest.mark.parametrize(
        ("claims", "score"),
        [
            ([], 0),
            ([("low_income", "welfare_data")], 40),
            ([("low_income", "declared")], 20),
            ([("single_parent", "verified_by_school")], 30),
            ([("large_family", "declared"), ("disabled_child", "declared")], 20),
            ([("low_income", "declared"), ("low_income", "welfare_data")], 40),  # best source once
            (
                [
                    ("low_income", "welfare_data"),
                    ("single_parent", "welfare_data"),
                    ("large_family", "welfare_data"),
                    ("disabled_child", "welfare_data"),
                ],
                110,
            ),
        ],
    )
    def test_weights_times_source_factor(self, claims: list[tuple[str, str]], score: int) -> None:
        assert priority_score(claims) == score

    def test_unknown_values_are_refused(self) -> None:
        with pytest.raises(ValueError):
            priority_score([("rich", "declared")])


class TestMatching:
    device = DeviceView(uuid.uuid4(), "laptop", "windows", Decimal("14.0"), False, "LAPTOP-14")

    @pytest.mark.parametrize(
        ("criteria", "matches"),
        [
            (Criteria(), True),
            (Criteria(category="laptop", os="windows"), True),
            (Criteria(category="tablet"), False),
            (Criteria(touch=True), False),
            (Criteria(touch=False), True),
            (Criteria(screen_inches=Decimal("14.0")), True),
            (Criteria(min_screen_inches=Decimal("13"), max_screen_inches=Decimal("15.6")), True),
            (Criteria(min_screen_inches=Decimal("15")), False),
            (Criteria(max_screen_inches=Decimal("12")), False),
            (Criteria(catalogue_item_code="LAPTOP-14"), True),
            (Criteria(catalogue_item_code="OTHER"), False),
            (Criteria(device_id=uuid.uuid4()), False),
        ],
    )
    def test_criteria(self, criteria: Criteria, matches: bool) -> None:
        assert criteria.matches(self.device) is matches

    def test_named_device_and_unknown_screen(self) -> None:
        assert Criteria(device_id=self.device.id).matches(self.device)
        no_screen = DeviceView(uuid.uuid4(), "tablet", "android", None, True, "T")
        assert not Criteria(min_screen_inches=Decimal("8")).matches(no_screen)
        assert Criteria(touch=True).matches(no_screen)

    def test_half_open_periods(self) -> None:
        assert not overlaps(day(0), day(2), day(2), day(4))
        assert overlaps(day(0), day(3), day(2), day(4))
        assert not overlaps(day(1), day(1), day(0), day(4))  # an ended-at-once loan holds nothing


class TestAssign:
    def test_priority_then_request_time(self) -> None:
        device = DeviceView(uuid.uuid4(), "laptop", "windows", None, False, "L")
        early = Request(uuid.uuid4(), Criteria(), day(1), day(30), 0, day(0))
        poor = Request(
            uuid.uuid4(), Criteria(), day(1), day(30), 40, day(0) + dt.timedelta(hours=5)
        )
        late = Request(
            uuid.uuid4(), Criteria(), day(1), day(30), 40, day(0) + dt.timedelta(hours=6)
        )
        (winner,) = assign([early, late, poor], [device], [], day(0))
        assert winner.request == poor

    def test_past_part_of_a_period_is_not_allocated(self) -> None:
        device = DeviceView(uuid.uuid4(), "laptop", "windows", None, False, "L")
        earlier_loan = Booking(device.id, day(0), day(10))  # returned on day 10
        waiting = Request(uuid.uuid4(), Criteria(), day(0), day(60), 0, day(0))
        (got,) = assign([waiting], [device], [earlier_loan], now=day(10))
        assert got.start == day(10)
        assert assign([waiting], [device], [earlier_loan], now=day(9)) == []
        ended = Request(uuid.uuid4(), Criteria(), day(0), day(5), 0, day(0))
        assert assign([ended], [device], [], now=day(5)) == []


# Property-based: random small worlds ---------------------------------------------------------

CATEGORIES = ("laptop", "tablet")
SYSTEMS = ("windows", "chromeos")
SCREENS = (Decimal("11.6"), Decimal("14.0"), None)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[DeviceView], list[Booking], list[Request], dt.datetime]:
    """Devices, existing non-overlapping bookings, waiting requests and a `now`."""
    devices = [
        DeviceView(
            uuid.UUID(int=i + 1),
            draw(st.sampled_from(CATEGORIES)),
            draw(st.sampled_from(SYSTEMS)),
            draw(st.sampled_from(SCREENS)),
            draw(st.booleans()),
            draw(st.sampled_from(("A", "B"))),
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    bookings: list[Booking] = []
    for device in devices:
        edge = draw(st.integers(0, 5))
        for _ in range(draw(st.integers(0, 2))):
            start = edge + draw(st.integers(0, 6))
            end = start + draw(st.integers(1, 10))
            bookings.append(Booking(device.id, day(start), day(end)))
            edge = end
    requests = []
    for i in range(draw(st.integers(0, 8))):
        start = draw(st.integers(0, 20))
        specific = draw(st.booleans()) and draw(st.integers(0, 5)) == 0
        criteria = (
            Criteria(device_id=draw(st.sampled_from(devices)).id)
            if specific
            else Criteria(
                category=draw(st.sampled_from((None, *CATEGORIES))),
                os=draw(st.sampled_from((None, *SYSTEMS))),
                touch=draw(st.sampled_from((None, True, False))),
                min_screen_inches=draw(st.sampled_from((None, Decimal("12")))),
            )
        )
        requests.append(
            Request(
                uuid.UUID(int=1000 + i),
                criteria,
                day(start),
                day(start + draw(st.integers(1, 15))),
                draw(st.sampled_from((0, 10, 15, 20, 40, 70))),
                day(0) + dt.timedelta(minutes=draw(st.integers(0, 50))),
            )
        )
    return devices, bookings, requests, day(draw(st.integers(0, 6)))


def _free_for(
    request: Request, device: DeviceView, bookings: list[Booking], now: dt.datetime
) -> bool:
    start = effective_start(request, now)
    return start < request.end and is_free(device.id, start, request.end, bookings)


def _booking(a: Assignment) -> Booking:
    return Booking(a.device.id, a.start, a.request.end)


class TestAllocatorProperties:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(worlds())
    def test_invariants(
        self, world: tuple[list[DeviceView], list[Booking], list[Request], dt.datetime]
    ) -> None:
        devices, bookings, requests, now = world
        plan = assign(requests, devices, bookings, now)
        made = [_booking(a) for a in plan]
        everything = bookings + made

        # each request at most once, with a device it accepts, never in the past
        assert len({a.request.id for a in plan}) == len(plan)
        for a in plan:
            assert a.request.criteria.matches(a.device)
            assert a.start == max(a.request.start, now) < a.request.end

        # 1. no overlap: every new booking is clear of every other booking of its device
        for new in made:
            for other in everything:
                if other is not new and other.device_id == new.device_id:
                    assert not overlaps(new.start, new.end, other.start, other.end), (new, other)

        waiting = [r for r in requests if r.id not in {a.request.id for a in plan}]
        for request in waiting:
            # 3. nobody waits while a device they accept is free for their whole period
            for device in devices:
                if request.criteria.matches(device):
                    assert not _free_for(request, device, everything, now), (request, device)
            # 2. priority: even ignoring everything given to lower-priority requests, no device
            #    this request accepts was free for it (so no one below it took its device)
            before = bookings + [
                _booking(a) for a in plan if a.request.priority_key < request.priority_key
            ]
            for device in devices:
                if request.criteria.matches(device):
                    assert not _free_for(request, device, before, now), (request, device)
