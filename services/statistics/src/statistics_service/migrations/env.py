"""Alembic environment of the statistics service."""

from shared_kit.migrations import run_env
from statistics_service import models
from statistics_service.config import StatisticsSettings

run_env(models.migration_metadata(), default_url=lambda: StatisticsSettings().database_url)
