"""Business errors of tickets, each with its HTTP status and problem type."""

from shared_kit.problems import Conflict, Forbidden, NotFound, Unprocessable


class TicketNotFound(NotFound):
    type = "ticket-not-found"


class DeviceNotFound(NotFound):
    type, title = "device-not-found", "Unknown device"


class PhotoNotFound(NotFound):
    type = "photo-not-found"


class ClaimNotFound(NotFound):
    type = "insurance-claim-not-found"


class NoRelationToDevice(Forbidden):
    type, title = "no-relation-to-device", "You have no relation to this device"


class InternalCommentsForbidden(Forbidden):
    type, title = "internal-comments-forbidden", "Internal comments are for support staff"


class ActionForbidden(Forbidden):
    type, title = "action-forbidden", "You may not do this with the ticket"


class IllegalTransition(Conflict):
    type, title = "illegal-transition", "Illegal state transition"


class AmbiguousAssetTag(Conflict):
    type, title = "ambiguous-asset-tag", "The asset tag names several devices"


class NotApplicable(Conflict):
    type, title = "not-applicable", "Not applicable to this ticket"


class AlreadyDone(Conflict):
    type, title = "already-done", "Already done for this ticket"


class TicketClosed(Conflict):
    type, title = "ticket-closed", "The ticket is closed"


class DuplicateClaim(Conflict):
    type, title = "duplicate-insurance-claim", "This insurer's claim number is already recorded"


class NoLearner(Unprocessable):
    type, title = "no-learner", "No learner is known for this device"
