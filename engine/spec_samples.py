"""Generate test submissions of a service from its spec, with the error each must give.

Valid values are drawn with Hypothesis strategies built from each field's type and
checks. Invalid submissions change one field of a valid one: past each boundary of
each check, missing while required, of the wrong type, or outside the choices. A
field hidden by its visible-when condition but filled in is accepted and dropped.
Submissions are form inputs as a browser posts them, so a test can run them through
the engine unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from engine.clock import business_date
from engine.expressions import ExpressionError
from engine.fields import DEFAULT_MAX_LENGTH, Invalid, message_for, parse_value
from engine.money import round_half_up
from engine.service import RANGE_TYPES, Field, RowTable, Service

# Area codes that python-stdnum accepts for every birth year from 1950 on, so that
# generated ID numbers pass the area check. Some codes are valid only since a year.
AREA_CODES = ("110101", "110102", "310101", "310104")

# Letters and digits for generated text: Chinese characters and ASCII, no spaces,
# because the engine strips surrounding spaces from every input.
TEXT_ALPHABET = "张王李赵陈刘公积金缴存单位职工ABCDEFabcdef0123456789"

# Where a spec sets no bound, generated amounts stay below this.
DEFAULT_CEILING = Decimal(1_000_000)

NUMERIC_TYPES = {"number", "money", "percent"}


@dataclass
class Sample:
    """One submission: its form inputs and, for an invalid one, the error expected."""

    case: str
    form: dict[str, str]
    # Where the error shows: a field name, or TABLE.INDEX.FIELD for a row field,
    # or a row table's name for an error about the table.
    where: str | None = None
    error: str | None = None


@dataclass
class Samples:
    """The submissions of one service."""

    service: str
    valid: list[Sample] = field(default_factory=list)
    invalid: list[Sample] = field(default_factory=list)
    # Filled-in hidden fields: accepted, and left out of the submitted data.
    ignored: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# Valid values -----------------------------------------------------------------------


def _bounds(
    spec_field: Field, resolve: Callable[[Any], Decimal]
) -> tuple[Decimal | None, Decimal | None]:
    low, high = spec_field.checks.get("min"), spec_field.checks.get("max")
    if spec_field.type == "money" and low is None:
        low = 0
    return (
        resolve(low) if low is not None else None,
        resolve(high) if high is not None else None,
    )


def places(spec_field: Field) -> int:
    """Return the most decimal places the field accepts."""
    if spec_field.type == "money":
        return 2
    if spec_field.type == "percent":
        return 3
    return int(spec_field.checks.get("places", 0))


def _decimal_text(value: Decimal, spec_field: Field) -> str:
    if spec_field.type == "money":
        return str(round_half_up(value, 2))
    return f"{value.normalize():f}"


def value_strategy(
    spec_field: Field,
    resolve: Callable[[Any], Decimal],
    options: Mapping[str, list[str]],
) -> st.SearchStrategy[Any]:
    """Return a strategy of valid raw inputs of `spec_field`."""
    kind = spec_field.type

    if kind in NUMERIC_TYPES:
        low, high = _bounds(spec_field, resolve)
        low = low if low is not None else Decimal(0)
        high = high if high is not None else max(low, Decimal(0)) + DEFAULT_CEILING
        scale = min(places(spec_field), 2)
        return st.decimals(
            min_value=low, max_value=high, places=scale, allow_nan=False
        ).map(lambda value: _decimal_text(value, spec_field))

    if kind in ("text", "textarea"):
        return _text_strategy(spec_field)
    if kind == "password":
        # One strong password for every password field, so fields typed twice match.
        return st.just("Sample@2026")
    if kind in ("date", "month", "date-range", "month-range"):
        return _date_strategy(spec_field)

    if kind == "choice":
        offered = options.get(spec_field.name) or [c.value for c in spec_field.choices]
        return st.sampled_from(offered) if offered else st.just("")
    if kind == "checkbox":
        return st.just("on") if spec_field.required else st.sampled_from(["on", ""])
    if kind == "id-number":
        return st.builds(
            _id_number,
            st.sampled_from(AREA_CODES),
            st.dates(dt.date(1950, 1, 1), dt.date(2005, 12, 31)),
            st.integers(0, 999),
        )
    if kind == "mobile":
        return st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
    if kind == "bank-card":
        return st.from_regex(r"62[0-9]{15}", fullmatch=True).map(_with_luhn_digit)
    if kind == "uscc":
        body = st.from_regex(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{9}", fullmatch=True)
        return body.map(lambda text: text + uscc.calc_check_digit(text + "0"))
    # A type without a generator of its own: the field stays empty.
    return st.just("")


def _id_number(area: str, birth: dt.date, sequence: int) -> str:
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    # calc_check_digit reads the first 17 characters, so pass a placeholder 18th.
    return body + ric.calc_check_digit(body + "0")


def _with_luhn_digit(digits: str) -> str:
    from stdnum import luhn

    return digits + luhn.calc_check_digit(digits)


def _text_strategy(spec_field: Field) -> st.SearchStrategy[str]:
    limit = spec_field.checks.get(
        "max-length", DEFAULT_MAX_LENGTH.get(spec_field.type, 100)
    )
    minimum = max(spec_field.checks.get("min-length", 1), 1)
    pattern = spec_field.checks.get("pattern")
    if pattern:
        return st.from_regex(pattern, fullmatch=True).filter(
            lambda text: minimum <= len(text.strip()) <= limit and text == text.strip()
        )
    return st.text(TEXT_ALPHABET, min_size=minimum, max_size=min(limit, 20))


def _date_strategy(spec_field: Field) -> st.SearchStrategy[Any]:
    latest = (
        business_date()
        if spec_field.checks.get("not-future")
        else dt.date(2030, 12, 31)
    )
    days = st.dates(dt.date(2000, 1, 1), latest)
    if spec_field.type == "date":
        return days.map(dt.date.isoformat)
    if spec_field.type == "month":
        return days.map(lambda day: f"{day:%Y-%m}")
    span = int(spec_field.checks.get("max-months", 12))
    text = dt.date.isoformat if spec_field.type == "date-range" else _month_text
    return st.tuples(days, st.integers(0, span - 1)).map(
        lambda pair: {
            "from": text(pair[0]),
            "to": text(_months_later(pair[0], pair[1])),
        }
    )


def _month_text(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def _months_later(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """Draw `count` examples of `strategy`, the same ones on every run."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found[:count]


