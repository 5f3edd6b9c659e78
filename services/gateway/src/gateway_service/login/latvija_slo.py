"""SAML 2.0 single logout with Latvija.lv (HTTP-Redirect both ways, at `/login/latvija/slo`).

Our LogoutRequest goes out signed for the NameID and SessionIndex of the login; the IdP's
LogoutRequest and LogoutResponse must carry a detached signature by the IdP's metadata key
(checked here: pysaml2 does not check HTTP-Redirect signatures of messages to an SP), our SLO
URL as Destination, and the IdP as Issuer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from saml2 import BINDING_HTTP_REDIRECT, ident
from saml2.client import Saml2Client
from saml2.sigver import verify_redirect_signature
from saml2.xmldsig import SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512

from gateway_service.exceptions import IdentityProviderFailed, InvalidLogoutRequest
from gateway_service.login.latvija import MAX_RESPONSE_CHARS, SamlEndpoints, saml_client

LOGOUT_REASON = "urn:oasis:names:tc:SAML:2.0:logout:user"
# Accepted HTTP-Redirect signature algorithms (never SHA-1).
SIGNATURE_ALGORITHMS = frozenset({SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512})


@dataclass(frozen=True)
class IdpLogout:
    """A verified LogoutRequest from the IdP: whose sessions end, and the message to answer."""

    name_id: str = field(repr=False)  # the NameID's value (holds the personal code)
    session_indexes: tuple[str, ...]
    message: Any = field(repr=False)
    relay_state: str


def idp_entity_id(client: Saml2Client) -> str:
    """The one identity provider of the metadata (Latvija.lv)."""
    idps = client.metadata.identity_providers()
    if len(idps) != 1:
        raise ValueError("the metadata must describe exactly one identity provider")
    return str(idps[0])


def idp_slo_url(client: Saml2Client, idp: str) -> str:
    """The IdP's HTTP-Redirect SingleLogoutService."""
    services = client.metadata.single_logout_service(idp, BINDING_HTTP_REDIRECT, "idpsso")
    for service in services or []:
        if service.get("location"):
            return str(service["location"])
    raise ValueError("the identity provider offers no HTTP-Redirect single logout")


def check_redirect_signature(
    client: Saml2Client, idp: str, params: Mapping[str, str], kind: str
) -> None:
    """The HTTP-Redirect binding's detached signature must be by one of the IdP's keys."""
    if not params.get("Signature") or params.get("SigAlg") not in SIGNATURE_ALGORITHMS:
        raise ValueError("unsigned, or signed with an algorithm we do not accept")
    names = (kind, "RelayState", "SigAlg", "Signature")
    signed = {name: params[name] for name in names if name in params}
    backend = client.sec.sec_backend
    certs = client.metadata.certs(idp, "idpsso", "signing")
    if not any(verify_redirect_signature(signed, backend, cert) for _, cert in certs):
        raise ValueError("the signature is not the identity provider's")


def _check_sender(issuer: str | None, destination: str | None, idp: str, slo_url: str) -> None:
    if (issuer or "").strip() != idp:
        raise ValueError("not issued by the identity provider")
    if destination != slo_url:
        raise ValueError("not destined for our single logout service")


def _redirect_location(info: Mapping[str, Any]) -> str:
    return str(dict(info["headers"])["Location"])


def logout_request_url(
    endpoints: SamlEndpoints, name_id: str, session_index: str | None, request_id: str
) -> str:
    """The IdP's SLO URL with our signed LogoutRequest for a login's NameID and SessionIndex."""
    client = saml_client(endpoints)
    try:
        idp = idp_entity_id(client)
        destination = idp_slo_url(client, idp)
    except ValueError:
        raise IdentityProviderFailed("Latvija.lv's metadata offers no single logout") from None
    _, request = client.create_logout_request(
        destination,
        idp,
        name_id=ident.decode(name_id),
        reason=LOGOUT_REASON,
        message_id=request_id,
        session_indexes=[session_index] if session_index else None,
        sign=False,  # HTTP-Redirect: the signature is the binding's, below
    )
    info = client.apply_binding(
        BINDING_HTTP_REDIRECT, str(request), destination, sign=True, sigalg=SIG_RSA_SHA256
    )
    return _redirect_location(info)


