"""A notice's deliveries: by the person's choices and verified contact points, once each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from notifications_service.service.quiet import QuietHours
from shared_kit.testing.clock import TestClock

from .outbox import GUARDIAN, deliveries, notify, person, prefer, sessions_of

EMAIL, PHONE = "ilze@example.lv", "+37120000001"


def channels(rows: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(str(r["channel"]) for r in rows)


class TestChannels:
    async def test_default_channels_where_the_person_can_be_reached(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        await person(engine, settings, email=EMAIL, sms=PHONE)
        await notify(engine, settings, clock(), "reservation_approved")  # e-mail only
        await notify(engine, settings, clock(), "reservation_offered")  # e-mail and SMS
        rows = await deliveries(engine)
        assert [(r["kind"], str(r["channel"])) for r in rows] == [
            ("reservation_approved", "email"),
            ("reservation_offered", "email"),
            ("reservation_offered", "sms"),
        ]
        assert all(r["state"] == "pending" and r["next_attempt_at"] == clock.now for r in rows)

    async def test_no_delivery_without_a_verified_usable_contact_point(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        await person(engine, settings, email=EMAIL, sms=PHONE, verified=False)
        await notify(engine, settings, clock(), "reservation_offered")
        await person(engine, settings, "nobody")  # no contact points at all
        await notify(engine, settings, clock(), "reservation_offered", who="nobody")
        assert await deliveries(engine) == []

    async def test_an_in_portal_kind_has_no_delivery(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        await person(engine, settings, email=EMAIL, sms=PHONE)
        await notify(engine, settings, clock(), "contact_point_rejected")
        assert await deliveries(engine) == []

    async def test_planning_again_adds_nothing(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        from notifications_service.models import Notice
        from notifications_service.service import fanout

        await person(engine, settings, email=EMAIL, sms=PHONE)
        notice_id = await notify(engine, settings, clock(), "reservation_offered")
        for _ in range(2):  # a redelivered event, a second replica
            async with sessions_of(engine).begin() as session:
                notice = await session.get(Notice, notice_id)
                assert notice is not None
                await fanout.plan(session, notice, now=clock())
        assert channels(await deliveries(engine)) == ["email", "sms"]


class TestPreferences:
    async def test_a_kind_turned_off_gets_no_delivery(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        await person(engine, settings, email=EMAIL, sms=PHONE)
        await prefer(engine, "reservation_offered", enabled=False, channels=["email"])
        await notify(engine, settings, clock(), "reservation_offered")
        assert await deliveries(engine) == []

    async def test_an_essential_kind_is_never_off(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        await person(engine, settings, email=EMAIL, sms=PHONE)
        await prefer(engine, "return_due_soon", enabled=False, channels=[])
        await notify(engine, settings, clock(), "return_due_soon")
        assert channels(await deliveries(engine)) == ["email"]

    async def test_a_kind_moved_to_sms_goes_by_sms_only(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        await person(engine, settings, email=EMAIL, sms=PHONE)
        await prefer(engine, "contract_ready_to_sign", channels=["sms"])
        await prefer(engine, "reservation_approved", channels=["sms"])
        await notify(engine, settings, clock(), "contract_ready_to_sign")
        await notify(engine, settings, clock(), "reservation_approved")
        assert channels(await deliveries(engine)) == ["sms", "sms"]

    async def test_a_chosen_channel_without_a_contact_point_is_skipped(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        await person(engine, settings, email=EMAIL)
        await prefer(engine, "reservation_approved", channels=["sms", "email"])
        await notify(engine, settings, clock(), "reservation_approved")
        assert channels(await deliveries(engine, GUARDIAN)) == ["email"]


RIGA_EVENING = dt.datetime(2026, 10, 5, 19, 30, tzinfo=dt.UTC)  # 22:30 in Riga (UTC+3)


class TestQuietHours:
    async def test_an_sms_planned_at_night_waits_for_eight_and_e_mail_does_not(
        self, engine: AsyncEngine, settings: NotificationsSettings, clock: TestClock
    ) -> None:
        await person(engine, settings, email=EMAIL, sms=PHONE)
        clock.set(RIGA_EVENING)
        await notify(engine, settings, clock(), "reservation_offered")
        due = {str(r["channel"]): r["next_attempt_at"] for r in await deliveries(engine)}
        assert due == {
            "email": RIGA_EVENING,
            "sms": dt.datetime(2026, 10, 6, 5, 0, tzinfo=dt.UTC),  # 08:00 in Riga
        }

    def test_the_end_of_quiet_hours_follows_the_local_clock_across_dst(self) -> None:
        quiet = QuietHours()
        # Saturday 22:30 EEST; summer time ends that night: 08:00 EET is 06:00 UTC.
        assert quiet.until(dt.datetime(2026, 10, 24, 19, 30, tzinfo=dt.UTC)) == dt.datetime(
            2026, 10, 25, 6, 0, tzinfo=dt.UTC
        )
        # Saturday 23:00 EET; summer time starts that night: 08:00 EEST is 05:00 UTC.
        assert quiet.until(dt.datetime(2027, 3, 27, 21, 0, tzinfo=dt.UTC)) == dt.datetime(
            2027, 3, 28, 5, 0, tzinfo=dt.UTC
        )
        # After midnight the same morning; at 08:00 and in the day, no quiet period.
        assert quiet.until(dt.datetime(2026, 10, 6, 1, 0, tzinfo=dt.UTC)) == dt.datetime(
            2026, 10, 6, 5, 0, tzinfo=dt.UTC
        )
        assert quiet.until(dt.datetime(2026, 10, 6, 5, 0, tzinfo=dt.UTC)) is None
        assert quiet.until(dt.datetime(2026, 10, 6, 17, 59, tzinfo=dt.UTC)) is None
        assert quiet.until(dt.datetime(2026, 10, 6, 18, 0, tzinfo=dt.UTC)) is not None
