"""Page models: what the HTML renderer needs to draw a form's cells and a query result."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.forms import ROW_MARKER, FormState, Row
from engine.service import Choice, Column, Field, Result, RowTable, Service


@dataclass
class Cell:
    """One field as drawn: its input name, element id, value, error and htmx wiring."""

    field: Field
    input_name: str
    dom_id: str
    raw: Any
    error: str | None
    choices: list[Choice]
    hidden: bool
    table: str | None = None
    row_index: int | None = None

    @property
    def in_row(self) -> bool:
        return self.table is not None


def top_cells(state: FormState) -> list[Cell]:
    return [top_cell(state, item) for item in state.service.fields]


def top_cell(state: FormState, spec_field: Field) -> Cell:
    return Cell(
        field=spec_field,
        input_name=spec_field.name,
        dom_id=spec_field.name,
        raw=state.raw.get(spec_field.name, ""),
        error=state.errors.get(spec_field.name),
        choices=state.choices.get(spec_field.name, list(spec_field.choices)),
        hidden=spec_field.name in state.hidden,
    )


def row_cells(table: RowTable, row: Row) -> list[Cell]:
    return [row_cell(table, row, item) for item in table.fields]


def row_cell(table: RowTable, row: Row, spec_field: Field) -> Cell:
    prefix = f"{table.name}-{row.index}-"
    return Cell(
        field=spec_field,
        input_name=prefix + spec_field.name,
        dom_id=prefix + spec_field.name,
        raw=row.raw.get(spec_field.name, ""),
        error=row.errors.get(spec_field.name),
        choices=list(spec_field.choices),
        hidden=False,
        table=table.name,
        row_index=row.index,
    )


def row_marker(table: RowTable, row: Row) -> str:
    return f"{table.name}-{row.index}-{ROW_MARKER}"


def changed_cells(
    state: FormState, table: RowTable | None, row: Row | None, names: set[str]
) -> list[Cell]:
    """Cells to swap in after a lookup or recalculation: the named ones and all computed."""
    service = state.service
    cells: list[Cell] = []
    if table is not None and row is not None:
        for spec_field in table.fields:
            computed = spec_field.name in {item.target for item in table.calculations}
            if spec_field.name in names or computed:
                cells.append(row_cell(table, row, spec_field))
    else:
        for spec_field in service.fields:
            if spec_field.name in names:
                cells.append(top_cell(state, spec_field))
        for each_table in service.rows:
            for each_row in state.rows.get(each_table.name, []):
                for calculation in each_table.calculations:
                    cells.append(
                        row_cell(
                            each_table, each_row, each_table.field(calculation.target)
                        )
                    )
    computed_top = {item.target for item in service.calculations}
    conditional = {
        item.name for item in service.fields if item.visible_when is not None
    }
    for spec_field in service.fields:
        if (
            spec_field.name in computed_top | conditional
            and spec_field.name not in names
        ):
            cells.append(top_cell(state, spec_field))
    return cells


@dataclass
class ResultPage:
    """A query's answer shaped for display: a card, one page of a sorted table, a chart."""

    card: list[tuple[Column, Any]]
    columns: list[Column]
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    sort: str | None
    descending: bool
    chart: list[tuple[Any, Any]] | None
    # Further lines of the chart: a label and one value per point of `chart`.
    chart_series: list[tuple[str, list[Any]]] = dataclasses.field(default_factory=list)


def table_rows(result: Result, answer: Any) -> list[dict[str, Any]]:
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict) and result.table_key:
        return list(answer.get(result.table_key) or [])
    return []


def sort_rows(
    result: Result, rows: list[dict[str, Any]], sort: str | None, descending: bool
) -> list[dict[str, Any]]:
    sortable = {column.name for column in result.table_columns if column.sortable}
    if sort not in sortable:
        return rows
    present = [row for row in rows if row.get(sort) is not None]
    absent = [row for row in rows if row.get(sort) is None]
    present.sort(key=lambda row: _sort_key(row.get(sort)), reverse=descending)
    return present + absent


def _sort_key(value: Any) -> Any:
    if isinstance(value, (Decimal, int)):
        return (0, value, "")
    if isinstance(value, (dt.date, dt.datetime)):
        return (1, 0, value.isoformat())
    return (2, 0, str(value))


def shape_result(
    result: Result, answer: Any, page: int, sort: str | None, descending: bool
) -> ResultPage:
    card = []
    if isinstance(answer, dict):
        card = [(column, answer.get(column.name)) for column in result.card]
    rows = table_rows(result, answer)
    chart = None
    chart_series = []
    if result.chart and rows:
        x, y = result.chart["x"], result.chart["y"]
        more = result.chart.get("series", [])
        names = [y] + [item["y"] for item in more]
        drawn = [
            row for row in rows if all(row.get(name) is not None for name in names)
        ]
        chart = [(row.get(x), row.get(y)) for row in drawn]
        chart_series = [
            (item["label"], [row.get(item["y"]) for row in drawn]) for item in more
        ]
    sort = sort or result.sort
    ordered = sort_rows(result, rows, sort, descending)
    size = result.page_size
    pages = max(1, -(-len(ordered) // size))
    page = min(max(page, 1), pages)
    return ResultPage(
        card=card,
        columns=result.table_columns,
        rows=ordered[(page - 1) * size : page * size],
        total=len(ordered),
        page=page,
        pages=pages,
        sort=sort,
        descending=descending,
        chart=chart,
        chart_series=chart_series,
    )


def operation_params(service: Service, data: dict[str, Any]) -> dict[str, Any]:
    """Pass a query's clean inputs to its operation; a range X also as from_X and to_X."""
    params = dict(data)
    for spec_field in service.fields:
        value = data.get(spec_field.name)
        if isinstance(value, dict) and spec_field.type in ("date-range", "month-range"):
            params[f"from_{spec_field.name}"] = value.get("from")
            params[f"to_{spec_field.name}"] = value.get("to")
    return params


def error_summary(
    state: FormState, extra: dict[str, str], attachments: dict[str, str]
) -> list[tuple[str | None, str]]:
    """List every error as (element id to link to, message), in form order."""
    items: list[tuple[str | None, str]] = [
        (None, message) for message in state.form_errors
    ]
    for spec_field in state.service.fields:
        message = state.errors.get(spec_field.name)
        if message:
            items.append((f"f-{spec_field.name}", message))
    for table in state.service.rows:
        if state.errors.get(table.name):
            items.append((f"rows-{table.name}", state.errors[table.name]))
        for position, row in enumerate(state.rows.get(table.name, []), start=1):
            for spec_field in table.fields:
                message = row.errors.get(spec_field.name)
                if message:
                    anchor = f"f-{table.name}-{row.index}-{spec_field.name}"
                    items.append((anchor, f"{table.label}第{position}行：{message}"))
    if "_form" in state.errors:
        items.append((None, state.errors["_form"]))
    for kind, message in attachments.items():
        items.append((f"f-{kind}", message))
    for name, message in extra.items():
        items.append((f"f-{name}", message))
    return items
