"""All SQL of reservations lives here: `core` for most, `requests` for new requests."""

from reservations_service.repository.core import (
    ACTIVE_STATES,
    LENDABLE_STATUSES,
    LOCK_INSTITUTION,
    LOCK_LEARNER,
    OUT_OF_SERVICE_STATUSES,
    DeviceRepository,
    InstitutionRepository,
    LearnerCriterionRepository,
    Locks,
    Placement,
    PolicyRepository,
    ReservationRepository,
    active_count,
    institution_lock,
    learner_lock,
    waitlist_key,
)
from reservations_service.repository.requests import Facts, Opening, RequestRepository

__all__ = [
    "ACTIVE_STATES",
    "LENDABLE_STATUSES",
    "LOCK_INSTITUTION",
    "LOCK_LEARNER",
    "OUT_OF_SERVICE_STATUSES",
    "DeviceRepository",
    "Facts",
    "InstitutionRepository",
    "LearnerCriterionRepository",
    "Locks",
    "Opening",
    "Placement",
    "PolicyRepository",
    "RequestRepository",
    "ReservationRepository",
    "active_count",
    "institution_lock",
    "learner_lock",
    "waitlist_key",
]
