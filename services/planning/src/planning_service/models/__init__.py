"""Planning's tables: `base` (the declarative base), `survey` and `allocation`."""

from planning_service.models import allocation, survey
from planning_service.models.base import Base, db_enum, migration_metadata

__all__ = ["Base", "allocation", "db_enum", "migration_metadata", "survey"]
