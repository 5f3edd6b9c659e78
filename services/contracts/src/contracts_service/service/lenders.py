"""Lenders' legal details, managed by municipality and platform administrators.

A municipality administrator manages the lenders of their municipality (the municipality
itself and its institutions); registering or changing one re-renders the contracts it affects
(see `drafting.refresh_lender`). An institution record applies to contracts of that
institution in the same municipality only, so a mistyped number cannot reach another tenant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service.config import ContractsSettings
from contracts_service.document.press import Press
from contracts_service.exceptions import LenderNotFound
from contracts_service.models import Lender, LenderKind
from contracts_service.repository import LenderRepository
from contracts_service.schemas import LenderCreate, LenderUpdate
from contracts_service.service import access, drafting
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.crypto import RotatingCipher
from shared_kit.problems import Conflict
from shared_kit.tenancy import TenantForbidden


class DuplicateLender(Conflict):
    type, title = "duplicate", "Already exists"


def check_manages(principal: Principal, municipality_code: str) -> None:
    """Raise 403 unless the principal manages that municipality's lenders."""
    if not access.manages_lender(principal, municipality_code):
        raise TenantForbidden(f"You may not manage lenders of municipality {municipality_code}")


async def get(session: AsyncSession, principal: Principal, kind: LenderKind, code: str) -> Lender:
    """One lender the principal may see."""
    lender = await LenderRepository(session).get(kind, code)
    if lender is None:
        raise LenderNotFound(f"No {kind.value} lender {code}")
    visible = access.scope_for(principal).allows(
        municipality=lender.municipality_code,
        institution=code if kind is LenderKind.INSTITUTION else None,
    )
    if not visible:
        raise TenantForbidden(f"You may not see lender {code}")
    return lender


async def page(
    session: AsyncSession, principal: Principal, cursor: str | None, limit: int
) -> Sequence[Lender]:
    """Lenders of the municipalities the principal administers (all for platform admins)."""
    return await LenderRepository(session).page(access.scope_for(principal), cursor, limit)


async def create(
    *,
    session: AsyncSession,
    settings: ContractsSettings,
    cipher: RotatingCipher,
    press: Press,
    principal: Principal,
    data: LenderCreate,
    now: dt.datetime,
) -> Lender:
    """Register a lender and re-render the contracts waiting for its details."""
    check_manages(principal, data.municipality_code)
    repo = LenderRepository(session)
    if await repo.get(data.kind, data.code) is not None:
        raise DuplicateLender(f"The {data.kind.value} lender {data.code} is registered already")
    lender = Lender(**data.model_dump())
    repo.add(lender)
    await session.flush()
    await _refresh(session, settings, cipher, press, lender, now)
    return lender


async def update(
    *,
    session: AsyncSession,
    settings: ContractsSettings,
    cipher: RotatingCipher,
    press: Press,
    principal: Principal,
    lender: Lender,
    data: LenderUpdate,
    if_match: str | None,
    now: dt.datetime,
) -> Lender:
    """Change a lender's details; unsigned contracts get a new version."""
    check_manages(principal, lender.municipality_code)
    check_if_match(if_match, lender.version)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(lender, name, value)
    await session.flush()
    await _refresh(session, settings, cipher, press, lender, now)
    return lender


async def _refresh(
    session: AsyncSession,
    settings: ContractsSettings,
    cipher: RotatingCipher,
    press: Press,
    lender: Lender,
    now: dt.datetime,
) -> None:
    await drafting.refresh_lender(
        session=session,
        settings=settings,
        cipher=cipher,
        press=press,
        kind=lender.kind,
        code=lender.code,
        municipality_code=lender.municipality_code,
        now=now,
    )
