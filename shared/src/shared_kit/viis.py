"""Client of VIIS, the State Education Information System (Valsts izglītības informācijas sistēma).

VIIS says who a person is in education: a learner (institution, grade, class), a guardian of
which learners, staff of which institution in which role (the gateway asks this at login). It
also knows the institutions, their municipality and how many pupils each has per grade, which
the statistics service compares with the devices. Both services use this one client (it lives
in the kit for that reason).

The real VIIS API is not public. The JSON shape below is *our adapter contract*: the production
adapter maps the real VIIS interface to it, and `deploy/dev/viis_standin.py` serves it for the
tests and the local stack. Contract, version 1 (every request carries
`Authorization: Bearer <api key>`; errors are RFC 9457 problem+json):

- `POST /v1/persons/lookup` with `{"personal_code": "DDMMYY-NNNNN"}`
  → 200 a person (`ViisPerson`'s fields), or 404 with problem type `PERSON_NOT_FOUND`.
  The personal code travels in the body, never in the URL, so no access log records it.
- `GET /v1/persons/{viis_id}` → 200 the person with this (opaque) VIIS id, or 404 with problem
  type `PERSON_NOT_FOUND`: how a guardian's children (known by VIIS id) are named.
- `GET /v1/institutions/{registration_number}/pupils`
  → 200 `{"registration_number": "…", "grades": [{"grade": 1, "pupils": 54}, …]}`,
  or 404 with problem type `INSTITUTION_NOT_FOUND`.
- `GET /v1/institutions` (optionally `?municipality=<ATVK code>`)
  → 200 `{"institutions": [{"registration_number": "…", "name": "…",
  "municipality_code": "0010000", "grades": [1, 2, …], "address": "…"}, …]}`: every
  general-education institution VIIS knows, with the grades it teaches and its address
  (optional: older answers lack it), ordered by registration number.
- `GET /v1/municipalities`
  → 200 `{"municipalities": [{"code": "0010000", "name": "Rīgas valstspilsēta"}, …]}`: the
  municipalities (ATVK codes) whose institutions VIIS lists, ordered by code.
- 401/403 → `ViisAuthError`; network errors, timeouts, 429 and 5xx → `ViisUnavailable`;
  any other answer, including a 404 without the contract's problem type (a wrong base URL must
  not look like "nobody is in VIIS") → `ViisProtocolError`.

Personal codes are personal data: no log call and no exception message here takes one.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared_kit.fields import ATVK_PATTERN, PERSONAL_CODE
from shared_kit.observability import CORRELATION_HEADER, correlation_id

logger = logging.getLogger(__name__)

PERSON_NOT_FOUND = "urn:datori:viis:person-not-found"
INSTITUTION_NOT_FOUND = "urn:datori:viis:institution-not-found"
DEFAULT_TIMEOUT_S = 5.0

_REGISTRATION_NUMBER = re.compile(r"[0-9]{10}")
_VIIS_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_Model = TypeVar("_Model", bound=BaseModel)


class ViisError(Exception):
    """Base of every VIIS client error."""


class ViisUnavailable(ViisError):
    """VIIS could not be reached, timed out, throttled us or failed (5xx): try again later."""


class ViisAuthError(ViisError):
    """VIIS refused our credentials (401/403): a configuration problem, not a user's."""


class ViisProtocolError(ViisError):
    """VIIS answered something outside the contract (unexpected status or body)."""


class UnknownInstitution(ViisError):
    """VIIS does not know the institution registration number."""


class StaffRole(StrEnum):
    """Staff roles the platform maps; VIIS may send others, which the platform ignores."""

    TEACHER = "teacher"
    INSTITUTION_ADMIN = "institution_admin"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class LearnerEnrolment(_Frozen):
    """Where a learner studies: institution, grade (1-12) and class (e.g. `2.a`)."""

    institution_reg_no: str
    grade: int = Field(ge=1, le=12)
    class_name: str


class GuardedLearner(_Frozen):
    """A learner a guardian is responsible for, by VIIS id, with their institution."""

    learner_viis_id: str
    institution_reg_no: str


class StaffPosition(_Frozen):
    """A position at an institution; `role` is a `StaffRole` value or another VIIS role."""

    institution_reg_no: str
    role: str