def _client_and_idp(endpoints: SamlEndpoints) -> tuple[Saml2Client, str]:
    """The SP client and the IdP's entity id (502 problem: the metadata is the IdP's side)."""
    client = saml_client(endpoints)
    try:
        return client, idp_entity_id(client)
    except ValueError:
        raise IdentityProviderFailed("Latvija.lv's metadata names no single IdP") from None


def logout_response_of(endpoints: SamlEndpoints, params: Mapping[str, str]) -> str:
    """The InResponseTo of the IdP's signed, successful LogoutResponse (400 problem if bad)."""
    client, idp = _client_and_idp(endpoints)
    try:
        return _in_response_to(client, idp, endpoints, params)
    except Exception as exc:  # pysaml2 raises many kinds; none may become a 500
        # A browser brought it, so whatever is wrong is bad input (400), not the IdP failing.
        raise InvalidLogoutRequest(
            f"Latvija.lv's logout response cannot be accepted ({type(exc).__name__})"
        ) from None


def _in_response_to(
    client: Saml2Client, idp: str, endpoints: SamlEndpoints, params: Mapping[str, str]
) -> str:
    raw = params["SAMLResponse"]
    if len(raw) > MAX_RESPONSE_CHARS:
        raise ValueError("response too large")
    check_redirect_signature(client, idp, params, "SAMLResponse")
    response = client.parse_logout_request_response(raw, BINDING_HTTP_REDIRECT)
    if response is None or not response.in_response_to:
        raise ValueError("not a LogoutResponse to a request of ours")
    _check_sender(response.issuer(), response.response.destination, idp, endpoints.slo_url)
    if not response.issue_instant_ok():
        raise ValueError("issued too long ago")
    response.status_ok()  # raises on any status but Success
    return str(response.in_response_to)


def idp_logout_of(
    endpoints: SamlEndpoints, params: Mapping[str, str], now: dt.datetime
) -> IdpLogout:
    """The IdP's signed LogoutRequest, verified (400 problem if bad)."""
    client, idp = _client_and_idp(endpoints)
    try:
        return _idp_logout(client, idp, endpoints, params, now)
    except Exception as exc:  # pysaml2 raises many kinds; none may become a 500
        raise InvalidLogoutRequest(
            f"Latvija.lv's logout request cannot be accepted ({type(exc).__name__})"
        ) from None


def _idp_logout(
    client: Saml2Client,
    idp: str,
    endpoints: SamlEndpoints,
    params: Mapping[str, str],
    now: dt.datetime,
) -> IdpLogout:
    raw = params["SAMLRequest"]
    if len(raw) > MAX_RESPONSE_CHARS:
        raise ValueError("request too large")
    check_redirect_signature(client, idp, params, "SAMLRequest")
    message = client.parse_logout_request(raw, BINDING_HTTP_REDIRECT).message
    _check_sender(
        message.issuer.text if message.issuer else None, message.destination, idp, endpoints.slo_url
    )
    _check_not_expired(message.not_on_or_after, now)
    if message.name_id is None or not message.name_id.text:
        raise ValueError("the request names no (unencrypted) NameID")
    indexes = tuple(i.text.strip() for i in message.session_index or [] if i.text)
    name_id = message.name_id.text.strip()
    return IdpLogout(name_id, indexes, message, params.get("RelayState", ""))


def _check_not_expired(not_on_or_after: str | None, now: dt.datetime) -> None:
    if not_on_or_after:
        limit = dt.datetime.fromisoformat(not_on_or_after.replace("Z", "+00:00"))
        if limit <= now - dt.timedelta(seconds=60):
            raise ValueError("the request has expired")


def logout_response_url(endpoints: SamlEndpoints, logout: IdpLogout) -> str:
    """The IdP's SLO URL with our signed, successful LogoutResponse to its LogoutRequest."""
    client = saml_client(endpoints)
    try:
        response = client.create_logout_response(
            logout.message, [BINDING_HTTP_REDIRECT], sign=False
        )
        destination = client.response_args(logout.message, [BINDING_HTTP_REDIRECT])["destination"]
        info = client.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(response),
            destination,
            logout.relay_state,
            response=True,
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
    except Exception as exc:  # e.g. the IdP's metadata has no SingleLogoutService
        raise IdentityProviderFailed(
            f"Latvija.lv's logout cannot be answered ({type(exc).__name__})"
        ) from None
    return _redirect_location(info)
