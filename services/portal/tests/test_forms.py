"""A service's problem+json and a form's own validation become the page's messages."""

from __future__ import annotations

import httpx

from portal_service.i18n import translations
from portal_service.web.api import ApiProblem
from portal_service.web.forms import CHECK_ANSWER, REFUSED, Form, problem_errors
from portal_service.web.templates import environment, error_at, error_summary
from shared_kit.problems import PROBLEM_BASE


class Period(Form):
    start: str
    end: int

    messages = {"end": "Enter the last day of the loan"}


def answer(status: int, body: object, media: str = "application/problem+json") -> httpx.Response:
    return httpx.Response(status, json=body, headers={"content-type": media})


def test_a_problem_keeps_its_short_type_and_field_pointers() -> None:
    problem = ApiProblem.of(
        answer(
            422,
            {
                "type": PROBLEM_BASE + "validation",
                "title": "Invalid request",
                "status": 422,
                "errors": [{"pointer": "/period/end", "detail": "bad", "code": "date"}],
            },
        )
    )
    assert (problem.status, problem.type) == (422, "validation")
    assert [(e.pointer, e.name) for e in problem.errors] == [("/period/end", "end")]


def test_a_body_that_is_not_a_problem_is_still_a_problem() -> None:
    problem = ApiProblem.of(httpx.Response(409, text="<html>"))
    assert (problem.status, problem.type, problem.errors) == (409, "about:blank", [])


def test_field_errors_land_at_their_fields_with_the_forms_messages() -> None:
    body = {"errors": [{"pointer": "/period/end"}, {"pointer": "/child_id"}]}
    problem = ApiProblem.of(answer(422, body))
    errors = problem_errors(problem, Period.messages, fields={"child_id": "child"})
    assert errors.fields == {
        "end": ("Enter the last day of the loan", {}),
        "child": (CHECK_ANSWER, {}),
    }
    assert errors.anchor("child") == "#child"


def test_a_problem_without_fields_lands_where_the_page_says_or_on_the_form() -> None:
    taken = ApiProblem(409, "device-not-available")
    named = problem_errors(taken, {}, by_type={"device-not-available": ("device", "Taken")})
    assert named.fields == {"device": ("Taken", {})}
    unknown = problem_errors(ApiProblem(409, "something-new"), {})
    assert unknown.fields == {"form": (REFUSED, {})}
    assert unknown.anchor("form") is None


def test_a_forms_own_validation_uses_its_messages() -> None:
    errors = Period.errors_of(_validation_error({"start": "x", "end": "soon"}))
    assert errors.fields == {"end": ("Enter the last day of the loan", {})}
    errors = Period.errors_of(_validation_error({}))
    assert list(errors.fields) == ["start", "end"]


def test_the_summary_and_the_field_message_are_translated() -> None:
    errors = problem_errors(ApiProblem(409, "x"), {})
    lv = translations("lv").gettext
    assert error_summary(errors, lv) == [{"text": lv(REFUSED)}]
    assert lv(REFUSED) != REFUSED  # the catalogue has it in Latvian
    assert error_at(errors, "form", lv) == {"text": lv(REFUSED)}
    assert error_at(errors, "other", lv) is None
    html = (
        environment("lv")
        .from_string(
            '{% from "web/components.html" import errorSummary %}{{ errorSummary(errors) }}'
        )
        .render(errors=errors)
    )
    assert "govuk-error-summary" in html and lv("There is a problem") in html


def _validation_error(values: dict[str, str]) -> Exception:
    from pydantic import ValidationError

    try:
        Period.model_validate(values)
    except ValidationError as exc:
        return exc
    raise AssertionError("valid")
