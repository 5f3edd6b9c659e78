"""The VIIS client (`shared_kit.viis`) against the stand-in, over real HTTP.

The stand-in runs as a uvicorn subprocess, the way the local stack runs it.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from shared_kit import viis
from shared_kit.testing.infra import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "deploy" / "dev"
API_KEY = "test-viis-key"
START_TIMEOUT_S = 20.0
# Weights of the old-format personal-code check digit.
CHECK_WEIGHTS = (1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _load(name: str, path: Path) -> ModuleType:
    """Import a module from its file (before its package is installed, or outside one)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


standin = _load("viis_standin", DEV / "viis_standin.py")
PEOPLE = standin.DEMO_PEOPLE


class StandIn:
    """The stand-in as a uvicorn subprocess on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "VIIS_STANDIN_API_KEY": API_KEY}
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(DEV), "viis_standin:app"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the stand-in exited; see its stderr above")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("stand-in did not become ready")

    def stop(self) -> None:
        """Terminate the process we started."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    """One stand-in for the module."""
    process = StandIn()
    yield process
    process.stop()


@pytest.fixture
async def directory(server: StandIn) -> AsyncIterator[Any]:
    """A client with the right key."""
    async with viis.HttpViisDirectory(server.url, API_KEY, timeout_s=5) as client:
        yield client


async def test_the_client_satisfies_the_protocol(directory: Any) -> None:
    assert isinstance(directory, viis.ViisDirectory)


async def test_guardian_lookup_returns_both_children(directory: Any) -> None:
    person = await directory.person_by_personal_code(PEOPLE["guardian"].personal_code)
    assert (person.given_name, person.family_name) == ("Ilze", "Bērziņa")
    assert person.learner is None and person.staff == ()
    children = {(g.learner_viis_id, g.institution_reg_no) for g in person.guardian_of}
    assert children == {
        (PEOPLE["child_grade2"].viis_id, "3113900101"),
        (PEOPLE["child_grade5"].viis_id, "3113900102"),
    }


async def test_children_are_learners_of_the_demo_schools(directory: Any) -> None:
    younger = await directory.person_by_personal_code(PEOPLE["child_grade2"].personal_code)
    older = await directory.person_by_personal_code(PEOPLE["child_grade5"].personal_code)
    assert (younger.learner.institution_reg_no, younger.learner.grade) == ("3113900101", 2)
    assert (older.learner.institution_reg_no, older.learner.grade) == ("3113900102", 5)


async def test_learner_enrolment(directory: Any) -> None:
    person = await directory.person_by_personal_code(PEOPLE["learner"].personal_code)
    assert person.learner == viis.LearnerEnrolment(
        institution_reg_no="3113900101", grade=8, class_name="8.c"
    )
    assert person.guardian_of == () and person.staff == ()


async def test_code_without_hyphen_finds_the_same_person(directory: Any) -> None:
    code = PEOPLE["learner"].personal_code.replace("-", "")
    person = await directory.person_by_personal_code(code)
    assert person.viis_id == PEOPLE["learner"].viis_id


@pytest.mark.parametrize(
    ("key", "reg_no", "role"),
    [("school_admin", "3113900101", "institution_admin"), ("teacher", "3113900102", "teacher")],
)
async def test_staff_roles(directory: Any, key: str, reg_no: str, role: str) -> None:
    person = await directory.person_by_personal_code(PEOPLE[key].personal_code)
    assert person.staff == (viis.StaffPosition(institution_reg_no=reg_no, role=role),)
    assert person.staff[0].role == viis.StaffRole(role)
    assert person.learner is None


@pytest.mark.parametrize(
    "key", ["municipality_admin", "technician", "ministry_analyst", "platform_admin"]
)
async def test_platform_granted_people_have_no_viis_roles(directory: Any, key: str) -> None:
    person = await directory.person_by_personal_code(PEOPLE[key].personal_code)
    assert person.viis_id == PEOPLE[key].viis_id
    assert (person.learner, person.guardian_of, person.staff) == (None, (), ())


async def test_person_by_viis_id_names_a_guardians_child(directory: Any) -> None:
    assert isinstance(directory, viis.ViisPersonRegister)
    child = await directory.person_by_viis_id(PEOPLE["child_grade5"].viis_id)
    assert (child.given_name, child.family_name) == ("Jānis", "Bērziņš")
    assert child.learner == viis.LearnerEnrolment(
        institution_reg_no="3113900102", grade=5, class_name="5.b"
    )


async def test_unknown_viis_id_is_none(directory: Any) -> None:
    assert await directory.person_by_viis_id("VIIS-NOBODY") is None


async def test_malformed_viis_id_is_refused_before_any_request(directory: Any) -> None:
    with pytest.raises(ValueError):
        await directory.person_by_viis_id("../institutions")


async def test_unknown_code_is_none(directory: Any) -> None:
    assert await directory.person_by_personal_code("010101-10003") is None


async def test_malformed_code_is_refused_before_any_request(directory: Any) -> None:
    with pytest.raises(ValueError) as caught:
        await directory.person_by_personal_code("01018510004x")
    assert "0101851" not in str(caught.value)


async def test_pupil_counts(directory: Any) -> None:
    basic = await directory.institution_pupils("3113900101")
    secondary = await directory.institution_pupils("3113900102")
    assert [g.grade for g in basic] == list(range(1, 10))
    assert [g.grade for g in secondary] == list(range(1, 13))
    assert all(g.pupils > 0 for g in basic + secondary)
    assert basic[1] == viis.GradeCount(grade=2, pupils=standin.PUPIL_COUNTS["3113900101"][2])


async def test_unknown_institution(directory: Any) -> None:
    with pytest.raises(viis.UnknownInstitution):
        await directory.institution_pupils("9999999999")


async def test_municipalities_and_their_schools_with_addresses(directory: Any) -> None:
    assert isinstance(directory, viis.ViisInstitutionRegister)
    listed = await directory.municipalities()
    assert [(m.code, m.name) for m in listed] == [
        ("0010000", "Rīgas valstspilsēta"),
        (standin.CESIS, "Cēsu novads"),
    ]
    schools = await directory.institutions(standin.CESIS)
    assert [s.registration_number for s in schools] == list(standin.CESIS_SCHOOLS)
    assert all(s.address and s.grades for s in schools)


def test_an_answer_without_addresses_is_still_read() -> None:
    body = {"registration_number": "3113900101", "name": "X", "municipality_code": "0010000"}
    assert viis.ViisInstitution.model_validate(body).address is None


async def test_wrong_api_key_is_an_auth_error(server: StandIn) -> None:
    async with viis.HttpViisDirectory(server.url, "wrong-key") as client:
        with pytest.raises(viis.ViisAuthError):
            await client.person_by_personal_code(PEOPLE["guardian"].personal_code)
        with pytest.raises(viis.ViisAuthError):
            await client.institution_pupils("3113900101")


@pytest.mark.parametrize("key", ["", "  "])
def test_empty_api_key_is_refused_at_construction(key: str) -> None:
    with pytest.raises(ValueError):
        viis.HttpViisDirectory("http://viis.invalid", key)


async def test_standin_answers_401_with_a_challenge(server: StandIn) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/v1/institutions/3113900101/pupils")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


async def test_wrong_base_url_is_not_mistaken_for_unknown_person(server: StandIn) -> None:
    async with viis.HttpViisDirectory(f"{server.url}/nothing-here", API_KEY) as client:
        with pytest.raises(viis.ViisProtocolError):
            await client.person_by_personal_code(PEOPLE["guardian"].personal_code)


async def test_stopped_standin_is_unavailable() -> None:
    stand_in = StandIn()
    async with viis.HttpViisDirectory(stand_in.url, API_KEY, timeout_s=2) as client:
        assert await client.institution_pupils("3113900101")
        stand_in.stop()
        with pytest.raises(viis.ViisUnavailable):
            await client.person_by_personal_code(PEOPLE["guardian"].personal_code)
        with pytest.raises(viis.ViisUnavailable):
            await client.institution_pupils("3113900101")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (503, b'{"title": "down"}', "ViisUnavailable"),
        (502, b"<html>bad gateway</html>", "ViisUnavailable"),
        (429, b"{}", "ViisUnavailable"),
        (403, b"{}", "ViisAuthError"),
        (400, b"{}", "ViisProtocolError"),
        (200, b'{"viis_id": 1}', "ViisProtocolError"),
        (200, b"not json", "ViisProtocolError"),
    ],
)
async def test_status_and_body_mapping(status: int, body: bytes, error: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    async with httpx.AsyncClient(transport=transport) as http:
        client = viis.HttpViisDirectory("http://viis.invalid", API_KEY, http=http)
        with pytest.raises(getattr(viis, error)):
            await client.person_by_personal_code(PEOPLE["guardian"].personal_code)


async def test_personal_codes_never_reach_the_logs_or_errors(
    server: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    code = PEOPLE["guardian"].personal_code
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    for base_url, key in [(server.url, "wrong"), (f"http://127.0.0.1:{free_port()}", API_KEY)]:
        async with viis.HttpViisDirectory(base_url, key, timeout_s=1) as client:
            with pytest.raises(viis.ViisError) as caught:
                await client.person_by_personal_code(code)
            seen += [str(caught.value), repr(caught.value)]
    async with viis.HttpViisDirectory(server.url, API_KEY) as client:
        await client.person_by_personal_code(code)
    seen += [record.getMessage() for record in caplog.records]
    seen += [str(vars(record)) for record in caplog.records]
    assert not [text for text in seen if code in text or code.replace("-", "") in text]


def test_demo_personal_codes_are_valid() -> None:
    codes = [person.personal_code for person in PEOPLE.values()]
    assert len(set(codes)) == len(codes)
    assert len({person.viis_id for person in PEOPLE.values()}) == len(PEOPLE)
    for code in codes:
        assert viis.normalise_personal_code(code) == code
        digits = [int(c) for c in code.replace("-", "")]
        if code.startswith("32"):
            continue  # new format: no birth date, no check digit
        check = (1101 - sum(w * d for w, d in zip(CHECK_WEIGHTS, digits, strict=False))) % 11
        assert check == digits[10], code


def test_guardian_children_exist_as_learners() -> None:
    learners = {p.viis_id: p.learner for p in PEOPLE.values() if p.learner}
    for viis_id, reg_no in PEOPLE["guardian"].guardian_of:
        assert learners[viis_id].institution_reg_no == reg_no
