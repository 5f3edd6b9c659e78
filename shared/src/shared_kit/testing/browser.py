"""Debian's headless Chromium through Playwright, on a page that may reach 127.0.0.1 only, and
the checks every page gets: axe-core's WCAG 2.1 A/AA rules and no sideways scrolling.

Every request to another host is aborted and recorded, and so is every console error (a
Content-Security-Policy violation is one), so a test can check that a page works offline and
within its policy.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import ConsoleMessage, Page, Route, async_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LOOPBACK = "127.0.0.1"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Every WCAG 2.1 A/AA rule runs; only the violations come back with all their nodes. Full
# results (every pass with every node) cost the browser and the test about 0.5 s more per
# check on a page with a 200-row table, and no test reads them.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
_axe = Axe()


async def assert_accessible(page: Page) -> None:
    """axe-core finds no WCAG 2.1 A or AA violation on the page."""
    await page.wait_for_load_state()  # after a click, a busy machine may still be loading it
    results = await _axe.run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


async def assert_no_sideways_scroll(page: Page) -> None:
    """Nothing is wider than the viewport."""
    widths = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]} px wide in {widths[1]} px"


@dataclass
class PageLog:
    """What a page tried beyond what it should."""

    offsite: list[str] = field(default_factory=list)  # URLs of requests that left 127.0.0.1
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions

    async def only_loopback(self, route: Route) -> None:
        """Let a request to 127.0.0.1 through; abort and record any other."""
        url = route.request.url
        if urlsplit(url).hostname == LOOPBACK or url.startswith("data:"):
            await route.continue_()
        else:
            self.offsite.append(url)
            await route.abort()

    def console(self, message: ConsoleMessage) -> None:
        """Record a console error."""
        if message.type == "error":
            self.errors.append(message.text)


@contextlib.asynccontextmanager
async def browser_page() -> AsyncIterator[tuple[Page, PageLog]]:
    """A fresh page in headless Chromium and the log of what it tried."""
    log = PageLog()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await browser.new_page()
            await page.route("**/*", log.only_loopback)
            page.on("console", log.console)
            page.on("pageerror", lambda error: log.errors.append(str(error)))
            yield page, log
        finally:
            await browser.close()
