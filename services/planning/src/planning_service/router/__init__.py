"""HTTP endpoints of the planning service under `/api/v1/planning`."""

from fastapi import APIRouter

from planning_service.router import allocation, survey

router = APIRouter()
router.include_router(survey.router)
router.include_router(allocation.router)
