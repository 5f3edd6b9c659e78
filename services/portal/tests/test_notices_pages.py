"""The notification pages without the services: their templates in both languages, the forms
as posted, and the notifications service's answers as the messages beside the right field."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from portal_service.i18n import Lang
from portal_service.notices.contact_forms import CodeForm, code_errors, point_view
from portal_service.notices.inbox import local_link, notice_view
from portal_service.notices.preferences import ESSENTIAL, chosen, groups, preference_errors
from portal_service.web.api import ApiProblem
from portal_service.web.forms import FormErrors
from portal_service.web.gateway import Profile
from portal_service.web.templates import render
from shared_kit.problems import PROBLEM_BASE
from shared_kit.testing.infra import free_port

from .conftest import Portal
from .test_pages import login_over_http

NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)
PUBLIC = "https://www.datori.example"
GUARDIAN = Profile(id="p-1", given_name="Anna", family_name="Bērziņa", roles=["guardian"])


def page(lang: Lang, name: str, **context: Any) -> str:
    """A template rendered with the layout's context of a logged-in guardian."""
    base = {
        "lang": lang,
        "other_lang": "en" if lang == "lv" else "lv",
        "lang_href": "/language/en",
        "csrf_token": "csrf-1",
        "profile": GUARDIAN,
        "nonce": "n",
        "path": "/notifications",
        "error_title": bool(context.get("errors")),
    }
    return render(lang, name, {**base, **context})


def problem(status: int, type_: str, **body: Any) -> ApiProblem:
    answer = httpx.Response(status, json={"type": PROBLEM_BASE + type_, "status": status, **body})
    return ApiProblem.of(answer)


def notice(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "3f1c2a4e-0000-4000-8000-000000000001",
        "kind": "reservation_approved",
        "title": "Rezervācija apstiprināta",
        "body": "Skola Nr. 12 apstiprināja rezervāciju.\n\nDatoru saņemiet līdz 10.12.",
        "link": PUBLIC + "/families/reservations/abc",
        "created_at": NOW.isoformat(),
        "read_at": None,
        **overrides,
    }


class TestHeader:
    @pytest.mark.parametrize(("lang", "text"), [("lv", "Paziņojumi"), ("en", "Notifications")])
    def test_the_link_carries_the_unread_count_with_words_for_screen_readers(
        self, lang: Lang, text: str
    ) -> None:
        html = page(lang, "notices/inbox.html", notices=[], unread=3)
        hidden = "nelasīti" if lang == "lv" else "unread"
        expected = f'{text} (3<span class="govuk-visually-hidden"> {hidden}</span>)'
        assert expected in html

    def test_latvian_agrees_the_word_with_the_number(self) -> None:
        html = page("lv", "notices/inbox.html", notices=[], unread=21)
        assert '(21<span class="govuk-visually-hidden"> nelasīts</span>)' in html

    def test_without_a_count_the_link_is_still_there(self) -> None:
        html = page("lv", "notices/inbox.html", notices=[], unread=None)
        assert re.search(r'href="/notifications"[^>]*>\s*(<strong[^>]*>)?Paziņojumi<', html)

    def test_no_link_for_someone_not_logged_in(self) -> None:
        html = page("lv", "notices/inbox.html", notices=[], profile=None)
        assert 'href="/notifications"' not in html.split("<main", 1)[0]


