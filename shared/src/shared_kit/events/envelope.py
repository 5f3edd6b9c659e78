"""CloudEvents 1.0 envelope in Kafka binary content mode (`ce_*` headers, JSON data)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SPEC_VERSION = "1.0"
JSON = "application/json"
# Extension attributes this platform adds to every event (lower-case alphanumerics per spec).
EXTENSIONS = ("municipality", "correlationid")


class InvalidEvent(ValueError):
    """A Kafka record that is not a well-formed CloudEvent."""


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """One event; `subject` is the aggregate id and doubles as the Kafka key."""

    type: str
    source: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = JSON
    municipality: str | None = None
    correlationid: str | None = None

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Binary-mode headers: `ce_` + attribute name, `content-type` for the data."""
        attrs: dict[str, str | None] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "subject": self.subject,
            "municipality": self.municipality,
            "correlationid": self.correlationid,
        }
        headers = [(f"ce_{k}", v.encode()) for k, v in attrs.items() if v is not None]
        headers.append(("content-type", self.datacontenttype.encode()))
        return headers

    def kafka_value(self) -> bytes:
        """The event data as compact JSON."""
        return json.dumps(self.data, separators=(",", ":"), default=str).encode()

    @classmethod
    def from_kafka(
        cls, headers: list[tuple[str, bytes]] | tuple, value: bytes | None
    ) -> CloudEvent:
        """Read a binary-mode record; raise InvalidEvent when it is not one."""
        attrs = {k.removeprefix("ce_"): v.decode() for k, v in headers if k.startswith("ce_")}
        content_type = next((v.decode() for k, v in headers if k == "content-type"), JSON)
        missing = [a for a in ("specversion", "id", "source", "type") if not attrs.get(a)]
        if missing:
            raise InvalidEvent(f"missing CloudEvents attributes: {', '.join(missing)}")
        if attrs["specversion"] != SPEC_VERSION:
            raise InvalidEvent(f"unsupported specversion {attrs['specversion']}")
        try:
            data = json.loads(value) if value else {}
            time = datetime.fromisoformat(attrs["time"]) if attrs.get("time") else datetime.now(UTC)
        except ValueError as exc:
            raise InvalidEvent(f"unreadable event: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidEvent("event data must be a JSON object")
        return cls(
            type=attrs["type"],
            source=attrs["source"],
            subject=attrs.get("subject", ""),
            data=data,
            id=attrs["id"],
            time=time,
            datacontenttype=content_type,
            municipality=attrs.get("municipality"),
            correlationid=attrs.get("correlationid"),
        )
