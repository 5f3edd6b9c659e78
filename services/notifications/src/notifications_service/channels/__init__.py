"""The ways a message leaves the platform, behind one interface.

A sender takes an `Outgoing` and either returns (the provider accepted it) or raises
`TemporaryFailure` (try again later: the server is down, busy, or timed out) or
`PermanentFailure` (never again to this address: no such mailbox, not a mobile number).
E-mail goes over SMTP, SMS through a provider's HTTP API; the state's e-adrese would be one
more sender here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from notifications_service.config import NotificationsSettings
from notifications_service.kinds import Channel


@dataclass(frozen=True)
class Outgoing:
    """One message to one address, written in the recipient's language."""

    reference: str  # stable for every attempt (the delivery id): Message-ID, SMS reference
    to: str
    subject: str
    text: str
    html: str | None = None
    language: str = "lv"


class TemporaryFailure(Exception):
    """The provider did not take the message now; it may later."""


class PermanentFailure(Exception):
    """The provider refused the address for good."""


class Sender(Protocol):
    """Hands messages of one channel to its provider."""

    async def send(self, message: Outgoing) -> None:
        """Deliver `message` or raise `TemporaryFailure` / `PermanentFailure`."""

    async def close(self) -> None:
        """Release connections."""


def build_senders(settings: NotificationsSettings) -> dict[Channel, Sender]:
    """The sender of every channel, configured from the settings."""
    from notifications_service.channels.email import EmailSender
    from notifications_service.channels.sms import SmsSender

    return {Channel.EMAIL: EmailSender(settings), Channel.SMS: SmsSender(settings)}
