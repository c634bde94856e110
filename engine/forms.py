"""The state of a service's form: input, back-fill, calculations, visibility, validation.

The browser's values count only for fields a person may edit. Read-only fields are
filled on the server from lookups, calculations and rows the core supplies, every time
the form is read, so a forged value is overwritten before anything is stored.
"""

from __future__ import annotations

import decimal
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError

from connectors.base import Caller, NotFound, Rejected
from connectors.router import ConnectorRouter
from engine.expressions import Expression, ExpressionError
from engine.fields import Invalid, format_input, is_empty, message_for, parse_value
from engine.money import round_half_up
from engine.schemas import (
    ValidationScope,
    build_schema,
    make_bound_resolver,
    validation_scope,
)
from engine.service import (
    RANGE_TYPES,
    Calculation,
    Choice,
    Field,
    Lookup,
    RowTable,
    Service,
)

log = logging.getLogger(__name__)

ROW_INPUT = re.compile(
    r"^(?P<table>[a-z][a-z0-9_]*)-(?P<index>[0-9]{1,4})-(?P<field>_?[a-z][a-z0-9_]*)$"
)
ROW_MARKER = "_row"
# Hidden input that carries the page a paged row table shows: `_page_<table>`.
PAGE_INPUT = "_page_"
MAX_ROW_INDEX = 9999


@dataclass
class Row:
    """One row of a repeating table; `original` contains what the core supplied."""

    index: int
    raw: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    original: dict[str, Any] | None = None


@dataclass
class FormState:
    service: Service
    raw: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[Row]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)
    choices: dict[str, list[Choice]] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    # The page of each paged row table that the form shows, from 1.
    pages: dict[str, int] = field(default_factory=dict)

    def row(self, table: str, index: int) -> Row:
        for row in self.rows.get(table, []):
            if row.index == index:
                return row
        raise KeyError(f"{table}-{index}")

    def next_index(self, table: str) -> int:
        return max((row.index for row in self.rows.get(table, [])), default=-1) + 1

    @property
    def has_errors(self) -> bool:
        if self.errors or self.form_errors:
            return True
        return any(row.errors for rows in self.rows.values() for row in rows)


