"""The page model of a service, built once from its checked spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.expressions import Expression, compile_expression

# Field types whose value is a pair of inputs, `<name>_from` and `<name>_to`.
RANGE_TYPES = {"date-range", "month-range"}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass
class Field:
    """One input of a form, top-level or in a repeating row."""

    name: str
    type: str
    label: str
    help: str = ""
    placeholder: str = ""
    required: bool = False
    read_only: bool = False
    default: Any = None
    default_expression: Expression | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    choices: list[Choice] = field(default_factory=list)
    choices_lookup: str | None = None
    visible_when: Expression | None = None
    messages: dict[str, str] = field(default_factory=dict)
    # Set when the engine finds out what the field triggers.
    triggers_lookup: str | None = None
    triggers_calculation: bool = False

    @property
    def input_names(self) -> list[str]:
        if self.type in RANGE_TYPES:
            return [f"{self.name}_from", f"{self.name}_to"]
        return [self.name]


@dataclass(frozen=True)
class Lookup:
    name: str
    operation: str
    fill: dict[str, str]
    trigger: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def parameters(self, values: dict[str, Any]) -> dict[str, Any]:
        if self.params:
            return {key: values.get(source) for key, source in self.params.items()}
        if self.trigger:
            return {self.trigger: values.get(self.trigger)}
        return {}


@dataclass(frozen=True)
class Calculation:
    target: str
    expression: Expression
    places: int | str | None = None


@dataclass(frozen=True)
class RowImport:
    """Spec of a row table's import of changed rows from an uploaded spreadsheet."""

    key: str
    # Row fields read from the file, the key first; the header shows their labels.
    columns: tuple[str, ...]
    # Read-only row fields the template shows for reference, which an upload ignores.
    reference_columns: tuple[str, ...] = ()
    format: str = "xlsx"
    max_rows: int = 200
    max_size_kb: int = 10240

    @property
    def template_columns(self) -> tuple[str, ...]:
        """Columns of the template: the key, the reference columns, then the rest."""
        rest = tuple(name for name in self.columns if name != self.key)
        return (self.key, *self.reference_columns, *rest)


@dataclass
class RowTable:
    """A repeating table of rows, each with the same fields."""

    name: str
    label: str
    fields: list[Field]
    add_label: str = "录入"
    min_rows: int = 0
    max_rows: int = 200
    lookups: list[Lookup] = field(default_factory=list)
    calculations: list[Calculation] = field(default_factory=list)
    prefill_operation: str | None = None
    prefill_key: str | None = None
    prefill_fill: dict[str, str] = field(default_factory=dict)
    submit_rows: str = "all"
    # Rows shown per page of the form; None shows every row.
    page_size: int | None = None
    row_import: RowImport | None = None

    def field(self, name: str) -> Field:
        return next(item for item in self.fields if item.name == name)

    @property
    def editable(self) -> bool:
        """Rows come and go by hand unless the core supplies them."""
        return self.prefill_operation is None

    @property
    def row_limit(self) -> int:
        """Return the maximum number of rows the form accepts, raised by an import."""
        if self.row_import is None:
            return self.max_rows
        return max(self.max_rows, self.row_import.max_rows)


@dataclass(frozen=True)
class AttachmentKind:
    kind: str
    label: str
    types: tuple[str, ...]
    required: bool = False
    help: str = ""
    max_size_kb: int = 5120
    max_count: int = 10


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str = "text"
    sortable: bool = True
    link: str | None = None


@dataclass(frozen=True)
class Fact:
    """A value of a certificate that the public verification page shows."""

    name: str
    label: str
    type: str = "text"
    # The text shown for an empty value, the same as the certificate prints.
    empty: str = ""


@dataclass
class Result:
    operation: str
    on_load: bool = False
    card: list[Column] = field(default_factory=list)
    table_columns: list[Column] = field(default_factory=list)
    table_title: str = ""
    table_key: str | None = None
    page_size: int = 20
    sort: str | None = None
    descending: bool = False
    export: bool = True
    chart: dict[str, str] | None = None
    row_filter: Expression | None = None


@dataclass(frozen=True)
class Printout:
    """The certificate a print service issues: template, data and verified facts."""

    operation: str
    template: str
    filename: str
    facts: tuple[Fact, ...] = ()
    # Days the certificate stays valid after its day of issue; None for no limit.
    valid_days: int | None = None


