"""A lookup fills editable fields when its trigger changes, not over later input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from connectors.base import Caller
from connectors.router import ConnectorRouter
from engine.forms import FormRuntime
from engine.service import build_service

SPEC = {
    "id": "unit-x",
    "version": 1,
    "title": "T",
    "hall": "unit",
    "kind": "apply",
    "menu": {"group": "g", "order": 1},
    "fields": [
        {"name": "code", "type": "text", "label": "代码"},
        {"name": "name", "type": "text", "label": "名称"},
        {"name": "status", "type": "text", "label": "状态", "read-only": True},
    ],
    "lookups": [
        {
            "name": "record",
            "trigger": "code",
            "operation": "record.lookup",
            "fill": {"name": "name", "status": "status"},
        }
    ],
    "submit": {"operation": "record.submit"},
}


class Records:
    def operations(self) -> set[str]:
        return {"record.lookup", "record.submit"}

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        return {"name": "核心名称", "status": "正常"}


def runtime() -> FormRuntime:
    router = ConnectorRouter({"records": Records()}, {"*": "records"})
    return FormRuntime(build_service(SPEC), router, Caller("unit", "0201000001"), {})


def test_posted_input_kept() -> None:
    state = runtime().from_input(MultiDict({"code": "A1", "name": "新名称"}))
    assert state.values["name"] == "新名称"
    assert state.values["status"] == "正常"


def test_empty_input_filled() -> None:
    state = runtime().from_input(MultiDict({"code": "A1", "name": ""}))
    assert state.values["name"] == "核心名称"


def test_trigger_change_fills_over_input() -> None:
    run = runtime()
    state = run.from_input(MultiDict({"code": "B2", "name": "旧输入"}), run_triggers=False)
    run.run_lookup(state, "record")
    assert state.values["name"] == "核心名称"
    assert state.raw["name"] == "核心名称"
