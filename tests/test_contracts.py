"""The event contracts: committed files are current, references resolve, schemas are valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).parents[1]
CONTRACTS = ROOT / "contracts"


def load_asyncapi() -> dict[str, Any]:
    """The committed AsyncAPI document."""
    return dict(yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text()))


def refs(node: Any) -> list[str]:
    """Every `$ref` in a document."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def resolve(document: dict[str, Any], pointer: str) -> Any:
    """Follow a local JSON pointer."""
    node: Any = document
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part]
    return node


class TestContracts:
    def test_committed_contracts_are_current(self) -> None:
        result = subprocess.run(
            [sys.executable, str(CONTRACTS / "build.py"), "--check"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_every_reference_resolves(self) -> None:
        document = load_asyncapi()
        assert document["asyncapi"].startswith("3.")
        for ref in refs(document):
            if ref.startswith("#/"):
                resolve(document, ref)
            else:
                assert (CONTRACTS / ref).is_file(), ref

    def test_every_schema_is_valid_json_schema(self) -> None:
        schemas = sorted((CONTRACTS / "events").glob("*.json"))
        assert schemas
        for path in schemas:
            schema = json.loads(path.read_text())
            Draft202012Validator.check_schema(schema)
            assert schema["title"] == path.stem

    def test_each_topic_has_one_publisher_and_consumed_messages_exist(self) -> None:
        document = load_asyncapi()
        senders = [
            op["channel"]["$ref"]
            for op in document["operations"].values()
            if op["action"] == "send"
        ]
        assert len(senders) == len(set(senders)) == len(document["channels"])
        for op in document["operations"].values():
            for message in op["messages"]:
                resolve(document, message["$ref"])
