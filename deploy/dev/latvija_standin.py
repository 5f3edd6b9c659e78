"""A Latvija.lv stand-in: a real SAML 2.0 identity provider built on pysaml2's `Server`.

It serves its metadata (`/metadata`), takes a signed AuthnRequest over HTTP-Redirect at `/sso`
(the signature checked against the SP's metadata), shows a page to pick a demo person
(`viis_standin.DEMO_PEOPLE`) and an authentication method, and POSTs a signed Response to the
SP's Assertion Consumer Service with an auto-submitting form: NameID `PK:<code>` and the
attributes `givenname`, `surname`, `privatepersonalidentifier`, `authentication_method`; or,
when the person cancels, a signed Response with the status AuthnFailed.

Single logout (HTTP-Redirect, `/slo`): it takes the SP's signed LogoutRequest (the signature
checked against the SP's metadata), ends that session and answers with a signed LogoutResponse to
the SP's SingleLogoutService. `GET /initiate-logout?person=<demo person>` starts an IdP-initiated
logout of that person's latest session (`&session=all`: every session, no SessionIndex): a signed
LogoutRequest to the SP, whose signed LogoutResponse comes back to `/slo` and is checked.

Test-only knobs on the pick form: `lifetime_s` (negative: an already expired assertion) and
`audience` (another SP entity id). For the tests and the local stack only. Run it alone with

    uv run uvicorn --app-dir deploy/dev latvija_standin:app --port 8193

Settings: LATVIJA_STANDIN_URL (its public base URL; default: the URL it is called at),
LATVIJA_STANDIN_SP_METADATA (the gateway SP's metadata URL or file), LATVIJA_STANDIN_KEY_PEM and
LATVIJA_STANDIN_CERT_PEM (generated at startup when unset).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.assertion import Policy
from saml2.authn_context import PASSWORDPROTECTEDTRANSPORT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.s_utils import status_message_factory, success_status_factory
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_UNSPECIFIED, NameID
from saml2.samlp import STATUS_AUTHN_FAILED, STATUS_UNKNOWN_PRINCIPAL, response_from_string
from saml2.server import Server
from saml2.sigver import verify_redirect_signature
from saml2.xmldsig import SIG_RSA_SHA256
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from viis_standin import DEMO_PEOPLE

DEFAULT_SP_METADATA = "http://127.0.0.1:8100/login/latvija/metadata"
METHODS = {"bank": "Bank", "eid": "eID", "eparaksts": "eParaksts", "smart-id": "Smart-ID"}
DEFAULT_LIFETIME_S = 300
ATTRIBUTES = ("givenname", "surname", "privatepersonalidentifier", "authentication_method")
LOGOUT_REASON = "urn:oasis:names:tc:SAML:2.0:logout:admin"
REDIRECT_PARAMS = ("SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature")


def key_pair() -> tuple[str, str]:
    """A fresh RSA key and self-signed certificate (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "latvija-standin")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode()


def idp_config(base: str, key_pem: str, cert_pem: str, sp_metadata: str) -> IdPConfig:
    """pysaml2's IdP configuration for this stand-in."""
    directory = Path(tempfile.mkdtemp(prefix="latvija-standin-"))
    (directory / "idp.key").write_text(key_pem)
    (directory / "idp.crt").write_text(cert_pem)
    maps = directory / "attribute-maps"
    maps.mkdir()
    plain = {name: name for name in ATTRIBUTES}
    (maps / "vpm.py").write_text(
        f"MAP = {{'identifier': {NAME_FORMAT_BASIC!r}, 'fro': {plain!r}, 'to': {plain!r}}}\n"
    )
    source = (
        {"remote": [{"url": sp_metadata}]}
        if sp_metadata.startswith("http")
        else {"local": [sp_metadata]}
    )
    config = IdPConfig()
    config.load(
        {
            "entityid": f"{base}/metadata",
            "key_file": str(directory / "idp.key"),
            "cert_file": str(directory / "idp.crt"),
            "accepted_time_diff": 60,
            "attribute_map_dir": str(maps),  # attributes go out under VPM's plain names
            "metadata": source,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(f"{base}/sso", BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(f"{base}/slo", BINDING_HTTP_REDIRECT)],
                    },
                    "name_id_format": [NAMEID_FORMAT_UNSPECIFIED],
                    "want_authn_requests_signed": True,
                    "policy": {
                        "default": {"attribute_restrictions": None, "name_form": NAME_FORMAT_BASIC}
                    },
                }
            },
        }
    )
    return config


