"""Alembic environment of the inventory service."""

from inventory_service import models
from inventory_service.config import InventorySettings
from shared_kit.migrations import run_env

run_env(models.migration_metadata(), default_url=lambda: InventorySettings().database_url)
