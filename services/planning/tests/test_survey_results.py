"""Results: aggregates per nation, municipality and school, with counts of 1-4 hidden."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from planning_service.models.survey import RoundScope, SurveyRound, SurveyRoundInstitution
from planning_service.service.survey_results import build, row

from .conftest import API, RIGA, SCHOOL_A, SCHOOL_B, Tokens
from .survey_helpers import ANSWER, answer_url, make_round


def _walk(node: object) -> list[int]:
    """Every integer count in a results body, except pupils (which are not about anyone)."""
    found: list[int] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "eligible_pupils":
                found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    elif isinstance(node, int) and not isinstance(node, bool):
        found.append(node)
    return found


class TestResults:
    async def test_small_counts_are_hidden_pupils_are_not(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        await client.put(
            answer_url(round_["id"], tokens.child), json=ANSWER, headers=tokens.guardian_h
        )
        await client.put(
            answer_url(round_["id"], tokens.child_b), json=ANSWER, headers=tokens.guardian_h
        )
        url = f"{API}/survey-rounds/{round_['id']}/results"
        for token in (tokens.programme_h, tokens.analyst_h, tokens.riga_h):
            response = await client.get(url, headers=token)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["level"] == "municipality" and body["code"] == RIGA
            assert body["responses"] is None and "responses" in body["suppressed"]
            assert body["response_rate"] is None
            # Grades 1-6 of both demo schools, from VIIS.
            assert (
                body["eligible_pupils"] == 62 + 58 + 61 + 55 + 57 + 52 + 84 + 88 + 81 + 79 + 83 + 76
            )
            assert [c["code"] for c in body["children"]] == [SCHOOL_A, "3113900102"]
            assert all(not 1 <= n <= 4 for n in _walk(body))
        school = await client.get(url, headers=tokens.school_a_h)
        assert school.json()["level"] == "institution" and school.json()["children"] == []

    async def test_band_counts_hide_small_ones_and_show_zero(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        round_ = await make_round(client, tokens.riga_h, criteria=["low_income"])
        for child in (
            tokens.child,
            tokens.child_b,
            tokens.other_child,
        ):  # paper answers through the municipality
            response = await client.put(
                answer_url(round_["id"], child), json=ANSWER, headers=tokens.riga_h
            )
            assert response.status_code == 201
        url = f"{API}/survey-rounds/{round_['id']}/results"
        body = (await client.get(url, headers=tokens.riga_h)).json()
        band = next(b for b in body["by_grade_band"] if b["band"] == "1-3")
        assert band["responses"] is None
        assert set(band["suppressed"]) == {"responses", "without_suitable_device"}
        assert band["no_internet"] == 0


def _school(number: str, municipality: str, pupils: dict[str, int]) -> SurveyRoundInstitution:
    return SurveyRoundInstitution(
        registration_number=number, name=number, municipality_code=municipality, pupils=pupils
    )


def test_counts_of_five_and_more_show() -> None:
    round_ = SurveyRound(grades=[2], criteria=["low_income"], scope=RoundScope.MUNICIPALITY)
    counts = [
        (SCHOOL_A, 0, "responses", 7),
        (SCHOOL_A, 0, "without_suitable_device", 5),
        (SCHOOL_A, 0, "declared:low_income", 2),
    ]
    table = build(round_, [_school(SCHOOL_A, RIGA, {"2": 58})], counts)
    shown = row(table, f"s:{SCHOOL_A}")
    assert (shown.responses, shown.response_rate, shown.suppressed) == (7, round(7 / 58, 4), [])
    assert shown.by_grade_band[0].without_suitable_device == 5
    assert (shown.criteria[0].declared, shown.criteria[0].verified) == (None, 0)
    assert shown.criteria[0].suppressed == ["declared"]


class TestComplementarySuppression:
    def test_a_small_school_hides_the_next_smallest_beside_it(self) -> None:
        round_ = SurveyRound(grades=[2, 5], criteria=[], scope=RoundScope.NATIONAL)
        schools = [
            _school(SCHOOL_A, RIGA, {"2": 50, "5": 50}),
            _school(SCHOOL_B, RIGA, {"2": 50, "5": 50}),
            _school("3113900103", RIGA, {"2": 50, "5": 50}),
            _school("4213900001", "0940200", {"2": 50}),
        ]
        counts = [
            (SCHOOL_A, 0, "responses", 3),
            (SCHOOL_A, 1, "responses", 9),
            (SCHOOL_B, 0, "responses", 20),
            ("3113900103", 0, "responses", 11),
            ("4213900001", 0, "responses", 30),
        ]
        table = build(round_, schools, counts)
        riga = [row(table, f"s:{n}") for n in (SCHOOL_A, SCHOOL_B, "3113900103")]
        # Band 1-3 of school A (3) is hidden; so is the next smallest 1-3 beside it (11), and
        # within school A the band 4-6 (9), else 12 - 9 would give the 3 back.
        assert [r.by_grade_band[0].responses for r in riga] == [None, 20, None]
        assert riga[0].by_grade_band[1].responses is None
        # Band 4-6 of school A is the only one hidden among Rīga's 4-6: school A's total goes too
        # (the next smallest non-zero 4-6 there is none), and so on up.
        assert riga[0].responses is None
        nation = row(table, "n:")
        assert nation.responses == 73

    def test_every_level_hides_the_same_cells(self) -> None:
        round_ = SurveyRound(grades=[2], criteria=[], scope=RoundScope.NATIONAL)
        schools = [_school(f"31139001{n:02d}", RIGA, {"2": 40}) for n in range(3)]
        schools.append(_school("4213900001", "0940200", {"2": 40}))
        counts = [(s.registration_number, 0, "responses", 6) for s in schools[:3]]
        counts.append(("4213900001", 0, "responses", 2))
        table = build(round_, schools, counts)
        # Valmiera's 2 is hidden, so Rīga's 18 beside it in the nation is too: shown in Rīga's
        # own results it would give Valmiera's back.
        assert row(table, "m:0940200").responses is None
        assert row(table, f"m:{RIGA}").responses is None
        assert row(table, "n:").responses == 20


class TestWho:
    async def test_who_sees_results(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = f"{API}/survey-rounds/{round_['id']}/results"
        assert (await client.get(url, headers=tokens.guardian_h)).status_code == 403
        assert (await client.get(url, headers=tokens.valmiera_h)).status_code == 404
        other_school = await client.get(f"{url}?institution={SCHOOL_A}", headers=tokens.school_b_h)
        assert other_school.status_code == 404


class TestThroughTheApi:
    async def test_the_results_hide_the_complement_too(
        self, client: httpx.AsyncClient, tokens: Tokens, engine: AsyncEngine
    ) -> None:
        round_ = await make_round(client, tokens.riga_h, criteria=["low_income"])
        # Counts as answers would have left them: school A three in grade 2, school B twelve
        # in grade 2 and seven in grade 5.
        async with engine.begin() as conn:
            for school, grade, count in ((SCHOOL_A, 2, 3), (SCHOOL_B, 2, 12), (SCHOOL_B, 5, 7)):
                await conn.execute(
                    text(
                        "INSERT INTO survey_aggregate (round_id, institution_number, grade, "
                        "metric, municipality_code, count) VALUES (:r, :s, :g, 'responses', :m, :n)"
                    ),
                    {"r": round_["id"], "s": school, "g": grade, "m": RIGA, "n": count},
                )
        url = f"{API}/survey-rounds/{round_['id']}/results"
        body = (await client.get(url, headers=tokens.riga_h)).json()
        assert body["responses"] == 22
        school_a, school_b = body["children"]
        assert school_a["responses"] is None and school_b["responses"] is None
        assert "responses" in school_b["suppressed"]
        assert all(not 1 <= n <= 4 for n in _walk(body))
        # The school's own view hides what the municipality's does.
        mine = (await client.get(url, headers=tokens.school_b_h)).json()
        assert mine["responses"] is None and mine["level"] == "institution"
