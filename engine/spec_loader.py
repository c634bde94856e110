"""Read one spec YAML file into plain values, with the line and column of every node."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from engine import spec_errors

SpecPath = tuple[str | int, ...]
Position = tuple[int, int]

# Given a spec path, return the JSON types the meta-schema accepts there ("string",
# "boolean", ...), or None when the path is not described by the meta-schema.
ExpectedTypes = Callable[[SpecPath], "frozenset[str] | None"]

_YAML_TAG = "tag:yaml.org,2002:"

# YAML 1.1 reads these plain words as booleans. PyYAML 6 follows it except for the
# one-letter forms, which other YAML 1.1 tools still turn into booleans.
_TRUE_FALSE = {"true", "false"}
_ONE_LETTER_BOOLEANS = {"y", "n"}
_BOOLEAN_WORDS = _TRUE_FALSE | _ONE_LETTER_BOOLEANS | {"yes", "no", "on", "off"}

_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+(\.[0-9_]*)?([eE][-+]?[0-9]+)?$")


@dataclass(frozen=True)
class SpecError:
    """One problem in a spec file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    path: str
    message: str
    code: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"
        return f"{text} [{self.code}]" if self.code else text

    @property
    def is_warning(self) -> bool:
        """Whether the spec still loads with this finding."""
        return spec_errors.is_warning(self.code)


def format_path(path: SpecPath) -> str:
    """Format a spec path as `fields[2].type`, or as `(file)` for the whole file."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(file)"


@dataclass
class LoadedYaml:
    """The plain data of one YAML file, where each node starts, and what went wrong."""

    file: str
    data: Any = None
    marks: dict[SpecPath, Position] = field(default_factory=dict)
    key_marks: dict[SpecPath, Position] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)
    syntax_error: bool = False

    def position(self, path: SpecPath, *, key: bool = False) -> Position:
        """Return where `path` starts, or where its nearest parent with a mark starts.

        With `key`, point at the mapping key of `path` rather than at its value.
        """
        if key and path in self.key_marks:
            return self.key_marks[path]
        for length in range(len(path), -1, -1):
            if path[:length] in self.marks:
                return self.marks[path[:length]]
        return (1, 1)

    def error(
        self, path: SpecPath, text: str, *, key: bool = False, code: str = ""
    ) -> SpecError:
        """Build a finding with the message `text` and `code`, located at `path`."""
        line, column = self.position(path, key=key)
        return SpecError(self.file, line, column, format_path(path), text, code)


def load_yaml(
    path: Path, *, file: str | None = None, expected_types: ExpectedTypes | None = None
) -> LoadedYaml:
    """Read the YAML file at `path`, naming it `file` in errors."""
    name = file if file is not None else str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        loaded = LoadedYaml(name, syntax_error=True)
        text = spec_errors.message("E001")
        loaded.errors.append(SpecError(name, line, column, "(file)", text, "E001"))
        return loaded
    return parse_yaml(text, file=name, expected_types=expected_types)


def parse_yaml(
    text: str, *, file: str, expected_types: ExpectedTypes | None = None
) -> LoadedYaml:
    """Parse YAML text into plain values, reporting each YAML surprise as an error.

    A syntax error is the only error reported then, because the rest of the file
    cannot be read reliably after it.
    """
    loaded = LoadedYaml(file)
    try:
        loader, root = _compose(text, _FastSpecLoader or _SpecLoader)
    except yaml.MarkedYAMLError as error:
        reported = error
        if _FastSpecLoader is not None:
            # The Python reader words syntax errors more clearly, so read it again.
            try:
                _compose(text, _SpecLoader)
            except yaml.MarkedYAMLError as python_error:
                reported = python_error
        loaded.syntax_error = True
        loaded.errors.append(_syntax_error(file, reported))
        return loaded
    if root is None:
        text = spec_errors.message("E002")
        loaded.errors.append(SpecError(file, 1, 1, "(file)", text, "E002"))
        return loaded
    builder = _Builder(loader, loaded, expected_types or (lambda path: None))
    loaded.data = builder.build(root, ())
    return loaded


def _compose(text: str, loader_class: type[_SpecLoader]) -> tuple[Any, Node | None]:
    """Compose the single document of `text` into nodes; return the loader too."""
    loader = loader_class(text)
    try:
        return loader, loader.get_single_node()
    finally:
        loader.dispose()


def _syntax_error(file: str, error: yaml.MarkedYAMLError) -> SpecError:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = str(error.problem)
    if error.context and error.context_mark:
        problem += f" ({error.context} on line {error.context_mark.line + 1})"
    elif error.context:
        problem += f" ({error.context})"
    text = spec_errors.message("E003", problem=problem)
    return SpecError(file, line, column, "(file)", text, "E003")


class _AliasNode(Node):
    """A placeholder for an alias such as `*base`, reported and never expanded."""

    id = "alias"


class _SpecComposer(Composer):
    """A composer that remembers explicit tags and anchors and keeps aliases apart."""

    explicit_tags: dict[int, str]
    node_anchors: dict[int, str]

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):  # type: ignore[attr-defined]
            event = self.get_event()  # type: ignore[attr-defined]
            # Leaving aliases unexpanded also defuses "billion laughs" documents.
            mark = event.start_mark
            return _AliasNode("alias", event.anchor, mark, event.end_mark)
        event = self.peek_event()  # type: ignore[attr-defined]
        node = super().compose_node(parent, index)
        if isinstance(node, ScalarNode) and node.style == "":
            # libyaml marks a plain scalar with "", the Python parser with None.
            node.style = None
        if getattr(event, "tag", None) is not None:
            self.explicit_tags[id(node)] = event.tag
        if event.anchor is not None:
            self.node_anchors[id(node)] = event.anchor
        return node


class _SpecLoader(_SpecComposer, yaml.SafeLoader):
    """The pure-Python reader, whose syntax error messages the checker reports."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self.explicit_tags = {}
        self.node_anchors = {}


