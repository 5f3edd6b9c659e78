"""Logout and Latvija.lv single logout end to end over real HTTP, with the SAML IdP stand-in.

The test plays the browser: the app's POST /logout → the IdP's SLO with our signed
LogoutRequest → the IdP's signed LogoutResponse at our SLO → the app's return_to; and the other
way round, the IdP's `/initiate-logout` knob → its signed LogoutRequest at our SLO → our signed
LogoutResponse back at the IdP, which checks it.
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from saml2.s_utils import decode_base64_and_inflate, deflate_and_base64_encode
from sqlalchemy import delete, select

from gateway_service.config import GatewaySettings
from gateway_service.main import create_app
from gateway_service.models import AuditEvent, LogoutAttempt
from shared_kit.testing.client import running_app
from shared_kit.testing.http import problem
from shared_kit.testing.infra import free_port

from .test_login_oauth import APP, assert_no_personal_code, login, redeem, standins
from .test_login_saml import SamlIdP, at_idp, post_to_acs, saml_idp, settings

pytestmark = pytest.mark.slow

__all__ = ["saml_idp", "settings", "standins"]

AFTER_LOGOUT = f"{APP}/after-logout"
SLO_PATH = "/login/latvija/slo"


async def latvija_tokens(client: httpx.AsyncClient, person: str = "learner") -> dict[str, Any]:
    """Log in through Latvija.lv and redeem the code: the app's tokens."""
    r = await redeem(client, await post_to_acs(client, await at_idp(client, person)))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def refresh(client: httpx.AsyncClient, tokens: dict[str, Any]) -> httpx.Response:
    """Use the refresh token."""
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    return await client.post("/oauth/token", data=form)


async def assert_ended(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    """The session of these tokens has ended: refreshing is an invalid_grant."""
    r = await refresh(client, tokens)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


async def logout(client: httpx.AsyncClient, tokens: dict[str, Any], **extra: str) -> httpx.Response:
    """The app's form POST to /logout."""
    form = {"refresh_token": tokens["refresh_token"], "return_to": AFTER_LOGOUT, **extra}
    return await client.post("/logout", data=form)


async def browse(url: str) -> httpx.Response:
    """The browser at the IdP stand-in (redirects not followed)."""
    async with httpx.AsyncClient(timeout=10) as browser:
        return await browser.get(url)


def at_our_slo(url: str) -> str:
    """The path and query of a redirect to our SLO (the gateway runs in-process)."""
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("gateway.test", SLO_PATH), url
    return f"{parts.path}?{parts.query}"


def changed(url: str, **params: str | None) -> str:
    """A redirect URL's path and query with parameters replaced (None: removed)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for name, value in params.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return f"{parts.path}?{urlencode(query)}"


def tampered(message: str) -> str:
    """An HTTP-Redirect SAML message with its ID changed (the signature no longer fits)."""
    xml = decode_base64_and_inflate(message).decode()
    edited = xml.replace(' ID="', ' ID="x', 1)
    assert edited != xml
    return str(deflate_and_base64_encode(edited).decode())


def param(url: str, name: str) -> str:
    """One query parameter of a URL."""
    return dict(parse_qsl(urlsplit(url).query))[name]


async def audit_rows(app: FastAPI) -> list[AuditEvent]:
    """The audit log of this test's database."""
    async with app.state.sessions() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all())


async def to_idp(client: httpx.AsyncClient, saml_idp: SamlIdP, tokens: dict[str, Any]) -> str:
    """POST /logout for a Latvija.lv session; returns the IdP's SLO URL it redirects to."""
    r = await logout(client, tokens, state="app-state-9")
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    assert url.startswith(f"{saml_idp.process.url}/slo?SAMLRequest=")
    assert "Signature=" in url and "SigAlg=" in url
    return url


async def idp_answer(client: httpx.AsyncClient, saml_idp: SamlIdP) -> str:
    """Log in, log out at the gateway, and let the IdP answer: its redirect back to our SLO."""
    tokens = await latvija_tokens(client)
    at_idp_slo = await browse(await to_idp(client, saml_idp, tokens))
    assert at_idp_slo.status_code == 302, at_idp_slo.text
    return at_idp_slo.headers["location"]


