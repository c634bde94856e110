"""个人账户设立 (unit-open-account) end to end through the Flask test client."""

from __future__ import annotations

import gc
import io
import re
import warnings
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import (
    UNIT_A,
    UNIT_B,
    csrf_token,
    errors_of,
    login_staff,
    login_unit,
    parse,
    parse_fragment,
)

from connectors.embedded.models import Account as CoreAccount
from connectors.embedded.models import Person as CorePerson
from engine.storage.models import Application, Attachment

URL = "/unit/unit-open-account"
NEW_ID = "11010519900101007X"  # valid, male, unknown to the core
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def form(**changes: Any) -> dict[str, Any]:
    data = {
        "first_month": "2026-12",
        "employees-0-_row": "1",
        "employees-0-id_number": NEW_ID,
        "employees-0-name": "张三",
        "employees-0-mobile": "13800138000",
        "employees-0-base": "6000",
        "_agree": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post(
    client: FlaskClient, data: dict[str, Any], files: dict[str, Any] | None = None
) -> Any:
    token = csrf_token(client.get(URL))
    if files is None:
        files = {"id_card": (io.BytesIO(PNG), "身份证正面.png")}
    return client.post(
        URL,
        data={"csrf_token": token, **data, **files},
        content_type="multipart/form-data",
    )


def draft_token(response: Any) -> str:
    match = re.search(r'name="_draft" value="([^"]+)"', response.get_data(as_text=True))
    assert match
    return match.group(1)


def confirm(client: FlaskClient, token: str) -> Any:
    return client.post(
        f"{URL}/confirm",
        data={"csrf_token": csrf_token(client.get(URL)), "_draft": token},
    )


def known_person_without_active_account(app: Flask) -> CorePerson:
    with app.extensions["hall"].session_factory() as session:
        active = select(CoreAccount.person_id).where(CoreAccount.status == "01")
        person = session.scalars(
            select(CorePerson)
            .where(CorePerson.id.not_in(active))
            .order_by(CorePerson.id)
        ).first()
    assert person is not None, "the demo data has no person without an active account"
    return person


def test_page_shows_unit_ratios(unit_client: FlaskClient) -> None:
    page = parse(unit_client.get(URL))
    assert page.find(id="f-unit_ratio")["value"] == "12"
    assert page.find(id="f-person_ratio")["value"] == "12"
    assert page.find(id="f-employees-0-id_number") is not None


def test_open_account_happy_path(unit_client: FlaskClient, app: Flask) -> None:
    review = post(unit_client, form())
    assert review.status_code == 200
    text = parse(review).get_text(" ", strip=True)
    assert "请核对后提交" in text
    assert "720.00" in text
    assert "身份证正面.png" in text

    done = confirm(unit_client, draft_token(review))
    assert done.status_code == 302
    number = done.headers["Location"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"U[0-9]{14}", number)

    detail = parse(unit_client.get(done.headers["Location"]))
    assert detail.find(id="application-number").get_text() == number
    assert detail.find(id="application-status").get_text() == "待审核"

    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert stored.status == "submitted"
        assert stored.unit_account == UNIT_A
        assert stored.spec_version == "1"
        assert stored.delivered_at is not None
        row = stored.data["employees"][0]
        assert row["id_number"] == NEW_ID
        assert row["unit_deposit"] == "720.00"
        assert row["person_deposit"] == "720.00"
        assert stored.data["total_deposit"] == "1440.00"
        attachment = session.scalars(select(Attachment)).one()
        assert attachment.original_name == "身份证正面.png"
        assert attachment.stored_name != attachment.original_name
        assert attachment.content_type == "image/png"


def test_approval_opens_account(unit_client: FlaskClient, app: Flask) -> None:
    done = confirm(unit_client, draft_token(post(unit_client, form())))
    number = done.headers["Location"].rsplit("/", 1)[-1]

    reviewer = app.test_client()
    login_staff(reviewer)
    queue = reviewer.get("/staff/reviews").get_data(as_text=True)
    assert number in queue
    page = reviewer.get(f"/staff/reviews/{number}")
    decided = reviewer.post(
        f"/staff/reviews/{number}",
        data={"csrf_token": csrf_token(page), "decision": "approve"},
    )
    assert decided.status_code == 302

    with app.extensions["hall"].session_factory() as session:
        person = session.scalars(
            select(CorePerson).where(CorePerson.id_number == NEW_ID)
        ).one()
        account = session.scalars(
            select(CoreAccount).where(CoreAccount.person_id == person.id)
        ).one()
        assert account.status == "01"
        assert str(account.base) == "6000.00"
        assert session.scalars(select(Application.status)).one() == "approved"

    listing = parse(unit_client.get("/unit/unit-applications"))
    assert "审核通过" in listing.find(id="result").get_text()
    assert "个人账户设立" in listing.find(id="result").get_text()


def test_returned_application_shows_comment(
    unit_client: FlaskClient, app: Flask
) -> None:
    done = confirm(unit_client, draft_token(post(unit_client, form())))
    number = done.headers["Location"].rsplit("/", 1)[-1]
    reviewer = app.test_client()
    login_staff(reviewer)
    page = reviewer.get(f"/staff/reviews/{number}")
    reviewer.post(
        f"/staff/reviews/{number}",
        data={
            "csrf_token": csrf_token(page),
            "decision": "return",
            "comment": "身份证扫描件不清晰",
        },
    )
    detail = parse(unit_client.get(f"/unit/applications/{number}")).get_text(
        " ", strip=True
    )
    assert "退回" in detail
    assert "身份证扫描件不清晰" in detail


def test_double_confirm_creates_one_application(
    unit_client: FlaskClient, app: Flask
) -> None:
    token = draft_token(post(unit_client, form()))
    first = confirm(unit_client, token)
    second = confirm(unit_client, token)
    assert first.headers["Location"] == second.headers["Location"]
    with app.extensions["hall"].session_factory() as session:
        numbers = session.scalars(
            select(Application.number).where(Application.number.is_not(None))
        )
        assert len(list(numbers)) == 1


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # A required field left empty.
        ({"employees-0-name": ""}, "请填写姓名"),
        # ID1 with a wrong check character (ID2).
        ({"employees-0-id_number": "110105199001010011"}, "证件号码校验位不正确"),
        # ID3: the birth date 1990-01-00 does not exist.
        ({"employees-0-id_number": "110105199001000015"}, "证件号码中的出生日期无效"),
        # Too short to be an ID number.
        ({"employees-0-id_number": "1101051990"}, "证件号码应为18位居民身份证号码"),
        # A mobile starting with 12 is not a mainland mobile number.
        ({"employees-0-mobile": "12800138000"}, "手机号码应为11位手机号码"),
        # The base is below the year's floor: the range is named, nothing is clamped.
        ({"employees-0-base": "1500"}, "缴存基数（元）应在1,750.00元至21,900.00元之间"),
        # ... and above the cap.
        (
            {"employees-0-base": "30000"},
            "缴存基数（元）应在1,750.00元至21,900.00元之间",
        ),
        # Fen are the smallest unit.
        ({"employees-0-base": "6000.123"}, "缴存基数（元）最多保留2位小数"),
        # Not a number at all.
        ({"employees-0-base": "六千"}, "缴存基数（元）应为金额"),
        # A month that does not exist.
        ({"first_month": "2026-13"}, "首次缴存月份应为月份"),
        # The commitment must be accepted.
        ({"_agree": None}, "请阅读并同意《单位承诺书》"),
    ],
)
def test_open_account_rejects_bad_input(
    unit_client: FlaskClient, app: Flask, changes: dict[str, Any], expected: str
) -> None:
    response = post(unit_client, form(**changes))
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages
    with app.extensions["hall"].session_factory() as session:
        assert (
            session.scalars(
                select(Application.number).where(Application.number.is_not(None))
            ).first()
            is None
        )


