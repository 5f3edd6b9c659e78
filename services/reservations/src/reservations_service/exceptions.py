"""Business errors of reservations, each with its HTTP status and problem type."""

from shared_kit.problems import Conflict, Forbidden, NotFound, Unprocessable


class ReservationNotFound(NotFound):
    type = "reservation-not-found"


class InstitutionNotFound(NotFound):
    type, title = "institution-not-found", "Unknown institution"


class DeviceNotFound(NotFound):
    type, title = "device-not-found", "Unknown device"


class NotYourLearner(Forbidden):
    type, title = "not-your-learner", "Not your child"


class CriterionSourceForbidden(Forbidden):
    type, title = "criterion-source-forbidden", "You may not attest this source"


class IllegalTransition(Conflict):
    type, title = "illegal-transition", "Illegal state transition"


class DeviceTaken(Conflict):
    type, title = "device-taken", "Device already allocated for that period"


class NoDeviceFree(Conflict):
    type, title = "no-device-free", "No matching device is free"


class DeviceUnavailable(Conflict):
    type, title = "device-unavailable", "Device not lendable"


class ActiveLimitReached(Conflict):
    type, title = "active-limit-reached", "Too many active reservations"


class InvalidPeriod(Unprocessable):
    type, title = "invalid-period", "Invalid period"


class PeriodInPast(Unprocessable):
    type, title = "period-in-past", "Period in the past"


class PeriodTooLong(Unprocessable):
    type, title = "period-too-long", "Period longer than the policy allows"


class DeviceMismatch(Unprocessable):
    type, title = "device-mismatch", "Device does not match the request"


class DeviceNotAtInstitution(Unprocessable):
    type, title = "device-not-at-institution", "Device of another institution"


class BeneficiaryForbidden(Forbidden):
    type, title = "beneficiary-forbidden", "You may not reserve for this beneficiary"
