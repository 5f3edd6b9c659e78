"""Alembic environment of the tickets service."""

from shared_kit.migrations import run_env
from tickets_service import models
from tickets_service.config import TicketsSettings

run_env(models.migration_metadata(), default_url=lambda: TicketsSettings().database_url)
