"""Discovery, the JWKS and the OAuth endpoints (token, revocation) at the gateway's root.

The OAuth endpoints answer RFC 6749 errors (`{"error": …}`), never problem+json.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse

from gateway_service import deps, service
from gateway_service.deps import Settings
from gateway_service.exceptions import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    RateLimited,
    UnsupportedGrantType,
)
from gateway_service.login import flow
from gateway_service.router.base import NO_STORE
from gateway_service.schemas import JWKSet, OAuthErrorBody, TokenResponse
from shared_kit.deps import ClientAddress, NowDep, SessionDep

OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"},
    401: {"model": OAuthErrorBody, "description": "Client authentication failed"},
    429: {"model": OAuthErrorBody, "description": "Too many requests (see Retry-After)"},
}

router = APIRouter(tags=["oauth"])


@router.get("/.well-known/jwks.json", response_model=JWKSet)
async def get_jwks(session: SessionDep, settings: Settings, now: NowDep, response: Response) -> Any:
    """Public signing keys: the next, the active and recently retired ones."""
    keys = await service.published_keys(session=session, settings=settings, now=now)
    response.headers["Cache-Control"] = f"public, max-age={settings.jwks_max_age_s}"
    return service.jwks(keys)


@router.get("/.well-known/openid-configuration")
async def openid_configuration(settings: Settings, response: Response) -> dict[str, Any]:
    """Authorization server metadata (OpenID Connect Discovery / RFC 8414)."""
    response.headers["Cache-Control"] = "public, max-age=3600"
    return service.discovery(settings)


def oauth_error(exc: OAuthError) -> JSONResponse:
    """An RFC 6749 §5.2 error response (never problem+json: OAuth clients expect this)."""
    headers = dict(NO_STORE)
    if isinstance(exc, InvalidClient):
        headers["WWW-Authenticate"] = 'Basic realm="datori", charset="UTF-8"'
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _client_auth(request: Request, form_id: str | None, form_secret: str | None) -> tuple[str, str]:
    """Client id and secret from HTTP Basic (RFC 6749 §2.3.1) or the form, not both."""
    header = request.headers.get("authorization")
    if header is None:
        if not form_id or not form_secret:
            raise InvalidClient("Authenticate the client with HTTP Basic or client_secret_post")
        return form_id, form_secret
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("The token endpoint takes HTTP Basic client authentication")
    if form_secret:
        raise InvalidRequest("Use one client authentication method, not two")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClient("Malformed HTTP Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


@router.post("/oauth/token", response_model=TokenResponse, responses=OAUTH_ERRORS)
async def token(
    request: Request,
    session: SessionDep,
    settings: Settings,
    address: ClientAddress,
    now: NowDep,
    grant_type: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    refresh_token: Annotated[str | None, Form()] = None,
    code: Annotated[str | None, Form()] = None,
    code_verifier: Annotated[str | None, Form()] = None,
    redirect_uri: Annotated[str | None, Form()] = None,
) -> Any:
    """OAuth 2.0 token endpoint: authorization_code (PKCE), client_credentials, refresh_token."""
    try:
        deps.check_rate(request, address, now)
        if grant_type == "client_credentials":
            cid, secret = _client_auth(request, client_id, client_secret)
            result = await service.client_credentials(
                session=session,
                settings=settings,
                client_id=cid,
                client_secret=secret,
                scope=scope,
                client_address=address,
                now=now,
            )
        elif grant_type == "authorization_code":
            result = await flow.redeem_code(
                session=session,
                settings=settings,
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
                client_address=address,
                now=now,
            )
        elif grant_type == "refresh_token":
            if not refresh_token:
                raise InvalidRequest("The refresh_token parameter is missing")
            result = await service.refresh_session(
                session=session,
                settings=settings,
                refresh_token=refresh_token,
                client_address=address,
                now=now,
            )
        elif grant_type is None:
            raise InvalidRequest("The grant_type parameter is missing (send a form body)")
        else:
            raise UnsupportedGrantType(f"The grant type '{grant_type[:40]}' is not supported")
    except OAuthError as exc:
        # Returned, not raised: what the failure wrote (audit, a revoked family) commits.
        return oauth_error(exc)
    return JSONResponse(result.model_dump(exclude_none=True), headers=NO_STORE)


@router.post(
    "/oauth/revoke",
    response_class=Response,
    responses={
        **OAUTH_ERRORS,
        200: {"description": "Revoked, or not a token of ours (RFC 7009): no body"},
    },
)
async def revoke(
    request: Request,
    session: SessionDep,
    address: ClientAddress,
    now: NowDep,
    token: Annotated[str | None, Form()] = None,
    token_type_hint: Annotated[str | None, Form()] = None,
) -> Any:
    """RFC 7009 revocation: a refresh token ends its session (logout); others are ignored."""
    try:
        deps.check_rate(request, address, now)
        if not token:
            raise InvalidRequest("The token parameter is missing")
    except OAuthError as exc:
        return oauth_error(exc)
    await service.revoke_refresh_token(
        session=session, token=token, client_address=address, now=now
    )
    return Response(status_code=200, headers=NO_STORE)
