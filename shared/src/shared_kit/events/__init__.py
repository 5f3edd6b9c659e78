"""Events: CloudEvents envelope, transactional outbox and relay, inbox-backed consumers."""

from shared_kit.events.envelope import CloudEvent, InvalidEvent
from shared_kit.events.outbox import add_event, add_events

__all__ = ["CloudEvent", "InvalidEvent", "add_event", "add_events"]
