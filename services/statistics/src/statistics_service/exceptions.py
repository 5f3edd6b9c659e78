"""Business errors of statistics, each with its HTTP status and problem type."""

from shared_kit.problems import NotFound, ServiceUnavailable, Unprocessable


class InstitutionNotFound(NotFound):
    type, title = "institution-not-found", "Unknown institution"


class MunicipalityNotFound(NotFound):
    type, title = "municipality-not-found", "Unknown municipality"


class InvalidDateRange(Unprocessable):
    type, title = "invalid-date-range", "Invalid date range"


class ViisUnreachable(ServiceUnavailable):
    type, title = "viis-unavailable", "VIIS is unavailable"


class AllocationRoundNotFound(NotFound):
    type, title = "allocation-round-not-found", "Unknown allocation round"
