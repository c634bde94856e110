"""Run the generated samples of every spec in the repository through the engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select
from support import UNIT_A
from werkzeug.datastructures import MultiDict

from connectors.base import Caller
from connectors.embedded.models import Account, Loan
from engine.cli import main
from engine.forms import FormRuntime, FormState
from engine.policy import Policy
from engine.service import Service
from engine.spec_check import load_specs, spec_paths
from engine.spec_docs import REPO
from engine.spec_samples import Samples, make_samples

DEMO_ACCOUNT = "020100000001"
# The demo depositor with a settled loan, whom only settlement certificates need.
SETTLED_LOAN_ACCOUNT = "020100000120"
CALLER_ACCOUNTS = {"person-loan-settlement-certificate": SETTLED_LOAN_ACCOUNT}


def signed_offset_account(app: Flask) -> str:
    """Return the account of a repaying loan whose instalments the balance pays."""
    with app.extensions["hall"].session_factory() as session:
        return session.scalars(
            select(Account.person_account)
            .join(Loan, Loan.account_id == Account.id)
            .where(Loan.offset_signed.is_(True), Loan.status == "01")
            .order_by(Account.person_account)
        ).first()

POLICY = Policy.from_file(REPO / "specs" / "policy.yaml")
SPEC_IDS = sorted(
    load_specs(spec_paths(REPO / "specs"), policy_names=POLICY.names())[0]
)


def runtime_of(app: Flask, service: Service) -> FormRuntime:
    hall = app.extensions["hall"]
    if service.hall == "unit":
        caller = Caller("unit", unit_account=UNIT_A)
    else:
        account = CALLER_ACCOUNTS.get(service.id, DEMO_ACCOUNT)
        if service.id == "person-offset-revoke":
            account = signed_offset_account(app)
        caller = Caller("person", person_account=account)
    return FormRuntime(service, hall.router, caller, hall.figures())


def samples_of(runtime: FormRuntime) -> Samples:
    """Make the samples with the options and rows the core offers this caller."""
    service = runtime.service
    blank = runtime.blank()
    options = {
        name: [choice.value for choice in offered]
        for name, offered in blank.choices.items()
    }
    prefilled = {
        table.name: runtime.router.call(table.prefill_operation, runtime.caller, {})
        for table in service.rows
        if table.prefill_operation
    }
    return make_samples(service, runtime.bound, options=options, prefilled=prefilled)


def error_at(state: FormState, where: str) -> str | None:
    if "." in where:
        table, index, name = where.split(".")
        return state.row(table, int(index)).errors.get(name)
    return state.errors.get(where)


def run(runtime: FormRuntime, form: dict[str, str]) -> tuple[FormState, Any]:
    state = runtime.from_input(MultiDict(form), run_triggers=False)
    return state, runtime.validate(state)


def all_errors(state: FormState) -> dict[str, Any]:
    rows = {
        f"{table}.{row.index}": row.errors
        for table, rows in state.rows.items()
        for row in rows
        if row.errors
    }
    return {**state.errors, **rows, "form": state.form_errors}


@pytest.mark.parametrize("spec_id", SPEC_IDS)
def test_samples_match_engine(app: Flask, spec_id: str) -> None:
    service = app.extensions["hall"].services[spec_id]
    with app.app_context():
        runtime = runtime_of(app, service)
        samples = samples_of(runtime)
        assert samples.valid
        for sample in samples.valid:
            state, data = run(runtime, sample.form)
            assert data is not None, (sample.case, all_errors(state))
        for sample in samples.invalid:
            state, data = run(runtime, sample.form)
            assert data is None, sample.case
            assert sample.where is not None
            assert error_at(state, sample.where) == sample.error, (
                sample.case,
                all_errors(state),
            )
        for sample in samples.ignored:
            state, data = run(runtime, sample.form)
            assert data is not None, (sample.case, all_errors(state))
            assert data.get(sample.where) is None, sample.case


def test_samples_cover_each_check(app: Flask) -> None:
    service = app.extensions["hall"].services["unit-open-account"]
    with app.app_context():
        samples = samples_of(runtime_of(app, service))
    cases = {sample.case for sample in samples.invalid}
    assert {
        "first_month: missing",
        "first_month: not a month",
        "开户职工: id_number: missing",
        "开户职工: id_number: wrong check digit",
        "开户职工: base: below the minimum",
        "开户职工: base: above the maximum",
        "开户职工: mobile: too short",
        "开户职工: name: over the maximum length",
        "employees: no rows",
    } <= cases
    valid = {sample.case for sample in samples.valid}
    assert {"开户职工: base: at the minimum", "开户职工: base: at the maximum"} <= valid


def test_samples_hidden_field(app: Flask) -> None:
    service = app.extensions["hall"].services["person-loan-trial"]
    with app.app_context():
        samples = samples_of(runtime_of(app, service))
    hidden = [
        sample
        for sample in samples.ignored
        if sample.case == "co_income: filled while hidden"
    ]
    assert len(hidden) == 1
    assert hidden[0].form["co_income"]
    assert hidden[0].form.get("co_borrower", "") == ""


def test_samples_command_prints_json() -> None:
    result = CliRunner().invoke(main, ["specs", "samples", "person-loan-trial"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["service"] == "person-loan-trial"
    assert len(printed["valid"]) >= 3
    first = printed["invalid"][0]
    assert set(first) == {"case", "form", "where", "error"}
    assert first["error"]


def test_samples_command_unknown_id() -> None:
    result = CliRunner().invoke(main, ["specs", "samples", "person-nothing"])
    assert result.exit_code == 1
    assert "no spec has the id 'person-nothing'" in result.output


# A calc service with a field of every type that has inputs, and checks on each.
EVERY_TYPE = """\
id: unit-every-type
version: 1
title: 全部类型
hall: unit
kind: calc
menu: {group: 示例, order: 1}
fields:
  - {name: code, type: text, label: 编码, required: true, checks: {pattern: "[A-Z]{2}[0-9]{4}"}}
  - {name: note, type: textarea, label: 说明, checks: {min-length: 3, max-length: 50}}
  - {name: count, type: number, label: 人数, required: true, checks: {min: 1, max: 500}}
  - {name: rate, type: number, label: 系数, checks: {places: 2, min: 0, max: 9.99}}
  - {name: amount, type: money, label: 金额, required: true, checks: {max: policy.base_cap}}
  - {name: ratio, type: percent, label: 比例, checks: {min: policy.unit_ratio_min, max: 12}}
  - {name: day, type: date, label: 日期, required: true, checks: {not-future: true}}
  - {name: month, type: month, label: 月份}
  - {name: days, type: date-range, label: 日期区间, checks: {max-months: 6}}
  - {name: months, type: month-range, label: 月份区间, required: true}
  - name: kind
    type: choice
    label: 类别
    required: true
    choices: [{value: "01", label: 甲}, {value: "02", label: 乙}]
  - {name: other, type: text, label: 其他, required: true, visible-when: "kind == '02'"}
  - {name: agree, type: checkbox, label: 同意, required: true}
  - {name: id_number, type: id-number, label: 证件号码, required: true}
  - {name: uscc, type: uscc, label: 统一社会信用代码, required: true}
  - {name: mobile, type: mobile, label: 手机号码}
  - {name: card, type: bank-card, label: 银行卡号}
