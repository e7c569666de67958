"""The CJK font a PDF report embeds: Noto Sans CJK SC from the system (``fonts-noto-cjk``).

Noto CJK ships with PostScript (CFF) outlines, which reportlab cannot embed; the glyphs a report
uses are cut out of the font (fontTools' subsetter) and their outlines converted to TrueType
quadratics, so each report embeds a small font of its own characters. The output depends only
on the characters, so the same report renders to the same bytes.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from hashlib import sha256
from io import BytesIO

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

FAMILY = "Noto Sans CJK SC"
MAX_CONVERSION_ERROR = 1.0
"""In font units (1000 per em): far below what a printed page can show."""


class FontMissing(Exception):
    """The system has no Noto Sans CJK SC."""


@lru_cache(maxsize=1)
def _font_file() -> tuple[str, int]:
    """The font's file and its index in the collection, as fontconfig finds them."""
    try:
        found = subprocess.run(
            ["fc-match", "--format=%{file}\n%{index}\n%{family}", f"{FAMILY}:style=Regular"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError) as error:
        raise FontMissing(f"fontconfig cannot find {FAMILY}: {error}") from None
    if len(found) < 3 or FAMILY not in found[2]:
        raise FontMissing(f"{FAMILY} is not installed (Debian and Ubuntu: fonts-noto-cjk)")
    return found[0], int(found[1] or 0)


def characters_of(text: str) -> str:
    """The characters of ``text``, each once, in order: what a font for it must hold."""
    return "".join(sorted(set(text)))


def font_name(characters: str) -> str:
    """The name of the font of ``characters``: its PostScript name, and reportlab's."""
    return "NotoSansSC-" + sha256(characters.encode()).hexdigest()[:16]


@lru_cache(maxsize=64)
def truetype_subset(characters: str) -> bytes:
    """A TrueType font with the glyphs of ``characters`` (from ``characters_of``) from Noto Sans
    CJK SC, named by ``font_name``: reportlab takes fonts with one PostScript name for one."""
    path, index = _font_file()
    font = TTFont(path, fontNumber=index, lazy=True, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    _to_truetype_outlines(font)
    _one_unicode_cmap(font)
    for record in font["name"].names:
        if record.nameID == 6:
            record.string = font_name(characters)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


def _one_unicode_cmap(font: TTFont) -> None:
    """A single full-Unicode (3, 10) format 12 mapping: reportlab reads only the last Windows
    subtable of a font, and misreads the subsetter's format 4 one."""
    table = CmapSubtable.newSubtable(12)
    table.platformID, table.platEncID, table.language = 3, 10, 0
    table.cmap = font.getBestCmap()
    font["cmap"].tables = [table]


def _to_truetype_outlines(font: TTFont) -> None:
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    converted = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, MAX_CONVERSION_ERROR, reverse_direction=True))
        converted[name] = pen.glyph()
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = converted
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for counter in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, counter, 0)
    maxp.maxZones = 2
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"
