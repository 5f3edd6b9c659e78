"""The dispatcher against a real SMTP server: sent once, retried through outages, refused
addresses marked, quiet hours kept, and nothing sent that the person no longer wants."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from notifications_service.kinds import Channel
from notifications_service.repository.deliveries import DeliveryRepository
from shared_kit.testing.clock import TestClock
from shared_kit.testing.mailsink import REFUSED_DOMAIN, MailSink

from .outbox import (
    contact_point,
    deliveries,
    forget,
    notices,
    notify,
    one_pass,
    person,
    sessions_of,
    turn_off,
)

EMAIL = "ilze@example.lv"
REFUSED = f"ilze@{REFUSED_DOMAIN}"


def ids(sink: MailSink) -> list[str]:
    return [m.message_id for m in sink.messages]


class TestSending:
    async def test_a_message_goes_once_over_tls_with_the_delivery_as_message_id(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL, language="en")
        await notify(engine, mail_settings, clock())
        report = await one_pass(engine, mail_settings, clock)
        assert report.claimed == 1 and report.outcomes == {"sent": 1}
        [row] = await deliveries(engine)
        assert (row["state"], row["attempts"], row["sent_at"]) == ("sent", 1, clock.now)
        [received] = sink.to(EMAIL)
        assert received.tls
        assert received.message_id == f"<{row['id']}@datori.localhost>"
        assert received.message["Content-Language"] == "en"
        assert (await one_pass(engine, mail_settings, clock)).claimed == 0
        assert len(sink.messages) == 1

    async def test_the_message_links_to_the_notices_page_in_the_portal(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL)
        link = "/families/reservations/5b0e8c1e-0000-4000-8000-000000000001"
        await notify(engine, mail_settings, clock(), link=link)
        await one_pass(engine, mail_settings, clock)
        [received] = sink.to(EMAIL)
        url = mail_settings.portal_url + link
        assert f"Skatīt rezervāciju: {url}" in received.text()
        assert f'href="{url}"' in received.html()

    async def test_nothing_is_due_before_its_time(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL)
        await notify(engine, mail_settings, clock() + dt.timedelta(minutes=5))
        assert (await one_pass(engine, mail_settings, clock)).claimed == 0
        clock.advance(minutes=5)
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"sent": 1}

    async def test_a_dead_dispatchers_claim_is_taken_again_when_its_lease_runs_out(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL)
        await notify(engine, mail_settings, clock())
        async with sessions_of(engine).begin() as session:  # claimed, then the process died
            lease = clock() + dt.timedelta(seconds=mail_settings.dispatch_lease_s)
            assert len(await DeliveryRepository(session).claim(clock(), lease, 10)) == 1
        assert (await one_pass(engine, mail_settings, clock)).claimed == 0
        clock.advance(seconds=mail_settings.dispatch_lease_s + 1)
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"sent": 1}
        assert len(sink.to(EMAIL)) == 1


class TestOutage:
    async def test_a_stopped_server_only_delays_the_messages(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL)
        sink.stop()
        for _ in range(5):
            await notify(engine, mail_settings, clock())
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"retried": 5}
        rows = await deliveries(engine)
        assert {(r["state"], r["attempts"]) for r in rows} == {("pending", 1)}
        assert all(clock.now < r["next_attempt_at"] for r in rows)
        assert all(r["last_error"] and EMAIL not in r["last_error"] for r in rows)
        sink.start()
        assert (await one_pass(engine, mail_settings, clock)).claimed == 0  # backing off
        clock.advance(seconds=mail_settings.retry_base_s)
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"sent": 5}
        assert len(sink.messages) == len(set(ids(sink))) == 5

    async def test_a_busy_server_421_only_delays_the_messages(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL)
        sink.paused = True
        await notify(engine, mail_settings, clock())
        await notify(engine, mail_settings, clock())
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"retried": 2}
        clock.advance(seconds=mail_settings.retry_base_s)
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"retried": 2}
        assert {r["attempts"] for r in await deliveries(engine)} == {2}
        sink.paused = False
        clock.advance(seconds=2 * mail_settings.retry_base_s)
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"sent": 2}
        assert len(sink.messages) == len(set(ids(sink))) == 2
        assert {r["last_error"] for r in await deliveries(engine)} == {None}

    async def test_after_the_last_attempt_the_delivery_fails(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        settings = mail_settings.model_copy(update={"dispatch_max_attempts": 3})
        await person(engine, settings, email=EMAIL)
        await notify(engine, settings, clock())
        sink.paused = True
        waits = []
        for _ in range(3):
            clock.advance(seconds=settings.retry_cap_s)
            await one_pass(engine, settings, clock)
            [row] = await deliveries(engine)
            waits.append((row["next_attempt_at"] - clock.now).total_seconds())
        assert (row["state"], row["attempts"]) == ("failed", 3)
        assert "421" in row["last_error"]
        base = settings.retry_base_s  # 30 s, then 60 s, each with jitter in [0.5, 1]
        assert base / 2 <= waits[0] <= base and base <= waits[1] <= 2 * base
        clock.advance(days=1)
        assert (await one_pass(engine, settings, clock)).claimed == 0


class TestRefusal:
    async def test_a_refused_address_is_marked_and_the_person_told_in_the_portal(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=REFUSED)
        await notify(engine, mail_settings, clock())
        later = await notify(engine, mail_settings, clock() + dt.timedelta(hours=1))
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"failed": 1}
        point = await contact_point(engine, Channel.EMAIL)
        assert point.rejected_at == clock.now and "550" in point.rejected_reason
        assert REFUSED not in point.rejected_reason
        rows = {r["notice_id"]: r for r in await deliveries(engine)}
        assert rows[later]["state"] == "cancelled"  # waiting ones are not tried again
        failed = next(r for r in rows.values() if r["notice_id"] != later)
        assert failed["state"] == "failed" and REFUSED not in failed["last_error"]
        told = [n for n in await notices(engine) if n.kind == "contact_point_rejected"]
        assert [n.cause for n in told] == [f"rejected:{point.id}:{point.rejected_at.isoformat()}"]
        assert told[0].link == "/settings/contact" and told[0].params == {"channel": "email"}
        assert len(await deliveries(engine)) == 2  # the in-portal notice has none
        # New notices find no usable address: no delivery at all.
        await notify(engine, mail_settings, clock())
        assert len(await deliveries(engine)) == 2
        assert sink.messages == []

    async def test_two_refusals_in_one_batch_tell_the_person_once(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=REFUSED)
        for _ in range(3):
            await notify(engine, mail_settings, clock())
        outcomes = (await one_pass(engine, mail_settings, clock)).outcomes
        assert outcomes["failed"] + outcomes["cancelled"] == 3 and outcomes["failed"] >= 1
        told = [n for n in await notices(engine) if n.kind == "contact_point_rejected"]
        assert len(told) == 1


class TestNoLongerWanted:
    async def test_a_deleted_contact_point_cancels_what_waits_for_it(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL)
        await notify(engine, mail_settings, clock())
        await forget(engine, Channel.EMAIL)
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"cancelled": 1}
        assert [r["state"] for r in await deliveries(engine)] == ["cancelled"]
        assert sink.messages == []

    async def test_a_kind_turned_off_since_is_not_sent(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL)
        await notify(engine, mail_settings, clock(), "reservation_approved")
        await notify(engine, mail_settings, clock(), "return_due_soon")  # essential
        await turn_off(engine, "reservation_approved")
        await turn_off(engine, "return_due_soon")
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {
            "cancelled": 1,
            "sent": 1,
        }
        assert [m.message["To"] for m in sink.messages] == [EMAIL]


class TestReplicas:
    async def test_two_dispatchers_at_once_send_each_message_once(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        settings = mail_settings.model_copy(update={"dispatch_batch_size": 7})
        await person(engine, settings, email=EMAIL)
        for _ in range(30):
            await notify(engine, settings, clock())
        claimed = 0
        while True:
            reports = await asyncio.gather(*(one_pass(engine, settings, clock) for _ in range(2)))
            if not any(r.claimed for r in reports):
                break
            claimed += sum(r.claimed for r in reports)
        assert claimed == 30
        assert len(sink.messages) == len(set(ids(sink))) == 30


class TestMetrics:
    async def test_outcomes_and_lag_are_counted_per_channel(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock, client: httpx.AsyncClient,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL)
        await notify(engine, mail_settings, clock())
        clock.advance(seconds=3)
        await one_pass(engine, mail_settings, clock)
        metrics = (await client.get("/metrics")).text
        assert 'notifications_deliveries_sent_total{channel="email"}' in metrics
        assert 'notifications_delivery_lag_seconds_bucket{channel="email",le="5.0"}' in metrics
