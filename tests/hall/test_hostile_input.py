"""Hostile values in form fields: amounts, identifiers, text, rows and hidden fields.

Every bad value must come back as a page that names the field in Chinese, never as a
server error, and must leave nothing stored.
"""

from __future__ import annotations

import gc
import io
import re
import warnings
from decimal import Decimal
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from stdnum.cn import ric
from support import (
    csrf_token,
    errors_of,
    login_person,
    login_staff,
    login_unit,
    parse,
    parse_fragment,
    post_form,
)
from test_person_loan_trial import trial as trial_form
from test_unit_open_account import form as employee

from connectors.embedded.models import ReviewItem
from engine.commands import DEMO_UNIT_PASSWORD
from engine.storage.models import Application, SmsCode

OPEN_URL = "/unit/unit-open-account"
TRIAL_URL = "/person/person-loan-trial"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


@pytest.fixture
def person_client(client: FlaskClient) -> FlaskClient:
    login_person(client, "44020319850305021X")
    return client


def post_open(client: FlaskClient, data: dict[str, Any]) -> Any:
    token = csrf_token(client.get(OPEN_URL))
    return client.post(
        OPEN_URL,
        data={
            "csrf_token": token,
            **data,
            "id_card": (io.BytesIO(PNG), "身份证.png"),
        },
        content_type="multipart/form-data",
    )


def post_fragment(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    """Post an htmx request to `path` below the open-account form."""
    token = csrf_token(client.get(OPEN_URL))
    return client.post(
        OPEN_URL + path,
        data=data,
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )


def hundred_bases(base: str) -> dict[str, str]:
    """Return 100 employee rows, the maximum the form allows, each with `base`."""
    data: dict[str, str] = {}
    for index in range(100):
        data[f"employees-{index}-_row"] = "1"
        data[f"employees-{index}-base"] = base
    return data


def post_large(client: FlaskClient, data: dict[str, Any]) -> tuple[int, str]:
    """Post a body over 500 KB; return the status and the page text."""
    with warnings.catch_warnings():
        # Werkzeug's test client spools request bodies over 500 KB to a temporary
        # file that it never closes; collect it here, not in a later test.
        warnings.simplefilter("ignore", ResourceWarning)
        response = post_open(client, data)
        status, text = response.status_code, response.get_data(as_text=True)
        response.close()
        del response
        gc.collect()
    return status, text


def checked_drafts(app: Flask) -> int:
    """Count applications that passed validation (a draft with data or more)."""
    with app.extensions["hall"].session_factory() as session:
        return session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.data.is_not(None))
        )


def checked_draft(app: Flask) -> Application:
    """Return the only application that passed validation."""
    with app.extensions["hall"].session_factory() as session:
        return session.scalars(
            select(Application).where(Application.data.is_not(None))
        ).one()


def assert_rejected(response: Any, label: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    messages = errors_of(response)
    assert any(label in message for message in messages), messages


def assert_open_rejected(
    client: FlaskClient, app: Flask, data: dict[str, Any], label: str
) -> None:
    """Post the open-account form and expect an error naming `label` and no draft."""
    assert_rejected(post_open(client, data), label)
    assert checked_drafts(app) == 0


# Amounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    [
        "6000.001",  # more than two decimals
        "1e3",  # exponent
        "6E3",
        "NaN",
        "-NaN",
        "Infinity",
        "-Infinity",
        "inf",
        "6,00,0",  # commas that are not thousands separators
        "60,00",
        "6,,000",
        ",6000",
        "6000,",
        "6.000,00",  # European style
        "1" * 40,  # more digits than the default decimal precision
        "9" * 5000,
        "０６０００",  # full-width digits
        "6000\u200b",  # zero-width space
        "\u200f6000",  # right-to-left mark
        "\u202e6000",  # right-to-left override
        "6000\x00",  # NUL byte
        "6000\x07",
        "0x1770",
        "6_000",
        "6000元",
        "--6000",
        "6000-",
        "٦٠٠٠",  # Arabic-Indic digits
    ],
)
def test_money_rejects_odd_forms(
    unit_client: FlaskClient, app: Flask, base: str
) -> None:
    assert_open_rejected(
        unit_client, app, employee(**{"employees-0-base": base}), "缴存基数"
    )


