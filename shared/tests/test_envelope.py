"""CloudEvents envelope in Kafka binary mode."""

from __future__ import annotations

import pytest

from shared_kit.events import CloudEvent, InvalidEvent


def sample() -> CloudEvent:
    return CloudEvent(
        type="lv.datori.test.thing.happened.v1",
        source="/datori/test",
        subject="thing-1",
        data={"n": 1, "name": "Jānis"},
        municipality="0010000",
        correlationid="c-1",
    )


class TestEnvelope:
    def test_round_trip_keeps_every_attribute(self) -> None:
        event = sample()
        back = CloudEvent.from_kafka(event.kafka_headers(), event.kafka_value())
        assert back == event

    def test_headers_follow_the_kafka_binding(self) -> None:
        headers = dict(sample().kafka_headers())
        assert headers["ce_specversion"] == b"1.0"
        assert headers["content-type"] == b"application/json"
        assert headers["ce_time"].endswith(b"Z")
        assert {
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_subject",
            "ce_municipality",
            "ce_correlationid",
        } <= set(headers)

    def test_optional_extensions_are_omitted_when_empty(self) -> None:
        event = CloudEvent(type="t", source="/s", subject="x", data={})
        assert "ce_municipality" not in dict(event.kafka_headers())

    @pytest.mark.parametrize(
        ("headers", "value", "message"),
        [
            ([("ce_id", b"1")], b"{}", "missing"),
            (
                [
                    ("ce_specversion", b"0.3"),
                    ("ce_id", b"1"),
                    ("ce_source", b"/s"),
                    ("ce_type", b"t"),
                ],
                b"{}",
                "specversion",
            ),
            (
                [
                    ("ce_specversion", b"1.0"),
                    ("ce_id", b"1"),
                    ("ce_source", b"/s"),
                    ("ce_type", b"t"),
                ],
                b"[1, 2]",
                "JSON object",
            ),
            (
                [
                    ("ce_specversion", b"1.0"),
                    ("ce_id", b"1"),
                    ("ce_source", b"/s"),
                    ("ce_type", b"t"),
                ],
                b"{broken",
                "unreadable",
            ),
        ],
    )
    def test_malformed_records_are_refused(
        self, headers: list[tuple[str, bytes]], value: bytes, message: str
    ) -> None:
        with pytest.raises(InvalidEvent, match=message):
            CloudEvent.from_kafka(headers, value)
