"""Survey rounds: set up from VIIS, who runs them, changes with If-Match, closing, listing."""

from __future__ import annotations

import httpx

from .conftest import API, CESIS, CHILD, SCHOOL_A, SCHOOL_B, Tokens
from .survey_helpers import ANSWER, answer_url, make_round, round_body


class TestCreate:
    async def test_a_national_round_takes_every_school_teaching_its_grades(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        body = round_body(scope="national", municipality_code=None, institutions=None, grades=[10])
        response = await client.post(f"{API}/survey-rounds", json=body, headers=tokens.programme_h)
        assert response.status_code == 201, response.text
        got = response.json()
        # Grade 10: Rīga's secondary school and Cēsu novads's secondary school.
        assert [s["registration_number"] for s in got["institutions"]] == [
            SCHOOL_B,
            "4212900103",
        ]
        assert got["state"] == "open" and got["retention_months"] == 12
        assert got["answers_delete_on"] == "2028-03-31"
        assert response.headers["ETag"] == f'"{got["version"]}"'

    async def test_who_may_run_which_round(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        national = round_body(scope="national", municipality_code=None)
        assert (
            await client.post(f"{API}/survey-rounds", json=national, headers=tokens.riga_h)
        ).status_code == 403
        riga = round_body()
        assert (
            await client.post(f"{API}/survey-rounds", json=riga, headers=tokens.valmiera_h)
        ).status_code == 403
        assert (
            await client.post(f"{API}/survey-rounds", json=riga, headers=tokens.guardian_h)
        ).status_code == 403
        cesis_school = round_body(institutions=["4212900101"])
        unknown = await client.post(
            f"{API}/survey-rounds", json=cesis_school, headers=tokens.riga_h
        )
        assert unknown.status_code == 422

    async def test_malformed_rounds_are_422(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        for body in (
            round_body(grades=[13]),
            round_body(closes_on="2027-02-01"),
            round_body(municipality_code=None),
            round_body(criteria=["wealth"]),
            round_body(opens_on="not a date"),
        ):
            response = await client.post(f"{API}/survey-rounds", json=body, headers=tokens.riga_h)
            assert response.status_code == 422, body
            assert response.headers["content-type"] == "application/problem+json"

    async def test_idempotency_key_replays(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        headers = {**tokens.riga_h, "Idempotency-Key": "round-1"}
        first = await client.post(f"{API}/survey-rounds", json=round_body(), headers=headers)
        again = await client.post(f"{API}/survey-rounds", json=round_body(), headers=headers)
        assert first.json()["id"] == again.json()["id"]
        other = await client.post(
            f"{API}/survey-rounds", json=round_body(title="x"), headers=headers
        )
        assert other.status_code == 422


class TestChange:
    async def test_if_match_and_no_shrinking_once_answered(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = f"{API}/survey-rounds/{round_['id']}"
        stale = await client.patch(
            url, json={"title": "x"}, headers={**tokens.riga_h, "If-Match": '"7"'}
        )
        assert stale.status_code == 412
        fresh = await client.patch(
            url, json={"institutions": [SCHOOL_A]}, headers={**tokens.riga_h, "If-Match": '"1"'}
        )
        assert fresh.status_code == 200, fresh.text
        assert [s["registration_number"] for s in fresh.json()["institutions"]] == [SCHOOL_A]
        await client.put(answer_url(round_["id"], CHILD), json=ANSWER, headers=tokens.guardian_h)
        shrink = await client.patch(url, json={"grades": [1]}, headers=tokens.riga_h)
        assert shrink.status_code == 409
        grow = await client.patch(
            url, json={"institutions": [SCHOOL_A, SCHOOL_B]}, headers=tokens.riga_h
        )
        assert grow.status_code == 200
        assert (
            await client.patch(url, json={"title": "x"}, headers=tokens.school_a_h)
        ).status_code == 403

    async def test_closing(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = f"{API}/survey-rounds/{round_['id']}"
        closed = await client.post(f"{url}/close", headers={**tokens.riga_h, "If-Match": '"1"'})
        assert closed.status_code == 200 and closed.json()["state"] == "closed"
        assert closed.json()["answers_delete_on"] == "2028-03-01"
        assert (await client.post(f"{url}/close", headers=tokens.riga_h)).status_code == 409
        late = await client.put(
            answer_url(round_["id"], CHILD), json=ANSWER, headers=tokens.guardian_h
        )
        assert late.status_code == 409


class TestList:
    async def test_each_sees_their_rounds(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        riga = await make_round(client, tokens.riga_h)
        national = await make_round(
            client,
            tokens.programme_h,
            scope="national",
            municipality_code=None,
            institutions=["4212900101"],
        )

        def ids(response: httpx.Response) -> set[str]:
            return {r["id"] for r in response.json()["items"]}

        everything = await client.get(f"{API}/survey-rounds", headers=tokens.analyst_h)
        assert ids(everything) == {riga["id"], national["id"]}
        assert ids(await client.get(f"{API}/survey-rounds", headers=tokens.riga_h)) == {riga["id"]}
        assert ids(await client.get(f"{API}/survey-rounds", headers=tokens.valmiera_h)) == set()
        assert ids(
            await client.get(
                f"{API}/survey-rounds?municipality={CESIS}", headers=tokens.programme_h
            )
        ) == {national["id"]}
        assert (
            ids(await client.get(f"{API}/survey-rounds?state=closed", headers=tokens.analyst_h))
            == set()
        )
        assert (
            await client.get(f"{API}/survey-rounds/{national['id']}", headers=tokens.riga_h)
        ).status_code == 404
        assert (
            await client.get(f"{API}/survey-rounds", headers=tokens.guardian_h)
        ).status_code == 403
