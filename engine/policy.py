"""Policy figures of the fund, read from one YAML file and resolved by date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from engine.clock import business_date


@dataclass(frozen=True)
class Period:
    start: dt.date
    value: Decimal
    demo_default: bool


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    periods: tuple[Period, ...]

    def at(self, day: dt.date) -> Decimal:
        """Return the value in force on `day`: the latest period starting on or before it."""
        current = None
        for period in self.periods:
            if period.start <= day:
                current = period
        if current is None:
            first = self.periods[0].start.isoformat()
            raise LookupError(f"policy figure {self.name} has no value before {first}")
        return current.value

    @property
    def demo_default(self) -> bool:
        return any(period.demo_default for period in self.periods)


class Policy:
    """All policy figures, plus the structured tables such as retirement ages."""

    def __init__(self, figures: dict[str, Figure], tables: dict[str, Any]) -> None:
        self.figures = figures
        self.tables = tables

    @classmethod
    def from_file(cls, path: Path) -> Policy:
        with path.open(encoding="utf-8") as stream:
            document = yaml.safe_load(stream)
        figures = {}
        for name, entry in document["figures"].items():
            figures[name] = _read_figure(name, entry, path)
        return cls(figures, document.get("tables", {}))

    def names(self) -> set[str]:
        return set(self.figures)

    def value(self, name: str, day: dt.date | None = None) -> Decimal:
        try:
            figure = self.figures[name]
        except KeyError:
            raise KeyError(f"unknown policy figure {name!r}") from None
        return figure.at(day or business_date())

    def values_at(self, day: dt.date) -> dict[str, Decimal]:
        return {name: figure.at(day) for name, figure in self.figures.items()}


def _read_figure(name: str, entry: dict[str, Any], path: Path) -> Figure:
    label = str(entry.get("label", name))
    if "value" in entry:
        periods = [
            Period(
                dt.date.min,
                Decimal(str(entry["value"])),
                entry.get("demo-default", False),
            )
        ]
    elif "periods" in entry:
        periods = [
            Period(
                dt.date.fromisoformat(str(item["from"])),
                Decimal(str(item["value"])),
                item.get("demo-default", False),
            )
            for item in entry["periods"]
        ]
        periods.sort(key=lambda period: period.start)
    else:
        raise ValueError(f"{path}: policy figure {name} needs `value` or `periods`")
    return Figure(name, label, tuple(periods))
