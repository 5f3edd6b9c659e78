"""Notifications settings (env prefix `NOTIFICATIONS_`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared_kit.crypto import check_fernet_keys
from shared_kit.settings import Environment, ServiceSettings

# Development defaults; production refuses them (see `_refuse_dev_secrets_in_prod`).
DEV_CONTACT_KEY = "ZGV2LW9ubHktY29udGFjdC1wb2ludHMta2V5LTMyYiE="
DEV_CODE_PEPPER = "dev-only-verification-code-pepper"
DEV_SMS_API_KEY = "dev-sms-key"


class NotificationsSettings(ServiceSettings):
    """Settings of the notifications service."""

    # Addresses and secrets must not show up in a startup error.
    model_config = SettingsConfigDict(
        env_prefix="NOTIFICATIONS_", extra="ignore", hide_input_in_errors=True
    )

    jwt_audience: str = "notifications"
    events_topic: str = "notifications.events"
    reservations_topic: str = "reservations.events"
    contracts_topic: str = "contracts.events"
    tickets_topic: str = "tickets.events"
    identity_topic: str = "identity.events"
    consumer_group: str = "notifications"
    # Reminders fall on local days; quiet hours are local time.
    timezone: str = "Europe/Riga"
    # Links in messages point here (the families' and schools' pages).
    portal_url: str = "http://127.0.0.1:8110"

    # Contact points are stored encrypted: Fernet keys, comma-separated (the first encrypts,
    # all decrypt, for rotation). Verification codes are stored as keyed hashes.
    contact_key: SecretStr = SecretStr(DEV_CONTACT_KEY)
    code_pepper: SecretStr = SecretStr(DEV_CODE_PEPPER)
    code_ttl_s: int = Field(15 * 60, ge=60)
    code_max_attempts: int = Field(5, ge=1)

    # E-mail over SMTP. `starttls`: "require" (refuse to send in clear), "opportunistic" (when
    # the server offers it), "off" (a local sink); "tls" is implicit TLS (port 465).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(8125, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: Literal["require", "opportunistic", "off", "tls"] = "opportunistic"
    smtp_ca_file: str | None = None  # the server's CA (PEM); system CAs when unset
    smtp_timeout_s: float = Field(10.0, gt=0)
    mail_from: str = "Datoru bibliotēka <noreply@datori.localhost>"

    # SMS through a provider's HTTP API (the local stand-in in development).
    sms_url: str = "http://127.0.0.1:8196/api/v1/messages"
    sms_api_key: SecretStr = SecretStr(DEV_SMS_API_KEY)
    sms_sender: str = "Datori"
    sms_timeout_s: float = Field(10.0, gt=0)
    # No SMS between these local hours (it waits until the end of the quiet period).
    quiet_from_hour: int = Field(21, ge=0, le=23)
    quiet_until_hour: int = Field(8, ge=0, le=23)

    # The dispatcher: how many deliveries one pass claims, how often it looks, and the retries
    # (exponential back-off from `retry_base_s`, capped, then `failed`).
    dispatch_batch_size: int = Field(50, ge=1)
    dispatch_poll_interval_s: float = Field(0.5, gt=0)
    dispatch_concurrency: int = Field(8, ge=1)
    # The dispatcher's slots each hold a connection while they send: room for them beside the
    # requests, the relay and the consumers (the kit's default is 10 and opens none beyond).
    db_pool_size: int = Field(16, ge=1)
    dispatch_max_attempts: int = Field(8, ge=1)
    retry_base_s: float = Field(30.0, gt=0)
    retry_cap_s: float = Field(3600.0, gt=0)
    # A claimed delivery whose sender died is taken again after this long.
    dispatch_lease_s: float = Field(120.0, gt=0)
    # The scheduler: how often it looks for reminders and digests that fall due.
    schedule_poll_interval_s: float = Field(30.0, gt=0)

    @field_validator("contact_key")
    @classmethod
    def _valid_fernet_keys(cls, value: SecretStr) -> SecretStr:
        return check_fernet_keys(value)

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_prod(self) -> NotificationsSettings:
        if self.environment is not Environment.PROD:
            return self
        if DEV_CONTACT_KEY in self.contact_key.get_secret_value():
            raise ValueError("NOTIFICATIONS_CONTACT_KEY must be set in production")
        if len(self.code_pepper.get_secret_value()) < 32:
            raise ValueError("NOTIFICATIONS_CODE_PEPPER must be set (32+ characters) in production")
        if self.sms_api_key.get_secret_value() == DEV_SMS_API_KEY:
            raise ValueError("NOTIFICATIONS_SMS_API_KEY must be set in production")
        if self.smtp_starttls in ("off", "opportunistic"):
            raise ValueError("NOTIFICATIONS_SMTP_STARTTLS must be require or tls in production")
        if not self.portal_url.startswith("https://"):
            raise ValueError("NOTIFICATIONS_PORTAL_URL must be the portal's https URL in prod")
        return self


def get_settings() -> NotificationsSettings:
    """Settings read from the environment."""
    return NotificationsSettings()
