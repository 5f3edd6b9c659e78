"""The agreement's text: what its PDF says, without the personal code, for those who may read it."""

from __future__ import annotations

from typing import Any

import httpx

from contracts_service.document.model import ContractData, LenderData
from contracts_service.document.render import render_pdf
from contracts_service.document.text import LANGS, AgreementText, agreement_text
from shared_kit.testing.http import bearer, problem

from .conftest import CONTRACTS, GUARDIAN_CODE, SCHOOL_A, Tokens, World
from .samples import contract_data
from .test_documents import words_of

CODES = (GUARDIAN_CODE, GUARDIAN_CODE.replace("-", ""))


def draft_of(n: int) -> ContractData:
    """A version to sign of sample contract `n`."""
    return contract_data(n).model_copy(update={"kind": "draft", "signatures": []})


def phrases(text: AgreementText) -> list[str]:
    """Every piece of text of one rendering: title, notices, parties, device, clauses."""
    found = [text.title, *text.notices, text.device_heading]
    for party in text.parties:
        found += [party.heading, party.name, *(party.description or "",)]
        found += [s for d in party.details for s in (d.label, d.value)]
    found += [s for d in text.device for s in (d.label, d.value)]
    for section in text.sections:
        found += [f"{section.number}. ", section.heading, *section.paragraphs]
    return [p for p in found if p]


def in_words(pdf_words: str, phrase: str) -> bool:
    """Whether the phrase is in the PDF's text, line breaks taken as spaces."""
    return " ".join(phrase.split()) in pdf_words


def assert_pdf_says(text: dict[str, Any] | AgreementText, pdf: bytes) -> None:
    """The Latvian rendering wholly, and the English clauses, as the PDF prints them."""
    words = words_of(pdf)
    rendering = AgreementText.model_validate(text)
    if rendering.lang == "lv":
        missing = [p for p in phrases(rendering) if not in_words(words, p)]
    else:
        clauses = [s for c in rendering.sections for s in (c.heading, *c.paragraphs)]
        missing = [p for p in (rendering.title, *clauses) if not in_words(words, p)]
    assert missing == [], missing


class TestTextOfTheDocument:
    def test_the_pdf_says_what_the_text_says(self) -> None:
        data = draft_of(7)
        pdf = render_pdf(data)
        for lang in LANGS:
            assert_pdf_says(agreement_text(data, lang), pdf)
        lv = agreement_text(data, "lv")
        assert lv.prevails and lv.title == "PATAPINĀJUMA LĪGUMS Nr. DL-2026-00000007"
        assert [s.heading for s in lv.sections][:2] == ["Līguma priekšmets", "Termiņš"]
        assert len(lv.sections) == 9
        assert "01.09.2026. līdz 31.05.2027. (ieskaitot)" in lv.sections[1].paragraphs[0]
        en = agreement_text(data, "en")
        assert not en.prevails and en.sections[3].heading == "Insurance"
        assert "2027-08-31 (inclusive)" in en.sections[3].paragraphs[0]

    def test_a_lender_without_details_and_an_uninsured_device(self) -> None:
        data = draft_of(8)
        device = data.device.model_copy(update={"value": None, "insured_until": None})
        lender = LenderData(kind="institution", code=SCHOOL_A, municipality_code="0010000")
        data = data.model_copy(update={"device": device, "lender": lender})
        pdf = render_pdf(data)
        for lang in LANGS:
            assert_pdf_says(agreement_text(data, lang), pdf)
        lv = agreement_text(data, "lv")
        assert lv.notices[1].startswith("PROJEKTS:")
        assert lv.sections[3].paragraphs[0].startswith("Ierīce nav apdrošināta.")

    def test_no_personal_code(self) -> None:
        data = draft_of(9)
        dumped = "".join(agreement_text(data, lang).model_dump_json() for lang in LANGS)
        assert not any(code in dumped for code in CODES)
        borrower = agreement_text(data, "lv").parties[1]
        assert (borrower.role, borrower.name, borrower.details) == ("borrower", "Ilze Bērziņa", [])
        no_code = data.model_copy(
            update={"borrower": data.borrower.model_copy(update={"personal_code": None})}
        )
        assert agreement_text(no_code, "lv") == agreement_text(data, "lv")


async def read_text(
    client: httpx.AsyncClient, contract: dict[str, Any], number: int, token: str
) -> httpx.Response:
    return await client.get(
        f"{CONTRACTS}/{contract['id']}/documents/{number}/text", headers=bearer(token)
    )


class TestTextEndpoint:
    async def test_the_guardian_reads_the_version_to_sign(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        r = await read_text(client, contract, 1, tokens.guardian(idp="eklase", amr=("pwd",)))
        assert r.status_code == 200, r.text
        assert not any(code in r.text for code in CODES)
        body = r.json()
        assert body["number"] == contract["number"] and body["document_version"] == 1
        assert body["document_kind"] == "draft"
        assert body["document_sha256"] == await world.current_sha(contract)
        assert [t["lang"] for t in body["texts"]] == ["lv", "en"]
        lv = body["texts"][0]
        assert lv["parties"][0]["name"] == "Rīgas Demo 1. pamatskola"
        assert lv["parties"][2]["name"] == "Marta Bērziņa"
        pdf = await client.get(f"{CONTRACTS}/{contract['id']}/pdf", headers=bearer(tokens.platform))
        for text in body["texts"]:
            assert_pdf_says(text, pdf.content)

    async def test_the_school_and_the_municipality_read_it_others_do_not(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        for reader in (tokens.school_a, tokens.riga, tokens.riga_platform, tokens.platform):
            assert (await read_text(client, contract, 1, reader)).status_code == 200
        for outsider in (tokens.other(), tokens.school_b, tokens.valmiera, tokens.analyst):
            problem(await read_text(client, contract, 1, outsider), 403, "tenant-forbidden")
        problem(await read_text(client, contract, 2, tokens.guardian()), 404, "document-not-found")
        r = await client.get(f"{CONTRACTS}/{contract['id']}/documents/1/text")
        problem(r, 401, "unauthorized")

    async def test_a_replaced_draft_is_only_in_its_pdf(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        r = await client.patch(
            f"{CONTRACTS}/lenders/institution/{SCHOOL_A}",
            json={"representative": "direktora vietniece Līga Ozola"},
            headers=bearer(tokens.riga),
        )
        assert r.status_code == 200, r.text
        body = problem(
            await read_text(client, contract, 1, tokens.guardian()), 409, "text-unavailable"
        )
        assert body["current_version"] == 2
        r = await read_text(client, contract, 2, tokens.guardian())
        lender = r.json()["texts"][0]["parties"][0]
        assert {"label": "Pārstāvis", "value": "direktora vietniece Līga Ozola"} in lender[
            "details"
        ]

    async def test_the_sealed_final(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        contract = await world.active()
        assert contract["current_document"] == 2
        signed = await read_text(client, contract, 1, tokens.guardian())
        sealed = await read_text(client, contract, 2, tokens.guardian())
        assert sealed.status_code == 200, sealed.text
        assert sealed.json()["document_kind"] == "sealed"
        assert sealed.json()["texts"] == signed.json()["texts"]
        pdf = await client.get(f"{CONTRACTS}/{contract['id']}/pdf", headers=bearer(tokens.platform))
        for text in sealed.json()["texts"]:
            assert_pdf_says(text, pdf.content)
