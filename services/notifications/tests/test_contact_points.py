"""A person's contact points: set, verified by a code that arrives in a real SMTP server,
locked after wrong guesses, resent, removed; only ever the person's own."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from notifications_service.main import MIGRATIONS
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.mailsink import REFUSED_DOMAIN, MailSink
from shared_kit.testing.tokens import TokenIssuer

from .conftest import API

POINTS = f"{API}/me/contact-points"
ILZE = "ilze.berzina@example.lv"
OTHER = "ilze@pasts.lv"


@pytest.fixture
def sink() -> Iterator[MailSink]:
    """A real SMTP server with STARTTLS on a certificate the service is told to trust."""
    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture
async def settings(
    service_settings: Callable[..., Awaitable[Any]], sink: MailSink
) -> NotificationsSettings:
    """The test's settings, sending e-mail to the sink over required STARTTLS."""
    settings: NotificationsSettings = await service_settings(
        NotificationsSettings,
        MIGRATIONS,
        smtp_port=sink.port,
        smtp_starttls="require",
        smtp_ca_file=sink.ca_file,
    )
    return settings


class People:
    """Tokens of the people in these tests (audience `notifications`)."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self.guardian_id = f"person-{uuid.uuid4()}"
        self.guardian = issuer.mint(self.guardian_id, roles=["guardian"], audience="notifications")
        self.other = issuer.mint(roles=["guardian"], audience="notifications")
        self.machine = issuer.mint(
            "client-riga",
            roles=["service"],
            client_id="riga-platform",
            scope="notifications:read",
            audience="notifications",
        )
        self.wrong_audience = issuer.mint(roles=["guardian"], audience="tickets")


@pytest.fixture
def people(token_issuer: TokenIssuer) -> People:
    """Fresh people for this test."""
    return People(token_issuer)


@pytest.fixture
async def me(client: httpx.AsyncClient, people: People) -> AsyncIterator[httpx.AsyncClient]:
    """The client, calling as the guardian."""
    client.headers.update(bearer(people.guardian))
    yield client


def code_in(sink: MailSink, address: str, nth: int = -1) -> str:
    """The six-digit code in the `nth` message the sink received for `address`."""
    message = sink.to(address)[nth]
    found = re.search(r"\b([0-9]{6})\b", message.text())
    assert found is not None, message.text()
    return found[1]


def wrong(code: str) -> str:
    """A code that is not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def set_email(client: httpx.AsyncClient, address: str = ILZE) -> httpx.Response:
    return await client.put(f"{POINTS}/email", json={"address": address})


async def verify(client: httpx.AsyncClient, code: str, channel: str = "email") -> httpx.Response:
    return await client.post(f"{POINTS}/{channel}/verify", json={"code": code})


async def verified_email(me: httpx.AsyncClient, sink: MailSink, address: str = ILZE) -> None:
    assert (await set_email(me, address)).status_code == 202
    assert (await verify(me, code_in(sink, address))).status_code == 200