class TestSpInitiatedLogout:
    async def test_round_trip_revokes_and_lands_at_return_to(
        self, app: FastAPI, client: httpx.AsyncClient, saml_idp: SamlIdP
    ) -> None:
        tokens = await latvija_tokens(client)
        url = await to_idp(client, saml_idp, tokens)
        await assert_ended(client, tokens)  # revoked before the IdP hop
        at_idp_slo = await browse(url)
        assert at_idp_slo.status_code == 302, at_idp_slo.text
        back = at_idp_slo.headers["location"]
        assert "Signature=" in back
        done = await client.get(at_our_slo(back))
        assert done.status_code == 302, done.text
        assert done.headers["location"] == f"{AFTER_LOGOUT}?state=app-state-9"
        actions = [row.action for row in await audit_rows(app)]
        assert actions[-3:] == ["session.revoked", "logout.started", "logout.completed"]

    async def test_replayed_logout_response_is_refused(
        self, client: httpx.AsyncClient, saml_idp: SamlIdP
    ) -> None:
        back = await idp_answer(client, saml_idp)
        assert (await client.get(at_our_slo(back))).status_code == 302
        again = await client.get(at_our_slo(back))
        problem(again, 400, "invalid-logout-state")

    async def test_response_to_no_logout_of_ours_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, saml_idp: SamlIdP
    ) -> None:
        back = await idp_answer(client, saml_idp)
        async with app.state.sessions() as session, session.begin():
            await session.execute(delete(LogoutAttempt))
        r = await client.get(at_our_slo(back))
        assert r.status_code == 400 and "Unknown logout" in r.json()["detail"]

    @pytest.mark.parametrize("how", ["tampered", "unsigned", "weak-algorithm"])
    async def test_bad_logout_response_is_refused(
        self, client: httpx.AsyncClient, saml_idp: SamlIdP, how: str
    ) -> None:
        back = await idp_answer(client, saml_idp)
        edits: dict[str, dict[str, str | None]] = {
            "tampered": {"SAMLResponse": tampered(param(back, "SAMLResponse"))},
            "unsigned": {"Signature": None, "SigAlg": None},
            "weak-algorithm": {"SigAlg": "http://www.w3.org/2000/09/xmldsig#rsa-sha1"},
        }
        r = await client.get(changed(back, **edits[how]))
        problem(r, 400, "invalid-logout-request")
        # The genuine response still finishes the logout: nothing was used up.
        assert (await client.get(at_our_slo(back))).status_code == 302

    async def test_refused_response_is_a_page_for_browsers(
        self, client: httpx.AsyncClient, saml_idp: SamlIdP
    ) -> None:
        back = await idp_answer(client, saml_idp)
        r = await client.get(
            changed(back, Signature=None, lang="en"), headers={"Accept": "text/html"}
        )
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in r.text and "The logout did not finish" in r.text

    async def test_unknown_return_to_is_refused_and_nothing_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        tokens = await latvija_tokens(client)
        r = await client.post(
            "/logout",
            data={"refresh_token": tokens["refresh_token"], "return_to": "http://evil.test/x"},
        )
        problem(r, 400, "return-to-not-allowed")
        assert (await refresh(client, tokens)).status_code == 200


class TestIdpInitiatedLogout:
    async def _initiate(self, saml_idp: SamlIdP, person: str, **extra: str) -> str:
        query = urlencode({"person": person, **extra})
        r = await browse(f"{saml_idp.process.url}/initiate-logout?{query}")
        assert r.status_code == 302, r.text
        return r.headers["location"]

    async def test_revokes_that_session_and_answers_signed(
        self, app: FastAPI, client: httpx.AsyncClient, saml_idp: SamlIdP
    ) -> None:
        earlier = await latvija_tokens(client, "teacher")
        latest = await latvija_tokens(client, "teacher")
        request = await self._initiate(saml_idp, "teacher")
        answer = await client.get(at_our_slo(request))
        assert answer.status_code == 302, answer.text
        assert answer.headers["location"].startswith(f"{saml_idp.process.url}/slo?SAMLResponse=")
        checked = await browse(answer.headers["location"])  # the IdP verifies our signature
        assert checked.status_code == 200 and checked.json()["status"] == "logged-out"
        await assert_ended(client, latest)
        assert (await refresh(client, earlier)).status_code == 200  # another SAML session
        actions = [row.action for row in await audit_rows(app)]
        assert actions[-2:] == ["session.revoked", "logout.idp_initiated"]

    async def test_without_session_index_revokes_every_session(
        self, client: httpx.AsyncClient, saml_idp: SamlIdP
    ) -> None:
        first = await latvija_tokens(client, "guardian")
        second = await latvija_tokens(client, "guardian")
        request = await self._initiate(saml_idp, "guardian", session="all")
        assert (await client.get(at_our_slo(request))).status_code == 302
        await assert_ended(client, first)
        await assert_ended(client, second)

    @pytest.mark.parametrize("how", ["tampered", "unsigned"])
    async def test_bad_logout_request_is_refused(
        self, client: httpx.AsyncClient, saml_idp: SamlIdP, how: str
    ) -> None:
        tokens = await latvija_tokens(client, "school_admin")
        request = await self._initiate(saml_idp, "school_admin")
        edits: dict[str, dict[str, str | None]] = {
            "tampered": {"SAMLRequest": tampered(param(request, "SAMLRequest"))},
            "unsigned": {"Signature": None, "SigAlg": None},
        }
        r = await client.get(changed(request, **edits[how]))
        problem(r, 400, "invalid-logout-request")
        assert (await refresh(client, tokens)).status_code == 200


