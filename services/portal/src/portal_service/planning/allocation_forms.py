"""The allocation's forms: a new round's parameters (checked before it is created), moving
devices between two schools (an adjustment or a municipality's move), a school's order."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationError, field_validator

from portal_service.i18n import N_
from portal_service.planning.allocation_labels import BANDS, CRITERIA, DEFAULT_RATIO
from portal_service.web.forms import Form, FormErrors
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN

Count = Annotated[int, Field(ge=0, le=10_000_000)]
SIZE_LINE = re.compile(r"^\s*(\d+)\s*[-\u2013]\s*(\d+)?\s*:\s*(\d+(?:[.,]\d+)?)\s*$")
MAX_SIZE_BANDS = 50

ROUND_MESSAGES = {
    "title": N_("Enter the round's title, up to 200 characters"),
    "funding_programme": N_("Enter the funding programme, up to 200 characters"),
    "order_reference": N_("Enter the order reference, up to 100 characters"),
    "devices": N_("Enter the number of devices, a whole number greater than 0"),
    "grade_bands": N_("Select at least one grade band"),
    "target_ratio": N_("Enter pupils per device for each grade band, a number greater than 0"),
    "survey_round_id": N_("Select a survey round, or none"),
    "survey_weight": N_("Enter the survey's weight, a number from 0 to 1"),
    "social_weights": N_("Enter each criterion's weight, a number of 0 or more"),
    "min_eligible_pupils": N_("Enter the minimum of eligible pupils, a whole number of 0 or more"),
    "size_bands": N_(
        "Enter one size band a line, like 20-39: 1.5 (pupils from 20 to 39 weigh 1.5)"
    ),
    "cap_per_school": N_("Enter the most devices a school may get, a whole number, or nothing"),
    "municipalities": N_("Enter municipalities' ATVK codes of 7 digits, separated by spaces"),
    "institutions": N_("Enter schools' registration numbers in VIIS, separated by spaces"),
}
# The API's pointers to the new round's fields (a map's members are its field).
ROUND_FIELDS = {f"/{name}": name for name in ROUND_MESSAGES}


def ratio_field(band: str) -> str:
    """The form field of a band's target ratio."""
    return "ratio_" + band.replace("-", "_")


def weight_field(criterion: str) -> str:
    """The form field of a criterion's social weight."""
    return "weight_" + criterion


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_size_bands(text: str) -> list[dict[str, Any]] | None:
    """`min-max: weight` lines as the API's size bands (None when a line is not one); a band
    without a maximum is open-ended."""
    bands = []
    for line in (x for x in text.splitlines() if x.strip()):
        found = SIZE_LINE.match(line)
        weight = _decimal(found.group(3)) if found else None
        if found is None or weight is None or weight < 0:
            return None
        low, high = int(found.group(1)), found.group(2)
        if high is not None and int(high) < low:
            return None
        bands.append(
            {
                "min_pupils": low,
                "max_pupils": None if high is None else int(high),
                "weight": str(weight),
            }
        )
    return bands if len(bands) <= MAX_SIZE_BANDS else None


def size_band_lines(bands: list[dict[str, Any]] | None) -> str:
    """The API's size bands as the form's lines."""
    lines = []
    for band in bands or []:
        high = band.get("max_pupils")
        lines.append(f"{band['min_pupils']}-{'' if high is None else high}: {band['weight']}")
    return "\n".join(lines)


def _codes(text: str, pattern: str) -> list[str] | None:
    codes = text.replace(",", " ").split()
    return codes if all(re.fullmatch(pattern, c) for c in codes) else None


def round_defaults() -> dict[str, Any]:
    """A new round's form as it starts: every band at the programme's ratio, the survey's
    weight and the criteria at 0."""
    values: dict[str, Any] = {ratio_field(band): str(DEFAULT_RATIO) for band in BANDS}
    values |= {weight_field(c): "0" for c in CRITERIA}
    return values | {
        "grade_bands": list(BANDS),
        "survey_weight": "0",
        "min_eligible_pupils": "0",
        "subtract_devices_held": "yes",
    }