class TestVerification:
    async def test_a_code_arrives_a_wrong_one_is_counted_the_right_one_verifies(
        self, me: httpx.AsyncClient, sink: MailSink, clock: TestClock
    ) -> None:
        response = await set_email(me)
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["address"] == ILZE and body["verified"] is False
        assert body["code_pending"] is True
        [mail] = sink.to(ILZE)
        assert mail.tls
        code = code_in(sink, ILZE)

        refused = problem(await verify(me, wrong(code)), 422, "wrong-code")
        assert refused["attempts_left"] == 4

        verified = await verify(me, code)
        assert verified.status_code == 200, verified.text
        assert verified.json()["verified"] is True
        assert verified.json()["verified_at"] == clock.now.isoformat().replace("+00:00", "Z")
        [listed] = (await me.get(POINTS)).json()
        assert listed["verified"] is True and listed["code_pending"] is False

    async def test_the_same_verified_address_again_sends_nothing(
        self, me: httpx.AsyncClient, sink: MailSink
    ) -> None:
        await verified_email(me, sink)
        again = await set_email(me, " ilze.berzina@EXAMPLE.lv ")
        assert again.status_code == 200, again.text
        assert again.json()["verified"] is True
        assert len(sink.to(ILZE)) == 1

    async def test_a_repeated_request_within_a_minute_sends_one_code(
        self, me: httpx.AsyncClient, sink: MailSink
    ) -> None:
        assert (await set_email(me)).status_code == 202
        assert (await set_email(me)).status_code == 202
        assert len(sink.to(ILZE)) == 1

    async def test_an_expired_code_is_refused(
        self, me: httpx.AsyncClient, sink: MailSink, clock: TestClock, settings: Any
    ) -> None:
        await set_email(me)
        code = code_in(sink, ILZE)
        clock.advance(seconds=settings.code_ttl_s)
        problem(await verify(me, code), 422, "code-expired")
        listed = (await me.get(POINTS)).json()[0]
        assert listed["verified"] is False and listed["code_pending"] is False

    async def test_too_many_wrong_codes_lock_it_for_15_minutes(
        self, me: httpx.AsyncClient, sink: MailSink, clock: TestClock
    ) -> None:
        await set_email(me)
        code = code_in(sink, ILZE)
        for left in (4, 3, 2, 1):
            assert (
                problem(await verify(me, wrong(code)), 422, "wrong-code")["attempts_left"] == left
            )
        locked = await verify(me, wrong(code))
        body = problem(locked, 429, "contact-point-locked")
        assert body["locked_until"] == clock.now.replace(minute=15).isoformat()
        assert locked.headers["Retry-After"] == "900"

        # While locked: not even the right code, nor a new one, nor starting afresh.
        problem(await verify(me, code), 429, "contact-point-locked")
        problem(await me.post(f"{POINTS}/email/resend"), 429, "contact-point-locked")
        problem(await set_email(me, OTHER), 429, "contact-point-locked")
        problem(await me.delete(f"{POINTS}/email"), 429, "contact-point-locked")
        assert (await me.get(POINTS)).json()[0]["locked_until"] is not None

        clock.advance(minutes=15)
        # The guessed-at code is spent; a new one works.
        problem(await verify(me, code), 409, "no-code-pending")
        assert (await me.post(f"{POINTS}/email/resend")).status_code == 202
        assert (await verify(me, code_in(sink, ILZE))).status_code == 200
        assert len(sink.to(ILZE)) == 2

    async def test_changing_the_address_verifies_the_new_one_and_the_old_gets_nothing(
        self, me: httpx.AsyncClient, sink: MailSink
    ) -> None:
        await verified_email(me, sink)
        changed = await set_email(me, OTHER)
        assert changed.status_code == 202
        assert changed.json()["address"] == OTHER and changed.json()["verified"] is False
        assert len(sink.to(ILZE)) == 1
        assert (await verify(me, code_in(sink, OTHER))).status_code == 200
        assert len(sink.to(ILZE)) == 1

    async def test_a_new_code_at_most_once_a_minute(
        self, me: httpx.AsyncClient, sink: MailSink, clock: TestClock
    ) -> None:
        await set_email(me)
        first = code_in(sink, ILZE)
        too_soon = await me.post(f"{POINTS}/email/resend")
        assert problem(too_soon, 429, "too-soon")["retry_after"] == 60
        clock.advance(seconds=59)
        problem(await me.post(f"{POINTS}/email/resend"), 429, "too-soon")
        clock.advance(seconds=1)
        assert (await me.post(f"{POINTS}/email/resend")).status_code == 202
        second = code_in(sink, ILZE)
        assert len(sink.to(ILZE)) == 2
        if first != second:
            problem(await verify(me, first), 422, "wrong-code")
        assert (await verify(me, second)).status_code == 200
        problem(await me.post(f"{POINTS}/email/resend"), 409, "already-verified")

    async def test_deleting_erases_it_and_cancels_what_waits(
        self, me: httpx.AsyncClient, sink: MailSink, engine: AsyncEngine, people: People
    ) -> None:
        await verified_email(me, sink)
        email, sms = await pending_deliveries(engine, people.guardian_id)
        assert (await me.delete(f"{POINTS}/email")).status_code == 204
        assert (await me.get(POINTS)).json() == []
        assert await states(engine, email, sms) == ["cancelled", "pending"]
        problem(await me.delete(f"{POINTS}/email"), 404, "contact-point-not-found")
        async with engine.connect() as conn:
            count = await conn.scalar(text("SELECT count(*) FROM contact_point"))
        assert count == 0


