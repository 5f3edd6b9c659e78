"""Operations and configuration: health, OpenAPI, migrations, production refusals, the demo CA."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from contracts_service import cli
from contracts_service.config import ContractsSettings
from contracts_service.document.seal import (
    build_sealer,
    demo_ca,
    material_from_settings,
    settings_env,
)
from contracts_service.document.verify import check_seals
from contracts_service.models import migration_metadata
from shared_kit.db import create_engine
from shared_kit.testing.migrations import migration_diff

from .samples import contract_data, sealed_pdf

PROD = {
    "environment": "prod",
    "database_url": "postgresql+asyncpg://db.internal/contracts",
    "kafka_bootstrap_servers": "kafka.internal:9092",
    "jwks_url": "https://gateway.datori.lv/.well-known/jwks.json",
    "jwt_issuer": "https://gateway.datori.lv",
}


class TestOps:
    async def test_health_readiness_and_openapi(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        spec = (await client.get("/openapi.json")).json()
        sign = spec["paths"]["/api/v1/contracts/{contract_id}/sign"]["post"]["responses"]
        assert {"403", "409", "412"} <= set(sign)
        assert "/api/v1/contracts/verify" in spec["paths"]


class TestMigrations:
    async def test_the_migrations_build_exactly_the_models(
        self, settings: ContractsSettings
    ) -> None:
        engine = create_engine(settings.database_url)
        try:
            assert await migration_diff(engine, migration_metadata()) == []
        finally:
            await engine.dispose()


class TestSettings:
    def test_production_refuses_dev_secrets(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="PERSONAL_CODE_KEY"):
            ContractsSettings(**PROD)
        key = "ZnJvbS10aGUtdmF1bHQtMzItYnl0ZXMtLS0tLS0tLS0="
        with pytest.raises(ValidationError, match="SEAL_KEY_PEM"):
            ContractsSettings(**PROD, personal_code_key=key)
        env = settings_env(tmp_path)
        seal = {
            "seal_key_pem": env["CONTRACTS_SEAL_KEY_PEM"],
            "seal_cert_pem": env["CONTRACTS_SEAL_CERT_PEM"],
        }
        with pytest.raises(ValidationError, match="GATEWAY_CLIENT_ID"):
            ContractsSettings(**PROD, personal_code_key=key, **seal)
        ok = ContractsSettings(
            **PROD,
            personal_code_key=key,
            **seal,
            gateway_url="https://gateway.datori.lv",
            gateway_client_id="cl_contracts",
            gateway_client_secret=SecretStr("s3cret"),
        )
        assert ok.sign_allowed_amr == ["eparaksts", "eid", "bank", "smartid"]
        with pytest.raises(ValidationError, match="Fernet"):
            ContractsSettings(personal_code_key="not-a-key")

    def test_allowed_methods_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CONTRACTS_SIGN_ALLOWED_AMR", "eparaksts smartid")
        assert ContractsSettings().sign_allowed_amr == ["eparaksts", "smartid"]


class TestDemoCa:
    def test_files_are_made_once_and_seal(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli.demo_ca([str(tmp_path / "seal")]) == 0
        paths = demo_ca(tmp_path / "seal")
        assert str(paths["key"]) in capsys.readouterr().out
        assert paths["key"].stat().st_mode & 0o077 == 0
        before = paths["cert"].read_bytes()
        demo_ca(tmp_path / "seal")
        assert paths["cert"].read_bytes() == before  # kept, not regenerated
        env = settings_env(tmp_path / "seal")
        settings = ContractsSettings(
            seal_key_pem=env["CONTRACTS_SEAL_KEY_PEM"],
            seal_cert_pem=env["CONTRACTS_SEAL_CERT_PEM"],
            seal_chain_pem=env["CONTRACTS_SEAL_CHAIN_PEM"],
        )
        material = material_from_settings(settings)
        sealed = sealed_pdf(contract_data(), build_sealer(material))
        assert [c.ok for c in check_seals(sealed, material.trust_roots())] == [True]
