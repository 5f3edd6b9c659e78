"""The portal over real HTTP (no browser): headers, CSRF, sessions, language, catalogues."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from portal_service.models import WebSession
from portal_service.service import SessionCipher
from shared_kit.testing.catalogues import catalogue_problems

from .conftest import Portal, Stack

TRANSLATIONS = Path(__file__).parents[1] / "src" / "portal_service" / "translations"


def hidden_fields(page: str) -> dict[str, str]:
    pairs = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {unescape(k): unescape(v) for k, v in pairs}


PERSONAL_CODE = re.compile(r"\d{6}-?\d{5}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def login_over_http(http: httpx.AsyncClient, person: str, next_path: str = "/home") -> str:
    """Log a demo person in through the Mykoob stand-in, as a browser would; where it lands."""
    start = await http.get("/login/mykoob", params={"next": next_path})
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient(timeout=20) as outside:
        authorize = await outside.get(start.headers["location"])
        assert authorize.status_code == 302, authorize.text
        page = await outside.get(authorize.headers["location"])
        action = re.search(r'<form method="post" action="([^"]*)">', page.text)
        assert action is not None, page.text
        form = {**hidden_fields(page.text), "person": person, "decision": "approve", "school": ""}
        back = await outside.post(urljoin(str(page.url), unescape(action[1])), data=form)
        callback = await outside.get(back.headers["location"])  # the gateway's callback
    assert callback.status_code == 302, callback.text
    done = await http.get(callback.headers["location"])  # the portal's /login/callback
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


async def session_row(portal: Portal) -> WebSession:
    """The one session of a person (tests log in one at a time per client)."""
    async with portal.app.state.sessions() as db:
        rows = (await db.execute(select(WebSession).order_by(WebSession.created_at))).scalars()
        return list(rows)[-1]


class TestHeaders:
    async def test_start_page_has_a_strict_policy_with_a_nonce(
        self, http: httpx.AsyncClient
    ) -> None:
        r = await http.get("/")
        assert r.status_code == 200
        assert '<html lang="lv"' in r.text
        csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert nonce is not None
        assert f'<script nonce="{nonce[1]}">' in r.text
        assert r.text.count("<script") == 2  # that one and the module from /static
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"

    async def test_each_response_has_its_own_nonce(self, http: httpx.AsyncClient) -> None:
        first, second = await http.get("/"), await http.get("/")
        nonce = re.compile(r"'nonce-([^']+)'")
        assert nonce.search(first.headers["content-security-policy"]) != nonce.search(
            second.headers["content-security-policy"]
        )

    async def test_static_files_are_served_with_no_fonts(self, http: httpx.AsyncClient) -> None:
        css = await http.get("/static/portal.min.css")
        assert css.status_code == 200 and "govuk-generic-header" in css.text
        assert "GDS Transport" not in css.text and "@font-face" not in css.text
        assert (await http.get("/static/govuk/govuk-frontend.min.js")).status_code == 200
        assert (await http.get("/static/portal-init.mjs")).status_code == 200


class TestErrors:
    async def test_unknown_page_is_a_404_page(self, http: httpx.AsyncClient) -> None:
        r = await http.get("/no-such-page")
        assert r.status_code == 404
        assert "Lapa nav atrasta" in r.text and "govuk-template" in r.text

    async def test_unknown_provider_is_a_404_page(self, http: httpx.AsyncClient) -> None:
        assert (await http.get("/login/facebook")).status_code == 404

    async def test_callback_without_a_login_is_refused(self, http: httpx.AsyncClient) -> None:
        r = await http.get("/login/callback", params={"code": "x", "state": "y"})
        assert r.status_code == 400
        assert "Pieteikšanās netika pabeigta" in r.text


class TestCsrf:
    async def test_post_without_a_session_or_token_is_refused(
        self, http: httpx.AsyncClient
    ) -> None:
        r = await http.post("/logout", data={})
        assert r.status_code == 400
        assert "Veidlapas derīgums ir beidzies" in r.text

    async def test_post_without_the_token_is_refused_and_the_session_lives(
        self, http: httpx.AsyncClient, portal: Portal
    ) -> None:
        await login_over_http(http, "guardian")
        assert (await http.post("/logout", data={})).status_code == 400
        assert (await http.post("/logout", data={"csrf_token": "forged"})).status_code == 400
        assert (await http.get("/home")).status_code == 200  # still logged in

    async def test_post_from_another_site_is_refused(self, http: httpx.AsyncClient) -> None:
        await login_over_http(http, "guardian")
        home = await http.get("/home")
        token = hidden_fields(home.text)["csrf_token"]
        r = await http.post(
            "/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
        )
        assert r.status_code == 400
        assert (await http.post("/logout", data={"csrf_token": token})).status_code == 303


class TestLogin:
    async def test_login_lands_on_home_with_the_name_and_children(
        self, http: httpx.AsyncClient
    ) -> None:
        assert await login_over_http(http, "guardian") == "/home"
        home = await http.get("/home")
        assert home.status_code == 200
        assert "Labdien, Ilze!" in home.text
        assert "Marta Bērziņa" in home.text and "Rīgas Demo 2. vidusskola" in home.text
        assert "2. klase (2.a)" in home.text

    async def test_the_session_id_is_renewed_at_login(
        self, http: httpx.AsyncClient, portal: Portal
    ) -> None:
        await http.get("/login/mykoob")
        before = http.cookies.get(portal.settings.session_cookie)
        await login_over_http(http, "school_admin")
        after = http.cookies.get(portal.settings.session_cookie)
        assert before and after and before != after

    async def test_cookie_is_http_only_and_lax(self, http: httpx.AsyncClient) -> None:
        start = await http.get("/login/mykoob")
        cookie = start.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie

    async def test_no_personal_code_in_any_page(
        self, http: httpx.AsyncClient, stack: Stack
    ) -> None:
        await login_over_http(http, "guardian")
        pages = [await http.get(p) for p in ("/home", "/accessibility", "/")]
        for page in pages:
            # An id's hex digits can run to eleven digits in a row (a child's link on /home
            # did, 024631908340): ids are not codes.
            assert not PERSONAL_CODE.search(UUID.sub("", page.text))


class TestSessions:
    async def test_a_page_needing_login_goes_there_and_back(self, http: httpx.AsyncClient) -> None:
        r = await http.get("/home")
        assert r.status_code == 303
        assert parse_qs(urlsplit(r.headers["location"]).query)["next"] == ["/home"]
        start = await http.get(r.headers["location"])
        assert "/login/latvija?next=%2Fhome" in start.text

    async def test_idle_session_goes_to_login_and_back(
        self, http: httpx.AsyncClient, portal: Portal
    ) -> None:
        await login_over_http(http, "guardian")
        row = await session_row(portal)
        idle = dt.timedelta(seconds=portal.settings.session_idle_timeout_s + 1)
        async with portal.app.state.sessions() as db, db.begin():
            await db.execute(
                update(WebSession)
                .where(WebSession.id == row.id)
                .values(last_seen_at=WebSession.last_seen_at - idle)
            )
        r = await http.get("/accessibility?x=1")  # a public page stays public
        assert r.status_code == 200
        r = await http.get("/home")
        assert r.status_code == 303 and r.headers["location"] == "/?next=%2Fhome"
        assert "Lai turpinātu, piesakieties" in (await http.get(r.headers["location"])).text
        assert await login_over_http(http, "guardian", "/accessibility") == "/accessibility"

    async def test_an_expired_access_token_is_refreshed(
        self, http: httpx.AsyncClient, portal: Portal
    ) -> None:
        await login_over_http(http, "guardian")
        row = await session_row(portal)
        cipher = SessionCipher(portal.settings.session_key.get_secret_value())
        before = cipher.open(row.secrets_encrypted)
        async with portal.app.state.sessions() as db, db.begin():
            await db.execute(
                update(WebSession)
                .where(WebSession.id == row.id)
                .values(access_expires_at=dt.datetime.now(dt.UTC))
            )
        assert (await http.get("/home")).status_code == 200
        after = cipher.open((await session_row(portal)).secrets_encrypted)
        assert after["refresh_token"] != before["refresh_token"]
        assert after["access_token"] != before["access_token"]

    async def test_tokens_are_encrypted_at_rest(
        self, http: httpx.AsyncClient, portal: Portal
    ) -> None:
        await login_over_http(http, "guardian")
        row = await session_row(portal)
        assert row.secrets_encrypted and "Ilze" not in row.secrets_encrypted
        assert http.cookies.get(portal.settings.session_cookie) not in row.token_sha256

    async def test_logout_ends_the_gateway_session(
        self, http: httpx.AsyncClient, portal: Portal, stack: Stack
    ) -> None:
        await login_over_http(http, "guardian")
        row = await session_row(portal)
        refresh = SessionCipher(portal.settings.session_key.get_secret_value()).open(
            row.secrets_encrypted
        )["refresh_token"]
        token = hidden_fields((await http.get("/home")).text)["csrf_token"]
        out = await http.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303
        assert out.headers["location"] == f"{portal.url}/logged-out"
        assert (await http.get("/home")).status_code == 303
        async with httpx.AsyncClient() as outside:
            dead = await outside.post(
                f"{stack.gateway}/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": refresh},
            )
        assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


class TestLanguage:
    async def test_switch_is_remembered_and_goes_back(
        self, http: httpx.AsyncClient, portal: Portal
    ) -> None:
        r = await http.get("/language/en", params={"next": "/accessibility"})
        assert r.status_code == 303 and r.headers["location"] == "/accessibility"
        page = await http.get("/accessibility")
        assert '<html lang="en"' in page.text and "Accessibility statement" in page.text
        assert 'href="/language/lv?next=%2Faccessibility"' in page.text

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil"])
    async def test_switch_never_leaves_the_portal(
        self, http: httpx.AsyncClient, target: str
    ) -> None:
        r = await http.get("/language/en", params={"next": target})
        assert r.headers["location"] == "/"


class TestCatalogues:
    @pytest.mark.parametrize("lang", ["lv", "en"])
    def test_every_message_is_translated(self, lang: str) -> None:
        assert catalogue_problems(TRANSLATIONS, lang) == [], "run python -m portal_service.i18n"