@pytest.mark.parametrize("base", ["6,000", "6，000", "6,000.00", " 6000 ", "+6000"])
def test_money_accepts_separators(
    unit_client: FlaskClient, app: Flask, base: str
) -> None:
    response = post_open(unit_client, employee(**{"employees-0-base": base}))
    assert response.status_code == 200, errors_of(response)
    draft = checked_draft(app)
    assert draft.data["employees"][0]["base"] == "6000.00"


@pytest.mark.parametrize("debt", ["-0", "-0.00", "+0", "0,000"])
def test_money_negative_zero_is_zero(person_client: FlaskClient, debt: str) -> None:
    data = trial_form()
    plain = post_form(person_client, TRIAL_URL, data)
    response = post_form(person_client, TRIAL_URL, {**data, "existing_debt": debt})
    assert response.status_code == 200, errors_of(response)
    result = parse(response).find(id="result").get_text(" ", strip=True)
    assert result == parse(plain).find(id="result").get_text(" ", strip=True)
    assert "-0" not in result


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("house_price", "1e9", "房屋总价"),
        ("house_price", "NaN", "房屋总价"),
        ("income", "Infinity", "借款人月收入"),
        ("income", "20000.005", "借款人月收入"),
        ("term_years", "20.5", "贷款期限"),
        ("term_years", "２０", "贷款期限"),
        ("term_years", "9" * 60, "贷款期限"),
        ("term_years", "-0", "贷款期限"),
        ("home", "third", "购房套数"),
        ("home", "first\x00", "购房套数"),
        ("method", "<script>", "还款方式"),
    ],
)
def test_loan_trial_rejects_hostile_values(
    person_client: FlaskClient, field: str, value: str, label: str
) -> None:
    data = trial_form(**{field: value})
    response = post_form(person_client, TRIAL_URL, data)
    assert_rejected(response, label)
    assert parse(response).find(id="result") is None or not parse(response).find(
        id="result"
    ).find_all("dd")


# Identifiers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "id_number",
    [
        "１１０１０５１９９００１０１００７Ｘ",  # full-width
        "1101051990010100７X",  # one full-width digit
        "11010519900101\u00b2007X",  # superscript two
        "110105199001010\u00b27X",
        "１１０１０５９００１０１００７",  # full-width legacy 15-digit number
        "11010519900101007X\u200b",  # zero-width space
        "\u200f11010519900101007X",  # right-to-left mark
        "\u202e11010519900101007X",
        "11010519900101007X\x00",
        "1101051990\x000101007X",
        "11010519900101007X" * 50,
        "11010519900101007Y",
        "11010519900101007",
        "٣٣١٠٠٥١٩٩٠٠١٠١٠٠٧X",
    ],
)
def test_id_number_rejects_tricks(
    unit_client: FlaskClient, app: Flask, id_number: str
) -> None:
    assert_open_rejected(
        unit_client, app, employee(**{"employees-0-id_number": id_number}), "证件号码"
    )


@pytest.mark.parametrize(
    "id_number",
    [
        "11010519900101\u00b2007X",
        "1101051990010100７X",
        "１１０１０５９００１０１００７",
    ],
)
def test_id_lookup_rejects_tricks(unit_client: FlaskClient, id_number: str) -> None:
    data = {"employees-0-_row": "1", "employees-0-id_number": id_number, "_row": "0"}
    response = post_fragment(unit_client, "/lookup/person", data)
    assert response.status_code == 200
    cell = parse_fragment(response).find(id="cell-employees-0-id_number")
    assert cell is not None
    assert "证件号码" in cell.get_text()
    name = parse_fragment(response).find(id="f-employees-0-name")
    assert name is None or not name.get("value")


@pytest.mark.parametrize(
    "mobile",
    ["１３８００１３８０００", "13800138000\u200b", "1380013800\x000", "138" * 100],
)
def test_mobile_rejects_tricks(
    unit_client: FlaskClient, app: Flask, mobile: str
) -> None:
    assert_open_rejected(
        unit_client, app, employee(**{"employees-0-mobile": mobile}), "手机号码"
    )


