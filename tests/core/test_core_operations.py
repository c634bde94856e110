"""Core operations on a seeded SQLite core: results, scoping, applications, review."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.base import Caller, NotFound, Rejected, UnknownOperation
from connectors.embedded import EmbeddedCore
from connectors.embedded.demo_data import DEMO_ID_NUMBER, FIRST_UNIT
from connectors.embedded.models import Account, DepositChange, Person, ReviewItem, Unit

UNIT_A = Caller("unit", unit_account=FIRST_UNIT)
UNIT_B = Caller("unit", unit_account="0201000002")
DEMO = Caller("person", person_account="020100000001")
# A valid ID number that the demo data does not use (born 1995-08-17, male).
NEWCOMER = "440204199508170318"


def employees_of(core: EmbeddedCore, caller: Caller) -> list[dict[str, Any]]:
    return core.call("unit.employees", caller, {})


def test_unknown_operation_raises(core: EmbeddedCore) -> None:
    with pytest.raises(UnknownOperation):
        core.call("unit.nothing", UNIT_A, {})
    assert "loan.trial" in core.operations()


def test_login_info_names_handler(core: EmbeddedCore) -> None:
    info = core.call("unit.login_info", Caller("unit"), {"unit_account": FIRST_UNIT})
    assert info["unit_account"] == FIRST_UNIT
    assert info["handler_name"]
    assert len(info["handler_mobile"]) == 11
    assert info["status"] == "01"


def test_login_info_unknown_unit(core: EmbeddedCore) -> None:
    with pytest.raises(NotFound):
        core.call("unit.login_info", Caller("unit"), {"unit_account": "0209999999"})


@pytest.mark.parametrize(
    "login_id",
    [
        DEMO_ID_NUMBER,
        DEMO_ID_NUMBER.lower(),  # a lower-case x is read as X
        "020100000001",
    ],
)
def test_resolve_login_id(core: EmbeddedCore, login_id: str) -> None:
    found = core.call("person.resolve", Caller("person"), {"login_id": login_id})
    assert found["person_account"] == "020100000001"
    assert found["name"] == "陈志远"


@pytest.mark.parametrize("login_id", ["", "abc", NEWCOMER, "020199999999"])
def test_resolve_unknown_login_id(core: EmbeddedCore, login_id: str) -> None:
    with pytest.raises(NotFound):
        core.call("person.resolve", Caller("person"), {"login_id": login_id})


def test_unit_profile(core: EmbeddedCore) -> None:
    profile = core.call("unit.profile", UNIT_A, {})
    assert profile["unit_account"] == FIRST_UNIT
    assert profile["unit_ratio"] == Decimal("12")
    assert profile["status_label"] == "正常"
    assert profile["employee_count"] == len(employees_of(core, UNIT_A))
    assert profile["balance"] > 0
    assert profile["balance"].as_tuple().exponent == -2


def test_person_caller_cannot_read_unit(core: EmbeddedCore) -> None:
    with pytest.raises(Rejected):
        core.call("unit.profile", DEMO, {})


def test_employees_sorted_and_masked(core: EmbeddedCore) -> None:
    rows = employees_of(core, UNIT_A)
    accounts = [row["person_account"] for row in rows]
    assert accounts == sorted(accounts)
    demo = rows[0]
    assert demo["id_number_masked"] == "440203********021X"
    assert demo["unit_deposit"] + demo["person_deposit"] > 0
    assert {row["status_label"] for row in rows} == {"正常"}


def test_lookup_unknown_person(core: EmbeddedCore) -> None:
    found = core.call("person.lookup", UNIT_A, {"id_number": NEWCOMER})
    assert found["name"] == ""
    assert found["sex"] == "男"
    assert found["birth_date"] == dt.date(1995, 8, 17)
    assert found["existing_account"] == ""
    assert found["existing_status"] == "无"


def test_lookup_rejects_active_account(core: EmbeddedCore) -> None:
    with pytest.raises(Rejected) as raised:
        core.call("person.lookup", UNIT_B, {"id_number": DEMO_ID_NUMBER.lower()})
    assert raised.value.field == "id_number"
    assert "不能重复开户" in raised.value.message


def test_lookup_invalid_id_number(core: EmbeddedCore) -> None:
    with pytest.raises(Rejected) as raised:
        core.call("person.lookup", UNIT_A, {"id_number": "110105199001010011"})
    assert raised.value.field == "id_number"


def sealed_person(core_engine: Engine, unit_account: str) -> tuple[str, str]:
    """Return the ID number and account number of a sealed account of the unit."""
    with Session(core_engine) as session:
        row = session.execute(
            select(Person.id_number, Account.person_account)
            .join(Account, Account.person_id == Person.id)
            .join(Unit, Account.unit_id == Unit.id)
            .where(Account.status == "02", Unit.unit_account == unit_account)
            .limit(1)
        ).one()
    return row[0], row[1]


def test_lookup_sealed_elsewhere_is_masked(core: EmbeddedCore, core_engine) -> None:
    id_number, account = sealed_person(core_engine, "0201000002")
    found = core.call("person.lookup", UNIT_A, {"id_number": id_number})
    assert found["name"]
    assert found["existing_account"] == account[:4] + "****" + account[-4:]
    assert found["existing_status"] == "封存（其他单位）"


def test_lookup_sealed_here_shows_account(core: EmbeddedCore, core_engine) -> None:
    id_number, account = sealed_person(core_engine, FIRST_UNIT)
    found = core.call("person.lookup", UNIT_A, {"id_number": id_number})
    assert found["existing_account"] == account
    assert found["existing_status"] == "封存（本单位）"


def open_params(number: str = "SQ202612040001") -> dict[str, Any]:
    return {
        "application_number": number,
        "first_month": "2026-12",
        "employees": [
            {
                "id_number": NEWCOMER,
                "name": "何嘉欣",
                "mobile": "+8613800138000",
                "base": Decimal("6000.00"),
                "unit_deposit": Decimal("720.00"),
                "person_deposit": Decimal("720.00"),
            }
        ],
    }


def review_count(core_engine: Engine) -> int:
    with Session(core_engine) as session:
        return len(session.scalars(select(ReviewItem)).all())


def test_account_open_is_idempotent(core: EmbeddedCore, core_engine) -> None:
    first = core.call("account.open", UNIT_A, open_params())
    second = core.call("account.open", UNIT_A, open_params())
    assert first == {"status": "pending"}
    assert second == first
    assert review_count(core_engine) == 1
    assert [item["application_number"] for item in core.pending_reviews()] == [
        "SQ202612040001"
    ]


def test_account_open_number_of_other_unit(core: EmbeddedCore) -> None:
    core.call("account.open", UNIT_A, open_params())
    with pytest.raises(Rejected):
        core.call("account.open", UNIT_B, open_params())


def test_account_open_rejects_active_id(core: EmbeddedCore) -> None:
    params = open_params()
    params["employees"][0]["id_number"] = DEMO_ID_NUMBER
    with pytest.raises(Rejected, match="不能重复开户"):
        core.call("account.open", UNIT_B, params)


def test_account_open_rejects_wrong_deposit(core: EmbeddedCore) -> None:
    params = open_params()
    params["employees"][0]["unit_deposit"] = Decimal("700.00")
    with pytest.raises(Rejected) as raised:
        core.call("account.open", UNIT_A, params)
    assert raised.value.field == "unit_deposit"
    assert "720.00" in raised.value.message


def test_approve_account_open(core: EmbeddedCore, core_engine) -> None:
    decisions: list[tuple] = []
    core.on_decision = lambda *args: decisions.append(args)
    core.call("account.open", UNIT_A, open_params())
    core.approve("SQ202612040001", "staff01")
    with Session(core_engine) as session:
        account, person = session.execute(
            select(Account, Person)
            .join(Person, Account.person_id == Person.id)
            .where(Person.id_number == NEWCOMER)
        ).one()
        change = session.scalars(
            select(DepositChange).where(DepositChange.account_id == account.id)
        ).one()

    assert decisions == [("SQ202612040001", "approved", None)]
    assert account.status == "01"
    assert account.base == Decimal("6000.00")
    assert account.person_account == "020100000311"
    assert person.mobile == "13800138000"
    assert change.change_type == "new"
    assert change.effective_month == "2026-12"

    assert core.pending_reviews() == []
    assert core.review_item("SQ202612040001")["reviewer"] == "staff01"
    new_rows = [
        row
        for row in employees_of(core, UNIT_A)
        if row["person_account"] == "020100000311"
    ]
    assert len(new_rows) == 1
    with pytest.raises(Rejected, match="已处理"):
        core.approve("SQ202612040001", "staff01")


def test_return_application(core: EmbeddedCore, core_engine) -> None:
    decisions: list[tuple] = []
    core.on_decision = lambda *args: decisions.append(args)
    core.call("account.open", UNIT_A, open_params())
    core.return_application("SQ202612040001", "staff01", "请补充劳动合同")
    item = core.review_item("SQ202612040001")
    assert item["status"] == "returned"
    assert item["comment"] == "请补充劳动合同"
    assert decisions == [("SQ202612040001", "returned", "请补充劳动合同")]
    with Session(core_engine) as session:
        person = session.scalars(select(Person).where(Person.id_number == NEWCOMER))
        assert person.first() is None


def test_review_item_unknown(core: EmbeddedCore) -> None:
    with pytest.raises(NotFound):
        core.review_item("SQ000")


def base_params(person_account: str, base: str) -> dict[str, Any]:
    return {
        "application_number": "SQ202612040002",
        "effective_month": "2026-12",
        "employees": [{"person_account": person_account, "base": Decimal(base)}],
    }


def test_base_change_scoped_to_unit(core: EmbeddedCore) -> None:
    other_unit_account = employees_of(core, UNIT_B)[0]["person_account"]
    with pytest.raises(NotFound) as foreign:
        core.call("person.base_change", UNIT_A, base_params(other_unit_account, "6000"))
    with pytest.raises(NotFound) as unknown:
        core.call("person.base_change", UNIT_A, base_params("020199999999", "6000"))
    assert foreign.value.message.split("：")[0] == unknown.value.message.split("：")[0]
    assert foreign.value.field == unknown.value.field


def test_base_change_outside_limits(core: EmbeddedCore) -> None:
    with pytest.raises(Rejected) as raised:
        core.call("person.base_change", UNIT_A, base_params("020100000001", "1000"))
    assert raised.value.field == "base"
    assert "1,750.00" in raised.value.message
    assert "21,900.00" in raised.value.message


def test_approve_base_change(core: EmbeddedCore, core_engine) -> None:
    decisions: list[tuple] = []
    core.on_decision = lambda *args: decisions.append(args)
    result = core.call(
        "person.base_change", UNIT_A, base_params("020100000001", "10000")
    )
    assert result == {"status": "pending"}
    core.approve("SQ202612040002", "staff02")
    account = core.call("person.account", DEMO, {})
    assert account["base"] == Decimal("10000.00")
    assert account["unit_deposit"] == Decimal("1200.00")
    with Session(core_engine) as session:
        change = session.scalars(
            select(DepositChange).where(
                DepositChange.application_number == "SQ202612040002"
            )
        ).one()
    assert change.change_type == "base"
    assert change.new_value == "10000.00"
    assert decisions == [("SQ202612040002", "approved", None)]


def test_unit_ledger_in_date_order(core: EmbeddedCore) -> None:
    rows = core.call(
        "unit.ledger", UNIT_A, {"from_month": "2025-01", "to_month": "2025-12"}
    )
    days = [row["date"] for row in rows]
    assert days == sorted(days)
    assert days[0] >= dt.date(2025, 1, 1)
    assert days[-1] <= dt.date(2025, 12, 31)
    assert {row["type_label"] for row in rows} >= {"汇缴", "结息"}


def test_unit_ledger_filters_type(core: EmbeddedCore) -> None:
    rows = core.call(
        "unit.ledger",
        UNIT_A,
        {"from_month": "2024-01", "to_month": "2026-11", "entry_type": "03"},
    )
    assert [row["date"] for row in rows] == [
        dt.date(2024, 6, 30),
        dt.date(2025, 6, 30),
        dt.date(2026, 6, 30),
    ]


def test_unit_ledger_rejects_reversed_range(core: EmbeddedCore) -> None:
    with pytest.raises(Rejected) as raised:
        core.call(
            "unit.ledger", UNIT_A, {"from_month": "2025-05", "to_month": "2025-01"}
        )
    assert raised.value.field == "to_month"


def test_entry_types_are_codes(core: EmbeddedCore) -> None:
    types = core.call("ledger.entry_types", UNIT_A, {})
    assert {"value": "01", "label": "汇缴"} in types
    assert all(isinstance(item["value"], str) for item in types)


def test_person_ledger_only_own(core: EmbeddedCore) -> None:
    months = {"from_month": "2023-01", "to_month": "2026-12"}
    own = core.call("person.ledger", DEMO, months)
    other_caller = Caller("person", person_account="020100000002")
    other = core.call("person.ledger", other_caller, months)
    account = core.call("person.account", DEMO, {})
    assert own[-1]["balance"] == account["balance"]
    assert own != other
    assert (
        other[-1]["balance"] == core.call("person.account", other_caller, {})["balance"]
    )


def test_person_account_card(core: EmbeddedCore) -> None:
    account = core.call("person.account", DEMO, {})
    assert account["unit_account"] == FIRST_UNIT
    assert account["id_number_masked"] == "440203********021X"
    assert (
        account["monthly_deposit"]
        == account["unit_deposit"] + account["person_deposit"]
    )
    assert account["status_label"] == "正常"
    assert account["last_paid_month"] == "2026-11"


def test_person_profile(core: EmbeddedCore) -> None:
    profile = core.call("person.profile", DEMO, {})
    assert profile["age"] == 41
    assert profile["sex"] == "男"
    assert profile["birth_date"] == dt.date(1985, 3, 5)


def trial_params(**changes: Any) -> dict[str, Any]:
    params = {
        "house_price": Decimal("800000"),
        "home": "first",
        "income": Decimal("12000"),
        "co_borrower": False,
        "co_income": None,
        "existing_debt": Decimal("0"),
        "term_years": 20,
        "method": "equal-instalments",
    }
    params.update(changes)
    return params


def test_loan_trial_maximum_binds(core: EmbeddedCore) -> None:
    result = core.call("loan.trial", DEMO, trial_params())
    assert result["loanable_amount"] == Decimal("300000.00")
    assert result["binding_limit"] == "maximum"
    assert result["binding_limit_label"] == "最高贷款额度"
    assert result["rate"] == Decimal("2.60")
    assert result["months"] == 240
    # Same loan as worked example L1.
    assert result["first_payment"] == Decimal("1604.36")
    assert result["total_interest"] == Decimal("85047.73")
    assert len(result["schedule"]) == 240
    assert result["max_term_years"] == 26


def test_loan_trial_price_binds(core: EmbeddedCore) -> None:
    result = core.call(
        "loan.trial", DEMO, trial_params(house_price=Decimal("200000"), term_years=5)
    )
    assert result["loanable_amount"] == Decimal("160000.00")
    assert result["binding_limit"] == "price"
    assert result["rate"] == Decimal("2.10")


def test_loan_trial_capacity_binds(core: EmbeddedCore) -> None:
    result = core.call(
        "loan.trial",
        DEMO,
        trial_params(income=Decimal("3000"), method="equal-principal"),
    )
    assert result["binding_limit"] == "capacity"
    assert result["loanable_amount"] == result["limit_capacity"]


def test_loan_trial_term_too_long(core: EmbeddedCore) -> None:
    with pytest.raises(Rejected) as raised:
        core.call("loan.trial", DEMO, trial_params(term_years=30))
    assert raised.value.field == "term_years"
    assert "26" in raised.value.message


def test_loan_trial_co_borrower_raises_maximum(core: EmbeddedCore) -> None:
    result = core.call(
        "loan.trial",
        DEMO,
        trial_params(co_borrower=True, co_income=Decimal("9000"), house_price="900000"),
    )
    assert result["limit_maximum"] == Decimal("500000.00")


def test_sealed_account_has_no_deposit(core: EmbeddedCore, core_engine) -> None:
    _id_number, account_number = sealed_person(core_engine, FIRST_UNIT)
    caller = Caller("person", person_account=account_number)
    account = core.call("person.account", caller, {})
    profile = core.call("person.profile", caller, {})
    assert account["status_label"] == "封存"
    assert account["monthly_deposit"] == Decimal("0.00")
    assert profile["monthly_deposit"] == Decimal("0.00")
    assert profile["balance"] > 0
