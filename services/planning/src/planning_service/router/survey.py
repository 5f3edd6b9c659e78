"""Survey endpoints under `/api/v1/planning`: rounds, tasks, answers, verification, results."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from planning_service.deps import Learners, Settings, Viis
from planning_service.router.base import COMMON, PREFIX, READ, WRITE
from planning_service.schemas.survey import (
    AccessRead,
    AnswerRead,
    AnswerWrite,
    Criterion,
    ResultsRead,
    RoundCreate,
    RoundRead,
    RoundUpdate,
    TaskRead,
    VerificationCreate,
)
from planning_service.service import survey_access as access
from planning_service.service import survey_answers, survey_reads, survey_results, survey_rounds
from planning_service.service import survey_verification as verification
from planning_service.service.survey_rounds import local_today, round_read
from shared_kit.auth import Principal, Role, require_roles
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import NowDep, SessionDep
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response

router = APIRouter(prefix=PREFIX, responses=COMMON)

RoundReader = Annotated[Principal, require_roles(*access.ROUND_READERS)]
AnswerCaller = Annotated[Principal, require_roles(*access.ANSWER_ROLES)]
Guardian = Annotated[Principal, require_roles(Role.GUARDIAN)]
Staff = Annotated[Principal, require_roles(*access.STAFF_ROLES)]
Caller = Annotated[Principal, require_roles(*access.ROUND_READERS, Role.GUARDIAN)]
LearnerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")]
Municipality = Annotated[str | None, Query(pattern=ATVK_PATTERN)]
Institution = Annotated[str | None, Query(pattern=REG_NUMBER_PATTERN)]
ROUNDS = "/survey-rounds"
RESULTS_DESCRIPTION = """
The round's results at your level (or the one asked): the place's row and a row per
municipality (national level) or school (municipality level) below it.

