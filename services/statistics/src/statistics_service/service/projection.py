"""The projection: facts in, exact counters out, whatever the order and however often.

For every aggregate the state table keeps the fact with the greatest order key that was
applied, and exactly what it added to the counters. A batch of facts is applied by:

1. keeping, per aggregate, the batch's latest fact, and dropping it when the stored one is as
   new or newer (a duplicate or a late, out-of-order event);
2. subtracting the stored fact's contribution and adding the new one's (`contribution`);
3. counting an active loan under the social criteria of its reservation: when a reservation's
   criteria arrive or change after its contract, the contract's contribution is recomputed
   (subtract with the old criteria, add with the new);
4. writing state rows and counter deltas in bulk, under the projection's writer lock.

So the counters always equal a recomputation from the latest fact of every aggregate (the
tests check exactly that, with duplicates and shuffled order), and the rebuild, which applies
the same facts through this same code into shadow tables, gives the same numbers.

Rules for what counts where:
- devices: every device counts by status, OS, category and funding source; by warranty end
  date when known. A device is *in service* unless lost, stolen or written off; in-service
  devices other than accessories count for coverage, by the grades they are meant for
  (`levels_mask`, 0 = the grades their institution teaches); a device delivered under an order
  reference counts as delivered against it at its institution, whatever its status;
- reservations by state, `prioritised` when a social criterion gave priority;
- loans (contracts) by state and overdue; active loans by criterion (`any` = prioritised);
- tickets open or resolved, breached (ever, by any of its events) or not, resolution time
  summed for the mean.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from statistics_service.facts import (
    AnyFact,
    ContractFact,
    DeviceFact,
    ReservationFact,
    TicketFact,
    Transition,
)
from statistics_service.repository.projection import (
    COUNTERS,
    KINDS,
    LIVE,
    ProjectionRepository,
    ProjectionTables,
)
from statistics_service.service import usage

OUT_OF_SERVICE = frozenset({"lost", "stolen", "written_off"})
NOT_FOR_PUPILS = frozenset({"accessory"})
ACTIVE_LOAN = "active"
ANY_CRITERION = "any"

Key = tuple[Any, ...]
Contribution = list[tuple[str, Key, tuple[int, ...]]]


class Deltas:
    """Counter changes of one batch: counter → key → value deltas."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[Key, list[int]]] = {name: {} for name in COUNTERS}

    def add(self, contribution: Contribution, sign: int) -> None:
        """Add (sign 1) or subtract (sign -1) a contribution."""
        for name, key, values in contribution:
            counter = self.rows[name]
            row = counter.get(key)
            if row is None:
                counter[key] = [sign * value for value in values]
                continue
            for i, value in enumerate(values):
                row[i] += sign * value

    def replace(self, old: AnyFact | None, new: AnyFact) -> None:
        """Swap an aggregate's old contribution for its new one."""
        if old is not None:
            self.add(contribution(old), -1)
        self.add(contribution(new), 1)


def is_in_service(status: str) -> bool:
    """Whether a device in this status belongs to the library's working stock."""
    return status not in OUT_OF_SERVICE


def loan_criteria(reservation: ReservationFact | None) -> tuple[str, ...]:
    """The criteria an active loan of this reservation counts under."""
    if reservation is None:
        return ()
    prioritised = bool(reservation.criteria) or reservation.priority_score > 0
    return tuple(sorted({*reservation.criteria, *([ANY_CRITERION] if prioritised else [])}))


def contribution(fact: AnyFact) -> Contribution:
    """What one aggregate adds to the counters."""
    where = (fact.municipality_code, fact.institution_number)
    if isinstance(fact, DeviceFact):
        key = (*where, fact.status, fact.os, fact.category, fact.funding_source)
        out: Contribution = [("device_count", key, (1,))]
        if fact.warranty_ends_on is not None:
            out.append(("device_warranty_count", (*key, fact.warranty_ends_on), (1,)))
        if is_in_service(fact.status) and fact.category not in NOT_FOR_PUPILS:
            out.append(("device_band_count", (*where, fact.levels_mask), (1,)))
        if fact.order_reference:
            out.append(("device_order_count", (*where, fact.order_reference), (1,)))
        return out
    if isinstance(fact, ReservationFact):
        prioritised = bool(fact.criteria) or fact.priority_score > 0
        return [("reservation_count", (*where, fact.state, prioritised), (1,))]
    if isinstance(fact, ContractFact):
        out = [("loan_count", (*where, fact.state, fact.overdue), (1,))]
        if fact.state == ACTIVE_LOAN:
            out += [("loan_criterion_count", (*where, c), (1,)) for c in fact.criteria]
        return out
    timed = 1 if not fact.is_open and fact.resolve_seconds is not None else 0
    values = (1, timed, fact.resolve_seconds or 0 if timed else 0)
    return [("ticket_count", (*where, fact.is_open, fact.sla_breached), values)]


def aggregate_id(fact: AnyFact) -> uuid.UUID:
    """The id of the aggregate a fact describes."""
    return getattr(fact, KINDS[type(fact)][1])


def merge(held: Any, fact: Any) -> Any:
    """The later of two facts of one aggregate; a ticket keeps a breach either one knew of."""
    if held is None:
        return fact
    newer = fact if fact.order > held.order else held
    breached = isinstance(newer, TicketFact) and (held.sla_breached or fact.sla_breached)
    if breached and not newer.sla_breached:
        newer = dataclasses.replace(newer, sla_breached=True)
    return newer


