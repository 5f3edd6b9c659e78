"""Gateway tables: signing keys, clients, people, grants, refresh tokens, audit, logins."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared_kit import tables as kit_tables
from shared_kit.db import NAMING_CONVENTION, Timestamps, UUIDKey


class Base(DeclarativeBase):
    """The gateway's own declarative base, with the kit's naming convention.

    Its tables stay out of the kit's process-wide metadata, which other services' tables share
    when they are imported into one process (the whole-system tests, the local stack).
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def migration_metadata() -> MetaData:
    """The gateway's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    return kit_tables.with_kit_tables(Base.metadata)


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


def _tz(**kwargs: Any) -> Any:
    return mapped_column(DateTime(timezone=True), **kwargs)


class KeyState(StrEnum):
    """Life of a signing key: published ahead, signing, published until its tokens expire."""

    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"


class GrantedRole(StrEnum):
    """Roles VIIS does not know; the gateway grants them."""

    PLATFORM_ADMIN = "platform_admin"
    MINISTRY_ANALYST = "ministry_analyst"
    MUNICIPALITY_ADMIN = "municipality_admin"
    TECHNICIAN = "technician"
    INSTITUTION_ADMIN = "institution_admin"
    PROGRAMME_MANAGER = "programme_manager"  # national: survey and allocation rounds


class SigningKey(UUIDKey, Base):
    """An ES256 key pair; the private half encrypted with the key-encryption key."""

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(10), default="ES256")
    state: Mapped[KeyState] = mapped_column(_enum(KeyState, "key_state"))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    activated_at: Mapped[dt.datetime | None] = _tz()
    retired_at: Mapped[dt.datetime | None] = _tz()
    # A retired key stays in the JWKS until the last token it signed has expired.
    publish_until: Mapped[dt.datetime | None] = _tz()

    __table_args__ = (
        # At most one active and one next key, whatever races happen.
        Index(
            "uq_signing_key_one_active",
            "state",
            unique=True,
            postgresql_where=text("state = 'active'"),
        ),
        Index(
            "uq_signing_key_one_next",
            "state",
            unique=True,
            postgresql_where=text("state = 'next'"),
        ),
    )


class ApiClient(UUIDKey, Timestamps, Base):
    """A machine client (municipal platform, VIIS) of the client-credentials grant."""

    __tablename__ = "api_client"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality_code: Mapped[str | None] = mapped_column(String(7), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    secret_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    secret_rotated_at: Mapped[dt.datetime | None] = _tz()
    revoked_at: Mapped[dt.datetime | None] = _tz()


class Person(UUIDKey, Timestamps, Base):
    """A platform person; `id` is the opaque `sub` of their tokens."""

    __tablename__ = "person"

    # HMAC-SHA256 with a pepper: lookup without storing the code in the clear. Both code
    # columns are empty for a child known only from a guardian's login, until they log in.
    personal_code_hmac: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Encrypted with the key-encryption key; only the internal endpoint reveals it.
    personal_code_encrypted: Mapped[str | None] = mapped_column(Text)
    viis_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    last_login_at: Mapped[dt.datetime | None] = _tz()
    # The staff positions VIIS named at the last login (`role`, `institution_number`), and the
    # staff roles last published in `person.roles_changed` (None: never); see `service/roles`.
    viis_staff: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"), default=list
    )
    published_roles: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)


class RoleGrant(UUIDKey, Base):
    """A role granted to a person, for a municipality or institution where it applies."""

    __tablename__ = "role_grant"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    role: Mapped[GrantedRole] = mapped_column(_enum(GrantedRole, "granted_role"))
    municipality_code: Mapped[str | None] = mapped_column(String(7))
    institution_number: Mapped[str | None] = mapped_column(String(20))
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[dt.datetime | None] = _tz()

    person: Mapped[Person] = relationship(lazy="raise")

    __table_args__ = (
        CheckConstraint(
            "(role IN ('municipality_admin', 'technician')) = (municipality_code IS NOT NULL)",
            name="municipality_where_needed",
        ),
        CheckConstraint(
            "(role = 'institution_admin') = (institution_number IS NOT NULL)",
            name="institution_where_needed",
        ),
        Index(
            "uq_role_grant_live",
            "person_id",
            "role",
            "municipality_code",
            "institution_number",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_role_grant_granted", "granted_at", "id"),
    )


class RefreshFamily(UUIDKey, Base):
    """One login session: every refresh token rotated from the first one belongs to it."""

    __tablename__ = "refresh_family"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    idp: Mapped[str] = mapped_column(String(40))
    amr: Mapped[list[str]] = mapped_column(JSONB, default=list)
    auth_time: Mapped[dt.datetime] = _tz()
    audience: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # What the login learnt from VIIS (roles, institutions, learners), reissued on refresh.
    login_claims: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    expires_at: Mapped[dt.datetime] = _tz()
    revoked_at: Mapped[dt.datetime | None] = _tz()
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    # A Latvija.lv (SAML) login's session, for single logout: the NameID (it holds the personal
    # code) encrypted with the key-encryption key, its keyed hash for IdP-initiated logouts, and
    # the IdP's SessionIndex.
    saml_name_id_encrypted: Mapped[str | None] = mapped_column(Text)
    saml_name_id_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    saml_session_index: Mapped[str | None] = mapped_column(String(200))


class RefreshToken(UUIDKey, Base):
    """One refresh token of a family, stored as its SHA-256."""

    __tablename__ = "refresh_token"

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("refresh_family.id", ondelete="CASCADE"), index=True
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    used_at: Mapped[dt.datetime | None] = _tz()

    family: Mapped[RefreshFamily] = relationship(lazy="raise")


class AuditEvent(UUIDKey, Base):
    """Who did what, when, from where; never a personal code."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    at: Mapped[dt.datetime] = _tz(server_default=func.now())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    client_address: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    correlation_id: Mapped[str | None] = mapped_column(String(100))


