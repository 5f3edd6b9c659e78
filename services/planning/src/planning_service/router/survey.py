"""Survey endpoints under `/api/v1/planning`."""

from __future__ import annotations

from fastapi import APIRouter

from planning_service.router.base import COMMON, PREFIX

router = APIRouter(prefix=PREFIX, responses=COMMON)
