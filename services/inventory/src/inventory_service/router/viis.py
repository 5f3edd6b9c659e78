"""A municipality's schools from VIIS: what VIIS lists, and the import (platform admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from inventory_service.deps import ValidMunicipality, Viis
from inventory_service.router.base import COMMON, PREFIX
from inventory_service.schemas import ViisImportReport, ViisInstitutionRead, ViisMunicipalityRead
from inventory_service.service import viis as viis_service
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import NowDep, SessionDep
from shared_kit.fields import ATVK_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.problems import problem_responses

router = APIRouter(prefix=PREFIX, responses=COMMON, tags=["reference data"])
AtvkPath = Annotated[str, Path(pattern=ATVK_PATTERN)]


@router.get("/viis/municipalities", response_model=list[ViisMunicipalityRead])
async def viis_municipalities(principal: CurrentPrincipal, viis: Viis) -> Any:
    """The municipalities VIIS lists institutions of, by code (platform administrators)."""
    listed = await viis_service.municipalities(principal=principal, open_viis=viis)
    return [ViisMunicipalityRead(code=m.code, name=m.name) for m in listed]


@router.get("/viis/municipalities/{code}/institutions", response_model=list[ViisInstitutionRead])
async def viis_institutions(code: AtvkPath, principal: CurrentPrincipal, viis: Viis) -> Any:
    """The institutions VIIS lists in a municipality, by registration number (platform
    administrators): what an import would bring, whether or not the municipality is here yet."""
    listed = await viis_service.institutions(principal=principal, open_viis=viis, code=code)
    return [ViisInstitutionRead.model_validate(i.model_dump()) for i in listed]


@router.post(
    "/municipalities/{code}/institutions/viis-import",
    response_model=ViisImportReport,
    responses=problem_responses(404),
)
async def import_from_viis(
    municipality: ValidMunicipality,
    principal: CurrentPrincipal,
    session: SessionDep,
    viis: Viis,
    now: NowDep,
    idem: IdempotencyDep,
) -> Any:
    """Import (or refresh) the municipality's institutions from VIIS (platform administrators):
    new ones created, known ones brought up to date, none duplicated or removed."""
    if replay := await idem.replay(None):
        return replay
    report = await viis_service.import_institutions(
        session=session, principal=principal, open_viis=viis, municipality=municipality, now=now
    )
    return idem.respond(200, report)
