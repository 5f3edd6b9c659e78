"""Planning settings (env prefix `PLANNING_`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared_kit.crypto import check_fernet_keys
from shared_kit.settings import Environment, ServiceSettings

# Development defaults; production refuses them (see `_refuse_dev_secrets_in_prod`).
DEV_ANSWERS_KEY = "ZGV2LW9ubHktcGxhbm5pbmctYW5zd2Vycy1rZXktMzI="
DEV_VIIS_API_KEY = "dev-viis-key"  # the local stand-in's key


class PlanningSettings(ServiceSettings):
    """Settings of the planning service."""

    # Keys must not show up in a startup error.
    model_config = SettingsConfigDict(
        env_prefix="PLANNING_", extra="ignore", hide_input_in_errors=True
    )

    jwt_audience: str = "planning"
    events_topic: str = "planning.events"
    inventory_topic: str = "inventory.events"
    consumer_group: str = "planning"
    # Survey rounds open and close on local days.
    timezone: str = "Europe/Riga"

    # A family's answers are stored encrypted: Fernet keys, comma-separated (the first
    # encrypts, all decrypt, for rotation).
    answers_key: SecretStr = SecretStr(DEV_ANSWERS_KEY)
    # Answers are deleted this many months after their round closes (a round may set its own).
    retention_months: int = Field(12, ge=1, le=120)
    # How many rounds' answers one housekeeping run deletes (the rest wait for the next run).
    retention_batch_size: int = Field(5_000, ge=1)

    # The gateway: a learner's school and grade by the platform's person id (as tokens name
    # children), asked with the caller's own token.
    gateway_url: str = "http://127.0.0.1:8100"
    gateway_timeout_s: float = Field(5.0, gt=0)

    # VIIS: the schools and the pupils per school and grade.
    viis_url: str = "http://127.0.0.1:8190"
    viis_api_key: SecretStr = SecretStr(DEV_VIIS_API_KEY)
    viis_timeout_s: float = Field(10.0, gt=0)
    viis_concurrency: int = Field(8, ge=1, le=64)

    @field_validator("answers_key")
    @classmethod
    def _valid_fernet_keys(cls, value: SecretStr) -> SecretStr:
        return check_fernet_keys(value)

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_prod(self) -> PlanningSettings:
        if self.environment is not Environment.PROD:
            return self
        if DEV_ANSWERS_KEY in self.answers_key.get_secret_value():
            raise ValueError("PLANNING_ANSWERS_KEY must be set in production")
        if self.viis_api_key.get_secret_value() == DEV_VIIS_API_KEY:
            raise ValueError("PLANNING_VIIS_API_KEY must be set in production")
        if not self.viis_url.startswith("https://"):
            raise ValueError("PLANNING_VIIS_URL must be an https URL in production")
        if not self.gateway_url.startswith("https://"):
            raise ValueError("PLANNING_GATEWAY_URL must be an https URL in production")
        return self


def get_settings() -> PlanningSettings:
    """Settings read from the environment."""
    return PlanningSettings()
