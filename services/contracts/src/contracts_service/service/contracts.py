"""Reading contracts: one or a page of them, their signatures, documents and their text,
return and photos.

Each read goes through `access`: a page holds only what the caller's scope allows, and a
return with its photos is for the lender's side only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service.document.model import ContractData
from contracts_service.document.template import TEMPLATE_VERSION
from contracts_service.exceptions import (
    ContractNotFound,
    DocumentNotFound,
    PhotoNotFound,
    TextUnavailable,
)
from contracts_service.models import (
    Contract,
    ContractDocument,
    ContractReturn,
    ContractState,
    DocumentKind,
    ReturnPhoto,
    Signature,
)
from contracts_service.repository import (
    ContractFilters,
    ContractRepository,
    DocumentRepository,
    ReturnRepository,
    SignatureRepository,
)
from contracts_service.service import access, drafting
from shared_kit.auth import Principal
from shared_kit.pagination import page_of


async def get(session: AsyncSession, contract_id: uuid.UUID, *, for_update: bool) -> Contract:
    """The contract (locked for this transaction when `for_update`), or ContractNotFound."""
    contract = await ContractRepository(session).get(contract_id, for_update=for_update)
    if contract is None:
        raise ContractNotFound(f"No contract {contract_id}")
    return contract


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    cursor: str | None,
    limit: int,
    states: Sequence[ContractState] = (),
    municipality_code: str | None = None,
    institution_number: str | None = None,
    device_id: uuid.UUID | None = None,
    reservation_id: uuid.UUID | None = None,
    overdue: bool | None = None,
) -> tuple[list[Contract], str | None]:
    """A page of the contracts the principal may see, oldest first, and the next cursor."""
    filters = ContractFilters(
        states=states,
        municipality_code=municipality_code,
        institution_number=institution_number,
        device_id=device_id,
        reservation_id=reservation_id,
        overdue=overdue,
    )
    scope = access.scope_for(principal)
    rows = await ContractRepository(session).page(scope, filters, cursor, limit)
    return page_of(rows, limit, lambda c: (c.created_at, c.id))


async def signatures(session: AsyncSession, contract: Contract) -> list[Signature]:
    """The contract's signatures, oldest first."""
    return list(await SignatureRepository(session).of(contract.id))


async def signatures_by_contract(
    session: AsyncSession, contracts: Sequence[Contract]
) -> dict[uuid.UUID, list[Signature]]:
    """The signatures of each of the contracts, oldest first."""
    found = await SignatureRepository(session).of_many([c.id for c in contracts])
    grouped: dict[uuid.UUID, list[Signature]] = {c.id: [] for c in contracts}
    for signature in found:
        grouped[signature.contract_id].append(signature)
    return grouped


async def documents(session: AsyncSession, contract: Contract) -> Sequence[Any]:
    """Metadata of every version of the contract's document, oldest first (no PDF bytes)."""
    return await DocumentRepository(session).listing(contract.id)


async def document(session: AsyncSession, contract: Contract, number: int) -> ContractDocument:
    """One version of the contract's document, or DocumentNotFound."""
    found = await DocumentRepository(session).get(contract.id, number)
    if found is None:
        raise DocumentNotFound(f"Contract {contract.number} has no version {number}")
    return found


async def document_data(
    session: AsyncSession, contract: Contract, number: int
) -> tuple[Any, ContractData]:
    """Version `number`'s metadata and the data its PDF was rendered from, personal code left
    out; DocumentNotFound, or TextUnavailable for a version only its PDF holds.

    The data is rebuilt from the contract's terms, which change only before the borrower signs
    (the lender's details, each change a new draft): a draft a newer one replaced was printed
    from other terms. A retired template's wording is no longer here either."""
    rows = await DocumentRepository(session).listing(contract.id)
    row = next((r for r in rows if r.number == number), None)
    if row is None:
        raise DocumentNotFound(f"Contract {contract.number} has no version {number}")
    latest_draft = max(r.number for r in rows if r.kind is DocumentKind.DRAFT)
    if row.number < latest_draft:
        raise TextUnavailable(
            f"Version {number} was replaced by version {latest_draft}; its text is in its PDF",
            current_version=contract.current_document,
        )
    if row.template_version != TEMPLATE_VERSION:
        raise TextUnavailable(
            f"Version {number} uses the retired template {row.template_version}; "
            "its text is in its PDF",
            current_version=contract.current_document,
        )
    data = drafting.contract_data(
        contract, None, version=row.number, issued_at=row.created_at, kind=row.kind.value
    )
    return row, data


async def return_of(
    session: AsyncSession, principal: Principal, contract: Contract
) -> tuple[ContractReturn, Sequence[Any]]:
    """The recorded return and its photos' metadata (the lender's side only)."""
    access.check_manager(principal, contract)
    repo = ReturnRepository(session)
    record = await repo.of(contract.id)
    if record is None:
        raise DocumentNotFound(f"Contract {contract.number} has no recorded return")
    return record, await repo.photos(record.id)


async def photo(
    session: AsyncSession, principal: Principal, contract: Contract, photo_id: uuid.UUID
) -> ReturnPhoto:
    """One photo of the contract's return (the lender's side only), or PhotoNotFound."""
    access.check_manager(principal, contract)
    repo = ReturnRepository(session)
    record = await repo.of(contract.id)
    found = await repo.photo(record.id, photo_id) if record is not None else None
    if found is None:
        raise PhotoNotFound(f"No photo {photo_id} for contract {contract.number}")
    return found