try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml
    _FastSpecLoader: type[_SpecLoader] | None = None
else:

    class _FastSpecLoader(_SpecComposer, CParser, SafeConstructor, Resolver):  # type: ignore[no-redef]
        """The same composer over libyaml's scanner and parser, which are written in C."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.explicit_tags = {}
            self.node_anchors = {}


def _written_tag(tag: str) -> str:
    if tag.startswith(_YAML_TAG):
        return "!!" + tag[len(_YAML_TAG) :]
    return tag


def _position(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Walk a composed node tree and construct plain dicts, lists and scalars."""

    def __init__(
        self, loader: _SpecLoader, loaded: LoadedYaml, expected_types: ExpectedTypes
    ) -> None:
        self.loader = loader
        self.loaded = loaded
        self.expected_types = expected_types

    def report(self, path: SpecPath, code: str, **params: Any) -> None:
        text = spec_errors.message(code, **params)
        self.loaded.errors.append(self.loaded.error(path, text, code=code))

    def build(self, node: Node, path: SpecPath) -> Any:
        self.loaded.marks[path] = _position(node)
        if isinstance(node, _AliasNode):
            self.report(path, "E004", name=node.value)
            return None
        self.check_anchor_and_tag(node, path)
        if isinstance(node, MappingNode):
            return self.build_mapping(node, path)
        if isinstance(node, SequenceNode):
            items = enumerate(node.value)
            return [self.build(item, path + (index,)) for index, item in items]
        return self.build_scalar(node, path)

    def check_anchor_and_tag(self, node: Node, path: SpecPath) -> None:
        anchor = self.loader.node_anchors.get(id(node))
        if anchor is not None:
            self.report(path, "E005", name=anchor)
        tag = self.loader.explicit_tags.get(id(node))
        if tag is not None:
            self.report(path, "E006", tag=_written_tag(tag))

    def report_at(
        self, node: Node, path: SpecPath, code: str, prefix: str = "", **params: Any
    ) -> None:
        line, column = _position(node)
        text = prefix + spec_errors.message(code, **params)
        self.loaded.errors.append(
            SpecError(self.loaded.file, line, column, format_path(path), text, code)
        )

    def build_mapping(self, node: MappingNode, path: SpecPath) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.build_key(key_node, path)
            if key is None:
                continue
            key_path = path + (key,)
            if key in first_lines:
                line = first_lines[key]
                self.report_at(key_node, key_path, "E007", key=key, line=line)
                continue
            first_lines[key] = _position(key_node)[0]
            self.loaded.key_marks[key_path] = _position(key_node)
            mapping[key] = self.build(value_node, key_path)
        return mapping

    def build_key(self, node: Node, path: SpecPath) -> str | None:
        """Return a mapping key as the text written, or None for a key to skip."""
        if isinstance(node, _AliasNode):
            self.report_at(node, path, "E008", name=node.value)
            return None
        if not isinstance(node, ScalarNode):
            self.report_at(node, path, "E009")
            return None
        key_path = path + (node.value,)
        if node.style is None and node.tag == _YAML_TAG + "merge":
            self.report_at(node, key_path, "E010")
            return None
        self.loaded.marks.setdefault(key_path, _position(node))
        self.check_anchor_and_tag(node, key_path)
        # A key is always text in a spec, so any other reading is a surprise. The
        # one-letter words are exempt because the meta-schema itself has a key y.
        plain = node.style is None and id(node) not in self.loader.explicit_tags
        if plain and node.value.lower() not in _ONE_LETTER_BOOLEANS:
            value = self.construct_plain(node)
            problem = _plain_scalar_problem(node, value, frozenset({"string"}))
            if problem:
                code, params = problem
                self.report_at(node, key_path, code, prefix="as a key, ", **params)
        return node.value

    def build_scalar(self, node: ScalarNode, path: SpecPath) -> Any:
        if node.style is not None or id(node) in self.loader.explicit_tags:
            return node.value
        value = self.construct_plain(node)
        problem = _plain_scalar_problem(node, value, self.expected_types(path))
        if problem:
            code, params = problem
            self.report(path, code, **params)
        return value

    def construct_plain(self, node: ScalarNode) -> Any:
        """Construct an unquoted scalar as YAML resolves it, except for timestamps.

        Timestamps and the rarer tags stay text, so no date reaches the schema check.
        """
        short_tag = _short_tag(node)
        if short_tag in {"null", "bool", "int", "float"}:
            return getattr(self.loader, f"construct_yaml_{short_tag}")(node)
        return node.value


