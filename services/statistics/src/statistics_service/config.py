"""Statistics settings (env prefix `STATISTICS_`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared_kit.settings import Environment, ServiceSettings

DEV_VIIS_API_KEY = "dev-viis-key"  # the local stand-in's key; production refuses it


class GradeBand(BaseModel):
    """Grades whose coverage is reported together, and the target (pupils per device) if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,20}$")
    first_grade: int = Field(ge=1, le=12)
    last_grade: int = Field(ge=1, le=12)
    pupils_per_device: Decimal | None = Field(None, gt=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> GradeBand:
        if self.last_grade < self.first_grade:
            raise ValueError("last_grade must not be below first_grade")
        return self

    @property
    def grades(self) -> range:
        """The grades of the band."""
        return range(self.first_grade, self.last_grade + 1)

    @property
    def mask(self) -> int:
        """Bit g set for each grade g of the band (the same encoding as device school levels)."""
        return sum(1 << g for g in self.grades)


# The programme's 2025 target: one device per three pupils in grades 1-3. The other bands are
# reported without a target unless one is configured.
DEFAULT_BANDS = [
    GradeBand(name="1-3", first_grade=1, last_grade=3, pupils_per_device=Decimal(3)),
    GradeBand(name="4-6", first_grade=4, last_grade=6),
    GradeBand(name="7-9", first_grade=7, last_grade=9),
    GradeBand(name="10-12", first_grade=10, last_grade=12),
]


DEFAULT_IDLE_DAYS = 60


class StatisticsSettings(ServiceSettings):
    """Settings of the statistics service."""

    model_config = SettingsConfigDict(env_prefix="STATISTICS_", extra="ignore")

    jwt_audience: str = "statistics"
    events_topic: str = "statistics.events"
    inventory_topic: str = "inventory.events"
    reservations_topic: str = "reservations.events"
    contracts_topic: str = "contracts.events"
    tickets_topic: str = "tickets.events"
    planning_topic: str = "planning.events"
    consumer_group: str = "statistics"
    # Records applied per transaction by the live consumer, and by the rebuild.
    consumer_batch_size: int = Field(2000, ge=1, le=20_000)
    rebuild_batch_size: int = Field(20_000, ge=100, le=200_000)
    # Local time of the programme: snapshot days and "today" (warranty state) are Rīga days.
    timezone: str = "Europe/Riga"
    coverage_bands: list[GradeBand] = Field(default_factory=lambda: list(DEFAULT_BANDS))
    # Counts of loans by social criterion below this are published as suppressed (null).
    suppression_threshold: int = Field(5, ge=1)
    # A lendable device not lent for more than this many days is idle (views may ask otherwise).
    idle_days: int = Field(DEFAULT_IDLE_DAYS, ge=1, le=3650)
    viis_url: str = "http://127.0.0.1:8190"
    viis_api_key: SecretStr = SecretStr(DEV_VIIS_API_KEY)
    viis_timeout_s: float = Field(10.0, gt=0)
    viis_concurrency: int = Field(8, ge=1, le=64)
    # Pupil counts change with enrolment, not by the minute: refreshed a few times a day.
    pupils_refresh_interval_s: float = Field(6 * 3600.0, ge=60)
    # Snapshots and the pupil refresh ride on housekeeping: every five minutes today's
    # provisional snapshots are refreshed (closed days made final) and stale pupil counts too.
    housekeeping_interval_s: float = Field(300.0, ge=1)

    @model_validator(mode="after")
    def _bands_unique_and_no_dev_key_in_prod(self) -> StatisticsSettings:
        names = [band.name for band in self.coverage_bands]
        if len(set(names)) != len(names):
            raise ValueError("STATISTICS_COVERAGE_BANDS: band names must be unique")
        if self.environment is Environment.PROD:
            if self.viis_api_key.get_secret_value() == DEV_VIIS_API_KEY:
                raise ValueError("STATISTICS_VIIS_API_KEY must be set in production")
            if not self.viis_url.startswith("https://"):
                raise ValueError("STATISTICS_VIIS_URL must be an https URL in production")
        return self

    @property
    def consumed_topics(self) -> list[str]:
        """Every topic the read model is built from."""
        return [
            self.inventory_topic,
            self.reservations_topic,
            self.contracts_topic,
            self.tickets_topic,
            self.planning_topic,
        ]
