"""A person's contact points: set, verified by a one-time code, resent, removed.

The address is stored encrypted (the kit's `RotatingCipher` over `contact_key`) and shown to
nobody but its owner; the code is stored only as an HMAC-SHA256 under `code_pepper`. A code is
sent at once, inside the request's transaction: if the provider does not take it, the request
fails and nothing is stored, so no code waits that never arrived. Wrong guesses are counted,
and the last one allowed locks the contact point for a while (verify, resend, set and remove
all wait), so a person cannot guess a code for an address that is not theirs. And a person has
at most so many codes sent an hour, whatever the addresses, so that nobody can use the service
to send someone else message after message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.channels import Outgoing, PermanentFailure, Sender, TemporaryFailure
from notifications_service.config import NotificationsSettings
from notifications_service.exceptions import (
    AddressRefused,
    AlreadyVerified,
    CodeExpired,
    CodeNotSent,
    ContactPointLocked,
    ContactPointNotFound,
    InvalidAddress,
    NoCodePending,
    TooManyCodes,
    TooSoon,
    WrongCode,
)
from notifications_service.kinds import Channel
from notifications_service.messages import render
from notifications_service.models import ContactPoint
from notifications_service.repository.contacts import (
    ContactPointRepository,
    RecipientRepository,
)
from notifications_service.service.addresses import BadAddress, normalise
from shared_kit.crypto import RotatingCipher
from shared_kit.problems import ProblemError, field_error

LOCK = dt.timedelta(minutes=15)
RESEND_AFTER = dt.timedelta(seconds=60)
# Codes per person and hour, whatever the addresses: setting, removing and setting again
# must not turn the service into a way to send anyone any number of messages.
CODES_WINDOW = dt.timedelta(hours=1)
CODES_PER_WINDOW = 10
CODE_KIND = "verification_code"
ADDRESS = ("body", "address")


async def contact_points(
    *, session: AsyncSession, settings: NotificationsSettings, person_id: str
) -> list[tuple[ContactPoint, str]]:
    """The person's contact points with their addresses."""
    points: Sequence[ContactPoint] = await ContactPointRepository(session).of_person(person_id)
    return [(p, address_of(settings, p)) for p in points]


async def set_address(
    *,
    session: AsyncSession,
    settings: NotificationsSettings,
    senders: dict[Channel, Sender],
    person_id: str,
    channel: Channel,
    address: str,
    now: dt.datetime,
) -> tuple[ContactPoint, str]:
    """Store the address and send it a code; the same verified address again sends nothing."""
    wanted = _normalised(channel, address)
    await RecipientRepository(session).ensure(person_id)
    encrypted = _cipher(settings).encrypt(wanted).decode()
    repo = ContactPointRepository(session)
    point, created = await repo.lock_or_create(person_id, channel, encrypted)
    if not created:
        ensure_unlocked(point, now)
        if address_of(settings, point) == wanted:
            if _usable(point) or _code_just_sent(point, now):
                return point, wanted  # a repeated request: nothing new to send
        else:
            point.address_encrypted = encrypted
            point.verified_at = None
            point.rejected_at, point.rejected_reason = None, None
    await _send_code(session, settings, senders, point, wanted, now)
    return point, wanted


async def verify(
    *,
    session: AsyncSession,
    settings: NotificationsSettings,
    person_id: str,
    channel: Channel,
    code: str,
    now: dt.datetime,
) -> ContactPoint | ProblemError:
    """Check the code; a wrong one is counted and returned as the refusal to answer with
    (the caller commits the count: raising would roll it back)."""
    point = await _locked(session, person_id, channel)
    ensure_unlocked(point, now)
    if point.code_hash is None or point.code_expires_at is None:
        raise NoCodePending("Ask for a code first")
    if point.code_expires_at <= now:
        raise CodeExpired(code_expires_at=point.code_expires_at.isoformat())
    if not hmac.compare_digest(point.code_hash, _code_hash(settings, point, code)):
        return _wrong_guess(settings, point, now)
    point.verified_at = now
    point.rejected_at, point.rejected_reason = None, None
    _clear_code(point)
    return point


async def resend(
    *,
    session: AsyncSession,
    settings: NotificationsSettings,
    senders: dict[Channel, Sender],
    person_id: str,
    channel: Channel,
    now: dt.datetime,
) -> tuple[ContactPoint, str]:
    """Send a new code to the stored address (at most one a minute)."""
    point = await _locked(session, person_id, channel)
    ensure_unlocked(point, now)
    if _usable(point):
        raise AlreadyVerified()
    if point.code_sent_at is not None and now - point.code_sent_at < RESEND_AFTER:
        wait = RESEND_AFTER - (now - point.code_sent_at)
        seconds = max(1, int(wait.total_seconds()))
        raise TooSoon(headers={"Retry-After": str(seconds)}, retry_after=seconds)
    address = address_of(settings, point)
    await _send_code(session, settings, senders, point, address, now)
    return point, address


