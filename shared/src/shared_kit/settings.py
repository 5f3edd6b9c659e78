"""Settings base every service extends with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    """Where the service runs; production refuses development defaults."""

    DEV = "dev"
    TEST = "test"
    PROD = "prod"


DEV_DATABASE_URL = "postgresql+asyncpg://postgres@localhost/postgres"
DEV_BOOTSTRAP = "127.0.0.1:9092"


class ServiceSettings(BaseSettings):
    """Settings every service has; subclasses set `env_prefix` (e.g. `INVENTORY_`)."""

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore")

    environment: Environment = Environment.DEV
    database_url: str = DEV_DATABASE_URL
    # Connections per process, kept open (see `db.create_engine`); overflow ones close again.
    db_pool_size: int = Field(10, ge=1)
    db_pool_overflow: int = Field(0, ge=0)
    # Open the pool's connections at start-up rather than when requests first need them
    # (`db.prefill`): a process started into a peak then opens none under load.
    db_pool_prefill: bool = False
    # How long a request waits for a connection before its 503 service-busy.
    db_pool_timeout_s: float = Field(10.0, gt=0)
    db_statement_timeout_ms: int = Field(15_000, ge=100)

    kafka_bootstrap_servers: str = DEV_BOOTSTRAP
    # The topic this service publishes to; each service sets its default (`<service>.events`).
    events_topic: str = "service.events"
    # Tansu (the embedded broker) rejects idempotent producers; real Kafka should enable it.
    kafka_enable_idempotence: bool = False
    kafka_request_timeout_ms: int = Field(10_000, ge=500)
    kafka_topic_partitions: int = Field(6, ge=1)
    kafka_topic_replication: int = Field(1, ge=1)
    # Authentication to the broker (Strimzi KafkaUser: SCRAM-SHA-512 over TLS).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None  # the cluster CA (PEM file); system CAs when unset

    outbox_batch_size: int = Field(500, ge=1)
    outbox_poll_interval_s: float = Field(0.5, gt=0)
    outbox_retention_hours: int = Field(24 * 7, ge=0)
    # Longer than the broker keeps messages, so a redelivery always finds its inbox entry.
    inbox_retention_hours: int = Field(24 * 30, ge=1)
    idempotency_retention_hours: int = Field(24, ge=1)
    # How often the purges (and a service's own periodic steps, e.g. expiry) run.
    housekeeping_interval_s: float = Field(3600.0, ge=1)
    consumer_max_attempts: int = Field(5, ge=1)
    consumer_session_timeout_ms: int = Field(10_000, ge=1000)
    # How long the broker may hold an idle consumer's fetch, i.e. how often an idle consumer
    # asks (each ask costs the broker and aiokafka CPU: at 50 ms an idle `make run` stack spent
    # 0.42 of a core, at 500 ms 0.17). Kafka answers as soon as a record arrives, so there
    # it is not a latency; the embedded broker (Tansu) answers a fetch that was waiting when
    # the record arrived only near the wait's end: a hop to a waiting consumer takes 42 ms at
    # 100 and 238 at 500 (7 ms when the fetch comes after the record; `bench journey`).
    consumer_fetch_wait_ms: int = Field(100, ge=10, le=5_000)
    # A group commits its place at once after an event it applied; past events it only skips
    # (no handler here: most of a shared topic is for other services) at most this often, and
    # when it stops. An offset commit is a write on the broker; one skipped again after a
    # restart costs nothing.
    consumer_skipped_commit_s: float = Field(5.0, ge=0)

    jwks_url: str = "http://127.0.0.1:8100/.well-known/jwks.json"
    jwt_issuer: str | None = None
    jwt_audience: str = "datori"
    jwt_leeway_s: int = Field(30, ge=0)
    # An unknown `kid` refetches the JWKS at most this often (rotation vs. abuse).
    jwks_min_refresh_s: float = Field(10.0, ge=0)

    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For is believed: the caller is the
    # right-most address in it that is not one of them. None: the socket peer is the caller.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)

    shutdown_grace_s: float = Field(10.0, ge=0)
    log_level: str = "INFO"
    log_json: bool = True
    run_background_workers: bool = True

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        return value.replace(",", " ").split() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_prod(self) -> ServiceSettings:
        if self.environment is Environment.PROD:
            prefix = self.model_config.get("env_prefix", "")
            loopback = ("localhost", "127.0.0.1")
            if self.database_url == DEV_DATABASE_URL:
                raise ValueError(f"{prefix}DATABASE_URL must be set in production")
            if any(host in self.kafka_bootstrap_servers for host in loopback):
                raise ValueError(f"{prefix}KAFKA_BOOTSTRAP_SERVERS must be set in production")
            if any(host in self.jwks_url for host in loopback) or not self.jwks_url.startswith(
                "https://"
            ):
                raise ValueError(f"{prefix}JWKS_URL must be an https URL in production")
            if not self.jwt_issuer:
                raise ValueError(f"{prefix}JWT_ISSUER must be set in production")
        return self
