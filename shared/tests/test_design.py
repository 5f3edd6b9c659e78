"""The kit's design system: its layout takes a service's name, navigation and footer, speaks
the page's language from the service's catalogue over the kit's, and its files are served."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from fastapi import FastAPI

from shared_kit import design
from shared_kit.design.i18n import KIT_TRANSLATIONS, LANGS, Lang

PAGE = """{% extends "design/base.html" %}
{% set service_name = _("Our service") %}
{% set home_href = "/home" %}
{% set footer_links = [{"href": "/help", "text": "Help"}] %}
{% block title %}{{ _("A page") }}{% endblock %}
{% block content %}<h1>{{ _("A page") }}</h1>{% endblock %}
"""


@pytest.fixture
def service(tmp_path: Path) -> tuple[Path, Path]:
    """A service's template folder and catalogues (Latvian translates one of its messages)."""
    templates, translations = tmp_path / "templates", tmp_path / "translations"
    templates.mkdir()
    (templates / "page.html").write_text(PAGE)
    for lang in LANGS:
        catalog = Catalog(locale=lang)
        catalog.add("A page", "Lapa" if lang == "lv" else "A page")
        catalog.add("Our service", "Mūsu pakalpojums" if lang == "lv" else "Our service")
        folder = translations / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (folder / "messages.po").open("wb") as po:
            write_po(po, catalog)
    return templates, translations


def render(service: tuple[Path, Path], lang: Lang, **context: object) -> str:
    """The service's page in a language."""
    templates, translations = service
    env = design.environment(lang, translations, {"svc": templates})
    return env.get_template("svc/page.html").render(lang=lang, nonce="n0nce", **context)


class TestLayout:
    def test_the_service_fills_the_generic_header_and_footer(
        self, service: tuple[Path, Path]
    ) -> None:
        html = render(service, "lv", lang_href="/?lang=en", other_lang="en")
        assert '<html lang="lv" class="govuk-template">' in html
        assert "<title>Lapa – Mūsu pakalpojums</title>" in html
        assert re.search(r'href="/home" class="govuk-generic-header__homepage-link">\s*Mūsu', html)
        assert "govuk-header__crown" not in html
        assert '<link rel="stylesheet" href="/static/portal.min.css">' in html
        assert '<script nonce="n0nce">' in html
        assert "Pāriet uz galveno saturu" in html  # the kit's own message, in Latvian
        assert 'href="/?lang=en" lang="en" hreflang="en"' in html
        assert '<a class="govuk-footer__link" href="/help">Help</a>' in html

    def test_english_and_another_static_prefix(self, service: tuple[Path, Path]) -> None:
        html = render(service, "en", static="/login/static")
        assert "<title>A page – Our service</title>" in html and "Skip to main content" in html
        assert '<link rel="stylesheet" href="/login/static/portal.min.css">' in html
        assert '<script type="module" src="/login/static/portal-init.mjs">' in html

    def test_without_a_language_link_there_is_no_navigation(
        self, service: tuple[Path, Path]
    ) -> None:
        assert "govuk-service-navigation" not in render(service, "en")


class TestKitCatalogue:
    @pytest.mark.parametrize("lang", LANGS)
    def test_every_message_is_translated(self, lang: str) -> None:
        template = read_po((KIT_TRANSLATIONS / "messages.pot").open("rb"))
        catalogue = read_po((KIT_TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb"))
        assert {m.id for m in template if m.id} == {m.id for m in catalogue if m.id}
        assert all(m.string and not m.fuzzy for m in catalogue if m.id)


class TestStaticFiles:
    async def test_the_kit_files_after_a_services_own(self, tmp_path: Path) -> None:
        (tmp_path / "favicon.svg").write_text("<svg>ours</svg>")
        (tmp_path / "extra.txt").write_text("ours")
        app = FastAPI()
        app.mount("/static", design.static_files(tmp_path))
        app.mount("/kit", design.static_files(tmp_path / "missing"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            css = await client.get("/static/portal.min.css")
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
            assert (await client.get("/static/favicon.svg")).text == "<svg>ours</svg>"
            assert (await client.get("/static/extra.txt")).text == "ours"
            assert (await client.get("/kit/govuk/govuk-frontend.min.js")).status_code == 200
            assert (await client.get("/kit/extra.txt")).status_code == 404
