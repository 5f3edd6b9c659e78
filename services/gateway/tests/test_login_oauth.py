"""E-klase and Mykoob logins end to end over real HTTP: stand-ins and VIIS as uvicorn processes.

The gateway runs in-process; the test plays the browser, following every redirect by hand:
gateway → stand-in authorize page → approve → gateway callback → return_to with a code →
token exchange with PKCE → access token checked with the kit's verifier.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import SecretStr

from gateway_service.config import GatewaySettings
from gateway_service.main import create_app
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.gateway import Process
from shared_kit.testing.http import problem
from shared_kit.testing.infra import free_port

from .conftest import verifier

pytestmark = pytest.mark.slow

DEV = Path(__file__).resolve().parents[3] / "deploy" / "dev"
VIIS_KEY = "test-viis-key"
APP = "http://app.test"
RETURN_TO = f"{APP}/after-login"
APP_STATE = "app-state-123"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


viis_standin = _load("viis_standin", DEV / "viis_standin.py")
PEOPLE = viis_standin.DEMO_PEOPLE
SCHOOL_1, SCHOOL_2 = viis_standin.DEMO_SCHOOL_1, viis_standin.DEMO_SCHOOL_2


@dataclass
class StandIns:
    viis: Process
    eklase: Process
    mykoob: Process


@pytest.fixture(scope="session")
def standins() -> Iterator[StandIns]:
    """VIIS, E-klase and Mykoob stand-ins for the whole session."""
    started: list[Process] = []
    try:
        for app, env in (
            ("viis_standin:app", {"VIIS_STANDIN_API_KEY": VIIS_KEY}),
            ("eklase_standin:app", None),
            ("mykoob_standin:app", None),
        ):
            started.append(Process(app, env or {}))
        yield StandIns(*started)
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def settings(settings: GatewaySettings, standins: StandIns) -> GatewaySettings:
    """The gateway's test settings pointed at the stand-ins, returning only to the test app."""
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
        }
    )


@dataclass
class Login:
    """What the browser saw: the gateway's callback answer and the app's PKCE verifier."""

    callback_url: str
    response: httpx.Response
    code_verifier: str


def _hidden_fields(page: str) -> dict[str, str]:
    pairs = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {unescape(k): unescape(v) for k, v in pairs}


async def approve_at_provider(authorize_url: str, **form: str) -> str:
    """Open the stand-in's authorize page, submit its form; returns where it redirects."""
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(authorize_url)
        assert page.status_code == 200, page.text
        assert "Approve" in page.text
        action = re.search(r'<form method="post" action="([^"]*)">', page.text)
        assert action is not None
        target = authorize_url.split("?")[0].rsplit(urlsplit(authorize_url).path, 1)[0]
        back = await browser.post(
            target + unescape(action[1]), data={**_hidden_fields(page.text), **form}
        )
    assert back.status_code == 302, back.text
    return back.headers["location"]


