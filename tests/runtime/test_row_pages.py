"""Paged row tables: which rows a page shows and which it carries as hidden inputs."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from werkzeug.datastructures import MultiDict

from connectors.base import Caller
from connectors.router import ConnectorRouter
from engine.forms import FormRuntime
from engine.pages import carried_inputs, row_page, show_first_error
from engine.service import build_service

RECORDS = [
    {"code": f"C{index:03d}", "amount": Decimal("10.00")} for index in range(23)
]


def spec(editable: bool) -> dict[str, Any]:
    rows: dict[str, Any] = {
        "name": "items",
        "label": "明细",
        "page-size": 10,
        "fields": [
            {"name": "code", "type": "text", "label": "代码", "read-only": True},
            {"name": "amount", "type": "money", "label": "金额", "checks": {"max": 50}},
        ],
    }
    if not editable:
        rows["prefill"] = {"operation": "item.list", "key": "code"}
    return {
        "id": "unit-x",
        "version": 1,
        "title": "T",
        "hall": "unit",
        "kind": "apply",
        "menu": {"group": "g", "order": 1},
        "rows": [rows],
        "submit": {"operation": "item.submit"},
    }


class Items:
    def operations(self) -> set[str]:
        return {"item.list", "item.submit"}

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        return [dict(record) for record in RECORDS]


def runtime(editable: bool) -> FormRuntime:
    router = ConnectorRouter({"items": Items()}, {"*": "items"})
    service = build_service(spec(editable))
    return FormRuntime(service, router, Caller("unit", "0201000001"), {})


def test_first_page_by_default() -> None:
    run = runtime(editable=False)
    state = run.blank()
    paged = row_page(state, run.service.table("items"))
    assert [row.index for row in paged.rows] == list(range(10))
    assert (paged.page, paged.pages) == (1, 3)
    assert paged.carried == []


def test_posted_page_and_changed_rows_carried() -> None:
    run = runtime(editable=False)
    form = MultiDict(
        {
            "_page_items": "3",
            "items-4-code": "C004",
            "items-4-amount": "12.50",
            "items-21-code": "C021",
            "items-21-amount": "30.00",
        }
    )
    state = run.from_input(form)
    table = run.service.table("items")
    paged = row_page(state, table)
    assert [row.index for row in paged.rows] == [20, 21, 22]
    # Only the changed row off the page needs its input posted again.
    assert [row.index for row in paged.carried] == [4]
    assert carried_inputs(table, paged.carried[0]) == [
        ("items-4-code", "C004"),
        ("items-4-amount", "12.50"),
    ]


def test_page_number_clamped() -> None:
    run = runtime(editable=False)
    state = run.from_input(MultiDict({"_page_items": "99"}))
    assert row_page(state, run.service.table("items")).page == 3


def test_hand_filled_rows_all_carried() -> None:
    run = runtime(editable=True)
    form = MultiDict(
        {f"items-{index}-amount": "1.00" for index in range(12)}
        | {f"items-{index}-_row": "1" for index in range(12)}
    )
    state = run.from_input(form)
    table = run.service.table("items")
    paged = row_page(state, table)
    assert len(paged.rows) == 10
    assert [row.index for row in paged.carried] == [10, 11]
    assert ("items-11-_row", "1") in carried_inputs(table, paged.carried[1])


def test_error_turns_to_its_page() -> None:
    run = runtime(editable=False)
    form = MultiDict({"items-15-code": "C015", "items-15-amount": "99.00"})
    state = run.from_input(form)
    assert run.validate(state) is None
    show_first_error(state)
    assert state.pages["items"] == 2
