"""The VIIS client, which lives in the kit (`shared_kit.viis`) so statistics uses the same code.

Re-exported here under its old name for the gateway's callers and tests.
"""

from shared_kit.viis import (
    INSTITUTION_NOT_FOUND,
    PERSON_NOT_FOUND,
    GradeCount,
    GuardedLearner,
    HttpViisDirectory,
    InstitutionList,
    InstitutionPupils,
    LearnerEnrolment,
    StaffPosition,
    StaffRole,
    UnknownInstitution,
    ViisAuthError,
    ViisDirectory,
    ViisError,
    ViisInstitution,
    ViisPerson,
    ViisPersonRegister,
    ViisProtocolError,
    ViisSchoolRegister,
    ViisUnavailable,
    check_registration_number,
    normalise_personal_code,
)

__all__ = [
    "INSTITUTION_NOT_FOUND",
    "PERSON_NOT_FOUND",
    "GradeCount",
    "GuardedLearner",
    "HttpViisDirectory",
    "InstitutionList",
    "InstitutionPupils",
    "LearnerEnrolment",
    "StaffPosition",
    "StaffRole",
    "UnknownInstitution",
    "ViisAuthError",
    "ViisDirectory",
    "ViisError",
    "ViisInstitution",
    "ViisPerson",
    "ViisPersonRegister",
    "ViisProtocolError",
    "ViisSchoolRegister",
    "ViisUnavailable",
    "check_registration_number",
    "normalise_personal_code",
]
