"""Events the notifications service publishes on `notifications.events`.

None yet: what a person was told stays here (it is about a person, and no other service
needs it). New event types get versioned payload models here, and their JSON Schemas are
generated from `PAYLOADS`.
"""

from __future__ import annotations

from pydantic import BaseModel

SOURCE = "/datori/notifications"
PREFIX = "lv.datori.notifications."

PAYLOADS: dict[str, type[BaseModel]] = {}
