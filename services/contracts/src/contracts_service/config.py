"""Contracts settings (env prefix `CONTRACTS_`).

Secrets refused in production: the development Fernet key for personal codes, a missing seal
key or certificate (dev and test generate a demo CA at start-up instead), and a missing
gateway client. The signing policy is configurable: by default a Latvija.lv login with a
high-assurance method (eParaksts, eID, bank, Smart-ID) within the last 10 minutes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared_kit.crypto import RotatingCipher
from shared_kit.settings import Environment, ServiceSettings

# Development default for the personal-code key; production refuses it.
DEV_PERSONAL_CODE_KEY = "ZGV2LW9ubHktY29udHJhY3RzLXBlcnNvbmFsLWNvZGU="


class ContractsSettings(ServiceSettings):
    """Settings of the contracts service."""

    # Secrets and personal codes must not show up in a startup error.
    model_config = SettingsConfigDict(
        env_prefix="CONTRACTS_", extra="ignore", hide_input_in_errors=True
    )

    jwt_audience: str = "contracts"  # the gateway issues tokens per service
    events_topic: str = "contracts.events"
    reservations_topic: str = "reservations.events"
    inventory_topic: str = "inventory.events"
    tickets_topic: str = "tickets.events"
    consumer_group: str = "contracts"

    # The gateway's internal person endpoint, reached with a client-credentials token.
    gateway_url: str = "http://127.0.0.1:8100"
    gateway_client_id: str | None = None
    gateway_client_secret: SecretStr | None = None
    gateway_timeout_s: float = Field(5.0, gt=0)

    # Fernet keys, comma-separated: the first encrypts, all decrypt (key rotation).
    personal_code_key: SecretStr = SecretStr(DEV_PERSONAL_CODE_KEY)

    # The platform's seal (PEM). Unset in dev and test: a demo CA is generated at start-up.
    seal_key_pem: SecretStr | None = None
    seal_cert_pem: str | None = None
    seal_chain_pem: str | None = None
    # Roots the verification endpoint trusts; default: the self-signed certificates of the chain.
    seal_trust_roots_pem: str | None = None
    seal_location: str = "Latvija"
    # Worker processes that render and seal PDFs beside the event loop (document/press.py),
    # started at the first render; 0 renders in a thread of the service's own process.
    render_processes: int = Field(1, ge=0, le=16)

    # Who may sign as borrower: identity provider, methods (`amr`), how recent the login.
    sign_required_idp: str = "latvija"
    sign_allowed_amr: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["eparaksts", "eid", "bank", "smartid"]
    )
    sign_max_age_s: int = Field(600, ge=30)

    signing_deadline_days: int = Field(14, ge=1)
    expiry_batch_size: int = Field(500, ge=1)

    photo_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    photo_max_count: int = Field(5, ge=0)
    verify_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)

    @field_validator("sign_allowed_amr", mode="before")
    @classmethod
    def _split_amr(cls, value: Any) -> Any:
        return value.replace(",", " ").split() if isinstance(value, str) else value

    @field_validator("personal_code_key")
    @classmethod
    def _valid_fernet_keys(cls, value: SecretStr) -> SecretStr:
        try:
            RotatingCipher(value)
        except ValueError as exc:
            raise ValueError("each key must be a url-safe base64 32-byte Fernet key") from exc
        return value

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_prod(self) -> ContractsSettings:
        if self.environment is not Environment.PROD:
            return self
        if DEV_PERSONAL_CODE_KEY in self.personal_code_key.get_secret_value():
            raise ValueError("CONTRACTS_PERSONAL_CODE_KEY must be set in production")
        if self.seal_key_pem is None or not self.seal_cert_pem:
            raise ValueError(
                "CONTRACTS_SEAL_KEY_PEM and CONTRACTS_SEAL_CERT_PEM must be set in production"
            )
        if not self.gateway_client_id or self.gateway_client_secret is None:
            raise ValueError(
                "CONTRACTS_GATEWAY_CLIENT_ID and CONTRACTS_GATEWAY_CLIENT_SECRET must be set in "
                "production"
            )
        if not self.gateway_url.startswith("https://"):
            raise ValueError("CONTRACTS_GATEWAY_URL must be an https URL in production")
        return self


def get_settings() -> ContractsSettings:
    """Settings read from the environment."""
    return ContractsSettings()
