"""Alembic environment of the planning service."""

from planning_service import models
from planning_service.config import PlanningSettings
from shared_kit.migrations import run_env

run_env(models.migration_metadata(), default_url=lambda: PlanningSettings().database_url)
