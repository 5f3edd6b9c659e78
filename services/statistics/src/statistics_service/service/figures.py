"""Raw sums per area, merged upwards and turned into the published figures.

The views and the daily snapshots both read grouped sums (`ViewRepository`) into one `Raw` per
municipality or institution; a total is the merge of its parts, so a national view is the sum
of its municipalities and nothing is counted twice. Publishing applies the two rules that do
not add up: small-cell suppression and the ratios.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from statistics_service.config import DEFAULT_IDLE_DAYS, GradeBand
from statistics_service.repository.usage import UsageRepository
from statistics_service.repository.views import (
    DEVICE_DIMENSIONS,
    Area,
    DeviceFilter,
    Group,
    ViewRepository,
)
from statistics_service.schemas import (
    BandCoverage,
    CountOrSuppressed,
    DeviceFigures,
    Figures,
    LoanDays,
    LoanFigures,
    NotLendable,
    PupilFigures,
    ReservationFigures,
    TicketFigures,
    UsageFigures,
)
from statistics_service.service.projection import ANY_CRITERION, OUT_OF_SERVICE

# The programme's criteria (reservations' allocator), always listed, and `any`.
SOCIAL_CRITERIA = (ANY_CRITERION, "low_income", "single_parent", "large_family", "disabled_child")
WAITING_STATES = ("requested", "waitlisted")
ACTIVE_LOAN = "active"
USAGE_WINDOWS = (30, 90, 365)  # days on loan within the last N days
REPAIR_LONG_DAYS = 30  # in repair for longer than this: not lendable for long
USAGE_FIELDS = (
    "lendable",
    "on_loan",
    "never_lent",
    "idle",
    "never_available",
    "in_repair_long",
    "lost_stolen_written_off",
)


@dataclass
class Raw:
    """Additive sums of one area."""

    devices: dict[str, Counter[str]] = field(
        default_factory=lambda: {
            d: Counter() for d in ("status", "os", "category", "funding_source")
        }
    )
    warranty: Counter[str] = field(default_factory=Counter)
    loans: Counter[tuple[str, bool]] = field(default_factory=Counter)
    criteria: Counter[str] = field(default_factory=Counter)
    reservations: Counter[str] = field(default_factory=Counter)
    tickets: Counter[str] = field(default_factory=Counter)
    pupils: Counter[int] = field(default_factory=Counter)
    bands: dict[str, list[int | None]] = field(default_factory=dict)  # pupils, devices, needed
    usage: dict[str, Counter[str]] = field(default_factory=dict)  # funding source → counts
    loan_days: Counter[int] = field(default_factory=Counter)  # window → nights on loan

    def merge(self, other: Raw) -> Raw:
        """Add another area's sums to this one."""
        for dimension, counts in other.devices.items():
            self.devices[dimension].update(counts)
        for mine, theirs in (
            (self.warranty, other.warranty),
            (self.loans, other.loans),
            (self.criteria, other.criteria),
            (self.reservations, other.reservations),
            (self.tickets, other.tickets),
            (self.pupils, other.pupils),
            (self.loan_days, other.loan_days),
        ):
            mine.update(theirs)  # type: ignore[arg-type]
        for band, (pupils, devices, needed) in other.bands.items():
            held = self.bands.setdefault(band, [0, 0, None])
            held[0] = (held[0] or 0) + (pupils or 0)
            held[1] = (held[1] or 0) + (devices or 0)
            if needed is not None:
                held[2] = (held[2] or 0) + needed
        for funding, counts in other.usage.items():
            self.usage.setdefault(funding, Counter()).update(counts)
        return self

    def used(self, name: str) -> int:
        """A usage count (`USAGE_FIELDS`) summed over funding sources."""
        return sum(counts[name] for counts in self.usage.values())

    @property
    def devices_total(self) -> int:
        """All devices."""
        return sum(self.devices["status"].values())

    @property
    def devices_in_service(self) -> int:
        """Devices not lost, stolen or written off."""
        return sum(n for s, n in self.devices["status"].items() if s not in OUT_OF_SERVICE)

    @property
    def active_loans(self) -> int:
        """Active loan contracts."""
        return sum(n for (state, _), n in self.loans.items() if state == ACTIVE_LOAN)


