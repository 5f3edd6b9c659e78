"""Alembic environment of the gateway service."""

from gateway_service import models
from gateway_service.config import GatewaySettings
from shared_kit.migrations import run_env

run_env(models.migration_metadata(), default_url=lambda: GatewaySettings().database_url)
