"""A stand-in for VIIS serving our adapter contract (see `gateway_service.viis`) with demo people.

For the tests and the local stack only; production code never imports it. Every person, code
and number here is invented. Run it alone with

    uv run uvicorn --app-dir deploy/dev viis_standin:app --port 8190

The API key is `VIIS_STANDIN_API_KEY` (default `dev-viis-key`), sent as `Authorization: Bearer`.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

DEFAULT_API_KEY = "dev-viis-key"
PROBLEM_JSON = "application/problem+json"
PERSON_NOT_FOUND = "urn:datori:viis:person-not-found"
INSTITUTION_NOT_FOUND = "urn:datori:viis:institution-not-found"

DEMO_SCHOOL_1 = "3113900101"  # "Rīgas Demo 1. pamatskola" (grades 1-9); invented number
DEMO_SCHOOL_2 = "3113900102"  # "Rīgas Demo 2. vidusskola" (grades 1-12); invented number

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
    # No VIIS roles: the gateway grants these three theirs.
    "municipality_admin": DemoPerson("010188-10007", "VIIS-DEMO-0007", "Dace", "Krūmiņa"),
    "technician": DemoPerson("010190-10001", "VIIS-DEMO-0008", "Edgars", "Zariņš"),
    "ministry_analyst": DemoPerson("010183-10002", "VIIS-DEMO-0009", "Laura", "Vītola"),
}  # fmt: skip

# Pupils per grade (invented, plausible): a basic school (1-9) and a secondary school (1-12).
PUPIL_COUNTS: dict[str, dict[int, int]] = {
    DEMO_SCHOOL_1: {1: 62, 2: 58, 3: 61, 4: 55, 5: 57, 6: 52, 7: 49, 8: 51, 9: 47},
    DEMO_SCHOOL_2: {
        1: 84, 2: 88, 3: 81, 4: 79, 5: 83, 6: 76,
        7: 74, 8: 78, 9: 71, 10: 66, 11: 63, 12: 59,
    },
}  # fmt: skip


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


def create_app(api_key: str = DEFAULT_API_KEY) -> FastAPI:
    """The stand-in app, accepting `Authorization: Bearer <api_key>`."""
    people = _people_by_code()

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

    @app.get("/v1/institutions/{registration_number}/pupils", dependencies=guarded)
    async def pupils(registration_number: str) -> Any:
        """Pupil counts per grade of one institution."""
        counts = PUPIL_COUNTS.get(registration_number)
        if counts is None:
            return problem(404, "Institution not found", INSTITUTION_NOT_FOUND)
        grades = [{"grade": grade, "pupils": n} for grade, n in sorted(counts.items())]
        return {"registration_number": registration_number, "grades": grades}

    return app


def _install_error_handlers(app: FastAPI) -> None:
    """401 for a missing or wrong key; 400 for bad bodies without echoing their input."""

    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, exc: NotAuthenticated) -> JSONResponse:
        return problem(401, "Missing or wrong API key")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(400, "Malformed request")


app = create_app(os.environ.get("VIIS_STANDIN_API_KEY", DEFAULT_API_KEY))