@dataclass
class Service:
    """Everything the engine needs to serve one spec."""

    id: str
    version: int
    title: str
    hall: str
    kind: str
    group: str
    order: int
    description: str = ""
    fields: list[Field] = field(default_factory=list)
    rows: list[RowTable] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    calculations: list[Calculation] = field(default_factory=list)
    attachments: list[AttachmentKind] = field(default_factory=list)
    agreement: dict[str, str] | None = None
    verification: str | None = None
    submit_operation: str | None = None
    success_message: str = ""
    result: Result | None = None
    printout: Printout | None = None
    public: bool = False
    verification_check: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict, repr=False)
    # The marshmallow schema class of the form, built from the fields on first use.
    # The fields never change after the service is built, so neither does the class.
    form_schema: type | None = field(default=None, repr=False, compare=False)

    def field(self, name: str) -> Field:
        return next(item for item in self.fields if item.name == name)

    def table(self, name: str) -> RowTable:
        return next(item for item in self.rows if item.name == name)

    def lookup(self, name: str) -> tuple[Lookup, RowTable | None]:
        for item in self.lookups:
            if item.name == name:
                return item, None
        for table in self.rows:
            for item in table.lookups:
                if item.name == name:
                    return item, table
        raise KeyError(name)

    @property
    def spec_version(self) -> str:
        return str(self.version)

    @property
    def max_form_parts(self) -> int:
        """Count the inputs the service's page can post when every table is full.

        Every cell is an input, read-only ones included, and each row adds its row
        marker. One row more than the maximum is counted, so that the form runtime
        reads it and reports the limit. Each uploaded file is a part of its own.
        """
        parts = sum(len(item.input_names) for item in self.fields)
        for table in self.rows:
            parts += (table.max_rows + 1) * (len(table.fields) + 1)
        parts += sum(item.max_count for item in self.attachments)
        return parts


def build_service(spec: dict[str, Any]) -> Service:
    """Turn a spec that passed every check into the engine's page model."""
    menu = spec["menu"]
    service = Service(
        id=spec["id"],
        version=spec["version"],
        title=spec["title"],
        hall=spec["hall"],
        kind=spec["kind"],
        group=menu["group"],
        order=menu["order"],
        description=spec.get("description", ""),
        fields=[_build_field(item) for item in spec.get("fields", [])],
        rows=[_build_rows(item) for item in spec.get("rows", [])],
        lookups=[_build_lookup(item) for item in spec.get("lookups", [])],
        calculations=[
            _build_calculation(item) for item in spec.get("calculations", [])
        ],
        attachments=[_build_attachment(item) for item in spec.get("attachments", [])],
        agreement=spec.get("agreement"),
        verification=(spec.get("verification") or {}).get("method"),
        submit_operation=(spec.get("submit") or {}).get("operation"),
        success_message=(spec.get("submit") or {}).get("success-message", ""),
        result=_build_result(spec["result"]) if "result" in spec else None,
        printout=_build_printout(spec) if "print" in spec else None,
        public=spec.get("public", False),
        verification_check=(spec.get("verification") or {}).get("check"),
        steps=list(spec.get("steps", [])),
        source=spec,
    )
    _mark_triggers(service.fields, service.lookups, service.calculations, service.rows)
    for table in service.rows:
        _mark_triggers(table.fields, table.lookups, table.calculations, [])
        # A row field that a top-level total reads triggers recalculation as well.
        for calculation in service.calculations:
            for table_name, column in calculation.expression.references.columns:
                if table_name == table.name:
                    table.field(column).triggers_calculation = True
    return service


def _mark_triggers(
    fields: list[Field],
    lookups: list[Lookup],
    calculations: list[Calculation],
    tables: list[RowTable],
) -> None:
    by_name = {item.name: item for item in fields}
    for lookup in lookups:
        if lookup.trigger in by_name:
            by_name[lookup.trigger].triggers_lookup = lookup.name
    for calculation in calculations:
        for name in calculation.expression.references.names:
            if name in by_name:
                by_name[name].triggers_calculation = True
    # Changing a field that decides another's visibility redraws that field.
    for item in fields:
        if item.visible_when is not None:
            for name in item.visible_when.references.names:
                if name in by_name:
                    by_name[name].triggers_calculation = True
    for table in tables:
        for calculation in table.calculations:
            for name in calculation.expression.references.names:
                if name in by_name:
                    by_name[name].triggers_calculation = True


