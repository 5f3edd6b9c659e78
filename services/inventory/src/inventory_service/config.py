"""Inventory settings (env prefix `INVENTORY_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared_kit.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    """Settings of the inventory service."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    jwt_audience: str = "inventory"  # the gateway issues tokens per service
    events_topic: str = "inventory.events"
    reservations_topic: str = "reservations.events"
    contracts_topic: str = "contracts.events"
    tickets_topic: str = "tickets.events"
    consumer_group: str = "inventory"
    import_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    import_max_rows: int = Field(50_000, ge=1)
    # Background imports: rows per committed chunk, the worker's lease, how often it looks.
    import_chunk_rows: int = Field(200, ge=1)
    import_lease_s: float = Field(60.0, gt=0)
    import_poll_interval_s: float = Field(1.0, gt=0)


def get_settings() -> InventorySettings:
    """Settings read from the environment."""
    return InventorySettings()
