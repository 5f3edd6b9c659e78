"""The vendored DejaVu fonts, parsed once per process and given to each document as a copy.

fpdf2's `add_font` parses the whole TrueType file (character map, metrics, names) for every
document, and `output` subsets the fontTools object in place, so one parsed font cannot serve
two documents as it is. What a document changes is its own: the glyphs it used (`subset`,
`missing_glyphs`), the biggest size, the widths looked up, the font descriptor (output numbers
it and hangs the subset on it) and the fontTools object the subsetter prunes. So each document
gets a shallow copy of a font parsed once, with those parts new, and a fontTools object opened
lazily from bytes prepared once: the file without the tables fpdf2 drops from every subset
anyway (layout, colour and bitmap tables), with the bounding boxes as the font ships them
rather than recomputed for each subset. The glyphs, their outlines and widths and the
character map are the font's own, so a page looks exactly as before (tests/test_typefaces.py).
`embedding` writes the fonts into the PDF, each subset cut once per set of glyphs.
"""

from __future__ import annotations

import copy
import io
import threading
from functools import cache
from importlib import resources
from pathlib import Path

from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

FAMILY = "DejaVu"
FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
# Tables fpdf2 (2.8) drops from every embedded subset: the subset is the same without them.
UNUSED_TABLES = (
    "FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT", "CBLC", "EBDT",
    "EBLC", "EBSC", "SVG ", "CPAL", "COLR",
)  # fmt: skip
_lock = threading.Lock()  # documents may render in worker threads (press.py)


@cache
def font_path(name: str) -> Path:
    """Path of a vendored font file (installed packages keep it next to this module)."""
    with resources.as_file(resources.files("contracts_service.document") / "fonts" / name) as p:
        return Path(p)


@cache
def lean_bytes(name: str) -> bytes:
    """The font file without the tables no subset keeps, its bounding boxes as shipped."""
    font = ttLib.TTFont(font_path(name), recalcTimestamp=False, recalcBBoxes=False)
    for tag in UNUSED_TABLES:
        if tag in font:
            del font[tag]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def open_program(data: bytes) -> ttLib.TTFont:
    """A font file's fontTools object, its tables read when first used."""
    return ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True)


@cache
def _parsed(style: str) -> TTFFont:
    """The font of a style as fpdf2 parses it, once; never handed to a document itself."""
    pdf = FPDF()
    pdf.add_font(FAMILY, style, str(font_path(FILES[style])))
    font = pdf.fonts[f"{FAMILY.lower()}{style}"]
    assert isinstance(font, TTFFont) and font.color_font is None
    return font


def _copy(style: str, index: int) -> TTFFont:
    with _lock:
        parsed = _parsed(style)
    font = copy.copy(parsed)
    font.i = index
    font.ttfont = open_program(lean_bytes(FILES[style]))
    font.cw = parsed.cw.copy()  # a defaultdict: looking up a missing character adds it
    font.glyph_ids = parsed.glyph_ids.copy()  # fpdf2's own copies do not share it either
    font.desc = copy.copy(parsed.desc)  # output numbers it and hangs the subset's file on it
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.subset = SubsetMap(font)
    return font


def add_fonts(pdf: FPDF) -> None:
    """Give the document its regular and bold DejaVu, as `add_font` would."""
    for style in FILES:
        pdf.fonts[f"{FAMILY.lower()}{style}"] = _copy(style, len(pdf.fonts) + 1)
