"""The PDF renderer: font coverage, embedded fonts, extracted text, long statements."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import weasyprint.pdf.fonts
from fontTools.ttLib import TTFont

from renderers.pdf.fonts.build_subset import gb2312_characters, wanted_characters
from renderers.pdf.renderer import (
    FONTS,
    MissingGlyphs,
    PdfRenderer,
    font_characters,
    harfbuzz_subsetting,
    missing_characters,
)
from tests.certificates.conftest import page_count, pdf_words, squeeze

CODE = "7KQ2-M9XD-4HPT-ZW3R"
ROW_ACCOUNT = re.compile(r"0299\d{8}")
# PDF coordinates are in points of 1/72 inch.
POINTS_PER_MM = 72 / 25.4


def context(data: dict) -> dict:
    return {
        "title": "单位住房公积金结息对账单",
        "centre_name": "韶关市住房公积金管理中心",
        "issued_on": dt.date(2026, 7, 1),
        "code": CODE,
        "verify_url": f"http://127.0.0.1:5000/verify/{CODE}",
        "data": data,
    }


def statement(rows: int, names: tuple[str, ...] = ("欧阳晓玲", "张三丰")) -> dict:
    lines = [
        {
            "person_account": f"0299{index:08d}",
            "name": names[index % len(names)],
            "id_number_masked": "440203********021X",
            "balance_before": Decimal("10000.00") + index,
            "interest": Decimal("150.00"),
            "balance_after": Decimal("10150.00") + index,
        }
        for index in range(1, rows + 1)
    ]
    return {
        "name": "韶关市丹霞智造科技有限公司",
        "unit_account": "0201000001",
        "year": 2026,
        "year_start": dt.date(2025, 7, 1),
        "year_end": dt.date(2026, 6, 30),
        "rate": Decimal("1.5"),
        "employee_count": rows,
        "total_before": sum((line["balance_before"] for line in lines), Decimal(0)),
        "total_interest": sum((line["interest"] for line in lines), Decimal(0)),
        "total_after": sum((line["balance_after"] for line in lines), Decimal(0)),
        "rows": lines,
    }


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    return PdfRenderer()


def test_font_covers_gb2312_hanzi_and_capitals() -> None:
    covered = font_characters()
    assert gb2312_characters(16, 87) <= covered
    assert set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整") <= covered
    assert set("，。：；（）、《》“”") <= covered
    assert {chr(code) for code in range(0x20, 0x7F)} <= covered


def test_font_covers_project_text() -> None:
    # Fails when a template, spec or the demo data gains a character that the
    # committed subset lacks: rebuild it with renderers.pdf.fonts.build_subset.
    missing = "".join(sorted(wanted_characters() - font_characters()))
    assert missing == ""


def test_font_covers_names_outside_gb2312_level_one() -> None:
    covered = font_characters()
    # Given names from GB2312 level 2, then from outside GB2312, then Extension A.
    level_two = "王梓涵 李昊 张昕 刘琪 陈婧 赵璐 周鑫 吴煜 郑晗"
    rarer = "王祎 陶喆 李堃 赵玥 孙彧 刘䶮"
    for name in (level_two + " " + rarer).split():
        assert set(name) <= covered, name


def test_font_files_small_enough() -> None:
    folder = Path(__file__).parents[2] / "renderers/pdf/fonts"
    assert (folder / "HallSansSC-Regular.ttf").stat().st_size < 3 * 1024 * 1024
    assert (folder / "HallSansSCExt-Regular.ttf").stat().st_size < 8 * 1024 * 1024


def test_harfbuzz_subsets_the_font() -> None:
    # WeasyPrint falls back to fontTools without libharfbuzz-subset, which is slower;
    # `make test-setup` installs the library.
    assert harfbuzz_subsetting()


def test_fonts_truetype_without_layout_tables() -> None:
    # WeasyPrint subsets each embedded font again for every PDF, and fontTools does it
    # several times faster with TrueType outlines, no layout tables and glyph names.
    for _family, path in FONTS:
        font = TTFont(str(path), lazy=True)
        try:
            assert "glyf" in font
            assert "CFF " not in font
            assert "GSUB" not in font
            assert "GPOS" not in font
            assert font["post"].formatType == 2.0
        finally:
            font.close()


def test_missing_glyph_raises(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>{{ name }}</p>", encoding="utf-8")
    renderer = PdfRenderer(templates=tmp_path)
    rare = "\U00020000"  # in CJK Extension B, which neither shipped font covers
    assert rare not in font_characters()
    with pytest.raises(MissingGlyphs) as raised:
        renderer.html("page.html", {"name": f"王{rare}"})
    assert raised.value.characters == rare
    assert "U+20000" in str(raised.value)


def test_only_shipped_font_embedded(renderer: PdfRenderer, fonts_of) -> None:
    content = renderer.render("unit-interest-statement.html", context(statement(3)))
    fonts = fonts_of(content)
    assert len(fonts) == 1
    assert fonts[0]["name"].endswith("+HallSans-SC")
    assert fonts[0]["emb"] == "yes"
    assert fonts[0]["sub"] == "yes"
    assert fonts[0]["uni"] == "yes"


@pytest.mark.parametrize("subsetter", ["HarfBuzz", "fontTools"])
def test_rare_name_embeds_extension_font(
    monkeypatch: pytest.MonkeyPatch,
    renderer: PdfRenderer,
    subsetter: str,
    text_of,
    fonts_of,
) -> None:
    if subsetter == "fontTools":
        # WeasyPrint subsets with fontTools when libharfbuzz-subset is missing.
        monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", None)
    data = statement(2, names=("刘䶮", "王祎堃"))
    content = renderer.render("unit-interest-statement.html", context(data))
    text = squeeze(text_of(content))
    names = sorted(font["name"].split("+")[1] for font in fonts_of(content))

    assert "韶关市丹霞智造科技有限公司" in text
    assert "王祎堃" in text
    assert "刘䶮" in text
    assert names == ["HallSans-SC", "HallSans-SC-Ext"]


def test_every_level_one_hanzi_extracts(tmp_path: Path, text_of) -> None:
    (tmp_path / "page.html").write_text(
        "<p style='font-family: \"HallSans SC\"'>{{ text }}</p>", encoding="utf-8"
    )
    renderer = PdfRenderer(templates=tmp_path)
    text = "".join(sorted(gb2312_characters(16, 55)))
    content = renderer.render("page.html", {"text": text})
    # The page margins carry the page number and the (here empty) code label.
    extracted = re.sub(r"第\d+页共\d+页验证码", "", squeeze(text_of(content)))
    assert extracted == text


def test_long_statement_pages(renderer: PdfRenderer, text_of) -> None:
    rows = 2000
    content = renderer.render("unit-interest-statement.html", context(statement(rows)))
    pages = page_count(content)
    text = text_of(content, layout=True)
    page_texts = text.split("\f")[:pages]
    accounts = re.findall(r"0299\d{8}", text)
    row_lines = [line for line in text.splitlines() if re.search(r"0299\d{8}", line)]

    assert pages > 20
    # Every row once, in order: none lost, none repeated across a page break.
    assert accounts == [f"0299{index:08d}" for index in range(1, rows + 1)]
    # Each row is one line of the layout text, so no row is split between pages.
    assert len(row_lines) == rows
    for line in row_lines:
        assert re.search(
            r"0299\d{8}\s+\S+\s+440203\*{8}021X(\s+[\d,]+\.\d\d){3}$", line
        )
    for number, page in enumerate(page_texts, start=1):
        assert f"第{number}页共{pages}页" in squeeze(page)
        assert CODE in page
        if re.search(r"0299\d{8}", page):
            # Only the repeated table header prints 证件号码 in a statement.
            assert "证件号码" in page, f"page {number} has no table header"
    assert "合计" in page_texts[-1]


def test_layout_pages_are_the_pdf_pages(renderer: PdfRenderer) -> None:
    page = renderer.html("unit-interest-statement.html", context(statement(200)))
    pages = renderer.layout(page).pages
    assert len(pages) > 1
    assert len(pages) == page_count(renderer.pdf(page))


def test_font_covers_name_middle_dot() -> None:
    # Resident ID cards join the parts of many minority names with U+00B7.
    assert "\u00b7" in font_characters()


@pytest.mark.parametrize(
    "text",
    ["一〇八号", "——", "\u00a0", "•", "‧", "･", "é", "〔〕", "「」", "№"],
)
def test_font_covers_symbols_beyond_gb2312(text: str) -> None:
    # Input methods and pasted text put these in names, unit names and addresses.
    assert missing_characters(text) == ""


def test_invisible_characters_print_nothing(renderer: PdfRenderer, text_of) -> None:
    # Pasted names can carry a soft hyphen or a zero-width joiner.
    data = statement(2)
    data["name"] = "韶关市丹\u00ad霞\u200d智造公司"
    content = renderer.render("unit-interest-statement.html", context(data))
    assert "韶关市丹霞智造公司" in squeeze(text_of(content))


def test_unit_address_symbols_print(renderer: PdfRenderer, text_of) -> None:
    data = statement(2)
    data["name"] = "韶关市工业西路一〇八号——丹霞•智造公司"
    content = renderer.render("unit-interest-statement.html", context(data))
    assert "韶关市工业西路一〇八号——丹霞•智造公司" in squeeze(text_of(content))


def test_dates_without_leading_zeros(renderer: PdfRenderer, text_of) -> None:
    content = renderer.render("unit-interest-statement.html", context(statement(3)))
    text = squeeze(text_of(content))
    assert "2025年7月1日至2026年6月30日" in text
    assert "2026年7月1日" in text
    assert "年07月" not in text
    assert "月01日" not in text


def test_statement_names_never_cut(renderer: PdfRenderer, text_of) -> None:
    names = (
        "司马相如之子",
        "欧阳晓玲",
        "阿依古丽\u00b7买买提",
        "迪丽热巴\u00b7迪力木拉提",
    )
    content = renderer.render(
        "unit-interest-statement.html", context(statement(40, names))
    )
    text = text_of(content, layout=True)
    row_lines = [line for line in text.splitlines() if ROW_ACCOUNT.search(line)]
    single = [line for line in row_lines if re.search("司马相如之子|欧阳晓玲", line)]
    fragments = re.findall(r"[\u4e00-\u9fff\u00b7]+", text)

    assert len(single) == 20, "a name of up to six hanzi wrapped"
    # Longer names break only after the middle dot and keep each part whole.
    assert fragments.count("阿依古丽\u00b7") == 10
    assert fragments.count("买买提") == 10
    assert fragments.count("迪丽热巴\u00b7") == 10
    assert fragments.count("迪力木拉提") == 10


def test_statement_header_one_line(renderer: PdfRenderer, text_of) -> None:
    content = renderer.render("unit-interest-statement.html", context(statement(80)))
    pages = page_count(content)
    for number, page in enumerate(text_of(content, layout=True).split("\f")[:pages]):
        if not ROW_ACCOUNT.search(page):
            continue
        assert re.search(
            r"^\s*序号\s+个人账号\s+姓名\s+证件号码\s+结息前余额\s+利息\s+结息后余额\s*$",
            page,
            flags=re.MULTILINE,
        ), f"page {number + 1}: table header wraps"
        assert "金额单位：元" in page, f"page {number + 1}: no unit of the amounts"


def test_statement_ending_never_alone(renderer: PdfRenderer, tmp_path: Path) -> None:
    # Some of these lengths fill the last page of rows exactly, so the totals and
    # the seal would start a page of their own.
    for rows in range(15, 36):
        content = renderer.render(
            "unit-interest-statement.html", context(statement(rows))
        )
        words = pdf_words(content, tmp_path)
        last = page_count(content)
        on_last = " ".join(word["text"] for word in words if word["page"] == last)
        carried = ROW_ACCOUNT.findall(on_last)
        assert len(carried) >= 3, f"{rows} rows: last page carries {carried}"
        assert f"0299{rows:08d}" in carried
        assert "结息后余额合计" in on_last, f"{rows} rows: totals apart"
        assert "（印章）" in on_last, f"{rows} rows: seal apart"
        assert "2026年7月1日" in on_last, f"{rows} rows: issue date apart"


def test_seal_presses_on_issuer(renderer: PdfRenderer, tmp_path: Path) -> None:
    content = renderer.render("unit-interest-statement.html", context(statement(3)))
    words = pdf_words(content, tmp_path)
    seal = next(word for word in words if word["text"] == "（印章）")
    issuer = [word for word in words if word["text"] == "韶关市住房公积金管理中心"][-1]
    date = next(word for word in words if word["text"] == "2026年7月1日")
    seal_middle = (seal["xMin"] + seal["xMax"]) / 2

    # The seal slot is 34 mm across and its label sits at its top.
    assert abs(seal_middle - (issuer["xMin"] + issuer["xMax"]) / 2) < 1 * POINTS_PER_MM
    assert abs(seal_middle - (date["xMin"] + date["xMax"]) / 2) < 1 * POINTS_PER_MM
    assert issuer["yMin"] > seal["yMax"]
    assert date["yMax"] < seal["yMin"] + 34 * POINTS_PER_MM


def test_long_verify_url_wraps(renderer: PdfRenderer, tmp_path: Path) -> None:
    page = context(statement(3))
    page["verify_url"] = f"https://gjj.shaoguan.gov.cn/wangting/hall/verify/{CODE}"
    content = renderer.render("unit-interest-statement.html", page)
    words = pdf_words(content, tmp_path)
    issuer = [word for word in words if word["text"] == "韶关市住房公积金管理中心"][-1]
    above = next(word for word in words if word["text"] == "扫描二维码或访问")
    below = next(word for word in words if word["text"] == "核验本证明的真实性")
    # The lines between these two, starting left of the issuer, print the URL.
    url = [
        word
        for word in words
        if above["yMax"] <= word["yMin"]
        and word["yMax"] <= below["yMin"]
        and word["xMin"] < issuer["xMin"]
    ]

    assert "".join(word["text"] for word in url) == page["verify_url"]
    for word in url:
        assert word["xMax"] < issuer["xMin"], f"{word['text']} runs into the issuer"


@pytest.mark.parametrize("resolution", [96, 110])
def test_qr_scans_on_screen(
    renderer: PdfRenderer, tmp_path: Path, resolution: int
) -> None:
    assert shutil.which("zbarimg"), "zbarimg is missing: run `make test-setup`"
    content = renderer.render("unit-interest-statement.html", context(statement(3)))
    (tmp_path / "statement.pdf").write_bytes(content)
    subprocess.run(
        ["pdftoppm", "-r", str(resolution), "-png", "statement.pdf", "page"],
        cwd=tmp_path,
        check=True,
    )
    # zbarimg exits with 4 when it finds no code, which the assert below reports.
    scanned = subprocess.run(
        ["zbarimg", "-q", "--raw", str(tmp_path / "page-1.png")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert scanned.stdout.strip() == f"http://127.0.0.1:5000/verify/{CODE}"


def test_statement_later_pages_name_holder(
    renderer: PdfRenderer, tmp_path: Path
) -> None:
    content = renderer.render("unit-interest-statement.html", context(statement(80)))
    words = pdf_words(content, tmp_path)
    pages = page_count(content)
    holder = "韶关市丹霞智造科技有限公司（0201000001）"

    assert pages > 2
    first = [word["text"] for word in words if word["page"] == 1]
    assert first.count("单位住房公积金结息对账单") == 1
    for number in range(2, pages + 1):
        texts = [word["text"] for word in words if word["page"] == number]
        assert "单位住房公积金结息对账单" in texts, f"page {number} has no title"
        assert holder in texts, f"page {number} names no unit"


def test_statement_fills_text_width(renderer: PdfRenderer, tmp_path: Path) -> None:
    content = renderer.render("unit-interest-statement.html", context(statement(3)))
    words = pdf_words(content, tmp_path)
    label = next(word for word in words if word["text"] == "单位名称")
    unit_note = next(word for word in words if word["text"] == "金额单位：元")

    # A4 is 210 mm wide, the page margins are 20 mm on either side and the label
    # cell pads its text by 2 mm.
    assert abs(label["xMin"] - 22 * POINTS_PER_MM) < 0.5 * POINTS_PER_MM
    assert abs(unit_note["xMax"] - 190 * POINTS_PER_MM) < 0.5 * POINTS_PER_MM


# Starts a layout process that would run for ten minutes, and prints its process id.
LONG_LAYOUT = """
import os, time
from renderers.pdf.renderer import layout_pool

with layout_pool() as pool:
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 600).result()
"""
# Seconds a layout process may take to notice that its parent is gone.
PARENT_GONE_PATIENCE = 60.0


def running(pid: int) -> bool:
    """Tell whether a process exists and has not ended, as a zombie has."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_layout_process_ends_with_parent() -> None:
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, "-c", LONG_LAYOUT],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    layout = int(parent.stdout.readline())
    try:
        # A serving process killed mid-layout, as by the out-of-memory killer.
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + PARENT_GONE_PATIENCE
        while running(layout) and time.monotonic() < deadline:
            time.sleep(0.2)

        assert not running(layout)
    finally:
        if running(layout):
            os.kill(layout, signal.SIGKILL)
        parent.stdout.close()
