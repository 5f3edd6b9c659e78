"""The needs survey's pages on the whole system (the dev stack with its demo data): Rīga's
administrator starts a round, a guardian answers one question per page (by keyboard), the
school reads the answer (the family sees the read) and confirms a circumstance, the
municipality confirms it from welfare data, the reservations service counts it in the child's
priority (planning's event over the broker), the guardian withdraws. Every page is checked
with axe and at 320 px; outcomes through the services' APIs."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.kafka import eventually

from .conftest import System, api_as, context_without_js, log_in

SHARED_STACK = "planning"
SCHOOL = "3113900101"
RIGA = "0010000"
PHONE = {"width": 320, "height": 800}


async def check(page: Page) -> None:
    """No WCAG 2.1 A/AA violation and no sideways scrolling."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)


async def as_person(browser: Browser, system: System, person: str) -> Page:
    """A phone-sized browser logged in as a demo person, the pages in English."""
    context = await browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    page = await context.new_page()
    await log_in(page, system, person)
    await page.goto(f"{system.portal}/language/en?next=/home")
    return page


async def child_grade2(system: System) -> dict[str, Any]:
    """The guardian's child at the first demo school (from who-am-I)."""
    me = await (await api_as(system, "guardian")).ok("GET", "gateway", "/me")
    return next(c for c in me["children"] if c["school"]["registration_number"] == SCHOOL)


@pytest.fixture(scope="module")
async def survey(system: System, browser: Browser) -> AsyncIterator[dict[str, str]]:
    """Rīga's administrator starts a round for its schools, grades 1-12, today, asking about
    low income (in the browser)."""
    page = await as_person(browser, system, "municipality_admin")
    await page.goto(f"{system.portal}/municipality/{RIGA}/survey")
    await check(page)
    await page.get_by_role("button", name="Start a survey round").click()
    await check(page)
    title = f"Computers at home {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Low-income or needy family").check()
    await page.get_by_role("button", name="Start the survey round").click()
    await expect(page.get_by_text("The survey round is saved.")).to_be_visible()
    await check(page)
    round_id = re.search(r"/survey/([0-9a-f-]{36})", page.url)
    assert round_id is not None, page.url
    yield {"id": round_id.group(1), "title": title}
    await page.context.close()


