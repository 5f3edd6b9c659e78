"""A bordered table of plain text, drawn as fpdf2's `table` draws it (left-aligned, each cell
in the middle of its row's height).

fpdf2 (2.8) lays every table cell out with `multi_cell` twice, once to measure the row and once
to write it, and `multi_cell` costs the square of the text's length (see lines.py): the device
table was a third of a contract's rendering, and a quarter of it still when one value wrapped
(a device of unknown value prints a sentence there). When each cell's text breaks by the simple
rule (`wrap`) and the whole table fits on the page, the rows are drawn here with the same
border commands, the same font selection before each cell and one `cell` per line, so the PDF
is the same, byte for byte (tests/test_lines.py compares it with fpdf2's own table). Anything
else is left to `table`.
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import TableCellStyle

from contracts_service.document.lines import wrap

ALL_BORDERS = TableCellStyle(left=True, bottom=True, right=True, top=True)

Cells = list[list[str]]  # a row: each cell's lines


def text_height(lines: Sequence[str], line_height: float) -> float:
    """A cell's text height as multi_cell sums it, line by line."""
    height = 0.0
    for _ in lines:
        height += line_height
    return height


def laid_out(
    pdf: FPDF, rows: Sequence[Sequence[str]], widths: Sequence[float], line_height: float
) -> list[Cells] | None:
    """Each row's cells as lines, when every text breaks by the simple rule in its column and
    every row fits on this page; None when not."""
    if pdf.x != pdf.l_margin or any(len(row) != len(widths) for row in rows):
        return None
    table: list[Cells] = []
    for row in rows:
        wrapped = [wrap(pdf, text, width) for text, width in zip(row, widths, strict=True)]
        if any(lines is None for lines in wrapped):
            return None
        table.append([lines for lines in wrapped if lines is not None])
    y = pdf.y
    for cells in table:  # the page-break test `table` makes before each row
        height = max(text_height(lines, line_height) for lines in cells)
        if y + height > pdf.page_break_trigger:
            return None
        y += height
    return table


def plain_rows(
    pdf: FPDF, rows: Sequence[Sequence[str]], col_widths: Sequence[float], line_height: float
) -> bool:
    """Draw the rows as `pdf.table(col_widths=…, line_height=…, text_align="LEFT")` would, in
    the current font, when every text is plain and the table fits on the page; False when not
    (nothing is drawn then)."""
    widths = [share / sum(col_widths) * pdf.epw for share in col_widths]
    table = laid_out(pdf, rows, widths, line_height)
    if table is None:
        return False
    lefts = [pdf.l_margin]
    for width in widths[:-1]:
        lefts.append(lefts[-1] + width)
    for cells in table:
        y = pdf.y
        heights = [text_height(lines, line_height) for lines in cells]
        row_height = max(heights)
        for lines, height, left, width in zip(cells, heights, lefts, widths, strict=True):
            ALL_BORDERS.draw_cell_border(pdf, left, y, left + width, y + row_height)
            pdf.current_font_is_set_on_page = False  # `table` selects the font for each cell
            pdf.set_xy(left, y)
            pdf.y += (row_height - height) / 2
            for line in lines[:-1]:
                pdf.cell(width, line_height, line, new_x="LEFT", new_y="NEXT")
            pdf.cell(width, line_height, lines[-1], new_x="RIGHT", new_y="TOP")
        pdf.set_y(y)
        pdf.ln(row_height)
    return True
