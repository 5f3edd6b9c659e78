"""Gateway settings (env prefix `GATEWAY_`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from gateway_service.crypto import normalise_personal_code
from shared_kit.crypto import check_fernet_keys
from shared_kit.settings import Environment, ServiceSettings

# Development defaults; production refuses both (see `_refuse_dev_secrets_in_prod`).
DEV_KEY_ENCRYPTION_KEY = "ZGV2LW9ubHkta2V5LWVuY3J5cHRpb24ta2V5LTMyYiE="
DEV_PERSONAL_CODE_PEPPER = "dev-only-personal-code-pepper"
DEV_ISSUER = "http://127.0.0.1:8100"
# Credentials of the local stand-ins (VIIS, E-klase, Mykoob); production refuses them too.
DEV_LOGIN_SECRETS = {
    "viis_api_key": "dev-viis-key",
    "eklase_client_secret": "dev-eklase-secret",
    "mykoob_client_secret": "dev-mykoob-secret",
}
DEV_LATVIJA_IDP_METADATA_URL = "http://127.0.0.1:8193/metadata"
DEV_PORTAL_URL = "http://127.0.0.1:8110"
SERVICE_AUDIENCES = [
    "inventory",
    "reservations",
    "contracts",
    "tickets",
    "statistics",
    "notifications",
    "planning",
]


class GatewaySettings(ServiceSettings):
    """Settings of the auth gateway."""

    # Secrets and personal codes must not show up in a startup error.
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", extra="ignore", hide_input_in_errors=True
    )

    events_topic: str = "identity.events"
    # The gateway's own admin API verifies tokens like every service, for this audience.
    jwt_audience: str = "gateway"

    issuer: str = DEV_ISSUER
    audiences: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(SERVICE_AUDIENCES)
    )
    access_token_ttl_s: int = Field(600, ge=30, le=3600)
    refresh_token_ttl_s: int = Field(14 * 24 * 3600, ge=300)
    jwks_max_age_s: int = Field(300, ge=0)
    # Audit records are kept this long (inspections, disputes over a login), then purged.
    audit_retention_days: int = Field(730, ge=30)

    # Fernet keys, comma-separated: the first encrypts, all decrypt (KEK rotation).
    key_encryption_key: SecretStr = SecretStr(DEV_KEY_ENCRYPTION_KEY)
    personal_code_pepper: SecretStr = SecretStr(DEV_PERSONAL_CODE_PEPPER)
    bootstrap_admin_personal_code: SecretStr | None = None

    token_rate_per_s: float = Field(5.0, gt=0)
    token_rate_burst: int = Field(20, ge=1)
    login_rate_per_s: float = Field(1.0, gt=0)
    login_rate_burst: int = Field(10, ge=1)

    # The platform's home for a person (the portal): where the header of the login's pages
    # links, and whose accessibility statement their footer names.
    portal_url: str = DEV_PORTAL_URL
    # Login: where logins may return to (exact origins), VIIS, and the identity providers.
    return_to_allowed: Annotated[list[str], NoDecode] = Field(default_factory=list)
    login_attempt_ttl_s: int = Field(600, ge=60, le=3600)
    authorization_code_ttl_s: int = Field(60, ge=10, le=600)
    viis_url: str = "http://127.0.0.1:8190"
    viis_api_key: SecretStr = SecretStr(DEV_LOGIN_SECRETS["viis_api_key"])
    eklase_authorize_url: str = "http://127.0.0.1:8191/authorize"
    eklase_token_url: str = "http://127.0.0.1:8191/token"
    eklase_profile_url: str = "http://127.0.0.1:8191/profile"
    eklase_client_id: str = "datori-gateway"
    eklase_client_secret: SecretStr = SecretStr(DEV_LOGIN_SECRETS["eklase_client_secret"])
    mykoob_authorize_url: str = "http://127.0.0.1:8192/oauth/authorize"
    mykoob_token_url: str = "http://127.0.0.1:8192/oauth/token"
    mykoob_api_url: str = "http://127.0.0.1:8192/api/v1"
    mykoob_client_id: str = "datori-gateway"
    mykoob_client_secret: SecretStr = SecretStr(DEV_LOGIN_SECRETS["mykoob_client_secret"])
    # Latvija.lv (SAML 2.0): our SP key and certificate (PEM; dev and test generate a pair at
    # startup when unset, production refuses that) and the IdP's metadata (a URL or a file).
    saml_sp_key_pem: SecretStr | None = None
    saml_sp_cert_pem: str | None = None
    latvija_idp_metadata_url: str = DEV_LATVIJA_IDP_METADATA_URL

    @model_validator(mode="before")
    @classmethod
    def _trust_own_issuer(cls, data: Any) -> Any:
        # The admin API accepts the gateway's own tokens unless told to trust another issuer.
        if isinstance(data, dict) and not data.get("jwt_issuer"):
            data = {**data, "jwt_issuer": data.get("issuer") or DEV_ISSUER}
        return data

    @field_validator("audiences", "return_to_allowed", mode="before")
    @classmethod
    def _split_audiences(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value

    @field_validator("key_encryption_key")
    @classmethod
    def _valid_fernet_keys(cls, value: SecretStr) -> SecretStr:
        return check_fernet_keys(value)

    @field_validator("bootstrap_admin_personal_code")
    @classmethod
    def _valid_personal_code(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            normalise_personal_code(value.get_secret_value())  # its message omits the code
        return value

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_prod(self) -> GatewaySettings:
        if self.environment is not Environment.PROD:
            return self
        if DEV_KEY_ENCRYPTION_KEY in self.key_encryption_key.get_secret_value():
            raise ValueError("GATEWAY_KEY_ENCRYPTION_KEY must be set in production")
        if self.personal_code_pepper.get_secret_value() == DEV_PERSONAL_CODE_PEPPER:
            raise ValueError("GATEWAY_PERSONAL_CODE_PEPPER must be set in production")
        if len(self.personal_code_pepper.get_secret_value()) < 32:
            raise ValueError("GATEWAY_PERSONAL_CODE_PEPPER must have at least 32 characters")
        if not self.issuer.startswith("https://") or "127.0.0.1" in self.issuer:
            raise ValueError("GATEWAY_ISSUER must be the gateway's public https URL in production")
        for name, dev_value in DEV_LOGIN_SECRETS.items():
            if getattr(self, name).get_secret_value() == dev_value:
                raise ValueError(f"GATEWAY_{name.upper()} must be set in production")
        if self.saml_sp_key_pem is None or not self.saml_sp_cert_pem:
            raise ValueError(
                "GATEWAY_SAML_SP_KEY_PEM and GATEWAY_SAML_SP_CERT_PEM must be set in production"
            )
        if self.latvija_idp_metadata_url == DEV_LATVIJA_IDP_METADATA_URL:
            raise ValueError("GATEWAY_LATVIJA_IDP_METADATA_URL must be set in production")
        if any(not origin.startswith("https://") for origin in self.return_to_allowed):
            raise ValueError("GATEWAY_RETURN_TO_ALLOWED takes only https origins in production")
        if not self.portal_url.startswith("https://"):
            raise ValueError("GATEWAY_PORTAL_URL must be the portal's https URL in production")
        return self


def get_settings() -> GatewaySettings:
    """Settings read from the environment."""
    return GatewaySettings()