def test_error_summary_links_to_row_field(unit_client: FlaskClient) -> None:
    response = post(unit_client, form(**{"employees-0-name": ""}))
    link = parse(response).find(id="error-summary").find("a")
    assert link["href"] == "#f-employees-0-name"
    assert link.get_text() == "开户职工第1行：请填写姓名"


def test_person_with_active_account_rejected(unit_client: FlaskClient) -> None:
    response = post(
        unit_client, form(**{"employees-0-id_number": "44020319850305021X"})
    )
    assert response.status_code == 400
    assert any("已有正常状态的个人账户" in message for message in errors_of(response))


def test_lookup_backfills_known_person(unit_client: FlaskClient, app: Flask) -> None:
    person = known_person_without_active_account(app)
    token = csrf_token(unit_client.get(URL))
    response = unit_client.post(
        f"{URL}/lookup/person",
        data={
            "csrf_token": token,
            "_row": "0",
            "employees-0-_row": "1",
            "employees-0-id_number": person.id_number.lower(),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    cells = parse_fragment(response)
    assert cells.find(id="f-employees-0-name")["value"] == person.name
    assert (
        cells.find(id="f-employees-0-sex")["value"]
        == {"1": "男", "2": "女"}[person.sex]
    )
    assert (
        cells.find(id="f-employees-0-birth_date")["value"]
        == person.birth_date.isoformat()
    )
    assert cells.find(id="cell-employees-0-name")["hx-swap-oob"] == "true"


def test_lookup_reports_invalid_trigger(unit_client: FlaskClient) -> None:
    token = csrf_token(unit_client.get(URL))
    response = unit_client.post(
        f"{URL}/lookup/person",
        data={
            "csrf_token": token,
            "_row": "0",
            "employees-0-id_number": "110105199001010011",
        },
    )
    error = parse_fragment(response).find(id="err-employees-0-id_number")
    assert error.get_text() == "证件号码校验位不正确，请核对后重新输入"


def test_calc_endpoint_recalculates_row(unit_client: FlaskClient) -> None:
    token = csrf_token(unit_client.get(URL))
    response = unit_client.post(
        f"{URL}/calc",
        data={
            "csrf_token": token,
            "_table": "employees",
            "_row": "0",
            "employees-0-_row": "1",
            "employees-0-base": "1730",
            "employees-1-_row": "1",
            "employees-1-base": "6000",
        },
    )
    cells = parse_fragment(response)
    # 1,730 x 12% = 207.60, rounded half-up to whole yuan.
    assert cells.find(id="f-employees-0-unit_deposit")["value"] == "208.00"
    assert cells.find(id="f-total_unit_deposit")["value"] == "928.00"


def test_add_row_with_htmx(unit_client: FlaskClient) -> None:
    token = csrf_token(unit_client.get(URL))
    response = unit_client.post(
        f"{URL}/rows/employees/add",
        data={"csrf_token": token, "employees-0-_row": "1", "employees-4-_row": "1"},
    )
    row = parse(response).find("tr")
    assert row["id"] == "row-employees-5"
    assert row.find(id="f-employees-5-id_number") is not None


def test_add_row_without_javascript(unit_client: FlaskClient) -> None:
    response = post(unit_client, form(_action="add_row:employees"), files={})
    page = parse(response)
    assert page.find(id="f-employees-0-id_number")["value"] == NEW_ID
    assert page.find(id="f-employees-1-id_number") is not None
    assert errors_of(response) == []


def test_remove_row_without_javascript(unit_client: FlaskClient) -> None:
    data = form(
        **{
            "employees-3-_row": "1",
            "employees-3-name": "李四",
            "_action": "remove_row:employees:0",
        }
    )
    page = parse(post(unit_client, data, files={}))
    assert page.find(id="f-employees-0-id_number") is None
    assert page.find(id="f-employees-3-name")["value"] == "李四"


def test_forged_read_only_values_ignored(unit_client: FlaskClient, app: Flask) -> None:
    data = form(
        **{
            "employees-0-unit_deposit": "1.00",
            "employees-0-sex": "女",
            "unit_ratio": "5",
            "total_deposit": "2.00",
        }
    )
    review = post(unit_client, data)
    assert review.status_code == 200
    with app.extensions["hall"].session_factory() as session:
        draft = session.scalars(select(Application)).one()
        assert draft.data["employees"][0]["unit_deposit"] == "720.00"
        assert draft.data["employees"][0]["sex"] == "男"
        assert draft.data["unit_ratio"] == "12"
        assert draft.data["total_deposit"] == "1440.00"


def test_unknown_keys_never_stored(unit_client: FlaskClient, app: Flask) -> None:
    post(
        unit_client,
        form(
            unit_account=UNIT_B, **{"employees-0-unit_account": UNIT_B, "is_admin": "1"}
        ),
    )
    with app.extensions["hall"].session_factory() as session:
        draft = session.scalars(select(Application)).one()
        assert "is_admin" not in draft.data
        assert "unit_account" not in draft.data
        assert "unit_account" not in draft.data["employees"][0]
        assert draft.unit_account == UNIT_A


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # No ID card scan at all.
        ({}, "请上传身份证正反面扫描件"),
        # A text file named like an image: the content decides, not the name.
        (
            {"id_card": (io.BytesIO(b"not an image at all" * 10), "scan.png")},
            "不是允许的类型",
        ),
        # An empty file.
        ({"id_card": (io.BytesIO(b""), "empty.jpg")}, "是空文件"),
        # Over 5 MB.
        (
            {"id_card": (io.BytesIO(PNG + b"\x00" * (5 * 1024 * 1024)), "big.png")},
            "超过5MB",
        ),
    ],
)
def test_attachment_checks(
    unit_client: FlaskClient, files: dict[str, Any], expected: str
) -> None:
    with warnings.catch_warnings():
        # Werkzeug's test client spools request bodies over 500 KB to a temporary
        # file that it never closes; collect it here, not in a later test.
        warnings.simplefilter("ignore", ResourceWarning)
        response = post(unit_client, form(), files=files)
        status, messages = response.status_code, errors_of(response)
        response.close()
        del response
        gc.collect()
    assert status == 400
    assert any(expected in message for message in messages), messages