class TestTheSurveyJourney:
    """From the round's start to the child's priority, and back."""

    async def test_answer_read_confirm_priority_withdraw(
        self, system: System, browser: Browser, survey: dict[str, str]
    ) -> None:
        child = await child_grade2(system)
        family = await as_person(browser, system, "guardian")
        await family.goto(f"{system.portal}/home")
        task = family.get_by_role("link", name=re.compile(
            rf"Tell us about computers at home for {child['given_name']}"))  # fmt: skip
        await task.first.click()
        await check(family)
        await family.get_by_role("button", name="Start now").click()
        # One question per page, by keyboard.
        await family.get_by_label("No computer at home").focus()
        await family.keyboard.press("Space")
        await check(family)
        await family.keyboard.press("Enter")
        await family.get_by_label("Only mobile data on a phone").focus()
        await family.keyboard.press("Space")
        await check(family)
        await family.get_by_role("button", name="Continue").press("Enter")
        await family.get_by_label("Our family has a low income or is recognised as needy").focus()
        await family.keyboard.press("Space")
        await check(family)
        await family.get_by_role("button", name="Continue").press("Enter")
        await expect(
            family.get_by_role("heading", name="Check your answers before sending them")
        ).to_be_visible()
        await check(family)
        await family.get_by_role("button", name="Send the answers").click()
        await expect(family.get_by_text("Your answers are sent")).to_be_visible()
        await check(family)
        await family.goto(f"{system.portal}/home")
        await expect(family.get_by_role("link", name=re.compile(
            "Change or withdraw your answers")).first).to_be_visible()  # fmt: skip
        await check(family)
        # Change it: the check page, then the internet page.
        await family.get_by_role(
            "link", name=re.compile("Change or withdraw your answers")
        ).first.click()
        await family.get_by_role("button", name="Change your answers").click()
        await family.get_by_role("link", name=re.compile("Change.*internet at home")).click()
        await family.get_by_label("Yes, a home internet connection").check()
        await family.get_by_role("button", name="Continue").click()
        await family.get_by_role("button", name="Save the changes").click()
        await expect(family.get_by_text("Yes, a home internet connection")).to_be_visible()
        answer_url = family.url.split("?")[0]

        # The school reads it (audited) and confirms the circumstance.
        school = await as_person(browser, system, "school_admin")
        await school.goto(f"{system.portal}/schools/{SCHOOL}/survey")
        await check(school)
        await school.goto(f"{system.portal}/schools/{SCHOOL}/survey/{survey['id']}/answers")
        await check(school)
        await school.get_by_role("link", name=re.compile(child["given_name"])).first.click()
        await check(school)
        await school.get_by_role("button", name=re.compile("Confirm: the school knows it")).click()
        await expect(school.get_by_text("The circumstance is confirmed.")).to_be_visible()
        await check(school)

        # The family sees who read it.
        await family.goto(answer_url + "/access-log")
        await expect(family.get_by_role("cell", name="School administrator").first).to_be_visible()
        await check(family)

        # The municipality confirms it from welfare data.
        riga = await as_person(browser, system, "municipality_admin")
        await riga.goto(
            f"{system.portal}/municipality/{RIGA}/survey/{survey['id']}/answers/{child['id']}"
        )
        await check(riga)
        await riga.get_by_role("button", name=re.compile("Confirm from welfare data")).click()
        await expect(riga.get_by_text("The circumstance is confirmed.")).to_be_visible()

        # The reservations service counts it, without the family declaring it.
        guardian = await api_as(system, "guardian")
        created = await guardian.call("POST", "reservations", "", json={
            "learner_id": child["id"], "institution_number": SCHOOL})  # fmt: skip

        async def verified() -> Any:
            page = await guardian.ok("GET", "reservations", "", params={"limit": 100})
            mine = [r for r in page["items"] if r["learner_id"] == child["id"]]
            return next(
                (r for r in mine for c in r.get("verified_criteria") or []
                 if c["criterion"] == "low_income" and c["source"] == "welfare_data"),
                None,
            )  # fmt: skip

        assert created.status_code in (201, 409), created.text
        assert await eventually(verified, timeout_s=40)

        # Withdrawn: the task is back.
        await family.goto(answer_url + "/withdraw")
        await check(family)
        await family.get_by_role("button", name="Yes, withdraw my answers").click()
        await expect(family.get_by_text("Your answers are withdrawn")).to_be_visible()
        await check(family)
        await family.goto(f"{system.portal}/home")
        await expect(family.get_by_role("link", name=re.compile(
            "Tell us about computers at home")).first).to_be_visible()  # fmt: skip
        for page in (family, school, riga):
            await page.context.close()


OTHER_CHILD_CODE = "329999-00002"  # the demo Emīls's (invented) code: grade 3 at SCHOOL
ANOTHER_SCHOOLS_CODE = "010115-20007"  # the demo Jānis's: grade 5 at the second school


