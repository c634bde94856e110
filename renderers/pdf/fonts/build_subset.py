"""Build the shipped CJK fonts: two subsets of Noto Sans CJK SC for the certificates.

`HallSansSC-Regular.ttf` has what nearly every certificate prints: ASCII, the symbols
and all 6,763 hanzi of GB2312, and the project's own text. `HallSansSCExt-Regular.ttf`
has the remaining hanzi of the CJK Unified Ideographs and Extension A blocks, which
names use now and then (such as 祎, 喆, 堃, 玥 and 彧). The certificates name the
second after the first, so a PDF embeds glyphs of the second only when its text
needs them, and common certificates stay small.

Both keep only the glyphs their characters map to, without OpenType layout tables, and
have TrueType outlines converted from the source's CFF ones. WeasyPrint subsets an
embedded font again for every PDF: without layout tables and CFF charstrings that
costs fontTools a fraction of the time, and the PDFs come out smaller.

Run it again after a template, spec or the demo data gains a character outside the
fonts (rendering raises `MissingGlyphs` naming it). It reads Debian's
`fonts-noto-cjk` collection and writes both files beside this one:

    python -m renderers.pdf.fonts.build_subset [PATH-TO-NotoSansCJK-Regular.ttc]
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FAMILY = "Noto Sans CJK SC"
# The OFL lets a modified font keep the name, but "Noto" is a trademark of Google,
# so each subset gets a family name of its own.
FAMILY = "HallSans SC"
POSTSCRIPT_NAME = "HallSansSC-Regular"
TARGET = HERE / f"{POSTSCRIPT_NAME}.ttf"
EXTENSION_FAMILY = "HallSans SC Ext"
EXTENSION_POSTSCRIPT_NAME = "HallSansSCExt-Regular"
EXTENSION_TARGET = HERE / f"{EXTENSION_POSTSCRIPT_NAME}.ttf"
# Largest distance, in font units (1,000 to the em), between a CFF cubic curve and the
# quadratic curves that replace it: a thousandth of the type size.
CURVE_TOLERANCE = 1.0
# CJK Unified Ideographs Extension A, then the CJK Unified Ideographs block.
EXTENSION_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))

# Amounts in capitals (大写) use these, some of which are outside GB2312 level 1.
CAPITAL_NUMERALS = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整圆"
# Names of many ethnic minorities join their parts with U+00B7 MIDDLE DOT, as
# resident ID cards print them. GB2312 decodes its middle dot to U+30FB instead.
NAME_PUNCTUATION = "\u00b7"
# Symbols that names, unit names and addresses typed in other input methods carry
# beyond GB2312: Latin-1 (no-break space, é), general punctuation (— and •), CJK
# symbols (〇 as in 一〇八号) and the full-width and half-width forms (･).
SYMBOL_RANGES = ((0x00A0, 0x00FF), (0x2010, 0x205E), (0x3000, 0x303F), (0xFF01, 0xFFEE))
# Files whose non-ASCII characters can reach a certificate: its templates, the specs,
# and the code tables and demo data of the embedded core.
TEXT_SOURCES = (
    "renderers/pdf/templates/*.html",
    "renderers/pdf/templates/*.css",
    "specs/*/*.yaml",
    "connectors/embedded/*.py",
    "engine/certificates.py",
)


def gb2312_characters(first_row: int, last_row: int) -> set[str]:
    """Decode every assigned code point of GB2312 rows `first_row` to `last_row`."""
    characters = set()
    for row in range(first_row, last_row + 1):
        for cell in range(1, 95):
            try:
                characters.add(bytes((0xA0 + row, 0xA0 + cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return characters


def characters_of(paths: Iterable[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        found |= {char for char in path.read_text(encoding="utf-8") if ord(char) > 127}
    return found


def wanted_characters() -> set[str]:
    """Return printable ASCII, GB2312's symbols and hanzi, and the project's text."""
    wanted = {chr(code) for code in range(0x20, 0x7F)}
    # Rows 1 to 9 are punctuation, full-width forms and symbols. Rows 16 to 55 are
    # the 3,755 level-1 hanzi and rows 56 to 87 the 3,008 level-2 hanzi.
    wanted |= gb2312_characters(1, 9) | gb2312_characters(16, 87)
    wanted |= set(CAPITAL_NUMERALS) | set(NAME_PUNCTUATION)
    for pattern in TEXT_SOURCES:
        wanted |= characters_of(sorted(REPO_ROOT.glob(pattern)))
    return {char for char in wanted if prints(char)}


def prints(char: str) -> bool:
    """Tell whether a character takes a glyph: spaces such as U+00A0 and U+3000 do,
    control and format characters do not."""
    return char.isprintable() or unicodedata.category(char) == "Zs"


def symbol_characters() -> set[str]:
    """Return the characters of SYMBOL_RANGES that take a glyph."""
    symbols = {
        chr(code) for first, last in SYMBOL_RANGES for code in range(first, last + 1)
    }
    return {char for char in symbols if prints(char)}


def extension_characters() -> set[str]:
    """Return the hanzi of the extension font's blocks that the main font lacks."""
    hanzi = {
        chr(code) for first, last in EXTENSION_RANGES for code in range(first, last + 1)
    }
    return hanzi - wanted_characters()


