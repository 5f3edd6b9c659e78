"""Build the event contracts: one JSON Schema per event type and the AsyncAPI 3 document.

    uv run python contracts/build.py          # write contracts/events/*.json, asyncapi.yaml
    uv run python contracts/build.py --check  # fail if the committed files are stale

Schemas come from each producer's payload models. Events a service consumes before their
producer exists are described by the consumer's tolerant model and marked provisional.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from contracts_service import consumers as contracts_consumers
from contracts_service import events as contracts_events
from gateway_service import events as gateway_events
from inventory_service import consumers as inventory_consumers
from inventory_service import events as inventory_events
from planning_service import consumers as planning_consumers
from planning_service import events as planning_events
from reservations_service import consumers as reservations_consumers
from reservations_service import events as reservations_events
from statistics_service import consumers as statistics_consumers
from statistics_service import events as statistics_events
from tickets_service import consumers as tickets_consumers
from tickets_service import events as tickets_events

HERE = Path(__file__).parent
SCHEMA_BASE = "https://datori.lv/contracts/events/"


def producers() -> dict[str, tuple[str, str, dict[str, type[BaseModel]]]]:
    """Topic → (service, description, event type → payload model)."""
    return {
        "identity.events": ("gateway", "People's staff roles", gateway_events.PAYLOADS),
        "inventory.events": ("inventory", "Device life cycle", inventory_events.PAYLOADS),
        "reservations.events": ("reservations", "Reservations", reservations_events.PAYLOADS),
        "contracts.events": ("contracts", "Loan contracts", contracts_events.PAYLOADS),
        "tickets.events": ("tickets", "Repair tickets", tickets_events.PAYLOADS),
        "statistics.events": (
            "statistics",
            "Daily institution snapshots (the VIIS feed's records)",
            statistics_events.PAYLOADS,
        ),
        "planning.events": (
            "planning",
            "Needs-survey rounds, verified criteria and allocation rounds",
            planning_events.PAYLOADS,
        ),
    }


def consumers() -> dict[str, list[str]]:
    """Service → event types it handles."""
    inventory = inventory_consumers.build_handlers()
    return {
        "inventory": sorted(inventory),
        "reservations": sorted(reservations_consumers.HANDLED),
        "contracts": sorted(contracts_consumers.HANDLED),
        "tickets": sorted(tickets_consumers.build_handlers()),
        "statistics": sorted(statistics_consumers.HANDLED),
        "planning": sorted(planning_consumers.build_handlers()),
    }


def schema_for(event_type: str, model: type[BaseModel], provisional: bool) -> dict[str, Any]:
    """JSON Schema (2020-12) of an event's `data`."""
    schema = model.model_json_schema(mode="serialization")
    schema.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{event_type}.json",
        "title": event_type,
        **({"x-provisional": True} if provisional else {}),
        **schema,
    }


def message_name(event_type: str) -> str:
    """camelCase component name, e.g. inventoryDeviceRegisteredV1."""
    words = event_type.removeprefix("lv.datori.").replace("_", ".").split(".")
    return words[0] + "".join(w.capitalize() for w in words[1:])


def asyncapi(topics: dict[str, tuple[str, str, dict[str, type[BaseModel]]]]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic and message."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, (service, description, payloads) in topics.items():
        channel_id = topic.replace(".", "_")
        refs = {
            message_name(t): {"$ref": f"#/components/messages/{message_name(t)}"} for t in payloads
        }
        channels[channel_id] = {"address": topic, "description": description, "messages": refs}
        operations[f"{service}_publishes"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in refs],
        }
        for event_type in payloads:
            messages[message_name(event_type)] = {
                "name": event_type,
                "title": event_type,
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
                "payload": {"$ref": f"events/{event_type}.json"},
                "bindings": {
                    "kafka": {"key": {"type": "string", "description": "aggregate id (ce_subject)"}}
                },
            }
    for service, types in consumers().items():
        for topic, (_, _, payloads) in topics.items():
            handled = [t for t in types if t in payloads]
            if handled:
                channel_id = topic.replace(".", "_")
                operations[f"{service}_consumes_{channel_id}"] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{channel_id}"},
                    "messages": [
                        {"$ref": f"#/channels/{channel_id}/messages/{message_name(t)}"}
                        for t in handled
                    ],
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Computer-library platform events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka binary content mode: `ce_*` headers, JSON "
            "data, key = aggregate id. One topic per producing service.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEventHeaders": HEADERS}},
    }


HEADERS = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"],
    "properties": {
        "ce_specversion": {"const": "1.0"},
        "ce_id": {"type": "string"},
        "ce_source": {"type": "string"},
        "ce_type": {"type": "string"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string"},
        "ce_municipality": {"type": "string", "description": "ATVK code of the tenant"},
        "ce_correlationid": {"type": "string"},
        "content-type": {"const": "application/json"},
    },
}


def render() -> dict[Path, str]:
    """Every contract file and its content."""
    topics = producers()
    files: dict[Path, str] = {}
    for _, description, payloads in topics.values():
        provisional = "provisional" in description
        for event_type, model in payloads.items():
            schema = schema_for(event_type, model, provisional)
            files[HERE / "events" / f"{event_type}.json"] = json.dumps(schema, indent=2) + "\n"
    document = yaml.safe_dump(asyncapi(topics), sort_keys=False, allow_unicode=True)
    files[HERE / "asyncapi.yaml"] = "# Generated by contracts/build.py: do not edit.\n" + document
    return files


def main() -> int:
    """Write the files, or with --check report stale ones."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    files = render()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(HERE.parent)} (run: make contracts)")
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text)
    print(f"wrote {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
