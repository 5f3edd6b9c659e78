"""Latvija.lv login end to end over real HTTP: the SAML IdP and VIIS stand-ins as processes.

The gateway runs in-process; the test plays the browser: gateway → signed AuthnRequest
(HTTP-Redirect) → the stand-in's pick page → its auto-submitting form → the gateway's ACS →
return_to with a code → token exchange with PKCE → access token checked with the kit's verifier.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import SecretStr

from gateway_service.config import GatewaySettings
from gateway_service.login import latvija
from gateway_service.main import create_app
from shared_kit.testing.client import running_app
from shared_kit.testing.gateway import Process
from shared_kit.testing.http import problem
from shared_kit.testing.infra import free_port

from .conftest import ISSUER
from .test_login_oauth import (
    APP,
    APP_STATE,
    RETURN_TO,
    VIIS_KEY,
    Login,
    StandIns,
    assert_no_personal_code,
    claims_of,
    login,
    standins,
)

pytestmark = pytest.mark.slow

__all__ = ["standins"]  # the E-klase and Mykoob stand-ins, for the account-linking test


@dataclass
class SamlIdP:
    """The Latvija.lv stand-in and the SP key pair the gateway uses with it."""

    process: Process
    key_pem: str
    cert_pem: str


@pytest.fixture(scope="session")
def saml_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdP]:
    """The IdP stand-in, told our SP's metadata (a file: the gateway runs in-process)."""
    key_pem, cert_pem = latvija.dev_key_pair()
    metadata = Path(tmp_path_factory.mktemp("saml")) / "sp.xml"
    metadata.write_text(latvija.sp_metadata(_endpoints(key_pem, cert_pem, "unused")))
    process = Process("latvija_standin:app", {"LATVIJA_STANDIN_SP_METADATA": str(metadata)})
    try:
        yield SamlIdP(process, key_pem, cert_pem)
    finally:
        process.stop()


def _endpoints(key_pem: str, cert_pem: str, idp_metadata: str) -> latvija.SamlEndpoints:
    return latvija.SamlEndpoints(
        entity_id=f"{ISSUER}/login/latvija/metadata",
        acs_url=f"{ISSUER}/login/latvija/acs",
        slo_url=f"{ISSUER}/login/latvija/slo",
        key_pem=key_pem,
        cert_pem=cert_pem,
        idp_metadata=idp_metadata,
    )


@pytest.fixture
def settings(settings: GatewaySettings, standins: StandIns, saml_idp: SamlIdP) -> GatewaySettings:
    """Test settings pointed at the SAML, OAuth and VIIS stand-ins."""
    eklase, mykoob = standins.eklase.url, standins.mykoob.url
    return settings.model_copy(
        update={
            "return_to_allowed": [APP],
            "viis_url": standins.viis.url,
            "viis_api_key": SecretStr(VIIS_KEY),
            "eklase_authorize_url": f"{eklase}/authorize",
            "eklase_token_url": f"{eklase}/token",
            "eklase_profile_url": f"{eklase}/profile",
            "mykoob_authorize_url": f"{mykoob}/oauth/authorize",
            "mykoob_token_url": f"{mykoob}/oauth/token",
            "mykoob_api_url": f"{mykoob}/api/v1",
            "saml_sp_key_pem": SecretStr(saml_idp.key_pem),
            "saml_sp_cert_pem": saml_idp.cert_pem,
            "latvija_idp_metadata_url": f"{saml_idp.process.url}/metadata",
        }
    )


def _hidden_fields(page: str) -> dict[str, str]:
    pairs = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {unescape(k): unescape(v) for k, v in pairs}


@dataclass
class Posted:
    """The signed Response the stand-in's auto-submitting form carries to our ACS."""

    action: str
    fields: dict[str, str]
    code_verifier: str


async def at_idp(client: httpx.AsyncClient, person: str, **form: str) -> Posted:
    """Start a Latvija.lv login and pick a person at the IdP; returns what it would POST."""
    code_verifier = secrets.token_urlsafe(48)
    params = {
        "return_to": RETURN_TO,
        "state": APP_STATE,
        "code_challenge": create_s256_code_challenge(code_verifier),
    }
    start = await client.get("/login/latvija", params=params)
    assert start.status_code == 302, start.text
    sso = start.headers["location"]
    assert "Signature=" in sso and "SigAlg=" in sso and "RelayState=" in sso
    assert_no_personal_code(sso)
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(sso)
        assert page.status_code == 200, page.text
        posted = await browser.post(
            sso.split("?")[0], data={**_hidden_fields(page.text), "person": person, **form}
        )
    assert posted.status_code == 200, posted.text
    assert 'onload="document.forms[0].submit()"' in posted.text
    action = re.search(r'<form method="post" action="([^"]*)">', posted.text)
    assert action is not None
    return Posted(unescape(action[1]), _hidden_fields(posted.text), code_verifier)


