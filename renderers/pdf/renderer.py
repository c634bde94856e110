"""Render a print template to PDF with WeasyPrint and the shipped CJK font."""

from __future__ import annotations

import base64
import functools
import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import jinja2
from fontTools.ttLib import TTFont
from weasyprint import CSS, HTML
from weasyprint.document import Document
from weasyprint.text.ffi import harfbuzz_subset
from weasyprint.text.fonts import FontConfiguration

from renderers.pdf import TEMPLATES
from renderers.pdf.filters import PRINT_FILTERS, PRINT_GLOBALS

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STYLESHEET = TEMPLATES / "certificate.css"
FONT = HERE / "fonts" / "HallSansSC-Regular.ttf"
FONT_FAMILY = "HallSans SC"
# The rarer hanzi, which the stylesheet names after FONT_FAMILY for the glyphs it lacks.
EXTENSION_FONT = HERE / "fonts" / "HallSansSCExt-Regular.ttf"
EXTENSION_FAMILY = "HallSans SC Ext"
FONTS = ((FONT_FAMILY, FONT), (EXTENSION_FAMILY, EXTENSION_FONT))
# Layout characters and default-ignorable ones (soft hyphen, zero-width space, joiners
# and word joiner) that never reach the page as glyphs.
INVISIBLE = frozenset("\n\r\t\u00ad\u200b\u200c\u200d\u2060\ufeff")


class MissingGlyphs(Exception):
    """Raised when the text to print has characters the shipped font does not cover."""

    def __init__(self, characters: str) -> None:
        self.characters = characters
        listed = " ".join(f"{char} (U+{ord(char):04X})" for char in characters)
        super().__init__(
            f"the shipped font has no glyph for {listed}; add them to the subset "
            "with `python -m renderers.pdf.fonts.build_subset` or change the text"
        )


@functools.cache
def font_characters() -> frozenset[str]:
    """Return every character the shipped fonts map to a glyph."""
    covered: set[str] = set()
    for _family, path in FONTS:
        font = TTFont(str(path), lazy=True)
        try:
            covered |= {chr(code) for code in font.getBestCmap()}
        finally:
            font.close()
    return frozenset(covered)


def missing_characters(text: str) -> str:
    """Return the characters of `text` outside the shipped font, in code point order."""
    covered = font_characters()
    missing = {char for char in set(text) if char not in covered} - INVISIBLE
    return "".join(sorted(missing))


def harfbuzz_subsetting() -> bool:
    """Tell whether WeasyPrint subsets embedded fonts with HarfBuzz (fast).

    Without libharfbuzz-subset it falls back to fontTools, which added about 70 ms to
    a one-page certificate on a 2-core machine (`bench_certificates.py`).
    """
    return harfbuzz_subset is not None


class PdfRenderer:
    """Jinja print templates and one stylesheet, rendered to PDF bytes.

    The font configuration and the parsed stylesheet are built once and shared by
    every render, since parsing the font face is a large part of a one-page render.
    WeasyPrint is not documented as thread-safe, so renders take a lock.
    """

    def __init__(self, templates: Path = TEMPLATES, seal_image: Path | None = None):
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters.update(PRINT_FILTERS)
        self.environment.globals.update(PRINT_GLOBALS)
        self.seal_data_uri = _image_data_uri(seal_image) if seal_image else None
        if not harfbuzz_subsetting():
            log.warning(
                "libharfbuzz-subset is missing, so WeasyPrint subsets fonts with "
                "fontTools, which makes every certificate slower to render; install "
                "the libharfbuzz-subset0 package"
            )
        self._lock = threading.Lock()
        self._font_config: FontConfiguration | None = None
        self._stylesheet: CSS | None = None

    def html(self, template: str, context: Mapping[str, Any]) -> str:
        """Render a print template to HTML, checking that the font covers its text."""
        page = self.environment.get_template(template).render(
            seal_image=self.seal_data_uri, **context
        )
        missing = missing_characters(page)
        if missing:
            raise MissingGlyphs(missing)
        return page

    def pdf(self, page: str) -> bytes:
        """Lay out rendered HTML as a PDF whose only fonts are the shipped ones."""
        with self._lock:
            return self._layout(page).write_pdf()

    def layout(self, page: str) -> Document:
        """Lay out rendered HTML into pages without writing the PDF."""
        with self._lock:
            return self._layout(page)

    def _layout(self, page: str) -> Document:
        font_config, stylesheet = self._styles()
        document = HTML(string=page, base_url=str(TEMPLATES))
        return document.render(stylesheets=[stylesheet], font_config=font_config)

    def render(self, template: str, context: Mapping[str, Any]) -> bytes:
        return self.pdf(self.html(template, context))

    def _styles(self) -> tuple[FontConfiguration, CSS]:
        if self._font_config is None or self._stylesheet is None:
            css = STYLESHEET.read_text(encoding="utf-8")
            missing = missing_characters(css)
            if missing:
                raise MissingGlyphs(missing)
            font_face = "".join(
                f"@font-face {{ font-family: '{family}'; src: url('{path.as_uri()}'); }}\n"
                for family, path in FONTS
            )
            self._font_config = FontConfiguration()
            self._stylesheet = CSS(
                string=font_face + css,
                base_url=str(TEMPLATES),
                font_config=self._font_config,
            )
        return self._font_config, self._stylesheet