def latest(
    facts: Iterable[AnyFact], into: dict[type[Any], dict[uuid.UUID, Any]] | None = None
) -> dict[type[Any], dict[uuid.UUID, Any]]:
    """Per kind and aggregate, the latest fact (see `merge`), folded into `into` if given."""
    winners = into if into is not None else {kind: {} for kind in KINDS}
    for fact in facts:
        by_id = winners[type(fact)]
        key = aggregate_id(fact)
        by_id[key] = merge(by_id.get(key), fact)
    return winners


async def apply_facts(
    session: AsyncSession,
    facts: Sequence[AnyFact],
    tables: ProjectionTables = LIVE,
    *,
    lock: bool = True,
    transitions: Sequence[Transition] | None = None,
) -> int:
    """Apply facts in the caller's transaction; returns how many aggregates changed.

    `lock=False` only for tables no one else writes (the rebuild's shadow copies).
    `transitions`: the device versions to store, when not every device fact is given (the
    rebuild folds facts to the latest per device but keeps every version).
    """
    if not facts and not transitions:
        return 0
    repo = ProjectionRepository(session, tables)
    if lock:
        await repo.lock()
    winners = latest(facts)
    deltas = Deltas()
    changed: dict[type[Any], list[Any]] = defaultdict(list)
    stored = {kind: await repo.load(kind, winners[kind]) for kind in (DeviceFact, ReservationFact)}
    for kind in (DeviceFact, ReservationFact):
        changed[kind] = _newer(winners[kind], stored[kind], deltas)
    versions = usage.transitions_of(facts) if transitions is None else transitions
    used = await usage.apply_usage(
        repo, versions, changed[DeviceFact], deltas, stored[DeviceFact], winners[DeviceFact]
    )
    changed[TicketFact] = await _tickets(repo, winners[TicketFact], deltas)
    criteria = await _reservation_criteria(repo, winners, changed[ReservationFact])
    changed[ContractFact] = await _contracts(repo, winners[ContractFact], criteria, deltas)
    count = sum(len(v) for v in changed.values()) + len(used)
    if count:
        await _write(repo, changed, deltas)
        await repo.save_usage(used)
        if tables is LIVE:
            await repo.bump_epoch()
    return count


def _newer(
    winners: dict[uuid.UUID, Any], stored: dict[uuid.UUID, Any], deltas: Deltas
) -> list[Any]:
    """The winners newer than what is stored, with their counter changes recorded."""
    applied = []
    for key, fact in winners.items():
        old = stored.get(key)
        if old is not None and old.order >= fact.order:
            continue
        deltas.replace(old, fact)
        applied.append(fact)
    return applied


async def _tickets(
    repo: ProjectionRepository, winners: dict[uuid.UUID, TicketFact], deltas: Deltas
) -> list[TicketFact]:
    """Newer tickets; a breach, once seen in any of a ticket's events, stays (in any order)."""
    stored = await repo.load(TicketFact, winners)
    applied = []
    for key, fact in winners.items():
        old = stored.get(key)
        new = merge(old, fact)
        if old is not None and new == old:
            continue
        deltas.replace(old, new)
        applied.append(new)
    return applied


async def _reservation_criteria(
    repo: ProjectionRepository,
    winners: dict[type[Any], dict[uuid.UUID, Any]],
    applied: list[ReservationFact],
) -> dict[uuid.UUID, tuple[str, ...]]:
    """Loan criteria of the reservations this batch's contracts name, or whose criteria it
    changed (`changed` ones are marked by appearing in `applied`)."""
    known = {r.reservation_id: r for r in applied}
    needed = {
        c.reservation_id
        for c in winners[ContractFact].values()
        if c.reservation_id is not None and c.reservation_id not in known
    }
    known.update(await repo.load(ReservationFact, needed))
    return {key: loan_criteria(r) for key, r in known.items()}


async def _contracts(
    repo: ProjectionRepository,
    winners: dict[uuid.UUID, ContractFact],
    criteria: dict[uuid.UUID, tuple[str, ...]],
    deltas: Deltas,
) -> list[ContractFact]:
    """Newer contracts, and stored contracts whose reservation's criteria changed."""

    def with_criteria(c: ContractFact) -> ContractFact:
        found = criteria.get(c.reservation_id) if c.reservation_id is not None else None
        return dataclasses.replace(c, criteria=found if found is not None else c.criteria)

    stored = await repo.load(ContractFact, winners)
    affected = {
        c.contract_id: c for c in await repo.contracts_of(criteria) if c.contract_id not in winners
    }
    stored.update(affected)
    candidates = {**{k: stored[k] for k in affected}, **winners}
    applied = []
    for key, fact in candidates.items():
        old = stored.get(key)
        newest = fact if old is None or fact.order > old.order else old
        new = with_criteria(newest)
        if old is not None and new == old:
            continue
        deltas.replace(old, new)
        applied.append(new)
    return applied


async def _write(
    repo: ProjectionRepository, changed: dict[type[Any], list[Any]], deltas: Deltas
) -> None:
    seen: dict[str, str] = {}
    for facts in changed.values():
        await repo.save(facts)
        for f in facts:
            if f.institution_number:
                seen[f.institution_number] = f.municipality_code
    for name, rows in deltas.rows.items():
        await repo.add_to_counters(name, rows)
    await repo.remember_institutions(seen)
