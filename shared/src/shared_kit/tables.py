"""The kit's own tables (outbox, inbox, dead letters, idempotency records).

A service on the kit's `Base` imports this module so that its metadata, and so its
migrations, include them; a service with a declarative base of its own passes its metadata to
`with_kit_tables` for its migrations.
"""

from sqlalchemy import MetaData

from shared_kit.db import NAMING_CONVENTION
from shared_kit.events.consumer import DeadLetter, InboxMessage
from shared_kit.events.outbox import OutboxMessage
from shared_kit.idempotency import IdempotencyRecord

__all__ = [
    "DeadLetter",
    "IdempotencyRecord",
    "InboxMessage",
    "OutboxMessage",
    "with_kit_tables",
]
KIT_TABLES = (DeadLetter, IdempotencyRecord, InboxMessage, OutboxMessage)


def with_kit_tables(service: MetaData) -> MetaData:
    """A service's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    target = MetaData(naming_convention=NAMING_CONVENTION)
    for model in KIT_TABLES:
        model.__table__.to_metadata(target)
    for table in service.sorted_tables:
        table.to_metadata(target)
    return target
