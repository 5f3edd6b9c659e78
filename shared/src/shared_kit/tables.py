"""The kit's own tables (outbox, inbox, dead letters, idempotency records).

A service's `models.py` imports this module so that its metadata, and so its migrations,
include them.
"""

from shared_kit.events.consumer import DeadLetter, InboxMessage
from shared_kit.events.outbox import OutboxMessage
from shared_kit.idempotency import IdempotencyRecord

__all__ = ["DeadLetter", "IdempotencyRecord", "InboxMessage", "OutboxMessage"]