def merged(parts: Iterable[Raw]) -> Raw:
    """The sum of several areas."""
    total = Raw()
    for part in parts:
        total.merge(part)
    return total


async def read_raw(
    repo: ViewRepository,
    *,
    group: Group,
    area: Area,
    devices: DeviceFilter,
    bands: list[GradeBand],
    today: dt.date,
    summaries_only: bool = False,
    idle_days: int = DEFAULT_IDLE_DAYS,
) -> dict[str, Raw]:
    """Sums per municipality or institution in the area. With `summaries_only`, an area gets only
    what its summary shows (device status, loans, pupils, coverage) and everything else is
    summed over the area under the key '' (where devices of no institution count too): the
    merge of all areas is the same total from far fewer rows."""
    raws: dict[str, Raw] = {}
    detail = None if summaries_only else group
    per_area = ("status",) if summaries_only else DEVICE_DIMENSIONS

    def raw(key: str) -> Raw:
        found = raws.get(key)
        if found is None:
            found = raws[key] = Raw()
        return found

    # Rows are unpacked as tuples: attribute access on thousands of rows adds up.
    for g, dimension, value, n in await repo.devices(group, area, devices, per_area):
        raw(g or "").devices[dimension][value] += int(n)
    for g, in_warranty, expired in await repo.warranty(detail, area, devices, today):
        raw(g).warranty.update({"in_warranty": int(in_warranty), "expired": int(expired)})
    for g, state, overdue, n in await repo.loans(group, area):
        raw(g).loans[(state, overdue)] += int(n)
    for g, criterion, n in await repo.loan_criteria(detail, area):
        raw(g).criteria[criterion] += int(n)
    for g, state, _, n in await repo.reservations(detail, area):
        raw(g).reservations[state] += int(n)
    for row in await repo.tickets(group, area):
        _add_tickets(raw(row.g), row)
    for g, grade, pupils in await repo.pupils(group, area):
        raw(g).pupils[int(grade)] += int(pupils)
    for g, band, pupils, available, needed in await repo.coverage(group, area, bands):
        raw(g).bands[band] = [pupils, available, needed]
    usage = UsageRepository(repo.session)
    idle_before = today - dt.timedelta(days=idle_days)
    repair_before = today - dt.timedelta(days=REPAIR_LONG_DAYS)
    for g, funding, *counts in await usage.devices(
        group, area, idle_before=idle_before, repair_before=repair_before
    ):
        held = raw(g).usage.setdefault(funding, Counter())
        held.update(dict(zip(USAGE_FIELDS, map(int, counts), strict=True)))
    for g, *days in await usage.loan_days(detail, area, today, USAGE_WINDOWS):
        raw(g).loan_days.update(dict(zip(USAGE_WINDOWS, map(int, days), strict=True)))
    return raws


def _add_tickets(raw: Raw, row: Any) -> None:
    n = int(row.n)
    raw.tickets["open" if row.is_open else "resolved"] += n
    if row.sla_breached:
        raw.tickets["sla_breaches"] += n
    raw.tickets["timed"] += int(row.timed)
    raw.tickets["resolve_seconds"] += int(row.resolve_seconds)


def suppressed(count: int, threshold: int) -> CountOrSuppressed:
    """A count as published: 1 to threshold-1 become null and `suppressed`; 0 stays 0."""
    if 0 < count < threshold:
        return CountOrSuppressed(count=None, suppressed=True)
    return CountOrSuppressed(count=count, suppressed=False)


