"""How a message reads: the HTML part a parent opens on a phone."""

from __future__ import annotations

import pytest

from notifications_service.messages import TEXTS, TRANSLATIONS, render
from shared_kit.testing.catalogues import catalogue_problems

PORTAL = "https://datori.example.lv"
LINK = "/families/contracts/548bc217-e801-4224-b4a2-4f95a97db95a"


class TestHtml:
    def test_it_fits_a_phone_says_its_language_and_links_to_the_page(self) -> None:
        params = {"number": "DL-2026-548BC217", "school": "3113900101"}
        html = render("device_ready_to_collect", params, "lv", portal_url=PORTAL, link=LINK).html
        assert '<html lang="lv">' in html
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert f'<a href="{PORTAL}{LINK}"' in html and ">Skatīt līgumu</a>" in html

    def test_parameters_are_escaped(self) -> None:
        params = {"number": "<b>1</b>", "school": "3113900101"}
        html = render("ticket_resolved", params, "en", portal_url=PORTAL, link=LINK).html
        assert "&lt;b&gt;1&lt;/b&gt;" in html and "<b>1</b>" not in html


SAMPLE = {
    "number": "DL-2026-548BC217", "school": "3113900101", "due_on": "2027-06-01",
    "period_start_on": "2026-12-06", "period_end_on": "2027-06-01", "day_on": "2026-12-07",
    "sign_by_at": "2026-12-10T10:00:00+00:00", "pickup_deadline_at": "2026-12-10T10:00:00+00:00",
    "due_at": "2026-12-10T10:00:00+00:00", "clock": "response", "channel": "email",
    "address": "ilze@example.lv", "code": "123456", "minutes": 15, "count": 3,
}  # fmt: skip


class TestPunctuation:
    def test_no_message_doubles_the_full_stop_that_ends_a_latvian_date(self) -> None:
        # A Latvian date ends with a full stop ("1.6.2027."): the sentence's own is left out.
        for lang in ("lv", "en"):
            for kind in TEXTS:
                made = render(kind, SAMPLE, lang, portal_url=PORTAL, link=LINK)
                for part in (made.subject, made.body, made.short):
                    assert ".." not in part and "  " not in part, (lang, kind, part)

    def test_the_loan_is_a_patapinajums_not_a_money_loan(self) -> None:
        for kind in ("return_due_soon", "return_due_tomorrow", "loan_overdue"):
            body = render(kind, SAMPLE, "lv", portal_url=PORTAL, link=LINK).body
            assert body.startswith("Patapinājuma līguma DL-2026-548BC217 termiņš"), body


@pytest.mark.parametrize("lang", ["lv", "en"])
def test_every_message_is_translated(lang: str) -> None:
    assert catalogue_problems(TRANSLATIONS, lang) == [], "python -m notifications_service.messages"
