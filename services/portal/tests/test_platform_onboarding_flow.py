"""The onboarding flow without the services: its steps' order, its forms, and its pages
rendered in both languages without a personal code."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from portal_service.i18n import Lang
from portal_service.platform.onboarding_create import STEP_NAMES
from portal_service.platform.onboarding_flow import (
    AdminForm,
    OtherMunicipalityForm,
    back_of,
    failed,
    missing_step,
    read_sla,
)
from portal_service.web.forms import FormErrors
from portal_service.web.gateway import Profile
from portal_service.web.templates import render

ADMIN = Profile(id="p-9", given_name="Gatis", family_name="Lapiņš", roles=["platform_admin"])
DRAFT: dict[str, Any] = {
    "flow_key": "k" * 20,
    "choice": "0420200",
    "code": "0420200",
    "name": "Cēsu novads",
    "schools_seen": True,
    "reservations": {"auto_approve": "no", "max_period_days": 200, "pickup_days": 5},
    "sla": {"critical": [4, 48], "high": [24, 120], "normal": [48, 240], "low": [120, 480]},
    "lender": {
        "name": "Cēsu novada pašvaldība",
        "registration_number": "90000031048",
        "address": "Bērzaines iela 5, Cēsis",
        "representative": "Vadītājs",
    },
    "personal_code": "010177-10004",
    "admin_name": "Sarmīte Ābele",
}
SLA_FORM = {
    "critical_response": "4",
    "critical_resolution": "48",
    "high_response": "24",
    "high_resolution": "120",
    "normal_response": "48",
    "normal_resolution": "240",
    "low_response": "120",
    "low_resolution": "480",
}


def page(lang: Lang, name: str, **context: Any) -> str:
    base = {
        "lang": lang,
        "other_lang": "en" if lang == "lv" else "lv",
        "lang_href": "/language/en",
        "csrf_token": "csrf-1",
        "profile": ADMIN,
        "nonce": "n",
        "path": "/platform/municipalities/new/check",
        "error_title": False,
        "errors": FormErrors(),
    }
    return render(lang, name, {**base, **context})


class TestSteps:
    def test_a_skipped_step_is_asked_first(self) -> None:
        assert missing_step(DRAFT, "check") is None
        partial = {k: v for k, v in DRAFT.items() if k not in ("sla", "admin_name")}
        assert missing_step(partial, "check") == "sla"
        assert missing_step(partial, "sla") is None

    def test_back_links_and_changes_return_to_the_check_page(self) -> None:
        assert back_of(DRAFT, "municipality") == "/platform/municipalities"
        assert back_of(DRAFT, "lender") == "/platform/municipalities/new/sla"
        assert back_of({**DRAFT, "checking": True}, "lender").endswith("/new/check")

    def test_failed_only_when_a_step_failed(self) -> None:
        assert not failed(DRAFT)
        assert failed({"outcomes": [{"step": "schools", "state": "failed"}]})


class TestForms:
    def test_sla_targets_in_hours(self) -> None:
        targets, errors = read_sla(SLA_FORM)
        assert not errors and targets["critical"] == [4, 48]
        targets, errors = read_sla({**SLA_FORM, "low_resolution": "2", "high_response": "x"})
        assert set(errors.fields) == {"low_resolution", "high_response"}

    @pytest.mark.parametrize("code", ["0101771000", "abc", "010177-1000"])
    def test_a_personal_code_must_look_like_one(self, code: str) -> None:
        with pytest.raises(ValidationError):
            AdminForm.model_validate({"personal_code": code})
        assert AdminForm.model_validate({"personal_code": "01017710004"})

    def test_another_municipality_needs_an_atvk_code_and_a_name(self) -> None:
        with pytest.raises(ValidationError):
            OtherMunicipalityForm.model_validate({"code": "42", "name": "X"})
        assert OtherMunicipalityForm.model_validate({"code": "0420200", "name": "Cēsis"})


class TestPages:
    @pytest.mark.parametrize("lang", ["lv", "en"])
    def test_check_page_names_the_person_never_the_code(self, lang: Lang) -> None:
        html = page(
            lang,
            "platform/onboarding/check.html",
            draft=DRAFT,
            severities=[
                ("critical", "Critical"),
                ("high", "High"),
                ("normal", "Normal"),
                ("low", "Low"),
            ],
            outcomes=[],
            step_names=STEP_NAMES,
        )
        assert "Sarmīte Ābele" in html and "010177" not in html
        assert html.count('href="/platform/municipalities/new/') >= 6

    @pytest.mark.parametrize("lang", ["lv", "en"])
    def test_the_code_field_is_always_empty(self, lang: Lang) -> None:
        errors = FormErrors().add("personal_code", "VIIS knows no person with this personal code")
        html = page(lang, "platform/onboarding/admin.html", draft=DRAFT, back="/x", errors=errors)
        assert 'autocomplete="off"' in html and "010177" not in html
        assert 'name="personal_code"' in html
