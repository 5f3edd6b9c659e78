"""The portal's tables: web sessions (the cookie holds a random id; we keep its hash) and the
answers of a multi-page form a person has not sent yet (with its uploaded files)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared_kit.db import NAMING_CONVENTION


class Base(DeclarativeBase):
    """The portal's own declarative base: no outbox, inbox or idempotency tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _tz(**kwargs: object) -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), **kwargs)  # type: ignore[arg-type]


class WebSession(Base):
    """A browser's session: anonymous while a login is under way, then a person's."""

    __tablename__ = "web_session"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # SHA-256 of the cookie's value: a copy of this table lets nobody into a session.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Bound to the session; every form carries it back.
    csrf_token: Mapped[str] = mapped_column(String(64))
    # The gateway's person id (the tokens' `sub`); empty until the login completes.
    person_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Fernet-encrypted JSON: the tokens, the person's profile, or a pending login's PKCE.
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime | None] = _tz()
    created_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    last_seen_at: Mapped[dt.datetime] = _tz(server_default=func.now())
    authenticated_at: Mapped[dt.datetime | None] = _tz()
    # The absolute timeout; the idle one counts from `last_seen_at`.
    expires_at: Mapped[dt.datetime] = _tz(index=True)


class FormDraft(Base):
    """A multi-page form's answers so far, one per web session and form (`flow`); it goes with
    its session, and housekeeping removes drafts left for longer than a session can live."""

    __tablename__ = "form_draft"
    __table_args__ = (UniqueConstraint("session_id", "flow"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_session.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[dt.datetime] = _tz(server_default=func.now(), index=True)


class DraftFile(Base):
    """A file uploaded into a draft (a photo of a problem), kept until the form is sent."""

    __tablename__ = "draft_file"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    draft_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("form_draft.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = _tz(server_default=func.now())
