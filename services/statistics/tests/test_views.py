"""The views: coverage arithmetic on the demo schools, the figures, filters and tenancy."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.testing.http import bearer, problem
from statistics_service.consumers import to_fact
from statistics_service.service import views
from statistics_service.service.figures import devices_needed
from statistics_service.service.projection import apply_facts

from .conftest import (
    API,
    RIGA,
    SCHOOL_1,
    SCHOOL_2,
    VALMIERA,
    VALMIERA_SCHOOL,
    Producers,
    Tokens,
    standin,
)

Sessions = async_sessionmaker[AsyncSession]


async def apply(sessions: Sessions, events: list[Any]) -> None:
    """Events through the projection, as the consumer applies them."""
    facts = [f for e in events if (f := to_fact(e)) is not None]
    async with sessions() as session, session.begin():
        await apply_facts(session, facts)


async def refresh_pupils(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, int]:
    """Read the demo schools' pupils from the VIIS stand-in, as the scheduled job does."""
    r = await client.post(f"{API}/ops/pupils/refresh", headers=bearer(tokens.platform))
    assert r.status_code == 200, r.text
    return dict(r.json()["result"])


@pytest.fixture
async def schools(client: httpx.AsyncClient, tokens: Tokens, sessions: Sessions) -> Producers:
    """School 1: 40 laptops for everyone, 5 tablets for grades 7-9, 2 lost laptops, 3
    accessories; school 2: 100 laptops; a Valmiera school known only from 4 devices."""
    await refresh_pupils(client, tokens)
    p = Producers()
    events = [p.device(warranty_ends_on="2027-12-31") for _ in range(30)]
    events += [p.device(warranty_ends_on="2026-06-30") for _ in range(10)]
    events += [p.device(category="tablet", os="chromeos", levels=["grades 7-9"]) for _ in range(5)]
    for _ in range(2):
        device = str(uuid.uuid4())
        events += [p.device(device), p.device(device, status="lost")]
    events += [p.device(category="accessory", os="none") for _ in range(3)]
    events += [p.device(institution=SCHOOL_2, funding_source="react_eu") for _ in range(100)]
    events += [p.device(municipality_code=VALMIERA, institution=VALMIERA_SCHOOL) for _ in range(4)]
    await apply(sessions, events)
    return p


def band(view: dict[str, Any], name: str) -> dict[str, Any]:
    """One band of a view's coverage."""
    return next(b for b in view["figures"]["coverage"] if b["band"] == name)


