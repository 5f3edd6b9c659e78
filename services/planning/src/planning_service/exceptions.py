"""Business errors of planning, each with its HTTP status and problem type."""

from shared_kit.problems import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable

__all__ = ["Conflict", "Forbidden", "NotFound", "ServiceUnavailable", "Unprocessable"]


class ViisUnreachable(ServiceUnavailable):
    type, title = "viis-unavailable", "VIIS is unavailable"


class GatewayUnreachable(ServiceUnavailable):
    type, title = "gateway-unavailable", "The gateway cannot tell where the child learns now"


# The survey ---------------------------------------------------------------------------------


class SurveyRoundNotFound(NotFound):
    type, title = "survey-round-not-found", "Unknown survey round"


class AnswerNotFound(NotFound):
    type, title = "answer-not-found", "No answer for this child in the round"


class LearnerNotInRound(NotFound):
    type, title = "learner-not-in-round", "The child is not among the round's pupils"


class RoundNotOpen(Conflict):
    type, title = "survey-round-not-open", "The survey round is not open"


class RoundClosed(Conflict):
    type, title = "survey-round-closed", "The survey round is closed"


class AnswersExist(Conflict):
    type, title = "answers-exist", "The round has answers: it may grow but not shrink"


class AnswersDeleted(Conflict):
    type, title = "answers-deleted", "The round's answers were deleted at the end of retention"


class UnknownInstitutions(Unprocessable):
    type, title = "unknown-institutions", "Schools VIIS does not list for the round"


class CriterionNotAsked(Unprocessable):
    type, title = "criterion-not-asked", "The round does not ask about this criterion"


class SurveyForbidden(Forbidden):
    type, title = "survey-forbidden", "You may not do this in the survey"


class InvalidPeriod(Unprocessable):
    type, title = "invalid-period", "The round closes before it opens"


# The allocation -----------------------------------------------------------------------------


class RoundNotFound(NotFound):
    """No such allocation round, or not one the caller may see."""

    type, title = "round-not-found", "Round not found"


class SchoolNotInRound(NotFound):
    """The school has no line in the round, or is not the caller's."""

    type, title = "school-not-in-round", "School not in the round"


class IllegalRoundState(Conflict):
    """The allocation round's state does not allow this step."""

    type, title = "illegal-round-state", "Not in this state"


class NotEnoughDevices(Conflict):
    """A school would end up with fewer than zero devices."""

    type, title = "not-enough-devices", "Not enough devices"
