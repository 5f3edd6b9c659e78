"""Settings refuse development defaults in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared_kit.settings import ServiceSettings

PROD = {
    "environment": "prod",
    "database_url": "postgresql+asyncpg://app@db.internal/inventory",
    "kafka_bootstrap_servers": "kafka-0.kafka:9093",
    "jwks_url": "https://auth.datori.lv/.well-known/jwks.json",
    "jwt_issuer": "https://auth.datori.lv",
}


class TestProductionGuard:
    def test_complete_production_settings_pass(self) -> None:
        assert ServiceSettings(**PROD).environment == "prod"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("database_url", "postgresql+asyncpg://postgres@localhost/postgres"),
            ("kafka_bootstrap_servers", "127.0.0.1:9092"),
            ("jwks_url", "http://auth.datori.lv/jwks"),
            ("jwt_issuer", None),
        ],
    )
    def test_each_dev_default_is_refused(self, field: str, value: str | None) -> None:
        with pytest.raises(ValidationError, match=field.upper()):
            ServiceSettings(**{**PROD, field: value})

    def test_env_prefix_is_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SERVICE_KAFKA_ENABLE_IDEMPOTENCE", "true")
        assert ServiceSettings().kafka_enable_idempotence is True