@pytest.mark.parametrize(
    "month", ["２０２６-12", "2026-1２", "2026-13", "2026-00", "x" * 5000]
)
def test_month_rejects_tricks(unit_client: FlaskClient, app: Flask, month: str) -> None:
    assert_open_rejected(unit_client, app, employee(first_month=month), "首次缴存月份")


# Text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "张\x00三",  # NUL byte
        "张三\x1b[31m",  # terminal escape
        "张\x7f三",
        "\u202e三张",  # right-to-left override
        "张\u200b三",  # zero-width space
        "张\u2066三\u2069",  # bidi isolate
        "张三\ufeff",
        "张" * 31,  # longer than the spec's 30
        "张" * 100_000,
    ],
)
def test_name_rejects_hidden_characters(
    unit_client: FlaskClient, app: Flask, name: str
) -> None:
    assert_open_rejected(
        unit_client, app, employee(**{"employees-0-name": name}), "姓名"
    )


# Rows ---------------------------------------------------------------------------------


def test_too_many_rows_rejected(unit_client: FlaskClient, app: Flask) -> None:
    data: dict[str, Any] = {"first_month": "2026-12", "_agree": "on"}
    for index in range(150):
        data[f"employees-{index}-_row"] = "1"
        data[f"employees-{index}-name"] = "张三"
    assert_open_rejected(unit_client, app, data, "开户职工最多100行")


@pytest.mark.parametrize(
    "key",
    [
        "employees-10000-name",  # beyond the largest row index
        "employees-99999999999999999999-name",
        "employees--1-name",
        "employees-0x1-name",
        "employees-１-name",
        "employees-1-__class__",
        "nosuchtable-1-name",
    ],
)
def test_odd_row_keys_ignored(unit_client: FlaskClient, app: Flask, key: str) -> None:
    response = post_open(unit_client, employee(**{key: "李四"}))
    assert response.status_code == 200, errors_of(response)
    draft = checked_draft(app)
    assert [row["name"] for row in draft.data["employees"]] == ["张三"]


def test_read_only_values_recomputed(unit_client: FlaskClient, app: Flask) -> None:
    forged = employee(
        unit_ratio="0",
        person_ratio="99",
        total_deposit="1",
        employee_count="50",
        **{
            "employees-0-unit_deposit": "1.00",
            "employees-0-person_deposit": "99999",
            "employees-0-sex": "<b>女</b>",
            "employees-0-existing_account": "020100000001",
        },
    )
    response = post_open(unit_client, forged)
    assert response.status_code == 200, errors_of(response)
    draft = checked_draft(app)
    row = draft.data["employees"][0]
    assert row["unit_deposit"] == "720.00"
    assert row["person_deposit"] == "720.00"
    assert row["sex"] == "男"
    assert row["existing_account"] == ""
    assert draft.data["unit_ratio"] == "12"
    assert draft.data["total_deposit"] == "1440.00"
    assert draft.data["employee_count"] == "1"


# Hidden fields ------------------------------------------------------------------------


def test_hidden_field_value_dropped(person_client: FlaskClient) -> None:
    base = trial_form(income="3000")
    plain = post_form(person_client, TRIAL_URL, base)
    forged = post_form(person_client, TRIAL_URL, {**base, "co_income": "900000"})
    broken = post_form(person_client, TRIAL_URL, {**base, "co_income": "<x>\x00"})
    assert plain.status_code == forged.status_code == broken.status_code == 200
    amounts = [
        parse(response).find(attrs={"data-name": "loanable_amount"}).get_text()
        for response in (plain, forged, broken)
    ]
    assert amounts[1] == amounts[0]
    assert amounts[2] == amounts[0]
    assert errors_of(broken) == []


def test_visible_field_required(person_client: FlaskClient) -> None:
    data = trial_form(income="3000", co_borrower="on")
    response = post_form(person_client, TRIAL_URL, data)
    assert_rejected(response, "共同借款人月收入")


