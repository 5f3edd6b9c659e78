"""A person's own contact points: `/me/contact-points`, never anyone else's."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from notifications_service.deps import Person, Senders, Settings
from notifications_service.kinds import Channel
from notifications_service.routers.base import COMMON, refusal
from notifications_service.schemas.contacts import AddressWrite, CodeWrite, ContactPointRead
from notifications_service.service import contacts
from shared_kit.deps import NowDep, SessionDep
from shared_kit.problems import ProblemError, problem_responses

router = APIRouter(prefix="/me/contact-points", tags=["contact points"], responses=COMMON)
SENDS = problem_responses(404, 429, 503)


@router.get("", response_model=list[ContactPointRead])
async def list_contact_points(
    session: SessionDep, person: Person, settings: Settings, now: NowDep
) -> list[ContactPointRead]:
    """The caller's e-mail address and mobile number, with where their verification stands."""
    points = await contacts.contact_points(
        session=session, settings=settings, person_id=person.subject
    )
    return [ContactPointRead.of(point, address, now) for point, address in points]


@router.put(
    "/{channel}",
    response_model=ContactPointRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"description": "The same address, already verified: nothing sent"},
        **problem_responses(429, 503),
    },
)
async def set_contact_point(
    channel: Channel,
    body: AddressWrite,
    session: SessionDep,
    person: Person,
    settings: Settings,
    senders: Senders,
    now: NowDep,
    response: Response,
) -> ContactPointRead:
    """Set the address of a channel and send it a one-time code (202); a changed address is
    unverified until its code is entered. The same verified address again: 200, nothing sent."""
    point, address = await contacts.set_address(
        session=session,
        settings=settings,
        senders=senders,
        person_id=person.subject,
        channel=channel,
        address=body.address,
        now=now,
    )
    if point.code_hash is None:
        response.status_code = status.HTTP_200_OK
    return ContactPointRead.of(point, address, now)


@router.post(
    "/{channel}/verify",
    response_model=ContactPointRead,
    responses=problem_responses(404, 409, 429),
)
async def verify_contact_point(
    channel: Channel,
    body: CodeWrite,
    request: Request,
    session: SessionDep,
    person: Person,
    settings: Settings,
    now: NowDep,
) -> ContactPointRead | Response:
    """Enter the code: verified; a wrong code says how many attempts are left, the last one
    locks the contact point for 15 minutes."""
    outcome = await contacts.verify(
        session=session,
        settings=settings,
        person_id=person.subject,
        channel=channel,
        code=body.code,
        now=now,
    )
    if isinstance(outcome, ProblemError):
        return refusal(request, outcome)
    return ContactPointRead.of(outcome, contacts.address_of(settings, outcome), now)


@router.post(
    "/{channel}/resend",
    response_model=ContactPointRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=SENDS | problem_responses(409),
)
async def resend_code(
    channel: Channel,
    session: SessionDep,
    person: Person,
    settings: Settings,
    senders: Senders,
    now: NowDep,
) -> ContactPointRead:
    """Send a new code to the stored address (at most one a minute)."""
    point, address = await contacts.resend(
        session=session,
        settings=settings,
        senders=senders,
        person_id=person.subject,
        channel=channel,
        now=now,
    )
    return ContactPointRead.of(point, address, now)


@router.delete(
    "/{channel}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 429),
)
async def delete_contact_point(
    channel: Channel, session: SessionDep, person: Person, now: NowDep
) -> None:
    """Erase the address; what waits to be sent to it is cancelled."""
    await contacts.remove(session=session, person_id=person.subject, channel=channel, now=now)