class ViisPerson(_Frozen):
    """A person as VIIS knows them; no personal code (the caller already has it)."""

    viis_id: str
    given_name: str
    family_name: str
    learner: LearnerEnrolment | None = None
    guardian_of: tuple[GuardedLearner, ...] = ()
    staff: tuple[StaffPosition, ...] = ()


class GradeCount(_Frozen):
    """Pupils enrolled in one grade of one institution."""

    grade: int = Field(ge=1, le=12)
    pupils: int = Field(ge=0)


class InstitutionPupils(_Frozen):
    """Wire shape of the pupil-count answer."""

    registration_number: str
    grades: tuple[GradeCount, ...]


class ViisInstitution(_Frozen):
    """An institution as VIIS lists it: its municipality (ATVK code), the grades it teaches and
    its address (None when VIIS does not send one)."""

    registration_number: str
    name: str
    municipality_code: str
    grades: tuple[int, ...] = ()
    address: str | None = None


class InstitutionList(_Frozen):
    """Wire shape of the institution-list answer."""

    institutions: tuple[ViisInstitution, ...]


class ViisMunicipality(_Frozen):
    """A municipality as VIIS names it (ATVK code)."""

    code: str
    name: str


class MunicipalityList(_Frozen):
    """Wire shape of the municipality-list answer."""

    municipalities: tuple[ViisMunicipality, ...]


@runtime_checkable
class ViisDirectory(Protocol):
    """What the platform asks VIIS."""

    async def person_by_personal_code(self, code: str) -> ViisPerson | None:
        """The person with this personal code, or None when VIIS does not know them."""
        ...

    async def institution_pupils(self, registration_number: str) -> list[GradeCount]:
        """Pupil counts per grade; raises `UnknownInstitution` for an unknown number."""
        ...


@runtime_checkable
class ViisPersonRegister(Protocol):
    """What the gateway asks VIIS about a person it knows by VIIS id (a guardian's child)."""

    async def person_by_viis_id(self, viis_id: str) -> ViisPerson | None:
        """The person with this VIIS id, or None when VIIS does not know them."""
        ...

    async def institutions(self, municipality_code: str | None = None) -> list[ViisInstitution]:
        """Every institution VIIS lists (of one municipality when a code is given)."""
        ...


@runtime_checkable
class ViisSchoolRegister(Protocol):
    """What the statistics service asks VIIS: the institutions and their pupils per grade."""

    async def institutions(self, municipality_code: str | None = None) -> list[ViisInstitution]:
        """Every institution VIIS lists (of one municipality when a code is given)."""
        ...

    async def institution_pupils(self, registration_number: str) -> list[GradeCount]:
        """Pupil counts per grade; raises `UnknownInstitution` for an unknown number."""
        ...


@runtime_checkable
class ViisInstitutionRegister(Protocol):
    """What the inventory asks VIIS when a municipality comes on board: its schools."""

    async def municipalities(self) -> list[ViisMunicipality]:
        """The municipalities whose institutions VIIS lists."""
        ...

    async def institutions(self, municipality_code: str | None = None) -> list[ViisInstitution]:
        """Every institution VIIS lists (of one municipality when a code is given)."""
        ...


def normalise_personal_code(code: str) -> str:
    """`DDMMYY-NNNNN` from 11 digits with or without the hyphen; ValueError otherwise."""
    match = PERSONAL_CODE.fullmatch(code.strip())
    if match is None:
        raise ValueError("not a personal code: expected 11 digits as DDMMYY-NNNNN")
    return f"{match[1]}-{match[2]}"


def check_registration_number(registration_number: str) -> str:
    """The registration number when it has VIIS's 10 digits; ValueError otherwise."""
    if _REGISTRATION_NUMBER.fullmatch(registration_number) is None:
        raise ValueError("not an institution registration number: expected 10 digits")
    return registration_number


