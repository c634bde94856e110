"""The four certificates end to end: download, contents, fonts and verification."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded.certificates import NOT_SETTLED
from connectors.embedded.models import Account, InterestSettlement, Loan, Person
from engine.storage.models import IssuedCertificate
from tests.certificates.conftest import page_count, squeeze
from tests.support import (
    UNIT_A,
    UNIT_B,
    csrf_token,
    login_person,
    login_unit,
    parse,
)

DEMO_ID = "44020319850305021X"
DEMO_ACCOUNT = "020100000001"
# The second demo login, the first unit's newest active employee, has a settled loan.
SETTLED_ACCOUNT = "020100000120"
CODE = re.compile(r"验证码：([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})")


def print_certificate(
    client: FlaskClient, hall: str, service_id: str, **fields: str
) -> TestResponse:
    url = f"/{hall}/print/{service_id}"
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data={"csrf_token": csrf_token(page), **fields})


def choices(response: TestResponse, name: str) -> list[str]:
    select_box = parse(response).find("select", attrs={"name": name})
    assert select_box is not None
    return [item["value"] for item in select_box.find_all("option") if item["value"]]


def core_call(app: Flask, operation: str, caller: Caller, params: dict) -> dict:
    return app.extensions["hall"].router.call(operation, caller, params)


def test_person_deposit_certificate(
    client: FlaskClient, app: Flask, text_of, fonts_of
) -> None:
    login_person(client, DEMO_ID)
    response = print_certificate(client, "person", "person-deposit-certificate")
    card = core_call(
        app, "person.account", Caller("person", person_account=DEMO_ACCOUNT), {}
    )
    raw_text = text_of(response.data)
    text = squeeze(raw_text)

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    # Chinese running text has no space between 兹证明 and the name.
    assert "兹证明陈志远（" in raw_text
    assert page_count(response.data) == 1
    assert len(response.data) <= 100 * 1024
    assert "个人住房公积金缴存证明" in text
    assert "韶关市住房公积金管理中心" in text
    assert "陈志远" in text
    assert "440203********021X" in text
    assert DEMO_ID not in text
    assert DEMO_ACCOUNT in text
    assert f"{card['balance']:,.2f}" in text
    assert "第1页共1页" in text
    # The demo depositor has paid every month of the demo ledger.
    assert "近十二个月缴存12个月" in text
    assert CODE.search(text)
    assert [font["name"].split("+")[1] for font in fonts_of(response.data)] == [
        "HallSans-SC"
    ]


def test_download_named_in_chinese(client: FlaskClient) -> None:
    login_person(client, DEMO_ID)
    response = print_certificate(client, "person", "person-deposit-certificate")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(
        'attachment; filename="person-deposit-certificate.pdf"'
    )
    encoded = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert encoded
    assert unquote(encoded.group(1)) == "个人住房公积金缴存证明.pdf"
    assert disposition.isascii()


def test_unit_deposit_certificate(
    client: FlaskClient, app: Flask, text_of, fonts_of
) -> None:
    login_unit(client, app, UNIT_A)
    response = print_certificate(client, "unit", "unit-deposit-certificate")
    raw_text = text_of(response.data)
    text = squeeze(raw_text)
    assert response.status_code == 200
    assert page_count(response.data) == 1
    assert "兹证明韶关市丹霞智造科技有限公司（" in raw_text
    assert "单位住房公积金缴存证明" in text
    assert "韶关市丹霞智造科技有限公司" in text
    assert UNIT_A in text
    assert "无欠缴" in text
    assert "大写：" in text
    assert len(fonts_of(response.data)) == 1


def test_interest_statement_row_count(client: FlaskClient, app: Flask, text_of) -> None:
    login_unit(client, app, UNIT_A)
    page = client.get("/unit/print/unit-interest-statement-print")
    year = choices(page, "year")[0]
    with app.extensions["hall"].session_factory() as session:
        expected = session.scalar(
            select(func.count(InterestSettlement.id))
            .join(Account, Account.id == InterestSettlement.account_id)
            .where(Account.unit_id == 1, InterestSettlement.year == int(year))
        )
    response = print_certificate(
        client, "unit", "unit-interest-statement-print", year=year
    )
    text = text_of(response.data, layout=True)
    pages = page_count(response.data)
    assert response.status_code == 200
    assert expected > 50
    assert (
        len(re.findall(r"^\s*\d+\s+0201\d{8}\s", text, flags=re.MULTILINE)) == expected
    )
    assert pages > 1
    assert f"第{pages}页共{pages}页" in squeeze(text)
    for number, page in enumerate(text.split("\f")[:pages], start=1):
        # Only the repeated table header prints 证件号码 in a statement.
        if re.search(r"0201\d{8}", page):
            assert "证件号码" in page, f"page {number} has no table header"


def test_interest_statement_unknown_year(client: FlaskClient, app: Flask) -> None:
    login_unit(client, app, UNIT_A)
    response = print_certificate(
        client, "unit", "unit-interest-statement-print", year="1999"
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"


def test_loan_settlement_certificate(client: FlaskClient, app: Flask, text_of) -> None:
    login_person(client, SETTLED_ACCOUNT)
    page = client.get("/person/print/person-loan-settlement-certificate")
    contracts = choices(page, "contract_number")
    assert len(contracts) == 1
    response = print_certificate(
        client,
        "person",
        "person-loan-settlement-certificate",
        contract_number=contracts[0],
    )
    raw_text = text_of(response.data)
    text = squeeze(raw_text)
    assert response.status_code == 200
    assert page_count(response.data) == 1
    assert "兹证明借款人" in raw_text
    assert "住房公积金贷款结清证明" in text
    assert contracts[0] in text
    assert "全部结清" in text


def test_unsettled_loan_refused(client: FlaskClient, app: Flask) -> None:
    login_person(client, DEMO_ID)
    page = client.get("/person/print/person-loan-settlement-certificate")
    with app.extensions["hall"].session_factory() as session:
        person = session.scalars(
            select(Person).where(Person.id_number == DEMO_ID)
        ).one()
        own = session.scalars(select(Loan).where(Loan.person_id == person.id)).one()
    assert choices(page, "contract_number") == []
    response = print_certificate(
        client,
        "person",
        "person-loan-settlement-certificate",
        contract_number=own.contract_number,
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    caller = Caller("person", person_account=DEMO_ACCOUNT)
    params = {"contract_number": own.contract_number}
    with pytest.raises(Rejected) as raised:
        core_call(app, "certificate.loan_settlement", caller, params)
    assert raised.value.message == NOT_SETTLED


def test_other_persons_contract_refused(client: FlaskClient, app: Flask) -> None:
    settled = core_call(
        app,
        "certificate.settled_loans",
        Caller("person", person_account=SETTLED_ACCOUNT),
        {},
    )[0]["value"]
    login_person(client, DEMO_ID)
    response = print_certificate(
        client,
        "person",
        "person-loan-settlement-certificate",
        contract_number=settled,
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    caller = Caller("person", person_account=DEMO_ACCOUNT)
    with pytest.raises(NotFound):
        core_call(
            app, "certificate.loan_settlement", caller, {"contract_number": settled}
        )


def test_other_hall_cannot_print(client: FlaskClient, app: Flask) -> None:
    login_unit(client, app, UNIT_B)
    response = client.get("/person/print/person-deposit-certificate")
    assert response.status_code == 302
    assert "/person/login" in response.headers["Location"]
    # The refused request ended the unit session, so log in again.
    other = client.application.test_client()
    login_unit(other, app, UNIT_A)
    assert other.get("/unit/print/person-deposit-certificate").status_code == 404


def test_verify_page_shows_masked_facts(client: FlaskClient, text_of) -> None:
    login_person(client, DEMO_ID)
    response = print_certificate(client, "person", "person-deposit-certificate")
    code = CODE.search(squeeze(text_of(response.data)))
    assert code
    anonymous = client.application.test_client()
    page = anonymous.get(f"/verify/{code.group(1)}")
    body = parse(page)
    facts = body.find(id="verify-facts")
    assert page.status_code == 200
    assert facts is not None
    shown = facts.get_text(" ", strip=True)
    assert "陈志远" in shown
    assert "440203********021X" in shown
    assert DEMO_ID not in page.get_data(as_text=True)
    assert "0201****0001" in shown
    assert DEMO_ACCOUNT not in page.get_data(as_text=True)
    # The last paid month reads as the certificate prints it.
    assert re.search(r"缴至年月 \d{4}年\d{1,2}月", shown)
    assert "个人住房公积金缴存证明" in shown
    # Typed in lower case without the dashes, the code still matches.
    typed = code.group(1).replace("-", "").lower()
    assert anonymous.get(f"/verify?code={typed}").status_code == 302
    assert anonymous.get(f"/verify/{typed}").status_code == 200


def test_verify_unknown_code(client: FlaskClient) -> None:
    page = client.get("/verify/2222-3333-4444-5555")
    assert page.status_code == 404
    assert parse(page).find(id="verify-not-found") is not None


def test_verify_throttled_per_address(client: FlaskClient) -> None:
    for attempt in range(10):
        assert client.get(f"/verify/2222-3333-4444-{attempt + 2222}").status_code == 404
    page = client.get("/verify/2222-3333-4444-5555")
    assert page.status_code == 429
    assert parse(page).find(id="verify-throttled") is not None
    other = client.get(
        "/verify/2222-3333-4444-5555", environ_base={"REMOTE_ADDR": "127.0.0.2"}
    )
    assert other.status_code == 404


def test_codes_unguessable_and_stored(client: FlaskClient, app: Flask) -> None:
    login_person(client, DEMO_ID)
    for _ in range(3):
        assert (
            print_certificate(
                client, "person", "person-deposit-certificate"
            ).status_code
            == 200
        )
    with app.extensions["hall"].session_factory() as session:
        codes = session.scalars(select(IssuedCertificate.code)).all()
    assert len(set(codes)) == 3
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{16}", code) for code in codes)


def test_unknown_glyph_fails_loudly(client: FlaskClient, app: Flask) -> None:
    with app.extensions["hall"].session_factory() as session:
        person = session.scalars(
            select(Person).where(Person.id_number == DEMO_ID)
        ).one()
        # U+20000, in CJK Extension B, which neither shipped font covers.
        person.name = "陈\U00020000"
        session.commit()
    login_person(client, DEMO_ID)
    response = print_certificate(client, "person", "person-deposit-certificate")
    assert response.status_code == 500
    assert "字库未收录" in response.get_data(as_text=True)
    with app.extensions["hall"].session_factory() as session:
        assert session.scalar(select(func.count(IssuedCertificate.id))) == 0
