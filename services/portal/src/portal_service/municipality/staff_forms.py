"""The staff pages' forms, the gateway's words for roles as a person reads them, and the
gateway's refusals as the messages a form shows. A personal code is read from the form once
and never rendered back: every page the form comes back on asks for it again."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import field_validator, model_validator

from portal_service.i18n import N_
from portal_service.web.api import ApiProblem
from portal_service.web.forms import REFUSED, Form, FormErrors
from shared_kit.fields import PERSONAL_CODE

TECHNICIAN = "technician"
SCHOOL_ADMIN = "institution_admin"
# The roles a municipality administrator grants here, in the form's order.
GRANTABLE: dict[str, str] = {
    SCHOOL_ADMIN: N_("School administrator"),
    TECHNICIAN: N_("Technician"),
}
ROLE_HINTS: dict[str, str] = {
    SCHOOL_ADMIN: N_("Approves the school's requests, hands devices out and takes them back."),
    TECHNICIAN: N_("Handles the municipality's problem reports and repairs."),
}
ROLES: dict[str, str] = {**GRANTABLE, "municipality_admin": N_("Municipality administrator")}
CODE_AGAIN = N_(
    "Enter the personal code again: for the person's privacy it is not kept on this page"
)
CODE_MESSAGE = N_("Enter a personal code in the correct format, like 123456-12345")
NOBODY = N_(
    "VIIS, the education register, has nobody with this personal code. Check it and enter it again"
)
HOLDS_IT = N_("This person already has this role there. Enter another personal code")
NOT_YOURS = N_("You cannot grant this role there. Choose a school of your municipality")


class GrantForm(Form):
    """Grant a role: whose personal code, which role, which school (for a school admin)."""

    personal_code: str
    role: Literal["institution_admin", "technician"]
    school: str | None = None
    messages = {
        "personal_code": CODE_MESSAGE,
        "role": N_("Choose the role to grant"),
        "school": N_("Choose the school"),
    }

    @field_validator("personal_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if PERSONAL_CODE.fullmatch(value) is None:
            raise ValueError("not a personal code")
        return value

    @model_validator(mode="after")
    def _school(self) -> GrantForm:
        if self.role == SCHOOL_ADMIN and not self.school:
            raise ValueError("a school admin needs a school")  # reported at `school`
        if self.role != SCHOOL_ADMIN:
            self.school = None
        return self


class ConfirmForm(Form):
    """The checked answers: the person found (by id, never the code), role and school."""

    person_id: uuid.UUID
    role: Literal["institution_admin", "technician"]
    school: str | None = None


def grant_errors(values: dict[str, str], errors: FormErrors) -> FormErrors:
    """The refused form's messages, with the code to re-type (it is never shown back)."""
    result = FormErrors()
    for name, (message, params) in errors.fields.items():
        if name == "form":  # the model's own check: the school was missing
            name, message = "school", GrantForm.messages["school"]
        result.add(name, message, **params)
    if values.get("role") == SCHOOL_ADMIN and not values.get("school"):
        result.add("school", GrantForm.messages["school"])
    if "personal_code" not in result.fields:
        result.add("personal_code", CODE_AGAIN)
    return result


def refusal_errors(problem: ApiProblem) -> FormErrors:
    """The gateway's refusal of a lookup or a grant, at the field it is about."""
    if problem.type == "person-not-found":
        return FormErrors().add("personal_code", NOBODY)
    if problem.type in ("invalid-personal-code", "validation"):
        return FormErrors().add("personal_code", CODE_MESSAGE)
    errors = FormErrors()
    if problem.type == "duplicate-grant":
        errors.add("personal_code", HOLDS_IT)
    elif problem.type in ("admin-forbidden", "invalid-grant-target"):
        errors.add("school", NOT_YOURS)
    else:
        errors.add("form", REFUSED)
    return errors.add("personal_code", CODE_AGAIN)


def moment(value: Any) -> dt.datetime | None:
    """A service's timestamp as a datetime (None when missing)."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def grant_view(grant: dict[str, Any], schools: dict[str, str]) -> dict[str, Any]:
    """A grant as the page shows it: the holder's name, the role and school in words."""
    school = grant.get("institution_number")
    return {
        "id": grant["id"],
        "name": grant.get("person_name") or "",
        "role": ROLES.get(str(grant.get("role")), str(grant.get("role"))),
        "role_code": grant.get("role"),
        "school": schools.get(school, school) if school else None,
        "granted_at": moment(grant.get("granted_at")),
        "granted_by": grant.get("granted_by_name"),
        "revocable": grant.get("role") in GRANTABLE and not grant.get("revoked_at"),
    }
