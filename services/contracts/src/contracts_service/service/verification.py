"""Is an uploaded PDF one of ours, unaltered, and who signed it?

Two independent answers: the SHA-256 matches a stored document (any version, or the sealed
final), and pyHanko's validator finds the PAdES seal intact, valid, from a certificate that
chains to our trust roots and covering the whole file. The signers come from our records:
the borrower's name (never the personal code), the lender, times and login methods.
Verdicts: `authentic` (a stored document; if sealed, the seal checks out), `altered` (not
stored, yet it carries a seal: something changed after sealing) and `unknown`.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from asn1crypto import x509 as asn1_x509
from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service.document.verify import SealCheck, check_seals
from contracts_service.models import Contract, ContractDocument, DocumentKind, Signature
from contracts_service.repository import ContractRepository, DocumentRepository, SignatureRepository


@dataclass
class Verification:
    """The outcome of checking one PDF."""

    sha256: str
    verdict: str
    document: ContractDocument | None = None
    contract: Contract | None = None
    current: bool = False
    seals: list[SealCheck] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)


def _verdict(document: ContractDocument | None, seals: list[SealCheck]) -> str:
    if document is not None:
        if document.kind is DocumentKind.SEALED and not any(s.ok for s in seals):
            return "altered"  # cannot happen unless our trust roots changed; be explicit
        return "authentic"
    return "altered" if seals else "unknown"


async def verify(
    session: AsyncSession, pdf: bytes, roots: list[asn1_x509.Certificate]
) -> Verification:
    """Check a PDF against our records and its embedded seal."""
    sha256 = hashlib.sha256(pdf).hexdigest()
    seals = await asyncio.to_thread(check_seals, pdf, roots)
    document = await DocumentRepository(session).find_sha256(sha256)
    result = Verification(sha256=sha256, verdict=_verdict(document, seals), seals=seals)
    if document is None:
        return result
    contract = await ContractRepository(session).get(document.contract_id)
    assert contract is not None
    signatures = await SignatureRepository(session).of(contract.id)
    if document.kind is DocumentKind.DRAFT:
        signatures = [s for s in signatures if s.document_id == document.id]
    result.document, result.contract = document, contract
    result.current = document.number == contract.current_document
    result.signatures = list(signatures)
    return result
