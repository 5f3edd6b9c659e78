"""Check a PDF's embedded signatures with pyHanko's validator against our trust roots."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext


@dataclass(frozen=True)
class SealCheck:
    """What the validator says about one embedded signature."""

    field_name: str | None
    signer: str | None
    signed_at: dt.datetime | None
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool

    @property
    def ok(self) -> bool:
        """Intact, cryptographically valid, from a trusted seal, nothing added afterwards."""
        return self.intact and self.valid and self.trusted and self.covers_whole_file


async def _check(sig: object, roots: list[asn1_x509.Certificate]) -> SealCheck:
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = await async_validate_pdf_signature(sig, context)  # type: ignore[arg-type]
    except (PdfError, ValueError):  # pyHanko's validation errors are ValueErrors too
        return SealCheck(getattr(sig, "field_name", None), None, None, False, False, False, False)
    return SealCheck(
        field_name=getattr(sig, "field_name", None),
        signer=status.signing_cert.subject.human_friendly,
        signed_at=status.signer_reported_dt,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
    )


async def _check_all(pdf: bytes, roots: list[asn1_x509.Certificate]) -> list[SealCheck]:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, IndexError, TypeError):  # not a readable PDF
        return []
    return [await _check(sig, roots) for sig in embedded]


def check_seals(pdf: bytes, roots: list[asn1_x509.Certificate]) -> list[SealCheck]:
    """Validate every embedded signature (blocking: call it from a worker thread)."""
    return asyncio.run(_check_all(pdf, roots))