def test_attachment_count_limit(unit_client: FlaskClient) -> None:
    files = {"id_card": [(io.BytesIO(PDF), f"第{index}页.pdf") for index in range(21)]}
    response = post(unit_client, form(), files=files)
    assert any("最多上传20个文件" in message for message in errors_of(response))


def test_upload_endpoint_keeps_chinese_name(
    unit_client: FlaskClient, app: Flask
) -> None:
    token = csrf_token(unit_client.get(URL))
    response = unit_client.post(
        f"{URL}/attachments/id_card",
        data={
            "csrf_token": token,
            "_draft": "",
            "id_card": (io.BytesIO(PDF), "../../身份证 反面.pdf"),
        },
        content_type="multipart/form-data",
    )
    page = parse(response)
    assert "身份证 反面.pdf" in page.find(id="att-id_card").get_text()
    assert page.find(id="draft-token")["value"]
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(select(Attachment)).one()
        assert "/" not in stored.original_name
        assert stored.content_type == "application/pdf"


def test_other_unit_cannot_use_draft(unit_client: FlaskClient, app: Flask) -> None:
    token = draft_token(post(unit_client, form()))
    other = app.test_client()
    login_unit(other, app, UNIT_B)
    response = other.post(
        f"{URL}/confirm",
        data={"csrf_token": csrf_token(other.get(URL)), "_draft": token},
    )
    assert response.status_code == 404
    with app.extensions["hall"].session_factory() as session:
        draft = session.scalars(select(Application)).one()
        assert draft.status == "draft"
        attachment = draft.attachments[0].id
    download = other.get(f"/unit/drafts/{token}/attachments/{attachment}")
    assert download.status_code == 404


def test_other_unit_cannot_read_application(
    unit_client: FlaskClient, app: Flask
) -> None:
    done = confirm(unit_client, draft_token(post(unit_client, form())))
    other = app.test_client()
    login_unit(other, app, UNIT_B)
    assert other.get(done.headers["Location"]).status_code == 404
    listing = other.get("/unit/unit-applications").get_data(as_text=True)
    assert done.headers["Location"].rsplit("/", 1)[-1] not in listing


def test_person_hall_cannot_open_unit_service(app: Flask) -> None:
    from support import login_person

    client = app.test_client()
    login_person(client, "44020319850305021X")
    response = client.get(URL)
    assert response.status_code == 302
    assert "/unit/login" in response.headers["Location"]
