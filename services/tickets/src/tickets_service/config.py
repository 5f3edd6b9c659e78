"""Tickets settings (env prefix `TICKETS_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared_kit.settings import ServiceSettings


class TicketsSettings(ServiceSettings):
    """Settings of the tickets service."""

    model_config = SettingsConfigDict(env_prefix="TICKETS_", extra="ignore")

    jwt_audience: str = "tickets"
    events_topic: str = "tickets.events"
    inventory_topic: str = "inventory.events"
    contracts_topic: str = "contracts.events"
    consumer_group: str = "tickets"
    # Local time of the programme: "under warranty" compares the warranty's last day with
    # today's date there.
    timezone: str = "Europe/Riga"
    # Photos of a problem: JPEG, PNG or WebP (decoded and re-encoded), stored in the database.
    photo_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    photo_max_count: int = Field(5, ge=0)
    # How many tickets one SLA run flags (the rest wait for the next run).
    sla_batch_size: int = Field(500, ge=1)
    # SLA breaches ride on housekeeping: every minute, not every hour.
    housekeeping_interval_s: float = Field(60.0, ge=1)


def get_settings() -> TicketsSettings:
    """Settings read from the environment."""
    return TicketsSettings()