class LoginAttempt(UUIDKey, Base):
    """A login sent to an identity provider: single use, valid for minutes."""

    __tablename__ = "login_attempt"

    provider: Mapped[str] = mapped_column(String(40))
    # SHA-256 of the `state` sent to the provider.
    state_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(64))
    return_to: Mapped[str] = mapped_column(Text)
    client_state: Mapped[str | None] = mapped_column(String(500))
    client_code_challenge: Mapped[str] = mapped_column(String(128))
    # The language of the gateway's pages the person chose (`lv`, `en`), for the callback's.
    lang: Mapped[str] = mapped_column(String(2), server_default="lv")
    created_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    expires_at: Mapped[dt.datetime] = _tz(index=True)
    used_at: Mapped[dt.datetime | None] = _tz()


class AuthorizationCode(UUIDKey, Base):
    """A completed login waiting for the calling app to redeem it at `/oauth/token`."""

    __tablename__ = "authorization_code"

    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    idp: Mapped[str] = mapped_column(String(40))
    amr: Mapped[list[str]] = mapped_column(JSONB, default=list)
    auth_time: Mapped[dt.datetime] = _tz()
    login_claims: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    return_to: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    expires_at: Mapped[dt.datetime] = _tz(index=True)
    used_at: Mapped[dt.datetime | None] = _tz()
    # The SAML session of a Latvija.lv login, handed on to the refresh family (see there).
    saml_name_id_encrypted: Mapped[str | None] = mapped_column(Text)
    saml_name_id_hmac: Mapped[str | None] = mapped_column(String(64))
    saml_session_index: Mapped[str | None] = mapped_column(String(200))


class LogoutAttempt(UUIDKey, Base):
    """A single logout sent to Latvija.lv: its LogoutRequest's ID, single use, valid for minutes."""

    __tablename__ = "logout_attempt"

    # The LogoutRequest's ID (random), which the IdP's LogoutResponse names as InResponseTo.
    request_id: Mapped[str] = mapped_column(String(80), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID] = mapped_column()  # the ended session, for the audit log
    return_to: Mapped[str] = mapped_column(Text)
    client_state: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    expires_at: Mapped[dt.datetime] = _tz(index=True)
    used_at: Mapped[dt.datetime | None] = _tz()
