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
        assert received.message["Date"].endswith("+0000")  # UTC, not "-0000" (zone unknown)

    async def test_a_long_latvian_subject_arrives_as_written(self, sink: MailSink) -> None:
        subject = "Patapinājuma līgums DL-2026-40AE26A0 ir gatavs parakstīšanai"
        await sender_for(sink).send(Outgoing("delivery-3", "ilze@example.lv", subject, "T"))
        [received] = sink.to("ilze@example.lv")
        assert received.message["Subject"] == subject  # folded, never a leading space

    async def test_an_unknown_mailbox_is_a_permanent_failure(self, sink: MailSink) -> None:
        bad = Outgoing("delivery-2", f"nobody@{REFUSED_DOMAIN}", "S", "T")
        with pytest.raises(PermanentFailure, match="550"):
            await sender_for(sink).send(bad)
        assert sink.messages == []

    async def test_a_busy_server_is_a_temporary_failure(self, sink: MailSink) -> None:
        sink.paused = True
        with pytest.raises(TemporaryFailure, match="421") as refused:
            await sender_for(sink).send(MESSAGE)
        assert str(refused.value).startswith("421 ")  # the server's words, not the address
        assert MESSAGE.to not in str(refused.value)

    async def test_a_server_that_is_down_is_a_temporary_failure(self, sink: MailSink) -> None:
        sink.stop()
        with pytest.raises(TemporaryFailure):
            await sender_for(sink).send(MESSAGE)

    async def test_an_untrusted_certificate_is_refused(self, sink: MailSink) -> None:
        with pytest.raises(TemporaryFailure, match="CERTIFICATE_VERIFY_FAILED"):
            await sender_for(sink, smtp_ca_file=None).send(MESSAGE)
        assert sink.messages == []


class TestKeptConnections:
    async def test_messages_share_a_connection_and_a_dropped_one_is_replaced(
        self, sink: MailSink
    ) -> None:
        sender = sender_for(sink)
        for n in range(3):
            await sender.send(Outgoing(f"kept-{n}", "ilze@example.lv", "S", "T"))
        assert len(sender._idle) == 1  # one connection carried all three
        sink.stop()  # the server goes away and comes back: the kept connection is dead
        sink.start()
        await sender.send(Outgoing("kept-3", "ilze@example.lv", "S", "T"))
        await sender.close()
        assert [m.message_id for m in sink.messages] == [
            f"<kept-{n}@datori.localhost>" for n in range(4)
        ]

    async def test_a_refusal_does_not_spoil_the_next_message(self, sink: MailSink) -> None:
        sender = sender_for(sink)
        await sender.send(MESSAGE)
        with pytest.raises(PermanentFailure):
            await sender.send(Outgoing("bad", f"x@{REFUSED_DOMAIN}", "S", "T"))
        await sender.send(Outgoing("after", "ilze@example.lv", "S", "T"))
        await sender.close()
        assert len(sink.messages) == 2
