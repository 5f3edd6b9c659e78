"""Broker security options: none on PLAINTEXT, SCRAM over TLS for a Strimzi KafkaUser."""

from __future__ import annotations

import ssl

from pydantic import SecretStr

from shared_kit.events.kafka import security
from shared_kit.settings import ServiceSettings


def test_plaintext_adds_nothing_but_the_protocol() -> None:
    assert security(ServiceSettings()) == {"security_protocol": "PLAINTEXT"}


def test_scram_over_tls() -> None:
    settings = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="inventory",
        kafka_sasl_password=SecretStr("s3cret"),
    )
    options = security(settings)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "inventory",
        "s3cret",
    )
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_the_password_stays_out_of_the_settings_repr() -> None:
    settings = ServiceSettings(kafka_sasl_password=SecretStr("s3cret"))
    assert "s3cret" not in repr(settings)
