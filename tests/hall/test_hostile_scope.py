"""Identifiers in requests that point at another unit's or depositor's records.

Unit A prepares and submits an application with an attachment. Unit B and a depositor
then try every identifier a request carries to reach it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support import (
    UNIT_A,
    UNIT_B,
    csrf_token,
    errors_of,
    latest_sms_code,
    login_person,
    login_staff,
    login_unit,
    parse,
    parse_fragment,
)

from connectors.base import Caller
from connectors.embedded.models import ReviewItem
from engine.storage.models import Application, Attachment

OPEN_URL = "/unit/unit-open-account"
BASE_URL = "/unit/unit-base-change"
NEW_ID = "11010519900101007X"
SECRET_NAME = "甲单位职工"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DEMO_ID = "44020319850305021X"


@dataclass
class UnitRecords:
    """What unit A owns: a submitted application and a draft, each with a file."""

    number: str
    attachment_id: int
    draft_token: str
    draft_attachment_id: int
    owner: FlaskClient


def open_form(name: str = SECRET_NAME) -> dict[str, Any]:
    return {
        "first_month": "2026-12",
        "employees-0-_row": "1",
        "employees-0-id_number": NEW_ID,
        "employees-0-name": name,
        "employees-0-mobile": "13800138000",
        "employees-0-base": "6000",
        "_agree": "on",
    }


def post_open(client: FlaskClient, data: dict[str, Any], **files: Any) -> Any:
    token = csrf_token(client.get(OPEN_URL))
    return client.post(
        OPEN_URL,
        data={"csrf_token": token, **data, **files},
        content_type="multipart/form-data",
    )


def draft_token(response: Any) -> str:
    match = re.search(r'name="_draft" value="([^"]+)"', response.get_data(as_text=True))
    assert match
    return match.group(1)


@pytest.fixture
def unit_a_records(app: Flask) -> UnitRecords:
    owner = app.test_client()
    login_unit(owner, app, UNIT_A)
    review = post_open(
        owner, open_form(), id_card=(io.BytesIO(PNG), "甲单位身份证.png")
    )
    assert review.status_code == 200, errors_of(review)
    token = draft_token(review)
    done = owner.post(
        f"{OPEN_URL}/confirm",
        data={"csrf_token": csrf_token(owner.get(OPEN_URL)), "_draft": token},
    )
    number = done.headers["Location"].rsplit("/", 1)[-1]
    second = post_open(
        owner, open_form(), id_card=(io.BytesIO(PNG), "甲单位草稿.png")
    )
    assert second.status_code == 200, errors_of(second)
    second_token = draft_token(second)
    with app.extensions["hall"].session_factory() as session:
        submitted = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        draft = session.scalars(
            select(Application).where(Application.draft_token == second_token)
        ).one()
        return UnitRecords(
            number=number,
            attachment_id=submitted.attachments[0].id,
            draft_token=second_token,
            draft_attachment_id=draft.attachments[0].id,
            owner=owner,
        )


@pytest.fixture
def unit_b(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app, UNIT_B)
    return client


def snapshot(app: Flask) -> dict[str, Any]:
    """Return what the stored state of applications and attachments looks like."""
    with app.extensions["hall"].session_factory() as session:
        applications = session.scalars(select(Application).order_by(Application.id))
        return {
            "applications": [
                (
                    item.id,
                    item.number,
                    item.status,
                    item.unit_account,
                    item.person_account,
                    item.data,
                    [attachment.id for attachment in item.attachments],
                )
                for item in applications
            ],
            "reviews": session.scalar(select(func.count()).select_from(ReviewItem)),
        }


# Unit against unit --------------------------------------------------------------------


def test_other_unit_application_hidden(
    unit_b: FlaskClient, unit_a_records: UnitRecords
) -> None:
    number = unit_a_records.number
    for url in (
        f"/unit/applications/{number}",
        f"/unit/applications/{number}/attachments/{unit_a_records.attachment_id}",
        f"/unit/drafts/{unit_a_records.draft_token}/attachments/"
        f"{unit_a_records.draft_attachment_id}",
    ):
        response = unit_b.get(url)
        assert response.status_code == 404, url
        assert SECRET_NAME not in response.get_data(as_text=True)
        assert "未找到" in response.get_data(as_text=True)
    listing = unit_b.get("/unit/unit-applications", query_string={"run": "1"})
    assert number not in listing.get_data(as_text=True)
    export = unit_b.get("/unit/unit-applications/export.csv", query_string={"run": "1"})
    assert number not in export.get_data(as_text=True)


def test_own_number_other_attachment(
    unit_b: FlaskClient, app: Flask, unit_a_records: UnitRecords
) -> None:
    review = post_open(
        unit_b, open_form("乙单位职工"), id_card=(io.BytesIO(PDF), "乙.pdf")
    )
    token = draft_token(review)
    done = unit_b.post(
        f"{OPEN_URL}/confirm",
        data={"csrf_token": csrf_token(unit_b.get(OPEN_URL)), "_draft": token},
    )
    own_number = done.headers["Location"].rsplit("/", 1)[-1]
    foreign = unit_a_records.attachment_id
    own_url = f"/unit/applications/{own_number}/attachments/{foreign}"
    assert unit_b.get(own_url).status_code == 404
    assert unit_b.get(f"/unit/drafts/{token}/attachments/{foreign}").status_code == 404


def test_other_unit_draft_not_confirmed(
    unit_b: FlaskClient, app: Flask, unit_a_records: UnitRecords
) -> None:
    before = snapshot(app)
    response = unit_b.post(
        f"{OPEN_URL}/confirm",
        data={
            "csrf_token": csrf_token(unit_b.get(OPEN_URL)),
            "_draft": unit_a_records.draft_token,
        },
    )
    assert response.status_code == 404
    assert snapshot(app) == before


def test_other_unit_draft_not_opened(
    unit_b: FlaskClient, app: Flask, unit_a_records: UnitRecords
) -> None:
    before = snapshot(app)
    token = csrf_token(unit_b.get(OPEN_URL))
    edit = unit_b.post(
        OPEN_URL,
        data={
            "csrf_token": token,
            "_draft": unit_a_records.draft_token,
            "_action": "edit",
        },
    )
    assert SECRET_NAME not in edit.get_data(as_text=True)
    assert "甲单位草稿.png" not in edit.get_data(as_text=True)
    assert unit_a_records.draft_token not in edit.get_data(as_text=True)
    assert snapshot(app) == before


@pytest.mark.parametrize("route", ["page", "htmx"])
def test_other_unit_attachment_not_removed(
    unit_b: FlaskClient, app: Flask, unit_a_records: UnitRecords, route: str
) -> None:
    before = snapshot(app)
    token = csrf_token(unit_b.get(OPEN_URL))
    action = f"remove_attachment:{unit_a_records.draft_attachment_id}"
    url = OPEN_URL if route == "page" else f"{OPEN_URL}/attachments/id_card"
    response = unit_b.post(
        url,
        data={
            "csrf_token": token,
            "_draft": unit_a_records.draft_token,
            "_action": action,
        },
    )
    assert response.status_code in (200, 400)
    assert "甲单位草稿.png" not in response.get_data(as_text=True)
    after = snapshot(app)
    # Unit B may have got an empty draft of its own; unit A's records are untouched.
    known = len(before["applications"])
    assert after["applications"][:known] == before["applications"]
    for item in after["applications"][known:]:
        assert item[3] == UNIT_B
        assert item[6] == []


def test_upload_into_other_unit_draft(
    unit_b: FlaskClient, app: Flask, unit_a_records: UnitRecords
) -> None:
    token = csrf_token(unit_b.get(OPEN_URL))
    response = unit_b.post(
        f"{OPEN_URL}/attachments/id_card",
        data={
            "csrf_token": token,
            "_draft": unit_a_records.draft_token,
            "id_card": (io.BytesIO(PNG), "乙单位.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert unit_a_records.draft_token not in response.get_data(as_text=True)
    with app.extensions["hall"].session_factory() as session:
        draft = session.scalars(
            select(Application).where(
                Application.draft_token == unit_a_records.draft_token
            )
        ).one()
        assert [item.original_name for item in draft.attachments] == ["甲单位草稿.png"]
        uploaded = session.scalars(
            select(Attachment).where(Attachment.original_name == "乙单位.png")
        ).one()
        assert uploaded.application.unit_account == UNIT_B


def employees_of(app: Flask, unit_account: str) -> list[dict[str, Any]]:
    router = app.extensions["hall"].router
    return router.call("unit.employees", Caller("unit", unit_account=unit_account), {})


def test_base_change_foreign_account(unit_b: FlaskClient, app: Flask) -> None:
    own = employees_of(app, UNIT_B)
    foreign = employees_of(app, UNIT_A)[0]
    token = csrf_token(unit_b.get(BASE_URL))
    unit_b.post("/sms/send", data={"csrf_token": token, "purpose": "unit-base-change"})
    data: dict[str, Any] = {
        "csrf_token": token,
        "effective_month": "2027-01",
        "_agree": "on",
        "_sms_code": latest_sms_code(app),
    }
    for index, employee in enumerate(own):
        data[f"employees-{index}-person_account"] = employee["person_account"]
        data[f"employees-{index}-base"] = str(employee["base"])
    # The foreign account takes the place of a row and gets a new base.
    data[f"employees-{len(own)}-person_account"] = foreign["person_account"]
    data[f"employees-{len(own)}-base"] = "9000"
    data["wage_list"] = (io.BytesIO(PDF), "工资表.pdf")
    before = snapshot(app)
    response = unit_b.post(BASE_URL, data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert any("记录不存在" in message for message in errors_of(response))
    assert foreign["person_account"] not in response.get_data(as_text=True)
    assert foreign["name"] not in response.get_data(as_text=True)
    after = snapshot(app)
    assert [item[5] for item in after["applications"]] == [
        item[5] for item in before["applications"]
    ] + [None] * (len(after["applications"]) - len(before["applications"]))
    assert employees_of(app, UNIT_A)[0]["base"] == foreign["base"]


def test_lookup_masks_foreign_account(unit_b: FlaskClient, app: Flask) -> None:
    token = csrf_token(unit_b.get(OPEN_URL))
    response = unit_b.post(
        f"{OPEN_URL}/lookup/person",
        data={
            "employees-0-_row": "1",
            "employees-0-id_number": DEMO_ID,
            "_row": "0",
            "unit_account": UNIT_A,
        },
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    fragment = parse_fragment(response)
    cell = fragment.find(id="cell-employees-0-id_number")
    assert cell is not None
    assert "020100000001" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "params",
    [
        {"unit_account": UNIT_A},
        {"caller": UNIT_A},
        {"hall": "staff"},
        {"unit_id": "1"},
    ],
)
def test_query_params_do_not_widen(
    unit_b: FlaskClient, unit_a_records: UnitRecords, params: dict[str, str]
) -> None:
    args = {"run": "1", **params}
    page = unit_b.get("/unit/unit-applications", query_string=args)
    assert page.status_code == 200
    assert unit_a_records.number not in page.get_data(as_text=True)
    for export in ("csv", "xlsx"):
        response = unit_b.get(
            f"/unit/unit-applications/export.{export}", query_string=args
        )
        assert response.status_code == 200
        assert unit_a_records.number.encode() not in response.get_data()


# Depositors and halls -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/unit/",
        "/unit/unit-ledger",
        "/unit/unit-open-account",
        "/unit/unit-ledger/export.csv?run=1",
        "/staff/reviews",
    ],
)
def test_depositor_kept_out_of_unit_pages(
    client: FlaskClient, app: Flask, unit_a_records: UnitRecords, url: str
) -> None:
    login_person(client, DEMO_ID)
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    for url in (
        f"/unit/applications/{unit_a_records.number}",
        f"/person/applications/{unit_a_records.number}",
        f"/staff/reviews/{unit_a_records.number}",
    ):
        login_person(client, DEMO_ID)
        response = client.get(url)
        assert response.status_code in (302, 404), url
        assert SECRET_NAME not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    ["/person/", "/person/person-account", "/person/person-ledger?run=1"],
)
def test_unit_kept_out_of_person_pages(unit_b: FlaskClient, url: str) -> None:
    response = unit_b.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/person/login")


def test_person_cannot_use_unit_service_under_person(
    client: FlaskClient, app: Flask
) -> None:
    login_person(client, DEMO_ID)
    for url in ("/person/unit-open-account", "/person/unit-ledger/export.csv"):
        response = client.get(url)
        assert response.status_code == 404
        assert "未找到" in response.get_data(as_text=True)


def test_unit_cannot_decide_review(
    unit_b: FlaskClient, app: Flask, unit_a_records: UnitRecords
) -> None:
    before = snapshot(app)
    response = unit_b.post(
        f"/staff/reviews/{unit_a_records.number}",
        data={"csrf_token": csrf_token(unit_b.get("/unit/")), "decision": "approve"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    assert snapshot(app) == before


def test_depositor_params_do_not_widen(client: FlaskClient, app: Flask) -> None:
    login_person(client, DEMO_ID)
    own = parse(client.get("/person/person-account")).find(id="result").get_text()
    forged = client.get(
        "/person/person-account",
        query_string={"person_account": "020100000002", "login_id": "x", "run": "1"},
    )
    assert parse(forged).find(id="result").get_text() == own
    trial = client.post(
        "/person/person-loan-trial",
        data={
            "csrf_token": csrf_token(client.get("/person/person-loan-trial")),
            "balance": "99999999",
            "age": "20",
            "house_price": "2000000",
            "home": "first",
            "income": "20000",
            "existing_debt": "0",
            "term_years": "20",
            "method": "equal-instalments",
        },
    )
    page = parse(trial)
    assert page.find(id="f-balance")["value"] != "99999999.00"
    assert page.find(id="f-age")["value"] != "20"


def test_submitted_application_frozen(app: Flask, unit_a_records: UnitRecords) -> None:
    """The owner's own draft token, once confirmed, changes nothing any more."""
    owner = unit_a_records.owner
    with app.extensions["hall"].session_factory() as session:
        submitted = session.scalars(
            select(Application).where(Application.number == unit_a_records.number)
        ).one()
        token = submitted.draft_token
    before = snapshot(app)
    csrf = csrf_token(owner.get(OPEN_URL))
    owner.post(
        f"{OPEN_URL}/attachments/id_card",
        data={
            "csrf_token": csrf,
            "_draft": token,
            "_action": f"remove_attachment:{unit_a_records.attachment_id}",
        },
    )
    owner.post(
        OPEN_URL,
        data={
            "csrf_token": csrf,
            "_draft": token,
            **open_form("改过的名字"),
            "id_card": (io.BytesIO(PNG), "后补.png"),
        },
        content_type="multipart/form-data",
    )
    again = owner.post(
        f"{OPEN_URL}/confirm", data={"csrf_token": csrf, "_draft": token}
    )
    assert again.status_code == 302
    assert again.headers["Location"].endswith(unit_a_records.number)
    after = snapshot(app)
    known = {item[0]: item for item in before["applications"]}
    for item in after["applications"]:
        if item[0] in known:
            assert item == known[item[0]]
        else:
            assert item[2] == "draft"
    assert after["reviews"] == before["reviews"]


