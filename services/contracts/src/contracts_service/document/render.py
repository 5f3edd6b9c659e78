# ruff: noqa: RUF001 - Latvian typography uses the en dash
"""Render a contract to PDF (fpdf2) with the vendored DejaVu fonts, deterministically.

The creation date is the document's own `issued_at` and fpdf2 derives the file id from the
content, so the same data always gives the same bytes and so the same SHA-256. Dates print in
Riga time; amounts with a decimal comma in Latvian and a point in English. A period ends
exclusively: an end at Riga midnight prints as the day before, inclusive; any other end as its
date and time. The wording, the formats and the filled clauses come from `text.py`, which
builds the agreement's text for reading in a page from the same pieces.
"""

from __future__ import annotations

import datetime as dt

from fpdf import FPDF

from contracts_service.document import template as t
from contracts_service.document import text
from contracts_service.document.embedding import Producer
from contracts_service.document.grid import plain_rows
from contracts_service.document.lines import wrap
from contracts_service.document.model import ContractData, LenderData, SignatureLine
from contracts_service.document.text import RIGA, date_lv
from contracts_service.document.typefaces import FAMILY, add_fonts
from shared_kit.fields import PERSONAL_CODE

FONT = FAMILY
GREY = (90, 90, 90)
DEVICE_COLUMNS = (38, 62)  # the device table's column widths, in parts of the page's width
DEVICE_LINE = 5.5  # its line height, mm
PRODUCER = "Datori bērnam – computer libraries"


def time_lv(moment: dt.datetime) -> str:
    """A moment in Riga time, to the second."""
    return moment.astimezone(RIGA).strftime("%d.%m.%Y. %H:%M:%S (%Z)")


def personal_code(code: str) -> str:
    """A personal code as printed, DDMMYY-NNNNN (the gateway hands out the 11 digits)."""
    match = PERSONAL_CODE.fullmatch(code.strip())
    return f"{match[1]}-{match[2]}" if match else code


def both(label: tuple[str, str]) -> str:
    """A label as the PDF prints it: Latvian / English."""
    return f"{label[0]} / {label[1]}"


def lender_lines(lender: LenderData) -> list[str]:
    """The lender's block: legal details, or the registry codes when they are missing."""
    kind, code = t.LENDER_KINDS[lender.kind]
    lines = [f"{lender.name or '—'} ({kind[0]}, {code[0]} {lender.code})"]
    for label, value in (
        (t.REGISTRATION_NUMBER, lender.registration_number),
        (t.ADDRESS, lender.address),
        (t.REPRESENTATIVE, lender.representative),
    ):
        if value:
            lines.append(f"{both(label)}: {value}")
    return lines


