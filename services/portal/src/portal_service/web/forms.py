"""Forms: read into a pydantic model, and the messages a refused form shows.

A form is a pydantic model whose `messages` say, per field, what to tell the person when that
field is wrong (a gettext message id, translated when the page renders). A service's problem
becomes the same messages: each `errors[].pointer` names a field (its last segment, or one the
page maps), and a problem without fields is shown at the field the page names for its type.
Templates show `errors | summary` in the error summary and `errors | error_at("field")` at the
field; `values` keep what the person typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.datastructures import FormData

from portal_service.i18n import N_
from portal_service.web.api import ApiProblem

# Said of a field when the form has no better message for it.
CHECK_ANSWER = N_("Check this answer")
# Said when a service refused the form for a reason the page does not know.
REFUSED = N_("This could not be done. Check your answers and try again.")


@dataclass
class FormErrors:
    """Field → message id (with its parameters), in the order the fields are on the page."""

    fields: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # The id of each field's input (the summary's link target), when it is not the field name.
    anchors: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def add(self, name: str, message: str, **params: Any) -> FormErrors:
        """One more field's message (the first one a field gets stays)."""
        self.fields.setdefault(name, (message, params))
        return self

    def anchor(self, name: str) -> str | None:
        """The link target of a field's message in the summary (none for the whole form)."""
        return None if name == "form" else "#" + self.anchors.get(name, name)


class Form(BaseModel):
    """Base of the portal's forms: strings stripped; the messages to show per field."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    messages: ClassVar[dict[str, str]] = {}

    @classmethod
    def errors_of(cls, exc: ValidationError) -> FormErrors:
        """Messages of a validation error, one per field."""
        errors = FormErrors()
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.add(name, cls.messages.get(name, CHECK_ANSWER))
        return errors


async def form_values(request: Request) -> dict[str, str]:
    """The posted form's text fields (the CSRF token and form key left out)."""
    form: FormData = await request.form()
    skip = {"csrf_token", "form_key"}
    return {k: v for k, v in form.multi_items() if isinstance(v, str) and k not in skip}


F = TypeVar("F", bound=Form)


async def read_form(request: Request, model: type[F]) -> tuple[F | None, FormErrors]:
    """The posted form as the model, or None and its messages."""
    values = await form_values(request)
    try:
        return model.model_validate(values), FormErrors()
    except ValidationError as exc:
        return None, model.errors_of(exc)


async def posted_form_key(request: Request) -> str | None:
    """The idempotency key the form was rendered with (see `api.new_form_key`)."""
    value = (await request.form()).get("form_key")
    return value if isinstance(value, str) and 8 <= len(value) <= 64 else None


def problem_errors(
    problem: ApiProblem,
    messages: Mapping[str, str],
    *,
    fields: Mapping[str, str] | None = None,
    by_type: Mapping[str, tuple[str, str]] | None = None,
) -> FormErrors:
    """A service's problem as the form's messages.

    `fields` maps a pointer (`/period/end`) or its last segment to the form's field; `messages`
    gives each field's message; `by_type` gives, for a problem type without field errors, the
    field to show it at and the message (`{"not-available": ("device", N_("…"))}`).
    """
    fields = fields or {}
    errors = FormErrors()
    for error in problem.errors:
        name = fields.get(error.pointer) or fields.get(error.name) or error.name
        errors.add(name, messages.get(name, CHECK_ANSWER))
    if not errors:
        name, message = (by_type or {}).get(problem.type, ("form", REFUSED))
        errors.add(name, message)
    return errors