**Small counts are hidden.** Every count from 1 to 4 is `null` and named in its row's
`suppressed` list (`response_rate` with `responses`). So is, by *complementary suppression*,
any further count that would let a hidden one be worked out as a total minus the counts shown
beside it (a school's within its municipality, a municipality's within the nation, a grade
band's within its place): when a sum has a single hidden part, or hidden parts adding up to less
than 5, the smallest shown non-zero part is hidden too (the total itself when there is none).
The hidden counts are chosen over the whole round at once, so every level shows the same ones.
Pupil counts (`eligible_pupils`) come from VIIS, are about nobody, and are never hidden.
"""
ANSWER = ROUNDS + "/{round_id}/answers/{learner_id}"


def _round(round_, schools, now, settings) -> RoundRead:
    return round_read(round_, schools, local_today(now, settings.timezone))


@router.post(ROUNDS, status_code=201, response_model=RoundRead, tags=["survey rounds"])
async def create_round(
    body: RoundCreate,
    session: SessionDep,
    principal: RoundReader,
    idem: IdempotencyDep,
    settings: Settings,
    viis: Viis,
    now: NowDep,
):
    """Set up a survey round (its schools default to every one VIIS lists teaching a grade)."""
    if replay := await idem.replay(body):
        return replay
    round_, schools = await survey_rounds.create_round(
        session, principal=principal, data=body, now=now, settings=settings, open_viis=viis
    )
    headers = {"ETag": etag(round_.version), "Location": f"{PREFIX}{ROUNDS}/{round_.id}"}
    return idem.respond(201, _round(round_, schools, now, settings), headers)


@router.get(ROUNDS, response_model=Page[RoundRead], tags=["survey rounds"])
async def list_rounds(
    session: SessionDep,
    principal: RoundReader,
    settings: Settings,
    now: NowDep,
    municipality: Municipality = None,
    institution: Institution = None,
    state: Literal["scheduled", "open", "closed"] | None = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """Rounds you see, newest first (`state` filters within each page)."""
    rows = await survey_rounds.list_rounds(
        session,
        principal=principal,
        municipality=municipality,
        institution=institution,
        cursor=cursor,
        limit=limit,
    )
    items, nxt = page_of(rows, limit, lambda r: (r.opens_on, r.id))
    schools = await survey_rounds.schools_of(session, [r.id for r in items])
    reads = [_round(r, schools[r.id], now, settings) for r in items]
    return page_response([r for r in reads if state in (None, r.state)], nxt)


@router.get(
    ROUNDS + "/{round_id}", response_model=RoundRead, responses=READ, tags=["survey rounds"]
)
async def get_round(
    round_id: uuid.UUID,
    session: SessionDep,
    principal: RoundReader,
    settings: Settings,
    now: NowDep,
    response: Response,
):
    """One round with its schools."""
    round_, schools = await survey_rounds.get_round(session, principal=principal, round_id=round_id)
    response.headers["ETag"] = etag(round_.version)
    return _round(round_, schools, now, settings)


@router.patch(
    ROUNDS + "/{round_id}", response_model=RoundRead, responses=WRITE, tags=["survey rounds"]
)
async def update_round(
    round_id: uuid.UUID,
    body: RoundUpdate,
    session: SessionDep,
    principal: RoundReader,
    settings: Settings,
    viis: Viis,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Change a round (409 `answers-exist` for a change that drops answered grades, schools or
    criteria; 409 once closed)."""
    round_, schools = await survey_rounds.update_round(
        session,
        principal=principal,
        round_id=round_id,
        data=body,
        if_match=if_match,
        now=now,
        settings=settings,
        open_viis=viis,
    )
    response.headers["ETag"] = etag(round_.version)
    return _round(round_, schools, now, settings)


@router.post(
    ROUNDS + "/{round_id}/close", response_model=RoundRead, responses=WRITE, tags=["survey rounds"]
)
async def close_round(
    round_id: uuid.UUID,
    session: SessionDep,
    principal: RoundReader,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
    if_match: IfMatch = None,
):
    """Close a round before its last day."""
    if replay := await idem.replay({}):
        return replay
    round_, schools = await survey_rounds.close_round(
        session,
        principal=principal,
        round_id=round_id,
        if_match=if_match,
        now=now,
        settings=settings,
    )
    answer = _round(round_, schools, now, settings)
    return idem.respond(200, answer, {"ETag": etag(round_.version)})


@router.get("/survey-tasks", response_model=list[TaskRead], tags=["answers"])
async def list_tasks(
    session: SessionDep, principal: Guardian, settings: Settings, learners: Learners, now: NowDep
):
    """For each of your children, the open rounds that ask about them."""
    return await survey_answers.tasks(
        session, principal=principal, now=now, settings=settings, learners=learners
    )


@router.put(ANSWER, response_model=AnswerRead, responses=WRITE, tags=["answers"])
async def put_answer(
    round_id: uuid.UUID,
    learner_id: LearnerId,
    body: AnswerWrite,
    session: SessionDep,
    principal: AnswerCaller,
    settings: Settings,
    learners: Learners,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Answer for a child (201) or change the answer (200) while the round is open: the
    guardian in the portal, or the school's / municipality's staff from a paper form."""
    shown, created = await survey_answers.put_answer(
        session,
        principal=principal,
        round_id=round_id,
        learner_id=learner_id,
        body=body,
        if_match=if_match,
        now=now,
        settings=settings,
        learners=learners,
    )
    response.status_code = 201 if created else 200
    response.headers["ETag"] = etag(shown.answer.version)
    return survey_answers.answer_read(shown)


@router.get(ANSWER, response_model=AnswerRead, responses=READ, tags=["answers"])
async def get_answer(
    round_id: uuid.UUID,
    learner_id: LearnerId,
    request: Request,
    session: SessionDep,
    principal: AnswerCaller,
    settings: Settings,
    now: NowDep,
    response: Response,
):
    """A child's answer: for the guardian, or (each read recorded) the school / municipality."""
    shown = await survey_reads.read_answer(
        session,
        principal=principal,
        round_id=round_id,
        learner_id=learner_id,
        endpoint=f"GET {request.url.path}",
        now=now,
        settings=settings,
    )
    response.headers["ETag"] = etag(shown.answer.version)
    return survey_answers.answer_read(shown)


@router.delete(ANSWER, status_code=204, responses=WRITE, tags=["answers"])
async def withdraw_answer(
    round_id: uuid.UUID,
    learner_id: LearnerId,
    session: SessionDep,
    principal: AnswerCaller,
    settings: Settings,
    now: NowDep,
) -> Response:
    """Withdraw a child's answer (the guardian): it and its verifications are deleted."""
    await survey_reads.withdraw(
        session,
        principal=principal,
        round_id=round_id,
        learner_id=learner_id,
        now=now,
        settings=settings,
    )
    return Response(status_code=204)


@router.get(
    ROUNDS + "/{round_id}/answers",
    response_model=Page[AnswerRead],
    responses=READ,
    tags=["answers"],
)
async def list_answers(
    round_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Staff,
    settings: Settings,
    now: NowDep,
    institution: Institution = None,
    criterion: Criterion | None = None,
    status: Literal["declared", "verified", "rejected"] | None = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """The answers of your school's or municipality's children (each one shown is recorded)."""
    shown, rows = await survey_reads.list_answers(
        session,
        principal=principal,
        round_id=round_id,
        institution=institution,
        criterion=criterion,
        status=status,
        cursor=cursor,
        limit=limit,
        endpoint=f"GET {request.url.path}",
        now=now,
        settings=settings,
    )
    _, nxt = page_of(rows, limit, lambda a: (a.institution_number, a.learner_id))
    return page_response([survey_answers.answer_read(s) for s in shown], nxt)


@router.get(
    ROUNDS + "/{round_id}/access-log",
    response_model=Page[AccessRead],
    responses=READ,
    tags=["answers"],
)
async def access_log(
    round_id: uuid.UUID,
    session: SessionDep,
    principal: Caller,
    learner_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,64}$")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """Who read answers when: a guardian for their child, a municipality for its children."""
    rows = await survey_reads.access_log(
        session,
        principal=principal,
        round_id=round_id,
        learner_id=learner_id,
        cursor=cursor,
        limit=limit,
    )
    items, nxt = page_of(rows, limit, lambda r: (r.at, r.id))
    return page_response([AccessRead.model_validate(r, from_attributes=True) for r in items], nxt)


@router.post(
    ANSWER + "/verifications", response_model=AnswerRead, responses=WRITE, tags=["verification"]
)
async def verify_criterion(
    round_id: uuid.UUID,
    learner_id: LearnerId,
    body: VerificationCreate,
    request: Request,
    session: SessionDep,
    principal: Staff,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
):
    """Attest (school: `verified_by_school`) or verify from welfare data (municipality:
    `welfare_data`) a child's criterion, or reject it."""
    if replay := await idem.replay(body):
        return replay
    shown = await verification.verify(
        session,
        principal=principal,
        round_id=round_id,
        learner_id=learner_id,
        body=body,
        endpoint=f"POST {request.url.path}",
        now=now,
        settings=settings,
    )
    answer = survey_answers.answer_read(shown)
    return idem.respond(200, answer, {"ETag": etag(shown.answer.version)})


@router.get(
    ROUNDS + "/{round_id}/results",
    response_model=ResultsRead,
    responses=READ,
    tags=["survey results"],
    description=RESULTS_DESCRIPTION,
)
async def get_results(
    round_id: uuid.UUID,
    session: SessionDep,
    principal: RoundReader,
    municipality: Municipality = None,
    institution: Institution = None,
):
    """The round's results at your level (or the one asked), small counts hidden."""
    return await survey_results.results(
        session,
        principal=principal,
        round_id=round_id,
        municipality=municipality,
        institution=institution,
    )
