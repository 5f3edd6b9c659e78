"""Latvija.lv (VPM): a SAML 2.0 service provider built on pysaml2.

The AuthnRequest goes out signed over HTTP-Redirect with our `state` as RelayState; its ID is
derived from that state, so the response's InResponseTo binds to the stored login attempt.
pysaml2 checks the response's signature, audience, time conditions and InResponseTo.

Single logout lives in `latvija_slo`.

The personal code: the NameID's `PK:` part (also inside `AU:<institution>-PK:…` and
`PK:…-UR:<company>`). `privatepersonalidentifier` may hold several codes when a person's code
changed; the current one is the value equal to the NameID's code, else the last value.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, ident
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.response import StatusError
from saml2.xmldsig import SIG_RSA_SHA256

from gateway_service.exceptions import (
    IdentityProviderFailed,
    InvalidLoginResponse,
    InvalidLoginState,
    LoginRefused,
)
from gateway_service.login.base import TIMEOUT_S, IdentityAssertion

NAME = "latvija"
# pysaml2 logs NameIDs (the personal code) at INFO and whole assertions on errors: silence it all.
logging.getLogger("saml2").setLevel(logging.CRITICAL + 10)
MAX_RESPONSE_CHARS = 200_000
_PK = re.compile(r"(?:^|-)PK:([0-9]{6}-?[0-9]{5})(?:-|$)")
# The authentication method attribute's values (VPM's words, lower-cased) and their `amr`.
AMR = {"bank": "bank", "eid": "eid", "eparaksts": "eparaksts", "smart-id": "smartid"}
AMR_ATTRIBUTE = "authentication_method"


@dataclass(frozen=True)
class SamlEndpoints:
    """Our SP's identity and keys, and where the IdP's metadata is."""

    entity_id: str
    acs_url: str
    slo_url: str
    key_pem: str = field(repr=False)
    cert_pem: str = field(repr=False)
    idp_metadata: str  # an http(s) URL or a file path


def dev_key_pair(common_name: str = "datori-gateway-dev") -> tuple[str, str]:
    """A fresh RSA key and self-signed certificate (PEM), for dev and tests only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


@functools.cache
def dev_sp_key_pair() -> tuple[str, str]:
    """The SP key pair generated once per process when settings give none (dev and test)."""
    return dev_key_pair()


def _pem_file(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def sp_config(endpoints: SamlEndpoints, *, with_idp: bool = True) -> SPConfig:
    """pysaml2's SP configuration (key and certificate in private temporary files)."""
    directory = Path(tempfile.mkdtemp(prefix="gateway-saml-"))
    source = endpoints.idp_metadata
    metadata = {"remote": [{"url": source}]} if source.startswith("http") else {"local": [source]}
    acs = [(endpoints.acs_url, BINDING_HTTP_POST)]
    slo = [(endpoints.slo_url, BINDING_HTTP_REDIRECT)]
    config: dict[str, Any] = {
        "entityid": endpoints.entity_id,
        "key_file": _pem_file(directory, "sp.key", endpoints.key_pem),
        "cert_file": _pem_file(directory, "sp.crt", endpoints.cert_pem),
        "xmlsec_binary": None,
        "accepted_time_diff": 60,
        "http_client_timeout": TIMEOUT_S,  # the IdP metadata fetch must not hang the gateway
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": acs, "single_logout_service": slo},
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "want_response_signed": False,
                "want_assertions_signed": True,
                "want_assertions_or_response_signed": True,
                "allow_unsolicited": False,
                "allow_unknown_attributes": True,
            }
        },
    }
    if with_idp:
        config["metadata"] = metadata
    sp = SPConfig()
    sp.load(config)
    return sp


@functools.cache
def _client(endpoints: SamlEndpoints) -> Saml2Client:
    return Saml2Client(config=sp_config(endpoints))


def saml_client(endpoints: SamlEndpoints) -> Saml2Client:
    """The SP client, built once per configuration (reads the IdP's metadata; 502 if it cannot)."""
    try:
        return _client(endpoints)
    except Exception:  # an unreachable or broken IdP metadata source
        raise IdentityProviderFailed("Latvija.lv's SAML metadata cannot be read") from None


@functools.cache
def sp_metadata(endpoints: SamlEndpoints) -> str:
    """Our SP metadata document (EntityDescriptor, signing certificate, ACS, SLO)."""
    xml = create_metadata_string(None, config=sp_config(endpoints, with_idp=False), valid=24 * 7)
    return xml.decode() if isinstance(xml, bytes) else str(xml)


def request_id(state: str) -> str:
    """The AuthnRequest ID of a login: derived from its state (an xs:ID, unlinkable to it)."""
    return "_" + hashlib.sha256(f"saml-request:{state}".encode()).hexdigest()


def personal_code_of(name_id: str) -> str:
    """The `PK:` part of a NameID (`PK:…`, `AU:…-PK:…`, `PK:…-UR:…`); ValueError otherwise."""
    match = _PK.search(name_id)
    if match is None:
        raise ValueError("NameID carries no PK: personal code")
    return match[1]


def current_code(name_code: str, values: list[str]) -> str:
    """Of several `privatepersonalidentifier` values, the NameID's code, else the last one."""
    plain = name_code.replace("-", "")
    for value in values:
        if value.replace("-", "") == plain:
            return value
    return values[-1] if values else name_code


