"""The needs survey's pages (one module per audience): families, schools, municipalities, and
the programme (with the ministry's analysts reading the results)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.planning import (
    survey_family,
    survey_municipality,
    survey_national,
    survey_school,
)

router = APIRouter()
for part in (survey_family, survey_school, survey_municipality, survey_national):
    router.include_router(part.router)