async def pending_deliveries(engine: AsyncEngine, person_id: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A notice of the person with a pending e-mail and a pending SMS delivery."""
    notice, email, sms = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO notice (id, person_id, kind, cause) "
                "VALUES (:id, :person, 'reservation_approved', 'event-1')"
            ),
            {"id": notice, "person": person_id},
        )
        for delivery, channel in ((email, "email"), (sms, "sms")):
            await conn.execute(
                text(
                    "INSERT INTO delivery (id, notice_id, person_id, channel) "
                    "VALUES (:id, :notice, :person, CAST(:channel AS channel))"
                ),
                {"id": delivery, "notice": notice, "person": person_id, "channel": channel},
            )
    return email, sms


async def states(engine: AsyncEngine, *deliveries: uuid.UUID) -> list[str]:
    """The deliveries' states, in the order given."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, state::text FROM delivery"))
        by_id = {row[0]: row[1] for row in rows}
    return [by_id[d] for d in deliveries]


class TestCodeBudget:
    async def test_at_most_ten_codes_an_hour_whatever_the_addresses(
        self, me: httpx.AsyncClient, sink: MailSink, clock: TestClock
    ) -> None:
        for n in range(10):
            assert (await set_email(me, f"ilze{n}@example.lv")).status_code == 202
        refused = problem(await set_email(me, "ilze10@example.lv"), 429, "too-many-codes")
        assert refused["retry_after"] == 3600
        # Removing the contact point does not start the count afresh.
        assert (await me.delete(f"{POINTS}/email")).status_code == 204
        problem(await set_email(me, "ilze10@example.lv"), 429, "too-many-codes")
        problem(await me.put(f"{POINTS}/sms", json={"address": "29000001"}), 429, "too-many-codes")
        assert len(sink.messages) == 10
        clock.advance(hours=1)
        assert (await set_email(me, "ilze10@example.lv")).status_code == 202


class TestOwnership:
    async def test_another_person_sees_and_changes_nothing_of_theirs(
        self, client: httpx.AsyncClient, sink: MailSink, people: People
    ) -> None:
        mine = bearer(people.guardian)
        await client.put(f"{POINTS}/email", json={"address": ILZE}, headers=mine)
        code = code_in(sink, ILZE)
        theirs = bearer(people.other)
        assert (await client.get(POINTS, headers=theirs)).json() == []
        for call in (
            client.post(f"{POINTS}/email/verify", json={"code": code}, headers=theirs),
            client.post(f"{POINTS}/email/resend", headers=theirs),
            client.delete(f"{POINTS}/email", headers=theirs),
        ):
            problem(await call, 404, "contact-point-not-found")
        verified = await client.post(f"{POINTS}/email/verify", json={"code": code}, headers=mine)
        assert verified.status_code == 200
        assert len(sink.to(ILZE)) == 1

    async def test_a_machine_client_is_forbidden(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        machine = bearer(people.machine)
        problem(await client.get(POINTS, headers=machine), 403, "forbidden")
        put = await client.put(f"{POINTS}/email", json={"address": ILZE}, headers=machine)
        problem(put, 403, "forbidden")

    async def test_without_a_token_of_this_audience_nobody_gets_in(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        problem(await client.get(POINTS), 401, "unauthorized")
        problem(
            await client.get(POINTS, headers=bearer(people.wrong_audience)), 401, "unauthorized"
        )


class TestStorage:
    async def test_the_address_and_the_code_are_not_stored_in_clear(
        self, me: httpx.AsyncClient, sink: MailSink, engine: AsyncEngine
    ) -> None:
        await set_email(me)
        code = code_in(sink, ILZE)
        async with engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT address_encrypted, code_hash FROM contact_point"))
            ).one()
        assert ILZE not in row.address_encrypted and "example" not in row.address_encrypted
        assert row.address_encrypted.startswith("gAAAA")  # a Fernet token
        assert re.fullmatch(r"[0-9a-f]{64}", row.code_hash) and code not in row.code_hash

    async def test_neither_the_address_nor_the_code_is_logged(
        self, me: httpx.AsyncClient, sink: MailSink, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        await set_email(me)
        code = code_in(sink, ILZE)
        await verify(me, wrong(code))
        await verify(me, code)
        sink.stop()
        await set_email(me, OTHER)
        # Ours and our libraries' records; the sink (`mail.log`) is the far side of SMTP.
        ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
        assert any("contact-points" in line for line in ours)
        for needle in (ILZE, OTHER, "example.lv", "pasts.lv", code):
            assert not [line for line in ours if needle in line]


class TestProviderTrouble:
    async def test_smtp_down_is_503_and_nothing_waits_for_a_code_that_never_came(
        self, me: httpx.AsyncClient, sink: MailSink
    ) -> None:
        sink.stop()
        problem(await set_email(me), 503, "code-not-sent")
        assert (await me.get(POINTS)).json() == []
        sink.start()
        assert (await set_email(me)).status_code == 202
        assert (await verify(me, code_in(sink, ILZE))).status_code == 200

    async def test_smtp_down_while_changing_keeps_the_verified_address(
        self, me: httpx.AsyncClient, sink: MailSink
    ) -> None:
        await verified_email(me, sink)
        sink.paused = True
        problem(await set_email(me, OTHER), 503, "code-not-sent")
        [kept] = (await me.get(POINTS)).json()
        assert kept["address"] == ILZE and kept["verified"] is True

    async def test_an_address_the_server_refuses_is_422_at_the_field(
        self, me: httpx.AsyncClient
    ) -> None:
        body = problem(await set_email(me, f"nobody@{REFUSED_DOMAIN}"), 422, "address-refused")
        assert body["errors"][0]["pointer"] == "/address"
        assert (await me.get(POINTS)).json() == []


BAD_EMAILS = [
    ("ilze.example.lv", "email_at_sign"),
    ("ilze@@example.lv", "email_at_sign"),
    ("@example.lv", "email_local_part"),
    (".ilze@example.lv", "email_local_part"),
    ("il..ze@example.lv", "email_local_part"),
    ('"ilze"@example.lv', "email_local_part"),
    ("ilze bērziņa@example.lv", "email_local_part"),
    ("a" * 65 + "@example.lv", "email_local_part"),
    ("ilze@localhost", "email_domain"),
    ("ilze@[127.0.0.1]", "email_domain"),
    ("ilze@exa_mple.lv", "email_domain"),
    ("ilze@-example.lv", "email_domain"),
    ("ilze@example.123", "email_domain"),
    ("i" * 64 + "@" + ".".join(c * 60 for c in "abcd") + ".lv", "email_too_long"),
    ("ilze@" + ".".join(c * 63 for c in "abcd") + ".lv", "email_domain"),
]
BAD_NUMBERS = [
    ("6700 0000", "sms_latvian_mobile"),  # a landline
    ("2123456", "sms_latvian_mobile"),
    ("+371 2123 45678", "sms_latvian_mobile"),
    ("0037161234567", "sms_latvian_mobile"),
    ("0049 1512 3456789", "sms_international"),  # another country, not in E.164 form
    ("+0 123 4567", "sms_international"),
    ("+49 1512 3456 7890 12", "sms_international"),
    ("2123 456a", "sms_characters"),
    ("+371 ２１２３４５６７", "sms_characters"),  # fullwidth digits
    ("++37121234567", "sms_characters"),
]


class TestAddressValidation:
    @pytest.mark.parametrize(("address", "code"), BAD_EMAILS)
    async def test_a_bad_email_is_422_naming_what_is_wrong(
        self, me: httpx.AsyncClient, sink: MailSink, address: str, code: str
    ) -> None:
        body = problem(await set_email(me, address), 422, "invalid-address")
        [error] = body["errors"]
        assert error["pointer"] == "/address" and error["code"] == code
        assert address not in body["detail"]
        assert sink.messages == []

    @pytest.mark.parametrize(("number", "code"), BAD_NUMBERS)
    async def test_a_bad_number_is_422_naming_what_is_wrong(
        self, me: httpx.AsyncClient, number: str, code: str
    ) -> None:
        response = await me.put(f"{POINTS}/sms", json={"address": number})
        [error] = problem(response, 422, "invalid-address")["errors"]
        assert error["pointer"] == "/address" and error["code"] == code

    @pytest.mark.parametrize(
        ("written", "stored"),
        [
            ("Ilze.Berzina+skola@Example.LV", "Ilze.Berzina+skola@example.lv"),
            ("ilze@ēka.lv", "ilze@xn--ka-vma.lv"),
            ("ilze@skola.example.lv.", "ilze@skola.example.lv"),
        ],
    )
    async def test_a_good_email_is_stored_in_one_form(
        self, me: httpx.AsyncClient, sink: MailSink, written: str, stored: str
    ) -> None:
        response = await set_email(me, written)
        assert response.status_code == 202 and response.json()["address"] == stored
        assert len(sink.to(stored)) == 1

    async def test_malformed_requests_are_4xx(self, me: httpx.AsyncClient) -> None:
        problem(await me.put(f"{POINTS}/fax", json={"address": ILZE}), 422, "validation")
        problem(await me.put(f"{POINTS}/email", json={"address": ""}), 422, "validation")
        problem(await me.put(f"{POINTS}/email", json={"address": "a" * 400}), 422, "validation")
        problem(await me.put(f"{POINTS}/email", json={"addr": ILZE}), 422, "validation")
        problem(await me.put(f"{POINTS}/email", content=b"{"), 422, "validation")
        for code in ("12345", "1234567", "abcdef", "١٢٣٤٥٦"):
            problem(await verify(me, code), 422, "validation")
