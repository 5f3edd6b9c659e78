"""What the allocation endpoints show: allocated, ordered and delivered devices per round,
municipality and school, within the caller's tenancy (as the other views: analysts, programme
managers and platform admins everything; a municipality its own; a school its own)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from statistics_service.exceptions import AllocationRoundNotFound
from statistics_service.models import AllocationRound
from statistics_service.repository.allocations import AllocationRepository
from statistics_service.schemas import (
    AllocationFigures,
    AllocationRoundList,
    AllocationRoundSummary,
    AllocationView,
    InstitutionAllocation,
    MunicipalityAllocation,
)
from statistics_service.service import access

Where = tuple[str, str]  # (municipality, institution)
Counts = dict[Where, list[int]]  # → [allocated, ordered, delivered]


async def _counts(
    repo: AllocationRepository, rounds: Sequence[AllocationRound]
) -> dict[uuid.UUID, Counts]:
    """Per round, each school's [allocated, ordered, delivered]."""
    out: dict[uuid.UUID, Counts] = {r.round_id: defaultdict(lambda: [0, 0, 0]) for r in rounds}
    for line in await repo.lines([r.round_id for r in rounds]):
        row = out[line.round_id][(line.municipality_code, line.institution_number)]
        row[0], row[1] = line.allocated, line.ordered
    by_reference: dict[str, list[uuid.UUID]] = defaultdict(list)
    for r in rounds:
        by_reference[r.order_reference].append(r.round_id)
    for reference, municipality, institution, n in await repo.delivered(list(by_reference)):
        for round_id in by_reference[reference]:
            out[round_id][(municipality, institution)][2] += n
    return out


def _visible(principal: Principal, counts: Counts, municipality: str | None) -> Counts:
    scope = access.scope_of(principal)
    return {
        (m, i): v
        for (m, i), v in counts.items()
        if scope.allows(municipality=m, institution=i) and municipality in (None, m)
    }


def _sum(rows: Iterable[list[int]]) -> AllocationFigures:
    totals = [0, 0, 0]
    for row in rows:
        totals = [a + b for a, b in zip(totals, row, strict=True)]
    return AllocationFigures(allocated=totals[0], ordered=totals[1], delivered=totals[2])


async def list_rounds(session: AsyncSession, *, principal: Principal) -> AllocationRoundList:
    """Every published round, with its totals within the caller's tenancy."""
    repo = AllocationRepository(session)
    rounds = await repo.rounds()
    counts = await _counts(repo, rounds)
    items = [
        AllocationRoundSummary(
            round_id=r.round_id,
            title=r.title,
            funding_programme=r.funding_programme,
            order_reference=r.order_reference,
            devices=r.devices,
            published_at=r.published_at,
            totals=_sum(_visible(principal, counts[r.round_id], None).values()),
        )
        for r in rounds
    ]
    return AllocationRoundList(items=items)


async def round_view(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    municipality: str | None,
) -> AllocationView:
    """One round per municipality, and per school with a municipality (or for a school)."""
    repo = AllocationRepository(session)
    found = await repo.get_round(round_id)
    if found is None:
        raise AllocationRoundNotFound(f"No published allocation round {round_id}")
    if municipality is not None:
        access.check_municipality(principal, municipality)
    rows = _visible(principal, (await _counts(repo, [found]))[round_id], municipality)
    by_municipality: dict[str, list[list[int]]] = defaultdict(list)
    for (m, _), v in rows.items():
        by_municipality[m].append(v)
    scope = access.scope_of(principal)
    per_school = municipality is not None or not (scope.everything or scope.municipality_codes)
    return AllocationView(
        round_id=found.round_id,
        order_reference=found.order_reference,
        funding_programme=found.funding_programme,
        totals=_sum(rows.values()),
        municipalities=[
            MunicipalityAllocation(municipality_code=m, **_sum(v).model_dump())
            for m, v in sorted(by_municipality.items())
        ],
        institutions=[
            InstitutionAllocation(
                municipality_code=m,
                institution_number=i,
                allocated=v[0],
                ordered=v[1],
                delivered=v[2],
            )
            for (m, i), v in sorted(rows.items())
        ]
        if per_school
        else None,
    )
