"""Business errors of the notifications service, each with its status and problem type."""

from __future__ import annotations

from shared_kit.problems import (
    Conflict,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unprocessable,
)

# Contact points and their one-time codes ---------------------------------------------------


class ContactPointNotFound(NotFound):
    type, title = "contact-point-not-found", "You have no contact point of this channel"


class InvalidAddress(Unprocessable):
    type, title = "invalid-address", "The address cannot be used"


class AddressRefused(Unprocessable):
    type, title = "address-refused", "The provider refused this address"


class CodeNotSent(ServiceUnavailable):
    type, title = "code-not-sent", "The code could not be sent now; try again"


class WrongCode(Unprocessable):
    type, title = "wrong-code", "The code is not the one we sent"


class CodeExpired(Unprocessable):
    type, title = "code-expired", "The code has expired; ask for a new one"


class NoCodePending(Conflict):
    type, title = "no-code-pending", "No code is waiting for this contact point"


class AlreadyVerified(Conflict):
    type, title = "already-verified", "This address is already verified"


class ContactPointLocked(TooManyRequests):
    type, title = "contact-point-locked", "Too many wrong codes; wait until the lock ends"


class TooSoon(TooManyRequests):
    type, title = "too-soon", "A code was sent a moment ago; wait before asking again"


class TooManyCodes(TooManyRequests):
    type, title = "too-many-codes", "Too many codes were sent to you this hour; wait a while"


# Preferences -------------------------------------------------------------------------------


class InvalidPreferences(Unprocessable):
    type, title = "invalid-preferences", "Unknown kind or channel"


class EssentialKind(Unprocessable):
    type, title = "essential-kind", "This kind cannot be turned off"


# Notices ------------------------------------------------------------------------------------


class NoticeNotFound(NotFound):
    type, title = "notice-not-found", "No such notice"


# Deliveries ---------------------------------------------------------------------------------


class DeliveryNotFound(NotFound):
    type, title = "delivery-not-found", "Unknown delivery"


class DeliveryNotFailed(Conflict):
    type, title = "delivery-not-failed", "Only a failed delivery can be retried"
