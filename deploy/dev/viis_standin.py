"""A stand-in for VIIS serving our adapter contract (see `shared_kit.viis`) with demo people.

For the tests and the local stack only; production code never imports it. Every person, code
and number here is invented. Run it alone with

    uv run uvicorn --app-dir deploy/dev viis_standin:app --port 8190

The API key is `VIIS_STANDIN_API_KEY` (default `dev-viis-key`), sent as `Authorization: Bearer`.
Besides Rīga (seeded into the inventory by `demo.py`), the register knows a second demo
municipality, Cēsu novads, with three schools and a future municipality administrator that
nothing seeds: onboarding a municipality (the portal's `/platform/municipalities`) imports it.
`VIIS_STANDIN_DATASET=riga` serves Rīga's two schools alone (what service tests count on).
`VIIS_STANDIN_DATASET=national` adds a national-scale school register for benchmarks: about 600
invented schools in 43 municipalities with about 220,000 pupils, generated deterministically
(`national_institutions()`), next to the two demo schools.
"""

from __future__ import annotations

import os
import random
import re
import secrets
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

DEFAULT_API_KEY = "dev-viis-key"
PROBLEM_JSON = "application/problem+json"
PERSON_NOT_FOUND = "urn:datori:viis:person-not-found"
INSTITUTION_NOT_FOUND = "urn:datori:viis:institution-not-found"

RIGA = "0010000"  # ATVK code of Rīga (real)
DEMO_SCHOOL_1 = "3113900101"  # "Rīgas Demo 1. pamatskola" (grades 1-9); invented number
DEMO_SCHOOL_2 = "3113900102"  # "Rīgas Demo 2. vidusskola" (grades 1-12); invented number
CESIS = "0420200"  # ATVK code of Cēsu novads: on the platform only once onboarded
CESIS_SCHOOLS = ("4212900101", "4212900102", "4212900103")  # invented numbers
DATASETS = ("demo", "riga", "national")

_PERSONAL_CODE = re.compile(r"\d{6}-\d{5}")


@dataclass(frozen=True)
class Enrolment:
    """A learner's institution, grade and class."""

    institution_reg_no: str
    grade: int
    class_name: str


@dataclass(frozen=True)
class DemoPerson:
    """A demo person as VIIS would answer for them, plus the personal code that finds them."""

    personal_code: str
    viis_id: str
    given_name: str
    family_name: str
    learner: Enrolment | None = None
    guardian_of: tuple[tuple[str, str], ...] = ()  # (learner VIIS id, institution reg. no.)
    staff: tuple[tuple[str, str], ...] = ()  # (institution reg. no., role)

    def to_wire(self) -> dict[str, Any]:
        """The contract's person body (no personal code in it)."""
        return {
            "viis_id": self.viis_id,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "learner": None if self.learner is None else vars(self.learner),
            "guardian_of": [
                {"learner_viis_id": viis_id, "institution_reg_no": reg_no}
                for viis_id, reg_no in self.guardian_of
            ],
            "staff": [{"institution_reg_no": reg_no, "role": role} for reg_no, role in self.staff],
        }


