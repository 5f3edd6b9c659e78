"""Business rules of the gateway, one module per concern; callers use `service.<function>`."""

from gateway_service.service.clients import (
    audiences_for,
    client_credentials,
    client_scope,
    create_client,
    get_client,
    provision_client,
    revoke_client,
    rotate_client_secret,
)
from gateway_service.service.common import (
    PERSONAL_CODE_SCOPE,
    PRIVILEGED_SCOPES,
    SCOPES,
    audit,
    person_actor,
)
from gateway_service.service.me import who_am_i
from gateway_service.service.people import (
    create_grant,
    grant_scope,
    provision_grant,
    resolve_person,
    reveal_person,
    revoke_grant,
)
from gateway_service.service.sessions import (
    LoginClaims,
    purge_ended_sessions,
    refresh_session,
    revoke_refresh_token,
    start_session,
)
from gateway_service.service.tokens import (
    ALG,
    IssuedToken,
    discovery,
    ensure_keys,
    issue_access_token,
    jwks,
    published_keys,
    rotate_keys,
)

__all__ = [
    "ALG",
    "PERSONAL_CODE_SCOPE",
    "PRIVILEGED_SCOPES",
    "SCOPES",
    "IssuedToken",
    "LoginClaims",
    "audiences_for",
    "audit",
    "client_credentials",
    "client_scope",
    "create_client",
    "create_grant",
    "discovery",
    "ensure_keys",
    "get_client",
    "grant_scope",
    "issue_access_token",
    "jwks",
    "person_actor",
    "provision_client",
    "provision_grant",
    "published_keys",
    "purge_ended_sessions",
    "refresh_session",
    "resolve_person",
    "reveal_person",
    "revoke_client",
    "revoke_grant",
    "revoke_refresh_token",
    "rotate_client_secret",
    "rotate_keys",
    "start_session",
    "who_am_i",
]
