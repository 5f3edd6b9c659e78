"""Results: aggregates per nation, municipality and school, with counts of 1-4 hidden."""

from __future__ import annotations

import httpx
from hypothesis import given
from hypothesis import strategies as st

from planning_service.models.survey import SurveyAggregate, SurveyRound, SurveyRoundInstitution
from planning_service.service.survey_results import Figures, published

from .conftest import API, CHILD, CHILD_B, OTHER_CHILD, RIGA, SCHOOL_A, Tokens
from .survey_helpers import ANSWER, answer_url, make_round


@given(st.integers(min_value=0, max_value=10**9))
def test_no_published_count_is_between_one_and_four(count: int) -> None:
    shown = published(count)
    assert shown is None or not 1 <= shown <= 4
    assert shown is None or shown == count
    assert (shown is None) == (1 <= count <= 4)


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
        await client.put(answer_url(round_["id"], CHILD), json=ANSWER, headers=tokens.guardian_h)
        await client.put(answer_url(round_["id"], CHILD_B), json=ANSWER, headers=tokens.guardian_h)
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
        for child in (CHILD, CHILD_B, OTHER_CHILD):  # paper answers through the municipality
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


def test_counts_of_five_and_more_show() -> None:
    round_ = SurveyRound(grades=[2], criteria=["low_income"])
    school = SurveyRoundInstitution(
        registration_number=SCHOOL_A, municipality_code=RIGA, pupils={"2": 58}
    )
    figures = Figures(round_, [school])
    for metric, count in (
        ("responses", 7),
        ("without_suitable_device", 5),
        ("declared:low_income", 2),
    ):
        figures.add(SurveyAggregate(grade=2, metric=metric, count=count))
    row = figures.row("institution", SCHOOL_A)
    assert (row.responses, row.response_rate, row.suppressed) == (7, round(7 / 58, 4), [])
    assert row.by_grade_band[0].without_suitable_device == 5
    assert (row.criteria[0].declared, row.criteria[0].verified) == (None, 0)
    assert row.criteria[0].suppressed == ["declared"]


class TestWho:
    async def test_who_sees_results(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = f"{API}/survey-rounds/{round_['id']}/results"
        assert (await client.get(url, headers=tokens.guardian_h)).status_code == 403
        assert (await client.get(url, headers=tokens.valmiera_h)).status_code == 404
        other_school = await client.get(f"{url}?institution={SCHOOL_A}", headers=tokens.school_b_h)
        assert other_school.status_code == 404