def source_font(path: Path) -> TTFont:
    collection = TTCollection(str(path))
    for font in collection.fonts:
        if font["name"].getDebugName(1) == SOURCE_FAMILY:
            return font
    raise SystemExit(f"{path} has no font named {SOURCE_FAMILY!r}")


def rename(font: TTFont, family: str, postscript_name: str) -> None:
    """Give the subset its own family name, keeping the copyright and licence."""
    table = font["name"]
    for record in list(table.names):
        if record.nameID in (1, 4, 16):
            table.setName(family, record.nameID, *_platform(record))
        elif record.nameID == 6:
            table.setName(postscript_name, 6, *_platform(record))
        elif record.nameID == 3:
            table.setName(f"{postscript_name};subset", 3, *_platform(record))
    font["CFF "].cff.fontNames = [postscript_name]


def to_truetype(font: TTFont) -> None:
    """Replace the font's CFF outlines with TrueType (quadratic) ones, unhinted."""
    order = font.getGlyphOrder()
    outlines = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        # CFF draws outer contours counter-clockwise and TrueType clockwise.
        outlines[name].draw(Cu2QuPen(pen, CURVE_TOLERANCE, reverse_direction=True))
        glyphs[name] = pen.glyph()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]

    # Version 1.0 of maxp describes TrueType outlines. Saving the font fills in the
    # point and contour counts, and these programs and zones stay empty unhinted.
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxComponentDepth",
    ):
        setattr(maxp, field, 0)
    # Glyph names in the font spare fontTools deriving them from the cmap table on
    # every load.
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def _platform(record: object) -> tuple[int, int, int]:
    return record.platformID, record.platEncID, record.langID  # type: ignore[attr-defined]


def build(
    source: Path,
    target: Path,
    wanted: set[str],
    family: str = FAMILY,
    postscript_name: str = POSTSCRIPT_NAME,
    optional: frozenset[str] | set[str] = frozenset(),
) -> set[str]:
    """Write the subset of `wanted` characters to `target`; return those it covers.

    The `optional` characters join them where the source font has them.
    """
    font = source_font(source)
    cmap = font.getBestCmap()
    missing = sorted(char for char in wanted if ord(char) not in cmap)
    if missing and family == FAMILY:
        print("not in the source font, left out:", "".join(missing), file=sys.stderr)
    options = subset.Options()
    # Certificates are set horizontally in one language, so vertical metrics, the
    # layout tables with their alternate glyphs and hinting are left out.
    options.layout_features = []
    options.drop_tables += ["VORG", "vhea", "vmtx", "BASE", "GSUB", "GPOS", "GDEF"]
    options.hinting = False
    options.glyph_names = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 11, 13, 14, 16, 17]
    options.name_languages = ["*"]
    subsetter = subset.Subsetter(options)
    covered = {char for char in wanted | optional if ord(char) in cmap}
    subsetter.populate(unicodes=[ord(char) for char in covered])
    subsetter.subset(font)
    rename(font, family, postscript_name)
    to_truetype(font)
    # Keep the source font's timestamp, so the same inputs build the same file.
    font.recalcTimestamp = False
    font.save(str(target))
    return covered


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    builds = (
        (TARGET, wanted_characters(), FAMILY, POSTSCRIPT_NAME, symbol_characters()),
        (
            EXTENSION_TARGET,
            extension_characters(),
            EXTENSION_FAMILY,
            EXTENSION_POSTSCRIPT_NAME,
            set(),
        ),
    )
    for target, wanted, family, postscript_name, optional in builds:
        covered = build(source, target, wanted, family, postscript_name, optional)
        size = target.stat().st_size
        print(f"wrote {target.name}: {len(covered)} characters, {size // 1024} KB")


if __name__ == "__main__":
    main(sys.argv)