class TestOtherLogouts:
    async def test_eklase_session_just_revokes_and_returns(self, client: httpx.AsyncClient) -> None:
        r = await redeem(client, await login(client, "eklase", "learner"))
        tokens = r.json()
        done = await logout(client, tokens, state="s1")
        assert done.status_code == 303
        assert done.headers["location"] == f"{AFTER_LOGOUT}?state=s1"
        await assert_ended(client, tokens)

    async def test_json_logout_answers_where_to_go(self, client: httpx.AsyncClient) -> None:
        tokens = (await redeem(client, await login(client, "mykoob", "learner"))).json()
        body = {"refresh_token": tokens["refresh_token"], "return_to": AFTER_LOGOUT}
        r = await client.post("/logout", json=body)
        assert r.status_code == 200 and r.json() == {"redirect_to": AFTER_LOGOUT}
        await assert_ended(client, tokens)

    async def test_unknown_refresh_token_just_returns(self, client: httpx.AsyncClient) -> None:
        r = await logout(client, {"refresh_token": "not-a-token"})
        assert r.status_code == 303 and r.headers["location"] == AFTER_LOGOUT

    async def test_missing_refresh_token_is_a_problem(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/logout", data={"return_to": AFTER_LOGOUT})
        problem(r, 400, "invalid-logout-request")

    async def test_slo_without_a_message_is_a_problem(self, client: httpx.AsyncClient) -> None:
        r = await client.get(SLO_PATH)
        problem(r, 400, "invalid-logout-request")


SIGNED = {"SigAlg": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "Signature": "c2ln"}
GARBAGE = {
    "not base64": "%%% not base64 %%%",
    "not deflated": base64.b64encode(b"<x/>").decode(),
    "not XML": deflate_and_base64_encode("this is not XML").decode(),
    "another root": deflate_and_base64_encode("<greeting>labdien</greeting>").decode(),
}


class TestBadInputFromTheBrowser:
    """Whatever a browser brings to the SLO is a 400 (a page for a browser), never a 502."""

    @pytest.mark.parametrize("message", ["SAMLResponse", "SAMLRequest"])
    @pytest.mark.parametrize("value", GARBAGE.values(), ids=list(GARBAGE))
    @pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "garbage-signature"])
    async def test_garbage_is_a_400(
        self, client: httpx.AsyncClient, message: str, value: str, signed: bool
    ) -> None:
        params = {message: value, "RelayState": "x", **(SIGNED if signed else {})}
        r = await client.get(SLO_PATH, params=params)
        problem(r, 400, "invalid-logout-request")

    @pytest.mark.parametrize("lang", ["lv", "en"])
    async def test_a_browser_gets_the_error_page(
        self, client: httpx.AsyncClient, lang: str
    ) -> None:
        params = {"SAMLResponse": "garbage", "lang": lang}
        r = await client.get(SLO_PATH, params=params, headers={"Accept": "text/html"})
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
        assert f'<html lang="{lang}" class="govuk-template">' in r.text and 'role="alert"' in r.text

    @pytest.mark.parametrize("name", ["RelayState", "SigAlg", "Signature"])
    async def test_an_oversized_parameter_is_a_400(
        self, client: httpx.AsyncClient, name: str
    ) -> None:
        params = {"SAMLResponse": "x", name: "x" * 2001}
        r = await client.get(SLO_PATH, params=params)
        problem(r, 400, "invalid-logout-request")
        page = await client.get(SLO_PATH, params=params, headers={"Accept": "text/html"})
        assert page.status_code == 400 and "Izrakstīšanās netika pabeigta" in page.text

    async def test_unreadable_metadata_is_a_502(
        self, client: httpx.AsyncClient, settings: GatewaySettings
    ) -> None:
        unreachable = f"http://127.0.0.1:{free_port()}/metadata"
        broken = settings.model_copy(update={"latvija_idp_metadata_url": unreachable})
        async with running_app(create_app(broken)) as other:
            r = await other.get(SLO_PATH, params={"SAMLResponse": "garbage"})
        problem(r, 502, "identity-provider-failed")


class TestNoPersonalCode:
    async def test_not_in_logs_audit_or_redirects(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        saml_idp: SamlIdP,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        back = await idp_answer(client, saml_idp)
        done = await client.get(at_our_slo(back))
        await latvija_tokens(client, "learner")
        request = await TestIdpInitiatedLogout()._initiate(saml_idp, "learner")
        answer = await client.get(at_our_slo(request))
        refused = await client.get(changed(back, Signature=None))
        assert refused.status_code == 400
        texts = [back, request, done.headers["location"], answer.headers["location"]]
        texts += [refused.text, *(record.getMessage() for record in caplog.records)]
        texts += [f"{row.actor} {row.target} {row.details}" for row in await audit_rows(app)]
        assert_no_personal_code(*texts)