def test_base_change_forged_read_only(unit_b: FlaskClient, app: Flask) -> None:
    own = employees_of(app, UNIT_B)
    token = csrf_token(unit_b.get(BASE_URL))
    unit_b.post("/sms/send", data={"csrf_token": token, "purpose": "unit-base-change"})
    data: dict[str, Any] = {
        "csrf_token": token,
        "effective_month": "2027-01",
        "_agree": "on",
        "_sms_code": latest_sms_code(app),
        "unit_ratio": "1",
    }
    for index, employee in enumerate(own):
        data[f"employees-{index}-person_account"] = employee["person_account"]
        data[f"employees-{index}-base"] = str(employee["base"])
    data["employees-0-base"] = "8000"
    data["employees-0-current_base"] = "1.00"
    data["employees-0-name"] = "<b>冒名</b>"
    data["employees-0-unit_deposit"] = "0.01"
    data["wage_list"] = (io.BytesIO(PDF), "工资表.pdf")
    response = unit_b.post(BASE_URL, data=data, content_type="multipart/form-data")
    assert response.status_code == 200, errors_of(response)
    with app.extensions["hall"].session_factory() as session:
        draft = session.scalars(
            select(Application).where(Application.data.is_not(None))
        ).one()
    (row,) = draft.data["employees"]
    assert row["person_account"] == own[0]["person_account"]
    assert row["name"] == own[0]["name"]
    assert row["current_base"] == str(own[0]["base"])
    assert row["base"] == "8000.00"
    assert row["unit_deposit"] != "0.01"
    assert draft.data["unit_ratio"] != "1"


