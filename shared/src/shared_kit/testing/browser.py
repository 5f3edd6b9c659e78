"""Debian's headless Chromium through Playwright, on a page that may reach 127.0.0.1 only.

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

from playwright.async_api import ConsoleMessage, Page, Route, async_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LOOPBACK = "127.0.0.1"


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
