"""The login's HTML pages carry the kit's strict security headers, and work with them in a browser.

The provider-choice page and an error page, over HTTP and in headless Chromium: nothing on
them is blocked by their policy, a link leads on to the provider without a Referer, and no
other site can frame them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Route

from gateway_service.config import GatewaySettings
from gateway_service.main import create_app
from shared_kit.testing.browser import browser_page
from shared_kit.testing.client import serving

APP = "http://app.test"
LOGIN_QUERY = {"return_to": f"{APP}/after-login", "state": "s", "code_challenge": "a" * 43}
STRICT = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def assert_strict(headers: httpx.Headers | dict[str, str]) -> None:
    """The kit's headers for an HTML page."""
    for name, value in STRICT.items():
        assert headers[name] == value, name
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy


class TestOverHttp:
    async def test_choice_page(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/login", params=LOGIN_QUERY)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert_strict(r.headers)

    @pytest.mark.parametrize(
        "path",
        ["/login/eklase/callback?state=forged&code=x", "/login/latvija/slo"],
    )
    async def test_error_pages(self, client: httpx.AsyncClient, path: str) -> None:
        r = await client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
        assert_strict(r.headers)

    async def test_the_same_error_as_problem_json(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/login/eklase/callback", params={"state": "forged", "code": "x"})
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"

    async def test_no_inline_script_or_style(self, client: httpx.AsyncClient) -> None:
        answers = [
            await client.get("/login", params=LOGIN_QUERY),
            await client.get("/login/latvija/slo", headers={"Accept": "text/html"}),
        ]
        for answer in answers:
            # The one inline script is the design system's `js-enabled` line, with the nonce.
            nonce = re.search(r"'nonce-([^']+)'", answer.headers["content-security-policy"])
            assert nonce is not None
            page = answer.text.replace(f'<script nonce="{nonce[1]}">', "", 1)
            page = re.sub(r'<script type="module" src="/login/static/[^"]+"></script>', "", page)
            assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", page)


@pytest.mark.slow
class TestInBrowser:
    async def test_choice_page_leads_to_the_provider(self, settings: GatewaySettings) -> None:
        settings = settings.model_copy(update={"return_to_allowed": [APP]})
        at_provider: list[tuple[str, dict[str, str]]] = []

        async def provider(route: Route) -> None:
            at_provider.append((route.request.url, await route.request.all_headers()))
            await route.fulfill(content_type="text/html", body="<h1>Mykoob</h1>")

        async with serving(create_app(settings)) as url, browser_page() as (page, log):
            await page.route(f"{settings.mykoob_authorize_url}?*", provider)
            response = await page.goto(f"{url}/login?{httpx.QueryParams(LOGIN_QUERY)}")
            assert response is not None and response.ok
            assert_strict(await response.all_headers())
            await page.get_by_role("button", name="Pieteikties ar Mykoob").click()
            await page.get_by_role("heading", name="Mykoob").wait_for()
        assert log.errors == [] and log.offsite == []
        ((authorize_url, headers),) = at_provider
        assert "referer" not in headers  # the login page's query stays with us
        (redirect_uri,) = parse_qs(urlsplit(authorize_url).query)["redirect_uri"]
        assert redirect_uri.endswith("/login/mykoob/callback")

    async def test_error_page_shows_its_alert(self, settings: GatewaySettings) -> None:
        async with serving(create_app(settings)) as url, browser_page() as (page, log):
            response = await page.goto(f"{url}/login/latvija/slo?lang=en")
            assert response is not None and response.status == 400
            assert_strict(await response.all_headers())
            await page.get_by_role("alert").wait_for()
        # Chromium reports the page's own 400; nothing else may fail or be refused.
        assert [e for e in log.errors if "status of 400" not in e] == []
        assert log.offsite == []

    @pytest.mark.parametrize("path", ["/login", "/login/latvija/slo"])
    async def test_pages_cannot_be_framed(self, settings: GatewaySettings, path: str) -> None:
        async with serving(create_app(settings)) as url, browser_page() as (page, log):
            await page.set_content(f'<iframe src="{url}{path}"></iframe>')
            await page.wait_for_timeout(500)
            framed = page.frames[1]
            assert framed.url.startswith("chrome-error://")
        assert any("frame-ancestors" in error for error in log.errors), log.errors
