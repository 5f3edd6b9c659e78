"""SQL of the reference data from VIIS: institutions and their pupils per grade."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from statistics_service.models import Institution, PupilCount
from statistics_service.repository.projection import bump_epoch


class ReferenceRepository:
    """Writes what VIIS says about institutions and pupils."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def last_refresh(self) -> dt.datetime | None:
        """When pupil counts were last refreshed from VIIS (None: never)."""
        return await self.session.scalar(select(func.max(Institution.pupils_refreshed_at)))

    async def save_institutions(self, rows: Sequence[dict[str, object]]) -> None:
        """Insert or update institutions as VIIS lists them."""
        for start in range(0, len(rows), 1000):
            stmt = insert(Institution).values(list(rows[start : start + 1000]))
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[Institution.registration_number],
                    set_={
                        "municipality_code": stmt.excluded.municipality_code,
                        "name": stmt.excluded.name,
                        "grades_mask": stmt.excluded.grades_mask,
                        "in_viis": True,
                        "pupils_refreshed_at": stmt.excluded.pupils_refreshed_at,
                    },
                )
            )

    async def replace_pupils(
        self, institutions: Sequence[str], counts: Sequence[dict[str, object]]
    ) -> None:
        """Replace the pupil counts of these institutions."""
        for start in range(0, len(institutions), 5000):
            chunk = list(institutions[start : start + 5000])
            await self.session.execute(
                delete(PupilCount).where(PupilCount.institution_number.in_(chunk))
            )
        for start in range(0, len(counts), 5000):
            await self.session.execute(
                insert(PupilCount).values(list(counts[start : start + 5000]))
            )

    async def changed(self) -> None:
        """Mark that the views change (pupils and grades feed the coverage)."""
        await bump_epoch(self.session)

    async def forget_missing(self, listed: Sequence[str]) -> int:
        """Institutions VIIS no longer lists: not in VIIS, no pupils; returns how many."""
        gone = list(
            await self.session.scalars(
                select(Institution.registration_number).where(
                    Institution.in_viis, Institution.registration_number.not_in(listed)
                )
            )
        )
        if gone:
            await self.session.execute(
                update(Institution)
                .where(Institution.registration_number.in_(gone))
                .values(in_viis=False, grades_mask=0)
            )
            await self.session.execute(
                delete(PupilCount).where(PupilCount.institution_number.in_(gone))
            )
        return len(gone)
