"""Fonts written from cuts made once: the PDF is fpdf2's own, byte for byte, whatever the names."""

from __future__ import annotations

import io
import logging
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from fontTools import ttLib
from fpdf import FPDF
from fpdf.output import OutputProducer
from pypdf import PdfReader

from contracts_service.document import embedding, render
from contracts_service.document.embedding import REPERTOIRE, Producer, cut, subset_options
from contracts_service.document.model import ContractData
from contracts_service.document.render import render_pdf
from contracts_service.document.typefaces import FILES, add_fonts, lean_bytes, open_program

from .samples import contract_data

NAMES = [
    ("Ilze", "Bērziņa"),  # the template's letters
    ("Ģirts", "Ķēniņš-Łukasz"),  # Latin script beyond Latvian: still the repertoire
    ("Жанна", "Ωmega"),  # other scripts: cut from the whole font
    ("Mei", "中村"),  # a character DejaVu has no glyph for
]


def documents() -> list[ContractData]:
    """A sealed final and a draft for each borrower's name."""
    sealed = contract_data(5)
    found = []
    for given, family in NAMES:
        borrower = sealed.borrower.model_copy(update={"given_name": given, "family_name": family})
        named = sealed.model_copy(update={"borrower": borrower})
        found += [named, named.model_copy(update={"kind": "draft", "signatures": []})]
    return found


def fpdf2s_own(monkeypatch: pytest.MonkeyPatch, data: ContractData) -> bytes:
    """The document as fpdf2's own output writes its fonts (each subset cut afresh)."""
    with monkeypatch.context() as m:
        m.setattr(render, "Producer", OutputProducer)
        return render_pdf(data)


def embedded_glyphs(pdf: bytes) -> set[str]:
    """The names of the glyphs of every font the PDF embeds."""
    found: set[str] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():  # type: ignore[index]
            descendant = ref.get_object()["/DescendantFonts"][0].get_object()
            program = descendant["/FontDescriptor"]["/FontFile2"].get_data()
            found |= set(ttLib.TTFont(io.BytesIO(program)).getGlyphOrder())
    return found


def fpdf2_cut(data: bytes, glyphs: list[str]) -> bytes:
    """A font file cut as fpdf2 cuts it."""
    font = open_program(data)
    subsetter = embedding.ftsubset.Subsetter(subset_options())
    subsetter.populate(glyphs=glyphs)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


class TestSameDocument:
    @pytest.mark.parametrize("n", range(len(NAMES) * 2))
    def test_the_pdf_is_byte_for_byte_fpdf2s(self, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
        data = documents()[n]
        assert render_pdf(data) == fpdf2s_own(monkeypatch, data)
        assert render_pdf(data) == fpdf2s_own(monkeypatch, data)  # from the kept cut

    def test_documents_rendered_together_are_the_same(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = documents()
        alone = [fpdf2s_own(monkeypatch, d) for d in data]
        cut.cache_clear()
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(render_pdf, data * 3))
        assert together == alone * 3

    def test_a_name_in_another_script_embeds_its_glyphs(self) -> None:
        pdf = render_pdf(documents()[4])
        cyrillic = {open_program(lean_bytes(FILES[""])).getBestCmap()[ord(c)] for c in "Жанна"}
        assert cyrillic <= embedded_glyphs(pdf)

    def test_a_character_without_a_glyph_is_warned_of_as_fpdf2_does(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="fpdf.output"):
            render_pdf(documents()[6])
        assert "is missing the following glyphs: '中' (\\u4e2d)" in caplog.text


class TestCuts:
    @pytest.mark.parametrize("name", FILES.values())
    def test_a_cut_from_the_repertoire_is_the_cut_from_the_whole_font(self, name: str) -> None:
        cmap = open_program(lean_bytes(name)).getBestCmap()
        glyphs = sorted({cmap[u] for u in REPERTOIRE if u in cmap})
        rnd = random.Random(name)
        for _ in range(12):
            wanted = rnd.sample(glyphs, rnd.randint(1, len(glyphs)))
            assert cut.__wrapped__(name, frozenset(wanted)).program == fpdf2_cut(
                lean_bytes(name), wanted
            )

    def test_the_same_glyphs_are_cut_once(self) -> None:
        data = contract_data(6)
        cut.cache_clear()
        first = render_pdf(data)
        made = cut.cache_info().misses
        assert render_pdf(data) == first
        assert cut.cache_info().misses == made
        assert cut.cache_info().hits == made


class TestOtherFonts:
    def test_a_document_with_another_font_is_left_to_fpdf2(self) -> None:
        def document(producer: type[OutputProducer]) -> bytes:
            pdf = FPDF()
            pdf.set_creation_date(contract_data(6).issued_at)
            add_fonts(pdf)
            pdf.add_page()
            pdf.set_font("DejaVu", "", 10)
            pdf.cell(text="Līgums")
            pdf.set_font("Helvetica", "", 10)
            pdf.cell(text="Contract")
            return bytes(pdf.output(output_producer_class=producer))

        assert document(Producer) == document(OutputProducer)