async def remove(
    *, session: AsyncSession, person_id: str, channel: Channel, now: dt.datetime
) -> None:
    """Erase the contact point and cancel what waits to be sent through it."""
    repo = ContactPointRepository(session)
    point = await _locked(session, person_id, channel)
    # Removing and setting again would start a fresh count of wrong guesses.
    ensure_unlocked(point, now)
    await repo.delete(point)
    await repo.cancel_pending_deliveries(person_id, channel)


def address_of(settings: NotificationsSettings, point: ContactPoint) -> str:
    """The stored address in clear."""
    return _cipher(settings).decrypt(point.address_encrypted)


def ensure_unlocked(point: ContactPoint, now: dt.datetime) -> None:
    """Refuse while the contact point is locked after too many wrong codes."""
    if point.locked_until is not None and point.locked_until > now:
        raise _locked_problem(point.locked_until, now)


def _normalised(channel: Channel, address: str) -> str:
    try:
        return normalise(channel, address)
    except BadAddress as exc:
        raise InvalidAddress(
            exc.reason, errors=[field_error(ADDRESS, exc.reason, exc.code)]
        ) from None


async def _locked(session: AsyncSession, person_id: str, channel: Channel) -> ContactPoint:
    point = await ContactPointRepository(session).lock(person_id, channel)
    if point is None:
        raise ContactPointNotFound()
    return point


def _usable(point: ContactPoint) -> bool:
    """Verified and not refused since: nothing to verify."""
    return point.verified_at is not None and point.rejected_at is None


def _code_just_sent(point: ContactPoint, now: dt.datetime) -> bool:
    sent, expires = point.code_sent_at, point.code_expires_at
    return (
        point.code_hash is not None
        and sent is not None
        and expires is not None
        and now - sent < RESEND_AFTER
        and expires > now
    )


def _wrong_guess(
    settings: NotificationsSettings, point: ContactPoint, now: dt.datetime
) -> ProblemError:
    point.code_attempts += 1
    left = settings.code_max_attempts - point.code_attempts
    if left > 0:
        return WrongCode(f"Wrong code; {left} attempts left", attempts_left=left)
    # The code is spent: after the lock a new one must be asked for.
    _clear_code(point)
    point.locked_until = now + LOCK
    return _locked_problem(point.locked_until, now)


def _locked_problem(until: dt.datetime, now: dt.datetime) -> ContactPointLocked:
    seconds = max(1, int((until - now).total_seconds()))
    return ContactPointLocked(headers={"Retry-After": str(seconds)}, locked_until=until.isoformat())


def _clear_code(point: ContactPoint) -> None:
    point.code_hash = None
    point.code_expires_at = None
    point.code_attempts = 0


async def _send_code(
    session: AsyncSession,
    settings: NotificationsSettings,
    senders: dict[Channel, Sender],
    point: ContactPoint,
    address: str,
    now: dt.datetime,
) -> None:
    """A new code on the point, sent to `address`; a provider's refusal fails the request."""
    await _take_code(session, point.person_id, now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    point.code_hash = _code_hash(settings, point, code)
    point.code_sent_at = now
    point.code_expires_at = now + dt.timedelta(seconds=settings.code_ttl_s)
    point.code_attempts = 0
    point.locked_until = None
    await session.flush()
    language = await RecipientRepository(session).language(point.person_id) or "lv"
    message = _code_message(settings, point.channel, address, code, language)
    try:
        await senders[point.channel].send(message)
    except TemporaryFailure:
        raise CodeNotSent(headers={"Retry-After": "60"}) from None
    except PermanentFailure:
        detail = "The provider refused this address; check it"
        raise AddressRefused(
            detail, errors=[field_error(ADDRESS, detail, "address_refused")]
        ) from None


async def _take_code(session: AsyncSession, person_id: str, now: dt.datetime) -> None:
    """Count the code against the person's hourly budget, or refuse it."""
    recipients = RecipientRepository(session)
    await recipients.ensure(person_id)
    taken = await recipients.take_code(
        person_id, now=now, window=CODES_WINDOW, limit=CODES_PER_WINDOW
    )
    if taken is None:
        start = await recipients.codes_window_start(person_id) or now
        seconds = max(1, int((start + CODES_WINDOW - now).total_seconds()))
        raise TooManyCodes(headers={"Retry-After": str(seconds)}, retry_after=seconds)


def _code_message(
    settings: NotificationsSettings, channel: Channel, address: str, code: str, language: str
) -> Outgoing:
    minutes = settings.code_ttl_s // 60
    params = {"code": code, "minutes": minutes}
    rendered = render(CODE_KIND, params, language, portal_url=settings.portal_url)
    sms = channel is Channel.SMS
    return Outgoing(
        reference=f"code-{uuid.uuid4().hex}",
        to=address,
        subject=rendered.subject,
        text=rendered.short if sms else rendered.text,
        html=None if sms else rendered.html,
        language=language,
    )


def _code_hash(settings: NotificationsSettings, point: ContactPoint, code: str) -> str:
    """HMAC-SHA256 of the code, bound to its person and channel."""
    key = settings.code_pepper.get_secret_value().encode()
    message = f"{point.person_id}\x1f{point.channel.value}\x1f{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _cipher(settings: NotificationsSettings) -> RotatingCipher:
    return RotatingCipher(settings.contact_key)
