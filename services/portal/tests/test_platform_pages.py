"""The failed-messages page without the services: its template in both languages, its rows as
the notifications service lists deliveries, and who is offered a link to it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from portal_service.exceptions import PageNotFound
from portal_service.i18n import Lang
from portal_service.platform.deliveries import back_to, breakable, delivery_view, platform_admin
from portal_service.platform.labels import OUTCOMES
from portal_service.web.gateway import Profile
from portal_service.web.templates import render

NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)
ADMIN = Profile(id="p-9", given_name="Gatis", family_name="Lapiņš", roles=["platform_admin"])
GUARDIAN = Profile(id="p-1", given_name="Ilze", family_name="Bērziņa", roles=["guardian"])
ERROR = "SMTPRecipientsRefused: [SMTPRecipientRefused(421, '4.3.2 Service not available')]"


def delivery(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "3f1c2a4e-0000-4000-8000-000000000001",
        "notice_id": "3f1c2a4e-0000-4000-8000-000000000002",
        "kind": "reservation_approved",
        "channel": "email",
        "state": "failed",
        "attempts": 8,
        "last_error": ERROR,
        "updated_at": NOW.isoformat(),
        **overrides,
    }


def page(lang: Lang, profile: Profile = ADMIN, **context: Any) -> str:
    """The page rendered with the layout's context of a logged-in person."""
    base = {
        "lang": lang,
        "other_lang": "en" if lang == "lv" else "lv",
        "lang_href": "/language/en",
        "csrf_token": "csrf-1",
        "profile": profile,
        "nonce": "n",
        "path": "/platform/deliveries",
        "error_title": False,
        "rows": [],
        "cursor": None,
        "next_cursor": None,
        "outcome": None,
        "outcomes": OUTCOMES,
    }
    return render(lang, "platform/deliveries.html", {**base, **context})


class TestRows:
    def test_a_delivery_is_named_in_words_with_its_time(self) -> None:
        view = delivery_view(delivery(channel="sms", kind="loan_overdue"))
        assert (view["kind"], view["channel"]) == (
            "The computer was not returned on time",
            "Text message",
        )
        assert view["updated_at"] == NOW and view["attempts"] == 8

    def test_a_kind_the_portal_does_not_know_shows_as_the_service_names_it(self) -> None:
        assert delivery_view(delivery(kind="e_address_bounced"))["kind"] == "e_address_bounced"

    def test_a_long_technical_error_can_wrap_and_says_the_same(self) -> None:
        parts = breakable(ERROR)
        assert "".join(parts) == ERROR
        assert max(len(p) for p in parts) <= 20
        assert parts[:3] == ["SMTP", "Recipients", "Refused:"]
        assert breakable("") == [] and breakable("x" * 45) == ["x" * 20, "x" * 20, "x" * 5]

    def test_back_to_the_same_page_with_the_outcome(self) -> None:
        assert back_to(None, "retried") == "/platform/deliveries?outcome=retried"
        assert back_to("c2", "not-failed") == "/platform/deliveries?cursor=c2&outcome=not-failed"


class TestPage:
    def test_the_table_shows_kind_channel_attempts_error_time_and_a_button(self) -> None:
        html = page("lv", rows=[delivery_view(delivery())], next_cursor="c2")
        assert "<h1" in html and "Neizdevušies sūtījumi" in html
        assert "Rezervācija apstiprināta" in html and "E-pasts" in html
        assert "8 mēģinājumi" in html and "2026. gada 6. decembris 12:00" in html
        assert "SMTP<wbr>Recipients<wbr>Refused:<wbr>" in html
        assert 'action="/platform/deliveries/3f1c2a4e-0000-4000-8000-000000000001/retry"' in html
        assert 'name="csrf_token" value="csrf-1"' in html
        assert 'Sūtīt vēlreiz<span class="govuk-visually-hidden">: Rezervācija apstiprināta' in html
        assert (
            'href="/platform/deliveries?cursor=c2"' in html and "Vēl neizdevušies sūtījumi" in html
        )

    def test_a_page_after_the_first_keeps_its_cursor_in_the_form(self) -> None:
        html = page("en", rows=[delivery_view(delivery())], cursor="c2")
        assert '<input type="hidden" name="cursor" value="c2">' in html
        assert 'href="/platform/deliveries"' in html and "First page" in html

    def test_one_attempt_is_singular(self) -> None:
        html = page("lv", rows=[delivery_view(delivery(attempts=1, last_error=None))])
        assert "1 mēģinājums" in html and "Kļūda nav norādīta" in html

    @pytest.mark.parametrize(
        ("lang", "texts"),
        [
            ("lv", ("Neizdevušos sūtījumu nav.", "Sūtījums parādās šeit")),
            ("en", ("There are no failed messages.", "A message appears here")),
        ],
    )
    def test_the_empty_page_says_when_a_message_would_appear(
        self, lang: Lang, texts: tuple[str, str]
    ) -> None:
        html = page(lang)
        assert all(text in html for text in texts) and "<table" not in html

    def test_a_retry_shows_the_success_banner(self) -> None:
        html = page("lv", outcome="retried")
        assert "govuk-notification-banner--success" in html and "Sūtīšana atsākta" in html

    def test_a_message_no_longer_failed_is_said_so(self) -> None:
        html = page("en", outcome="not-failed")
        assert "This message is no longer failed" in html
        assert "govuk-notification-banner--success" not in html


class TestWhoFindsIt:
    def test_the_navigation_links_the_page_for_a_platform_admin_only(self) -> None:
        assert 'href="/platform/deliveries"' in page("lv").split("<main", 1)[0]
        assert 'href="/platform/deliveries"' not in page("lv", GUARDIAN).split("<main", 1)[0]

    def test_anyone_else_gets_not_found(self) -> None:
        class Signed:
            profile = GUARDIAN

        with pytest.raises(PageNotFound):
            platform_admin(Signed())  # type: ignore[arg-type]
        admin = type("Admin", (), {"profile": ADMIN})()
        assert platform_admin(admin) is admin
