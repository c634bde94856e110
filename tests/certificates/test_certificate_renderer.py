"""The PDF renderer: font coverage, embedded fonts, extracted text, long statements."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from renderers.pdf.fonts.build_subset import gb2312_characters, wanted_characters
from renderers.pdf.renderer import (
    MissingGlyphs,
    PdfRenderer,
    font_characters,
    harfbuzz_subsetting,
)
from tests.certificates.conftest import page_count, squeeze

CODE = "7KQ2-M9XD-4HPT-ZW3R"


def context(data: dict) -> dict:
    return {
        "title": "单位住房公积金结息对账单",
        "centre_name": "韶关市住房公积金管理中心",
        "issued_on": dt.date(2026, 7, 1),
        "code": CODE,
        "verify_url": f"http://127.0.0.1:5000/verify/{CODE}",
        "data": data,
    }


def statement(rows: int) -> dict:
    lines = [
        {
            "person_account": f"0299{index:08d}",
            "name": "张三丰" if index % 2 else "欧阳晓玲",
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


def test_font_covers_level_one_hanzi_and_capitals() -> None:
    covered = font_characters()
    assert gb2312_characters(16, 55) <= covered
    assert set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整") <= covered
    assert set("，。：；（）、《》“”") <= covered
    assert {chr(code) for code in range(0x20, 0x7F)} <= covered


def test_font_covers_project_text() -> None:
    # Fails when a template, spec or the demo data gains a character that the
    # committed subset lacks: rebuild it with renderers.pdf.fonts.build_subset.
    missing = "".join(sorted(wanted_characters() - font_characters()))
    assert missing == ""


def test_font_file_small_enough() -> None:
    size = Path(__file__).parents[2] / "renderers/pdf/fonts/HallSansSC-Regular.otf"
    assert size.stat().st_size < 2 * 1024 * 1024


def test_harfbuzz_subsets_the_font() -> None:
    # WeasyPrint falls back to fontTools without libharfbuzz-subset, which makes a
    # certificate take seconds; `make test-setup` installs the library.
    assert harfbuzz_subsetting()


def test_missing_glyph_raises(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>{{ name }}</p>", encoding="utf-8")
    renderer = PdfRenderer(templates=tmp_path)
    rare = "\u9f98"  # 龘, outside GB2312 and the shipped subset
    assert rare not in font_characters()
    with pytest.raises(MissingGlyphs) as raised:
        renderer.html("page.html", {"name": f"王{rare}"})
    assert raised.value.characters == rare
    assert "U+9F98" in str(raised.value)


def test_only_shipped_font_embedded(renderer: PdfRenderer, fonts_of) -> None:
    content = renderer.render("unit-interest-statement.html", context(statement(3)))
    fonts = fonts_of(content)
    assert len(fonts) == 1
    assert fonts[0]["name"].endswith("+HallSans-SC")
    assert fonts[0]["emb"] == "yes"
    assert fonts[0]["sub"] == "yes"
    assert fonts[0]["uni"] == "yes"


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
