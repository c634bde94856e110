"""Time the one-page person deposit certificate: shipped font against the system font.

Both renders lay out the same HTML with WeasyPrint. The project's render goes through
`PdfRenderer` (template, glyph check, shared font configuration, the shipped subset
font). The comparison render uses WeasyPrint as a plain call would: a new font
configuration per document and the system's Noto Sans CJK SC from Debian's
`fonts-noto-cjk`. Run it with `make bench-certificates`.

WeasyPrint subsets every embedded font with HarfBuzz when libharfbuzz-subset is
installed and with fontTools otherwise. The pair of renders is timed with each in turn.

It also times the project's layout alone, without writing the PDF. The project's render
includes that layout, so the system-font median divided by the layout time is the
highest speed-up the project's render can reach.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import weasyprint.pdf.fonts
from weasyprint import CSS, HTML

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from connectors.base import Caller  # noqa: E402
from engine import create_app  # noqa: E402
from engine.clock import business_date  # noqa: E402
from engine.commands import seed_demo  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from renderers.pdf.renderer import (  # noqa: E402
    EXTENSION_FAMILY,
    FONT_FAMILY,
    STYLESHEET,
    PdfRenderer,
    harfbuzz_subsetting,
)

SYSTEM_FAMILY = "Noto Sans CJK SC"
TEMPLATE = "person-deposit-certificate.html"
DEMO_ACCOUNT = "020100000001"
T = TypeVar("T")


def certificate_context(instance: Path) -> dict:
    """Seed the demo core in `instance` and return the certificate's print context."""
    url = f"sqlite:///{instance / 'hall.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(instance)})
    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        seed_demo(session, hall.policy, business_date())
    data = hall.router.call(
        "certificate.person_deposit",
        Caller("person", person_account=DEMO_ACCOUNT),
        {},
    )
    printout = hall.services["person-deposit-certificate"].printout
    hall.session_factory.kw["bind"].dispose()
    code = "7KQ2-M9XD-4HPT-ZW3R"
    return {
        "title": "个人住房公积金缴存证明",
        "centre_name": "韶关市住房公积金管理中心",
        "issued_on": business_date(),
        "code": code,
        "verify_url": f"http://127.0.0.1:5000/verify/{code}",
        "valid_days": printout.valid_days,
        "data": data,
    }


def timed(render: Callable[[], T], runs: int) -> tuple[float, T]:
    """Return the median wall time in seconds of `runs` renders, and the last result."""
    content = render()  # the first run loads fonts and warms caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        content = render()
        times.append(time.perf_counter() - start)
    return statistics.median(times), content


def system_font_installed() -> bool:
    listed = subprocess.run(
        ["fc-list", f":family={SYSTEM_FAMILY}"],
        check=False,
        capture_output=True,
        text=True,
    )
    return bool(listed.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed renders of each")
    parser.add_argument(
        "--subsetter",
        choices=("both", "harfbuzz", "fonttools"),
        default="both",
        help="WeasyPrint's font subsetting to time: with HarfBuzz, as when "
        "libharfbuzz-subset is installed, with fontTools, as without it, or both",
    )
    arguments = parser.parse_args()
    subsetters = {
        "both": ["HarfBuzz", "fontTools"],
        "harfbuzz": ["HarfBuzz"],
        "fonttools": ["fontTools"],
    }[arguments.subsetter]
    if "HarfBuzz" in subsetters and not harfbuzz_subsetting():
        print(
            "libharfbuzz-subset is not installed: apt-get install libharfbuzz-subset0"
        )
        return 1
    if not system_font_installed():
        print(f"{SYSTEM_FAMILY} is not installed: apt-get install fonts-noto-cjk")
        return 1

    with tempfile.TemporaryDirectory() as folder:
        context = certificate_context(Path(folder))
    renderer = PdfRenderer()
    html = renderer.html(TEMPLATE, context)
    # The system font covers what both shipped fonts do, so it takes the place of the
    # whole family list.
    system_css = STYLESHEET.read_text(encoding="utf-8").replace(
        f'"{FONT_FAMILY}", "{EXTENSION_FAMILY}"', f'"{SYSTEM_FAMILY}"'
    )
    assert FONT_FAMILY not in system_css, "the stylesheet names the fonts differently"

    def project() -> bytes:
        return renderer.render(TEMPLATE, context)

    def system() -> bytes:
        document = HTML(string=html, base_url=str(STYLESHEET.parent))
        return document.write_pdf(stylesheets=[CSS(string=system_css)])

    def project_layout() -> int:
        return len(renderer.layout(html).pages)

    # The layout does not subset fonts, so one measurement serves both subsetters.
    layout_median, pages = timed(project_layout, arguments.runs)
    assert pages == 1, f"the certificate has {pages} pages"
    print(f"runs of each render:            {arguments.runs}")
    print(f"project layout alone, no PDF:   {layout_median * 1000:.1f} ms median")
    for subsetter in subsetters:
        if subsetter == "fontTools":
            # WeasyPrint picks HarfBuzz when this module attribute is set, else
            # fontTools.
            weasyprint.pdf.fonts.harfbuzz_subset = None
        own_median, own_pdf = timed(project, arguments.runs)
        system_median, system_pdf = timed(system, arguments.runs)
        print()
        print(f"font subsetting:                {subsetter}")
        print(f"project renderer, shipped font: {own_median * 1000:.1f} ms median")
        print(f"WeasyPrint, system Noto CJK:    {system_median * 1000:.1f} ms median")
        print(f"speed-up:                       {system_median / own_median:.1f}x")
        print(f"highest speed-up possible:      {system_median / layout_median:.1f}x")
        print(f"PDF size, shipped font:         {len(own_pdf) / 1024:.1f} KB")
        print(f"PDF size, system font:          {len(system_pdf) / 1024:.1f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