class RoundText(Form):
    """A new round's parameters as typed (lists and maps are read by `round_body`)."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    funding_programme: Annotated[str, Field(min_length=1, max_length=200)]
    order_reference: Annotated[str, Field(min_length=1, max_length=100)]
    devices: Annotated[int, Field(gt=0, le=10_000_000)]
    subtract_devices_held: bool = False
    survey_round_id: str = ""
    min_eligible_pupils: Count = 0
    cap_per_school: Annotated[int, Field(gt=0, le=10_000_000)] | None = None
    messages: ClassVar[dict[str, str]] = ROUND_MESSAGES

    @field_validator("subtract_devices_held", mode="before")
    @classmethod
    def _yes(cls, value: object) -> bool:
        return value in ("yes", True)

    @field_validator("cap_per_school", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value


def _bands_and_ratios(values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    bands = [b for b in values.get("grade_bands") or [] if b in BANDS]
    if not bands:
        errors.add("grade_bands", ROUND_MESSAGES["grade_bands"])
    ratios = {}
    for band in bands:
        ratio = _decimal(str(values.get(ratio_field(band)) or ""))
        if ratio is None or ratio <= 0:
            errors.add(ratio_field(band), ROUND_MESSAGES["target_ratio"])
        else:
            ratios[band] = str(ratio)
    return {"grade_bands": bands, "target_ratio": ratios}


def _weights(values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    survey_weight = _decimal(str(values.get("survey_weight") or "0"))
    if survey_weight is None or not 0 <= survey_weight <= 1:
        errors.add("survey_weight", ROUND_MESSAGES["survey_weight"])
    social = {}
    for criterion in CRITERIA:
        weight = _decimal(str(values.get(weight_field(criterion)) or "0"))
        if weight is None or weight < 0:
            errors.add(weight_field(criterion), ROUND_MESSAGES["social_weights"])
        elif weight > 0:
            social[criterion] = str(weight)
    return {"survey_weight": str(survey_weight or 0), "social_weights": social}


def _filters(values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    body: dict[str, Any] = {}
    sizes = parse_size_bands(str(values.get("size_bands") or ""))
    if sizes is None:
        errors.add("size_bands", ROUND_MESSAGES["size_bands"])
    elif sizes:
        body["size_bands"] = sizes
    for name, pattern in (("municipalities", ATVK_PATTERN), ("institutions", REG_NUMBER_PATTERN)):
        codes = _codes(str(values.get(name) or ""), pattern)
        if codes is None:
            errors.add(name, ROUND_MESSAGES[name])
        elif codes:
            body[name] = codes
    return body


def round_body(values: dict[str, Any]) -> tuple[dict[str, Any] | None, FormErrors]:
    """The new round as the planning API takes it, or None and the form's messages."""
    errors = FormErrors()
    text: RoundText | None = None
    try:
        text = RoundText.model_validate(values)
    except ValidationError as exc:
        errors = RoundText.errors_of(exc)
    body = _bands_and_ratios(values, errors) | _weights(values, errors) | _filters(values, errors)
    if text is None or errors:
        return None, errors
    own = text.model_dump(exclude={"survey_round_id", "cap_per_school"})
    if text.survey_round_id:
        own["survey_round_id"] = text.survey_round_id
    else:
        body["survey_weight"] = "0"
    if text.cap_per_school is not None:
        own["cap_per_school"] = text.cap_per_school
    return own | body, errors


TRANSFER_MESSAGES = {
    "from_institution": N_("Select the school the devices go from"),
    "to_institution": N_("Select another school for the devices to go to"),
    "quantity": N_("Enter how many devices, a whole number greater than 0"),
    "reason": N_("Enter the reason, up to 1000 characters"),
}
TOO_MANY = N_("The school does not have that many devices to give: enter a smaller number")
SAME_SCHOOL = N_("Select another school for the devices to go to")
NOT_IN_ROUND = N_("Select one of the round's schools")
NOT_NOW = N_("The round is not in a state for this step: the page now shows it as it is")


class TransferForm(Form):
    """Devices from one school to another, with the reason (audited)."""

    from_institution: Annotated[str, Field(pattern=REG_NUMBER_PATTERN)]
    to_institution: Annotated[str, Field(pattern=REG_NUMBER_PATTERN)]
    quantity: Annotated[int, Field(gt=0, le=10_000_000)]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]
    messages: ClassVar[dict[str, str]] = TRANSFER_MESSAGES


ORDER_MESSAGES = {"ordered": N_("Enter how many devices are ordered, a whole number of 0 or more")}


class OrderForm(Form):
    """How many devices are ordered for a school."""

    ordered: Count
    messages: ClassVar[dict[str, str]] = ORDER_MESSAGES