# Calculations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"_table": "employees", "_row": "abc"},
        {"_table": "employees", "_row": "-1"},
        {"_table": "employees", "_row": "9" * 40},
        {"_table": "employees", "_row": "٣"},
        {"_table": "nosuch", "_row": "0"},
        {"_table": "__class__", "_row": "0"},
    ],
)
def test_calc_rejects_bad_row(unit_client: FlaskClient, extra: dict[str, str]) -> None:
    data = {"employees-0-_row": "1", "employees-0-base": "6000", **extra}
    response = post_fragment(unit_client, "/calc", data)
    assert response.status_code == 400
    assert re.search(r"[\u4e00-\u9fff]", response.get_data(as_text=True))


@pytest.mark.parametrize(
    "base", ["9" * 1000, "1" + "0" * 27, "1e999", "0.0000000000000000000000000001"]
)
def test_calc_survives_extreme_amounts(unit_client: FlaskClient, base: str) -> None:
    data = {**hundred_bases(base), "_table": "employees", "_row": "0"}
    response = post_fragment(unit_client, "/calc", data)
    assert response.status_code == 200
    cell = parse_fragment(response).find(id="f-employees-0-unit_deposit")
    assert cell is not None
    assert cell.get("value", "") == ""


def test_calc_of_largest_allowed_amounts(unit_client: FlaskClient) -> None:
    response = post_fragment(unit_client, "/calc", hundred_bases("999999999999999.99"))
    assert response.status_code == 200
    fragment = parse_fragment(response)
    row = Decimal(fragment.find(id="f-employees-0-unit_deposit")["value"])
    assert row == Decimal("120000000000000.00")
    total = fragment.find(id="f-total_unit_deposit")
    assert total is not None
    assert Decimal(total["value"]) == row * 100


def _new_id(sequence: int) -> str:
    body = f"11010519900101{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def test_largest_allowed_table_submits(unit_client: FlaskClient, app: Flask) -> None:
    """A page with the maximum of rows posts more form parts than Werkzeug's default."""
    data: dict[str, Any] = {"first_month": "2026-12", "_agree": "on"}
    page = parse(unit_client.get(OPEN_URL))
    for name in ("unit_ratio", "person_ratio", "employee_count", "total_deposit"):
        data[name] = page.find(id=f"f-{name}").get("value", "")
    for index in range(100):
        prefix = f"employees-{index}-"
        data[prefix + "_row"] = "1"
        data[prefix + "id_number"] = _new_id(index + 1)
        data[prefix + "name"] = f"职工{index}"
        data[prefix + "mobile"] = "13800138000"
        data[prefix + "base"] = "6000"
        # The page posts its read-only cells too.
        for name in ("sex", "birth_date", "existing_account", "existing_status"):
            data[prefix + name] = ""
        data[prefix + "unit_deposit"] = "720.00"
        data[prefix + "person_deposit"] = "720.00"
    status, text = post_large(unit_client, data)
    assert status == 200, text[:500]
    page = BeautifulSoup(text, "html.parser")
    assert "开户职工（100 行）" in page.get_text(" ", strip=True)
    assert checked_drafts(app) == 1


def test_too_many_form_parts_message(unit_client: FlaskClient, app: Flask) -> None:
    data: dict[str, Any] = {f"junk{index}": "x" for index in range(60_000)}
    status, text = post_large(unit_client, data)
    assert status == 413
    assert "字段过多" in text
    assert checked_drafts(app) == 0


# SMS codes ----------------------------------------------------------------------------


def _code_tries(app: Flask, purpose: str) -> list[int]:
    with app.extensions["hall"].session_factory() as session:
        return list(
            session.scalars(
                select(SmsCode.tries)
                .where(SmsCode.purpose == purpose)
                .order_by(SmsCode.id)
            )
        )


@pytest.mark.parametrize("code", ["１２３４５６", "12345\u00b2", "12 456", "1234567"])
def test_service_sms_code_format(
    unit_client: FlaskClient, app: Flask, code: str
) -> None:
    url = "/unit/unit-base-change"
    token = csrf_token(unit_client.get(url))
    sent = unit_client.post(
        "/sms/send", data={"csrf_token": token, "purpose": "unit-base-change"}
    )
    assert sent.status_code == 200
    response = unit_client.post(
        url, data={"csrf_token": token, "effective_month": "2027-01", "_sms_code": code}
    )
    assert_rejected(response, "短信验证码应为6位数字")
    assert _code_tries(app, "unit-base-change") == [0]