# Invented people. Old-format codes (DDMMYY-CNNNN: C is the century, the last digit the check
# digit) all have the obviously fake birthday 1 January and valid check digits; the grade-2
# child, born after July 2017, has a new-format code (32…, no birth date, no check digit).
DEMO_PEOPLE: dict[str, DemoPerson] = {
    "guardian": DemoPerson(
        "010185-10004", "VIIS-DEMO-0001", "Ilze", "Bērziņa",
        guardian_of=(("VIIS-DEMO-0002", DEMO_SCHOOL_1), ("VIIS-DEMO-0003", DEMO_SCHOOL_2)),
    ),
    "child_grade2": DemoPerson(
        "329999-00001", "VIIS-DEMO-0002", "Marta", "Bērziņa",
        learner=Enrolment(DEMO_SCHOOL_1, 2, "2.a"),
    ),
    "child_grade5": DemoPerson(
        "010115-20007", "VIIS-DEMO-0003", "Jānis", "Bērziņš",
        learner=Enrolment(DEMO_SCHOOL_2, 5, "5.b"),
    ),
    "learner": DemoPerson(
        "010112-20004", "VIIS-DEMO-0004", "Roberts", "Kalniņš",
        learner=Enrolment(DEMO_SCHOOL_1, 8, "8.c"),
    ),
    "school_admin": DemoPerson(
        "010175-10002", "VIIS-DEMO-0005", "Inese", "Ozola",
        staff=((DEMO_SCHOOL_1, "institution_admin"),),
    ),
    "teacher": DemoPerson(
        "010180-10018", "VIIS-DEMO-0006", "Andris", "Liepiņš",
        staff=((DEMO_SCHOOL_2, "teacher"),),
    ),
    # No VIIS roles: the gateway grants these theirs.
    "municipality_admin": DemoPerson("010188-10007", "VIIS-DEMO-0007", "Dace", "Krūmiņa"),
    "technician": DemoPerson("010190-10001", "VIIS-DEMO-0008", "Edgars", "Zariņš"),
    "ministry_analyst": DemoPerson("010183-10002", "VIIS-DEMO-0009", "Laura", "Vītola"),
    "platform_admin": DemoPerson("010179-10006", "VIIS-DEMO-0012", "Gatis", "Lapiņš"),
    # The ministry's programme manager: survey rounds and allocations (granted like the analyst).
    "programme_manager": DemoPerson("010181-10000", "VIIS-DEMO-0014", "Inese", "Kalniņa"),
    # Cēsu novads's future municipality administrator: onboarding grants her the role.
    "cesis_admin": DemoPerson("010177-10004", "VIIS-DEMO-0013", "Sarmīte", "Ābele"),
    # A second family, with a child at the first family's school (Marta's): one family must
    # never see the other's reservations, contracts or tickets.
    "other_guardian": DemoPerson(
        "010186-10005", "VIIS-DEMO-0010", "Kristīne", "Kalēja",
        guardian_of=(("VIIS-DEMO-0011", DEMO_SCHOOL_1),),
    ),
    "other_child": DemoPerson(
        "329999-00002", "VIIS-DEMO-0011", "Emīls", "Kalējs",
        learner=Enrolment(DEMO_SCHOOL_1, 3, "3.b"),
    ),
    # More families, each with children at the demo schools, so that tests sharing one stack
    # each act for a family of their own (the pages a guardian sees are the family's alone).
    # Mirroring the first family: two children at the two schools, the older one's name first
    # in the alphabet as Jānis' is (the portal lists children by name).
    "reserve_guardian": DemoPerson(
        "010184-10003", "VIIS-DEMO-0015", "Anna", "Priedīte",
        guardian_of=(("VIIS-DEMO-0016", DEMO_SCHOOL_1), ("VIIS-DEMO-0017", DEMO_SCHOOL_2)),
    ),
    "reserve_child_grade2": DemoPerson(
        "329999-00003", "VIIS-DEMO-0016", "Elza", "Priedīte",
        learner=Enrolment(DEMO_SCHOOL_1, 2, "2.b"),
    ),
    "reserve_child_grade5": DemoPerson(
        "010115-20015", "VIIS-DEMO-0017", "Aleksandrs", "Priedītis",
        learner=Enrolment(DEMO_SCHOOL_2, 5, "5.a"),
    ),
    # Mirroring the second family: one child at the first demo school.
    "reserve_other_guardian": DemoPerson(
        "010187-10006", "VIIS-DEMO-0018", "Juris", "Eglītis",
        guardian_of=(("VIIS-DEMO-0019", DEMO_SCHOOL_1),),
    ),
    "reserve_other_child": DemoPerson(
        "329999-00004", "VIIS-DEMO-0019", "Kārlis", "Eglītis",
        learner=Enrolment(DEMO_SCHOOL_1, 3, "3.a"),
    ),
    "report_guardian": DemoPerson(
        "010182-10001", "VIIS-DEMO-0020", "Santa", "Vilka",
        guardian_of=(("VIIS-DEMO-0021", DEMO_SCHOOL_1),),
    ),
    "report_child": DemoPerson(
        "329999-00005", "VIIS-DEMO-0021", "Alise", "Vilka",
        learner=Enrolment(DEMO_SCHOOL_1, 2, "2.c"),
    ),
    "report_other_guardian": DemoPerson(
        "010189-10008", "VIIS-DEMO-0022", "Māris", "Siliņš",
        guardian_of=(("VIIS-DEMO-0023", DEMO_SCHOOL_1),),
    ),
    "report_other_child": DemoPerson(
        "329999-00006", "VIIS-DEMO-0023", "Toms", "Siliņš",
        learner=Enrolment(DEMO_SCHOOL_1, 3, "3.c"),
    ),
    "notices_guardian": DemoPerson(
        "010191-10002", "VIIS-DEMO-0024", "Zane", "Kļaviņa",
        guardian_of=(("VIIS-DEMO-0025", DEMO_SCHOOL_1),),
    ),
    "notices_child": DemoPerson(
        "329999-00007", "VIIS-DEMO-0025", "Paula", "Kļaviņa",
        learner=Enrolment(DEMO_SCHOOL_1, 2, "2.a"),
    ),
    "notices_other_guardian": DemoPerson(
        "010178-10005", "VIIS-DEMO-0026", "Ivars", "Jansons",
        guardian_of=(("VIIS-DEMO-0027", DEMO_SCHOOL_1),),
    ),
    "notices_other_child": DemoPerson(
        "329999-00008", "VIIS-DEMO-0027", "Markuss", "Jansons",
        learner=Enrolment(DEMO_SCHOOL_1, 3, "3.b"),
    ),
    # Mirroring the first family: two children at the two schools.
    "schools_guardian": DemoPerson(
        "010180-10026", "VIIS-DEMO-0028", "Laila", "Kārkliņa",
        guardian_of=(("VIIS-DEMO-0029", DEMO_SCHOOL_1), ("VIIS-DEMO-0030", DEMO_SCHOOL_2)),
    ),
    "schools_child_grade2": DemoPerson(
        "329999-00009", "VIIS-DEMO-0029", "Luīze", "Kārkliņa",
        learner=Enrolment(DEMO_SCHOOL_1, 2, "2.b"),
    ),
    "schools_child_grade6": DemoPerson(
        "010114-20006", "VIIS-DEMO-0030", "Rihards", "Kārkliņš",
        learner=Enrolment(DEMO_SCHOOL_2, 6, "6.b"),
    ),
    "schools_other_guardian": DemoPerson(
        "010183-10010", "VIIS-DEMO-0031", "Agnese", "Pētersone",
        guardian_of=(("VIIS-DEMO-0032", DEMO_SCHOOL_1),),
    ),
    "schools_other_child": DemoPerson(
        "329999-00010", "VIIS-DEMO-0032", "Mia", "Pētersone",
        learner=Enrolment(DEMO_SCHOOL_1, 1, "1.a"),
    ),
    "support_guardian": DemoPerson(
        "010186-10013", "VIIS-DEMO-0033", "Edīte", "Lūse",
        guardian_of=(("VIIS-DEMO-0034", DEMO_SCHOOL_1),),
    ),
    "support_child": DemoPerson(
        "329999-00011", "VIIS-DEMO-0034", "Ralfs", "Lūsis",
        learner=Enrolment(DEMO_SCHOOL_1, 3, "3.a"),
    ),
}  # fmt: skip

