"""The contract fonts written into a PDF: fpdf2's own font objects, each subset cut once.

fpdf2 (2.8) cuts every embedded font down to the glyphs the document used, with fontTools,
for every document: about 12 ms a font, most of what writing a contract's fonts costs. The cut
depends only on the font and the set of glyph names, so `Producer` (fpdf2's output, with the
contract fonts written here) keeps the last cuts made in this process: a contract's bold text
nearly always needs the same glyphs, its regular text differs by the letters of names and
numbers. A new cut is made from the font cut once to the REPERTOIRE contracts print (Latin
script, digits, punctuation, the euro sign) when that holds every glyph the document needs,
else (a name in another script) from the whole font; cutting from the repertoire gives the
same bytes as from the whole font, from a fifth of the glyphs. The rest is fpdf2's writing of a
TrueType font, object by object in its order, so the PDF is the same, byte for byte
(tests/test_embedding.py compares it with fpdf2's own output).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, TypeGuard, TypeVar

from fontTools import subset as ftsubset
from fpdf.fonts import TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFFont,
    PDFFontStream,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.syntax import Name, PDFArray, PDFContentStream, PDFObject

from contracts_service.document.typefaces import (
    FAMILY,
    FILES,
    UNUSED_TABLES,
    lean_bytes,
    open_program,
)

# What contracts print: Latin script (Latvian and the neighbours' names), digits, punctuation, €.
REPERTOIRE = (*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x2000, 0x2070), 0x20AC)
CUTS_KEPT = 256  # about 15 kB each (a font program and its glyph ids)
FONT_FILES = {f"{FAMILY.lower()}{style}": name for style, name in FILES.items()}
Obj = TypeVar("Obj", bound=PDFObject)
fpdf_logger = logging.getLogger("fpdf.output")  # where fpdf2 warns of a missing glyph
TO_UNICODE = (
    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n"
    "<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
    "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
    "{blocks}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
)


@dataclass(frozen=True)
class Cut:
    """A font cut to some glyphs: the file a PDF embeds, and each glyph's id in it."""

    program: bytes
    glyph_ids: dict[str, int]


def subset_options(**options: bool) -> ftsubset.Options:
    """The options fpdf2 cuts every embedded font with."""
    found = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, **options)
    found.drop_tables += UNUSED_TABLES
    return found


def _cut(data: bytes, options: ftsubset.Options, **wanted: Any) -> tuple[bytes, Any]:
    font = open_program(data)
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(**wanted)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue(), font


@cache
def repertoire_bytes(name: str) -> bytes:
    """The font cut to REPERTOIRE as fpdf2 cuts a subset, with its glyph names kept."""
    return _cut(lean_bytes(name), subset_options(glyph_names=True), unicodes=REPERTOIRE)[0]


@cache
def repertoire_glyphs(name: str) -> frozenset[str]:
    """The names of the glyphs the repertoire's cut holds."""
    return frozenset(open_program(repertoire_bytes(name)).getGlyphOrder())


@lru_cache(maxsize=CUTS_KEPT)
def cut(name: str, glyphs: frozenset[str]) -> Cut:
    """The font file `name` cut to `glyphs` as fpdf2 cuts it."""
    source = repertoire_bytes(name) if glyphs <= repertoire_glyphs(name) else lean_bytes(name)
    program, font = _cut(source, subset_options(), glyphs=glyphs)
    return Cut(program, {glyph: font.getGlyphID(glyph) for glyph in glyphs})


def to_unicode(font: TTFFont) -> bytes:
    """The ToUnicode map of a font's codes, as fpdf2 writes it (searching, copying text)."""
    entries = [
        f"<{code:04X}> <{''.join(utf16_hex(u) for u in glyph.unicode)}>\n"
        for glyph, code in font.subset.items()
        if glyph is not None and isinstance(glyph.unicode, tuple) and glyph.unicode
    ]
    return TO_UNICODE.format(blocks=_build_cmap_blocks(entries, "bfchar")).encode("latin-1")


def utf16_hex(unicode: int) -> str:
    """A character as UTF-16 code units in hex (a surrogate pair above U+FFFF)."""
    if unicode > 0xFFFF:
        high, low = 0xD800 | (unicode - 0x10000) >> 10, 0xDC00 | (unicode & 0x3FF)
        return f"{high:04X}{low:04X}"
    return f"{unicode:04X}"


def cid_to_gid(font: TTFFont, found: Cut) -> bytes:
    """The map from the document's codes to the glyphs of the cut, two bytes a code."""
    table = bytearray(256 * 256 * 2)
    for glyph, code in font.subset.items():
        if glyph is not None:
            table[code * 2 : code * 2 + 2] = found.glyph_ids[glyph.glyph_name].to_bytes(2)
    return bytes(table)


def warn_missing(font: TTFFont, name: str) -> None:
    """fpdf2's warning of characters the font has no glyph for."""
    if font.missing_glyphs:
        shown = ", ".join(
            f"'{chr(c)}' ({chr(c).encode('unicode-escape').decode()})"
            for c in font.missing_glyphs[:10]
        )
        if len(font.missing_glyphs) > 10:
            shown += f", ... (and {len(font.missing_glyphs) - 10} others)"
        fpdf_logger.warning("Font %s is missing the following glyphs: %s", name, shown)


def ours(font: object) -> TypeGuard[TTFFont]:
    """Whether a document font is one of the contract fonts, as `typefaces` gives them."""
    return isinstance(font, TTFFont) and font.fontkey in FONT_FILES and font.color_font is None


class Producer(OutputProducer):
    """fpdf2's output, with the contract fonts written from cuts made once."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
        fonts = sorted(self.fpdf.fonts.values(), key=lambda font: font.i)
        contract_fonts = [font for font in fonts if ours(font)]
        if self.fpdf._compliance or len(contract_fonts) < len(fonts):
            return super()._add_fonts(*args, **kwargs)  # PDF/A or other fonts: fpdf2's way
        return {font.i: self._add_font(font) for font in contract_fonts}

    def _add(self, obj: Obj) -> Obj:
        self._add_pdf_obj(obj, "fonts")
        return obj

    def _add_font(self, font: TTFFont) -> PDFObject:
        """fpdf2's objects of an embedded TrueType font, in its order, from the cut."""
        name = f"MPDFAA+{font.name}"
        warn_missing(font, name)
        found = cut(FONT_FILES[font.fontkey], frozenset(font.subset.get_all_glyph_names()))
        composite = self._add(PDFFont("Type0", name, encoding="Identity-H"))
        widths = _tt_font_widths(font)
        cid_font = self._add(PDFFont("CIDFontType2", name, d_w=font.desc.missing_width, w=widths))
        composite.descendant_fonts = PDFArray([cid_font])
        composite.to_unicode = self._add(PDFContentStream(to_unicode(font)))
        cid_font.c_i_d_system_info = self._add(CIDSystemInfo())
        font.desc.font_name = Name(name)
        cid_font.font_descriptor = self._add(font.desc)
        cid_map = PDFContentStream(cid_to_gid(font, found), compress=True)
        cid_font.c_i_d_to_g_i_d_map = self._add(cid_map)
        font.desc.font_file2 = self._add(PDFFontStream(found.program))  # type: ignore[attr-defined]
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        font.close()
        return composite