@pytest.mark.parametrize(
    "code", ["１２３４５６", "\u0661\u0662\u0663\u0664\u0665\u0666"]
)
def test_login_sms_code_format(client: FlaskClient, app: Flask, code: str) -> None:
    token = csrf_token(client.get("/unit/login"))
    form = {
        "csrf_token": token,
        "unit_account": "0201000001",
        "password": DEMO_UNIT_PASSWORD,
    }
    assert client.post("/unit/login", data={**form, "action": "send_code"}).status_code
    response = client.post(
        "/unit/login", data={**form, "action": "login", "sms_code": code}
    )
    assert response.status_code == 400
    assert "短信验证码应为6位数字" in errors_of(response)
    assert _code_tries(app, "login") == [0]
    with client.session_transaction() as session:
        assert "hall" not in session


# Query and export parameters ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "label"),
    [
        ({"month_from": "2026-13", "month_to": "2026-12"}, "查询月份"),
        ({"month_from": "2026-12", "month_to": "2026-01"}, "查询月份"),
        ({"month_from": "2020-01", "month_to": "2026-12"}, "查询月份"),
        ({"month_from": "２０２６-01", "month_to": "2026-02"}, "查询月份"),
        ({"month_from": "2026-01\x00", "month_to": "2026-02"}, "查询月份"),
        (
            {"month_from": "2026-01", "month_to": "2026-02", "entry_type": "99"},
            "业务类型",
        ),
    ],
)
@pytest.mark.parametrize("export", ["csv", "xlsx"])
def test_export_rejects_bad_params(
    unit_client: FlaskClient, args: dict[str, Any], label: str, export: str
) -> None:
    response = unit_client.get(
        f"/unit/unit-ledger/export.{export}", query_string={"run": "1", **args}
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    messages = errors_of(response)
    assert any(label in message for message in messages), messages


@pytest.mark.parametrize(
    "args",
    [
        {"page": "-1"},
        {"page": "１"},
        {"page": "9" * 40},
        {"sort": "__class__"},
        {"sort": "balance", "dir": "\x00"},
        {"page": "1", "sort": "date", "dir": "<script>"},
    ],
)
def test_query_paging_params_harmless(
    unit_client: FlaskClient, args: dict[str, str]
) -> None:
    months = {"month_from": "2025-01", "month_to": "2025-12"}
    response = unit_client.get(
        "/unit/unit-ledger", query_string={"run": "1", **months, **args}
    )
    assert response.status_code == 200
    assert parse(response).find(id="result") is not None
    assert "<script>" not in response.get_data(as_text=True).split("<main", 1)[1]


@pytest.mark.parametrize(
    ("url", "args", "label"),
    [
        (
            "/unit/unit-ledger",
            {"month_from": "9999-01", "month_to": "9999-12"},
            "查询月份",
        ),
        (
            "/unit/unit-ledger",
            {"month_from": "0001-01", "month_to": "0001-02"},
            "查询月份",
        ),
        (
            "/unit/unit-applications",
            {"period_from": "9999-12-31", "period_to": "9999-12-31"},
            "提交日期",
        ),
        (
            "/unit/unit-applications",
            {"period_from": "0001-01-01", "period_to": "0001-01-01"},
            "提交日期",
        ),
    ],
)
def test_query_rejects_far_years(
    unit_client: FlaskClient, url: str, args: dict[str, str], label: str
) -> None:
    response = unit_client.get(url, query_string={"run": "1", **args})
    assert_rejected(response, label)
    assert any("1900至2199" in message for message in errors_of(response))
    export = unit_client.get(f"{url}/export.csv", query_string={"run": "1", **args})
    assert export.status_code == 400
    assert label in export.get_data(as_text=True)


def test_first_month_far_year(unit_client: FlaskClient, app: Flask) -> None:
    assert_open_rejected(
        unit_client,
        app,
        employee(first_month="9999-12"),
        "首次缴存月份的年份应在1900至2199之间",
    )


def test_core_rows_cannot_be_added(unit_client: FlaskClient) -> None:
    url = "/unit/unit-base-change"
    token = csrf_token(unit_client.get(url))
    response = unit_client.post(
        f"{url}/rows/employees/add",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert "职工缴存基数的行由核心系统列出" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "purpose",
    ["unit-ledger", "unit-open-account", "person-loan-trial", "nosuch", "", "x" * 5000],
)
def test_sms_only_for_own_verified_service(
    unit_client: FlaskClient, app: Flask, purpose: str
) -> None:
    token = csrf_token(unit_client.get("/unit/"))
    response = unit_client.post(
        "/sms/send",
        data={"csrf_token": token, "purpose": purpose},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert "不需要短信验证码" in response.get_data(as_text=True)
    with app.extensions["hall"].session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SmsCode)) == 1


