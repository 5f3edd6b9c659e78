"""Alembic environment of the contracts service."""

from contracts_service import models
from contracts_service.config import ContractsSettings
from shared_kit.migrations import run_env

run_env(models.migration_metadata(), default_url=lambda: ContractsSettings().database_url)