# Pupils per grade (invented, plausible): a basic school (1-9) and a secondary school (1-12).
PUPIL_COUNTS: dict[str, dict[int, int]] = {
    DEMO_SCHOOL_1: {1: 62, 2: 58, 3: 61, 4: 55, 5: 57, 6: 52, 7: 49, 8: 51, 9: 47},
    DEMO_SCHOOL_2: {
        1: 84, 2: 88, 3: 81, 4: 79, 5: 83, 6: 76,
        7: 74, 8: 78, 9: 71, 10: 66, 11: 63, 12: 59,
    },
}  # fmt: skip


@dataclass(frozen=True)
class School:
    """An institution of the register: name, municipality and pupils per grade."""

    registration_number: str
    name: str
    municipality_code: str
    pupils: dict[int, int] = field(hash=False)
    address: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The contract's institution body."""
        return {
            "registration_number": self.registration_number,
            "name": self.name,
            "municipality_code": self.municipality_code,
            "grades": sorted(self.pupils),
            "address": self.address,
        }


DEMO_SCHOOLS = (
    School(
        DEMO_SCHOOL_1, "Rīgas Demo 1. pamatskola", RIGA, PUPIL_COUNTS[DEMO_SCHOOL_1],
        "Demo iela 1, Rīga, LV-1001",
    ),
    School(
        DEMO_SCHOOL_2, "Rīgas Demo 2. vidusskola", RIGA, PUPIL_COUNTS[DEMO_SCHOOL_2],
        "Demo iela 2, Rīga, LV-1002",
    ),
)  # fmt: skip

