"""Statistics tables: the projection (per-aggregate state and counters), the reference data from
VIIS (institutions, pupils), and the daily snapshots behind the VIIS feed.

The projection is what `statistics-rebuild` recreates from the topics:
- one *state* table per aggregate kind (device, reservation, contract, ticket) keeps, for each
  aggregate, the order key of the last event applied (`version` when the producer sends one,
  else the event's `time` and `id`) and exactly the attributes it contributed to the counters;
- *counter* tables hold the aggregates the API reads (`n` and sums per key). Applying an event
  subtracts the aggregate's old contribution and adds the new one, so counters stay exact under
  duplicates and any delivery order; no request counts over the 250,000 devices.
`institution_number` is `''` in counters for a device assigned to no institution.

`institution_snapshot` holds the VIIS feed: its `seq` (an identity, allocated under an advisory
lock so that commit order equals `seq` order) is the feed's cursor. A day's record is
provisional while the day lasts (replaced by a new row when the figures change), then final
and never changed.

`allocation_round` and `allocation_line` hold planning's published allocations (see
`models.allocation`); the rebuild recreates them with the projection.
"""

from statistics_service.models.allocation import ALLOCATION_TABLES, AllocationLine, AllocationRound
from statistics_service.models.base import Base, OrderKey, migration_metadata
from statistics_service.models.projection import (
    COUNTER_TABLES,
    PROJECTION_TABLES,
    STATE_TABLES,
    ContractState,
    DeviceBandCount,
    DeviceCount,
    DeviceOrderCount,
    DeviceState,
    DeviceStatusChange,
    DeviceUsage,
    DeviceUsageCount,
    DeviceWarrantyCount,
    LoanCount,
    LoanCriterionCount,
    LoanDayCount,
    ProjectionEpoch,
    ReservationCount,
    ReservationState,
    TicketCount,
    TicketState,
)
from statistics_service.models.reference import (
    Institution,
    InstitutionSnapshot,
    PupilCount,
    SnapshotBand,
)

__all__ = [
    "ALLOCATION_TABLES",
    "COUNTER_TABLES",
    "PROJECTION_TABLES",
    "STATE_TABLES",
    "AllocationLine",
    "AllocationRound",
    "Base",
    "ContractState",
    "DeviceBandCount",
    "DeviceCount",
    "DeviceOrderCount",
    "DeviceState",
    "DeviceStatusChange",
    "DeviceUsage",
    "DeviceUsageCount",
    "DeviceWarrantyCount",
    "Institution",
    "InstitutionSnapshot",
    "LoanCount",
    "LoanCriterionCount",
    "LoanDayCount",
    "OrderKey",
    "ProjectionEpoch",
    "PupilCount",
    "ReservationCount",
    "ReservationState",
    "SnapshotBand",
    "TicketCount",
    "TicketState",
    "migration_metadata",
]