@pytest.mark.parametrize(
    "number",
    ["U" + "9" * 5000, "U2026%00", "%2e%2e%2fstaff", "U20261204000001'--", "*"],
)
def test_odd_application_numbers(
    unit_b: FlaskClient, unit_a_records: UnitRecords, number: str
) -> None:
    for url in (
        f"/unit/applications/{number}",
        f"/unit/applications/{number}/attachments/1",
        f"/unit/drafts/{number}/attachments/1",
    ):
        response = unit_b.get(url)
        assert response.status_code == 404, url
        assert "未找到" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "number", ["U" + "9" * 5000, "U2026%00", "u20261204000001", ""]
)
def test_staff_odd_numbers(client: FlaskClient, app: Flask, number: str) -> None:
    login_staff(client)
    before = snapshot(app)
    page = client.get("/staff/reviews")
    for response in (
        client.get(f"/staff/reviews/{number}"),
        client.get(f"/staff/reviews/{number}/attachments/1"),
        client.post(
            f"/staff/reviews/{number}",
            data={"csrf_token": csrf_token(page), "decision": "approve"},
        ),
    ):
        assert response.status_code in (404, 405)
        assert re.search(r"[\u4e00-\u9fff]", response.get_data(as_text=True))
    assert snapshot(app) == before