async def login(
    client: httpx.AsyncClient,
    provider: str,
    person: str,
    *,
    decision: str = "approve",
    school: str = "",
) -> Login:
    """Drive one login through the gateway and the provider stand-in up to the callback."""
    code_verifier = secrets.token_urlsafe(48)
    params = {
        "return_to": RETURN_TO,
        "state": APP_STATE,
        "code_challenge": create_s256_code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    start = await client.get(f"/login/{provider}", params=params)
    assert start.status_code == 302, start.text
    callback_url = await approve_at_provider(
        start.headers["location"], person=person, decision=decision, school=school
    )
    parts = urlsplit(callback_url)
    assert (parts.netloc, parts.path) == ("gateway.test", f"/login/{provider}/callback")
    response = await client.get(f"{parts.path}?{parts.query}")
    return Login(callback_url, response, code_verifier)


async def redeem(client: httpx.AsyncClient, done: Login, **override: str) -> httpx.Response:
    """Exchange the code of a finished login at /oauth/token (public client, PKCE)."""
    assert done.response.status_code == 302, done.response.text
    back = urlsplit(done.response.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == RETURN_TO
    query = parse_qs(back.query)
    assert query["state"] == [APP_STATE]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "code_verifier": done.code_verifier,
        "redirect_uri": RETURN_TO,
        **override,
    }
    return await client.post("/oauth/token", data=form)


async def claims_of(client: httpx.AsyncClient, done: Login) -> dict[str, Any]:
    """Redeem the code and verify the access token as a service would."""
    r = await redeem(client, done)
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"]
    principal = await verifier(client, "inventory").verify(r.json()["access_token"])
    return principal.claims


async def our_state(client: httpx.AsyncClient, provider: str, **extra: str) -> str:
    """Start a login; the `state` the gateway sends to the provider."""
    params = {"return_to": RETURN_TO, "code_challenge": "a" * 43, **extra}
    start = await client.get(f"/login/{provider}", params=params)
    assert start.status_code == 302, start.text
    return parse_qs(urlsplit(start.headers["location"]).query)["state"][0]


def assert_no_personal_code(*texts: str) -> None:
    """None of the demo people's personal codes shows up in the texts."""
    for person in PEOPLE.values():
        for text in texts:
            assert person.personal_code not in text
            assert person.personal_code.replace("-", "") not in text


class TestEklaseLogin:
    async def test_learner_logs_in_and_gets_a_token(self, client: httpx.AsyncClient) -> None:
        done = await login(client, "eklase", "learner")
        assert done.response.status_code == 302, done.response.text
        assert_no_personal_code(done.callback_url, done.response.headers["location"])
        claims = await claims_of(client, done)
        uuid.UUID(claims["sub"])  # opaque platform id, never the personal code
        assert claims["roles"] == ["learner"]
        assert claims["institutions"] == [SCHOOL_1]
        assert (claims["idp"], claims["amr"]) == ("eklase", ["pwd"])
        assert claims["auth_time"] <= claims["iat"]

    async def test_personal_code_stays_out_of_logs(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        await claims_of(client, await login(client, "mykoob", "learner"))
        assert caplog.records  # the HTTP clients did log their requests
        assert_no_personal_code(*(record.getMessage() for record in caplog.records))

    async def test_code_is_single_use(self, client: httpx.AsyncClient) -> None:
        done = await login(client, "eklase", "teacher")
        assert (await redeem(client, done)).status_code == 200
        again = await redeem(client, done)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    async def test_wrong_code_verifier_is_refused(self, client: httpx.AsyncClient) -> None:
        done = await login(client, "eklase", "teacher")
        r = await redeem(client, done, code_verifier=secrets.token_urlsafe(48))
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


class TestMykoobLogin:
    async def test_guardian_gets_their_children_as_learners(
        self, client: httpx.AsyncClient
    ) -> None:
        claims = await claims_of(client, await login(client, "mykoob", "guardian"))
        assert claims["roles"] == ["guardian"]
        assert (claims["idp"], claims["amr"]) == ("mykoob", ["pwd"])
        assert len(claims["learners"]) == 2
        child = await claims_of(client, await login(client, "eklase", "child_grade2"))
        assert child["sub"] in claims["learners"]
        assert child["roles"] == ["learner"]

    async def test_a_childs_own_login_names_its_school(self, client: httpx.AsyncClient) -> None:
        # A child's own token (its `sub` is one of the guardian's `learners`) names its school.
        guardian = await claims_of(client, await login(client, "mykoob", "guardian"))
        children = [
            await claims_of(client, await login(client, "eklase", name))
            for name in ("child_grade2", "child_grade5")
        ]
        assert sorted(guardian["learners"]) == sorted(child["sub"] for child in children)
        assert guardian.get("institutions", []) == []  # the guardian's own token names none
        assert [child["institutions"] for child in children] == [[SCHOOL_1], [SCHOOL_2]]

    async def test_school_admin_logs_in(self, client: httpx.AsyncClient) -> None:
        claims = await claims_of(client, await login(client, "mykoob", "school_admin"))
        assert claims["roles"] == ["institution_admin"]
        assert claims["institutions"] == [SCHOOL_1]


class TestAccountLinking:
    async def test_same_person_via_both_providers_is_one_sub(
        self, client: httpx.AsyncClient
    ) -> None:
        via_eklase = await claims_of(client, await login(client, "eklase", "teacher"))
        via_mykoob = await claims_of(client, await login(client, "mykoob", "teacher"))
        assert via_eklase["sub"] == via_mykoob["sub"]
        assert (via_eklase["idp"], via_mykoob["idp"]) == ("eklase", "mykoob")
        assert via_eklase["roles"] == via_mykoob["roles"] == ["teacher"]


class TestConcurrentLogins:
    async def test_one_person_logging_in_several_times_at_once_gets_every_login(
        self, client: httpx.AsyncClient
    ) -> None:
        # A phone and a laptop, or a button pressed twice: each login locks the person's row
        # to announce their roles, after its new code's foreign key took a share of that row.
        await login(client, "mykoob", "guardian")  # known, with the children, from here on
        done = await asyncio.gather(*(login(client, "mykoob", "guardian") for _ in range(6)))
        assert [d.response.status_code for d in done] == [302] * 6
        subs = {(await claims_of(client, d))["sub"] for d in done}
        assert len(subs) == 1


class TestRefusals:
    async def test_replayed_state_is_refused(self, client: httpx.AsyncClient) -> None:
        done = await login(client, "mykoob", "learner")
        assert done.response.status_code == 302
        parts = urlsplit(done.callback_url)
        replay = await client.get(f"{parts.path}?{parts.query}")
        problem(replay, 400, "invalid-login-state")

    async def test_expired_attempt_and_code_are_refused(
        self, client: httpx.AsyncClient, settings: GatewaySettings, clock: TestClock
    ) -> None:
        params = {"return_to": RETURN_TO, "code_challenge": "a" * 43}
        start = await client.get("/login/eklase", params=params)
        callback = await approve_at_provider(start.headers["location"], person="learner")
        clock.advance(seconds=settings.login_attempt_ttl_s)
        parts = urlsplit(callback)
        late = await client.get(f"{parts.path}?{parts.query}")
        assert late.status_code == 400 and "expired" in late.json()["detail"]
        done = await login(client, "eklase", "learner")
        clock.advance(seconds=settings.authorization_code_ttl_s)
        r = await redeem(client, done)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    async def test_attempt_and_code_work_until_they_expire(
        self, client: httpx.AsyncClient, settings: GatewaySettings, clock: TestClock
    ) -> None:
        params = {"return_to": RETURN_TO, "code_challenge": "a" * 43}
        start = await client.get("/login/eklase", params=params)
        callback = await approve_at_provider(
            start.headers["location"], person="learner", decision="approve"
        )
        clock.advance(seconds=settings.login_attempt_ttl_s - 1)
        parts = urlsplit(callback)
        done = Login(callback, await client.get(f"{parts.path}?{parts.query}"), "")
        assert done.response.status_code == 302, done.response.text
        code = parse_qs(urlsplit(done.response.headers["location"]).query)["code"][0]
        clock.advance(seconds=settings.authorization_code_ttl_s - 1)
        form = {"grant_type": "authorization_code", "code": code, "code_verifier": "x" * 43}
        r = await client.post("/oauth/token", data=form)
        # Still known (not expired): only the verifier is wrong.
        assert (
            r.json()["error_description"] == "The code_verifier does not match the code_challenge"
        )

    async def test_unknown_state_is_refused(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/login/eklase/callback", params={"state": "forged", "code": "x"})
        problem(r, 400, "invalid-login-state")

    @pytest.mark.parametrize(
        "return_to",
        [
            "http://evil.test/after-login",
            "http://app.test.evil.test/after-login",
            "http://app.test@evil.test/",
            "https://app.test/after-login",
            "javascript:alert(1)",
        ],
    )
    async def test_unknown_return_to_is_refused(
        self, client: httpx.AsyncClient, return_to: str
    ) -> None:
        params = {"return_to": return_to, "code_challenge": "a" * 43}
        r = await client.get("/login/eklase", params=params)
        problem(r, 400, "return-to-not-allowed")

    async def test_school_mismatch_is_refused(self, client: httpx.AsyncClient) -> None:
        done = await login(client, "eklase", "learner", school=SCHOOL_2)
        problem(done.response, 403, "school-mismatch")
        assert_no_personal_code(done.response.text)

    async def test_school_mismatch_is_refused_for_mykoob(self, client: httpx.AsyncClient) -> None:
        done = await login(client, "mykoob", "teacher", school=SCHOOL_1)
        problem(done.response, 403, "school-mismatch")

    async def test_cancelled_login_is_a_clear_problem(self, client: httpx.AsyncClient) -> None:
        done = await login(client, "eklase", "learner", decision="deny")
        assert "error=access_denied" in done.callback_url
        body = problem(done.response, 400, "login-cancelled")
        assert "cancelled" in body["detail"]

    async def test_cancelled_login_page_for_browsers(self, client: httpx.AsyncClient) -> None:
        done = await login(client, "mykoob", "learner", decision="deny")
        parts = urlsplit(done.callback_url)
        # The state is spent by the first visit; a browser asking for HTML gets a page.
        r = await client.get(f"{parts.path}?{parts.query}", headers={"Accept": "text/html"})
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in r.text

    @pytest.mark.parametrize("provider", ["eklase", "mykoob"])
    async def test_garbage_code_is_a_400(self, client: httpx.AsyncClient, provider: str) -> None:
        # A real login's state with a code the provider never issued: the provider says
        # invalid_grant, which is the browser's bad input, not the provider failing.
        state = await our_state(client, provider)
        r = await client.get(
            f"/login/{provider}/callback", params={"state": state, "code": "garbage"}
        )
        problem(r, 400, "invalid-login-response")

    @pytest.mark.parametrize("error", ["server_error", "temporarily_unavailable", "x" * 300])
    async def test_an_error_from_the_provider_is_a_400(
        self, client: httpx.AsyncClient, error: str
    ) -> None:
        state = await our_state(client, "eklase")
        r = await client.get("/login/eklase/callback", params={"state": state, "error": error})
        problem(r, 400, "login-refused")

    @pytest.mark.parametrize(
        "params",
        [{}, {"code": "x"}, {"state": "x" * 10_000, "code": "x"}, {"state": "", "error": "x"}],
        ids=["nothing", "no state", "huge state", "empty state"],
    )
    async def test_a_callback_without_our_state_is_a_400(
        self, client: httpx.AsyncClient, params: dict[str, str]
    ) -> None:
        r = await client.get("/login/mykoob/callback", params=params)
        problem(r, 400, "invalid-login-state")

    async def test_unreachable_token_endpoint_is_a_502(
        self, client: httpx.AsyncClient, settings: GatewaySettings
    ) -> None:
        closed = f"http://127.0.0.1:{free_port()}/token"
        broken = settings.model_copy(update={"eklase_token_url": closed})
        async with running_app(create_app(broken)) as other:
            state = await our_state(other, "eklase")
            r = await other.get("/login/eklase/callback", params={"state": state, "code": "x"})
        problem(r, 502, "identity-provider-failed")

    async def test_unknown_provider_is_404(self, client: httpx.AsyncClient) -> None:
        params = {"return_to": RETURN_TO, "code_challenge": "a" * 43}
        r = await client.get("/login/facebook", params=params)
        problem(r, 404, "unknown-identity-provider")


class TestChoicePage:
    @pytest.mark.parametrize(("lang", "text"), [("lv", "Pieteikties ar"), ("en", "Log in with")])
    async def test_lists_both_providers(
        self, client: httpx.AsyncClient, lang: str, text: str
    ) -> None:
        params = {"lang": lang, "return_to": RETURN_TO, "code_challenge": "a" * 43}
        r = await client.get("/login", params=params)
        assert r.status_code == 200 and f'<html lang="{lang}" class="govuk-template">' in r.text
        assert f"{text} E-klase" in r.text and f"{text} Mykoob" in r.text
        assert "/login/eklase?return_to=" in r.text
