"""What can go wrong on a page; each becomes a page in the design system (see web/errors.py)."""

from __future__ import annotations


class PortalError(Exception):
    """Base of the portal's page errors: an HTTP status and a message id."""

    status = 400

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class LoginRequired(PortalError):
    """No live session: the person logs in and comes back to `next_path`."""

    status = 303

    def __init__(self, next_path: str | None = "/home") -> None:
        super().__init__("login required")
        # None: back to this page (a GET) or home (a form).
        self.next_path = next_path


class CsrfRejected(PortalError):
    """A form came without the session's CSRF token (or from another site)."""

    status = 400


class LoginFailed(PortalError):
    """The login could not be finished (unknown state, refused code, gateway down)."""

    status = 400


class StepUpRefused(LoginFailed):
    """A stronger login in the middle of a task logged another person in than the session's."""


class GatewayUnavailable(PortalError):
    """The gateway did not answer as it should."""

    status = 503


class PageNotFound(PortalError):
    """What the address names does not exist, or is not this person's to see."""

    status = 404


class ServiceUnavailable(PortalError):
    """A service did not answer as it should (unreachable, 5xx)."""

    status = 503
