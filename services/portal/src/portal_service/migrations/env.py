"""Alembic environment of the portal service."""

from portal_service import models
from portal_service.config import PortalSettings
from shared_kit.migrations import run_env

run_env(models.Base.metadata, default_url=lambda: PortalSettings().database_url)
