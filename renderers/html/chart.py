"""A small inline SVG line chart, drawn on the server so it needs no script."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT, MARGIN = 640, 200, 40
# One colour per line, in the order the spec lists them.
COLOURS = ("#b4232a", "#1f5fa8", "#2e7d32", "#8d6e00")


def line_chart(
    points: list[tuple[Any, Any]],
    label: str,
    series: Sequence[tuple[str, Sequence[Any]]] = (),
) -> Markup:
    """Draw values over time; x values are labels in order, y values amounts.

    `series` adds more lines on the same axes, each a label and one value per point.
    """
    lines = [(label, [Decimal(str(y)) for _, y in points])]
    lines += [(name, [Decimal(str(y)) for y in values]) for name, values in series]
    count = len(lines[0][1])
    if count < 2:
        return Markup("")
    every = [value for _, values in lines for value in values]
    low, high = min(every), max(every)
    span = (high - low) or Decimal(1)
    step = Decimal(WIDTH - 2 * MARGIN) / (count - 1)
    drawn = []
    for index, (name, values) in enumerate(lines):
        coordinates = []
        for position, value in enumerate(values):
            x = MARGIN + step * position
            y = HEIGHT - MARGIN - (value - low) / span * (HEIGHT - 2 * MARGIN)
            coordinates.append(f"{x:.1f},{y:.1f}")
        colour = COLOURS[index % len(COLOURS)]
        drawn.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(coordinates)}"><title>{escape(name)}</title></polyline>'
        )
    first, last = escape(str(points[0][0])), escape(str(points[-1][0]))
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(_title(lines))}">'
        + "".join(drawn)
        + f'<text x="{MARGIN}" y="{HEIGHT - 10}">{first}</text>'
        f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 10}" text-anchor="end">{last}</text>'
        + _legend(lines, high)
        + "</svg>"
    )


def _title(lines: list[tuple[str, list[Decimal]]]) -> str:
    return "、".join(name for name, _ in lines)


def _legend(lines: list[tuple[str, list[Decimal]]], high: Decimal) -> str:
    """Name each line in its colour; a single line also shows its highest value."""
    if len(lines) == 1:
        return f'<text x="{MARGIN}" y="20">{escape(lines[0][0])}：{high:,.2f}</text>'
    width = (WIDTH - 2 * MARGIN) // len(lines)
    return "".join(
        f'<text x="{MARGIN + width * index}" y="20" '
        f'fill="{COLOURS[index % len(COLOURS)]}">{escape(name)}</text>'
        for index, (name, _) in enumerate(lines)
    )
