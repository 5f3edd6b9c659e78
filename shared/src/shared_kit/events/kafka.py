"""aiokafka factories with the settings that work on both Tansu and real Kafka."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from shared_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)


def security(settings: ServiceSettings) -> dict[str, Any]:
    """aiokafka's connection security options from the settings (none on PLAINTEXT)."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    return options


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """Producer with acks=all; idempotence follows the setting (Tansu rejects it)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        metadata_max_age_ms=5_000,
        linger_ms=5,
        max_request_size=5 * 1024 * 1024,
        **security(settings),
    )


def make_consumer(settings: ServiceSettings, group_id: str, *topics: str) -> AIOKafkaConsumer:
    """Consumer that commits by hand, after the database has committed."""
    session_ms = settings.consumer_session_timeout_ms
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=session_ms,
        heartbeat_interval_ms=max(100, session_ms // 3),
        rebalance_timeout_ms=session_ms,
        metadata_max_age_ms=5_000,
        fetch_max_wait_ms=settings.consumer_fetch_wait_ms,
        request_timeout_ms=max(settings.kafka_request_timeout_ms, session_ms + 5_000),
        **security(settings),
    )


async def ensure_topics(settings: ServiceSettings, topics: list[str]) -> None:
    """Create topics with the configured partitions; existing ones are left alone."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        **security(settings),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(t, settings.kafka_topic_partitions, settings.kafka_topic_replication)
            for t in topics
            if t not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # another replica won the race
                await admin.create_topics(new)
            logger.info("created topics", extra={"topics": [t.name for t in new]})
    finally:
        await admin.close()


async def broker_reachable(settings: ServiceSettings) -> bool:
    """True when the broker answers a metadata request."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=2_000,
        **security(settings),
    )
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()