class TestPaperAnswer:
    """The school records a paper answer for a child whose family never logged in: found by
    personal code (typed once, never shown back), the child's name to check, the questions;
    the answer is the one the family's own login then sees."""

    async def test_by_personal_code_then_the_familys_task_is_answered(
        self, system: System, browser: Browser, survey: dict[str, str]
    ) -> None:
        school = await as_person(browser, system, "school_admin")
        start = f"{system.portal}/schools/{SCHOOL}/survey/{survey['id']}/paper"
        await school.goto(start)
        await check(school)
        code = school.get_by_label("The child's personal code")
        await code.fill("12345")
        await school.get_by_role("button", name="Find the child").click()
        await expect(school.get_by_role("link", name=re.compile(
            "Enter a personal code in the correct format"))).to_be_visible()  # fmt: skip
        await check(school)
        await code.fill(ANOTHER_SCHOOLS_CODE)  # another school's pupil: as if nobody
        await school.get_by_role("button", name="Find the child").click()
        await expect(school.get_by_role("link", name=re.compile(
            "has no pupil with this personal code"))).to_be_visible()  # fmt: skip
        assert await code.input_value() == ""
        await code.fill(OTHER_CHILD_CODE)
        await school.get_by_role("button", name="Find the child").click()
        await expect(school.get_by_text("Emīls Kalējs")).to_be_visible()
        await check(school)
        html = await school.content()
        for shown in (OTHER_CHILD_CODE, OTHER_CHILD_CODE.replace("-", "")):
            assert shown not in html and shown not in school.url
        await school.get_by_role("button", name="Record the answer").click()  # nothing chosen
        await expect(school.get_by_role("link", name=re.compile(
            "Select which computer the child can use at home"))).to_be_visible()  # fmt: skip
        await expect(school.get_by_text("Emīls Kalējs")).to_be_visible()
        await check(school)
        await school.get_by_label("No computer at home").check()
        await school.get_by_label("Only mobile data on a phone").check()
        await school.get_by_role("button", name="Record the answer").click()
        await expect(school.get_by_text("Emīls Kalējs").first).to_be_visible()
        await check(school)
        learner_id = school.url.rstrip("/").rsplit("/", 1)[-1]
        assert OTHER_CHILD_CODE not in await school.content()

        # The family logs in later: their token names the same child, and the task is done.
        family = await api_as(system, "other_guardian")
        tasks = await family.ok("GET", "planning", "/survey-tasks")
        mine = [t for t in tasks if t["round_id"] == survey["id"]]
        assert [(t["learner_id"], t["answered"]) for t in mine] == [(learner_id, True)]
        await school.context.close()


class TestTenancy:
    """Another family or municipality finds nothing; the analyst sees results only."""

    async def test_others_cannot_open_the_answer_and_the_analyst_sees_results(
        self, system: System, browser: Browser, survey: dict[str, str]
    ) -> None:
        child = await child_grade2(system)
        other = await as_person(browser, system, "other_guardian")
        answer = await other.goto(f"{system.portal}/survey/{survey['id']}/children/{child['id']}")
        assert answer is not None and answer.status == 404
        cesis = await as_person(browser, system, "cesis_admin")
        page = await cesis.goto(
            f"{system.portal}/municipality/{RIGA}/survey/{survey['id']}/answers/{child['id']}"
        )
        assert page is not None and page.status == 404
        analyst = await as_person(browser, system, "ministry_analyst")
        await analyst.goto(f"{system.portal}/ministry")
        await analyst.get_by_role("link", name="Results of the families' needs surveys").click()
        await check(analyst)
        await analyst.get_by_role("link", name=survey["title"]).click()
        await expect(analyst.get_by_role("heading", name="Results")).to_be_visible()
        await check(analyst)
        forms = await analyst.goto(f"{system.portal}/planning/surveys/new")
        assert forms is not None and forms.status == 404
        for p in (other, cesis, analyst):
            await p.context.close()


class TestWithoutJavaScript:
    """A question page works with JavaScript off."""

    async def test_the_device_question_without_js(
        self, system: System, browser: Browser, survey: dict[str, str]
    ) -> None:
        child = await child_grade2(system)
        async with context_without_js(browser, viewport=PHONE) as context:
            page = await context.new_page()
            await log_in(page, system, "guardian")
            await page.goto(f"{system.portal}/language/en?next=/home")
            base = f"{system.portal}/survey/{survey['id']}/children/{child['id']}"
            await page.goto(base + "/device")
            await page.get_by_role("button", name="Continue").click()
            await expect(page.get_by_role("link", name=re.compile(
                "Select which computer the child can use at home"))).to_be_visible()  # fmt: skip
            # axe runs in the page's JavaScript, which is off here (it would wait forever);
            # these pages are checked with it in the journey above.
            await page.get_by_label("Only a smartphone").check()
            await page.get_by_role("button", name="Continue").click()
            await expect(
                page.get_by_role("heading", name=re.compile("internet at home"))
            ).to_be_visible()