class StandIn:
    """The IdP, built at the first request (its base URL is then known), and its sessions."""

    def __init__(self, key_pem: str, cert_pem: str, sp_metadata: str, base: str | None) -> None:
        self.key_pem, self.cert_pem = key_pem, cert_pem
        self.sp_metadata, self.base = sp_metadata, base
        self._server: Server | None = None
        # SessionIndex → (NameID value, SP entity id), oldest first.
        self.sessions: dict[str, tuple[str, str]] = {}
        # IDs of the LogoutRequests this IdP sent, awaiting the SP's LogoutResponse.
        self.pending_logouts: set[str] = set()

    def server(self, request: Request) -> Server:
        """pysaml2's IdP server."""
        if self._server is None:
            base = self.base or str(request.base_url).rstrip("/")
            config = idp_config(base, self.key_pem, self.cert_pem, self.sp_metadata)
            self._server = Server(config=config)
        return self._server


class TestPolicy(Policy):  # type: ignore[misc]
    """The release policy of one response: its lifetime and (a test knob) another audience."""

    def __init__(self, lifetime_s: int, audience: str | None, mds: Any) -> None:
        rule = {"lifetime": {"seconds": lifetime_s}, "attribute_restrictions": None}
        super().__init__({"default": {**rule, "name_form": NAME_FORMAT_BASIC}}, mds=mds)
        self.audience = audience

    def conditions(self, sp_entity_id: str) -> Any:
        """Conditions for the SP, or for the test's audience."""
        return super().conditions(self.audience or sp_entity_id)


def pick_page(action: str, data: dict[str, str]) -> str:
    """The login page: a demo person, an authentication method, and the request carried on."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in data.items()
    )
    people = "".join(
        f'<li><label><input type="radio" name="person" value="{escape(key)}"'
        f"{' checked' if i == 0 else ''}> {escape(p.given_name)} {escape(p.family_name)}"
        f" ({escape(key)})</label></li>"
        for i, (key, p) in enumerate(DEMO_PEOPLE.items())
    )
    methods = "".join(f'<option value="{k}">{escape(v)}</option>' for k, v in METHODS.items())
    return (
        '<!doctype html><html lang="lv"><head><meta charset="utf-8"><title>Latvija.lv</title>'
        "</head><body><main><h1>Latvija.lv (stand-in)</h1>"
        f'<form method="post" action="{escape(action)}">{hidden}<fieldset><legend>Log in as'
        f"</legend><ul>{people}</ul></fieldset>"
        f'<p><label>Authentication method <select name="method">{methods}</select></label></p>'
        '<button name="decision" value="approve">Approve</button> '
        '<button name="decision" value="deny">Cancel</button></form></main></body></html>'
    )


def post_page(destination: str, saml_response: str, relay_state: str) -> str:
    """The auto-submitting form that carries the signed Response to the SP's ACS."""
    fields = {"SAMLResponse": saml_response, "RelayState": relay_state}
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in fields.items()
    )
    return (
        '<!doctype html><html lang="lv"><head><meta charset="utf-8"><title>Latvija.lv</title>'
        '</head><body onload="document.forms[0].submit()"><main>'
        f'<form method="post" action="{escape(destination)}">{hidden}'
        "<noscript><button>Continue</button></noscript></form></main></body></html>"
    )


def request_args(server: Server, data: dict[str, str]) -> dict[str, Any]:
    """The response's arguments for a signed AuthnRequest (pysaml2 checks its signature)."""
    request = server.parse_authn_request(
        data["SAMLRequest"],
        BINDING_HTTP_REDIRECT,
        relay_state=data.get("RelayState"),
        sigalg=data.get("SigAlg"),
        signature=data.get("Signature"),
    )
    return dict(server.response_args(request.message, [BINDING_HTTP_POST]))