class TestInbox:
    def test_notices_show_title_body_time_link_and_new_tag(self) -> None:
        view = notice_view(notice(), PUBLIC)
        html = page("lv", "notices/inbox.html", notices=[view], any_unread=True, next_cursor="c2")
        assert "Rezervācija apstiprināta" in html and "Jauns" in html
        assert "Datoru saņemiet līdz 10.12." in html
        assert 'href="/families/reservations/abc"' in html
        assert "2026. gada 6. decembris 12:00" in html  # Riga time
        assert 'action="/notifications/read-all"' in html and "Atzīmēt kā izlasītu" in html
        assert "Vecāki paziņojumi" in html and "cursor=c2" in html

    def test_a_read_notice_has_no_tag_and_no_button(self) -> None:
        view = notice_view(notice(read_at=NOW.isoformat()), PUBLIC)
        html = page("en", "notices/inbox.html", notices=[view], any_unread=False)
        assert ">New<" not in html and "Mark as read" not in html and "Mark all" not in html

    def test_the_empty_page_says_how_to_get_messages_by_email_or_sms(self) -> None:
        html = page("lv", "notices/inbox.html", notices=[], any_unread=False)
        assert "Jums vēl nav paziņojumu." in html and 'href="/settings/contact"' in html

    @pytest.mark.parametrize(
        ("link", "shown"),
        [
            ("/home", "/home"),
            (PUBLIC + "/families/contracts/1", "/families/contracts/1"),
            ("https://elsewhere.example/x", None),
            ("//elsewhere.example/x", None),
            ("javascript:alert(1)", None),
            (None, None),
        ],
    )
    def test_only_links_into_the_portal_are_shown(self, link: Any, shown: str | None) -> None:
        assert local_link(link, PUBLIC) == shown


class TestContact:
    def test_states_of_a_contact_point(self) -> None:
        base = {"channel": "email", "address": "anna@example.lv", "verified": False}
        later = (NOW + dt.timedelta(minutes=10)).isoformat()
        cases = {
            "Verified": {"verified": True},
            "Waiting for the code": {"code_pending": True, "code_expires_at": later},
            "Locked for now": {"code_pending": True, "locked_until": later},
            "Refused: messages to it do not arrive": {"verified": True, "rejected": True},
            "Not verified": {},
        }
        for state, fields in cases.items():
            view = point_view({**base, **fields}, NOW)
            assert view is not None and view["tag"]["text"] == state, state
        assert point_view(None, NOW) is None
        past = {**base, "locked_until": (NOW - dt.timedelta(minutes=1)).isoformat()}
        assert point_view(past, NOW)["locked_until"] is None  # type: ignore[index]

    def test_the_contact_page_shows_both_channels(self) -> None:
        email = point_view(
            {"channel": "email", "address": "anna@example.lv", "verified": True}, NOW
        )
        rows = [("email", "E-mail address", email), ("sms", "Mobile phone number", None)]
        html = page("lv", "notices/contact.html", rows=rows, done=("verified", "email"))
        assert "anna@example.lv" in html and "Apstiprināts" in html and "Nav pievienots" in html
        assert (
            'href="/settings/contact/sms"' in html and "Jūsu e-pasta adrese ir apstiprināta" in html
        )

    def test_the_code_page_uses_the_one_time_code_pattern(self) -> None:
        point = point_view(
            {"channel": "email", "address": "anna@example.lv", "code_pending": True}, NOW
        )
        errors = code_errors(problem(422, "wrong-code", attempts_left=2), "lv")
        html = page("lv", "notices/contact_code.html", channel="email", point=point, errors=errors)
        assert "Mēs nosūtījām kodu uz anna@example.lv." in html
        assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
        assert "Kods nav pareizs. Atlikušie mēģinājumi: 2" in html
        assert 'href="#code"' in html  # the error summary links to the field
        assert "<title>Kļūda:" in html
        assert 'action="/settings/contact/email/resend"' in html

    @pytest.mark.parametrize(
        ("answer", "message"),
        [
            (problem(422, "code-expired"), "The code has expired. Send a new code"),
            (
                problem(429, "contact-point-locked", locked_until="2026-12-06T10:30:00+00:00"),
                "Too many wrong codes. You can try again after %(when)s",
            ),
            (problem(429, "too-many-requests"), "We sent a code a moment ago. Wait a minute"),
            (problem(503, "about:blank"), "We could not send the code just now"),
        ],
    )
    def test_the_services_refusals_land_at_the_code(self, answer: ApiProblem, message: str) -> None:
        errors = code_errors(answer, "en")
        text, params = errors.fields["code"]
        assert text.startswith(message)
        if "when" in params:
            assert params["when"] == "December 6, 2026 12:30"

    @pytest.mark.parametrize("typed", ["123456", " 123 456 ", "123-456"])
    def test_a_code_may_be_typed_with_spaces(self, typed: str) -> None:
        assert CodeForm.model_validate({"code": typed}).code == "123456"

    @pytest.mark.parametrize("typed", ["", "abc", "12"])
    def test_a_code_that_is_not_digits_is_refused(self, typed: str) -> None:
        with pytest.raises(ValueError):
            CodeForm.model_validate({"code": typed})


