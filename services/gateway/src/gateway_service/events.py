"""Events the gateway publishes on `identity.events`, keyed by the person id.

`person.roles_changed`: a person's whole current set of staff roles (everything but guardian
and learner, which VIIS states at each login and tokens carry): `institution_admin` and
`teacher` as VIIS named them at the person's last login (institution only), and the roles the
gateway grants (`technician`, `municipality_admin` for a municipality; `institution_admin`
for an institution; `ministry_analyst`, `programme_manager`, `platform_admin` everywhere). It
is published when the set differs from the last one published for the person: at a login, a
grant, a revocation. The notifications service reads it to know who hears the staff's
messages. People are opaque ids here: never a personal code or a name.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.events import CloudEvent, add_event
from shared_kit.observability import correlation_id

SOURCE = "/datori/gateway"
PREFIX = "lv.datori.identity."

ROLES_CHANGED = PREFIX + "person.roles_changed.v1"


class HeldRole(BaseModel):
    """One staff role and where it applies (null where the role names no place)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    municipality_code: str | None
    institution_number: str | None


class PersonRolesChanged(BaseModel):
    """A person's staff roles changed; `roles` is the whole new set (empty: none left)."""

    model_config = ConfigDict(extra="forbid")

    person_id: uuid.UUID
    roles: list[HeldRole]
    changed_at: dt.datetime


PAYLOADS: dict[str, type[BaseModel]] = {ROLES_CHANGED: PersonRolesChanged}


def publish_roles_changed(session: AsyncSession, payload: PersonRolesChanged) -> None:
    """Queue `person.roles_changed` in the outbox of the caller's transaction."""
    add_event(
        session,
        CloudEvent(
            type=ROLES_CHANGED,
            source=SOURCE,
            subject=str(payload.person_id),
            data=payload.model_dump(mode="json"),
            correlationid=correlation_id.get(),
        ),
    )
