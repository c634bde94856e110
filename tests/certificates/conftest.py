"""Helpers of the certificate tests: read PDFs back with poppler's tools."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest


def pdf_text(content: bytes, tmp_path: Path, layout: bool = False) -> str:
    """Extract the text of a PDF with pdftotext, as a reader's copy and paste would."""
    path = tmp_path / "extracted.pdf"
    path.write_bytes(content)
    command = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        command.append("-layout")
    done = subprocess.run(
        [*command, str(path), "-"], capture_output=True, check=True, text=True
    )
    return done.stdout


def pdf_fonts(content: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """List the fonts of a PDF as pdffonts prints them: name, type, emb, sub, uni."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(content)
    done = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    )
    fonts = []
    for line in done.stdout.splitlines()[2:]:
        match = re.match(
            r"(\S+)\s+(.+?)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$",
            line,
        )
        assert match, f"unexpected pdffonts line: {line!r}"
        name, kind, _encoding, embedded, subset, unicode = match.groups()
        fonts.append(
            {
                "name": name,
                "type": kind,
                "emb": embedded,
                "sub": subset,
                "uni": unicode,
            }
        )
    return fonts


def pdf_words(content: bytes, tmp_path: Path) -> list[dict[str, Any]]:
    """List the words of a PDF with their boxes in points, as pdftotext -bbox finds them.

    Each word has its text, page (from 1) and xMin, yMin, xMax, yMax measured from
    the page's top left corner.
    """
    path = tmp_path / "words.pdf"
    path.write_bytes(content)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-bbox", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    words = []
    for number, page in enumerate(done.stdout.split("<page ")[1:], start=1):
        for match in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
            r"(.*?)</word>",
            page,
        ):
            x_min, y_min, x_max, y_max = (float(value) for value in match.groups()[:4])
            words.append(
                {
                    "text": html.unescape(match.group(5)),
                    "page": number,
                    "xMin": x_min,
                    "yMin": y_min,
                    "xMax": x_max,
                    "yMax": y_max,
                }
            )
    return words


def squeeze(text: str) -> str:
    """Drop all whitespace, since pdftotext spaces CJK text as the layout did."""
    return "".join(text.split())


def page_count(content: bytes) -> int:
    from io import BytesIO

    from pypdf import PdfReader

    return len(PdfReader(BytesIO(content)).pages)


@pytest.fixture
def text_of(tmp_path: Path):  # type: ignore[no-untyped-def]
    return lambda content, layout=False: pdf_text(content, tmp_path, layout)


@pytest.fixture
def fonts_of(tmp_path: Path):  # type: ignore[no-untyped-def]
    return lambda content: pdf_fonts(content, tmp_path)
