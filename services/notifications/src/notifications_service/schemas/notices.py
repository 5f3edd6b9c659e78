"""Request and response bodies of the notifications API."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel


class NoticeRead(BaseModel):
    """A notice as its person sees it, written in their language."""

    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class UnreadCount(BaseModel):
    """How many of the caller's notices are unread."""

    unread: int
