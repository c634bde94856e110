"""Build the shipped CJK font: a subset of Noto Sans CJK SC for the certificates.

Run it again after a template, spec or the demo data gains a character outside the
font (rendering raises `MissingGlyphs` naming it). It reads Debian's `fonts-noto-cjk`
collection and writes `HallSansSC-Regular.otf` beside this file:

    python -m renderers.pdf.fonts.build_subset [PATH-TO-NotoSansCJK-Regular.ttc]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TARGET = HERE / "HallSansSC-Regular.otf"
SOURCE_FAMILY = "Noto Sans CJK SC"
# The OFL lets a modified font keep the name, but "Noto" is a trademark of Google,
# so the subset gets a family name of its own.
FAMILY = "HallSans SC"
POSTSCRIPT_NAME = "HallSansSC-Regular"

# Amounts in capitals (大写) use these, some of which are outside GB2312 level 1.
CAPITAL_NUMERALS = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整圆"
# Names of many ethnic minorities join their parts with U+00B7 MIDDLE DOT, as
# resident ID cards print them. GB2312 decodes its middle dot to U+30FB instead.
NAME_PUNCTUATION = "\u00b7"
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
    """Return printable ASCII, GB2312 symbols and level-1 hanzi, and project text."""
    wanted = {chr(code) for code in range(0x20, 0x7F)}
    # Rows 1 to 9 are punctuation, full-width forms and symbols. Rows 16 to 55 are
    # the 3,755 level-1 hanzi.
    wanted |= gb2312_characters(1, 9) | gb2312_characters(16, 55)
    wanted |= set(CAPITAL_NUMERALS) | set(NAME_PUNCTUATION)
    for pattern in TEXT_SOURCES:
        wanted |= characters_of(sorted(REPO_ROOT.glob(pattern)))
    return {char for char in wanted if char.isprintable() or char == "\u3000"}


def source_font(path: Path) -> TTFont:
    collection = TTCollection(str(path))
    for font in collection.fonts:
        if font["name"].getDebugName(1) == SOURCE_FAMILY:
            return font
    raise SystemExit(f"{path} has no font named {SOURCE_FAMILY!r}")


def rename(font: TTFont) -> None:
    """Give the subset its own family name, keeping the copyright and licence."""
    table = font["name"]
    for record in list(table.names):
        if record.nameID in (1, 4, 16):
            table.setName(FAMILY, record.nameID, *_platform(record))
        elif record.nameID == 6:
            table.setName(POSTSCRIPT_NAME, 6, *_platform(record))
        elif record.nameID == 3:
            table.setName(f"{POSTSCRIPT_NAME};subset", 3, *_platform(record))
    font["CFF "].cff.fontNames = [POSTSCRIPT_NAME]


def _platform(record: object) -> tuple[int, int, int]:
    return record.platformID, record.platEncID, record.langID  # type: ignore[attr-defined]


def build(source: Path, target: Path) -> set[str]:
    font = source_font(source)
    cmap = font.getBestCmap()
    wanted = wanted_characters()
    missing = sorted(char for char in wanted if ord(char) not in cmap)
    if missing:
        print("not in the source font, left out:", "".join(missing), file=sys.stderr)
    options = subset.Options()
    # Certificates are set horizontally with the default features, so vertical
    # metrics, hinting and the glyph names are left out.
    options.layout_features = ["kern", "palt", "liga", "locl", "ccmp"]
    options.drop_tables += ["VORG", "vhea", "vmtx", "BASE"]
    options.hinting = False
    options.glyph_names = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 11, 13, 14, 16, 17]
    options.name_languages = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(char) for char in wanted if ord(char) in cmap])
    subsetter.subset(font)
    rename(font)
    # Keep the source font's timestamp, so the same inputs build the same file.
    font.recalcTimestamp = False
    font.save(str(target))
    return {char for char in wanted if ord(char) in cmap}


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    covered = build(source, TARGET)
    size = TARGET.stat().st_size
    print(f"wrote {TARGET.name}: {len(covered)} characters, {size // 1024} KB")


if __name__ == "__main__":
    main(sys.argv)
