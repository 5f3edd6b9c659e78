"""`Idempotency-Key`: a retry replays the first answer, whoever sends it and whenever."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from shared_kit.app import ServiceApp
from shared_kit.db import create_engine, create_session_factory
from shared_kit.housekeeping import purge_once
from shared_kit.idempotency import REPLAY_HEADER, Idempotency, IdempotencyDep
from shared_kit.problems import Conflict
from shared_kit.settings import ServiceSettings
from shared_kit.testing.client import running_app
from shared_kit.testing.database import scalar
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.kafka import eventually
from shared_kit.testing.tokens import TokenIssuer


class ThingCreate(BaseModel):
    name: str


class Things:
    """An endpoint that makes things, and the levers a test pulls on it."""

    def __init__(self) -> None:
        self.made: list[str] = []
        self.running = asyncio.Event()  # set when a request is past its replay check
        self.release = asyncio.Event()  # cleared, requests wait inside the handler
        self.release.set()
        self.fail_next = False  # the next request fails after its work

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.post("/things", status_code=201)
        async def create(body: ThingCreate, idem: IdempotencyDep) -> Response:
            if replay := await idem.replay(body):
                return replay
            self.running.set()
            await self.release.wait()
            if self.fail_next:
                self.fail_next = False
                raise Conflict("The thing cannot be made right now")
            self.made.append(body.name)
            number = len(self.made)
            return idem.respond(201, {"number": number, "name": body.name}, {"ETag": f'"{number}"'})

        return router


@pytest.fixture
def things() -> Things:
    return Things()


@pytest.fixture
async def client(
    kit_app: Callable[..., ServiceApp], things: Things
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(kit_app(things.router(), broker=False)) as client:
        yield client


@pytest.fixture
def person(token_issuer: TokenIssuer) -> str:
    return token_issuer.mint("p-1", roles=["guardian"])


async def post(
    client: httpx.AsyncClient, token: str, key: str | None, body: dict[str, Any], path: str = ""
) -> httpx.Response:
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    return await client.post(f"/things{path}", json=body, headers=headers)


class TestReplay:
    async def test_the_same_key_and_body_replay_the_first_answer(
        self, client: httpx.AsyncClient, things: Things, person: str
    ) -> None:
        first = await post(client, person, "key-1", {"name": "a"})
        again = await post(client, person, "key-1", {"name": "a"})
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json() == {"number": 1, "name": "a"}
        assert again.headers["ETag"] == first.headers["ETag"] == '"1"'
        assert again.headers[REPLAY_HEADER] == "true" and REPLAY_HEADER not in first.headers
        assert things.made == ["a"]

    async def test_without_a_key_every_request_runs(
        self, client: httpx.AsyncClient, things: Things, person: str
    ) -> None:
        for _ in range(2):
            assert (await post(client, person, None, {"name": "a"})).status_code == 201
        assert things.made == ["a", "a"]

    async def test_a_different_body_with_the_same_key_is_refused(
        self, client: httpx.AsyncClient, things: Things, person: str
    ) -> None:
        await post(client, person, "key-1", {"name": "a"})
        reused = await post(client, person, "key-1", {"name": "b"})
        problem(reused, 422, "idempotency-key-reused")
        assert things.made == ["a"]

    async def test_a_different_query_with_the_same_key_is_refused(
        self, client: httpx.AsyncClient, person: str
    ) -> None:
        await post(client, person, "key-1", {"name": "a"})
        problem(
            await post(client, person, "key-1", {"name": "a"}, "?draft=true"),
            422,
            "idempotency-key-reused",
        )

    async def test_a_malformed_key_is_a_validation_problem(
        self, client: httpx.AsyncClient, things: Things, person: str
    ) -> None:
        for key in ("has spaces", "x" * 201):
            problem(await post(client, person, key, {"name": "a"}), 422, "validation")
        assert things.made == []

    async def test_a_failed_request_leaves_the_key_free(
        self, client: httpx.AsyncClient, things: Things, person: str
    ) -> None:
        things.fail_next = True
        problem(await post(client, person, "key-1", {"name": "a"}), 409, "conflict")
        retried = await post(client, person, "key-1", {"name": "a"})
        assert retried.status_code == 201 and REPLAY_HEADER not in retried.headers
        assert things.made == ["a"]


class TestCallers:
    async def test_each_person_has_keys_of_their_own(
        self, client: httpx.AsyncClient, things: Things, token_issuer: TokenIssuer
    ) -> None:
        for subject, name in (("p-1", "a"), ("p-2", "b")):
            token = token_issuer.mint(subject, roles=["guardian"])
            response = await post(client, token, "key-1", {"name": name})
            assert response.status_code == 201 and REPLAY_HEADER not in response.headers
        assert things.made == ["a", "b"]

    async def test_a_machine_clients_keys_outlive_its_token(
        self, client: httpx.AsyncClient, things: Things, token_issuer: TokenIssuer
    ) -> None:
        # A client-credentials client owns its keys, whatever subject its next token carries.
        answers = [
            await post(
                client,
                token_issuer.mint(subject, client_id="platform-1", roles=["service"]),
                "key-1",
                {"name": "a"},
            )
            for subject in ("token-1", "token-2")
        ]
        assert answers[1].headers[REPLAY_HEADER] == "true"
        assert answers[1].json() == answers[0].json() and things.made == ["a"]


class TestRetention:
    async def test_a_key_is_free_again_once_its_record_is_purged(
        self, client: httpx.AsyncClient, things: Things, person: str, kit_settings: ServiceSettings
    ) -> None:
        await post(client, person, "key-1", {"name": "a"})
        retention = timedelta(hours=kit_settings.idempotency_retention_hours)
        engine = create_engine(kit_settings.database_url)
        sessions = create_session_factory(engine)
        try:
            before = datetime.now(UTC) + retention - timedelta(minutes=5)
            assert (await purge_once(sessions, kit_settings, before))["idempotency"] == 0
            problem(
                await post(client, person, "key-1", {"name": "b"}), 422, "idempotency-key-reused"
            )
            after = datetime.now(UTC) + retention + timedelta(minutes=5)
            assert (await purge_once(sessions, kit_settings, after))["idempotency"] == 1
        finally:
            await engine.dispose()
        assert (await post(client, person, "key-1", {"name": "b"})).status_code == 201
        assert things.made == ["a", "b"]


class TestConcurrentRetry:
    """A retry sent while the first request still runs waits for it, then replays or runs."""

    async def test_the_retry_waits_and_replays_the_first_answer(
        self, client: httpx.AsyncClient, things: Things, person: str, kit_settings: ServiceSettings
    ) -> None:
        first, retry = await self._retry_while_running(client, things, person, kit_settings)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json() == first.json() and retry.headers[REPLAY_HEADER] == "true"
        assert things.made == ["a"]

    async def test_the_retry_runs_itself_when_the_first_failed(
        self, client: httpx.AsyncClient, things: Things, person: str, kit_settings: ServiceSettings
    ) -> None:
        things.fail_next = True
        first, retry = await self._retry_while_running(client, things, person, kit_settings)
        problem(first, 409, "conflict")
        assert retry.status_code == 201 and REPLAY_HEADER not in retry.headers
        assert things.made == ["a"]

    async def _retry_while_running(
        self, client: httpx.AsyncClient, things: Things, person: str, settings: ServiceSettings
    ) -> tuple[httpx.Response, httpx.Response]:
        things.release.clear()
        first = asyncio.create_task(post(client, person, "key-1", {"name": "a"}))
        try:
            await asyncio.wait_for(things.running.wait(), timeout=10)
            retry = asyncio.create_task(post(client, person, "key-1", {"name": "a"}))
            await eventually(lambda: _lock_waiters(settings.database_url))
            assert not retry.done()
        finally:
            things.release.set()
        return await first, await retry


async def _lock_waiters(database_url: str) -> int:
    """How many sessions of this database wait for an advisory lock."""
    return int(
        await scalar(
            database_url,
            "select count(*) from pg_locks where locktype = 'advisory' and not granted"
            " and database = (select oid from pg_database where datname = current_database())",
        )
    )


class Receipt(BaseModel):
    """A model answer with the values whose JSON could differ between renderers."""

    model_config = ConfigDict(populate_by_name=True)

    thing_id: uuid.UUID = Field(alias="thingId")
    name: str
    price: Decimal
    made_at: datetime
    on: date
    ratio: float
    tags: list[str]
    note: str | None = None


class TestModelAnswers:
    def test_a_model_answers_the_json_jsonable_encoder_would_make(self) -> None:
        receipt = Receipt(
            thing_id=uuid.UUID(int=7), name="Ierīce ņ “ē”", price=Decimal("329.00"),
            made_at=datetime(2026, 9, 1, 6, 30, 5, 123456, tzinfo=UTC), on=date(2027, 5, 31),
            ratio=0.1, tags=["lādētājs", "soma"],
        )  # fmt: skip
        idem = Idempotency(session=None, request=None, owner="o", key=None)  # type: ignore[arg-type]
        answer = idem.respond(200, receipt, {"ETag": '"1"'})
        expected = JSONResponse(jsonable_encoder(receipt), headers={"ETag": '"1"'})
        assert answer.body == expected.body
        assert answer.headers["content-type"] == expected.headers["content-type"]
        assert answer.headers["etag"] == '"1"'
