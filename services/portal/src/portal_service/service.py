"""Web sessions: created for a login, renewed when it completes, timed out, refreshed, ended.

The cookie holds only a random token; the table keeps its SHA-256. The person's tokens (access
and refresh) and profile live in the row, encrypted with the session key (Fernet), and are
refreshed at the gateway when the access token is about to expire, one request at a time.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal_service.config import PortalSettings
from portal_service.exceptions import LoginFailed, LoginRequired, StepUpRefused
from portal_service.models import WebSession
from portal_service.repository import WebSessionRepository
from portal_service.web.gateway import GatewayClient, Profile, RefreshRefused, Tokens
from shared_kit.crypto import RotatingCipher

# A session's last_seen_at is written at most this often (not on every page).
TOUCH_INTERVAL = dt.timedelta(seconds=60)


def now() -> dt.datetime:
    """The current time (UTC, aware)."""
    return dt.datetime.now(dt.UTC)


def new_secret() -> str:
    """A random, URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the table keeps of a cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256 code challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SessionCipher:
    """A session's secrets as one JSON document, encrypted with the kit's rotating cipher."""

    def __init__(self, keys: str) -> None:
        self._cipher = RotatingCipher(keys)

    def seal(self, data: dict[str, Any]) -> str:
        """Encrypt a JSON document."""
        return self._cipher.encrypt(json.dumps(data)).decode()

    def open(self, token: str | None) -> dict[str, Any]:
        """Decrypt one; an unreadable one (a retired key) is empty."""
        if not token:
            return {}
        try:
            return dict(json.loads(self._cipher.decrypt(token)))
        except ValueError:
            return {}


@dataclass(frozen=True)
class PendingLogin:
    """A login under way: our state, the PKCE verifier, and where to return afterwards."""

    state: str
    verifier: str
    next_path: str
    # A step-up (a stronger login in the middle of a task): the person it must be again.
    person_id: str | None = None


def safe_next(path: str | None, default: str = "/home") -> str:
    """A local path to return to; anything else (another host, `//x`, `/\\x`) is the default."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")) or "\n" in path:
        return default
    return path


def _expired(row: WebSession, settings: PortalSettings, at: dt.datetime) -> bool:
    idle = dt.timedelta(seconds=settings.session_idle_timeout_s)
    return row.expires_at <= at or row.last_seen_at <= at - idle


async def load_session(
    *, session: AsyncSession, settings: PortalSettings, cookie: str | None
) -> WebSession | None:
    """The live session of a cookie; an expired one is deleted and is None."""
    if not cookie or len(cookie) > 100:
        return None
    repo = WebSessionRepository(session)
    row = await repo.by_token(token_hash(cookie))
    at = now()
    if row is None:
        return None
    if _expired(row, settings, at):
        await repo.remove(row)
        return None
    if at - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = at
    return row


async def start_login(
    *,
    session: AsyncSession,
    settings: PortalSettings,
    current: WebSession | None,
    next_path: str,
    step_up: bool = False,
) -> tuple[str, PendingLogin]:
    """A fresh anonymous session holding the login's PKCE verifier; its cookie and the login.

    A step-up started from a logged-in session must log the same person in again."""
    repo = WebSessionRepository(session)
    same = str(current.person_id) if step_up and current and current.person_id else None
    if current is not None:
        await repo.remove(current)  # a new login never continues an old session
    pending = PendingLogin(new_secret(), secrets.token_urlsafe(48), safe_next(next_path), same)
    cookie, at = new_secret(), now()
    await repo.add(
        WebSession(
            token_sha256=token_hash(cookie),
            csrf_token=new_secret(),
            secrets_encrypted=SessionCipher(settings.session_key.get_secret_value()).seal(
                {"login": vars(pending)}
            ),
            last_seen_at=at,
            # A login left unfinished lasts no longer than the gateway's own attempt.
            expires_at=at + dt.timedelta(seconds=min(settings.session_absolute_timeout_s, 900)),
        )
    )
    return cookie, pending


async def complete_login(
    *,
    session: AsyncSession,
    settings: PortalSettings,
    current: WebSession | None,
    state: str | None,
    code: str | None,
    gateway: GatewayClient,
) -> tuple[str, str]:
    """Redeem the code of the login this session started; a new cookie and where to go."""
    cipher = SessionCipher(settings.session_key.get_secret_value())
    pending = cipher.open(current.secrets_encrypted).get("login") if current else None
    if current is None or not pending or not state or not code:
        raise LoginFailed("no login is under way in this browser")
    if not hmac.compare_digest(pending["state"], state):
        raise LoginFailed("the login's state does not match")
    redirect_uri = f"{settings.public_url.rstrip('/')}/login/callback"
    tokens = await gateway.redeem_code(code, pending["verifier"], redirect_uri)
    profile = await gateway.me(tokens.access_token)
    expected = pending.get("person_id")
    if expected is not None and expected != profile.id:
        # Someone else logged in at the identity provider: the session stays anonymous (the
        # person's own ended when the step-up started), so nobody's continues.
        raise StepUpRefused("the stronger login was of another person")
    cookie, at = new_secret(), now()
    # Renewed at login: the anonymous session's id and CSRF token are never a person's.
    current.token_sha256, current.csrf_token = token_hash(cookie), new_secret()
    current.person_id = uuid.UUID(profile.id)
    current.authenticated_at = current.last_seen_at = at
    current.expires_at = at + dt.timedelta(seconds=settings.session_absolute_timeout_s)
    _keep_tokens(current, cipher, tokens, profile, at)
    await session.flush()
    return cookie, safe_next(pending["next_path"])


def _keep_tokens(
    row: WebSession, cipher: SessionCipher, tokens: Tokens, profile: Profile, at: dt.datetime
) -> None:
    # Answers a multi-step form keeps in the session (families/reserve.py) outlive a refresh.
    drafts = cipher.open(row.secrets_encrypted).get("drafts") or {}
    row.secrets_encrypted = cipher.seal(
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "profile": profile.model_dump(),
            "drafts": drafts,
        }
    )
    row.access_expires_at = at + dt.timedelta(seconds=tokens.expires_in)


def profile_of(row: WebSession, settings: PortalSettings) -> Profile | None:
    """The logged-in person's profile (None for an anonymous session)."""
    if row.person_id is None:
        return None
    data = SessionCipher(settings.session_key.get_secret_value()).open(row.secrets_encrypted)
    return Profile.model_validate(data["profile"]) if "profile" in data else None


