"""Page models: what the HTML renderer needs to draw a form's cells and a query result."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app, request, url_for
from markupsafe import Markup

from connectors.base import PAGED_ROWS
from engine.expressions import Expression, ExpressionError
from engine.forms import PAGE_INPUT, ROW_MARKER, FormState, Row, _row_changed
from engine.service import Choice, Column, Field, Result, RowTable, Service
from renderers.html import display, link_for

log = logging.getLogger(__name__)


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


# Field HTML rendered so far, by the cell's state and the page it is rendered on.
_field_pages: dict[tuple[Any, ...], tuple[Field, Markup]] = {}
MAX_CACHED_FIELD_PAGES = 4096


def top_fields_html(macro: Any, state: FormState, service: Service) -> list[Markup]:
    """Render each top-level field of the form with the `field_block` macro, cached.

    The macro's output depends only on the cell, the service's hall and id and the
    script root, so a field in the same state as before, such as every field of a
    blank form, is rendered once. A password field, and a field whose value cannot
    be a dictionary key, such as a date range, is rendered every time.

    NOTE: a cached entry assumes the spec's `Field` is not changed in place after
    loading. Reloaded specs build new fields, which get entries of their own.
    """
    # While templates reload on change, as in development mode, nothing is cached.
    if current_app.jinja_env.auto_reload:
        return [macro(cell, service) for cell in top_cells(state)]
    page = (service.hall, service.id, request.script_root)
    parts = []
    for spec_field in state.service.fields:
        name = spec_field.name
        raw = state.raw.get(name, "")
        # A typed password must not stay in a process-wide key after its request.
        if spec_field.type == "password" or isinstance(raw, (dict, list)):
            parts.append(macro(top_cell(state, spec_field), service))
            continue
        choices = state.choices.get(name)
        key = (
            id(spec_field),
            type(raw),
            raw,
            state.errors.get(name),
            None if choices is None else tuple(choices),
            name in state.hidden,
            page,
        )
        found = _field_pages.get(key)
        # The field is stored with its HTML, so an id reused by a new field never
        # matches.
        if found is not None and found[0] is spec_field:
            parts.append(found[1])
            continue
        html = macro(top_cell(state, spec_field), service)
        if len(_field_pages) >= MAX_CACHED_FIELD_PAGES:
            _field_pages.clear()
        _field_pages[key] = (spec_field, html)
        parts.append(html)
    return parts


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
            # Only the cells on the shown page exist in the browser.
            for each_row in row_page(state, each_table).rows:
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
class RowPage:
    """The rows of a row table that one page of the form shows, and the rest."""

    table: RowTable
    rows: list[Row]
    # Rows off the page whose input the form must still post, as hidden inputs.
    carried: list[Row]
    page: int
    pages: int

    @property
    def page_input(self) -> str:
        return PAGE_INPUT + self.table.name


def row_page(state: FormState, table: RowTable) -> RowPage:
    """Pick the rows of the table's current page.

    A row off the page is carried when the server could not rebuild it: every row of
    a table filled by hand, and a row from the core that the user changed.
    """
    rows = state.rows.get(table.name, [])
    if not table.page_size:
        return RowPage(table, rows, [], 1, 1)
    size = table.page_size
    pages = max(1, -(-len(rows) // size))
    page = min(max(state.pages.get(table.name, 1), 1), pages)
    shown = rows[(page - 1) * size : page * size]
    shown_indexes = {row.index for row in shown}
    carried = [
        row
        for row in rows
        if row.index not in shown_indexes
        and (table.editable or _row_changed(table, row))
    ]
    return RowPage(table, shown, carried, page, pages)


def carried_inputs(table: RowTable, row: Row) -> list[tuple[str, str]]:
    """Return the hidden inputs (name, value) that keep an off-page row's input."""
    prefix = f"{table.name}-{row.index}-"
    names = [item.name for item in table.fields if not item.read_only]
    if table.prefill_key and table.prefill_key not in names:
        names.insert(0, table.prefill_key)
    inputs = [(prefix + name, str(row.raw.get(name) or "")) for name in names]
    if table.editable:
        inputs.append((prefix + ROW_MARKER, "1"))
    return inputs


def show_first_error(state: FormState) -> None:
    """Turn each paged row table to the page of its first row with an error."""
    for table in state.service.rows:
        if not table.page_size:
            continue
        for position, row in enumerate(state.rows.get(table.name, [])):
            if row.errors:
                state.pages[table.name] = position // table.page_size + 1
                break


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

    def shown_cells(self) -> list[list[tuple[str, str, str | None]]]:
        """Return each shown row's cells as (column type, text, link or None).

        Formatting here saves a template call and four attribute reads a cell, which
        a 240-month repayment schedule of five columns repeats 1,200 times.
        """
        formats = [(column.name, column.type, column.link) for column in self.columns]
        shown = []
        for row in self.rows:
            cells = []
            for name, kind, link in formats:
                href = link_for(link, row) if link else None
                cells.append((kind, display(row.get(name), kind), href))
            shown.append(cells)
        return shown


