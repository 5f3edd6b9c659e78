"""Settings: production refuses the development secrets; lists come from the environment."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from gateway_service.config import GatewaySettings

PROD = {
    "environment": "prod",
    "database_url": "postgresql+asyncpg://app@db.internal/gateway",
    "kafka_bootstrap_servers": "kafka-0.kafka:9093",
    "jwks_url": "https://auth.datori.lv/.well-known/jwks.json",
    "jwt_issuer": "https://auth.datori.lv",
    "issuer": "https://auth.datori.lv",
    "key_encryption_key": Fernet.generate_key().decode(),
    "personal_code_pepper": "p" * 40,
    "viis_api_key": "k" * 32,
    "eklase_client_secret": "e" * 32,
    "mykoob_client_secret": "m" * 32,
    "return_to_allowed": "https://rezervacijas.datori.lv",
    "saml_sp_key_pem": "-----BEGIN PRIVATE KEY-----\n…",
    "saml_sp_cert_pem": "-----BEGIN CERTIFICATE-----\n…",
    "latvija_idp_metadata_url": "https://idp.latvija.lv/metadata",
    "portal_url": "https://rezervacijas.datori.lv",
}


class TestProductionGuard:
    def test_complete_production_settings_pass(self) -> None:
        assert GatewaySettings(**PROD).environment == "prod"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("key_encryption_key", None),
            ("personal_code_pepper", None),
            ("personal_code_pepper", "short"),
            ("issuer", "http://127.0.0.1:8100"),
            ("viis_api_key", None),
            ("eklase_client_secret", None),
            ("mykoob_client_secret", None),
            ("return_to_allowed", "http://rezervacijas.datori.lv"),
            ("saml_sp_key_pem", None),
            ("saml_sp_cert_pem", None),
            ("latvija_idp_metadata_url", None),
            ("portal_url", None),
        ],
    )
    def test_each_dev_secret_is_refused(self, field: str, value: str | None) -> None:
        settings = {k: v for k, v in PROD.items() if k != field}
        if value is not None:
            settings[field] = value
        with pytest.raises(ValidationError, match=f"GATEWAY_{field.upper()}"):
            GatewaySettings(**settings)

    def test_malformed_bootstrap_admin_code_is_refused_without_echo(self) -> None:
        with pytest.raises(ValidationError, match="11 digits") as info:
            GatewaySettings(bootstrap_admin_personal_code="12345-999")
        assert "12345-999" not in str(info.value)

    def test_malformed_key_encryption_key_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="Fernet"):
            GatewaySettings(key_encryption_key="not-a-key")


class TestEnvironment:
    def test_audiences_are_space_separated(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GATEWAY_AUDIENCES", "inventory tickets")
        assert GatewaySettings().audiences == ["inventory", "tickets"]

    def test_return_to_origins_are_space_separated(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GATEWAY_RETURN_TO_ALLOWED", "https://a.example https://b.example")
        assert GatewaySettings().return_to_allowed == ["https://a.example", "https://b.example"]

    def test_admin_api_trusts_the_own_issuer_by_default(self) -> None:
        assert GatewaySettings(issuer="https://auth.example").jwt_issuer == "https://auth.example"
        other = GatewaySettings(issuer="https://auth.example", jwt_issuer="https://dev")
        assert other.jwt_issuer == "https://dev"

    def test_secrets_are_not_in_the_repr(self) -> None:
        settings = GatewaySettings(**PROD)
        assert PROD["key_encryption_key"] not in repr(settings)
        assert PROD["personal_code_pepper"] not in repr(settings)
        assert PROD["saml_sp_key_pem"] not in repr(settings)
