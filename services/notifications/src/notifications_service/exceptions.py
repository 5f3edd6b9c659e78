"""Business errors of the notifications service, each with its status and problem type."""

from __future__ import annotations

from shared_kit.problems import NotFound


class NoticeNotFound(NotFound):
    type, title = "notice-not-found", "No such notice"
