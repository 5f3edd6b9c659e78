"""Operations: health, readiness, metrics, correlation ids, a database outage."""

from __future__ import annotations

from typing import Any

import httpx

from inventory_service.config import InventorySettings
from inventory_service.main import create_app
from shared_kit.testing.client import running_app
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.infra import free_port

from .conftest import Tokens


class TestOps:
    async def test_health_and_readiness(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok", "checks": {}}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}

    async def test_metrics_count_requests(self, client: httpx.AsyncClient) -> None:
        await client.get("/healthz")
        metrics = (await client.get("/metrics")).text
        assert 'http_requests_total{method="GET",route="/healthz",status="200"}' in metrics

    async def test_correlation_id_is_echoed_or_made(self, client: httpx.AsyncClient) -> None:
        given = await client.get("/healthz", headers={"X-Correlation-ID": "abc-123"})
        assert given.headers["x-correlation-id"] == "abc-123"
        made = await client.get("/healthz")
        assert len(made.headers["x-correlation-id"]) == 36

    async def test_openapi_documents_problems(self, client: httpx.AsyncClient) -> None:
        spec = (await client.get("/openapi.json")).json()
        post = spec["paths"]["/api/v1/inventory/devices"]["post"]["responses"]
        assert "application/problem+json" in post["409"]["content"]


class TestDatabaseOutage:
    async def test_requests_get_503_and_readiness_fails(
        self, settings: InventorySettings, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        dead = settings.model_copy(
            update={
                "database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
            }
        )
        async with running_app(create_app(dead)) as client:
            r = await client.get("/api/v1/inventory/devices", headers=bearer(tokens.riga))
            problem(r, 503, "service-unavailable")
            assert r.headers["retry-after"] == "5"
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"].startswith("unreachable")
            assert (await client.get("/healthz")).status_code == 200
