"""公积金贷款试算 (person-loan-trial) and the depositor's own pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import errors_of, login_person, parse, post_form

from connectors.base import Caller

URL = "/person/person-loan-trial"
DEMO_ID = "44020319850305021X"


@pytest.fixture
def person_client(client: FlaskClient) -> FlaskClient:
    login_person(client, DEMO_ID)
    return client


def trial(**changes: Any) -> dict[str, Any]:
    # A price and income high enough that the 300,000 maximum binds, as in L1 and L2.
    data = {
        "house_price": "2000000",
        "home": "first",
        "income": "20000",
        "existing_debt": "0",
        "term_years": "20",
        "method": "equal-instalments",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def card(response: Any) -> dict[str, str]:
    items = parse(response).find(id="result").find_all("dd")
    return {item["data-name"]: item.get_text(strip=True) for item in items}


def schedule(response: Any) -> list[list[str]]:
    table = parse(response).find(id="result").find("tbody")
    return [
        [cell.get_text(strip=True) for cell in row.find_all("td")]
        for row in table.find_all("tr")
    ]


def test_equal_instalments_matches_l1(person_client: FlaskClient) -> None:
    response = post_form(person_client, URL, trial())
    assert response.status_code == 200, errors_of(response)
    result = card(response)
    assert result["loanable_amount"] == "300,000.00"
    assert result["binding_limit_label"] == "最高贷款额度"
    assert result["rate"] == "2.6%"
    assert result["first_payment"] == "1,604.36"
    assert result["total_interest"] == "85,047.73"
    rows = schedule(response)
    assert len(rows) == 240
    assert rows[0][1:4] == ["1,604.36", "954.36", "650.00"]
    assert rows[-1][1] == "1,605.69"
    assert rows[-1][4] == "0.00"


def test_equal_principal_matches_l2(person_client: FlaskClient) -> None:
    response = post_form(person_client, URL, trial(method="equal-principal"))
    result = card(response)
    assert result["first_payment"] == "1,900.00"
    assert result["total_interest"] == "78,325.00"
    rows = schedule(response)
    assert rows[1][1] == "1,897.29"
    assert rows[-1][1] == "1,252.71"
    assert {row[2] for row in rows} == {"1,250.00"}


def test_five_year_loan_uses_short_rate(person_client: FlaskClient) -> None:
    # L3: 100,000 over 5 years at 2.10%; the house price makes the loan 100,000.
    response = post_form(
        person_client, URL, trial(house_price="125000", term_years="5")
    )
    result = card(response)
    assert result["loanable_amount"] == "100,000.00"
    assert result["binding_limit_label"] == "房价及首付比例"
    assert result["rate"] == "2.1%"
    assert result["first_payment"] == "1,757.15"


def test_capacity_can_bind(person_client: FlaskClient) -> None:
    # Income 2,000: half of it over 20 years at 2.60% is far below 300,000.
    result = card(post_form(person_client, URL, trial(income="2000")))
    assert result["binding_limit_label"] == "还款能力"
    assert Decimal(result["loanable_amount"].replace(",", "")) < Decimal("300000")


def test_co_borrower_raises_maximum(person_client: FlaskClient) -> None:
    result = card(
        post_form(person_client, URL, trial(co_borrower="on", co_income="20000"))
    )
    assert result["limit_maximum"] == "500,000.00"


def test_co_income_visible_only_when_checked(person_client: FlaskClient) -> None:
    page = parse(person_client.get(URL))
    assert page.find(id="cell-co_income").has_attr("hidden")
    response = post_form(person_client, URL, trial(co_borrower="on"))
    assert "请填写共同借款人月收入（元）" in errors_of(response)
    # Hidden, the field is neither required nor kept, whatever the browser sends.
    response = post_form(person_client, URL, trial(co_income="999999"))
    assert response.status_code == 200
    assert card(response)["limit_maximum"] == "300,000.00"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # A required amount left empty.
        ({"income": ""}, "请填写借款人月收入（元）"),
        # A choice the form never offered.
        ({"home": "third"}, "购房套数的选项无效，请从列表中选择"),
        # Over the policy's longest term.
        ({"term_years": "31"}, "贷款期限（年）应在1至30之间"),
        # Whole years only.
        ({"term_years": "2.5"}, "贷款期限（年）最多保留0位小数"),
        # The term must end by retirement age plus five years for this borrower.
        ({"term_years": "30"}, "贷款期限最长为"),
    ],
)
def test_loan_trial_rejects(
    person_client: FlaskClient, changes: dict[str, str], expected: str
) -> None:
    response = post_form(person_client, URL, trial(**changes))
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages
    assert parse(response).find(id="result") is None


def test_forged_balance_ignored(person_client: FlaskClient, app: Flask) -> None:
    result = card(
        post_form(person_client, URL, trial(balance="99999999", house_price="125000"))
    )
    caller = Caller("person", person_account="020100000001")
    profile = app.extensions["hall"].router.call("person.profile", caller, {})
    expected = profile["balance"] * 15
    assert result["limit_balance"] == f"{expected:,.2f}"


def test_unit_cannot_open_person_service(app: Flask) -> None:
    from support import login_unit

    client = app.test_client()
    login_unit(client, app)
    response = client.get(URL)
    assert response.status_code == 302
    assert "/person/login" in response.headers["Location"]
