"""SQL of the rules' own read models: reservations, contracts, staff roles, digests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Uuid, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.models import (
    DigestRun,
    StaffMember,
    TrackedContract,
    TrackedReservation,
)

RESERVATION_FACTS = (
    "person_id",
    "municipality_code",
    "institution_number",
    "state",
    "loaner",
    "pickup_deadline",
)


def _keep_reservation() -> Any:
    """The upsert of a reservation's facts, returning its state before: a sub-select in
    RETURNING reads the statement's snapshot, taken before the row was written. Built once
    (every reservation event runs it)."""
    table = TrackedReservation.__table__
    old = table.alias("old")
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.reservation_id],
        set_={**{k: stmt.excluded[k] for k in RESERVATION_FACTS}, "updated_at": func.now()},
    ).returning(
        # The row written, as RETURNING sees it (SQLAlchemy does not correlate a sub-select
        # in RETURNING to the INSERT's table).
        select(old.c.state)
        .where(old.c.reservation_id == literal_column("tracked_reservation.reservation_id"))
        .scalar_subquery()
    )


_KEEP_RESERVATION = _keep_reservation()
# A reservation whose device was withdrawn has cancelled contracts beside its live one.
_CONTRACT_OF = (
    select(TrackedContract)
    .where(TrackedContract.reservation_id == bindparam("reservation_id", type_=Uuid))
    .order_by((TrackedContract.state == "cancelled").asc(), TrackedContract.updated_at.desc())
    .limit(1)
)


class TrackingRepository:
    """The read models of reservations and contracts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reservation(self, reservation_id: uuid.UUID) -> TrackedReservation | None:
        """A reservation as last heard of."""
        return await self.session.get(TrackedReservation, reservation_id, populate_existing=True)

    async def keep_reservation(self, values: dict[str, Any]) -> str | None:
        """Insert or overwrite a reservation's facts (`RESERVATION_FACTS` and its id); the
        state it had before (None: new)."""
        return await self.session.scalar(_KEEP_RESERVATION, values)

    async def contract_of(self, reservation_id: uuid.UUID) -> TrackedContract | None:
        """The reservation's contract heard of last, a live one before a cancelled one (a
        statement built once: every reservation event asks)."""
        rows = await self.session.scalars(_CONTRACT_OF, {"reservation_id": reservation_id})
        return rows.one_or_none()

    async def keep_contract(self, values: dict[str, Any]) -> None:
        """Insert or overwrite a contract's facts."""
        stmt = insert(TrackedContract).values(**values)
        fields = {k: stmt.excluded[k] for k in values if k != "contract_id"}
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[TrackedContract.contract_id],
                set_={**fields, "updated_at": func.now()},
            )
        )

    async def waiting_by_school(self) -> list[tuple[str, str, int]]:
        """(municipality, school, requests waiting for approval) for every school with some."""
        stmt = (
            select(
                TrackedReservation.municipality_code,
                TrackedReservation.institution_number,
                func.count(),
            )
            .where(TrackedReservation.state == "requested")
            .group_by(TrackedReservation.municipality_code, TrackedReservation.institution_number)
            .order_by(TrackedReservation.institution_number)
        )
        return [(m, s, int(n)) for m, s, n in (await self.session.execute(stmt)).all()]


class RosterRepository:
    """Staff roles, as the gateway last told them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def set_roles(
        self, person_id: str, roles: list[dict[str, Any]], changed_at: dt.datetime
    ) -> None:
        """A person's whole role set; an older change than the one kept is ignored."""
        stmt = insert(StaffMember).values(person_id=person_id, roles=roles, changed_at=changed_at)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[StaffMember.person_id],
                set_={"roles": stmt.excluded.roles, "changed_at": stmt.excluded.changed_at},
                where=StaffMember.changed_at <= stmt.excluded.changed_at,
            )
        )

    async def holders(self, role: str, **scope: str) -> list[str]:
        """People holding `role` with this scope (institution_number or municipality_code)."""
        wanted = [{"role": role, **scope}]
        stmt = (
            select(StaffMember.person_id)
            .where(StaffMember.roles.contains(wanted))
            .order_by(StaffMember.person_id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def claim_digest(self, name: str, day: dt.date) -> bool:
        """True for the one caller that makes this digest of this day."""
        stmt = (
            insert(DigestRun)
            .values(name=name, day=day)
            .on_conflict_do_nothing()
            .returning(DigestRun.day)
        )
        return (await self.session.scalar(stmt)) is not None
