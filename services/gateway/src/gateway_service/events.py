"""Events the gateway publishes on `identity.events`.

None yet: no other service needs identity changes today (tokens carry roles and tenancy),
and personal codes must never ride in events. New event types get versioned payload models
here, and their JSON Schemas are generated from `PAYLOADS`.
"""

from __future__ import annotations

from pydantic import BaseModel

SOURCE = "/datori/gateway"
PREFIX = "lv.datori.identity."

PAYLOADS: dict[str, type[BaseModel]] = {}
