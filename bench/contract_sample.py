"""Render and seal one contract from plain data, for the contracts benchmark (`bench.contracts`).

    from bench.contract_sample import demo_sealer, render_and_seal, sample_contract
    pdf = render_and_seal(sample_contract(), demo_sealer())

No database, no broker: exactly the CPU work countersigning does per contract.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import SecretStr

from contracts_service.document import seal
from contracts_service.document.model import (
    BorrowerData,
    ContractData,
    DeviceData,
    LenderData,
    SignatureLine,
)
from contracts_service.document.seal import DocumentSealer
from contracts_service.document.template import TEMPLATE_VERSION
from contracts_service.service.signing import SEAL_REASON

__all__ = ["demo_sealer", "render_and_seal", "sample_contract"]


def demo_sealer() -> DocumentSealer:
    """A sealer with a fresh demo CA."""
    return seal.build_sealer(seal.generate_demo_material())


def sample_contract(n: int = 0) -> ContractData:
    """A realistic sealed-final contract (invented people and numbers)."""
    signed = dt.datetime(2026, 8, 25, 9, 30, tzinfo=dt.UTC)
    sha = "0" * 64
    return ContractData(
        contract_id=uuid.UUID(int=n + 1),
        number=f"DL-2026-{n:08X}",
        version=2,
        kind="sealed",
        template_version=TEMPLATE_VERSION,
        issued_at=signed,
        lender=LenderData(
            kind="institution",
            code="3113900101",
            municipality_code="0010000",
            name="Rīgas Demo 1. pamatskola",
            registration_number="90000012345",
            address="Skolas iela 1, Rīga, LV-1010",
            representative="direktore Anna Kalniņa",
        ),
        borrower=BorrowerData(
            person_id=uuid.UUID(int=10_000 + n),
            given_name="Ilze",
            family_name="Bērziņa",
            personal_code=SecretStr("010185-10004"),
        ),
        learner="Marta Bērziņa",
        institution_number="3113900101",
        device=DeviceData(
            device_id=uuid.UUID(int=20_000 + n),
            asset_tag=f"RIX-{n:05d}",
            serial_number=f"SN-{n:08d}",
            model="Acer Chromebook Spin 311",
            category="chromebook",
            accessories=["lādētājs", "soma"],
            value=Decimal("329.00"),
            insured_until=dt.date(2027, 8, 31),
        ),
        period_start=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
        # The school year's end: 1 June 00:00 in Riga, so the loan's last day is 31 May.
        period_end=dt.datetime(2027, 5, 31, 21, tzinfo=dt.UTC),
        signatures=[
            SignatureLine(
                party="borrower",
                name="Ilze Bērziņa",
                signer_id=str(uuid.UUID(int=10_000 + n)),
                signed_at=signed,
                method="latvija / smartid",
                document_version=1,
                document_sha256=sha,
                consent_version="2026.1",
            ),
            SignatureLine(
                party="lender",
                name="Rīgas Demo 1. pamatskola",
                signer_id=str(uuid.UUID(int=30_000 + n)),
                signed_at=signed,
                method="mykoob / pwd",
                document_version=1,
                document_sha256=sha,
                consent_version="2026.1",
            ),
        ],
    )


def render_and_seal(data: ContractData, sealer: DocumentSealer) -> bytes:
    """Render the contract and seal it (blocking): the unit of work the benchmark times."""
    return seal.render_and_seal(data, sealer, reason=SEAL_REASON, location="Rīga")
