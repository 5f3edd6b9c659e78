"""Business errors of planning, each with its HTTP status and problem type."""

from shared_kit.problems import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)

__all__ = [
    "Conflict",
    "Forbidden",
    "IllegalRoundState",
    "NotEnoughDevices",
    "NotFound",
    "RoundNotFound",
    "SchoolNotInRound",
    "SurveyNotAvailable",
    "UnknownInstitutions",
    "Unprocessable",
    "ViisUnreachable",
]


class RoundNotFound(NotFound):
    """No such round, or not one the caller may see."""

    type, title = "round-not-found", "Round not found"


class SchoolNotInRound(NotFound):
    """The school has no line in the round, or is not the caller's."""

    type, title = "school-not-in-round", "School not in the round"


class IllegalRoundState(Conflict):
    """The round's state does not allow this step."""

    type, title = "illegal-round-state", "Not in this state"


class NotEnoughDevices(Conflict):
    """A school would end up with fewer than zero devices."""

    type, title = "not-enough-devices", "Not enough devices"


class UnknownInstitutions(Unprocessable):
    """The round names schools VIIS does not list."""

    type, title = "unknown-institutions", "Unknown institutions"


class SurveyNotAvailable(Unprocessable):
    """The round's survey results cannot be read."""

    type, title = "survey-not-available", "Survey results not available"


class ViisUnreachable(ServiceUnavailable):
    """VIIS could not be asked; nothing was stored."""

    type, title = "viis-unavailable", "VIIS unavailable"