# Process ids of the layouts that this process's threads wait for.
_layouts_lock = threading.Lock()
_layouts: set[int] = set()
# Set by stop_layouts, after which this process starts no layout.
_layouts_stopped = threading.Event()


class LayoutStopped(Exception):
    """Raised for a layout that stop_layouts ended or kept from starting."""


def pdf_in_child_process(page: str) -> bytes:
    """Lay out rendered HTML in a new process and return the PDF.

    Laying out a statement of 20,000 rows took 2.8 GB. A process of its own returns
    that memory when it ends, and leaves the serving process free for requests.

    concurrent.futures joins its pools at interpreter exit (CPython 3.11), so a
    process that is ending calls stop_layouts first, or it waits for the layout to
    finish. Raises LayoutStopped for a layout that stop_layouts ended or kept from
    starting.
    """
    with layout_pool() as pool:
        # The pool's only process runs both calls, so this is the layout's process.
        pid = pool.submit(os.getpid).result()
        with _layouts_lock:
            if _layouts_stopped.is_set():
                raise LayoutStopped("no layout starts in a process that is ending")
            _layouts.add(pid)
        try:
            return pool.submit(_child_pdf, page).result()
        except BrokenProcessPool:
            if _layouts_stopped.is_set():
                raise LayoutStopped("the layout was ended with its process") from None
            raise
        finally:
            with _layouts_lock:
                _layouts.discard(pid)


def stop_layouts() -> None:
    """End the running layouts of this process and let no other start."""
    with _layouts_lock:
        _layouts_stopped.set()
        for pid in _layouts:
            log.info("ending layout process %s because its parent is ending", pid)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # The layout process already ended on its own.


def layout_pool() -> ProcessPoolExecutor:
    """Return a pool of one spawned process for a layout, which ends with its parent."""
    spawn = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=1, mp_context=spawn, initializer=_init_layout_process
    )


def _init_layout_process() -> None:
    # Ctrl-C in a terminal reaches the whole process group, but the serving process
    # ends its layout itself, after it has given the job back.
    # NOTE: a service manager that sends SIGTERM to every process of the service
    # (systemd's default KillMode=control-group) ends the layout first, and the job
    # then uses up one of its attempts.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent()


def _end_with_parent() -> None:
    # A parent killed mid-layout would leave the layout running for minutes with
    # gigabytes of memory, beside the layout of the process that takes the job over.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_exit_after, args=(parent,), name="layout-parent", daemon=True
        ).start()


def _exit_after(parent: multiprocessing.process.BaseProcess) -> None:
    # The parent sentinel of a spawned process is a pipe whose write end only the
    # parent holds, so it becomes readable when the parent ends (CPython 3.11).
    parent.join()
    log.error("the process that started this layout ended, so the layout stops")
    os._exit(1)


def _child_pdf(page: str) -> bytes:
    # The process lays out one document and ends, which frees everything at once.
    # Collecting cycles meanwhile only walks the growing box tree again and again: it
    # took a third of the layout time of a 6,000-row statement and saved 2 % of its memory.
    gc.disable()
    return PdfRenderer().pdf(page)


def _image_data_uri(path: Path) -> str:
    kind = "png" if path.suffix.lower() == ".png" else "svg+xml"
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:image/{kind};base64,{encoded}"
