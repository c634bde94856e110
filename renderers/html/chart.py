"""A small inline SVG line chart, drawn on the server so it needs no script."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT, MARGIN = 640, 200, 40


def line_chart(points: list[tuple[Any, Any]], label: str) -> Markup:
    """Draw values over time; x values are labels in order, y values amounts."""
    values = [Decimal(str(y)) for _, y in points]
    if len(values) < 2:
        return Markup("")
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    step = Decimal(WIDTH - 2 * MARGIN) / (len(values) - 1)
    coordinates = []
    for index, value in enumerate(values):
        x = MARGIN + step * index
        y = HEIGHT - MARGIN - (value - low) / span * (HEIGHT - 2 * MARGIN)
        coordinates.append(f"{x:.1f},{y:.1f}")
    first, last = escape(str(points[0][0])), escape(str(points[-1][0]))
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f'<polyline fill="none" stroke="#b4232a" stroke-width="2" points="{" ".join(coordinates)}"/>'
        f'<text x="{MARGIN}" y="{HEIGHT - 10}">{first}</text>'
        f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 10}" text-anchor="end">{last}</text>'
        f'<text x="{MARGIN}" y="20">{escape(label)}：{high:,.2f}</text>'
        f"</svg>"
    )
