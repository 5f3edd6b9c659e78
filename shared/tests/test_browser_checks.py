"""The checks every page gets in a real Chromium find what they are for: an image without a
text alternative (axe's `image-alt`, WCAG 1.1.1) and a page wider than the screen."""

from __future__ import annotations

import pytest

from shared_kit.testing.browser import (
    assert_accessible,
    assert_no_sideways_scroll,
    browser_page,
)

pytestmark = pytest.mark.slow
PAGE = '<!doctype html><html lang="lv"><head><title>Lapa</title></head><body><main>{}</main></body></html>'


async def test_a_page_without_violations_passes_and_one_with_a_violation_fails() -> None:
    async with browser_page() as (page, _):
        await page.set_content(PAGE.format("<h1>Ierīces</h1><p>Teksts.</p>"))
        await assert_accessible(page)
        await page.set_content(PAGE.format('<h1>Ierīces</h1><img src="data:,">'))
        with pytest.raises(AssertionError, match="image-alt"):
            await assert_accessible(page)


async def test_a_page_wider_than_the_screen_fails() -> None:
    async with browser_page() as (page, _):
        await page.set_viewport_size({"width": 320, "height": 600})
        await page.set_content(PAGE.format("<h1>Ierīces</h1>"))
        await assert_no_sideways_scroll(page)
        await page.set_content(PAGE.format('<div style="width: 600px">plats</div>'))
        with pytest.raises(AssertionError, match=r"\d+ px wide in 320 px"):
            await assert_no_sideways_scroll(page)