def amr_of(values: list[str]) -> tuple[str, ...]:
    """The `amr` of the authentication method attribute (bank, eID, eParaksts, Smart-ID)."""
    method = (values[0] if values else "").strip().lower().replace(" ", "")
    return (AMR[method],) if method in AMR else ("saml",)


def _first(attributes: Mapping[str, list[str]], name: str) -> str | None:
    values = attributes.get(name) or []
    return values[0] if values else None


def authn_instant(assertion: Any, now: dt.datetime) -> dt.datetime:
    """When the person authenticated at the IdP (AuthnInstant; never later than now)."""
    for statement in assertion.authn_statement or []:
        if statement.authn_instant:
            instant = dt.datetime.fromisoformat(statement.authn_instant.replace("Z", "+00:00"))
            return min(instant.astimezone(dt.UTC), now)
    return now


def identity_of(
    name_id: str, attributes: Mapping[str, list[str]], auth_time: dt.datetime
) -> IdentityAssertion:
    """The identity of a validated assertion."""
    code = current_code(
        personal_code_of(name_id), list(attributes.get("privatepersonalidentifier") or [])
    )
    return IdentityAssertion(
        personal_code=code,
        given_name=_first(attributes, "givenname"),
        family_name=_first(attributes, "surname"),
        idp=NAME,
        amr=amr_of(list(attributes.get(AMR_ATTRIBUTE) or [])),
        auth_time=auth_time,
    )


@dataclass(frozen=True)
class SamlIdentity(IdentityAssertion):
    """A Latvija.lv identity with its SAML session, which single logout names."""

    name_id: str = field(default="", repr=False)  # pysaml2's coded NameID (holds the code)
    name_id_value: str = field(default="", repr=False)
    session_index: str | None = None


def session_index_of(assertion: Any) -> str | None:
    """The IdP's SessionIndex of the login (from the AuthnStatement)."""
    for statement in assertion.authn_statement or []:
        if statement.session_index:
            return str(statement.session_index)
    return None


def with_session(identity: IdentityAssertion, name_id: Any, assertion: Any) -> SamlIdentity:
    """The identity with the NameID and SessionIndex a logout must name."""
    values = {f.name: getattr(identity, f.name) for f in dataclasses.fields(IdentityAssertion)}
    return SamlIdentity(
        **values,
        name_id=ident.code(name_id),
        name_id_value=(name_id.text or "").strip(),
        session_index=session_index_of(assertion),
    )


def attributes_of(assertion: Any) -> dict[str, list[str]]:
    """A validated assertion's attributes by name (FriendlyName first), lower-cased."""
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            name = (attribute.friendly_name or attribute.name or "").lower()
            values = [v.text.strip() for v in attribute.attribute_value or [] if v.text]
            found.setdefault(name, []).extend(values)
    return found


class LatvijaProvider:
    """Latvija.lv login: a signed AuthnRequest out, a signed assertion back at the ACS."""

    name = NAME
    uses_pkce = False

    def __init__(self, endpoints: SamlEndpoints) -> None:
        self.endpoints = endpoints

    def authorization_url(self, state: str, nonce: str, code_verifier: str | None) -> str:
        """The IdP's SSO URL with a signed AuthnRequest (HTTP-Redirect) and RelayState."""
        client = saml_client(self.endpoints)
        _, info = client.prepare_for_authenticate(
            relay_state=state,
            binding=BINDING_HTTP_REDIRECT,
            sign=True,
            sigalg=SIG_RSA_SHA256,
            message_id=request_id(state),
        )
        return str(dict(info["headers"])["Location"])

    async def complete(
        self,
        params: Mapping[str, str],
        *,
        state: str,
        code_verifier: str | None,
        now: dt.datetime,
    ) -> IdentityAssertion:
        """Validate the SAMLResponse the browser posted to the ACS (a bad one is a 400 problem)."""
        raw = params.get("SAMLResponse") or ""
        if not raw or len(raw) > MAX_RESPONSE_CHARS:
            raise InvalidLoginState("The ACS was called without a SAMLResponse")
        return await asyncio.to_thread(self._validate, raw, state, now)

    def _validate(self, raw: str, state: str, now: dt.datetime) -> IdentityAssertion:
        client = saml_client(self.endpoints)  # 502 only if the IdP's metadata cannot be read
        try:
            response = client.parse_authn_request_response(
                raw, BINDING_HTTP_POST, outstanding={request_id(state): "/"}
            )
            if response is None:
                raise ValueError("no response")
            subject = response.get_subject()
            assertion = response.assertion
            identity = identity_of(
                subject.text or "", attributes_of(assertion), authn_instant(assertion, now)
            )
            return with_session(identity, subject, assertion)
        except StatusError as exc:  # the IdP answered, but did not authenticate the person
            raise LoginRefused(f"Latvija.lv did not log you in ({type(exc).__name__})") from None
        except Exception as exc:  # pysaml2 raises many kinds; none may become a 500
            # A browser posted it, so whatever is wrong is bad input (400), not the IdP failing.
            # The message names only the kind of failure: assertions hold personal data.
            raise InvalidLoginResponse(
                f"Latvija.lv's answer cannot be accepted ({type(exc).__name__})"
            ) from None
