"""Business errors of the contracts service, each with its HTTP status and problem type."""

from __future__ import annotations

from shared_kit.problems import Conflict, Forbidden, NotFound, Unprocessable


class ContractNotFound(NotFound):
    type = "contract-not-found"


class DocumentNotFound(NotFound):
    type = "document-not-found"


class LenderNotFound(NotFound):
    type = "lender-not-found"


class PhotoNotFound(NotFound):
    type = "photo-not-found"


class NotTheBorrower(Forbidden):
    type, title = "not-the-borrower", "Only the borrower may sign"


class NotTheLender(Forbidden):
    type, title = "not-the-lender", "Only the lender's administrator may do this"


class LoginTooWeak(Forbidden):
    type, title = "login-too-weak", "A stronger login is needed to sign"


class LoginTooOld(Forbidden):
    type, title = "login-too-old", "A recent login is needed to sign"


class IllegalState(Conflict):
    type, title = "illegal-state", "Not possible in the contract's current state"


class AlreadySigned(Conflict):
    type, title = "already-signed", "Already signed"


class BorrowerHasNotSigned(Conflict):
    type, title = "borrower-has-not-signed", "The borrower has not signed yet"


class DeviceOutOfService(Conflict):
    type, title = "device-out-of-service", "The device cannot be handed over now"


class ContractNotReady(Conflict):
    type, title = "contract-not-ready", "The contract is not ready for signing"


class SupersededVersion(Conflict):
    type, title = "superseded-version", "A newer version of the contract exists"


class TextUnavailable(Conflict):
    type, title = "text-unavailable", "This version's text is only in its PDF"


class ConsentOutdated(Conflict):
    type, title = "consent-outdated", "The consent text has changed"


class UnknownDocument(Unprocessable):
    type, title = "unknown-document", "No such version of this contract"


class InvalidPdf(Unprocessable):
    type, title = "invalid-pdf", "Not a PDF document"


class PersonNotFound(NotFound):
    """The gateway knows no such person (a consumer dead-letters the event)."""

    type = "person-not-found"


class BorrowerUnknown(Unprocessable):
    """A reservation without a person who could borrow (dead-lettered, not retried)."""

    type, title = "borrower-unknown", "The reservation names no borrower"


class DeviceUnknown(TimeoutError):
    """The device of a reservation is not in the read model yet.

    A TimeoutError (an OSError), so the kit's runner keeps retrying: the inventory's event is
    on its way through the separate inventory consumer (at a fresh start both topics are
    replayed side by side)."""


class GatewayUnavailable(ConnectionError):
    """The gateway cannot be reached: infrastructure, so consumers retry until it is back."""
