"""公积金冲还贷撤销 (person-offset-revoke): after approval the bank pays instalments."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from person_support import (
    DEMO_ACCOUNT,
    account_by_number,
    collect_instalments,
    confirm,
    core_session,
    decide,
    give_login,
    next_instalment,
    offset_entries,
)
from sqlalchemy import select
from support import csrf_token, errors_of, login_person, parse

from connectors.embedded.models import Account, Loan

URL = "/person/person-offset-revoke"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def signed_loan(app: Flask) -> tuple[str, Loan]:
    with core_session(app) as session:
        row = session.execute(
            select(Account.person_account, Loan)
            .join(Loan, Loan.account_id == Account.id)
            .where(Loan.offset_signed.is_(True), Loan.status == "01")
            .order_by(Loan.id)
        ).first()
    assert row is not None, "the demo data has no signed balance offset"
    return row[0], row[1]


def post(client: FlaskClient, data: dict[str, Any], attach: bool = True) -> Any:
    files = {"revoke_letter": (io.BytesIO(PDF), "撤销申请书.pdf")} if attach else {}
    return client.post(
        URL,
        data={"csrf_token": csrf_token(client.get(URL)), **data, **files},
        content_type="multipart/form-data",
    )


@pytest.fixture
def signer(app: Flask, client: FlaskClient) -> tuple[str, Loan]:
    account, loan = signed_loan(app)
    give_login(app, account)
    login_person(client, account)
    return account, loan


def test_revoking_stops_offset(
    app: Flask, client: FlaskClient, signer: tuple[str, Loan]
) -> None:
    account, loan = signer
    page = parse(client.get(URL))
    options = [option["value"] for option in page.select("#f-contract option")]
    assert loan.contract_number in options

    review = post(client, {"contract": loan.contract_number, "_agree": "on"})
    assert review.status_code == 200, errors_of(review)
    number = confirm(client, URL, review)
    assert decide(app, number).status_code == 302

    with core_session(app) as session:
        assert session.get_one(Loan, loan.id).offset_signed is False
    before = account_by_number(app, account)
    count = len(offset_entries(app, before.id))
    due = next_instalment(app, loan.id)
    collect_instalments(app, due.due_date)
    assert account_by_number(app, account).balance == before.balance
    assert len(offset_entries(app, before.id)) == count
    assert next_instalment(app, loan.id).month == due.month + 1


def test_unsigned_contract_not_offered(client: FlaskClient, app: Flask) -> None:
    from person_support import demo_loan

    login_person(client, DEMO_ACCOUNT)
    data = {"contract": demo_loan(app).contract_number, "_agree": "on"}
    response = post(client, data)
    assert "借款合同编号的选项无效，请从列表中选择" in errors_of(response)


def test_other_signed_contract_refused(app: Flask, client: FlaskClient) -> None:
    _account, loan = signed_loan(app)
    login_person(client, DEMO_ACCOUNT)
    response = post(client, {"contract": loan.contract_number, "_agree": "on"})
    assert response.status_code == 400
    assert "借款合同编号的选项无效，请从列表中选择" in errors_of(response)


@pytest.mark.parametrize(
    ("agree", "attach", "expected"),
    [
        (None, True, "请阅读并同意《公积金冲还贷撤销协议》"),
        ("on", False, "请上传撤销申请书"),
    ],
)
def test_offset_revoke_rejects(
    client: FlaskClient,
    signer: tuple[str, Loan],
    agree: str | None,
    attach: bool,
    expected: str,
) -> None:
    data = {"contract": signer[1].contract_number}
    if agree:
        data["_agree"] = agree
    response = post(client, data, attach)
    assert response.status_code == 400
    assert expected in errors_of(response)
