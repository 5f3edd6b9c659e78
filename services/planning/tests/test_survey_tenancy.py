"""Tenancy: answers for the family and the child's school and municipality only, reads audited."""

from __future__ import annotations

import httpx

from shared_kit.testing.clock import TestClock

from .conftest import API, CHILD, OTHER_CHILD, Tokens
from .survey_helpers import ANSWER, answer_url, make_round


class TestAnswers:
    async def test_only_family_school_and_municipality_read(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = answer_url(round_["id"], CHILD)
        await client.put(url, json=ANSWER, headers=tokens.guardian_h)
        for token in (tokens.guardian_h, tokens.school_a_h, tokens.riga_h):
            assert (await client.get(url, headers=token)).status_code == 200
        for token in (tokens.other_guardian_h, tokens.school_b_h, tokens.valmiera_h):
            assert (await client.get(url, headers=token)).status_code == 404
        for token in (tokens.analyst_h, tokens.programme_h, tokens.teacher_a_h):
            assert (await client.get(url, headers=token)).status_code == 403
        other = await client.put(
            answer_url(round_["id"], OTHER_CHILD), json=ANSWER, headers=tokens.guardian_h
        )
        assert other.status_code == 404
        assert (await client.delete(url, headers=tokens.other_guardian_h)).status_code == 404
        assert (await client.delete(url, headers=tokens.school_a_h)).status_code == 403

    async def test_staff_reads_are_logged_for_the_family(
        self, client: httpx.AsyncClient, tokens: Tokens, clock: TestClock
    ) -> None:
        round_ = await make_round(client, tokens.riga_h)
        url = answer_url(round_["id"], CHILD)
        await client.put(url, json=ANSWER, headers=tokens.guardian_h)
        await client.get(url, headers=tokens.guardian_h)  # the family's own read is not logged
        await client.get(url, headers=tokens.school_a_h)
        clock.advance(minutes=1)
        listed = await client.get(
            f"{API}/survey-rounds/{round_['id']}/answers", headers=tokens.riga_h
        )
        assert [a["learner_id"] for a in listed.json()["items"]] == [CHILD]
        log_url = f"{API}/survey-rounds/{round_['id']}/access-log?learner_id={CHILD}"
        log = (await client.get(log_url, headers=tokens.guardian_h)).json()["items"]
        assert [(r["reader"], r["role"], r["what"]) for r in log] == [
            ("person:riga-admin", "municipality_admin", "list"),
            ("person:school-a", "institution_admin", "answer"),
        ]
        assert (await client.get(log_url, headers=tokens.other_guardian_h)).status_code == 404
        assert (await client.get(log_url, headers=tokens.riga_h)).status_code == 200
        assert (await client.get(log_url, headers=tokens.analyst_h)).status_code == 403
        school_list = await client.get(
            f"{API}/survey-rounds/{round_['id']}/answers", headers=tokens.school_b_h
        )
        assert school_list.json()["items"] == []
        analyst_list = await client.get(
            f"{API}/survey-rounds/{round_['id']}/answers", headers=tokens.analyst_h
        )
        assert analyst_list.status_code == 403
