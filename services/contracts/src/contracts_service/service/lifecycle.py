"""After drafting: cancellation, early termination, the return, expiry and overdue loans.

- A reservation that goes away (cancelled, expired, rejected) cancels a contract that is not
  active yet; an active one stays (the device is with the family and must come back).
- The lender may terminate an active loan early, with a reason. The device must still come
  back, so a return can be recorded on a terminated contract too (once); it then stays
  `terminated` with `returned_at` set, and the `returned` event frees the device.
- The tickets service's confirmation that a device was lost or stolen is recorded on the
  contract it is lent under (active, or terminated and not back): `device_loss`, when, and
  the ticket; the contract's later events carry `device_loss`. The loss does not end the
  loan by itself (the lender decides: terminate, write off). Once recorded it stays; a loss
  for a device lent under no contract is ignored.
- Expiry and overdue run with the kit's housekeeping (hourly and at start-up) through
  `sweep(now=...)`, so tests move time by passing `now`: contracts not signed by both parties
  by `sign_by` (drafted, awaiting the borrower, or awaiting the lender) expire, so that the
  reservation's device is released; active contracts past their period's end are marked
  overdue, once.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service import events
from contracts_service.config import ContractsSettings
from contracts_service.exceptions import IllegalState
from contracts_service.models import (
    UNSIGNED,
    Contract,
    ContractDocument,
    ContractReturn,
    ContractState,
    ReturnCondition,
    ReturnPhoto,
)
from contracts_service.repository import ContractRepository, DocumentRepository, ReturnRepository
from contracts_service.service import access
from shared_kit import uploads
from shared_kit.auth import Principal
from shared_kit.tenancy import actor_of

S = ContractState


async def _current(session: AsyncSession, contract: Contract) -> ContractDocument:
    document = await DocumentRepository(session).get(contract.id, contract.current_document)
    assert document is not None  # every contract has its current document
    return document


async def cancel(
    session: AsyncSession, contract: Contract, *, reason: str, now: dt.datetime
) -> bool:
    """Cancel a contract that is not active yet; False when nothing changed."""
    if contract.state not in UNSIGNED:
        return False
    contract.state = S.CANCELLED
    contract.cancelled_at = now
    contract.end_reason = reason
    await session.flush()
    document = await _current(session, contract)
    events.publish(session, events.CANCELLED, contract, document, cancelled_at=now, reason=reason)
    return True


async def terminate(
    *,
    session: AsyncSession,
    principal: Principal,
    contract: Contract,
    reason: str,
    now: dt.datetime,
) -> Contract:
    """End an active loan early."""
    access.check_manager(principal, contract)
    if contract.state is not S.ACTIVE:
        raise IllegalState(
            f"Only an active contract can be terminated; this one is {contract.state.value}"
        )
    contract.state = S.TERMINATED
    contract.terminated_at = now
    contract.end_reason = reason
    await session.flush()
    document = await _current(session, contract)
    events.publish(session, events.TERMINATED, contract, document, terminated_at=now, reason=reason)
    return contract


async def record_return(
    *,
    session: AsyncSession,
    settings: ContractsSettings,
    principal: Principal,
    contract: Contract,
    condition: ReturnCondition,
    notes: str | None,
    photos: list[uploads.Upload],
    now: dt.datetime,
) -> ContractReturn:
    """The device came back: record its condition, notes and photos (the kit's `uploads`
    checks each and stores it re-encoded without metadata)."""
    access.check_manager(principal, contract)
    returnable = contract.state is S.ACTIVE or (
        contract.state is S.TERMINATED and contract.returned_at is None
    )
    if not returnable:
        raise IllegalState(
            "Only an active (or terminated) loan can be returned; this one is "
            f"{contract.state.value}"
        )
    if len(photos) > settings.photo_max_count:
        raise uploads.TooManyPhotos(f"At most {settings.photo_max_count} photos per return")
    cleaned = await uploads.clean_all(photos, max_bytes=settings.photo_max_bytes)
    repo = ReturnRepository(session)
    record = ContractReturn(
        id=uuid.uuid4(),
        contract_id=contract.id,
        condition=condition,
        notes=notes,
        recorded_by=actor_of(principal),
        recorded_at=now,
    )
    repo.add(record)
    photo_ids = []
    for position, photo in enumerate(cleaned):
        row = ReturnPhoto(
            id=uuid.uuid4(),
            return_id=record.id,
            position=position,
            filename=photo.filename,
            media_type=photo.media_type,
            size=photo.size,
            sha256=photo.sha256,
            content=photo.content,
            created_at=now,
        )
        repo.add(row)
        photo_ids.append(row.id)
    contract.returned_at = now
    if contract.state is S.ACTIVE:
        contract.state = S.RETURNED
    await session.flush()
    document = await _current(session, contract)
    events.publish(
        session,
        events.RETURNED,
        contract,
        document,
        returned_at=now,
        condition=condition,
        notes=notes,
        photo_ids=photo_ids,
    )
    return record


async def record_device_loss(
    session: AsyncSession,
    *,
    device_id: uuid.UUID,
    contract_id: uuid.UUID | None,
    kind: str,
    ticket_id: uuid.UUID | None,
    at: dt.datetime,
) -> Contract | None:
    """Record a confirmed loss or theft on the device's loan; the contract, if there is one."""
    repo = ContractRepository(session)
    contract = await repo.get(contract_id, for_update=True) if contract_id else None
    if contract is None or contract.device_id != device_id:
        contract = await repo.lent_with(device_id)
    if contract is None or contract.device_loss is not None:
        return contract
    contract.device_loss = kind
    contract.device_loss_at = at
    contract.device_loss_ticket_id = ticket_id
    await session.flush()
    return contract


async def sweep(
    session: AsyncSession, *, settings: ContractsSettings, now: dt.datetime
) -> dict[str, int]:
    """Expire unsigned contracts past their deadline; mark ended loans overdue (once)."""
    repo = ContractRepository(session)
    expired = await repo.due_to_expire(now, UNSIGNED, settings.expiry_batch_size)
    for contract in expired:
        contract.state = S.EXPIRED
        contract.expired_at = now
        contract.end_reason = "not signed in time"
    overdue = await repo.due_overdue(now, settings.expiry_batch_size)
    for contract in overdue:
        contract.overdue_since = now
    await session.flush()
    for contract in expired:
        document = await _current(session, contract)
        events.publish(session, events.EXPIRED, contract, document, expired_at=now)
    for contract in overdue:
        document = await _current(session, contract)
        events.publish(session, events.OVERDUE, contract, document, overdue_since=now)
    return {"contracts_expired": len(expired), "contracts_overdue": len(overdue)}
