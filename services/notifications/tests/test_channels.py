"""E-mail leaves through a real SMTP server: over STARTTLS, its refusals classified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifications_service.channels import Outgoing, PermanentFailure, TemporaryFailure
from notifications_service.channels.email import EmailSender
from notifications_service.config import NotificationsSettings
from shared_kit.testing.mailsink import REFUSED_DOMAIN, MailSink


@pytest.fixture
def sink() -> Iterator[MailSink]:
    sink = MailSink().start()
    yield sink
    sink.stop()


def sender_for(sink: MailSink, **overrides: object) -> EmailSender:
    values: dict[str, object] = {
        "smtp_port": sink.port,
        "smtp_starttls": "require",
        "smtp_ca_file": sink.ca_file,
        **overrides,
    }
    return EmailSender(NotificationsSettings(**values))  # type: ignore[arg-type]


MESSAGE = Outgoing("delivery-1", "ilze@example.lv", "Līgums gaida", "Parakstiet.", "<p>Ā</p>")


class TestEmail:
    async def test_a_message_arrives_over_tls_with_both_parts(self, sink: MailSink) -> None:
        await sender_for(sink).send(MESSAGE)
        [received] = sink.to("ilze@example.lv")
        assert received.tls
        assert received.message["Subject"] == "Līgums gaida"
        assert received.message_id == "<delivery-1@datori.localhost>"
        assert received.text().strip() == "Parakstiet."
        assert "<p>Ā</p>" in received.html()

    async def test_an_unknown_mailbox_is_a_permanent_failure(self, sink: MailSink) -> None:
        bad = Outgoing("delivery-2", f"nobody@{REFUSED_DOMAIN}", "S", "T")
        with pytest.raises(PermanentFailure, match="550"):
            await sender_for(sink).send(bad)
        assert sink.messages == []

    async def test_a_busy_server_is_a_temporary_failure(self, sink: MailSink) -> None:
        sink.paused = True
        with pytest.raises(TemporaryFailure, match="421"):
            await sender_for(sink).send(MESSAGE)

    async def test_a_server_that_is_down_is_a_temporary_failure(self, sink: MailSink) -> None:
        sink.stop()
        with pytest.raises(TemporaryFailure):
            await sender_for(sink).send(MESSAGE)

    async def test_an_untrusted_certificate_is_refused(self, sink: MailSink) -> None:
        with pytest.raises(TemporaryFailure, match="CERTIFICATE_VERIFY_FAILED"):
            await sender_for(sink, smtp_ca_file=None).send(MESSAGE)
        assert sink.messages == []