class _Pdf(FPDF):
    """A page with the contract number and page count in the footer."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)


class Renderer:
    """Writes one contract document."""

    def __init__(self, data: ContractData) -> None:
        self.data = data
        pdf = _Pdf(format="A4")
        pdf.set_creation_date(data.issued_at.astimezone(dt.UTC))
        add_fonts(pdf)
        pdf.set_title(f"{t.TITLE[0]} {data.number}")
        pdf.set_subject(f"{t.TITLE[1]} {data.number}, version {data.version}")
        pdf.set_creator(PRODUCER)
        pdf.set_producer(PRODUCER)
        pdf.set_lang("lv")
        pdf.set_margins(18, 16, 18)
        pdf.set_auto_page_break(True, margin=18)
        pdf.footer_text = f"{data.number} · v{data.version} · {data.template_version}"
        self.pdf = pdf

    def render(self) -> bytes:
        """The PDF bytes."""
        self.pdf.add_page()
        self._header()
        self._parties()
        self._device()
        self._clauses()
        if self.data.kind == "sealed":
            self._signature_page()
        else:
            self._signature_placeholders()
        return bytes(self.pdf.output(output_producer_class=Producer))

    # Building blocks ----------------------------------------------------------------------

    def _line(self, text: str, size: float = 9.5, bold: bool = False, grey: bool = False) -> None:
        self.pdf.set_font(FONT, "B" if bold else "", size)
        if grey:
            self.pdf.set_text_color(*GREY)
        lines = wrap(self.pdf, text)
        if lines is None:
            self.pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT", align="L")
        else:  # the lines multi_cell would make, each word measured once (see lines.py)
            for line in lines:
                self.pdf.cell(0, size * 0.5, line, new_x="LMARGIN", new_y="NEXT", align="L")
        self.pdf.set_text_color(0, 0, 0)

    def _gap(self, mm: float = 2.5) -> None:
        self.pdf.ln(mm)

    def _pair(self, lv: str, en: str, bold: bool = False) -> None:
        self._line(lv, bold=bold)
        self._line(en, size=8, grey=True)

    def _header(self) -> None:
        d = self.data
        self._line(f"{t.TITLE[0]} Nr. {d.number}", size=15, bold=True)
        self._line(f"{t.TITLE[1]} No. {d.number}", size=10, grey=True)
        self._gap()
        self._line(f"Versija / Version: {d.version} · Veidne / Template: {d.template_version}")
        self._line(f"Sagatavots / Issued: {date_lv(d.issued_at)} · Līguma ID: {d.contract_id}")
        self._line(f"{t.PREVAILS[0]} {t.PREVAILS[1]}", size=8, grey=True)
        if not d.lender.complete:
            self._gap()
            self._pair(t.DRAFT_NOTICE[0], t.DRAFT_NOTICE[1], bold=True)
        self._gap(4)

    def _parties(self) -> None:
        d = self.data
        self._line(both(t.LENDER), bold=True)
        for line in lender_lines(d.lender):
            self._line(line)
        self._gap()
        self._line(both(t.BORROWER), bold=True)
        self._line(f"{both(t.NAME)}: {d.borrower.full_name}")
        if d.borrower.personal_code is None:
            raise ValueError("A PDF prints the borrower's personal code")
        code = personal_code(d.borrower.personal_code.get_secret_value())
        self._line(f"{both(t.PERSONAL_CODE)}: {code}")
        self._gap()
        self._line(both(t.LEARNER), bold=True)
        self._line(f"{d.learner} · {both(t.INSTITUTION)}: {d.institution_number}")
        self._gap(4)

    def _device(self) -> None:
        lv, en = text.device_details(self.data, 0), text.device_details(self.data, 1)
        value = text.value_texts(self.data)
        rows = [
            # The value's two currencies side by side; every other value in Latvian.
            (f"{row_lv.label} / {row_en.label}",
             " / ".join(value) if row_lv.label == t.VALUE[0] else row_lv.value)
            for row_lv, row_en in zip(lv, en, strict=True)
        ]  # fmt: skip
        self._line(both(t.DEVICE), bold=True)
        self.pdf.set_font(FONT, "", 9)
        if not plain_rows(self.pdf, rows, DEVICE_COLUMNS, DEVICE_LINE):
            with self.pdf.table(
                col_widths=DEVICE_COLUMNS,
                line_height=DEVICE_LINE,
                first_row_as_headings=False,
                text_align="LEFT",
            ) as table:
                for cells in rows:
                    table.row(cells)
        self._gap(4)

    def _clauses(self) -> None:
        for number, heading, wording in text.clauses(self.data):
            self._line(f"{number}. {heading[0]} / {heading[1]}", bold=True)
            self._line(wording[0])
            self._line(wording[1], size=8, grey=True)
            self._gap()

    def _signature_placeholders(self) -> None:
        self._gap(2)
        self._line("Paraksti / Signatures", bold=True)
        self._pair(
            "Līgums tiek parakstīts elektroniski platformā; parakstu dati un elektroniskais "
            "zīmogs tiek pievienoti galīgajam dokumentam.",
            "The agreement is signed electronically on the platform; the signature records and "
            "the electronic seal are added to the final document.",
        )

    def _signature_page(self) -> None:
        self.pdf.add_page()
        self._line("Parakstu lapa / Signature page", size=12, bold=True)
        self._gap()
        for line in self.data.signatures:
            self._signature(line)
        self._pair(
            "Dokuments apzīmogots ar platformas elektronisko zīmogu (PAdES). Zīmoga pārbaudei "
            "izmantojiet jebkuru PDF parakstu pārbaudes rīku vai platformas pārbaudes pakalpojumu.",
            "The document is sealed with the platform's electronic seal (PAdES). Check the seal "
            "with any PDF signature validator or the platform's verification service.",
        )

    def _signature(self, line: SignatureLine) -> None:
        party = (
            "Patapinājuma ņēmējs / Borrower"
            if line.party == "borrower"
            else ("Patapinātājs / Lender")
        )
        self._line(party, bold=True)
        self._line(f"Parakstītājs / Signed by: {line.name} (ID {line.signer_id})")
        self._line(f"Laiks / Time: {time_lv(line.signed_at)}")
        self._line(f"Autentifikācija / Authentication: {line.method}")
        self._line(f"Parakstītā versija / Version signed: {line.document_version}")
        self._line(f"SHA-256: {line.document_sha256}", size=8)
        self._line(f"Piekrišanas teksts / Consent text: {line.consent_version}", size=8)
        self._gap(4)


def render_pdf(data: ContractData) -> bytes:
    """The PDF of a contract document."""
    return Renderer(data).render()
