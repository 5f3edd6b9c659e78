"""Document data of an invented contract, built the way the service builds it, without a database:
a device and a lender as drafting maps them, signatures as the signature page prints them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import SecretStr

from contracts_service.document import seal
from contracts_service.document.model import ContractData
from contracts_service.document.template import CONSENT_VERSION, TEMPLATE_VERSION
from contracts_service.models import Contract, Device, Lender, LenderKind, Party, Signature
from contracts_service.service import drafting, signing

from .conftest import GUARDIAN_CODE, RIGA, SCHOOL_A

SIGNED = dt.datetime(2026, 8, 25, 9, 30, tzinfo=dt.UTC)


def _device(n: int) -> Device:
    return Device(
        id=uuid.UUID(int=20_000 + n),
        asset_tag=f"RIX-{n:05d}",
        serial_number=f"SN-{n:08d}",
        catalogue_item_code="CB-11-GR1-3",
        category="chromebook",
        manufacturer="Acer",
        model="Chromebook Spin 311",
        accessories=["lādētājs", "soma"],
        purchase_price=Decimal("329.00"),
        insured_until=dt.date(2027, 8, 31),
    )


def _lender() -> Lender:
    return Lender(
        kind=LenderKind.INSTITUTION,
        code=SCHOOL_A,
        municipality_code=RIGA,
        name="Rīgas Demo 1. pamatskola",
        registration_number="90000012345",
        address="Skolas iela 1, Rīga, LV-1010",
        representative="direktore Anna Kalniņa",
    )


def _signature(party: Party, signer: uuid.UUID, name: str, idp: str, amr: str) -> Signature:
    return Signature(
        party=party,
        signer_id=str(signer),
        signer_name=name,
        signed_at=SIGNED,
        idp=idp,
        amr=[amr],
        document_sha256="0" * 64,
        consent_version=CONSENT_VERSION,
    )


def contract_data(n: int = 0) -> ContractData:
    """The sealed final of contract `n`: school A lends a Chromebook to Ilze Bērziņa's family."""
    borrower = uuid.UUID(int=10_000 + n)
    contract = Contract(
        id=uuid.UUID(int=n + 1),
        number=f"DL-2026-{n:08X}",
        institution_number=SCHOOL_A,
        borrower_id=borrower,
        borrower_given_name="Ilze",
        borrower_family_name="Bērziņa",
        template_version=TEMPLATE_VERSION,
        period_start=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
        # The school year's end: 1 June 00:00 in Riga, so the loan's last day is 31 May.
        period_end=dt.datetime(2027, 5, 31, 21, tzinfo=dt.UTC),
        terms={
            "lender": drafting.lender_data(_lender(), SCHOOL_A, RIGA).model_dump(mode="json"),
            "device": drafting.device_data(_device(n)).model_dump(mode="json"),
            "learner": "Marta Bērziņa",
        },
    )
    signatures = [
        _signature(Party.BORROWER, borrower, "Ilze Bērziņa", "latvija", "smartid"),
        _signature(
            Party.LENDER, uuid.UUID(int=30_000 + n), "Rīgas Demo 1. pamatskola", "mykoob", "pwd"
        ),
    ]
    return drafting.contract_data(
        contract,
        SecretStr(GUARDIAN_CODE),
        version=2,
        issued_at=SIGNED,
        kind="sealed",
        signatures=[signing.signature_line(s, 1) for s in signatures],
    )


def sealed_pdf(data: ContractData, sealer: seal.DocumentSealer) -> bytes:
    """The document rendered and sealed as countersigning does."""
    return seal.render_and_seal(data, sealer, reason=signing.SEAL_REASON, location="Rīga")
