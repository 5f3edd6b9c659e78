"""The device status machine: which moves are legal, and what each move records and publishes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service import events
from inventory_service.exceptions import IllegalTransition
from inventory_service.models import Condition, Device, DeviceStatus
from inventory_service.service import access, history
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.tenancy import TenantForbidden, actor_of

S = DeviceStatus
# The device life cycle. Anything not listed is an illegal transition (409).
TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    S.IN_STOCK: frozenset({S.AVAILABLE, S.IN_REPAIR, S.LOST, S.STOLEN, S.WRITTEN_OFF}),
    S.AVAILABLE: frozenset(
        {S.IN_STOCK, S.RESERVED, S.ON_LOAN, S.IN_REPAIR, S.LOST, S.STOLEN, S.WRITTEN_OFF}
    ),
    S.RESERVED: frozenset({S.AVAILABLE, S.ON_LOAN, S.IN_REPAIR, S.LOST, S.STOLEN}),
    # A device back from a loan or a repair is `reserved` when a reservation already holds it.
    S.ON_LOAN: frozenset({S.AVAILABLE, S.RESERVED, S.IN_REPAIR, S.LOST, S.STOLEN}),
    S.IN_REPAIR: frozenset(
        {S.AVAILABLE, S.RESERVED, S.IN_STOCK, S.ON_LOAN, S.LOST, S.STOLEN, S.WRITTEN_OFF}
    ),
    S.LOST: frozenset({S.AVAILABLE, S.IN_STOCK, S.WRITTEN_OFF}),
    S.STOLEN: frozenset({S.AVAILABLE, S.IN_STOCK, S.WRITTEN_OFF}),
    S.WRITTEN_OFF: frozenset(),
}


def allowed_transitions(principal: Principal, device: Device) -> list[DeviceStatus]:
    """The statuses the principal may move the device to now, in the life cycle's order."""
    allowed = []
    for to in DeviceStatus:
        if to not in TRANSITIONS[device.status]:
            continue
        try:
            access.ensure_may_transition(principal, device, to)
        except TenantForbidden:
            continue
        allowed.append(to)
    return allowed


async def transition_device(
    *,
    session: AsyncSession,
    principal: Principal,
    device: Device,
    to: DeviceStatus,
    reason: str | None,
    if_match: str | None,
) -> Device:
    """Move a device to another status on a person's request."""
    access.ensure_may_transition(principal, device, to)
    check_if_match(if_match, device.version)
    return await apply_transition(
        session=session, device=device, to=to, reason=reason, actor=actor_of(principal)
    )


async def apply_transition(
    *,
    session: AsyncSession,
    device: Device,
    to: DeviceStatus,
    reason: str | None,
    actor: str,
    condition: Condition | None = None,
) -> Device:
    """Apply a legal transition (and a condition recorded with it), record, publish."""
    before = device.status
    if to not in TRANSITIONS[before]:
        allowed = sorted(s.value for s in TRANSITIONS[before])
        raise IllegalTransition(
            f"A device cannot go from {before.value} to {to.value}",
            current_status=before.value,
            allowed=allowed,
        )
    if to is S.IN_REPAIR:
        device.status_before_repair = before
    elif before is S.IN_REPAIR:
        device.status_before_repair = None
    changes = {"status": [before.value, to.value]}
    if condition is not None and condition is not device.condition:
        changes["condition"] = [device.condition.value, condition.value]
        device.condition = condition
    device.status = to
    await session.flush()
    history.record(session, device, actor, "status_changed", changes, reason)
    events.publish(
        session,
        events.DEVICE_STATUS_CHANGED,
        device,
        from_status=before,
        to_status=to,
        reason=reason,
    )
    return device


async def record_condition(
    *,
    session: AsyncSession,
    device: Device,
    condition: Condition,
    reason: str | None,
    actor: str,
) -> None:
    """Record a condition reported without a status change (one history entry, one event)."""
    if condition is device.condition:
        return
    changes = {"condition": [device.condition.value, condition.value]}
    device.condition = condition
    await session.flush()
    history.record(session, device, actor, "updated", changes, reason)
    events.publish(session, events.DEVICE_UPDATED, device, changed_fields=["condition"])