# Cēsu novads (invented schools): a primary, a basic and a secondary school.
ONBOARDING_SCHOOLS = (
    School(
        CESIS_SCHOOLS[0], "Cēsu Demo sākumskola", CESIS,
        {1: 41, 2: 39, 3: 44, 4: 38, 5: 36, 6: 35}, "Skolas iela 1, Cēsis, LV-4101",
    ),
    School(
        CESIS_SCHOOLS[1], "Cēsu Demo pamatskola", CESIS,
        {g: 30 + g for g in range(1, 10)}, "Skolas iela 2, Cēsis, LV-4101",
    ),
    School(
        CESIS_SCHOOLS[2], "Priekuļu Demo vidusskola", CESIS,
        {g: 25 + g for g in range(1, 13)}, "Skolas iela 3, Priekuļi, LV-4126",
    ),
)  # fmt: skip

MUNICIPALITY_NAMES = {RIGA: "Rīgas valstspilsēta", CESIS: "Cēsu novads"}

# The national data set: 43 municipalities (Rīga first; the other codes are invented), schools
# of four kinds with plausible class sizes. Seeded, so every run yields the same register.
NATIONAL_MUNICIPALITIES = 43
NATIONAL_SCHOOLS = 600
_SCHOOL_KINDS = (  # (name, grades, share of schools, mean pupils per grade)
    ("sākumskola", range(1, 7), 0.15, 32),
    ("pamatskola", range(1, 10), 0.45, 35),
    ("vidusskola", range(1, 13), 0.30, 44),
    ("ģimnāzija", range(7, 13), 0.10, 69),
)


@cache
def national_institutions() -> tuple[School, ...]:
    """About 600 invented schools in 43 municipalities, about 220,000 pupils; deterministic."""
    rng = random.Random(2025)
    municipalities = [RIGA] + [f"{(n * 37) % 89 + 1:02d}{n:03d}00" for n in range(1, 43)]
    # Rīga has about a fifth of the schools; the rest are spread with some variation.
    weights = [120.0] + [rng.uniform(5, 20) for _ in range(NATIONAL_MUNICIPALITIES - 1)]
    schools: list[School] = list(DEMO_SCHOOLS)
    for number in range(NATIONAL_SCHOOLS - len(DEMO_SCHOOLS)):
        municipality = rng.choices(municipalities, weights)[0]
        kind, grades, _, mean = rng.choices(_SCHOOL_KINDS, [k[2] for k in _SCHOOL_KINDS])[0]
        pupils = {g: max(5, round(rng.gauss(mean, mean / 4))) for g in grades}
        reg_no = f"4{number:05d}{rng.randrange(10_000):04d}"
        schools.append(School(reg_no, f"Demo {number + 1}. {kind}", municipality, pupils))
    return tuple(sorted(schools, key=lambda s: s.registration_number))


