"""Alembic environment of the reservations service."""

from reservations_service import models
from reservations_service.config import ReservationsSettings
from shared_kit.migrations import run_env

run_env(models.migration_metadata(), default_url=lambda: ReservationsSettings().database_url)
