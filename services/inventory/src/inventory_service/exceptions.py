"""Business errors of the inventory, each with its HTTP status and problem type."""

from shared_kit.problems import (
    Conflict,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    Unprocessable,
)


class MunicipalityNotFound(NotFound):
    type = "municipality-not-found"


class InstitutionNotFound(NotFound):
    type = "institution-not-found"


class CatalogueItemNotFound(NotFound):
    type = "catalogue-item-not-found"


class DeviceNotFound(NotFound):
    type = "device-not-found"


class ImportNotFound(NotFound):
    type = "import-not-found"


class DuplicateCode(Conflict):
    type, title = "duplicate", "Already exists"


class IllegalTransition(Conflict):
    type, title = "illegal-transition", "Illegal status transition"


class InvalidImport(Unprocessable):
    type, title = "invalid-import", "Invalid import file"


class ImportRejected(Unprocessable):
    type, title = "import-rejected", "Import rejected"


class InstitutionOutsideMunicipality(Unprocessable):
    type, title = "institution-outside-municipality", "Institution of another municipality"


class ExportTooLarge(ProblemError):
    status, type, title = 400, "export-too-large", "Too many devices to export"


class TooLarge(ProblemError):
    status, type, title = 413, "payload-too-large", "File too large"


class UnsupportedType(ProblemError):
    status, type, title = 415, "unsupported-media-type", "Not a CSV file"


class ViisUnreachable(ServiceUnavailable):
    type, title = "viis-unavailable", "VIIS is unavailable"