class TestCoverageOfAKnownSchool:
    async def test_basic_school_against_the_2025_target(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: Producers
    ) -> None:
        pupils = standin.PUPIL_COUNTS[SCHOOL_1]
        assert pupils[1] + pupils[2] + pupils[3] == 181
        r = await client.get(f"{API}/institutions/{SCHOOL_1}", headers=bearer(tokens.analyst))
        assert r.status_code == 200, r.text
        view = r.json()
        assert band(view, "1-3") == {
            "band": "1-3",
            "first_grade": 1,
            "last_grade": 3,
            "pupils": 181,
            "devices": 40,  # not the lost laptops, accessories or the grade 7-9 tablets
            "pupils_per_device": 4.53,
            "target_pupils_per_device": "3",
            "devices_needed": 21,  # ceil(181 / 3) = 61 devices for the target, 40 there
            "target_met": False,
        }
        assert band(view, "7-9")["devices"] == 45
        assert band(view, "7-9")["pupils"] == pupils[7] + pupils[8] + pupils[9]
        assert band(view, "4-6")["devices_needed"] is None  # no target configured
        assert band(view, "10-12") | {"pupils": 0, "devices": 0} == band(view, "10-12")
        assert view["name"] == "Rīgas Demo 1. pamatskola"
        assert view["figures"]["pupils"]["total"] == sum(pupils.values())

    async def test_a_surplus_elsewhere_does_not_cover_a_shortfall(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: Producers
    ) -> None:
        r = await client.get(f"{API}/municipalities/{RIGA}", headers=bearer(tokens.analyst))
        view = r.json()
        riga = band(view, "1-3")
        assert (riga["pupils"], riga["devices"]) == (181 + 253, 140)
        # Rīga as a whole has 140 devices for ceil(434 / 3) = 145, but school 2's surplus of
        # 15 does not help school 1, which still needs 21.
        assert riga["devices_needed"] == 21 and riga["target_met"] is False
        children = {c["code"]: c for c in view["children"]}
        assert set(children) == {SCHOOL_1, SCHOOL_2}
        school_2 = next(b for b in children[SCHOOL_2]["coverage"] if b["band"] == "1-3")
        assert (school_2["devices_needed"], school_2["target_met"]) == (0, True)

    async def test_devices_of_schools_unknown_to_viis_count_for_no_band(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: Producers
    ) -> None:
        r = await client.get(
            f"{API}/institutions/{VALMIERA_SCHOOL}", headers=bearer(tokens.analyst)
        )
        view = r.json()
        assert view["figures"]["devices"]["total"] == 4
        assert band(view, "1-3")["devices"] == 0 and band(view, "1-3")["devices_needed"] == 0

    @pytest.mark.parametrize(
        ("pupils", "devices", "target", "needed"),
        [
            (181, 40, "3", 21),
            (181, 61, "3", 0),
            (181, 60, "3", 1),
            (0, 0, "3", 0),
            (10, 0, "2.5", 4),
        ],
    )
    def test_devices_needed(self, pupils: int, devices: int, target: str, needed: int) -> None:
        assert devices_needed(pupils, devices, Decimal(target)) == needed


class TestFigures:
    async def test_national_view(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: Producers
    ) -> None:
        r = await client.get(f"{API}/national", headers=bearer(tokens.analyst))
        assert r.status_code == 200, r.text
        view = r.json()
        devices = view["figures"]["devices"]
        assert devices["total"] == 30 + 10 + 5 + 2 + 3 + 100 + 4
        assert devices["in_service"] == devices["total"] - 2
        assert devices["by_status"] == {"available": 152, "lost": 2}
        assert devices["by_category"] == {"accessory": 3, "laptop": 146, "tablet": 5}
        assert devices["by_funding_source"] == {"react_eu": 100, "recovery_fund": 54}
        # 1 September 2026: warranties ending 2027 hold, those of June 2026 are over.
        assert devices["by_warranty_state"] == {"in_warranty": 30, "expired": 10, "unknown": 114}
        assert [c["code"] for c in view["children"]] == [RIGA, VALMIERA]
        assert band(view, "1-3")["devices_needed"] == 21

    async def test_device_filters(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: Producers
    ) -> None:
        r = await client.get(
            f"{API}/national",
            params={"category": "laptop", "funding_source": "recovery_fund"},
            headers=bearer(tokens.analyst),
        )
        view = r.json()
        assert view["filters"] == {"category": "laptop", "funding_source": "recovery_fund"}
        assert view["figures"]["devices"]["total"] == 46
        assert view["figures"]["devices"]["by_warranty_state"]["unknown"] == 6
        bad = await client.get(
            f"{API}/national", params={"os": "Windows!"}, headers=bearer(tokens.analyst)
        )
        problem(bad, 422, "validation")

    async def test_loans_reservations_and_tickets(
        self, client: httpx.AsyncClient, tokens: Tokens, sessions: Sessions
    ) -> None:
        p = Producers()
        events = []
        for i in range(3):
            reservation, contract = str(uuid.uuid4()), str(uuid.uuid4())
            events += [p.reservation(reservation, "approved", priority=10 * i)]
            events += [p.contract(contract, "activated", reservation)]
        events += [p.reservation(str(uuid.uuid4()), "waitlisted") for _ in range(2)]
        events += [p.reservation(str(uuid.uuid4()), "requested")]
        events += [p.ticket(str(uuid.uuid4())), p.ticket(str(uuid.uuid4()), "sla_breached")]
        await apply(sessions, events)
        figures = (await client.get(f"{API}/national", headers=bearer(tokens.analyst))).json()[
            "figures"
        ]
        assert figures["loans"]["active"] == 3 and figures["loans"]["by_state"] == {"active": 3}
        # Two prioritised loans: a count below 5, so it is suppressed.
        assert figures["loans"]["by_social_criterion"]["any"] == {"count": None, "suppressed": True}
        assert figures["loans"]["by_social_criterion"]["low_income"] == {
            "count": 0,
            "suppressed": False,
        }
        assert figures["reservations"] == {
            "waiting": 3,
            "waitlisted": 2,
            "by_state": {"approved": 3, "requested": 1, "waitlisted": 2},
        }
        assert figures["tickets"] == {
            "open": 2,
            "resolved": 0,
            "sla_breaches": 1,
            "mean_hours_to_resolve": None,
        }