def register(dataset: str = "demo") -> dict[str, School]:
    """The schools a stand-in serves, by registration number."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}")
    if dataset == "national":
        schools = national_institutions()
    elif dataset == "riga":
        schools = DEMO_SCHOOLS
    else:
        schools = (*DEMO_SCHOOLS, *ONBOARDING_SCHOOLS)
    return {s.registration_number: s for s in schools}


def municipality_name(code: str) -> str:
    """A municipality's name (the national data set's invented ones are numbered)."""
    return MUNICIPALITY_NAMES.get(code) or f"Demo novads {code}"


class Lookup(BaseModel):
    """Body of a person lookup."""

    personal_code: str


def problem(status: int, title: str, problem_type: str = "about:blank") -> JSONResponse:
    """An RFC 9457 problem response."""
    body = {"type": problem_type, "title": title, "status": status}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class NotAuthenticated(Exception):
    """The request lacks the right API key."""


def _people_by_code() -> dict[str, DemoPerson]:
    return {person.personal_code: person for person in DEMO_PEOPLE.values()}


def _people_by_viis_id() -> dict[str, DemoPerson]:
    return {person.viis_id: person for person in DEMO_PEOPLE.values()}


def create_app(api_key: str = DEFAULT_API_KEY, dataset: str = "demo") -> FastAPI:
    """The stand-in app, accepting `Authorization: Bearer <api_key>`, serving `dataset`."""
    people = _people_by_code()
    by_viis_id = _people_by_viis_id()
    schools = register(dataset)

    def authenticated(authorization: Annotated[str | None, Header()] = None) -> None:
        expected = f"Bearer {api_key}".encode()
        if not secrets.compare_digest((authorization or "").encode(), expected):
            raise NotAuthenticated

    app = FastAPI(title="VIIS stand-in", version="1", docs_url=None, redoc_url=None)
    _install_error_handlers(app)
    guarded = [Depends(authenticated)]

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness, without authentication."""
        return {"status": "ok"}

    @app.post("/v1/persons/lookup", dependencies=guarded, response_model=None)
    async def lookup(body: Lookup) -> dict[str, Any] | JSONResponse:
        """The person with this personal code."""
        if not _PERSONAL_CODE.fullmatch(body.personal_code):
            return problem(400, "Malformed personal code")
        person = people.get(body.personal_code)
        if person is None:
            return problem(404, "Person not found", PERSON_NOT_FOUND)
        return person.to_wire()

    @app.get("/v1/persons/{viis_id}", dependencies=guarded, response_model=None)
    async def person(viis_id: str) -> dict[str, Any] | JSONResponse:
        """The person with this VIIS id."""
        found = by_viis_id.get(viis_id)
        if found is None:
            return problem(404, "Person not found", PERSON_NOT_FOUND)
        return found.to_wire()

    @app.get("/v1/institutions/{registration_number}/pupils", dependencies=guarded)
    async def pupils(registration_number: str) -> Any:
        """Pupil counts per grade of one institution."""
        school = schools.get(registration_number)
        if school is None:
            return problem(404, "Institution not found", INSTITUTION_NOT_FOUND)
        grades = [{"grade": grade, "pupils": n} for grade, n in sorted(school.pupils.items())]
        return {"registration_number": registration_number, "grades": grades}

    @app.get("/v1/institutions", dependencies=guarded)
    async def institutions(municipality: str | None = None) -> Any:
        """Every institution, with its municipality and grades (of one municipality if asked)."""
        if municipality is not None and not re.fullmatch(r"\d{7}", municipality):
            return problem(400, "Malformed municipality code")
        listed = [
            s.to_wire()
            for s in schools.values()
            if municipality is None or s.municipality_code == municipality
        ]
        return {"institutions": listed}

    @app.get("/v1/municipalities", dependencies=guarded)
    async def municipalities() -> Any:
        """The municipalities with listed institutions, by code."""
        codes = sorted({s.municipality_code for s in schools.values()})
        return {"municipalities": [{"code": c, "name": municipality_name(c)} for c in codes]}

    return app


def _install_error_handlers(app: FastAPI) -> None:
    """401 for a missing or wrong key; 400 for bad bodies without echoing their input."""

    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, exc: NotAuthenticated) -> JSONResponse:
        return problem(401, "Missing or wrong API key")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(400, "Malformed request")


app = create_app(
    os.environ.get("VIIS_STANDIN_API_KEY", DEFAULT_API_KEY),
    os.environ.get("VIIS_STANDIN_DATASET", "demo"),
)