class FormRuntime:
    """Runs one service's form for one caller against the connectors."""

    def __init__(
        self,
        service: Service,
        router: ConnectorRouter,
        caller: Caller,
        figures: dict[str, Decimal],
    ) -> None:
        self.service = service
        self.router = router
        self.caller = caller
        self.figures = figures
        self.bound = make_bound_resolver(figures)

    # Building a state -------------------------------------------------------------

    def blank(self) -> FormState:
        """Build the form as it first appears: defaults, core rows, on-load lookups."""
        state = FormState(self.service)
        for spec_field in self.service.fields:
            state.raw[spec_field.name] = self._default(spec_field)
        for table in self.service.rows:
            if table.prefill_operation:
                state.rows[table.name] = self._prefilled_rows(table, {})
            else:
                count = max(table.min_rows, 1)
                state.rows[table.name] = [
                    self._blank_row(table, i) for i in range(count)
                ]
        self._settle(state, run_triggers=False)
        return state

    def from_input(
        self,
        form: Mapping[str, Any],
        run_triggers: bool = True,
        imported: Mapping[str, list[dict[str, Any]]] | None = None,
    ) -> FormState:
        """Build the state from a posted form, re-deriving every read-only value.

        `imported` contains, per prefilled table, rows read from an uploaded file;
        they change their records as posted rows do and win over posted input.
        """
        state = FormState(self.service)
        for spec_field in self.service.fields:
            if spec_field.read_only:
                continue
            state.raw[spec_field.name] = _read_input(spec_field, form, spec_field.name)
        submitted = _group_rows(self.service, form)
        for table in self.service.rows:
            page = str(form.get(PAGE_INPUT + table.name, ""))
            if table.page_size and page.isdigit() and len(page) < 6:
                state.pages[table.name] = int(page)
            rows = submitted.get(table.name, {})
            if imported and table.name in imported and table.prefill_operation:
                first = MAX_ROW_INDEX + 1
                extra = enumerate(imported[table.name], start=first)
                rows = {**rows, **dict(extra)}
            if table.prefill_operation:
                state.rows[table.name] = self._prefilled_rows(table, rows, state)
            else:
                state.rows[table.name] = self._posted_rows(table, rows, state)
        self._settle(state, run_triggers=run_triggers, keep_input=True)
        return state

    def add_row(self, state: FormState, table_name: str) -> Row | None:
        table = self.service.table(table_name)
        if not table.editable:
            return None
        if len(state.rows[table_name]) >= table.max_rows:
            state.errors[table_name] = f"{table.label}最多{table.max_rows}行"
            return None
        row = self._blank_row(table, state.next_index(table_name))
        state.rows[table_name].append(row)
        self._settle(state, run_triggers=False)
        return row

    def remove_row(self, state: FormState, table_name: str, index: int) -> None:
        table = self.service.table(table_name)
        if not table.editable:
            return
        state.rows[table_name] = [
            row for row in state.rows[table_name] if row.index != index
        ]
        self.calculate(state)

    # Lookups ------------------------------------------------------------------------

    def run_lookup(
        self, state: FormState, name: str, row_index: int | None = None
    ) -> None:
        """Run the lookup `name` for the top level or for one row, then recalculate."""
        lookup, table = self.service.lookup(name)
        if table is None:
            self._lookup_into(
                lookup, self.service.fields, state.raw, state.values, state.errors
            )
        elif row_index is not None:
            row = state.row(table.name, row_index)
            self._lookup_into(
                lookup,
                table.fields,
                row.raw,
                row.values,
                row.errors,
                {**state.values, **row.values},
            )
        self.calculate(state)

    def _lookup_into(
        self,
        lookup: Lookup,
        fields: list[Field],
        raw: dict[str, Any],
        values: dict[str, Any],
        errors: dict[str, str],
        scope: dict[str, Any] | None = None,
        keep_input: bool = False,
    ) -> None:
        """Run one lookup and fill its targets in `raw` and `values`.

        `scope` contains the values the lookup's params may name; a row lookup gets
        the top-level fields as well as the row's own. With `keep_input`, an editable
        target that already has input keeps it: the lookup fills it when the trigger
        changes, and later posts of the form carry what the user made of it.
        """
        by_name = {item.name: item for item in fields}
        if lookup.trigger is not None:
            trigger = by_name[lookup.trigger]
            if is_empty(raw.get(lookup.trigger)):
                self._clear_fills(lookup, by_name, raw, values)
                return
            if values.get(lookup.trigger) is None:
                error = self._parse_error(trigger, raw.get(lookup.trigger))
                if error:
                    errors[lookup.trigger] = error
                return
        try:
            result = self.router.call(
                lookup.operation,
                self.caller,
                lookup.parameters(values if scope is None else scope),
            )
        except (Rejected, NotFound) as error:
            errors[error.field or lookup.trigger or "_form"] = error.message
            self._clear_fills(lookup, by_name, raw, values)
            return
        if lookup.trigger:
            errors.pop(lookup.trigger, None)
        for target, key in lookup.fill.items():
            value = result.get(key) if isinstance(result, Mapping) else None
            spec_field = by_name[target]
            if not spec_field.read_only and (
                is_empty(value) or (keep_input and not is_empty(raw.get(target)))
            ):
                continue
            values[target] = value
            raw[target] = format_input(spec_field, value)

    def _clear_fills(
        self,
        lookup: Lookup,
        by_name: dict[str, Field],
        raw: dict[str, Any],
        values: dict[str, Any],
    ) -> None:
        for target in lookup.fill:
            if by_name[target].read_only:
                raw[target] = ""
                values[target] = None

    # Calculations -------------------------------------------------------------------

    def calculate(self, state: FormState) -> None:
        """Evaluate row calculations, then the top-level ones (which may total rows)."""
        top_scope = dict(state.values)
        for table in self.service.rows:
            by_name = {item.name: item for item in table.fields}
            for row in state.rows.get(table.name, []):
                scope = {**top_scope, **row.values}
                for calculation in table.calculations:
                    value = self._evaluate(
                        calculation, by_name[calculation.target], scope
                    )
                    row.values[calculation.target] = value
                    row.raw[calculation.target] = format_input(
                        by_name[calculation.target], value
                    )
                    scope[calculation.target] = value
        tables = {
            name: [row.values for row in rows] for name, rows in state.rows.items()
        }
        by_name = {item.name: item for item in self.service.fields}
        for calculation in self.service.calculations:
            target = by_name[calculation.target]
            value = self._evaluate(calculation, target, state.values, tables)
            state.values[calculation.target] = value
            state.raw[calculation.target] = format_input(target, value)

    def _evaluate(
        self,
        calculation: Calculation,
        target: Field,
        scope: dict[str, Any],
        tables: dict[str, list[dict[str, Any]]] | None = None,
    ) -> Any:
        names = calculation.expression.references.names
        full_scope = {name: scope.get(name) for name in names}
        try:
            value = calculation.expression.evaluate(full_scope, self.figures, tables)
        except ExpressionError as error:
            log.warning(
                "calculation %s of %s failed: %s", target.name, self.service.id, error
            )
            return None
        if not isinstance(value, Decimal):
            return value
        places = calculation.places
        if isinstance(places, str):
            places = int(self.figures[places.removeprefix("policy.")])
        if places is None and target.type == "money":
            places = 2
        try:
            if places is not None:
                value = round_half_up(value, places)
            # Amounts always carry fen, even when the rule rounds to whole yuan.
            return round_half_up(value, 2) if target.type == "money" else value
        except decimal.InvalidOperation:
            # Rounding a result of more than 28 digits exceeds the default context.
            log.warning(
                "calculation %s of %s is too large to round",
                target.name,
                self.service.id,
            )
            return None

    # Validation ---------------------------------------------------------------------

    def validate(self, state: FormState) -> dict[str, Any] | None:
        """Validate the whole form on the server; return clean data, or None with errors."""
        payload = self._payload(state)
        choices = {
            name: {choice.value for choice in offered}
            for name, offered in state.choices.items()
        }
        scope = ValidationScope(self.bound, choices, state.hidden)
        data: dict[str, Any] = {}
        with validation_scope(scope):
            try:
                data = self._schema()().load(payload)
            except ValidationError as error:
                self._record_errors(state, error.normalized_messages())
        self._check_row_counts(state)
        changed_rows = self._rows_to_submit(state)
        if state.has_errors:
            return None
        return self._clean_data(state, data, changed_rows)

    def _schema(self) -> type[Schema]:
        # Building the class takes longer than a validation. Two threads that race
        # here build equal classes, so either one may be kept.
        if self.service.form_schema is None:
            self.service.form_schema = build_schema(self.service)
        return self.service.form_schema

    def _payload(self, state: FormState) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for spec_field in self.service.fields:
            if spec_field.read_only or spec_field.name in state.hidden:
                continue
            raw = state.raw.get(spec_field.name)
            if not is_empty(raw):
                payload[spec_field.name] = raw
        for table in self.service.rows:
            rows = []
            for row in state.rows.get(table.name, []):
                rows.append(
                    {
                        item.name: row.raw.get(item.name)
                        for item in table.fields
                        if not item.read_only and not is_empty(row.raw.get(item.name))
                    }
                )
            payload[table.name] = rows
        return payload

    def _record_errors(self, state: FormState, messages: dict[str, Any]) -> None:
        for name, problem in messages.items():
            if name in {table.name for table in self.service.rows} and isinstance(
                problem, dict
            ):
                rows = state.rows[name]
                for position, row_problems in problem.items():
                    if not isinstance(row_problems, dict):
                        continue
                    row = rows[int(position)]
                    for field_name, texts in row_problems.items():
                        row.errors[field_name] = _first(texts)
            elif name == "_schema":
                state.form_errors.extend(
                    problem if isinstance(problem, list) else [problem]
                )
            else:
                state.errors[name] = _first(problem)

    def _check_row_counts(self, state: FormState) -> None:
        for table in self.service.rows:
            count = len(state.rows.get(table.name, []))
            if table.editable and count < table.min_rows:
                state.errors[table.name] = (
                    f"{table.label}至少需要{table.min_rows}行，请点击“{table.add_label}”"
                )
            if count > table.row_limit:
                state.errors[table.name] = f"{table.label}最多{table.row_limit}行"

    def _rows_to_submit(self, state: FormState) -> dict[str, list[Row]]:
        chosen = {}
        for table in self.service.rows:
            rows = state.rows.get(table.name, [])
            if table.submit_rows == "changed":
                rows = [row for row in rows if _row_changed(table, row)]
                if not rows and not state.has_errors:
                    state.errors[table.name] = (
                        f"{table.label}中没有修改过的行，无需提交"
                    )
            chosen[table.name] = rows
        return chosen

    def _clean_data(
        self, state: FormState, data: dict[str, Any], chosen: dict[str, list[Row]]
    ) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for spec_field in self.service.fields:
            if spec_field.name in state.hidden or spec_field.type == "file":
                continue
            if spec_field.read_only:
                clean[spec_field.name] = state.values.get(spec_field.name)
            elif spec_field.type == "checkbox":
                clean[spec_field.name] = bool(data.get(spec_field.name))
            else:
                clean[spec_field.name] = data.get(spec_field.name)
        for table in self.service.rows:
            loaded = {
                row.index: item
                for row, item in zip(
                    state.rows[table.name], data[table.name], strict=True
                )
            }
            clean[table.name] = [
                {
                    item.name: row.values.get(item.name)
                    if item.read_only
                    else loaded[row.index].get(item.name)
                    for item in table.fields
                }
                for row in chosen[table.name]
            ]
        return clean

    # Internals ----------------------------------------------------------------------

    def _settle(
        self, state: FormState, run_triggers: bool, keep_input: bool = False
    ) -> None:
        """Parse values, load choices, run lookups, calculate, and apply visibility."""
        self._parse_all(state)
        self._load_choices(state)
        for lookup in self.service.lookups:
            if lookup.trigger is None or run_triggers:
                self._lookup_into(
                    lookup,
                    self.service.fields,
                    state.raw,
                    state.values,
                    state.errors,
                    keep_input=keep_input,
                )
        for table in self.service.rows:
            for lookup in table.lookups:
                if lookup.trigger is None or run_triggers:
                    for row in state.rows.get(table.name, []):
                        self._lookup_into(
                            lookup,
                            table.fields,
                            row.raw,
                            row.values,
                            row.errors,
                            {**state.values, **row.values},
                            keep_input=keep_input,
                        )
        self.calculate(state)
        self._apply_visibility(state)

    def _parse_all(self, state: FormState) -> None:
        for spec_field in self.service.fields:
            state.values[spec_field.name] = self._lenient(
                spec_field, state.raw.get(spec_field.name)
            )
        for table in self.service.rows:
            for row in state.rows.get(table.name, []):
                for spec_field in table.fields:
                    if spec_field.name not in row.values or not spec_field.read_only:
                        row.values[spec_field.name] = self._lenient(
                            spec_field, row.raw.get(spec_field.name)
                        )

    def _lenient(self, spec_field: Field, raw: Any) -> Any:
        if is_empty(raw):
            return False if spec_field.type == "checkbox" else None
        try:
            return parse_value(spec_field, raw)
        except Invalid:
            return None

    def _parse_error(self, spec_field: Field, raw: Any) -> str | None:
        try:
            parse_value(spec_field, raw, self.bound)
        except Invalid as error:
            return message_for(spec_field, error)
        return None

    def _load_choices(self, state: FormState) -> None:
        for spec_field in self.service.fields:
            if spec_field.choices_lookup:
                try:
                    offered = self.router.call(
                        spec_field.choices_lookup, self.caller, {}
                    )
                except (Rejected, NotFound) as error:
                    state.errors[spec_field.name] = error.message
                    offered = []
                state.choices[spec_field.name] = [
                    Choice(str(item["value"]), str(item["label"])) for item in offered
                ]
            elif spec_field.choices:
                state.choices[spec_field.name] = list(spec_field.choices)

    def _apply_visibility(self, state: FormState) -> None:
        for spec_field in self.service.fields:
            condition = spec_field.visible_when
            if condition is None:
                continue
            if not _visible(condition, state.values):
                state.hidden.add(spec_field.name)
                state.raw[spec_field.name] = _empty_raw(spec_field)
                state.values[spec_field.name] = None
                state.errors.pop(spec_field.name, None)

    def _default(self, spec_field: Field) -> Any:
        if spec_field.default_expression is not None:
            try:
                value = spec_field.default_expression.evaluate({}, self.figures)
            except ExpressionError:
                value = None
        else:
            value = spec_field.default
        if spec_field.type in RANGE_TYPES:
            if isinstance(value, (tuple, list)) and len(value) == 2:
                return {
                    "from": format_input(spec_field, value[0]),
                    "to": format_input(spec_field, value[1]),
                }
            return {"from": "", "to": ""}
        if value is None:
            return ""
        if isinstance(value, bool):
            return "on" if value else ""
        return format_input(spec_field, value) if not isinstance(value, str) else value

    def _blank_row(self, table: RowTable, index: int) -> Row:
        row = Row(index)
        for spec_field in table.fields:
            row.raw[spec_field.name] = self._default(spec_field)
        return row

    def _posted_rows(
        self, table: RowTable, rows: dict[int, dict[str, Any]], state: FormState
    ) -> list[Row]:
        result = []
        for index in sorted(rows)[: table.max_rows + 1]:
            row = Row(index)
            for spec_field in table.fields:
                if not spec_field.read_only:
                    row.raw[spec_field.name] = _read_input(
                        spec_field, rows[index], spec_field.name
                    )
            result.append(row)
        return result

    def _prefilled_rows(
        self,
        table: RowTable,
        posted: dict[int, dict[str, Any]],
        state: FormState | None = None,
    ) -> list[Row]:
        """Build rows from the core's records; posted rows only change editable fields."""
        records = self.router.call(table.prefill_operation, self.caller, {})
        key = table.prefill_key
        posted_by_key = {}
        for values in posted.values():
            posted_by_key[str(values.get(key, ""))] = values
        rows = []
        for index, record in enumerate(records):
            row = Row(index)
            original = {}
            for spec_field in table.fields:
                source = table.prefill_fill.get(spec_field.name, spec_field.name)
                if source in record:
                    original[spec_field.name] = record[source]
                    row.values[spec_field.name] = record[source]
                    row.raw[spec_field.name] = format_input(spec_field, record[source])
            row.original = original
            submitted = posted_by_key.pop(str(record.get(key)), None)
            if submitted is not None:
                for spec_field in table.fields:
                    if not spec_field.read_only and spec_field.name in submitted:
                        row.raw[spec_field.name] = _read_input(
                            spec_field, submitted, spec_field.name
                        )
                        row.values.pop(spec_field.name, None)
            rows.append(row)
        if posted_by_key and state is not None:
            # Same message for a foreign and an unknown key, so nothing leaks.
            state.form_errors.append(
                f"{table.label}中有{len(posted_by_key)}行记录不存在，已忽略，请刷新后重试"
            )
        return rows


