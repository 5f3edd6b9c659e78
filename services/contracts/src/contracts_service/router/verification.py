"""Verification of an uploaded PDF (`/verify`) and the consent text (`/consent`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from contracts_service.deps import Settings, TrustRoots
from contracts_service.document.template import CONSENT_TEMPLATE, CONSENT_VERSION
from contracts_service.exceptions import InvalidPdf
from contracts_service.router.base import COMMON, PREFIX
from contracts_service.schemas import ConsentRead, SealRead, VerificationRead, VerifiedSigner
from contracts_service.service import verification
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import SessionDep
from shared_kit.problems import PayloadTooLarge, problem_responses

router = APIRouter(prefix=PREFIX, tags=["verification"], responses=COMMON)


@router.get("/consent", response_model=ConsentRead, tags=["signing"])
async def consent(_: CurrentPrincipal):
    """The consent text a signer agrees to, in Latvian and English, with its version."""
    return ConsentRead(version=CONSENT_VERSION, lv=CONSENT_TEMPLATE[0], en=CONSENT_TEMPLATE[1])


@router.post("/verify", response_model=VerificationRead, responses=problem_responses(413))
async def verify_pdf(
    file: Annotated[UploadFile, File(description="The PDF to check")],
    session: SessionDep,
    settings: Settings,
    roots: TrustRoots,
    _: CurrentPrincipal,
):
    """Whether a PDF is one of ours, unaltered, and who signed it.

    The SHA-256 is looked up among every stored version and sealed final; independently,
    pyHanko validates the embedded PAdES seal against the platform's trust roots."""
    pdf = await file.read(settings.verify_max_bytes + 1)
    if len(pdf) > settings.verify_max_bytes:
        raise PayloadTooLarge(f"The PDF may have at most {settings.verify_max_bytes} bytes")
    if not pdf.startswith(b"%PDF-"):
        raise InvalidPdf("The file is not a PDF document")
    result = await verification.verify(session, pdf, roots)
    seals = [SealRead(**vars(s), ok=s.ok) for s in result.seals]
    answer = VerificationRead(
        verdict=result.verdict, sha256=result.sha256, known=result.document is not None, seals=seals
    )
    if result.document is None or result.contract is None:
        return answer
    answer.contract_id, answer.contract_number = result.contract.id, result.contract.number
    answer.contract_state = result.contract.state
    answer.document_version, answer.document_kind = result.document.number, result.document.kind
    answer.current = result.current
    answer.signers = [
        VerifiedSigner(
            party=s.party,
            name=s.signer_name,
            signed_at=s.signed_at,
            idp=s.idp,
            amr=list(s.amr),
            document_version=s.document.number,
        )
        for s in result.signatures
    ]
    return answer
