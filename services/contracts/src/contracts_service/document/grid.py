"""A bordered table whose every cell fits on one line, drawn as fpdf2's `table` draws it.

fpdf2 (2.8) lays every table cell out with `multi_cell` twice, once to measure the row and once
to write it, and `multi_cell` costs the square of the text's length (see lines.py): the device
table was a third of a contract's rendering. When each cell's text is one line (`wrap`) and the
whole table fits on the page, the rows are drawn here with the same border commands, the same
font selection before each cell and one `cell` per text, so the PDF is the same, byte for byte
(tests/test_lines.py compares it with fpdf2's own table). Anything else is left to `table`.
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import TableCellStyle

from contracts_service.document.lines import wrap

ALL_BORDERS = TableCellStyle(left=True, bottom=True, right=True, top=True)


def fits(pdf: FPDF, rows: Sequence[Sequence[str]], widths: Sequence[float], height: float) -> bool:
    """Whether every cell is one line in its column and every row fits on this page."""
    if pdf.x != pdf.l_margin or any(len(row) != len(widths) for row in rows):
        return False
    for row in rows:
        if any(wrap(pdf, text, width) != [text] for text, width in zip(row, widths, strict=True)):
            return False
    y = pdf.y
    for _ in rows:  # the page-break test `table` makes before each row
        if y + height > pdf.page_break_trigger:
            return False
        y += height
    return True


def one_line_rows(
    pdf: FPDF, rows: Sequence[Sequence[str]], col_widths: Sequence[float], height: float
) -> bool:
    """Draw the rows as `pdf.table(col_widths=…, line_height=height)` would, in the current
    font, when every cell is one line and the table fits on the page; False when not (nothing
    is drawn then)."""
    widths = [share / sum(col_widths) * pdf.epw for share in col_widths]
    if not fits(pdf, rows, widths, height):
        return False
    lefts = [pdf.l_margin]
    for width in widths[:-1]:
        lefts.append(lefts[-1] + width)
    for row in rows:
        y = pdf.y
        for text, left, width in zip(row, lefts, widths, strict=True):
            ALL_BORDERS.draw_cell_border(pdf, left, y, left + width, y + height)
            pdf.current_font_is_set_on_page = False  # `table` selects the font for each cell
            pdf.set_xy(left, y)
            pdf.cell(width, height, text, new_x="RIGHT", new_y="TOP")
        pdf.set_y(y)
        pdf.ln(height)
    return True
