"""Contracts: list, read, documents and text, signing, countersigning, return, termination."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service.deps import (
    Cipher,
    LockedContract,
    PressDep,
    RequestOrigin,
    Settings,
    ValidContract,
)
from contracts_service.document.text import LANGS, agreement_text
from contracts_service.models import Contract, ContractState, ReturnCondition
from contracts_service.router.base import COMMON, PREFIX
from contracts_service.schemas import (
    LENDER_CODE_PATTERN,
    AgreementTextRead,
    ContractRead,
    DocumentRead,
    PhotoRead,
    ReturnRead,
    SignRequest,
    TerminateRequest,
)
from contracts_service.service import contracts, lifecycle, signing
from shared_kit import uploads
from shared_kit.auth import CurrentPrincipal, Principal
from shared_kit.concurrency import IfMatch, check_if_match, etag
from shared_kit.deps import NowDep, ReadSessionDep, SessionDep
from shared_kit.downloads import file_response
from shared_kit.fastjson import FastJSONResponse
from shared_kit.fields import ATVK_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_response
from shared_kit.problems import problem_responses

router = APIRouter(prefix=PREFIX, tags=["contracts"], responses=COMMON)
READ = problem_responses(404)
WRITE = problem_responses(404, 409, 412)
NO_STORE = {"Cache-Control": "private, no-store"}


async def _read(session: AsyncSession, contract: Contract) -> ContractRead:
    return ContractRead.of(contract, await contracts.signatures(session, contract))


def _pdf(data: bytes, filename: str, sha256: str) -> Response:
    # The PDF carries the borrower's personal code: never cached on the way.
    headers = {**NO_STORE, "ETag": f'"{sha256}"'}
    return file_response(data, media_type="application/pdf", filename=filename, headers=headers)


@router.get("", response_model=Page[ContractRead])
async def list_contracts(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    state: Annotated[list[ContractState] | None, Query()] = None,
    municipality: Annotated[str | None, Query(pattern=ATVK_PATTERN)] = None,
    institution: Annotated[str | None, Query(pattern=LENDER_CODE_PATTERN)] = None,
    device_id: uuid.UUID | None = None,
    reservation_id: uuid.UUID | None = None,
    overdue: bool | None = None,
):
    """Contracts you may see, oldest first: your own as a borrower, your institution's or
    municipality's as an administrator."""
    items, nxt = await contracts.page(
        session,
        principal,
        cursor=cursor,
        limit=limit,
        states=state or (),
        municipality_code=municipality,
        institution_number=institution,
        device_id=device_id,
        reservation_id=reservation_id,
        overdue=overdue,
    )
    signatures = await contracts.signatures_by_contract(session, items)
    return page_response([ContractRead.of(c, signatures[c.id]) for c in items], nxt)


@router.get("/{contract_id}", response_model=ContractRead, responses=READ)
async def get_contract(contract: ValidContract, session: ReadSessionDep, response: Response):
    """One contract with its signatures."""
    response.headers["ETag"] = etag(contract.version)
    return await _read(session, contract)


@router.get("/{contract_id}/documents", response_model=list[DocumentRead], responses=READ)
async def list_documents(contract: ValidContract, session: ReadSessionDep):
    """Every version of the contract's document, oldest first; the last is current."""
    rows = await contracts.documents(session, contract)
    # The rows go straight to JSON: DocumentRead's fields, written as pydantic would write them.
    current = contract.current_document
    return FastJSONResponse([{**row._asdict(), "current": row.number == current} for row in rows])


@router.get(
    "/{contract_id}/pdf",
    responses={**READ, 200: {"content": {"application/pdf": {}}}},
    response_class=Response,
)
async def download_current(contract: ValidContract, session: ReadSessionDep):
    """The current PDF: the sealed final once active, else the version to sign."""
    document = await contracts.document(session, contract, contract.current_document)
    name = f"{contract.number}-v{document.number}.pdf"
    return _pdf(document.pdf, name, document.sha256)


@router.get(
    "/{contract_id}/documents/{number}/pdf",
    responses={**READ, 200: {"content": {"application/pdf": {}}}},
    response_class=Response,
)
async def download_version(
    number: Annotated[int, Path(ge=1)], contract: ValidContract, session: ReadSessionDep
):
    """One version's PDF, exactly as stored."""
    document = await contracts.document(session, contract, number)
    return _pdf(document.pdf, f"{contract.number}-v{number}.pdf", document.sha256)


@router.get(
    "/{contract_id}/documents/{number}/text",
    response_model=AgreementTextRead,
    responses=problem_responses(404, 409),
)
async def read_text(
    number: Annotated[int, Path(ge=1)], contract: ValidContract, session: ReadSessionDep
):
    """One version's text, to read in a page: the title, the parties (no personal code), the
    device and the numbered clauses, in Latvian (it prevails) and English, as its PDF prints
    them. 409 `text-unavailable` for a version whose text only its PDF holds: a draft a newer
    one replaced, or a retired template's."""
    document, data = await contracts.document_data(session, contract, number)
    return AgreementTextRead(
        contract_id=contract.id,
        number=contract.number,
        document_version=document.number,
        document_kind=document.kind,
        document_sha256=document.sha256,
        template_version=document.template_version,
        issued_at=document.created_at,
        texts=[agreement_text(data, lang) for lang in LANGS],
    )


