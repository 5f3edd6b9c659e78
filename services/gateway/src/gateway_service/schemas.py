"""Request and response models of the gateway API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from gateway_service.models import GrantedRole, KeyState
from shared_kit.fields import AtvkCode, RegNumber
from shared_kit.schemas import ReadModel, Strict

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Scope = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$")]


# Keys ---------------------------------------------------------------------------------------


class SigningKeyRead(ReadModel):
    kid: str
    alg: str
    state: KeyState
    created_at: dt.datetime
    activated_at: dt.datetime | None
    retired_at: dt.datetime | None
    publish_until: dt.datetime | None


class JWKSet(BaseModel):
    keys: list[dict[str, Any]]


# Machine clients ----------------------------------------------------------------------------


class ClientCreate(Strict):
    name: Text
    municipality_code: AtvkCode | None = Field(
        None, description="ATVK code the client acts for; none for national systems (VIIS)"
    )
    scopes: list[Scope] = Field(min_length=1, max_length=30, examples=[["inventory:read"]])


class ClientRead(ReadModel):
    client_id: str
    name: str
    municipality_code: str | None
    scopes: list[str]
    active: bool
    created_by: str
    created_at: dt.datetime
    secret_rotated_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ScopeRead(BaseModel):
    """A scope a client can be given, and what it allows."""

    scope: str
    description: str


class ClientWithSecret(ClientRead):
    client_secret: str = Field(description="Shown only this once; store it safely")


# People and role grants ---------------------------------------------------------------------


class GrantTarget(Strict):
    """A role and where it applies."""

    role: GrantedRole
    municipality_code: AtvkCode | None = Field(
        None, description="For municipality_admin and technician"
    )
    institution_number: RegNumber | None = Field(None, description="For institution_admin")


class GrantCreate(GrantTarget):
    person_id: uuid.UUID


PersonalCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class GrantByCode(GrantTarget):
    """A role for a person named by personal code (found in VIIS; need not have logged in)."""

    personal_code: PersonalCode


class GrantRead(ReadModel):
    id: uuid.UUID
    person_id: uuid.UUID
    role: GrantedRole
    municipality_code: str | None
    institution_number: str | None
    granted_by: str
    granted_at: dt.datetime
    revoked_by: str | None
    revoked_at: dt.datetime | None
    person_name: str | None = Field(None, description="The holder's name, when known")
    granted_by_name: str | None = Field(None, description="The granting person's name")


class PersonLookup(Strict):
    """A person to find by personal code (in the body: a URL would be logged)."""

    personal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]


class PersonFound(BaseModel):
    """A person found by personal code: their platform id and VIIS name, never the code."""

    id: uuid.UUID
    given_name: str
    family_name: str


class EnrolmentRead(BaseModel):
    """A learner as VIIS has them now: school (and its municipality), grade and class; the
    person id is the platform's (as in guardians' tokens), never a personal code."""

    person_id: uuid.UUID
    given_name: str
    family_name: str
    institution_number: str
    municipality_code: str | None
    grade: int
    class_name: str


class SchoolRead(BaseModel):
    """A school as VIIS names it (the name is missing when VIIS no longer lists it)."""

    registration_number: str
    name: str | None


class ChildRead(BaseModel):
    """A guardian's child: their person id (as in the token's `learners`), name and class."""

    id: uuid.UUID
    given_name: str
    family_name: str
    school: SchoolRead
    grade: int
    class_name: str


class MeRead(BaseModel):
    """The caller themself: name, roles and (for a guardian) children; never a personal code."""

    id: uuid.UUID
    given_name: str | None
    family_name: str | None
    roles: list[str]
    children: list[ChildRead]


class PersonIdentity(BaseModel):
    """What a trusted service may learn of a person (internal endpoint only)."""

    id: uuid.UUID
    given_name: str | None
    family_name: str | None
    personal_code: str


# Audit --------------------------------------------------------------------------------------


class AuditRead(ReadModel):
    id: uuid.UUID
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    client_address: str | None
    details: dict[str, Any]


# OAuth --------------------------------------------------------------------------------------


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 access-token response."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str | None = None
    refresh_token: str | None = None


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2 error response."""

    error: str
    error_description: str
