"""Reservations settings (env prefix `RESERVATIONS_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared_kit.settings import ServiceSettings


class ReservationsSettings(ServiceSettings):
    """Settings of the reservations service."""

    model_config = SettingsConfigDict(env_prefix="RESERVATIONS_", extra="ignore")

    jwt_audience: str = "reservations"
    events_topic: str = "reservations.events"
    inventory_topic: str = "inventory.events"
    contracts_topic: str = "contracts.events"
    tickets_topic: str = "tickets.events"
    planning_topic: str = "planning.events"
    consumer_group: str = "reservations"
    # Local time of the programme: the default period ends at the school year's end there.
    timezone: str = "Europe/Riga"
    # A client's clock may lag a little: a start this far in the past still counts as "now".
    past_start_tolerance_s: int = Field(300, ge=0)
    # How many overdue reservations one expiry run handles (the rest wait for the next run).
    expiry_batch_size: int = Field(500, ge=1)
    # Expiry of unclaimed reservations rides on housekeeping: every minute, not every hour.
    housekeeping_interval_s: float = Field(60.0, ge=1)


def get_settings() -> ReservationsSettings:
    """Settings read from the environment."""
    return ReservationsSettings()