async def post_to_acs(client: httpx.AsyncClient, posted: Posted) -> Login:
    """The browser's auto-submitted POST to the gateway's ACS."""
    parts = urlsplit(posted.action)
    assert (parts.netloc, parts.path) == ("gateway.test", "/login/latvija/acs")
    response = await client.post(parts.path, data=posted.fields)
    return Login(posted.action, response, posted.code_verifier)


class TestLatvijaLogin:
    @pytest.mark.parametrize(
        ("method", "amr"),
        [("bank", "bank"), ("eid", "eid"), ("eparaksts", "eparaksts"), ("smart-id", "smartid")],
    )
    async def test_guardian_logs_in_with_each_method(
        self, client: httpx.AsyncClient, method: str, amr: str
    ) -> None:
        done = await post_to_acs(client, await at_idp(client, "guardian", method=method))
        assert done.response.status_code == 302, done.response.text
        assert_no_personal_code(done.response.headers["location"])
        claims = await claims_of(client, done)
        assert (claims["idp"], claims["amr"]) == ("latvija", [amr])
        assert claims["auth_time"] <= claims["iat"]
        assert claims["roles"] == ["guardian"] and len(claims["learners"]) == 2

    async def test_personal_code_stays_out_of_logs(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        posted = await at_idp(client, "learner")
        await claims_of(client, await post_to_acs(client, posted))
        refused = await at_idp(client, "learner", lifetime_s="-600")
        assert (await post_to_acs(client, refused)).response.status_code == 400
        assert caplog.records
        assert_no_personal_code(*(record.getMessage() for record in caplog.records))

    async def test_same_person_via_eklase_and_mykoob_has_the_same_sub(
        self, client: httpx.AsyncClient
    ) -> None:
        via_latvija = await claims_of(
            client, await post_to_acs(client, await at_idp(client, "learner"))
        )
        via_eklase = await claims_of(client, await login(client, "eklase", "learner"))
        via_mykoob = await claims_of(client, await login(client, "mykoob", "learner"))
        assert via_latvija["sub"] == via_eklase["sub"] == via_mykoob["sub"]
        assert via_latvija["sub"] != "010112-20004"

    async def test_sp_metadata_is_served(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/login/latvija/metadata")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/samlmetadata+xml")
        assert f'entityID="{ISSUER}/login/latvija/metadata"' in r.text
        assert f'Location="{ISSUER}/login/latvija/acs"' in r.text
        assert (
            "SingleLogoutService" in r.text and f'Location="{ISSUER}/login/latvija/slo"' in r.text
        )
        assert 'AuthnRequestsSigned="true"' in r.text and "X509Certificate" in r.text


def _tampered(saml_response: str) -> str:
    """The response with one character of the signed assertion content changed."""
    xml = base64.b64decode(saml_response).decode()
    changed = xml.replace(">Roberts<", ">Robertz<", 1)
    assert changed != xml
    return base64.b64encode(changed.encode()).decode()


class TestRefusedAssertions:
    """A browser posts the response to the ACS: whatever is wrong with it is a 400, not a 502."""

    async def _refused(self, client: httpx.AsyncClient, posted: Posted) -> httpx.Response:
        done = await post_to_acs(client, posted)
        problem(done.response, 400, "invalid-login-response")
        assert_no_personal_code(done.response.text)
        return done.response

    async def test_tampered_assertion_is_refused(self, client: httpx.AsyncClient) -> None:
        posted = await at_idp(client, "learner")
        posted.fields["SAMLResponse"] = _tampered(posted.fields["SAMLResponse"])
        await self._refused(client, posted)

    async def test_expired_assertion_is_refused(self, client: httpx.AsyncClient) -> None:
        await self._refused(client, await at_idp(client, "learner", lifetime_s="-600"))

    async def test_wrong_audience_is_refused(self, client: httpx.AsyncClient) -> None:
        posted = await at_idp(client, "learner", audience="https://other-sp.example/metadata")
        await self._refused(client, posted)

    async def test_replayed_response_is_refused(self, client: httpx.AsyncClient) -> None:
        posted = await at_idp(client, "learner")
        assert (await post_to_acs(client, posted)).response.status_code == 302
        again = await post_to_acs(client, posted)
        assert again.response.status_code == 400, again.response.text
        assert "already completed" in again.response.json()["detail"]

    async def test_response_to_another_request_is_refused(self, client: httpx.AsyncClient) -> None:
        first = await at_idp(client, "learner")
        second = await at_idp(client, "learner")
        # The first login's response under the second login's RelayState: InResponseTo differs.
        first.fields["RelayState"] = second.fields["RelayState"]
        await self._refused(client, first)

    async def test_missing_saml_response_is_a_problem(self, client: httpx.AsyncClient) -> None:
        posted = await at_idp(client, "learner")
        del posted.fields["SAMLResponse"]
        done = await post_to_acs(client, posted)
        assert done.response.status_code == 400, done.response.text


async def relay_state(client: httpx.AsyncClient, **extra: str) -> str:
    """Start a Latvija.lv login; the RelayState (our state) it sends to the IdP."""
    params = {"return_to": RETURN_TO, "code_challenge": "a" * 43, **extra}
    start = await client.get("/login/latvija", params=params)
    assert start.status_code == 302, start.text
    return parse_qs(urlsplit(start.headers["location"]).query)["RelayState"][0]


def b64(text: str) -> str:
    """Base64 of a text, as the HTTP-POST binding carries a message."""
    return base64.b64encode(text.encode()).decode()


GARBAGE = {
    "not base64": "%%% not base64 %%%",
    "not XML": b64("this is not XML"),
    "another root": b64(
        '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'
    ),
    "unknown root": b64("<greeting>labdien</greeting>"),
    "a DTD": b64('<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'),
}


class TestBadInputFromTheBrowser:
    @pytest.mark.parametrize("saml_response", GARBAGE.values(), ids=list(GARBAGE))
    async def test_garbage_at_the_acs_is_a_400(
        self, client: httpx.AsyncClient, saml_response: str
    ) -> None:
        form = {"SAMLResponse": saml_response, "RelayState": await relay_state(client)}
        r = await client.post("/login/latvija/acs", data=form)
        problem(r, 400, "invalid-login-response")

    async def test_a_browser_gets_the_error_page(self, client: httpx.AsyncClient) -> None:
        form = {"SAMLResponse": b64("<x/>"), "RelayState": await relay_state(client)}
        r = await client.post("/login/latvija/acs", data=form, headers={"Accept": "text/html"})
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in r.text

    @pytest.mark.parametrize(
        ("relay", "kind"),
        [
            ("", "invalid-login-state"),
            ("forged", "invalid-login-state"),
            ("x" * 501, "invalid-login-request"),
        ],
    )
    async def test_a_bad_relay_state_is_a_400(
        self, client: httpx.AsyncClient, relay: str, kind: str
    ) -> None:
        form = {"SAMLResponse": b64("<x/>"), "RelayState": relay}
        r = await client.post("/login/latvija/acs", data=form)
        problem(r, 400, kind)
        page = await client.post("/login/latvija/acs", data=form, headers={"Accept": "text/html"})
        assert page.status_code == 400 and 'role="alert"' in page.text

    async def test_cancelled_at_the_idp_is_a_400(self, client: httpx.AsyncClient) -> None:
        done = await post_to_acs(client, await at_idp(client, "learner", decision="deny"))
        problem(done.response, 400, "login-refused")


class TestIdentityProviderUnreachable:
    async def test_unreadable_metadata_at_the_acs_is_a_502(
        self, client: httpx.AsyncClient, settings: GatewaySettings
    ) -> None:
        state = await relay_state(client)  # started while the metadata could be read
        unreachable = f"http://127.0.0.1:{free_port()}/metadata"
        broken = settings.model_copy(update={"latvija_idp_metadata_url": unreachable})
        async with running_app(create_app(broken)) as other:
            form = {"SAMLResponse": b64("<x/>"), "RelayState": state}
            r = await other.post("/login/latvija/acs", data=form)
        problem(r, 502, "identity-provider-failed")


class TestSubjectParsing:
    @pytest.mark.parametrize(
        "name_id",
        ["PK:010112-20004", "AU:90000000000-PK:010112-20004", "PK:010112-20004-UR:40003000000"],
    )
    def test_the_pk_part_of_each_nameid_form(self, name_id: str) -> None:
        assert latvija.personal_code_of(name_id) == "010112-20004"

    def test_nameid_without_pk_is_refused(self) -> None:
        with pytest.raises(ValueError, match="PK"):
            latvija.personal_code_of("UR:40003000000")

    def test_current_code_is_the_nameids_else_the_last(self) -> None:
        values = ["010112-20004", "329999-00001"]
        assert latvija.current_code("010112-20004", values) == "010112-20004"
        assert latvija.current_code("010190-10001", values) == "329999-00001"
        assert latvija.current_code("010190-10001", []) == "010190-10001"

    @pytest.mark.parametrize(
        ("value", "amr"),
        [("Bank", "bank"), ("eID", "eid"), ("eParaksts", "eparaksts"), ("Smart-ID", "smartid")],
    )
    def test_authentication_method_maps_to_amr(self, value: str, amr: str) -> None:
        assert latvija.amr_of([value]) == (amr,)
