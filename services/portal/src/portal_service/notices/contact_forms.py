"""The contact pages' forms, a contact point's state as the pages show it, and the
notifications service's answers about codes as the messages a form shows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator

from portal_service.i18n import N_, Lang, format_when
from portal_service.web.api import ApiProblem
from portal_service.web.forms import Form, FormErrors

ADDRESS_MESSAGES = {
    "email": N_("Enter an e-mail address in the correct format, like name@example.com"),
    "sms": N_("Enter a mobile phone number, like +371 20000000"),
}
WRONG_CODE = N_("The code is not right. Attempts left: %(left)s")
WRONG_CODE_NO_COUNT = N_("The code is not right. Check it and try again")
CODE_EXPIRED = N_("The code has expired. Send a new code")
LOCKED = N_("Too many wrong codes. You can try again after %(when)s")
LOCKED_NOW = N_("Too many wrong codes. Try again later")
TOO_SOON = N_("We sent a code a moment ago. Wait a minute before asking for another one")
NOT_SENT = N_("We could not send the code just now. Try again in a few minutes")
NO_CODE = N_("There is no code waiting for this address. Send a new code")
ADDRESS_REFUSED = N_("This address cannot be used. Check it or enter another one")


class AddressForm(Form):
    """A new e-mail address or mobile number (the service checks its form)."""

    address: Annotated[str, Field(min_length=3, max_length=254)]
    messages: ClassVar[dict[str, str]] = {"address": ADDRESS_MESSAGES["email"]}


class CodeForm(Form):
    """The one-time code as typed (spaces and dashes allowed, as people copy it)."""

    code: Annotated[str, Field(pattern=r"^[0-9]{4,10}$")]
    messages: ClassVar[dict[str, str]] = {
        "code": N_("Enter the code from the message, for example 123456"),
    }

    @field_validator("code", mode="before")
    @classmethod
    def _digits_only(cls, value: Any) -> Any:
        return "".join(ch for ch in value if ch not in " -") if isinstance(value, str) else value


def _moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def point_view(point: dict[str, Any] | None, now: dt.datetime) -> dict[str, Any] | None:
    """A contact point with its state for the page: tag text and colour, what can be done."""
    if point is None:
        return None
    locked_until = _moment(point.get("locked_until"))
    locked = locked_until is not None and locked_until > now
    expires = _moment(point.get("code_expires_at"))
    pending = bool(point.get("code_pending")) and not locked
    if point.get("rejected"):
        state, colour = N_("Refused: messages to it do not arrive"), "govuk-tag--red"
    elif locked:
        state, colour = N_("Locked for now"), "govuk-tag--orange"
    elif point.get("verified"):
        state, colour = N_("Verified"), "govuk-tag--green"
    elif pending:
        state, colour = N_("Waiting for the code"), "govuk-tag--yellow"
    else:
        state, colour = N_("Not verified"), "govuk-tag--grey"
    return {
        "address": point.get("address") or "",
        "verified": bool(point.get("verified")),
        "verified_at": _moment(point.get("verified_at")),
        "pending": pending,
        "code_expires_at": expires,
        "locked_until": locked_until if locked else None,
        "rejected": bool(point.get("rejected")),
        "tag": {"text": state, "classes": colour},
    }


def code_errors(problem: ApiProblem, lang: Lang) -> FormErrors:
    """The service's refusal of a code (or of sending one) as the code field's message."""
    body, kind = problem.body, problem.type
    if kind == "wrong-code":
        left = body.get("attempts_left")
        if isinstance(left, int):
            return FormErrors().add("code", WRONG_CODE, left=left)
        return FormErrors().add("code", WRONG_CODE_NO_COUNT)
    if kind == "code-expired":
        return FormErrors().add("code", CODE_EXPIRED)
    if kind == "contact-point-locked" or "locked" in kind:
        until = _moment(body.get("locked_until"))
        if until is None:
            return FormErrors().add("code", LOCKED_NOW)
        return FormErrors().add("code", LOCKED, when=format_when(until, lang))
    if problem.status == 429:
        return FormErrors().add("code", TOO_SOON)
    if problem.status == 503:
        return FormErrors().add("code", NOT_SENT)
    if problem.status in (404, 409):
        return FormErrors().add("code", NO_CODE)
    return FormErrors().add("code", CodeForm.messages["code"])


def address_errors(problem: ApiProblem, channel: str) -> FormErrors:
    """The service's refusal of an address as the address field's message."""
    if problem.status == 503:
        return FormErrors().add("address", NOT_SENT)
    if problem.status == 429:
        return FormErrors().add("address", TOO_SOON)
    if problem.type == "address-refused" or problem.status != 422:
        return FormErrors().add("address", ADDRESS_REFUSED)
    return FormErrors().add("address", ADDRESS_MESSAGES[channel])
