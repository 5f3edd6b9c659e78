"""Line breaking over word widths measured once: the lines fpdf2's `multi_cell` would make.

fpdf2 (2.8) re-measures the whole line for every character `multi_cell` adds, so a line costs
its length squared. This breaks a paragraph by the same rule (greedy, at the last space before
the first character that overflows; the space is dropped) with the same arithmetic (integer
glyph widths of the current font, the same tolerance), so the lines are the same and fpdf2 only
writes them, one `cell` each. Text outside that rule (line feeds, special or repeated spaces,
soft hyphens, a word wider than the line, text shaping or stretching) is left to `multi_cell`.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.fonts import TTFFont
from fpdf.line_break import BREAKING_SPACE_SYMBOLS, FORM_FEED, NBSP, NEWLINE, SOFT_HYPHEN
from fpdf.util import FloatTolerance

# Characters that make multi_cell do more than break at single spaces.
SPECIAL = frozenset((*BREAKING_SPACE_SYMBOLS, NBSP, NEWLINE, FORM_FEED, SOFT_HYPHEN, "\r")) - {" "}


def plain(pdf: FPDF, text: str) -> bool:
    """Whether `text` breaks by the simple rule this module follows, in the current settings."""
    return (
        bool(text.strip(" "))
        and text == text.strip(" ")
        and "  " not in text
        and SPECIAL.isdisjoint(text)
        and not pdf.text_shaping
        and pdf.font_stretching == 100
        and pdf.char_spacing == 0
    )


def overflows(pdf: FPDF, before: float, last: float, room: float) -> bool:
    """multi_cell's test as it adds a character: the line's width before it plus its own
    (glyph units), in the same float operations, past the room with fpdf2's tolerance."""
    size, k = pdf.font_size_pt, pdf.k
    return FloatTolerance.greater_than(before * size * 0.001 / k + last * size * 0.001 / k, room)


def wrap(pdf: FPDF, text: str, width: float = 0) -> list[str] | None:
    """The lines `multi_cell(width, …, text)` makes in the current font, or None when it is
    not plain text (see `plain`) or a word alone overflows a line."""
    font = pdf.current_font
    if not isinstance(font, TTFFont) or not plain(pdf, text):
        return None
    cw = font.cw
    room = (width or pdf.w - pdf.r_margin - pdf.x) - 2 * pdf.c_margin
    space = cw[ord(" ")]
    lines: list[str] = []
    line: list[str] = []
    used = 0.0  # glyph units of the line so far, spaces between its words included
    for word in text.split(" "):
        units = sum(cw[ord(c)] for c in word)
        start = used + space if line else 0
        # multi_cell's test at the word's last character: the line before it, plus it.
        last = cw[ord(word[-1])]
        if overflows(pdf, start + units - last, last, room):
            if not line:
                return None  # a word wider than the line: multi_cell breaks inside it
            lines.append(" ".join(line))
            line, start = [], 0
            if overflows(pdf, units - last, last, room):
                return None
        line.append(word)
        used = start + units
    lines.append(" ".join(line))
    return lines
