"""The PDF says what the data says; the sealed PDF validates, and a changed byte fails."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import httpx
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from contracts_service import bench
from contracts_service.document.render import render_pdf
from contracts_service.seal import build_sealer, generate_demo_material
from contracts_service.verify import check_seals

from .conftest import CONTRACTS, GUARDIAN_CODE, Tokens, World, bearer


def text_of(pdf: bytes) -> str:
    """All text of a PDF, parsed back with pypdf."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def pyhanko_validates(pdf: bytes, roots: list[Any]) -> bool:
    """pyHanko's own validator: the first signature intact, valid and trusted."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        status = validate_pdf_signature(
            reader.embedded_signatures[0], ValidationContext(trust_roots=roots)
        )
    except Exception:  # an unreadable file or signature fails validation too
        return False
    return bool(status.bottom_line)


def flip_byte(pdf: bytes, at: int) -> bytes:
    """The same PDF with one byte changed."""
    changed = bytearray(pdf)
    changed[at] ^= 0x01
    return bytes(changed)


class TestRendering:
    def test_pdf_says_what_the_data_says(self) -> None:
        data = bench.sample_contract(7)
        text = text_of(render_pdf(data.model_copy(update={"kind": "draft", "signatures": []})))
        for expected in (
            "PATAPINĀJUMA LĪGUMS Nr. DL-2026-00000007",
            "LOAN AGREEMENT (COMMODATUM)",
            "Rīgas Demo 1. pamatskola",
            "Reģistrācijas Nr. / Registration No.: 90000012345",
            "Pārstāvis / Represented by: direktore Anna Kalniņa",
            "Vārds, uzvārds / Name: Ilze Bērziņa",
            f"Personas kods / Personal code: {GUARDIAN_CODE}",
            "Marta Bērziņa",
            "RIX-00007",
            "SN-00000007",
            "Acer Chromebook Spin 311",
            "lādētājs, soma",
            "329,00 EUR / EUR 329.00",
            "01.09.2026. – 30.06.2027.",
            "Ierīce ir apdrošināta līdz 31.08.2027.",
            "Veidne / Template: 2026.1",
        ):
            assert expected in text, expected
        assert "PROJEKTS" not in text

    def test_rendering_is_reproducible(self) -> None:
        data = bench.sample_contract(1)
        assert (
            hashlib.sha256(render_pdf(data)).digest() == hashlib.sha256(render_pdf(data)).digest()
        )
        other = data.model_copy(update={"version": data.version + 1})
        assert render_pdf(other) != render_pdf(data)

    def test_missing_lender_details_say_so_and_unknown_value_is_explained(self) -> None:
        data = bench.sample_contract(2)
        lender = data.lender.model_copy(
            update={
                "name": None,
                "registration_number": None,
                "address": None,
                "representative": None,
            }
        )
        device = data.device.model_copy(update={"value": None, "insured_until": None})
        text = text_of(render_pdf(data.model_copy(update={"lender": lender, "device": device})))
        assert "PROJEKTS: aizdevēja juridiskie rekvizīti vēl nav reģistrēti" in text
        assert "VIIS reģ. Nr. 3113900101" in text
        assert "iegādes vērtība saskaņā ar patapinātāja grāmatvedības datiem" in text
        assert "Ierīce nav apdrošināta." in text

    def test_sealed_final_lists_the_signatures(self) -> None:
        data = bench.sample_contract(3)
        text = text_of(render_pdf(data))
        assert "Parakstu lapa / Signature page" in text
        assert "Autentifikācija / Authentication: latvija / smartid" in text
        assert text.count("Parakstītā versija / Version signed: 1") == 2


class TestSeal:
    def test_sealed_pdf_validates_and_a_changed_byte_fails(self) -> None:
        material = generate_demo_material()
        roots = material.trust_roots()
        sealed = bench.render_and_seal(bench.sample_contract(4), build_sealer(material))
        assert pyhanko_validates(sealed, roots)
        assert [c.ok for c in check_seals(sealed, roots)] == [True]
        # A byte inside the signed content (the first page's stream), and one in the signature.
        for at in (len(sealed) // 3, sealed.rindex(b"/Contents <") + 40):
            tampered = flip_byte(sealed, at)
            checks = check_seals(tampered, roots)
            assert not any(c.ok for c in checks), at
            assert not pyhanko_validates(tampered, roots)

    def test_a_foreign_ca_is_not_trusted(self) -> None:
        sealed = bench.render_and_seal(bench.sample_contract(5), bench.demo_sealer())
        foreign = generate_demo_material().trust_roots()
        (check,) = check_seals(sealed, foreign)
        assert check.intact and check.valid and not check.trusted and not check.ok


class TestStoredDocuments:
    async def test_stored_version_is_the_rendering_of_its_data(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        r = await client.get(f"{CONTRACTS}/{contract['id']}/pdf", headers=bearer(tokens.guardian()))
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert r.headers["cache-control"] == "private, no-store"
        assert hashlib.sha256(r.content).hexdigest() == await world.current_sha(contract)
        text = text_of(r.content)
        assert f"Nr. {contract['number']}" in text
        assert (
            contract["device"]["asset_tag"] in text and contract["device"]["serial_number"] in text
        )
        assert "329,00 EUR" in text and GUARDIAN_CODE in text
        assert GUARDIAN_CODE not in r.headers.get("content-disposition", "")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-disposition"] == (
            f'attachment; filename="{contract["number"]}-v1.pdf"; '
            f"filename*=UTF-8''{contract['number']}-v1.pdf"
        )
