"""Alembic environment of the notifications service."""

from notifications_service import models
from notifications_service.config import NotificationsSettings
from shared_kit.migrations import run_env

run_env(models.migration_metadata(), default_url=lambda: NotificationsSettings().database_url)
