"""The gateway's HTML pages speak one language each: every word in the one asked for.

The language is asked for with `lang=lv|en`; a login remembers it, so the page after the
identity provider (which knows nothing of it) speaks it too. The only words of the other
language are the link to it, marked with its own `lang`. Every word comes from the gateway's
gettext catalogues (and the kit's, for the layout), each message translated in both.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from babel.messages.pofile import read_po
from fastapi import FastAPI

from gateway_service.config import GatewaySettings
from gateway_service.login import pages
from gateway_service.login.providers import PROVIDER_LABELS
from gateway_service.main import create_app
from shared_kit.design.i18n import KIT_TRANSLATIONS
from shared_kit.testing.catalogues import catalogue_problems
from shared_kit.testing.client import running_app

APP = "http://app.test"
HTML = {"Accept": "text/html"}
LANGS: tuple[pages.Lang, ...] = ("lv", "en")


CATALOGUES = (pages.TRANSLATIONS, KIT_TRANSLATIONS)


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text)}


def _messages(directory: Path, lang: str) -> dict[str, str]:
    """msgid → msgstr of a language's catalogue (English is the source language)."""
    po = read_po((directory / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    return {str(m.id): str(m.string) for m in po if m.id}


def _catalogue(lang: pages.Lang) -> set[str]:
    texts = [t for d in CATALOGUES for t in _messages(d, lang).values()]
    return _words(" ".join(texts).replace("%(status)s", "").replace("%(provider)s", ""))


# The words only one language uses (names such as VIIS or E-klase are in both).
NAMES = _words(" ".join(PROVIDER_LABELS.values()))
ONLY = {
    "lv": _catalogue("lv") - _catalogue("en") - NAMES,
    "en": _catalogue("en") - _catalogue("lv") - NAMES,
}
LATVIAN_LETTERS = re.compile("[āčēģīķļņšūž]", re.IGNORECASE)


def visible_text(html: str) -> str:
    """The page's text (the title included), without the link to the other language and
    the design system's one-line script."""
    html = re.sub(r'<a [^>]*\blang="[a-z]+"[^>]*>.*?</a>', " ", html, flags=re.S)
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def assert_speaks(html: str, lang: pages.Lang) -> None:
    """The page is in `lang` and has no word of the other language."""
    assert re.search(f'<html lang="{lang}"[ >]', html), html
    text = visible_text(html)
    other: pages.Lang = "en" if lang == "lv" else "lv"
    assert not _words(text) & ONLY[other], (lang, _words(text) & ONLY[other], text)
    if lang == "en":
        assert not LATVIAN_LETTERS.search(text), text
    assert _words(text) & ONLY[lang], text  # it does speak `lang`


class TestCatalogue:
    @pytest.mark.parametrize("directory", CATALOGUES, ids=["gateway", "kit"])
    @pytest.mark.parametrize("lang", LANGS)
    def test_each_language_has_every_text(self, directory: Path, lang: pages.Lang) -> None:
        assert catalogue_problems(directory, lang) == [], "python -m shared_kit.design.i18n …"

    def test_every_problem_and_hint_is_in_the_catalogue(self) -> None:
        ids = set(_messages(pages.TRANSLATIONS, "lv"))
        used = {*pages.PROBLEMS.values(), *pages.FALLBACK.values(), *pages.HINTS.values()}
        assert used <= ids, used - ids

    @pytest.mark.parametrize("lang", LANGS)
    @pytest.mark.parametrize("kind", ["login", "logout"])
    @pytest.mark.parametrize(
        ("problem", "status"),
        [*((name, 400) for name in pages.PROBLEMS), ("never-heard-of", 409), ("internal", 500)],
    )
    def test_every_error_page(
        self, lang: pages.Lang, kind: pages.Kind, problem: str, status: int
    ) -> None:
        html = pages.error_page(lang, status, problem, kind)
        assert_speaks(html, lang)
        assert f": {status}" in visible_text(html)

    @pytest.mark.parametrize("lang", LANGS)
    def test_the_choice_page(self, lang: pages.Lang) -> None:
        html = pages.choice_page(lang, {"E-klase": "/login/eklase?x=1"}, "/login?lang=x")
        assert_speaks(html, lang)


@pytest.fixture
def app(settings: GatewaySettings) -> FastAPI:
    """The gateway, letting logins return to the test app."""
    return create_app(settings.model_copy(update={"return_to_allowed": [APP]}))


async def start(client: httpx.AsyncClient, provider: str, **params: str) -> str:
    """Start a login; our `state` sent to the provider."""
    query = {"return_to": f"{APP}/cb", "code_challenge": "a" * 43, **params}
    r = await client.get(f"/login/{provider}", params=query)
    assert r.status_code == 302, r.text
    return parse_qs(urlsplit(r.headers["location"]).query)["state"][0]


class TestErrorPagesOverHttp:
    @pytest.mark.parametrize("lang", LANGS)
    async def test_each_kind_of_error_speaks_the_language_asked_for(
        self, client: httpx.AsyncClient, lang: pages.Lang
    ) -> None:
        login = {"return_to": f"{APP}/cb", "code_challenge": "a" * 43, "lang": lang}
        answers = [
            await client.get("/login/facebook", params=login, headers=HTML),  # 404
            await client.get(  # return_to not allowed
                "/login/eklase", params={**login, "return_to": "http://evil.test/"}, headers=HTML
            ),
            await client.get("/login/eklase", params={"lang": lang}, headers=HTML),  # missing
            await client.get(  # an unknown login
                "/login/eklase/callback", params={"state": "x", "lang": lang}, headers=HTML
            ),
            await client.post(f"/logout?lang={lang}", data={}, headers=HTML),
            await client.get("/login/latvija/slo", params={"lang": lang}, headers=HTML),
            await client.get(  # garbage at the SLO: 400, or 502 without the IdP's metadata
                "/login/latvija/slo", params={"SAMLRequest": "x", "lang": lang}, headers=HTML
            ),
        ]
        for answer in answers:
            assert 400 <= answer.status_code < 600, answer.text
            assert answer.headers["content-type"].startswith("text/html"), answer.text
            assert_speaks(answer.text, lang)

    @pytest.mark.parametrize("lang", LANGS)
    async def test_too_many_attempts(self, settings: GatewaySettings, lang: pages.Lang) -> None:
        strict = {"login_rate_per_s": 0.001, "login_rate_burst": 1}
        async with running_app(create_app(settings.model_copy(update=strict))) as client:
            params = {"state": "x", "lang": lang}
            await client.get("/login/eklase/callback", params=params, headers=HTML)
            limited = await client.get("/login/eklase/callback", params=params, headers=HTML)
        assert limited.status_code == 429 and limited.headers["retry-after"]
        assert_speaks(limited.text, lang)

    @pytest.mark.parametrize("lang", LANGS)
    async def test_the_page_after_the_provider_speaks_the_language_of_the_start(
        self, client: httpx.AsyncClient, lang: pages.Lang
    ) -> None:
        state = await start(client, "mykoob", lang=lang)
        # The provider's callback carries no `lang`; the cancelled login's page still speaks it.
        params = {"state": state, "error": "access_denied"}
        r = await client.get("/login/mykoob/callback", params=params, headers=HTML)
        assert r.status_code == 400
        assert_speaks(r.text, lang)

    async def test_the_choice_page_passes_its_language_on(self, client: httpx.AsyncClient) -> None:
        page = await client.get(
            "/login", params={"lang": "en", "return_to": f"{APP}/cb", "code_challenge": "a" * 43}
        )
        assert_speaks(page.text, "en")
        link = re.search(r'href="(/login/eklase\?[^"]+)"', page.text)
        assert link is not None and "lang=en" in unescape(link[1])
        start = await client.get(unescape(link[1]))
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        r = await client.get(
            "/login/eklase/callback", params={"state": state, "error": "x"}, headers=HTML
        )
        assert r.status_code == 400
        assert_speaks(r.text, "en")

    async def test_without_lang_the_pages_are_latvian(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/login/eklase/callback", params={"state": "x"}, headers=HTML)
        assert_speaks(r.text, "lv")
        assert_speaks((await client.get("/login")).text, "lv")


async def test_problem_json_is_unchanged_for_other_callers(settings: GatewaySettings) -> None:
    async with running_app(create_app(settings)) as client:
        r = await client.get("/login/eklase/callback", params={"state": "x"})
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "Unknown login; start again from the application"
