"""SMS through a provider's HTTP API.

The request: `POST {sms_url}` with a bearer API key and JSON `{"to", "from", "text",
"reference"}`; the provider answers 201 (or 200 for a reference it has seen: it does not send
twice). 400/422 mean the number is not one it can reach (permanent); 429, 5xx, timeouts and
refused connections are temporary; 401/403 are our misconfiguration, retried until fixed.
"""

from __future__ import annotations

import httpx

from notifications_service.channels import Outgoing, PermanentFailure, TemporaryFailure
from notifications_service.config import NotificationsSettings


class SmsSender:
    """Sends `Outgoing` messages (their `text`) as SMS."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(timeout=settings.sms_timeout_s)

    async def send(self, message: Outgoing) -> None:
        """Hand the text to the provider; classify what it answers."""
        body = {
            "to": message.to,
            "from": self.settings.sms_sender,
            "text": message.text,
            "reference": message.reference,
        }
        key = self.settings.sms_api_key.get_secret_value()
        try:
            response = await self.client.post(
                self.settings.sms_url, json=body, headers={"Authorization": f"Bearer {key}"}
            )
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in (400, 422):
            raise PermanentFailure(f"{response.status_code} {response.text[:200]}")
        if not response.is_success:
            raise TemporaryFailure(f"{response.status_code} {response.text[:200]}")

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self.client.aclose()