def response_for(
    server: Server, data: dict[str, str], form: dict[str, str]
) -> tuple[str, str, str]:
    """The signed, base64 Response for the picked person, the ACS to post it to, and the SP."""
    args = request_args(server, data)
    person = DEMO_PEOPLE[form["person"]]
    method = form.get("method", "bank")
    code = person.personal_code
    identity = {
        "givenname": [person.given_name],
        "surname": [person.family_name],
        "privatepersonalidentifier": [code],
        "authentication_method": [METHODS.get(method, method)],
    }
    lifetime = int(form.get("lifetime_s") or DEFAULT_LIFETIME_S)
    policy = TestPolicy(lifetime, form.get("audience") or None, server.metadata)
    response = server.create_authn_response(
        identity,
        in_response_to=args["in_response_to"],
        destination=args["destination"],
        sp_entity_id=args["sp_entity_id"],
        name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=f"PK:{code}"),
        authn={"class_ref": PASSWORDPROTECTEDTRANSPORT},
        sign_assertion=True,
        sign_response=True,
        release_policy=policy,
    )
    encoded = base64.b64encode(str(response).encode()).decode()
    return args["destination"], encoded, args["sp_entity_id"]


def refusal_for(server: Server, data: dict[str, str]) -> tuple[str, str]:
    """A signed Response saying that the person did not authenticate (they cancelled), and the
    ACS to post it to."""
    args = request_args(server, data)
    status = (STATUS_AUTHN_FAILED, "The person cancelled the login")
    response = server.create_error_response(
        args["in_response_to"], args["destination"], status, sign=True
    )
    return args["destination"], base64.b64encode(str(response).encode()).decode()


def session_of(signed_response: str) -> tuple[str, str]:
    """The SessionIndex and NameID value of a Response this IdP made."""
    assertion = response_from_string(signed_response).assertion[0]
    return assertion.authn_statement[0].session_index, assertion.subject.name_id.text


def redirect_to(info: dict[str, Any]) -> RedirectResponse:
    """The browser redirect of an HTTP-Redirect binding message."""
    return RedirectResponse(dict(info["headers"])["Location"], status_code=302)


def sp_signed(server: Server, data: dict[str, str], kind: str) -> bool:
    """Whether the HTTP-Redirect signature of an SP's message is by a key of a known SP."""
    signed = {k: data[k] for k in (kind, "RelayState", "SigAlg", "Signature") if k in data}
    if "Signature" not in signed or "SigAlg" not in signed:
        return False
    backend = server.sec.sec_backend
    return any(
        verify_redirect_signature(signed, backend, cert)
        for sp in server.metadata.service_providers()
        for _, cert in server.metadata.certs(sp, "spsso", "signing")
    )


def answer_sp_logout(standin: StandIn, server: Server, data: dict[str, str]) -> RedirectResponse:
    """The SP's signed LogoutRequest (pysaml2 checks it): end the session, answer signed."""
    request = server.parse_logout_request(
        data["SAMLRequest"],
        BINDING_HTTP_REDIRECT,
        relay_state=data.get("RelayState"),
        sigalg=data.get("SigAlg"),
        signature=data.get("Signature"),
    ).message
    name_id = request.name_id.text if request.name_id is not None else None
    # The named sessions of that NameID; without a SessionIndex, all of its sessions.
    indexes = [i.text for i in request.session_index or []] or list(standin.sessions)
    ended = [i for i in indexes if standin.sessions.get(i, ("", ""))[0] == name_id]
    for index in ended:
        del standin.sessions[index]
    status = success_status_factory() if ended else unknown_principal()
    response = server.create_logout_response(
        request, [BINDING_HTTP_REDIRECT], status=status, sign=False
    )
    destination = server.response_args(request, [BINDING_HTTP_REDIRECT])["destination"]
    info = server.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(response),
        destination,
        data.get("RelayState", ""),
        response=True,
        sign=True,
        sigalg=SIG_RSA_SHA256,
    )
    return redirect_to(info)


def unknown_principal() -> Any:
    """An UnknownPrincipal status: no such session here."""
    return status_message_factory("No such session", STATUS_UNKNOWN_PRINCIPAL)


def check_sp_answer(standin: StandIn, server: Server, data: dict[str, str]) -> dict[str, str]:
    """The SP's signed LogoutResponse to a logout this IdP started."""
    if not sp_signed(server, data, "SAMLResponse"):
        raise ValueError("the LogoutResponse is not signed by the SP")
    response = server.parse_logout_request_response(data["SAMLResponse"], BINDING_HTTP_REDIRECT)
    if response is None or response.in_response_to not in standin.pending_logouts:
        raise ValueError("not an answer to a logout this IdP started")
    response.status_ok()
    standin.pending_logouts.discard(response.in_response_to)
    return {"status": "logged-out", "in_response_to": response.in_response_to}


