"""Swagger UI at /docs renders in a real browser with no network but the service itself."""

from __future__ import annotations

import pytest

from inventory_service.config import InventorySettings
from inventory_service.main import create_app
from shared_kit.testing.browser import browser_page
from shared_kit.testing.client import serving

pytestmark = pytest.mark.slow


class TestSwaggerUi:
    async def test_renders_the_operations_offline(self, settings: InventorySettings) -> None:
        async with serving(create_app(settings)) as url, browser_page() as (page, log):
            response = await page.goto(f"{url}/docs")
            assert response is not None and response.status == 200
            operation = page.get_by_role("button", name="POST /api/v1/inventory/devices")
            await operation.first.wait_for(timeout=20_000)
            await operation.first.click()
            await page.get_by_role("button", name="Try it out").wait_for()
        # …under the kit's strict policy for pages, which Chromium enforced.
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert log.offsite == []
        assert log.errors == []  # a CSP violation, a missing file or a script error
