"""A row lookup's params may name top-level fields as well as the row's own."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from werkzeug.datastructures import MultiDict

from connectors.base import Caller, Rejected
from connectors.router import ConnectorRouter
from engine.forms import FormRuntime
from engine.service import build_service
from engine.spec_check import check_file

SPEC = {
    "id": "unit-x",
    "version": 1,
    "title": "T",
    "hall": "unit",
    "kind": "apply",
    "menu": {"group": "g", "order": 1},
    "fields": [
        {
            "name": "mode",
            "type": "choice",
            "label": "方式",
            "choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
        }
    ],
    "rows": [
        {
            "name": "items",
            "label": "明细",
            "fields": [
                {"name": "code", "type": "text", "label": "代码"},
                {"name": "answer", "type": "text", "label": "结果", "read-only": True},
            ],
            "lookups": [
                {
                    "name": "item",
                    "trigger": "code",
                    "operation": "item.lookup",
                    "params": {"code": "code", "mode": "mode"},
                    "fill": {"answer": "answer"},
                }
            ],
        }
    ],
    "submit": {"operation": "item.submit"},
}


class Recorder:
    """A connector that records the params of each call and echoes them."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def operations(self) -> set[str]:
        return {"item.lookup", "item.submit"}

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        self.calls.append(dict(params))
        if params.get("mode") == "b":
            raise Rejected("方式B不能办理", field="code")
        return {"answer": f"{params['code']}/{params['mode']}"}


def runtime(recorder: Recorder) -> FormRuntime:
    router = ConnectorRouter({"fake": recorder}, {"*": "fake"})
    return FormRuntime(build_service(SPEC), router, Caller("unit", "0201000001"), {})


def test_row_lookup_receives_top_level_field() -> None:
    recorder = Recorder()
    form = MultiDict({"mode": "a", "items-0-_row": "1", "items-0-code": "X1"})
    state = runtime(recorder).from_input(form)
    assert recorder.calls == [{"code": "X1", "mode": "a"}]
    assert state.rows["items"][0].values["answer"] == "X1/a"


def test_row_lookup_error_follows_top_level_field() -> None:
    recorder = Recorder()
    form = MultiDict({"mode": "b", "items-0-_row": "1", "items-0-code": "X1"})
    state = runtime(recorder).from_input(form)
    row = state.rows["items"][0]
    assert row.errors == {"code": "方式B不能办理"}
    assert row.values["answer"] is None


def test_htmx_row_lookup_receives_top_level_field() -> None:
    recorder = Recorder()
    run = runtime(recorder)
    form = MultiDict({"mode": "a", "items-3-_row": "1", "items-3-code": "Y"})
    state = run.from_input(form, run_triggers=False)
    run.run_lookup(state, "item", 3)
    assert recorder.calls == [{"code": "Y", "mode": "a"}]


def test_spec_check_accepts_top_level_param(tmp_path: Path) -> None:
    path = tmp_path / "unit" / "unit-x.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(SPEC, allow_unicode=True), encoding="utf-8")
    data, errors = check_file(path, policy_names=set())
    assert errors == []
    assert data is not None


def test_spec_check_rejects_unknown_param(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["rows"][0]["lookups"][0]["params"]["mode"] = "moed"
    path = tmp_path / "unit" / "unit-x.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    _data, errors = check_file(path, policy_names=set())
    assert len(errors) == 1
    assert "the parameter reads 'moed', which is not a field" in str(errors[0])
