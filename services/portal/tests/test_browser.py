"""The portal in a real headless Chromium: login through the Latvija.lv stand-in, axe-core on
every page in both languages, 320 px without sideways scrolling, the keyboard, translations."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.async_api import BrowserContext, Page

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll

from .conftest import Portal

TRANSLATIONS = Path(__file__).parents[1] / "src" / "portal_service" / "translations"
PUBLIC_PAGES = ["/", "/accessibility", "/no-such-page", "/logged-out"]


async def log_in_with_latvija(page: Page, portal: Portal, person: str = "guardian") -> None:
    """Start page → Latvija.lv stand-in → pick the person → the portal's home."""
    await page.goto(f"{portal.url}/")
    await page.get_by_role("button", name="Pieteikties ar Latvija.lv").click()
    await page.check(f"input[name=person][value={person}]")
    await page.select_option("select[name=method]", "eparaksts")
    await page.get_by_role("button", name="Approve").click()
    await page.wait_for_url(f"{portal.url}/home", timeout=20_000)


async def visit_every_page(page: Page, portal: Portal) -> list[tuple[str, str]]:
    """Each page (public and home): checked with axe and at its width; their texts."""
    texts = []
    for path in [*PUBLIC_PAGES, "/home"]:
        await page.goto(f"{portal.url}{path}")
        await assert_accessible(page)
        await assert_no_sideways_scroll(page)
        texts.append((path, await page.inner_text("body")))
    return texts


def messages(lang: str) -> dict[str, str]:
    """msgid → msgstr of a language, without the ones with placeholders."""
    po = read_po((TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    return {m.id: m.string for m in po if m.id and "%" not in m.id}


class TestLoginInTheBrowser:
    async def test_latvija_login_lands_on_home_with_the_name(
        self, context: BrowserContext, portal: Portal
    ) -> None:
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await log_in_with_latvija(page, portal)
        assert await page.get_by_role("heading", level=1).inner_text() == "Labdien, Ilze!"
        await page.get_by_role("heading", name="Marta Bērziņa").wait_for()
        assert "js-enabled" in (await page.get_attribute("body", "class") or "")
        assert not [e for e in errors if "Content Security Policy" in e], errors

    async def test_logout_ends_the_gateway_session_through_latvija(
        self, context: BrowserContext, portal: Portal
    ) -> None:
        page = await context.new_page()
        await log_in_with_latvija(page, portal, "school_admin")
        await page.get_by_role("button", name="Iziet").click()  # → gateway → IdP SLO → back
        await page.wait_for_url(f"{portal.url}/logged-out", timeout=20_000)
        assert await page.get_by_role("heading", level=1).inner_text() == "Jūs esat izgājis"
        await page.goto(f"{portal.url}/home")
        assert page.url.startswith(f"{portal.url}/?next=")


class TestEveryPage:
    @pytest.mark.parametrize("width", [320, 1280])
    async def test_accessible_in_both_languages_without_sideways_scroll(
        self, context: BrowserContext, portal: Portal, width: int
    ) -> None:
        page = await context.new_page()
        await page.set_viewport_size({"width": width, "height": 800})
        await log_in_with_latvija(page, portal)
        latvian = await visit_every_page(page, portal)
        await page.get_by_role("link", name="English").click()
        english = await visit_every_page(page, portal)
        assert await page.get_attribute("html", "lang") == "en"
        lv, en = messages("lv"), messages("en")
        for (path, lv_text), (_, en_text) in zip(latvian, english, strict=True):
            assert lv_text != en_text, path
            # No English sentence on a Latvian page, no Latvian one on an English page.
            untranslated = [i for i, s in lv.items() if i != s and len(i) > 8 and i in lv_text]
            assert not untranslated, f"{path} (lv): {untranslated}"
            leftover = [s for i, s in lv.items() if i != s and len(s) > 8 and s in en_text]
            assert not leftover, f"{path} (en): {leftover}"
        assert en  # the English catalogue is read too


class TestKeyboard:
    async def test_skip_link_then_the_login_choices_by_tab(
        self, context: BrowserContext, portal: Portal
    ) -> None:
        page = await context.new_page()
        await page.goto(f"{portal.url}/")
        await page.keyboard.press("Tab")
        focused = page.locator(":focus")
        assert await focused.inner_text() == "Pāriet uz galveno saturu"
        await page.keyboard.press("Enter")
        reached = []
        for _ in range(10):
            await page.keyboard.press("Tab")
            reached.append(await page.evaluate("document.activeElement.innerText.trim()"))
        for provider in ("Latvija.lv", "E-klase", "Mykoob"):
            assert f"Pieteikties ar {provider}" in reached, reached
