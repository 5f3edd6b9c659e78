"""What the allocation API shows: rounds with totals, the municipalities table, lines with
their explanation, transfers (reasons only for those who may read them), stored inputs."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.models.allocation import (
    AllocationInput,
    AllocationLine,
    AllocationRound,
    AllocationState,
    AllocationTransfer,
)
from planning_service.repository.allocation import LineRepository
from planning_service.schemas.allocation import (
    AllocationRoundRead,
    EligiblePupils,
    InputRead,
    LineRead,
    MunicipalityRead,
    Totals,
    TransferRead,
)
from planning_service.service.allocation_access import View
from planning_service.service.allocation_rule import decimal_string


async def round_read(session: AsyncSession, round_: AllocationRound) -> AllocationRoundRead:
    """A round with its totals (none before the first computation)."""
    totals = None
    if round_.state is not AllocationState.DRAFT:
        sums = await LineRepository(session).totals(round_.id)
        totals = Totals(
            devices=round_.devices,
            allocated=sums.allocated,
            unallocated=round_.devices - sums.allocated,
            schools=sums.schools,
            municipalities=sums.municipalities,
        )
    return AllocationRoundRead(
        id=round_.id,
        title=round_.title,
        funding_programme=round_.funding_programme,
        order_reference=round_.order_reference,
        devices=round_.devices,
        grade_bands=round_.grade_bands,
        target_ratio=round_.target_ratio,
        subtract_devices_held=round_.subtract_devices_held,
        survey_round_id=round_.survey_round_id,
        survey_weight=str(round_.survey_weight),
        social_weights=round_.social_weights,
        min_eligible_pupils=round_.min_eligible_pupils,
        size_bands=round_.size_bands,
        cap_per_school=round_.cap_per_school,
        municipalities=round_.municipalities,
        institutions=round_.institutions,
        state=round_.state,
        inputs_taken_at=round_.inputs_taken_at,
        computed_at=round_.computed_at,
        published_at=round_.published_at,
        totals=totals,
        created_at=round_.created_at,
        version=round_.version,
    )


async def municipality_rows(
    session: AsyncSession, round_: AllocationRound, municipalities: frozenset[str] | None
) -> list[MunicipalityRead]:
    """The municipalities table, with each municipality's pool."""
    pools = {p["municipality_code"]: p for p in round_.pools}
    rows = await LineRepository(session).by_municipality(round_.id, municipalities)
    return [
        MunicipalityRead(
            municipality_code=r.municipality_code,
            name=round_.municipality_names.get(r.municipality_code, ""),
            schools=r.schools,
            eligible_pupils=r.eligible_pupils,
            need=r.need,
            allocated=r.allocated,
            pooled=decimal_string(Fraction(pools.get(r.municipality_code, {}).get("share", "0"))),
            pooled_schools=pools.get(r.municipality_code, {}).get("schools", 0),
            pooled_to=pools.get(r.municipality_code, {}).get("to"),
        )
        for r in rows
    ]


def line_read(line: AllocationLine) -> LineRead:
    """A line with its explanation."""
    share = Fraction(line.share)
    return LineRead(
        municipality_code=line.municipality_code,
        institution_number=line.institution_number,
        name=line.name,
        eligible_pupils=EligiblePupils(by_band=line.eligible_pupils, total=line.eligible_total),
        devices_held=line.devices_held,
        ratio_need=line.ratio_need,
        survey_need=line.survey_need,
        need=line.need,
        social_factor=decimal_string(Fraction(line.social_factor)),
        weight=str(line.weight),
        share=decimal_string(share),
        share_exact=line.share,
        floor=line.floor,
        remainder=decimal_string(Fraction(line.remainder)),
        rounded_up=line.rounded_up,
        capped=line.capped,
        pooled=line.pooled,
        computed=line.computed,
        adjustments=line.adjustments,
        moves=line.moves,
        allocated=line.allocated,
        ordered=line.ordered,
    )


def transfer_read(transfer: AllocationTransfer, view: View) -> TransferRead:
    """A transfer; its reason and author only when the view may read them."""
    return TransferRead(
        id=transfer.id,
        from_institution=transfer.from_institution,
        from_municipality=transfer.from_municipality,
        to_institution=transfer.to_institution,
        to_municipality=transfer.to_municipality,
        quantity=transfer.quantity,
        reason=transfer.reason if view.reasons else None,
        actor=transfer.actor if view.reasons else None,
        at=transfer.at,
    )


def input_read(row: AllocationInput) -> InputRead:
    """A school's stored inputs."""
    return InputRead(
        institution_number=row.institution_number,
        municipality_code=row.municipality_code,
        name=row.name,
        pupils=row.pupils,
        devices_held=row.devices_held,
        survey=row.survey,
    )