def table_rows(
    result: Result,
    answer: Any,
    values: dict[str, Any] | None = None,
    figures: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Return the table's rows of a query's answer, less those its filter leaves out.

    The filter reads each row's columns and the form's `values`; a column of the
    same name as a field takes precedence.
    """
    if isinstance(answer, list):
        rows = answer
    elif isinstance(answer, dict) and result.table_key:
        rows = list(answer.get(result.table_key) or [])
    else:
        return []
    if result.row_filter is None:
        return rows
    condition = result.row_filter
    return [row for row in rows if _kept(condition, {**(values or {}), **row}, figures)]


def _kept(
    condition: Expression, scope: dict[str, Any], figures: dict[str, Any] | None
) -> bool:
    try:
        return condition.evaluate(scope, figures) is True
    except ExpressionError as error:
        # A row the filter cannot judge, such as one with text in a number column,
        # is left out rather than failing the whole query.
        log.warning("query filter %r failed on a row: %s", condition.text, error)
        return False


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


def page_request(
    result: Result, page: int, sort: str | None, descending: bool
) -> dict[str, Any] | None:
    """Describe the page of a query's table the hall will show, for PAGE_PARAM.

    An operation that reads it may sort, count and page in its database and return
    a PAGED_ROWS dict. Returns None when the table's filter, chart or card needs every
    row, so the operation must return them all.
    """
    if result.row_filter is not None or result.chart or result.table_key:
        return None
    if not result.table_columns:
        return None
    sortable = {column.name for column in result.table_columns if column.sortable}
    sort = sort or result.sort
    return {
        "number": page,
        "size": result.page_size,
        "sort": sort if sort in sortable else None,
        "descending": descending,
    }


def shape_result(
    result: Result,
    answer: Any,
    page: int,
    sort: str | None,
    descending: bool,
    values: dict[str, Any] | None = None,
    figures: dict[str, Any] | None = None,
) -> ResultPage:
    if isinstance(answer, dict) and PAGED_ROWS in answer:
        return _shape_paged(result, answer, sort or result.sort, descending)
    card = []
    if isinstance(answer, dict):
        card = [(column, answer.get(column.name)) for column in result.card]
    rows = table_rows(result, answer, values, figures)
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


def _shape_paged(
    result: Result, answer: dict[str, Any], sort: str | None, descending: bool
) -> ResultPage:
    """Shape a result the operation already sorted and cut to one page."""
    total = int(answer.get("total") or 0)
    pages = max(1, -(-total // result.page_size))
    page = min(max(int(answer.get("page") or 1), 1), pages)
    return ResultPage(
        card=[],
        columns=result.table_columns,
        rows=list(answer[PAGED_ROWS])[: result.page_size],
        total=total,
        page=page,
        pages=pages,
        sort=sort,
        descending=descending,
        chart=None,
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


@dataclass(frozen=True)
class MenuLink:
    service_id: str
    title: str
    href: str


# Menus built so far, by script root and the services they list. A hall has a few.
_menus: dict[tuple[Any, ...], tuple[str, list[tuple[str, list[MenuLink]]]]] = {}
MAX_CACHED_MENUS = 64


def menu_links(menu: list[Service]) -> tuple[str, list[tuple[str, list[MenuLink]]]]:
    """Return the address of the hall's home page and the menu's groups of links.

    Groups are sorted by name and links by their order within a group. The result
    is kept per script root and per list of services, so the addresses are built
    once rather than on every page.
    """
    key = _menu_key(menu)
    found = _menus.get(key)
    if found is not None:
        return found
    home = url_for("halls.home", hall=menu[0].hall)
    groups = []
    # Like Jinja's groupby filter: group names compare without case, and a group
    # shows the name of its first service.
    by_group = sorted(menu, key=lambda item: item.group.lower())
    for _, grouped in itertools.groupby(by_group, key=lambda item: item.group.lower()):
        items = list(grouped)
        group = items[0].group
        links = []
        for item in sorted(items, key=lambda item: item.order):
            endpoint = (
                "certificates.print_page"
                if item.kind == "print"
                else "halls.service_page"
            )
            href = url_for(endpoint, hall=item.hall, service_id=item.id)
            links.append(MenuLink(item.id, item.title, href))
        groups.append((group, links))
    if len(_menus) >= MAX_CACHED_MENUS:
        _menus.clear()
    _menus[key] = (home, groups)
    return home, groups


def _menu_key(menu: list[Service]) -> tuple[Any, ...]:
    return (
        request.script_root,
        tuple(
            (item.id, item.hall, item.kind, item.group, item.order, item.title)
            for item in menu
        ),
    )


# Menu HTML rendered so far, by menu key and the service whose link is marked current.
_menu_pages: dict[tuple[Any, ...], Markup] = {}
MAX_CACHED_MENU_PAGES = 256


def menu_html(menu: list[Service], service: Service | None) -> Markup:
    """Render the menu of `_menu.html`, once per menu and current service.

    The menu's HTML depends only on the script root, the listed services and which
    of them is the current page, so every later page of a service reuses it.
    """
    # While templates reload on change, as in development mode, nothing is cached.
    if current_app.jinja_env.auto_reload:
        return _render_menu(menu, service)
    key = (_menu_key(menu), service.id if service else None)
    found = _menu_pages.get(key)
    if found is not None:
        return found
    found = _render_menu(menu, service)
    if len(_menu_pages) >= MAX_CACHED_MENU_PAGES:
        _menu_pages.clear()
    _menu_pages[key] = found
    return found


def _render_menu(menu: list[Service], service: Service | None) -> Markup:
    template = current_app.jinja_env.get_template("_menu.html")
    return Markup(template.render(menu=menu, service=service))
