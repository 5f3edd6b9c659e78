"""Business errors of the notifications service, each with its status and problem type."""

from __future__ import annotations
