"""Request-scoped dependencies every service uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.clock import Clock
from shared_kit.db import session_scope


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed before the response is sent (or rolled back)."""
    async for session in session_scope(request.app.state.sessions):
        yield session


# scope="function": the commit runs before the response leaves, so a failed commit
# becomes an error response instead of a success the database never saw.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request for an endpoint that only reads (`db.ReadSession`): no BEGIN
    or COMMIT round trips, and the connection goes back to the pool before the response."""
    async with request.app.state.read_sessions() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


# Both are `async def` although they never wait: FastAPI runs a plain `def` dependency in a
# worker thread, and that hand-off cost more than the rest of a lean request's dependencies.
async def get_clock(request: Request) -> Clock:
    """The service's clock (`app.state.clock`, set by the app factory; tests move it)."""
    clock: Clock = request.app.state.clock
    return clock


async def get_now(request: Request) -> datetime:
    """The time this request happens at, read once from the service's clock."""
    clock: Clock = request.app.state.clock
    return clock()


ClockDep = Annotated[Clock, Depends(get_clock)]
NowDep = Annotated[datetime, Depends(get_now)]


# The caller's address --------------------------------------------------------------------

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


def client_address(request: Request) -> str | None:
    """The caller's address: the socket peer, or behind the settings' `trusted_proxies` the
    right-most X-Forwarded-For address that is not a trusted proxy (a caller cannot pick it)."""
    peer = request.client.host if request.client else None
    trusted: Sequence[Network] = request.app.state.settings.trusted_proxies
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), trusted)


def forwarded_client(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """Walk X-Forwarded-For from the right past trusted proxies; the first other address."""
    if not trusted or not _is_trusted(_address(peer), trusted):
        return peer
    nearest = peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # not an address: nothing to its left can be believed either
        if not _is_trusted(address, trusted):
            return str(address)
        nearest = str(address)
    return nearest


def _is_trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def _address(text: str | None) -> Address | None:
    """An IP address from an X-Forwarded-For entry (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`)."""
    text = (text or "").strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ip_address(text)
    except ValueError:
        return None


ClientAddress = Annotated[str | None, Depends(client_address)]