def _signing(body: SignRequest, origin: dict[str, str | None]) -> signing.SigningRequest:
    return signing.SigningRequest(
        document_sha256=body.document_sha256,
        document_version=body.document_version,
        consent_version=body.consent_version,
        client_address=origin["client_address"],
        user_agent=origin["user_agent"],
    )


@router.post("/{contract_id}/sign", response_model=ContractRead, tags=["signing"], responses=WRITE)
async def sign_contract(
    body: SignRequest,
    contract: LockedContract,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: Settings,
    now: NowDep,
    origin: RequestOrigin,
    idem: IdempotencyDep,
    if_match: IfMatch = None,
):
    """The borrower signs the version they read (by SHA-256 or number).

    Needs a recent Latvija.lv login with eParaksts, eID, a bank or Smart-ID (configurable);
    otherwise 403 `login-too-weak` / `login-too-old`: log in again and retry."""
    if replay := await idem.replay(body):
        return replay
    check_if_match(if_match, contract.version)
    contract = await signing.sign(
        session=session,
        settings=settings,
        principal=principal,
        contract=contract,
        request=_signing(body, origin),
        now=now,
    )
    return idem.respond(200, await _read(session, contract), {"ETag": etag(contract.version)})


@router.post(
    "/{contract_id}/countersign", response_model=ContractRead, tags=["signing"], responses=WRITE
)
async def countersign_contract(
    body: SignRequest,
    contract: LockedContract,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: Settings,
    now: NowDep,
    cipher: Cipher,
    press: PressDep,
    origin: RequestOrigin,
    idem: IdempotencyDep,
    if_match: IfMatch = None,
):
    """The lender countersigns the version the borrower signed; the final PDF is sealed and
    the contract becomes active."""
    if replay := await idem.replay(body):
        return replay
    check_if_match(if_match, contract.version)
    contract = await signing.countersign(
        session=session,
        settings=settings,
        principal=principal,
        contract=contract,
        request=_signing(body, origin),
        now=now,
        cipher=cipher,
        press=press,
    )
    return idem.respond(200, await _read(session, contract), {"ETag": etag(contract.version)})


@router.post("/{contract_id}/terminate", response_model=ContractRead, responses=WRITE)
async def terminate_contract(
    body: TerminateRequest,
    contract: LockedContract,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    idem: IdempotencyDep,
    if_match: IfMatch = None,
):
    """End an active loan early, with a reason (the device must still be returned)."""
    if replay := await idem.replay(body):
        return replay
    check_if_match(if_match, contract.version)
    contract = await lifecycle.terminate(
        session=session,
        principal=principal,
        contract=contract,
        reason=body.reason,
        now=now,
    )
    return idem.respond(200, await _read(session, contract), {"ETag": etag(contract.version)})


@router.post(
    "/{contract_id}/return",
    status_code=201,
    response_model=ReturnRead,
    tags=["returns"],
    responses=problem_responses(404, 409, 412, 413, 415, 422),
)
async def record_return(
    contract: LockedContract,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: Settings,
    now: NowDep,
    idem: IdempotencyDep,
    condition: Annotated[ReturnCondition, Form()],
    notes: Annotated[str | None, Form(max_length=4000)] = None,
    photos: Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP")] = None,
    if_match: IfMatch = None,
):
    """The institution records the device's return: condition, notes, optional photos.

    Photos are JPEG, PNG or WebP that decode as such (else 415 `invalid-photo`, or 422
    `unreadable-photo` / `photo-dimensions-too-large`), stored re-encoded, upright and without
    metadata. A `damaged` return's event is what the tickets service opens a repair ticket
    from."""
    received = await uploads.receive(photos or [], settings.photo_max_bytes)
    fingerprint = {
        "condition": condition,
        "notes": notes,
        "photos": [hashlib.sha256(p.content).hexdigest() for p in received],
    }
    if replay := await idem.replay(fingerprint):
        return replay
    check_if_match(if_match, contract.version)
    await lifecycle.record_return(
        session=session,
        settings=settings,
        principal=principal,
        contract=contract,
        condition=condition,
        notes=notes,
        photos=received,
        now=now,
    )
    answer = await _return(session, principal, contract)
    return idem.respond(201, answer, {"ETag": etag(contract.version)})


async def _return(session: AsyncSession, principal: Principal, contract: Contract) -> ReturnRead:
    record, rows = await contracts.return_of(session, principal, contract)
    photos = [PhotoRead(**row._asdict()) for row in rows]
    return ReturnRead(
        contract_id=contract.id,
        condition=record.condition,
        notes=record.notes,
        recorded_by=record.recorded_by,
        recorded_at=record.recorded_at,
        photos=photos,
    )


@router.get("/{contract_id}/return", response_model=ReturnRead, tags=["returns"], responses=READ)
async def get_return(contract: ValidContract, session: ReadSessionDep, principal: CurrentPrincipal):
    """The recorded return with its photos' metadata (the lender's administrators)."""
    return await _return(session, principal, contract)


@router.get(
    "/{contract_id}/return/photos/{photo_id}",
    tags=["returns"],
    responses={**READ, 200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
    response_class=Response,
)
async def download_photo(
    photo_id: uuid.UUID,
    contract: ValidContract,
    session: ReadSessionDep,
    principal: CurrentPrincipal,
):
    """One photo of the return, as stored (inline, `nosniff`)."""
    photo = await contracts.photo(session, principal, contract, photo_id)
    return uploads.photo_response(
        content=photo.content,
        media_type=photo.media_type,
        filename=photo.filename,
        headers=NO_STORE,
    )