class TestViewCache:
    async def test_a_view_is_recomputed_only_when_what_it_shows_changed(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        schools: Producers,
        sessions: Sessions,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        computed: list[str] = []
        real = views._compute

        async def counting(*args: Any, **kwargs: Any) -> Any:
            computed.append(kwargs["level"])
            return await real(*args, **kwargs)

        monkeypatch.setattr(views, "_compute", counting)

        async def total() -> int:
            r = await client.get(f"{API}/national", headers=bearer(tokens.analyst))
            return int(r.json()["figures"]["devices"]["total"])

        assert await total() == await total() == 154
        assert computed == ["national"]
        added = schools.device()
        await apply(sessions, [added])
        assert await total() == 155 and len(computed) == 2
        await apply(sessions, [added])  # a duplicate changes nothing: the view is kept
        assert await total() == 155 and len(computed) == 2
        await refresh_pupils(client, tokens)  # pupils feed the coverage
        assert await total() == 155 and len(computed) == 3


class TestTenancy:
    @pytest.mark.parametrize(
        ("who", "path", "status", "type_"),
        [
            ("analyst", "/national", 200, None),
            ("platform", "/national", 200, None),
            ("riga", "/national", 403, "tenant-forbidden"),
            ("riga_client", "/national", 403, "tenant-forbidden"),
            ("viis", "/national", 403, "forbidden"),  # the feed's scope only
            ("unscoped_client", "/national", 403, "forbidden"),
            ("guardian", "/national", 403, "forbidden"),
            ("riga", f"/municipalities/{RIGA}", 200, None),
            ("riga_client", f"/municipalities/{RIGA}", 200, None),
            ("valmiera", f"/municipalities/{RIGA}", 403, "tenant-forbidden"),
            ("riga", f"/institutions/{SCHOOL_1}", 200, None),
            ("valmiera", f"/institutions/{SCHOOL_1}", 403, "tenant-forbidden"),
            ("school_1", f"/institutions/{SCHOOL_1}", 200, None),
            ("school_1", f"/institutions/{SCHOOL_2}", 403, "tenant-forbidden"),
            ("school_1", f"/municipalities/{RIGA}", 403, "tenant-forbidden"),
            ("analyst", "/municipalities/0999999", 404, "municipality-not-found"),
            ("analyst", "/institutions/9999999999", 404, "institution-not-found"),
        ],
    )
    async def test_who_sees_what(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        schools: Producers,
        who: str,
        path: str,
        status: int,
        type_: str | None,
    ) -> None:
        r = await client.get(f"{API}{path}", headers=bearer(getattr(tokens, who)))
        if type_ is None:
            assert r.status_code == status, r.text
        else:
            problem(r, status, type_)

    async def test_without_a_token(self, client: httpx.AsyncClient) -> None:
        problem(await client.get(f"{API}/national"), 401, "unauthorized")
