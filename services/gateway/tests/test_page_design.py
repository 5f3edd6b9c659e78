"""The login's pages are pages of the platform's design system, as the portal's are.

The provider choice and the error pages load the kit's GOV.UK Frontend stylesheet and script
from the gateway itself, show the platform's generic header, link to the portal, speak one
language with every message translated, and in a real headless Chromium axe-core finds no
WCAG 2.1 A or AA violation on them, at a phone's 320 px and a desktop's 1280 px, without
sideways scrolling.
"""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from babel.messages.pofile import read_po

from gateway_service.config import GatewaySettings
from gateway_service.login import pages
from gateway_service.main import create_app
from shared_kit.design.i18n import KIT_TRANSLATIONS
from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll, browser_page
from shared_kit.testing.client import running_app, serving

APP = "http://app.test"
PORTAL = "https://www.datori.example"
LOGIN_QUERY = {"return_to": f"{APP}/after-login", "state": "s", "code_challenge": "a" * 43}
HTML = {"Accept": "text/html"}
STYLESHEET = '<link rel="stylesheet" href="/login/static/portal.min.css">'
HEADER = {"lv": "Datori bērniem", "en": "Computers for children"}
# A login's choice, a failed login (unknown state) and a failed logout (no SAML message).
PAGES = {
    "choice": f"/login?{httpx.QueryParams(LOGIN_QUERY)}",
    "login-error": "/login/eklase/callback?state=forged&code=x",
    "logout-error": "/login/latvija/slo",
}


@pytest.fixture
def settings_for_pages(settings: GatewaySettings) -> GatewaySettings:
    """The gateway, its logins returning to the test app, its portal at PORTAL."""
    return settings.model_copy(update={"return_to_allowed": [APP], "portal_url": PORTAL})


async def get_page(client: httpx.AsyncClient, name: str, lang: str) -> httpx.Response:
    """One of the pages, in a language, as a browser asks for it."""
    path = PAGES[name]
    return await client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}", headers=HTML)


def messages(lang: str) -> dict[str, str]:
    """msgid → msgstr of the gateway's and the kit's catalogues, without placeholders."""
    found: dict[str, str] = {}
    for directory in (KIT_TRANSLATIONS, pages.TRANSLATIONS):
        po = read_po((directory / lang / "LC_MESSAGES" / "messages.po").open("rb"))
        found.update({str(m.id): str(m.string) for m in po if m.id and "%" not in str(m.id)})
    return found


def text_of(html: str) -> str:
    """The page's words, tags and the design system's one-line script left out."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


class TestDesignSystem:
    @pytest.mark.parametrize("name", PAGES)
    @pytest.mark.parametrize("lang", ["lv", "en"])
    async def test_pages_use_the_platforms_layout(
        self, settings_for_pages: GatewaySettings, name: str, lang: str
    ) -> None:
        async with running_app(create_app(settings_for_pages)) as client:
            r = await get_page(client, name, lang)
        assert r.headers["content-type"].startswith("text/html")
        assert re.search(f'<html lang="{lang}" class="govuk-template"', r.text)
        assert STYLESHEET in r.text
        assert '<script type="module" src="/login/static/portal-init.mjs">' in r.text
        # The platform's generic header (no crown), linking to the portal, and its footer.
        header = re.search(
            r'<a href="([^"]+)" class="govuk-generic-header__homepage-link">\s*(.*?)\s*</a>',
            r.text,
        )
        assert header is not None and header.groups() == (f"{PORTAL}/", HEADER[lang])
        assert "govuk-header__crown" not in r.text and "govuk-logo" not in r.text
        assert f'href="{PORTAL}/accessibility"' in r.text
        assert 'class="govuk-template__body"' in r.text and 'id="main-content"' in r.text

    async def test_the_static_files_are_served_by_the_gateway(
        self, client: httpx.AsyncClient
    ) -> None:
        css = await client.get("/login/static/portal.min.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "govuk-generic-header" in css.text
        assert "GDS Transport" not in css.text and "@font-face" not in css.text
        js = await client.get("/login/static/portal-init.mjs")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert (await client.get("/login/static/govuk/govuk-frontend.min.js")).status_code == 200
        assert (await client.get("/login/static/favicon.svg")).status_code == 200

    async def test_the_choice_page_offers_the_other_language(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/login", params=LOGIN_QUERY)
        link = re.search(r'href="(/login\?[^"]+)" lang="en" hreflang="en"', r.text)
        assert link is not None and "lang=en" in unescape(link[1])
        assert "return_to=" in unescape(link[1])  # the app's parameters pass through

    async def test_error_pages_offer_no_language_link(self, client: httpx.AsyncClient) -> None:
        # A failed callback or logout cannot be asked for again in the other language.
        r = await client.get(PAGES["logout-error"], headers=HTML)
        assert 'hreflang="' not in r.text


class TestTranslated:
    @pytest.mark.parametrize("name", PAGES)
    async def test_no_message_of_the_other_language(
        self, client: httpx.AsyncClient, name: str
    ) -> None:
        lv, en = messages("lv"), messages("en")
        latvian = text_of((await get_page(client, name, "lv")).text)
        english = text_of((await get_page(client, name, "en")).text)
        assert latvian != english
        untranslated = [i for i, s in lv.items() if i != s and len(i) > 8 and i in latvian]
        assert not untranslated, f"{name} (lv): {untranslated}"
        leftover = [s for i, s in lv.items() if i != s and len(s) > 8 and s in english]
        assert not leftover, f"{name} (en): {leftover}"
        assert en  # the English catalogue is read too


@pytest.mark.slow
class TestInBrowser:
    @pytest.mark.parametrize("width", [320, 1280])
    async def test_accessible_in_both_languages_without_sideways_scroll(
        self, settings_for_pages: GatewaySettings, width: int
    ) -> None:
        async with serving(create_app(settings_for_pages)) as url, browser_page() as (page, log):
            await page.set_viewport_size({"width": width, "height": 800})
            for name in ("choice", "logout-error"):
                for lang in ("lv", "en"):
                    path = PAGES[name]
                    await page.goto(f"{url}{path}{'&' if '?' in path else '?'}lang={lang}")
                    assert await page.get_attribute("html", "lang") == lang
                    await assert_accessible(page)
                    await assert_no_sideways_scroll(page)
                    # The stylesheet applied: GOV.UK's header is the platform's blue.
                    header = page.locator(".govuk-generic-header")
                    colour = await header.evaluate("e => getComputedStyle(e).backgroundColor")
                    assert colour == "rgb(29, 112, 184)", colour
                    # The script ran: GOV.UK Frontend initialised its components.
                    assert await page.locator("[data-govuk-skip-link-init]").count() == 1
        # Nothing blocked by the policy, nothing fetched from elsewhere (the error page's own
        # 400 is the only failure Chromium reports).
        assert [e for e in log.errors if "status of 400" not in e] == []
        assert log.offsite == []