def _build_field(spec: dict[str, Any]) -> Field:
    default_expression = spec.get("default-expression")
    visible_when = spec.get("visible-when")
    return Field(
        name=spec["name"],
        type=spec["type"],
        label=spec["label"],
        help=spec.get("help", ""),
        placeholder=spec.get("placeholder", ""),
        required=spec.get("required", False),
        read_only=spec.get("read-only", False),
        default=spec.get("default"),
        default_expression=compile_expression(default_expression)
        if default_expression
        else None,
        checks=dict(spec.get("checks", {})),
        choices=[
            Choice(item["value"], item["label"]) for item in spec.get("choices", [])
        ],
        choices_lookup=spec.get("choices-lookup"),
        visible_when=compile_expression(visible_when) if visible_when else None,
        messages=dict(spec.get("messages", {})),
    )


def _build_rows(spec: dict[str, Any]) -> RowTable:
    prefill = spec.get("prefill") or {}
    imported = spec.get("import")
    return RowTable(
        name=spec["name"],
        label=spec["label"],
        fields=[_build_field(item) for item in spec["fields"]],
        add_label=spec.get("add-label", "录入"),
        min_rows=spec.get("min-rows", 0),
        max_rows=spec.get("max-rows", 200),
        lookups=[_build_lookup(item) for item in spec.get("lookups", [])],
        calculations=[
            _build_calculation(item) for item in spec.get("calculations", [])
        ],
        prefill_operation=prefill.get("operation"),
        prefill_key=prefill.get("key"),
        prefill_fill=dict(prefill.get("fill", {})),
        submit_rows=spec.get("submit-rows", "all"),
        page_size=spec.get("page-size"),
        row_import=_build_import(imported, spec.get("max-rows", 200))
        if imported
        else None,
    )


def _build_import(spec: dict[str, Any], table_max_rows: int) -> RowImport:
    key = spec["key"]
    columns = [key] + [name for name in spec["columns"] if name != key]
    return RowImport(
        key=key,
        columns=tuple(columns),
        reference_columns=tuple(spec.get("reference-columns", [])),
        format=spec["format"],
        max_rows=spec.get("max-rows", table_max_rows),
        max_size_kb=spec.get("max-size-kb", 10240),
    )


def _build_lookup(spec: dict[str, Any]) -> Lookup:
    return Lookup(
        name=spec["name"],
        operation=spec["operation"],
        fill=dict(spec["fill"]),
        trigger=spec.get("trigger"),
        params=dict(spec.get("params", {})),
    )


def _build_calculation(spec: dict[str, Any]) -> Calculation:
    return Calculation(
        target=spec["target"],
        expression=compile_expression(spec["expression"]),
        places=spec.get("places"),
    )


def _build_attachment(spec: dict[str, Any]) -> AttachmentKind:
    return AttachmentKind(
        kind=spec["kind"],
        label=spec["label"],
        types=tuple(spec["types"]),
        required=spec.get("required", False),
        help=spec.get("help", ""),
        max_size_kb=spec.get("max-size-kb", 5120),
        max_count=spec.get("max-count", 10),
    )


def _build_column(spec: dict[str, Any]) -> Column:
    return Column(
        name=spec["name"],
        label=spec["label"],
        type=spec.get("type", "text"),
        sortable=spec.get("sortable", True),
        link=spec.get("link"),
    )


def _build_result(spec: dict[str, Any]) -> Result:
    table = spec.get("table") or {}
    return Result(
        operation=spec["operation"],
        on_load=spec.get("on-load", False),
        card=[_build_column(item) for item in spec.get("card", [])],
        table_columns=[_build_column(item) for item in table.get("columns", [])],
        table_title=table.get("title", ""),
        table_key=table.get("key"),
        page_size=table.get("page-size", 20),
        sort=table.get("sort"),
        descending=table.get("descending", False),
        export=table.get("export", True),
        chart=spec.get("chart"),
        row_filter=compile_expression(table["filter"]) if "filter" in table else None,
    )


def _build_printout(spec: dict[str, Any]) -> Printout:
    section = spec["print"]
    return Printout(
        operation=section["operation"],
        template=section["template"],
        filename=section.get("filename", spec["title"]),
        valid_days=section.get("valid_days"),
        facts=tuple(
            Fact(
                name=item["name"],
                label=item["label"],
                type=item.get("type", "text"),
                empty=item.get("empty", ""),
            )
            for item in section.get("facts", [])
        ),
    )
