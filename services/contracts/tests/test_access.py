"""Who sees which contracts and lenders."""

from __future__ import annotations

import httpx

from shared_kit.testing.http import bearer, problem

from .conftest import CONTRACTS, RIGA, SCHOOL_A, VALMIERA, Tokens, World, lender_body


class TestContractVisibility:
    async def test_each_caller_sees_their_own(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        contract = await world.draft()

        async def visible(token: str) -> list[str]:
            r = await client.get(CONTRACTS, headers=bearer(token))
            assert r.status_code == 200, r.text
            return [c["id"] for c in r.json()["items"]]

        mine = [contract["id"]]
        assert await visible(tokens.guardian()) == mine
        assert await visible(tokens.school_a) == mine
        assert await visible(tokens.riga) == mine
        assert await visible(tokens.riga_platform) == mine
        assert await visible(tokens.platform) == mine
        for outsider in (tokens.other(), tokens.school_b, tokens.valmiera, tokens.analyst):
            assert await visible(outsider) == []
            r = await client.get(f"{CONTRACTS}/{contract['id']}", headers=bearer(outsider))
            problem(r, 403, "tenant-forbidden")
            r = await client.get(f"{CONTRACTS}/{contract['id']}/pdf", headers=bearer(outsider))
            problem(r, 403, "tenant-forbidden")

    async def test_filters_and_pages(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        ids = [(await world.draft())["id"] for _ in range(3)]
        r = await client.get(f"{CONTRACTS}?limit=2", headers=bearer(tokens.school_a))
        first = r.json()
        assert [c["id"] for c in first["items"]] == ids[:2] and first["next_cursor"]
        r = await client.get(
            f"{CONTRACTS}?limit=2&cursor={first['next_cursor']}", headers=bearer(tokens.school_a)
        )
        assert [c["id"] for c in r.json()["items"]] == ids[2:]
        r = await client.get(f"{CONTRACTS}?state=active", headers=bearer(tokens.school_a))
        assert r.json()["items"] == []
        r = await client.get(
            f"{CONTRACTS}?state=awaiting_borrower&institution={SCHOOL_A}",
            headers=bearer(tokens.riga),
        )
        assert len(r.json()["items"]) == 3

    async def test_unknown_contract(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        r = await client.get(
            f"{CONTRACTS}/00000000-0000-4000-8000-000000000000", headers=bearer(tokens.platform)
        )
        problem(r, 404, "contract-not-found")
        problem(await client.get(CONTRACTS), 401, "unauthorized")


class TestLenders:
    async def test_municipality_admin_manages_their_lenders(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        url = f"{CONTRACTS}/lenders"
        r = await client.post(url, json=lender_body(), headers=bearer(tokens.valmiera))
        problem(r, 403, "tenant-forbidden")
        r = await client.post(url, json=lender_body(), headers=bearer(tokens.school_a))
        problem(r, 403, "tenant-forbidden")
        r = await client.post(url, json=lender_body(), headers=bearer(tokens.riga))
        assert r.status_code == 201, r.text
        etag = r.headers["etag"]
        problem(
            await client.post(url, json=lender_body(), headers=bearer(tokens.riga)),
            409,
            "duplicate",
        )
        mismatched = lender_body("municipality", VALMIERA)
        problem(
            await client.post(url, json=mismatched, headers=bearer(tokens.platform)),
            422,
            "validation",
        )
        r = await client.post(
            url, json=lender_body("municipality", RIGA), headers=bearer(tokens.platform)
        )
        assert r.status_code == 201, r.text

        one = f"{url}/institution/{SCHOOL_A}"
        r = await client.patch(
            one,
            json={"address": "Jaunā iela 2, Rīga"},
            headers={**bearer(tokens.riga), "If-Match": '"9"'},
        )
        problem(r, 412, "precondition-failed")
        r = await client.patch(
            one,
            json={"address": "Jaunā iela 2, Rīga"},
            headers={**bearer(tokens.riga), "If-Match": etag},
        )
        assert r.status_code == 200 and r.json()["address"] == "Jaunā iela 2, Rīga"
        problem(
            await client.patch(one, json={"name": None}, headers=bearer(tokens.riga)),
            422,
            "validation",
        )
        assert (await client.get(one, headers=bearer(tokens.school_a))).status_code == 200
        problem(await client.get(one, headers=bearer(tokens.valmiera)), 403, "tenant-forbidden")
        listed = await client.get(url, headers=bearer(tokens.riga))
        assert [(x["kind"], x["code"]) for x in listed.json()["items"]] == [
            ("municipality", RIGA),  # the kind's enum order, then the code
            ("institution", SCHOOL_A),
        ]
        assert (await client.get(url, headers=bearer(tokens.valmiera))).json()["items"] == []