class HttpViisDirectory:
    """`ViisDirectory` over the JSON contract in this module's docstring."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        if not api_key.strip():
            raise ValueError("the VIIS API key is empty")
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout_s)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=self._timeout, transport=httpx.AsyncHTTPTransport(retries=1)
        )

    async def __aenter__(self) -> HttpViisDirectory:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client when this directory created it."""
        if self._owns_http:
            await self._http.aclose()

    async def person_by_personal_code(self, code: str) -> ViisPerson | None:
        """The person with this personal code, or None when VIIS does not know them."""
        body = {"personal_code": normalise_personal_code(code)}
        response = await self._send("POST", "/v1/persons/lookup", body)
        if response.status_code == 404:
            _expect_problem(response, PERSON_NOT_FOUND)
            return None
        return _parse(ViisPerson, response)

    async def person_by_viis_id(self, viis_id: str) -> ViisPerson | None:
        """The person with this VIIS id, or None when VIIS does not know them."""
        if _VIIS_ID.fullmatch(viis_id) is None:
            raise ValueError("not a VIIS id")
        response = await self._send("GET", f"/v1/persons/{viis_id}")
        if response.status_code == 404:
            _expect_problem(response, PERSON_NOT_FOUND)
            return None
        return _parse(ViisPerson, response)

    async def institution_pupils(self, registration_number: str) -> list[GradeCount]:
        """Pupil counts per grade; raises `UnknownInstitution` for an unknown number."""
        reg_no = check_registration_number(registration_number)
        response = await self._send("GET", f"/v1/institutions/{reg_no}/pupils")
        if response.status_code == 404:
            _expect_problem(response, INSTITUTION_NOT_FOUND)
            raise UnknownInstitution(f"VIIS does not know institution {reg_no}")
        return list(_parse(InstitutionPupils, response).grades)

    async def institutions(self, municipality_code: str | None = None) -> list[ViisInstitution]:
        """Every institution VIIS lists (of one municipality when a code is given)."""
        path = "/v1/institutions"
        if municipality_code is not None:
            if re.fullmatch(ATVK_PATTERN, municipality_code) is None:
                raise ValueError("not a municipality (ATVK) code: expected 7 digits")
            path += f"?municipality={municipality_code}"
        response = await self._send("GET", path)
        if response.status_code == 404:
            raise ViisProtocolError("VIIS answered 404 for the institution list")
        return list(_parse(InstitutionList, response).institutions)

    async def municipalities(self) -> list[ViisMunicipality]:
        """The municipalities whose institutions VIIS lists."""
        response = await self._send("GET", "/v1/municipalities")
        if response.status_code == 404:
            raise ViisProtocolError("VIIS answered 404 for the municipality list")
        return list(_parse(MunicipalityList, response).municipalities)

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        if cid := correlation_id.get():
            headers[CORRELATION_HEADER] = cid
        return headers

    async def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One request; maps transport failures and error statuses to the client's errors."""
        try:
            response = await self._http.request(
                method,
                self._base_url + path,
                json=body,
                headers=self._headers(),
                timeout=self._timeout,
                follow_redirects=False,
            )
        except httpx.TransportError as exc:
            logger.warning("VIIS unreachable: %s", type(exc).__name__, extra={"viis_path": path})
            raise ViisUnavailable(f"VIIS unreachable ({type(exc).__name__})") from exc
        _check_status(response, path)
        return response


def _check_status(response: httpx.Response, path: str) -> None:
    """Raise for any status the caller does not handle itself (2xx and 404 pass)."""
    status = response.status_code
    if 200 <= status < 300 or status == 404:
        return
    if status in (401, 403):
        logger.error("VIIS refused our credentials: %s", status, extra={"viis_path": path})
        raise ViisAuthError(f"VIIS refused our credentials ({status})")
    if status == 429 or status >= 500:
        logger.warning("VIIS failed: %s", status, extra={"viis_path": path})
        raise ViisUnavailable(f"VIIS answered {status}")
    raise ViisProtocolError(f"VIIS answered an unexpected status {status}")


def _expect_problem(response: httpx.Response, problem_type: str) -> None:
    """Accept a 404 only when it carries the contract's problem type."""
    try:
        found = response.json().get("type")
    except (ValueError, AttributeError):
        found = None
    if found != problem_type:
        raise ViisProtocolError("VIIS answered 404 without the expected problem type")


def _parse(model: type[_Model], response: httpx.Response) -> _Model:
    """Validate a 2xx body; the validation error is not chained (it would echo the data)."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError:
        raise ViisProtocolError(f"VIIS answered a body that is not a {model.__name__}") from None