async def access_token(
    *,
    session: AsyncSession,
    settings: PortalSettings,
    row: WebSession,
    gateway: GatewayClient,
    next_path: str,
) -> str:
    """A live access token of the session, refreshed first when it is about to expire."""
    cipher = SessionCipher(settings.session_key.get_secret_value())
    margin = dt.timedelta(seconds=settings.token_refresh_margin_s)
    if row.access_expires_at is not None and row.access_expires_at > now() + margin:
        return str(cipher.open(row.secrets_encrypted)["access_token"])
    # One refresh per session at a time: a second one with the spent refresh token would make
    # the gateway end the whole session (reuse detection). Whoever waited finds it done.
    locked = await WebSessionRepository(session).get_for_update(row.id)
    if locked is None or locked.person_id is None:
        raise LoginRequired(next_path)
    data = cipher.open(locked.secrets_encrypted)
    if locked.access_expires_at is not None and locked.access_expires_at > now() + margin:
        return str(data["access_token"])
    try:
        tokens = await gateway.refresh(data["refresh_token"])
    except (RefreshRefused, KeyError):
        await WebSessionRepository(session).remove(locked)
        raise LoginRequired(next_path) from None
    _keep_tokens(locked, cipher, tokens, Profile.model_validate(data["profile"]), now())
    return tokens.access_token


async def end_session(
    *,
    session: AsyncSession,
    settings: PortalSettings,
    row: WebSession,
    gateway: GatewayClient,
    return_to: str,
) -> str:
    """Delete the session and end the gateway's; where the browser goes next."""
    data = SessionCipher(settings.session_key.get_secret_value()).open(row.secrets_encrypted)
    await WebSessionRepository(session).remove(row)
    refresh = data.get("refresh_token")
    if not refresh:
        return return_to
    return await gateway.logout(refresh, return_to)


def session_purge(
    settings: PortalSettings,
) -> Callable[[AsyncSession, dt.datetime], Awaitable[dict[str, int]]]:
    """Housekeeping: delete sessions past their idle or absolute timeout."""
    idle = dt.timedelta(seconds=settings.session_idle_timeout_s)

    async def purge(session: AsyncSession, at: dt.datetime) -> dict[str, int]:
        return {"web_sessions": await WebSessionRepository(session).delete_expired(at, idle)}

    return purge
