"""Line breaking over measured words: the lines multi_cell makes, so the PDF is the same."""

from __future__ import annotations

import random

import pytest
from fpdf import FPDF

from contracts_service.document import grid, render
from contracts_service.document.lines import wrap
from contracts_service.document.model import ContractData
from contracts_service.document.render import FONT, render_pdf
from contracts_service.document.template import CLAUSES
from contracts_service.document.typefaces import font_path

from .samples import contract_data

WORDS = "Patapinājuma ņēmējs Ierīci lieto tikai mācībām – 01.09.2026. EUR 329,00 (ieskaitot) Ļ —"


def page(size: float, bold: bool = False) -> FPDF:
    """A page laid out as the contract's, in its font."""
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "B" if bold else "", str(font_path("DejaVuSans.ttf")))
    pdf.set_margins(18, 16, 18)
    pdf.add_page()
    pdf.set_font(FONT, "B" if bold else "", size)
    return pdf


def multi_cell_lines(pdf: FPDF, text: str) -> list[str]:
    """The lines fpdf2's own multi_cell breaks the text into."""
    return list(pdf.multi_cell(0, 5, text, align="L", dry_run=True, output="LINES"))


def texts() -> list[str]:
    """The template's wording and random sentences of many lengths."""
    rnd = random.Random(20)
    words = WORDS.split()
    found = [c.text[i] for c in CLAUSES for i in (0, 1)]
    found += [" ".join(rnd.choices(words, k=rnd.randint(1, 120))) for _ in range(200)]
    found += ["SHA-256: " + "0123456789abcdef" * 4, "x" * 60 + " " + "y" * 90]
    return found


class TestWrap:
    @pytest.mark.parametrize(("size", "bold"), [(9.5, False), (8, False), (9.5, True), (15, True)])
    def test_the_lines_are_multi_cells(self, size: float, bold: bool) -> None:
        pdf = page(size, bold)
        wrapped = 0
        for text in texts():
            lines = wrap(pdf, text)  # None: a word too wide, left to multi_cell
            if lines is not None:
                assert lines == multi_cell_lines(pdf, text), text
                wrapped += 1
        assert wrapped >= 200

    @pytest.mark.parametrize(
        "text",
        [
            "",
            " leading",
            "trailing ",
            "two  spaces",
            "line\nfeed",
            "soft\u00adhyphen",
            "no\u00a0break",
            "w" * 200,  # wider than the line: multi_cell breaks inside the word
        ],
    )
    def test_what_it_does_not_break_is_left_to_multi_cell(self, text: str) -> None:
        assert wrap(page(9.5), text) is None


def without(monkeypatch: pytest.MonkeyPatch, shortcut: str, data: ContractData) -> bytes:
    """The PDF with one of the renderer's shortcuts answering that it does not apply: `wrap`
    (the lines left to multi_cell) or `plain_rows` (the device table left to fpdf2's)."""
    with monkeypatch.context() as m:
        m.setattr(render, shortcut, lambda *_: None if shortcut == "wrap" else False)
        return render_pdf(data)


class TestSameDocument:
    @pytest.mark.parametrize("kind", ["draft", "sealed"])
    def test_the_pdf_is_byte_for_byte_the_multi_cell_one(
        self, monkeypatch: pytest.MonkeyPatch, kind: str
    ) -> None:
        data = contract_data(9)
        long_name = "Ogres novada pašvaldības Ķeguma Valsts ģimnāzija un mūzikas skola " * 2
        data = data.model_copy(
            update={
                "kind": kind,
                "signatures": data.signatures if kind == "sealed" else [],
                "lender": data.lender.model_copy(update={"name": long_name.strip()}),
            }
        )
        assert render_pdf(data) == without(monkeypatch, "wrap", data)


class TestDeviceTable:
    """The device table's one-line rows, drawn without fpdf2's table layout."""

    @staticmethod
    def drawn_here(monkeypatch: pytest.MonkeyPatch, data: ContractData) -> tuple[bytes, bool]:
        """The PDF, and whether the rows were drawn here rather than by fpdf2's table."""
        answers: list[bool] = []

        def spy(*args: object) -> bool:
            answers.append(grid.plain_rows(*args))  # type: ignore[arg-type]
            return answers[-1]

        with monkeypatch.context() as m:
            m.setattr(render, "plain_rows", spy)
            pdf = render_pdf(data)
        assert len(answers) == 1
        return pdf, answers[0]

    @pytest.mark.parametrize("kind", ["draft", "sealed"])
    def test_the_pdf_is_byte_for_byte_fpdf2s_table(
        self, monkeypatch: pytest.MonkeyPatch, kind: str
    ) -> None:
        data = contract_data(11)
        data = data.model_copy(
            update={"kind": kind, "signatures": data.signatures if kind == "sealed" else []}
        )
        pdf, here = self.drawn_here(monkeypatch, data)
        assert here
        assert pdf == without(monkeypatch, "plain_rows", data)

    @pytest.mark.parametrize(
        "device",
        [
            {"value": None},  # a sentence in the value's row, on two lines
            {"model": ("Acer Chromebook Spin 311 ar skārienjutīgu ekrānu un irbuli " * 3).strip()},
        ],
    )
    def test_rows_of_several_lines_are_byte_for_byte_fpdf2s_table(
        self, monkeypatch: pytest.MonkeyPatch, device: dict[str, object]
    ) -> None:
        data = contract_data(12)
        data = data.model_copy(update={"device": data.device.model_copy(update=device)})
        pdf, here = self.drawn_here(monkeypatch, data)
        assert here
        assert pdf == without(monkeypatch, "plain_rows", data)

    def test_text_it_cannot_break_is_left_to_fpdf2s_table(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = contract_data(12)
        model = (
            "Acer-Chromebook-Spin-311-ar-skārienjutīgu-ekrānu-un-irbuli-" * 2
        )  # one word, too wide
        data = data.model_copy(update={"device": data.device.model_copy(update={"model": model})})
        pdf, here = self.drawn_here(monkeypatch, data)
        assert not here
        assert pdf == without(monkeypatch, "plain_rows", data)

    def test_a_short_cell_sits_in_the_middle_of_a_tall_row(self) -> None:
        pdf = page(9)
        top, text = pdf.y, ("viens divi trīs " * 12).strip()
        lines = wrap(pdf, text, 0.62 * pdf.epw)
        assert lines is not None and len(lines) > 2
        assert grid.plain_rows(pdf, [("Vērtība", text)], (38, 62), 5.5)
        assert pdf.y == top + len(lines) * 5.5
        label = next(c for c in pdf.pages[pdf.page].contents.split(b"BT") if b"Tj" in c)
        baseline = float(label.split(b" Td")[0].split()[-1])  # PDF y, from the page's foot
        middle = (pdf.h - top - len(lines) * 5.5 / 2) * pdf.k  # the row's middle, in points
        assert abs(baseline - middle) < 5.5 * pdf.k / 2
