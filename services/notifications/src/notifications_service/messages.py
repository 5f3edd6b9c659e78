"""How each kind of message reads, in Latvian and English: subject, text, HTML and SMS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rendered:
    """One message written for one person."""

    subject: str  # the e-mail subject and the notice's title
    text: str  # the e-mail's plain text and the notice's body
    html: str  # the e-mail's HTML
    short: str  # the SMS (one or two segments)


def render(kind: str, params: dict[str, Any], language: str, *, portal_url: str) -> Rendered:
    """The message of `kind` with its `params` (placeholder until the catalogue exists)."""
    text = " ".join([kind, *(f"{k}={v}" for k, v in params.items())])
    return Rendered(subject=kind, text=text, html=f"<p>{text}</p>", short=text)
