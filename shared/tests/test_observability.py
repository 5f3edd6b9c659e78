"""JSON log lines carry the service, the correlation id and structured extras."""

from __future__ import annotations

import json
import logging

from shared_kit.observability import JsonFormatter, correlation_id


def test_json_line_has_correlation_id_and_extras() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.route = "/api/v1/inventory/devices"
    token = correlation_id.set("c-9")
    try:
        line = json.loads(JsonFormatter("inventory").format(record))
    finally:
        correlation_id.reset(token)
    assert line["message"] == "hello world"
    assert line["service"] == "inventory" and line["level"] == "info"
    assert line["correlation_id"] == "c-9" and line["route"] == "/api/v1/inventory/devices"