result: {operation: unit.profile}
"""


def test_samples_of_every_type(
    app: Flask, write_spec: Any, policy_names: set[str]
) -> None:
    from engine.service import build_service
    from engine.spec_check import check_file

    spec, errors = check_file(
        write_spec(EVERY_TYPE, "unit-every-type"), policy_names=policy_names
    )
    assert errors == []
    service = build_service(spec)
    with app.app_context():
        runtime = runtime_of(app, service)
        samples = samples_of(runtime)
        for sample in samples.valid + samples.ignored:
            state, data = run(runtime, sample.form)
            assert data is not None, (sample.case, all_errors(state))
        for sample in samples.invalid:
            state, data = run(runtime, sample.form)
            assert data is None, sample.case
            assert error_at(state, sample.where) == sample.error, (
                sample.case,
                all_errors(state),
            )
    cases = {sample.case for sample in samples.invalid}
    # Every type contributes its wrong-type case.
    assert {
        "code: not matching the pattern",
        "note: under the minimum length",
        "count: below the minimum",
        "rate: too many decimal places",
        "amount: above the maximum",
        "ratio: below the minimum",
        "day: tomorrow",
        "month: not a month",
        "days: one month too long",
        "months: start after end",
        "kind: not an option",
        "agree: missing",
        "id_number: wrong check digit",
        "uscc: too short",
        "mobile: too short",
        "card: letters",
    } <= cases
    assert [sample.case for sample in samples.ignored] == ["other: filled while hidden"]