# Building submissions --------------------------------------------------------------


def _put(form: dict[str, str], name: str, spec_field: Field, raw: Any) -> None:
    """Write a raw value into the form under the inputs of `spec_field`."""
    if spec_field.type in RANGE_TYPES:
        value = raw if isinstance(raw, dict) else {"from": "", "to": ""}
        form[f"{name}_from"] = value.get("from", "")
        form[f"{name}_to"] = value.get("to", "")
    else:
        form[name] = str(raw)


def _editable(fields: list[Field]) -> list[Field]:
    return [item for item in fields if not item.read_only and item.type != "file"]


class SampleBuilder:
    """Builds the samples of one service."""

    def __init__(
        self,
        service: Service,
        resolve: Callable[[Any], Decimal],
        *,
        options: Mapping[str, list[str]] | None = None,
        prefilled: Mapping[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.service = service
        self.resolve = resolve
        self.options = dict(options or {})
        self.prefilled = dict(prefilled or {})
        self.samples = Samples(service.id)

    def build(self, count: int = 3) -> Samples:
        tables = [table for table in self.service.rows if self.usable(table)]
        strategy = st.fixed_dictionaries(
            {
                "top": self.fields_strategy(self.service.fields),
                "rows": st.fixed_dictionaries(
                    {table.name: self.fields_strategy(table.fields) for table in tables}
                ),
            }
        )
        drawn = draw(strategy, count)
        self.drawn = drawn
        for number, values in enumerate(drawn, start=1):
            form = self.form_of(values["top"], values["rows"], tables)
            self.samples.valid.append(Sample(f"valid #{number}", form))
        base_values = drawn[0]
        self.top_cases(base_values)
        for table in tables:
            self.row_cases(base_values, table, tables)
        return self.samples

    def usable(self, table: RowTable) -> bool:
        if table.prefill_operation is None:
            return True
        if self.prefilled.get(table.name):
            return True
        self.samples.notes.append(
            f"the rows of {table.name} come from {table.prefill_operation}, so no "
            "samples are made for them"
        )
        return False

    def fields_strategy(self, fields: list[Field]) -> st.SearchStrategy[dict[str, Any]]:
        strategies = {}
        for item in _editable(fields):
            if item.type == "choice" and not self.offered(item):
                self.samples.notes.append(
                    f"the options of {item.name} come from {item.choices_lookup}, "
                    "so it is left empty"
                )
                continue
            strategies[item.name] = value_strategy(item, self.resolve, self.options)
        return st.fixed_dictionaries(strategies)

    def offered(self, spec_field: Field) -> list[str]:
        return self.options.get(spec_field.name) or [
            choice.value for choice in spec_field.choices
        ]

    # Forms

    def form_of(
        self,
        top: dict[str, Any],
        rows: dict[str, dict[str, Any]],
        tables: list[RowTable],
    ) -> dict[str, str]:
        form: dict[str, str] = {}
        for item in _editable(self.service.fields):
            if item.name in top and self.visible(item, top):
                _put(form, item.name, item, top[item.name])
        for table in tables:
            for index, values in self.table_rows(table, rows[table.name]).items():
                for name, raw in values.items():
                    _put(form, f"{table.name}-{index}-{name}", table.field(name), raw)
        return form

    def table_rows(
        self, table: RowTable, values: dict[str, Any]
    ) -> dict[int, dict[str, Any]]:
        """Return the rows to post: by hand, or one changed row of the core's rows."""
        if table.prefill_operation is None:
            count = max(table.min_rows, 1)
            return {index: dict(values) for index in range(count)}
        record = self.prefilled[table.name][0]
        key = table.prefill_key or ""
        changed = dict(values)
        for name, raw in values.items():
            original = record.get(table.prefill_fill.get(name, name))
            if original is not None and str(raw) == str(original):
                # A prefilled row counts only when a value differs from the core's.
                changed[name] = self.other_value(table.field(name), raw)
        return {0: {key: str(record.get(key, "")), **changed}}

    def other_value(self, spec_field: Field, raw: Any) -> Any:
        for candidate in draw(
            value_strategy(spec_field, self.resolve, self.options), 5
        ):
            if str(candidate) != str(raw):
                return candidate
        return raw

    def visible(self, spec_field: Field, values: dict[str, Any]) -> bool:
        condition = spec_field.visible_when
        if condition is None:
            return True
        scope: dict[str, Any] = {}
        for item in self.service.fields:
            raw = values.get(item.name)
            try:
                scope[item.name] = (
                    parse_value(item, raw) if raw not in (None, "") else None
                )
            except Invalid:
                scope[item.name] = None
        try:
            return bool(condition.evaluate(scope))
        except ExpressionError:
            return False

    # Invalid cases

    def top_cases(self, base: dict[str, Any]) -> None:
        tables = [table for table in self.service.rows if self.usable_quiet(table)]
        for item in _editable(self.service.fields):
            if item.name not in base["top"]:
                continue
            if item.visible_when is not None:
                self.hidden_case(item, tables)
            if not self.visible(item, base["top"]):
                continue
            for case, raw, code, params in field_cases(
                item, self.resolve, self.offered(item)
            ):
                if case == "missing" and item.name in self.refilled():
                    # The engine fills an emptied field again from its lookup.
                    continue
                changed = {**base["top"], item.name: raw}
                form = self.form_of(changed, base["rows"], tables)
                sample = self.case_sample(
                    f"{item.name}: {case}", form, item.name, item, code, params
                )
                (self.samples.valid if code is None else self.samples.invalid).append(
                    sample
                )

    def refilled(self) -> set[str]:
        """Return the top-level fields that a lookup without a trigger fills."""
        return {
            target
            for lookup in self.service.lookups
            if lookup.trigger is None
            for target in lookup.fill
        }

    def hidden_case(self, spec_field: Field, tables: list[RowTable]) -> None:
        """Add a submission that fills `spec_field` while its condition hides it."""
        for values in self.drawn:
            if spec_field.name in values["top"] and not self.visible(
                spec_field, values["top"]
            ):
                form = self.form_of(values["top"], values["rows"], tables)
                _put(form, spec_field.name, spec_field, values["top"][spec_field.name])
                case = f"{spec_field.name}: filled while hidden"
                self.samples.ignored.append(Sample(case, form, spec_field.name))
                return
        self.samples.notes.append(
            f"no valid submission hides {spec_field.name}, so it has no hidden case"
        )

    def usable_quiet(self, table: RowTable) -> bool:
        return table.prefill_operation is None or bool(self.prefilled.get(table.name))

    def row_cases(
        self, base: dict[str, Any], table: RowTable, tables: list[RowTable]
    ) -> None:
        for item in _editable(table.fields):
            if item.name not in base["rows"][table.name]:
                continue
            for case, raw, code, params in field_cases(
                item, self.resolve, self.offered(item)
            ):
                rows = {
                    **base["rows"],
                    table.name: {**base["rows"][table.name], item.name: raw},
                }
                form = self.form_of(base["top"], rows, tables)
                where = f"{table.name}.0.{item.name}"
                sample = self.case_sample(
                    f"{table.label}: {item.name}: {case}",
                    form,
                    where,
                    item,
                    code,
                    params,
                )
                (self.samples.valid if code is None else self.samples.invalid).append(
                    sample
                )
        if table.prefill_operation is None and table.min_rows >= 1:
            form = self.form_of(
                base["top"], base["rows"], [t for t in tables if t is not table]
            )
            message = (
                f"{table.label}至少需要{table.min_rows}行，请点击“{table.add_label}”"
            )
            self.samples.invalid.append(
                Sample(f"{table.name}: no rows", form, table.name, message)
            )

    def case_sample(
        self,
        case: str,
        form: dict[str, str],
        where: str,
        spec_field: Field,
        code: str | None,
        params: dict[str, Any],
    ) -> Sample:
        if code is None:
            return Sample(case, form)
        return Sample(
            case, form, where, message_for(spec_field, Invalid(code, **params))
        )


# One field's cases: (case, raw input, error code or None for a valid input,
# message parameters).
FieldCase = tuple[str, Any, str | None, dict[str, Any]]


def field_cases(
    spec_field: Field, resolve: Callable[[Any], Decimal], offered: list[str]
) -> list[FieldCase]:
    """Return the boundary, required, type and choice cases of one field."""
    cases: list[FieldCase] = []
    if spec_field.required and spec_field.visible_when is None:
        code = {"choice": "required_choice", "checkbox": "required_checkbox"}.get(
            spec_field.type, "required"
        )
        empty: Any = {"from": "", "to": ""} if spec_field.type in RANGE_TYPES else ""
        cases.append(("missing", empty, code, {}))
    kind = spec_field.type
    if kind in NUMERIC_TYPES:
        cases += _numeric_cases(spec_field, resolve)
    elif kind in ("text", "textarea"):
        cases += _text_cases(spec_field)
    elif kind == "date":
        cases.append(("not a date", "2026-02-30", "date", {}))
        if spec_field.checks.get("not-future"):
            tomorrow = business_date() + dt.timedelta(days=1)
            cases.append(("tomorrow", tomorrow.isoformat(), "not-future", {}))
    elif kind == "month":
        cases.append(("not a month", "2026-13", "month", {}))
    elif kind in RANGE_TYPES:
        cases += _range_cases(spec_field)
    elif kind == "choice" and offered:
        cases.append(("not an option", "not-an-option", "choice", {}))
    elif kind == "id-number":
        cases.append(("too short", "44020319850305", "id-number.length", {}))
        cases.append(
            ("wrong check digit", _wrong_check_digit(), "id-number.checksum", {})
        )
    elif kind == "mobile":
        cases.append(("too short", "1380013", "mobile.format", {}))
    elif kind == "bank-card":
        cases.append(("letters", "6222abc", "bank-card.format", {}))
    elif kind == "uscc":
        cases.append(("too short", "91440200", "uscc.length", {}))
    return cases


def _wrong_check_digit() -> str:
    body = "44020319850305021"
    right = ric.calc_check_digit(body + "0")
    return body + ("1" if right != "1" else "2")


def _numeric_cases(
    spec_field: Field, resolve: Callable[[Any], Decimal]
) -> list[FieldCase]:
    cases: list[FieldCase] = [("not a number", "abc", spec_field.type, {})]

    step = Decimal(1).scaleb(-places(spec_field))
    low, high = _bounds(spec_field, resolve)
    shown = {"min": _show(spec_field, low), "max": _show(spec_field, high)}
    code_low = "between" if low is not None and high is not None else "min"
    code_high = "between" if low is not None and high is not None else "max"

    if low is not None:
        cases.append(("at the minimum", _decimal_text(low, spec_field), None, {}))
        cases.append(
            (
                "below the minimum",
                _decimal_text(low - step, spec_field),
                code_low,
                shown,
            )
        )
    if high is not None:
        cases.append(("at the maximum", _decimal_text(high, spec_field), None, {}))
        cases.append(
            (
                "above the maximum",
                _decimal_text(high + step, spec_field),
                code_high,
                shown,
            )
        )

    # A value inside the bounds with one decimal place more than the field takes.
    inside = low if low is not None else Decimal(0)
    if places(spec_field):
        finer = _decimal_text(inside + step, spec_field) + "1"
    else:
        finer = f"{inside.to_integral_value()}.5"
    cases.append(
        ("too many decimal places", finer, "places", {"places": places(spec_field)})
    )
    return cases


def _show(spec_field: Field, bound: Decimal | None) -> str:
    """Write a bound as the engine's messages show it."""
    if bound is None:
        return ""
    if spec_field.type == "money":
        return f"{round_half_up(bound, 2):,}元"
    if spec_field.type == "percent":
        return f"{bound.normalize():f}%"
    return f"{bound.normalize():f}"


def _text_cases(spec_field: Field) -> list[FieldCase]:
    limit = spec_field.checks.get(
        "max-length", DEFAULT_MAX_LENGTH.get(spec_field.type, 100)
    )
    cases: list[FieldCase] = [
        ("at the maximum length", "字" * limit, None, {})
        if not spec_field.checks.get("pattern")
        else None,
        (
            "over the maximum length",
            "字" * (limit + 1),
            "max-length",
            {"max_length": limit},
        ),
    ]
    minimum = spec_field.checks.get("min-length")
    if minimum and minimum > 1:
        cases.append(
            (
                "under the minimum length",
                "字" * (minimum - 1),
                "min-length",
                {"min_length": minimum},
            )
        )
    pattern = spec_field.checks.get("pattern")
    if pattern:
        for candidate in ("字", "x", "0", "@"):
            if not re.fullmatch(pattern, candidate) and len(candidate) >= (
                minimum or 0
            ):
                cases.append(("not matching the pattern", candidate, "pattern", {}))
                break
    return [case for case in cases if case is not None]


def _range_cases(spec_field: Field) -> list[FieldCase]:
    monthly = spec_field.type == "month-range"
    first = "2024-01" if monthly else "2024-01-01"
    later = "2024-03" if monthly else "2024-03-01"
    cases: list[FieldCase] = [
        ("start only", {"from": first, "to": ""}, "range-missing", {}),
        ("start after end", {"from": later, "to": first}, "range-order", {}),
    ]
    limit = spec_field.checks.get("max-months")
    if limit:
        start = dt.date(2020, 1, 1)
        end = _months_later(start, int(limit))
        text = _month_text if monthly else dt.date.isoformat
        cases.append(
            (
                "one month too long",
                {"from": text(start), "to": text(end)},
                "max-months",
                {"max_months": limit},
            )
        )
        end = _months_later(start, int(limit) - 1)
        cases.append(
            ("at the longest span", {"from": text(start), "to": text(end)}, None, {})
        )
    return cases


def make_samples(
    service: Service,
    resolve: Callable[[Any], Decimal],
    *,
    count: int = 3,
    options: Mapping[str, list[str]] | None = None,
    prefilled: Mapping[str, list[dict[str, Any]]] | None = None,
) -> Samples:
    """Return the valid, invalid and ignored submissions of `service`."""
    builder = SampleBuilder(service, resolve, options=options, prefilled=prefilled)
    return builder.build(count)