def _short_tag(node: Node) -> str:
    return node.tag[len(_YAML_TAG) :] if node.tag.startswith(_YAML_TAG) else ""


# A problem found in a plain scalar: its catalogue code and the message parameters.
Problem = tuple[str, dict[str, Any]]


def _plain_scalar_problem(
    node: ScalarNode, value: Any, expected: frozenset[str] | None
) -> Problem | None:
    """Return what is surprising about an unquoted scalar, or None when nothing is."""
    text = node.value
    short_tag = _short_tag(node)
    if text.lower() in _BOOLEAN_WORDS:
        return _boolean_word_problem(text, expected)
    if _LEADING_ZERO.match(text):
        return _leading_zero_problem(text, value)
    if short_tag in {"int", "float"} and ":" in text:
        return "E016", {"text": text, "value": value}
    if short_tag == "timestamp":
        kind = "date" if len(text) <= 10 else "timestamp"
        return "E017", {"text": text, "kind": kind}
    return None


def _boolean_word_problem(text: str, expected: frozenset[str] | None) -> Problem | None:
    takes_boolean = expected is not None and "boolean" in expected
    takes_text = expected is None or "string" in expected
    # Where neither text nor a boolean fits, the schema check reports the wrong type.
    if not takes_text:
        return None
    if text.lower() in _ONE_LETTER_BOOLEANS:
        return "E013", {"text": text}
    if takes_boolean and text.lower() in _TRUE_FALSE:
        return None
    meaning = "true" if text.lower() in {"true", "yes", "on"} else "false"
    return ("E012" if takes_boolean else "E011"), {"text": text, "meaning": meaning}


def _leading_zero_problem(text: str, value: Any) -> Problem:
    sign = text[0] if text[0] in "+-" else ""
    digits = text[len(sign) :].lstrip("0_")
    if not digits or digits[0] == ".":
        digits = "0" + digits
    number = f"{sign.lstrip('+')}{digits}"
    if isinstance(value, str):
        return "E015", {"text": text, "number": number}
    return "E014", {"text": text, "value": value, "number": number}
