"""Server-side SVG charts with one line or several on the same axes."""

from __future__ import annotations

from decimal import Decimal

from bs4 import BeautifulSoup

from renderers.html.chart import line_chart


def svg(markup: str) -> BeautifulSoup:
    return BeautifulSoup(markup, "html.parser")


def test_single_line_keeps_its_legend() -> None:
    chart = svg(
        line_chart([("2026-01", Decimal("10")), ("2026-02", Decimal("30"))], "余额")
    )
    assert len(chart.select("polyline")) == 1
    assert "余额：30.00" in chart.get_text()


def test_series_share_the_scale() -> None:
    points = [(1, Decimal("100")), (2, Decimal("200"))]
    chart = svg(line_chart(points, "本金", [("利息", [Decimal("0"), Decimal("100")])]))
    first, second = chart.select("polyline")
    # 200 is the top of the shared scale and 0 the bottom.
    assert first["points"].split()[1].endswith(",40.0")
    assert second["points"].split()[0].endswith(",160.0")
    assert chart.select_one("svg")["aria-label"] == "本金、利息"


def test_escapes_labels() -> None:
    chart = line_chart([(1, Decimal("1")), (2, Decimal("2"))], "<b>", [("&", [1, 2])])
    assert "<b>" not in str(chart)
    assert "&amp;" in str(chart)


def test_one_point_draws_nothing() -> None:
    assert str(line_chart([(1, Decimal("1"))], "余额")) == ""
