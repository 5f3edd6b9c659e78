"""Settings: configurable grade bands and targets, production refusals; the OpenAPI document."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import ValidationError

from statistics_service.config import StatisticsSettings

from .conftest import API


def test_bands_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    bands = [
        {"name": "1-3", "first_grade": 1, "last_grade": 3, "pupils_per_device": 3},
        {"name": "4-9", "first_grade": 4, "last_grade": 9, "pupils_per_device": "2.5"},
    ]
    monkeypatch.setenv("STATISTICS_COVERAGE_BANDS", json.dumps(bands))
    settings = StatisticsSettings()
    assert [(b.name, str(b.pupils_per_device)) for b in settings.coverage_bands] == [
        ("1-3", "3"),
        ("4-9", "2.5"),
    ]
    assert settings.coverage_bands[1].mask == sum(1 << g for g in range(4, 10))


@pytest.mark.parametrize(
    "bands",
    [
        [{"name": "a", "first_grade": 4, "last_grade": 3}],
        [{"name": "a", "first_grade": 1, "last_grade": 3}] * 2,
        [{"name": "a", "first_grade": 0, "last_grade": 3}],
        [{"name": "a", "first_grade": 1, "last_grade": 3, "pupils_per_device": 0}],
    ],
)
def test_bad_bands_are_refused(bands: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError):
        StatisticsSettings(coverage_bands=bands)


def test_production_refuses_the_dev_viis_key() -> None:
    prod = {
        "environment": "prod",
        "database_url": "postgresql+asyncpg://db.internal/statistics",
        "kafka_bootstrap_servers": "kafka.internal:9092",
        "jwks_url": "https://gateway.example/.well-known/jwks.json",
        "jwt_issuer": "https://gateway.example",
        "viis_url": "https://viis.example",
    }
    with pytest.raises(ValidationError, match="VIIS_API_KEY"):
        StatisticsSettings(**prod)
    assert StatisticsSettings(**prod, viis_api_key="real-key").viis_url == "https://viis.example"


async def test_openapi_lists_the_api(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/national", "/feeds/viis", "/feeds/viis/schema", "/export.csv"):
        assert f"{API}{path}" in paths
