"""Portal settings (env prefix `PORTAL_`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared_kit.crypto import check_fernet_keys
from shared_kit.settings import DEV_DATABASE_URL, Environment, ServiceSettings

# Development default; production refuses it (see `_refuse_dev_defaults_in_prod`).
DEV_SESSION_KEY = "ZGV2LW9ubHktcG9ydGFsLXNlc3Npb24ta2V5LTMyYiE="
DEV_URL = "http://127.0.0.1:8110"
DEV_GATEWAY_URL = "http://127.0.0.1:8100"
DEV_INVENTORY_URL = "http://127.0.0.1:8101"
DEV_RESERVATIONS_URL = "http://127.0.0.1:8102"
DEV_CONTRACTS_URL = "http://127.0.0.1:8103"
DEV_TICKETS_URL = "http://127.0.0.1:8104"
DEV_STATISTICS_URL = "http://127.0.0.1:8105"
DEV_NOTIFICATIONS_URL = "http://127.0.0.1:8106"
DEV_PLANNING_URL = "http://127.0.0.1:8107"
SERVICE_URLS = (
    "inventory_url",
    "reservations_url",
    "contracts_url",
    "tickets_url",
    "statistics_url",
    "notifications_url",
    "planning_url",
)


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class PortalSettings(ServiceSettings):
    """Settings of the portal: where it and the gateway are, its web sessions and their key."""

    model_config = SettingsConfigDict(
        env_prefix="PORTAL_", extra="ignore", hide_input_in_errors=True
    )

    # The portal publishes nothing; the kit's settings want a topic name all the same.
    events_topic: str = "portal.events"

    # The portal's own public URL (the login's return_to is `<public_url>/login/callback`).
    public_url: str = DEV_URL
    # The gateway as the browser reaches it (logins start there) and as the portal calls it
    # (token exchange, refresh, logout, who-am-I); the same URL unless a cluster splits them.
    gateway_public_url: str = DEV_GATEWAY_URL
    gateway_url: str = DEV_GATEWAY_URL
    gateway_timeout_s: float = Field(10.0, gt=0)
    # The services' public APIs, called with the person's own access token (in a cluster all
    # of them are the API host behind the ingress).
    inventory_url: str = DEV_INVENTORY_URL
    reservations_url: str = DEV_RESERVATIONS_URL
    contracts_url: str = DEV_CONTRACTS_URL
    tickets_url: str = DEV_TICKETS_URL
    statistics_url: str = DEV_STATISTICS_URL
    notifications_url: str = DEV_NOTIFICATIONS_URL
    planning_url: str = DEV_PLANNING_URL
    # Origins a logout may pass through after its form (a Latvija.lv single logout goes to the
    # IdP and back through the gateway): the CSP's form-action lists them beside the gateway.
    logout_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Fernet keys, comma-separated: the first encrypts the tokens kept in a session, all decrypt.
    session_key: SecretStr = SecretStr(DEV_SESSION_KEY)
    session_idle_timeout_s: int = Field(30 * 60, ge=60)
    session_absolute_timeout_s: int = Field(12 * 3600, ge=300)
    # An access token this close to its expiry is refreshed before it is used.
    token_refresh_margin_s: int = Field(30, ge=0)
    # Photos kept with a form until it is sent (a problem report's): as many and as large as
    # the tickets service takes (TICKETS_PHOTO_MAX_COUNT / _BYTES), which still decides.
    photo_max_count: int = Field(5, ge=0, le=20)
    photo_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    # A delivery's CSV, kept in the session's draft between its dry run and its import.
    delivery_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)

    @property
    def secure_cookies(self) -> bool:
        """Secure, `__Host-` cookies: in production (always https) and behind any https URL."""
        return self.environment is Environment.PROD or self.public_url.startswith("https://")

    @property
    def session_cookie(self) -> str:
        """The session cookie's name; `__Host-` binds it to our host and path `/`."""
        return "__Host-portal_session" if self.secure_cookies else "portal_session"

    @property
    def lang_cookie(self) -> str:
        """The language cookie's name."""
        return "__Host-portal_lang" if self.secure_cookies else "portal_lang"

    @field_validator("logout_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value

    @field_validator("session_key")
    @classmethod
    def _valid_fernet_keys(cls, value: SecretStr) -> SecretStr:
        return check_fernet_keys(value)

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_prod(self) -> PortalSettings:
        # Replaces the kit's check: the portal needs no broker and verifies no tokens itself.
        if self.environment is not Environment.PROD:
            return self
        if self.database_url == DEV_DATABASE_URL:
            raise ValueError("PORTAL_DATABASE_URL must be set in production")
        if DEV_SESSION_KEY in self.session_key.get_secret_value():
            raise ValueError("PORTAL_SESSION_KEY must be set in production")
        for name in ("public_url", "gateway_public_url"):
            url = getattr(self, name)
            if not url.startswith("https://") or "127.0.0.1" in url:
                raise ValueError(f"PORTAL_{name.upper()} must be an https URL in production")
        for name in SERVICE_URLS:
            if "127.0.0.1" in getattr(self, name):
                raise ValueError(f"PORTAL_{name.upper()} must be set in production")
        return self


def get_settings() -> PortalSettings:
    """Settings read from the environment."""
    return PortalSettings()
