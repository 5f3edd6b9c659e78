"""Inventory settings (env prefix `INVENTORY_`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared_kit.settings import Environment, ServiceSettings

DEV_VIIS_API_KEY = "dev-viis-key"  # the local stand-in's key; production refuses it


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
    # VIIS lists a municipality's schools when it comes on board (and on each refresh).
    viis_url: str = "http://127.0.0.1:8190"
    viis_api_key: SecretStr = SecretStr(DEV_VIIS_API_KEY)
    viis_timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _no_dev_viis_key_in_prod(self) -> InventorySettings:
        if self.environment is Environment.PROD:
            if self.viis_api_key.get_secret_value() == DEV_VIIS_API_KEY:
                raise ValueError("INVENTORY_VIIS_API_KEY must be set in production")
            if not self.viis_url.startswith("https://"):
                raise ValueError("INVENTORY_VIIS_URL must be an https URL in production")
        return self


def get_settings() -> InventorySettings:
    """Settings read from the environment."""
    return InventorySettings()
