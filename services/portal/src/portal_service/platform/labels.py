"""What the platform pages call the notifications service's values (message ids, translated
where shown); the kinds of message are named as the notification settings name them."""

from __future__ import annotations

from portal_service.i18n import N_
from portal_service.notices.labels import kind_label

__all__ = ["CHANNELS", "OUTCOMES", "kind_label"]

# A delivery's channel, as a table cell.
CHANNELS: dict[str, str] = {"email": N_("E-mail"), "sms": N_("Text message")}
# What a retry came to, as the page's banner says it (the query's `outcome`).
OUTCOMES: dict[str, str] = {
    "retried": N_("Sending restarted"),
    "not-failed": N_("This message is no longer failed: it has been sent again already."),
}