def publish(
    raw: Raw, bands: list[GradeBand], threshold: int, idle_days: int = DEFAULT_IDLE_DAYS
) -> Figures:
    """The figures of an area as the API and the feed publish them."""
    total = raw.devices_total
    known = raw.warranty["in_warranty"] + raw.warranty["expired"]
    loans_by_state: Counter[str] = Counter()
    for (state, _), n in raw.loans.items():
        loans_by_state[state] += n
    criteria = sorted({*SOCIAL_CRITERIA, *raw.criteria})
    timed = raw.tickets["timed"]
    return Figures(
        devices=DeviceFigures(
            total=total,
            in_service=raw.devices_in_service,
            by_status=_sorted(raw.devices["status"]),
            by_os=_sorted(raw.devices["os"]),
            by_category=_sorted(raw.devices["category"]),
            by_funding_source=_sorted(raw.devices["funding_source"]),
            by_warranty_state={
                "in_warranty": raw.warranty["in_warranty"],
                "expired": raw.warranty["expired"],
                "unknown": total - known,
            },
        ),
        loans=LoanFigures(
            active=raw.active_loans,
            overdue=sum(n for (s, overdue), n in raw.loans.items() if overdue and s == "active"),
            by_state=_sorted(loans_by_state),
            by_social_criterion={c: suppressed(raw.criteria[c], threshold) for c in criteria},
        ),
        reservations=ReservationFigures(
            waiting=sum(raw.reservations[s] for s in WAITING_STATES),
            waitlisted=raw.reservations["waitlisted"],
            by_state=_sorted(raw.reservations),
        ),
        tickets=TicketFigures(
            open=raw.tickets["open"],
            resolved=raw.tickets["resolved"],
            sla_breaches=raw.tickets["sla_breaches"],
            mean_hours_to_resolve=(
                round(raw.tickets["resolve_seconds"] / timed / 3600, 2) if timed else None
            ),
        ),
        pupils=PupilFigures(
            total=sum(raw.pupils.values()),
            by_grade={str(g): n for g, n in sorted(raw.pupils.items()) if n},
        ),
        coverage=coverage(raw, bands),
        usage=usage(raw, idle_days),
    )


def ratio(part: int, whole: int, digits: int) -> float | None:
    """part / whole rounded, or None when whole is 0."""
    return round(part / whole, digits) if whole else None


def usage(raw: Raw, idle_days: int) -> UsageFigures:
    """Usage figures of an area (device counts: never suppressed, they identify nobody)."""
    lendable = raw.used("lendable")
    return UsageFigures(
        lendable=lendable,
        on_loan=raw.used("on_loan"),
        utilisation=ratio(raw.used("on_loan"), lendable, 4),
        loan_days={
            str(w): LoanDays(days=raw.loan_days[w], per_device=ratio(raw.loan_days[w], lendable, 2))
            for w in USAGE_WINDOWS
        },
        idle_threshold_days=idle_days,
        idle=raw.used("idle"),
        never_lent=raw.used("never_lent"),
        not_lendable=[
            NotLendable(
                funding_source=funding,
                never_available=counts["never_available"],
                in_repair_long=counts["in_repair_long"],
                lost_stolen_written_off=counts["lost_stolen_written_off"],
            )
            for funding, counts in sorted(raw.usage.items())
        ],
    )


def coverage(raw: Raw, bands: list[GradeBand]) -> list[BandCoverage]:
    """Coverage per band of an area."""
    out = []
    for band in bands:
        pupils, devices, needed = raw.bands.get(band.name, [0, 0, None])
        pupils, devices = pupils or 0, devices or 0
        target = band.pupils_per_device
        if target is not None and needed is None:
            needed = 0  # no institution in the area: nothing is missing
        out.append(
            BandCoverage(
                band=band.name,
                first_grade=band.first_grade,
                last_grade=band.last_grade,
                pupils=pupils,
                devices=devices,
                pupils_per_device=round(pupils / devices, 2) if devices else None,
                target_pupils_per_device=target,
                devices_needed=needed if target is not None else None,
                target_met=(needed == 0) if target is not None else None,
            )
        )
    return out


def devices_needed(pupils: int, devices: int, target: Decimal) -> int:
    """Devices one institution still needs: max(0, ceil(pupils / target) - devices)."""
    return max(0, math.ceil(Decimal(pupils) / target) - devices)


def _sorted(counts: Counter[str]) -> dict[str, int]:
    return {k: n for k, n in sorted(counts.items()) if n}