KINDS = [
    {"kind": "reservation_approved", "audience": "family", "essential": False,
     "enabled": True, "channels": ["email"]},
    {"kind": "contract_ready_to_sign", "audience": "family", "essential": True,
     "enabled": True, "channels": ["email", "sms"]},
    {"kind": "approvals_waiting", "audience": "school", "essential": False,
     "enabled": False, "channels": []},
]  # fmt: skip


class TestPreferences:
    def test_kinds_are_grouped_by_audience_with_essential_ones_always_on(self) -> None:
        html = page(
            "lv",
            "notices/preferences.html",
            language="en",
            groups=groups(KINDS),
            channels={"email": "By e-mail", "sms": "By text message (SMS)"},
        )
        assert html.index("Par jūsu ģimenes datoriem") < html.index("Skolai")
        assert "Rezervācija apstiprināta" in html and "Vienmēr ieslēgts" in html
        assert 'name="contract_ready_to_sign" value="on"' in html  # hidden: always on
        on_boxes = re.findall(r'name="(\w+)" type="checkbox" value="on"', html)
        assert on_boxes == ["reservation_approved", "approvals_waiting"]
        assert re.search(r'value="en"\s+checked', html)

    def test_the_form_becomes_the_services_preferences(self) -> None:
        posted = [
            ("csrf_token", "x"),
            ("language", "en"),
            ("reservation_approved", "sms"),
            ("contract_ready_to_sign", "on"),
            ("contract_ready_to_sign", "email"),
            ("approvals_waiting", "on"),
            ("not_a_kind", "on"),
        ]
        assert chosen(posted, KINDS) == {
            "language": "en",
            "kinds": [
                {"kind": "reservation_approved", "enabled": False, "channels": ["sms"]},
                {"kind": "contract_ready_to_sign", "enabled": True, "channels": ["email"]},
                {"kind": "approvals_waiting", "enabled": True, "channels": []},
            ],
        }

    def test_an_essential_kind_turned_off_is_shown_at_its_field(self) -> None:
        sent = chosen([("reservation_approved", "on")], KINDS)["kinds"]
        refusal = problem(422, "essential-kind", errors=[{"pointer": "/kinds/1/enabled"}])
        errors = preference_errors(refusal, sent)
        assert errors.fields == {"contract_ready_to_sign": (ESSENTIAL, {})}
        named = preference_errors(
            problem(422, "essential-kind", kind="contract_ready_to_sign"), sent
        )
        assert list(named.fields) == ["contract_ready_to_sign"]

    def test_an_unknown_answer_is_shown_on_the_form(self) -> None:
        errors = preference_errors(problem(422, "validation"), [])
        assert isinstance(errors, FormErrors) and list(errors.fields) == ["form"]


class TestWithoutTheNotificationsService:
    """The portal over real HTTP with a notifications service that does not answer."""

    @pytest.fixture
    def silent(self, portal: Portal) -> Iterator[None]:
        kept = portal.settings.notifications_url
        portal.settings.notifications_url = f"http://127.0.0.1:{free_port()}"
        yield
        portal.settings.notifications_url = kept

    async def test_pages_still_show_the_link_without_a_count(
        self, http: httpx.AsyncClient, silent: None
    ) -> None:
        await login_over_http(http, "guardian")
        home = await http.get("/home")
        assert home.status_code == 200
        link = re.search(r'href="/notifications"[^>]*>\s*([^<]*)<', home.text)
        assert link is not None and link[1].strip() == "Paziņojumi"
        assert int(home.headers["content-length"]) == len(home.content)

    async def test_the_notification_pages_say_the_service_is_unavailable(
        self, http: httpx.AsyncClient, silent: None
    ) -> None:
        await login_over_http(http, "guardian")
        for path in ("/notifications", "/settings/contact", "/settings/notifications"):
            answer = await http.get(path)
            assert answer.status_code == 503, path
        switched = await http.get("/language/en", params={"next": "/home"})
        assert switched.status_code == 303  # the language changes all the same
