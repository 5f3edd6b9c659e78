"""The PDF says what the data says; the sealed PDF validates, and a changed byte fails."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from contracts_service.document.render import render_pdf
from contracts_service.document.seal import build_sealer, generate_demo_material
from contracts_service.document.verify import check_seals
from shared_kit.testing.http import bearer

from .conftest import CONTRACTS, GUARDIAN_CODE, Tokens, World
from .samples import contract_data, sealed_pdf

RIGA = ZoneInfo("Europe/Riga")


def text_of(pdf: bytes) -> str:
    """All text of a PDF, parsed back with pypdf."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def words_of(pdf: bytes) -> str:
    """The PDF's text with every run of whitespace (line breaks too) as one space."""
    return " ".join(text_of(pdf).split())


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
        data = contract_data(7)
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
            "01.09.2026. – 31.05.2027. (ieskaitot)",
            "Ierīce ir apdrošināta līdz 31.08.2027.",
            "Veidne / Template: 2026.2",
        ):
            assert expected in text, expected
        assert "PROJEKTS" not in text

    def test_rendering_is_reproducible(self) -> None:
        data = contract_data(1)
        assert (
            hashlib.sha256(render_pdf(data)).digest() == hashlib.sha256(render_pdf(data)).digest()
        )
        other = data.model_copy(update={"version": data.version + 1})
        assert render_pdf(other) != render_pdf(data)

    def test_missing_lender_details_say_so_and_unknown_value_is_explained(self) -> None:
        data = contract_data(2)
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
        data = contract_data(3)
        text = text_of(render_pdf(data))
        assert "Parakstu lapa / Signature page" in text
        assert "Autentifikācija / Authentication: latvija / smartid" in text
        assert text.count("Parakstītā versija / Version signed: 1") == 2


def riga(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    """A moment in Riga local time, as UTC (the way the database hands it back)."""
    return dt.datetime(year, month, day, hour, tzinfo=RIGA).astimezone(dt.UTC)


class TestPeriodWording:
    """The period ends exclusively; the agreement prints its last day, or the exact moment."""

    def words(self, start: dt.datetime, end: dt.datetime) -> str:
        data = contract_data(4).model_copy(
            update={"kind": "draft", "signatures": [], "period_start": start, "period_end": end}
        )
        return words_of(render_pdf(data))

    @pytest.mark.parametrize(
        ("end", "last_lv", "last_en"),
        [
            # The school year's end: 1 June 00:00 in summer time is 31 May 21:00 UTC.
            (riga(2027, 6, 1), "31.05.2027.", "2027-05-31"),
            # Summer time starts on Sunday 28 March 2027 at 03:00: midnight after it is UTC+3 ...
            (riga(2027, 3, 29), "28.03.2027.", "2027-03-28"),
            # ... and midnight that Sunday, before the change, still UTC+2.
            (riga(2027, 3, 28), "27.03.2027.", "2027-03-27"),
            # Summer time ends on Sunday 25 October 2026 at 04:00: midnight after it is UTC+2.
            (riga(2026, 10, 26), "25.10.2026.", "2026-10-25"),
        ],
    )
    def test_an_end_at_local_midnight_prints_the_day_before_as_the_last(
        self, end: dt.datetime, last_lv: str, last_en: str
    ) -> None:
        end_day = end.astimezone(RIGA).strftime("%d.%m.%Y.")
        words = self.words(riga(2026, 9, 1), end)
        assert f"01.09.2026. – {last_lv} (ieskaitot)" in words  # the device table
        assert f"no 01.09.2026. līdz {last_lv} (ieskaitot)." in words
        assert f"from 2026-09-01 to {last_en} (inclusive)." in words
        assert end_day not in words

    @pytest.mark.parametrize(
        ("end", "moment_lv", "moment_en"),
        [
            (riga(2027, 6, 1, 12), "01.06.2027. plkst. 12:00 (EEST)", "2027-06-01 12:00 (EEST)"),
            # Midnight UTC is 03:00 in Riga: not a whole day.
            (
                dt.datetime(2027, 6, 1, tzinfo=dt.UTC),
                "01.06.2027. plkst. 03:00 (EEST)",
                "2027-06-01 03:00 (EEST)",
            ),
            # 03:30 happens twice on 25 October 2026; the zone says which one.
            (
                dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),
                "25.10.2026. plkst. 03:30 (EEST)",
                "2026-10-25 03:30 (EEST)",
            ),
            (
                dt.datetime(2026, 10, 25, 1, 30, 15, tzinfo=dt.UTC),
                "25.10.2026. plkst. 03:30:15 (EET)",
                "2026-10-25 03:30:15 (EET)",
            ),
        ],
    )
    def test_an_end_during_a_day_prints_the_date_and_time(
        self, end: dt.datetime, moment_lv: str, moment_en: str
    ) -> None:
        words = self.words(riga(2026, 3, 1), end)
        assert f"01.03.2026. – {moment_lv}" in words
        assert f"no 01.03.2026. līdz {moment_lv}." in words
        assert f"from 2026-03-01 to {moment_en}." in words
        assert "ieskaitot). Ierīce jāatdod" not in words

    def test_insurance_end_is_inclusive_in_both_languages(self) -> None:
        words = self.words(riga(2026, 9, 1), riga(2027, 6, 1))
        assert "Ierīce ir apdrošināta līdz 31.08.2027. (ieskaitot)." in words
        assert "The Device is insured until 2027-08-31 (inclusive)." in words


class TestSeal:
    def test_sealed_pdf_validates_and_a_changed_byte_fails(self) -> None:
        material = generate_demo_material()
        roots = material.trust_roots()
        sealed = sealed_pdf(contract_data(4), build_sealer(material))
        assert pyhanko_validates(sealed, roots)
        assert [c.ok for c in check_seals(sealed, roots)] == [True]
        # A byte inside the signed content (the first page's stream), and one in the signature.
        for at in (len(sealed) // 3, sealed.rindex(b"/Contents <") + 40):
            tampered = flip_byte(sealed, at)
            checks = check_seals(tampered, roots)
            assert not any(c.ok for c in checks), at
            assert not pyhanko_validates(tampered, roots)

    def test_it_signs_the_attributes_pyhankos_own_pades_signer_signs(self) -> None:
        material = generate_demo_material()
        ours, stock = build_sealer(material), build_sealer(material)
        stock._signer.signed_attr_prov_spec = None  # type: ignore[attr-defined]
        data = contract_data(6)

        def attributes(pdf: bytes) -> list[tuple[str, bytes]]:
            reader = PdfFileReader(io.BytesIO(pdf), strict=False)
            signed = reader.embedded_signatures[0].signer_info["signed_attrs"]
            return [
                (a["type"].native, a.dump()) for a in signed if a["type"].native != "message_digest"
            ]

        first, second = sealed_pdf(data, ours), sealed_pdf(contract_data(7), ours)
        assert attributes(first) == attributes(second) == attributes(sealed_pdf(data, stock))
        assert [name for name, _ in attributes(first)] == ["content_type", "signing_certificate_v2"]
        assert pyhanko_validates(first, material.trust_roots())
        assert pyhanko_validates(second, material.trust_roots())

    def test_a_foreign_ca_is_not_trusted(self) -> None:
        sealed = sealed_pdf(contract_data(5), build_sealer(generate_demo_material()))
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
