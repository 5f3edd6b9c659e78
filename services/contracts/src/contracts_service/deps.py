"""Dependencies of the contracts API: settings, cipher, press, and validated path objects."""

from __future__ import annotations

import uuid
from typing import Annotated

from asn1crypto import x509 as asn1_x509
from fastapi import Depends, Request

from contracts_service.config import ContractsSettings
from contracts_service.document.press import Press
from contracts_service.models import Contract
from contracts_service.service import access, contracts
from shared_kit.auth import CurrentPrincipal
from shared_kit.crypto import RotatingCipher
from shared_kit.deps import ClientAddress, ReadSessionDep, SessionDep


async def get_settings(request: Request) -> ContractsSettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


def get_cipher(request: Request) -> RotatingCipher:
    """The personal-code cipher."""
    return request.app.state.cipher


async def get_press(request: Request) -> Press:  # async: no worker thread
    """Where the service renders and seals its PDFs."""
    return request.app.state.press


def get_trust_roots(request: Request) -> list[asn1_x509.Certificate]:
    """Roots the verification endpoint trusts."""
    return request.app.state.trust_roots


Settings = Annotated[ContractsSettings, Depends(get_settings)]
Cipher = Annotated[RotatingCipher, Depends(get_cipher)]
PressDep = Annotated[Press, Depends(get_press)]
TrustRoots = Annotated[list[asn1_x509.Certificate], Depends(get_trust_roots)]


async def valid_contract(
    contract_id: uuid.UUID, session: ReadSessionDep, principal: CurrentPrincipal
) -> Contract:
    """The contract in the path, if it exists and the caller may see it (for endpoints that
    only read: they take the same `ReadSessionDep`)."""
    contract = await contracts.get(session, contract_id, for_update=False)
    access.check_read(principal, contract)
    return contract


async def locked_contract(
    contract_id: uuid.UUID, session: SessionDep, _: CurrentPrincipal
) -> Contract:
    """The contract in the path, locked for this transaction (actions check their own rights)."""
    return await contracts.get(session, contract_id, for_update=True)


def signing_request(request: Request, address: ClientAddress) -> dict[str, str | None]:
    """Where a signature comes from: address and user agent."""
    return {"client_address": address, "user_agent": request.headers.get("user-agent")}


ValidContract = Annotated[Contract, Depends(valid_contract)]
LockedContract = Annotated[Contract, Depends(locked_contract)]
RequestOrigin = Annotated[dict[str, str | None], Depends(signing_request)]