# Review comments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "comment", "message"),
    [
        ("return", "扫描件\x00不清晰", "审核意见不能包含控制字符"),
        ("return", "扫描件\u202e不清晰", "审核意见不能包含控制字符"),
        ("approve", "同意\x1b[2J", "审核意见不能包含控制字符"),
        ("return", "退" * 501, "审核意见最多500个字符"),
        ("return", " \u3000 ", "退回时请填写退回原因"),
    ],
)
def test_review_comment_checked(
    unit_client: FlaskClient, app: Flask, decision: str, comment: str, message: str
) -> None:
    review = post_open(unit_client, employee())
    token = re.search(r'name="_draft" value="([^"]+)"', review.get_data(as_text=True))
    assert token
    done = unit_client.post(
        f"{OPEN_URL}/confirm",
        data={"csrf_token": csrf_token(unit_client.get(OPEN_URL)), "_draft": token[1]},
    )
    number = done.headers["Location"].rsplit("/", 1)[-1]
    reviewer = app.test_client()
    login_staff(reviewer)
    page = reviewer.get(f"/staff/reviews/{number}")
    response = reviewer.post(
        f"/staff/reviews/{number}",
        data={"csrf_token": csrf_token(page), "decision": decision, "comment": comment},
        follow_redirects=True,
    )
    assert message in parse(response).find(class_="flash").get_text()
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert stored.status == "submitted"
        assert stored.comment is None
        item = session.scalars(
            select(ReviewItem).where(ReviewItem.application_number == number)
        ).one()
        assert item.status == "pending"


def test_draft_keeps_only_form_inputs(unit_client: FlaskClient, app: Flask) -> None:
    junk = {
        "junk": "x" * 100_000,
        "employees-0-__class__": "x",
        "nosuch-0-name": "x",
        "unit_account": "0201000002",
        "csrf_token_copy": "x",
    }
    response = post_open(unit_client, employee(**junk))
    assert response.status_code == 200, errors_of(response)
    draft = checked_draft(app)
    assert set(draft.form_values) == {
        "first_month",
        "employees-0-_row",
        "employees-0-id_number",
        "employees-0-name",
        "employees-0-mobile",
        "employees-0-base",
    }
    assert draft.form_values["employees-0-name"] == "张三"


# Malformed htmx requests --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "status"),
    [
        ("/lookup/person", {}, 400),  # a row lookup without its row
        ("/lookup/person", {"_row": "x"}, 400),
        ("/lookup/person", {"_row": "7"}, 400),  # a row that was not posted
        ("/lookup/nosuch", {}, 404),
        ("/lookup/..%2Fperson", {}, 404),
        ("/rows/nosuch/add", {}, 404),
        ("/rows/nosuch/remove", {"_row": "0"}, 404),
        ("/attachments/nosuch", {}, 404),
        ("/confirm", {"_draft": "x" * 5000}, 404),
        ("/confirm", {"_draft": ""}, 404),
    ],
)
def test_htmx_routes_reject_malformed(
    unit_client: FlaskClient, app: Flask, path: str, data: dict[str, str], status: int
) -> None:
    response = post_fragment(unit_client, path, {"employees-0-_row": "1", **data})
    assert response.status_code == status
    assert re.search(r"[\u4e00-\u9fff]", response.get_data(as_text=True))
    assert checked_drafts(app) == 0


def test_field_over_memory_limit(unit_client: FlaskClient, app: Flask) -> None:
    status, text = post_large(
        unit_client, employee(**{"employees-0-name": "x" * 600_000})
    )
    assert status == 413
    assert "提交的内容过大" in text
    assert checked_drafts(app) == 0
