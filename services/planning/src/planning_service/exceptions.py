"""Business errors of planning, each with its HTTP status and problem type."""

from shared_kit.problems import Conflict, Forbidden, NotFound, Unprocessable

__all__ = ["Conflict", "Forbidden", "NotFound", "Unprocessable"]
