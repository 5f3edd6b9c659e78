"""Business errors of the notifications service, each with its status and problem type."""

from __future__ import annotations

from shared_kit.problems import Conflict, NotFound


class DeliveryNotFound(NotFound):
    type, title = "delivery-not-found", "Unknown delivery"


class DeliveryNotFailed(Conflict):
    type, title = "delivery-not-failed", "Only a failed delivery can be retried"
