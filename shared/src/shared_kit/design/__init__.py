"""The platform's design system for the people's pages: GOV.UK Frontend, re-branded.

What the portal and the gateway's own pages share, once: the built CSS and JS (`static/`,
rebuilt by `shared/frontend/build.sh`), the layout every page extends (`design/base.html` on
GOV.UK Frontend's `template.html`: generic header, no crown, system fonts, the service's name,
navigation and footer as parameters), the layout's catalogue, and a Jinja environment with
gettext and the `govuk_frontend_jinja` macros.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.staticfiles import StaticFiles
from jinja2 import BaseLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

if TYPE_CHECKING:  # `python -m shared_kit.design.i18n` runs the module after this package
    from shared_kit.design.i18n import Lang

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"


def environment(lang: Lang, catalogues: Path, templates: Mapping[str, Path]) -> Environment:
    """Templates of a service in one language: its folders by prefix (`"web"` → `web/…`),
    the kit's layout (`design/…`) and GOV.UK's macros (`govuk_frontend_jinja/…`), with the
    service's gettext catalogue (under `catalogues`) over the kit's."""
    from shared_kit.design.i18n import translations

    loaders: dict[str, BaseLoader] = {name: FileSystemLoader(p) for name, p in templates.items()}
    loaders["design"] = FileSystemLoader(TEMPLATES)
    loaders["govuk_frontend_jinja"] = PackageLoader("govuk_frontend_jinja")
    env = Environment(
        loader=PrefixLoader(loaders),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates do not change under a running process: no file stat on every render.
        auto_reload=False,
    )
    env.install_gettext_translations(translations(catalogues, lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def static_files(own: Path | None = None) -> StaticFiles:
    """The design system's files, after a service's own folder (when it has one) so that a
    service's file of the same name wins; mount it where the pages' `static` points."""
    directory = own if own is not None and own.is_dir() else None
    return StaticFiles(directory=directory, packages=[("shared_kit.design", "static")])
