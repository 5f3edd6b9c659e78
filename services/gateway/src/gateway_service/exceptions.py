"""Business errors of the gateway: problem+json ones, and the OAuth errors of `/oauth/*`."""

from __future__ import annotations

from shared_kit.problems import (
    Conflict,
    Forbidden,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    Unprocessable,
)


class ClientNotFound(NotFound):
    type = "client-not-found"


class PersonNotFound(NotFound):
    type = "person-not-found"


class GrantNotFound(NotFound):
    type = "grant-not-found"


class DuplicateGrant(Conflict):
    type, title = "duplicate-grant", "The person already holds this role"


class AlreadyRevoked(Conflict):
    type, title = "already-revoked", "Already revoked"


class KeyNotPropagated(Conflict):
    type, title = "key-not-propagated", "The next key may not be in every cache yet"


class AdminForbidden(Forbidden):
    type, title = "admin-forbidden", "Outside your administration"


class NotAPerson(Forbidden):
    type, title = "not-a-person", "Only a person's own token is accepted here"


class InvalidGrantTarget(Unprocessable):
    type, title = "invalid-grant-target", "Role needs a different target"


class InvalidPersonalCode(Unprocessable):
    type, title = "invalid-personal-code", "Invalid personal code"


class UnknownScope(Unprocessable):
    type, title = "unknown-scope", "Unknown scope"


class UnknownProvider(NotFound):
    type, title = "unknown-identity-provider", "Unknown identity provider"


class ReturnToNotAllowed(ProblemError):
    type, title = "return-to-not-allowed", "This return address is not allowed"


class InvalidLoginRequest(ProblemError):
    type, title = "invalid-login-request", "Invalid login request"


class InvalidLoginState(ProblemError):
    type, title = "invalid-login-state", "This login is unknown, expired or already used"


class LoginCancelled(ProblemError):
    type, title = "login-cancelled", "The login was cancelled at the identity provider"


class LoginRefused(ProblemError):
    type, title = "login-refused", "The identity provider did not log you in"


class InvalidLoginResponse(ProblemError):
    """What the browser brought back from the provider is not an answer we can accept."""

    type, title = "invalid-login-response", "The identity provider's answer cannot be accepted"


class IdentityProviderFailed(ProblemError):
    """Only for what we could not get from, or understand of, the provider server to server."""

    status, type, title = 502, "identity-provider-failed", "The identity provider failed"


class SchoolMismatch(Forbidden):
    type, title = "school-mismatch", "The identity provider's school does not match VIIS"


class ViisUnavailableProblem(ServiceUnavailable):
    type, title = "viis-unavailable", "VIIS cannot be reached; try again later"


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `{"error": …, "error_description": …}`, not problem+json."""

    status: int = 400
    error: str = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    status, error = 401, "invalid_client"


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class RateLimited(OAuthError):
    status, error = 429, "rate_limited"

    def __init__(self, description: str, retry_after_s: int) -> None:
        super().__init__(description)
        self.retry_after_s = retry_after_s


class InvalidLogoutRequest(ProblemError):
    type, title = "invalid-logout-request", "Invalid logout request"


class InvalidLogoutState(ProblemError):
    type, title = "invalid-logout-state", "This logout is unknown, expired or already finished"