def start_idp_logout(
    standin: StandIn, server: Server, person: str, every_session: bool
) -> RedirectResponse:
    """A signed LogoutRequest to the SP for the person's latest session (or every session)."""
    name_id = f"PK:{DEMO_PEOPLE[person].personal_code}"
    mine = [(i, sp) for i, (n, sp) in standin.sessions.items() if n == name_id]
    if not mine:
        raise LookupError("that person has no session here")
    index, sp = mine[-1]
    services = server.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")
    destination = services[0]["location"]
    request_id, request = server.create_logout_request(
        destination,
        sp,
        name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=name_id),
        reason=LOGOUT_REASON,
        session_indexes=None if every_session else [index],
        sign=False,
    )
    standin.pending_logouts.add(request_id)
    for ended in [i for i, _ in mine] if every_session else [index]:
        del standin.sessions[ended]
    info = server.apply_binding(
        BINDING_HTTP_REDIRECT, str(request), destination, sign=True, sigalg=SIG_RSA_SHA256
    )
    return redirect_to(info)


def create_app(standin: StandIn) -> Starlette:
    """The stand-in app."""

    async def metadata(request: Request) -> Response:
        server = standin.server(request)
        xml = create_metadata_string(None, config=server.config, valid=24)
        return Response(xml, media_type="application/samlmetadata+xml")

    async def sso(request: Request) -> Response:
        server = standin.server(request)
        if request.method == "GET":
            data = dict(request.query_params)
            try:
                request_args(server, data)
            except Exception as exc:  # a malformed, unsigned or unknown request: 400, not 500
                return JSONResponse({"error": type(exc).__name__}, status_code=400)
            names = ("SAMLRequest", "RelayState", "SigAlg", "Signature")
            carried = {name: data[name] for name in names if name in data}
            return HTMLResponse(pick_page(request.url.path, carried))
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if form.get("decision") == "deny" and "SAMLRequest" in form:
            destination, refusal = refusal_for(server, form)
            return HTMLResponse(post_page(destination, refusal, form.get("RelayState", "")))
        if form.get("person") not in DEMO_PEOPLE or "SAMLRequest" not in form:
            return JSONResponse({"error": "pick a person"}, status_code=400)
        destination, saml_response, sp = response_for(server, form, form)
        index, name_id = session_of(base64.b64decode(saml_response).decode())
        standin.sessions[index] = (name_id, sp)
        return HTMLResponse(post_page(destination, saml_response, form.get("RelayState", "")))

    async def slo(request: Request) -> Response:
        server = standin.server(request)
        data = {k: v for k, v in request.query_params.items() if k in REDIRECT_PARAMS}
        try:
            if "SAMLRequest" in data:
                return answer_sp_logout(standin, server, data)
            if "SAMLResponse" in data:
                return JSONResponse(check_sp_answer(standin, server, data))
        except Exception as exc:  # a malformed, unsigned or unknown message: 400, not 500
            return JSONResponse({"error": type(exc).__name__}, status_code=400)
        return JSONResponse({"error": "SAMLRequest or SAMLResponse needed"}, status_code=400)

    async def initiate_logout(request: Request) -> Response:
        server = standin.server(request)
        person = request.query_params.get("person", "")
        if person not in DEMO_PEOPLE:
            return JSONResponse({"error": "pick a person"}, status_code=400)
        every = request.query_params.get("session") == "all"
        try:
            return start_idp_logout(standin, server, person, every)
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/metadata", metadata),
            Route("/sso", sso, methods=["GET", "POST"]),
            Route("/slo", slo),
            Route("/initiate-logout", initiate_logout),
            Route("/healthz", healthz),
        ]
    )


def _standin_from_env() -> StandIn:
    key = os.environ.get("LATVIJA_STANDIN_KEY_PEM")
    cert = os.environ.get("LATVIJA_STANDIN_CERT_PEM")
    if not key or not cert:
        key, cert = key_pair()
    sp_metadata = os.environ.get("LATVIJA_STANDIN_SP_METADATA", DEFAULT_SP_METADATA)
    return StandIn(key, cert, sp_metadata, os.environ.get("LATVIJA_STANDIN_URL"))


app = create_app(_standin_from_env())
