"""Events statistics publishes: each daily institution snapshot, the VIIS feed's record.

The payload is the feed record itself (`InstitutionSnapshotRecord`, schema version 1.2.0),
keyed by the institution's registration number; its `sequence` is the record's position in the
feed. Every record of the feed is published, today's provisional ones too (`provisional`); the
one with the greatest `sequence` per day and institution is the current one, and a record with
`provisional: false` is the day's final one. It carries no personal data: loans by social
criterion have small counts suppressed.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.events import CloudEvent, add_events
from shared_kit.observability import correlation_id
from statistics_service.schemas import InstitutionSnapshotRecord

SOURCE = "/datori/statistics"
INSTITUTION_SNAPSHOT = "lv.datori.statistics.institution_snapshot.v1"

PAYLOADS: dict[str, type[BaseModel]] = {INSTITUTION_SNAPSHOT: InstitutionSnapshotRecord}


def snapshot_event(record: InstitutionSnapshotRecord) -> CloudEvent:
    """A CloudEvent carrying one institution snapshot."""
    return CloudEvent(
        type=INSTITUTION_SNAPSHOT,
        source=SOURCE,
        subject=record.institution_registration_number,
        data=record.model_dump(mode="json"),
        time=record.taken_at,
        municipality=record.municipality_code,
        correlationid=correlation_id.get(),
    )


async def publish_snapshots(
    session: AsyncSession, records: list[InstitutionSnapshotRecord]
) -> None:
    """Queue the snapshot events in the outbox of the caller's transaction."""
    await add_events(session, [snapshot_event(r) for r in records])
