"""Fonts parsed once per process: each page looks as with fpdf2's own add_font, glyph for glyph,
and no document sees another's glyphs."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fontTools import ttLib
from fpdf import FPDF
from fpdf.output import OutputProducer
from pypdf import PdfReader

from contracts_service.document import render
from contracts_service.document.model import ContractData
from contracts_service.document.render import render_pdf
from contracts_service.document.typefaces import FAMILY, FILES, font_path

from .samples import contract_data


def fpdf2_add_font(pdf: FPDF) -> None:
    """The fonts as each document used to load them."""
    for style, name in FILES.items():
        pdf.add_font(FAMILY, style, str(font_path(name)))


def pages(pdf: bytes) -> list[bytes]:
    """Each page's content stream: what is drawn where, in which font and glyph codes."""
    return [page.get_contents().get_data() for page in PdfReader(io.BytesIO(pdf)).pages]  # type: ignore[union-attr]


def glyphs(pdf: bytes) -> dict[str, Any]:
    """Each embedded font's glyphs: outline points, contours and advance width, by name."""
    found: dict[str, Any] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for key, ref in page["/Resources"]["/Font"].items():  # type: ignore[index]
            font = ref.get_object()
            program = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]["/FontFile2"]
            tt = ttLib.TTFont(io.BytesIO(program.get_data()))
            glyf, hmtx = tt["glyf"], tt["hmtx"]
            found[key] = {
                name: (
                    list(glyf[name].getCoordinates(glyf)[0]),
                    list(glyf[name].getCoordinates(glyf)[1]),
                    hmtx[name][0],
                )
                for name in tt.getGlyphOrder()
            } | {"to_unicode": font["/ToUnicode"].get_object().get_data()}
    return found


def variants() -> list[ContractData]:
    """A sealed final, a draft, and a borrower whose name needs glyphs no other one has."""
    sealed = contract_data(11)
    draft = sealed.model_copy(update={"kind": "draft", "signatures": []})
    borrower = sealed.borrower.model_copy(update={"given_name": "Žanna", "family_name": "Ølgaard"})
    return [sealed, draft, draft.model_copy(update={"borrower": borrower})]


class TestSharedFonts:
    @pytest.mark.parametrize("n", range(3))
    def test_a_page_looks_as_with_fpdf2s_own_fonts(
        self, monkeypatch: pytest.MonkeyPatch, n: int
    ) -> None:
        data = variants()[n]
        new = render_pdf(data)
        with monkeypatch.context() as m:
            m.setattr(render, "add_fonts", fpdf2_add_font)
            m.setattr(render, "Producer", OutputProducer)  # each subset cut afresh, as fpdf2 does
            old = render_pdf(data)
        assert pages(new) == pages(old)
        assert glyphs(new) == glyphs(old)

    def test_documents_do_not_share_what_they_change(self) -> None:
        data = variants()
        alone = [render_pdf(d) for d in data]
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(render_pdf, data * 4))
        assert together == alone * 4
        assert render_pdf(data[1]) == alone[1]  # after a document with other glyphs
