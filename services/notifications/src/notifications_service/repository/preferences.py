"""SQL of a person's per-kind preferences."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.models import Preference


class PreferenceRepository:
    """A person's stored choices; kinds without a row keep their defaults."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_person(self, person_id: str) -> dict[str, Preference]:
        """The person's stored choices by kind."""
        stmt = select(Preference).where(Preference.person_id == person_id)
        return {p.kind: p for p in await self.session.scalars(stmt)}

    async def put(self, person_id: str, kind: str, *, enabled: bool, channels: list[str]) -> None:
        """Store one kind's choice (insert or replace)."""
        values = {"enabled": enabled, "channels": channels}
        stmt = insert(Preference).values(person_id=person_id, kind=kind, **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Preference.person_id, Preference.kind],
            set_={**values, "updated_at": func.now()},
        )
        await self.session.execute(stmt)