def _first(messages: Any) -> str:
    if isinstance(messages, list) and messages:
        return str(messages[0])
    return str(messages)


def _visible(condition: Expression, values: dict[str, Any]) -> bool:
    names = condition.references.names
    try:
        return bool(condition.evaluate({name: values.get(name) for name in names}))
    except ExpressionError:
        return False


def _empty_raw(spec_field: Field) -> Any:
    return {"from": "", "to": ""} if spec_field.type in RANGE_TYPES else ""


def _read_input(spec_field: Field, form: Mapping[str, Any], name: str) -> Any:
    if spec_field.type in RANGE_TYPES:
        return {
            "from": str(form.get(f"{name}_from", "")),
            "to": str(form.get(f"{name}_to", "")),
        }
    value = form.get(name, "")
    return value if isinstance(value, str) else str(value)


def form_inputs(service: Service, form: Mapping[str, Any]) -> dict[str, str]:
    """Return the posted inputs the form reads, to store with a draft; drop the rest."""
    names = {name for item in service.fields for name in item.input_names}
    columns = {
        table.name: {item.name for item in table.fields} | {ROW_MARKER}
        for table in service.rows
    }
    inputs = {}
    for key in form:
        if not isinstance(key, str):
            continue
        match = ROW_INPUT.match(key)
        in_row = match is not None and match["field"] in columns.get(match["table"], ())
        if key in names or in_row:
            inputs[key] = str(form.get(key, ""))
    return inputs


def _group_rows(
    service: Service, form: Mapping[str, Any]
) -> dict[str, dict[int, dict[str, Any]]]:
    tables = {table.name for table in service.rows}
    grouped: dict[str, dict[int, dict[str, Any]]] = {}
    for key in form:
        # Werkzeug keys a multipart part whose name it cannot read as None.
        if not isinstance(key, str):
            continue
        match = ROW_INPUT.match(key)
        if not match or match["table"] not in tables:
            continue
        index = int(match["index"])
        if index > MAX_ROW_INDEX:
            continue
        grouped.setdefault(match["table"], {}).setdefault(index, {})[match["field"]] = (
            form.get(key)
        )
    return grouped


def _row_changed(table: RowTable, row: Row) -> bool:
    if row.original is None:
        return True
    for spec_field in table.fields:
        if spec_field.read_only:
            continue
        if row.values.get(spec_field.name) != row.original.get(spec_field.name):
            return True
    return False
