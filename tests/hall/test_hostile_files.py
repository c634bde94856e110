"""Hostile uploads: names, content that lies about its type, sizes and counts."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import csrf_token, errors_of, login_unit, parse
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from engine.storage.models import Application, Attachment

OPEN_URL = "/unit/unit-open-account"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
HTML = b"<html><script>alert(document.cookie)</script></html>"
ZIP = b"PK\x03\x04" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def open_form() -> dict[str, Any]:
    return {
        "first_month": "2026-12",
        "employees-0-_row": "1",
        "employees-0-id_number": "11010519900101007X",
        "employees-0-name": "张三",
        "employees-0-mobile": "13800138000",
        "employees-0-base": "6000",
        "_agree": "on",
    }


def upload(client: FlaskClient, content: bytes, name: str, **extra: Any) -> Any:
    token = csrf_token(client.get(OPEN_URL))
    return client.post(
        f"{OPEN_URL}/attachments/id_card",
        data={"csrf_token": token, "id_card": (io.BytesIO(content), name), **extra},
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )


def big_upload(client: FlaskClient, content: bytes, name: str) -> tuple[int, str]:
    """Upload a large file; return the status and the page text.

    The multipart body is encoded here in memory, because Werkzeug's test client
    spools bodies over 500 KB to a temporary file that it never closes.
    """
    token = csrf_token(client.get(OPEN_URL))
    boundary, body = encode_multipart(
        MultiDict(
            {"csrf_token": token, "id_card": FileStorage(io.BytesIO(content), name)}
        )
    )
    response = client.post(
        f"{OPEN_URL}/attachments/id_card",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"HX-Request": "true"},
    )
    return response.status_code, response.get_data(as_text=True)


def stored(app: Flask) -> list[Attachment]:
    with app.extensions["hall"].session_factory() as session:
        return list(session.scalars(select(Attachment).order_by(Attachment.id)))


def files_on_disk(app: Flask) -> list[Path]:
    folder = Path(app.config["ATTACHMENTS_DIR"])
    return sorted(path for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../../../etc/passwd.png", "passwd.png"),
        ("..\\..\\windows\\system32\\a.png", "a.png"),
        ("/absolute/path/身份证.png", "身份证.png"),
        ("C:\\Users\\张三\\身份证.png", "身份证.png"),
        ("./../身份证.png", "身份证.png"),
        ("..", None),
        ("...", None),
        ("./", None),
        ("", None),
        ("身份证\x00.exe.png", "身份证.exe.png"),
        ("<img src=x onerror=alert(1)>.png", "img src=x onerror=alert(1).png"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("证\u200b件.png", "证件.png"),
    ],
)
def test_upload_name_sanitised(
    unit_client: FlaskClient, app: Flask, name: str, shown: str | None
) -> None:
    response = upload(unit_client, PNG, name)
    assert response.status_code == 200
    items = stored(app)
    if not name:
        # A browser sends no file at all for an empty name.
        assert items == []
        return
    assert len(items) == 1
    item = items[0]
    assert "/" not in item.original_name
    assert "\\" not in item.original_name
    assert item.original_name.strip(".") != ""
    if shown is not None:
        # Werkzeug reads a backslash in the quoted file name as an escape, so a
        # Windows path arrives without its separators. It must still end in the name.
        assert item.original_name.endswith(shown)
    else:
        assert item.original_name == "未命名文件"
    assert re.fullmatch(r"[0-9a-f]{32}\.png", item.stored_name)
    folder = Path(app.config["ATTACHMENTS_DIR"]).resolve()
    assert [path.resolve().parent.parent for path in files_on_disk(app)] == [folder]


def test_upload_long_name_kept_short(unit_client: FlaskClient, app: Flask) -> None:
    name = "很" * 5000 + ".png"
    response = upload(unit_client, PNG, name)
    assert response.status_code == 200
    (item,) = stored(app)
    assert len(item.original_name) <= 100
    assert item.original_name.endswith(".png")


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (HTML, "身份证.png"),
        (HTML, "身份证.html"),
        (ZIP, "身份证.pdf"),
        (EXE, "身份证.jpg"),
        (b"GIF89a" + b"\x00" * 64, "身份证.png"),
        (b"\x00" * 1024, "身份证.png"),
        (b"PNG" + b"\x00" * 64, "身份证.png"),
    ],
)
def test_upload_content_must_match(
    unit_client: FlaskClient, app: Flask, content: bytes, name: str
) -> None:
    response = upload(unit_client, content, name)
    assert response.status_code == 200
    error = parse(response).find(id="err-id_card")
    assert error is not None
    assert "身份证正反面扫描件" in error.get_text()
    assert "不是允许的类型" in error.get_text()
    assert stored(app) == []
    assert files_on_disk(app) == []


def test_upload_declared_type_ignored(unit_client: FlaskClient, app: Flask) -> None:
    token = csrf_token(unit_client.get(OPEN_URL))
    response = unit_client.post(
        f"{OPEN_URL}/attachments/id_card",
        data={
            "csrf_token": token,
            "id_card": (io.BytesIO(PDF), "扫描件.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    (item,) = stored(app)
    assert item.content_type == "application/pdf"
    assert item.stored_name.endswith(".pdf")


def test_upload_zero_bytes(unit_client: FlaskClient, app: Flask) -> None:
    response = upload(unit_client, b"", "身份证.png")
    error = parse(response).find(id="err-id_card")
    assert error is not None
    assert "空文件" in error.get_text()
    assert stored(app) == []
    assert files_on_disk(app) == []


def test_upload_over_kind_limit(unit_client: FlaskClient, app: Flask) -> None:
    big = PNG + b"\x00" * (5120 * 1024)
    status, text = big_upload(unit_client, big, "大图.png")
    assert status == 200
    assert "身份证正反面扫描件：文件“大图.png”超过5MB" in text
    assert stored(app) == []
    exact = PNG + b"\x00" * (5120 * 1024 - len(PNG))
    assert big_upload(unit_client, exact, "刚好.png")[0] == 200
    assert [item.size for item in stored(app)] == [5120 * 1024]


def test_request_over_total_limit(unit_client: FlaskClient, app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    status, text = big_upload(
        unit_client, PNG + b"\x00" * (2 * 1024 * 1024), "巨大.png"
    )
    assert status == 413
    assert "上传的文件合计不能超过1MB" in text
    assert stored(app) == []


def test_upload_count_limit(unit_client: FlaskClient, app: Flask) -> None:
    token = csrf_token(unit_client.get(OPEN_URL))
    files = [(io.BytesIO(PNG), f"第{number}张.png") for number in range(25)]
    response = unit_client.post(
        OPEN_URL,
        data={"csrf_token": token, **open_form(), "id_card": files},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert any("最多上传20个文件" in message for message in errors_of(response))
    assert len(stored(app)) == 20
    assert len(files_on_disk(app)) == 20


def test_unknown_kind_ignored(unit_client: FlaskClient, app: Flask) -> None:
    token = csrf_token(unit_client.get(OPEN_URL))
    response = unit_client.post(
        f"{OPEN_URL}/attachments/..%2F..%2Fetc",
        data={"csrf_token": token, "id_card": (io.BytesIO(PNG), "a.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert "未找到" in response.get_data(as_text=True)
    page = unit_client.post(
        OPEN_URL,
        data={
            "csrf_token": token,
            **open_form(),
            "id_card": (io.BytesIO(PNG), "a.png"),
            "../evil": (io.BytesIO(PNG), "b.png"),
            "other_kind": (io.BytesIO(PNG), "c.png"),
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 200, errors_of(page)
    assert [item.original_name for item in stored(app)] == ["a.png"]


def test_download_headers_safe(unit_client: FlaskClient, app: Flask) -> None:
    upload(unit_client, PDF, "报告; filename=evil.html.pdf")
    with app.extensions["hall"].session_factory() as session:
        draft = session.scalars(select(Application)).one()
        token, item = draft.draft_token, draft.attachments[0]
    response = unit_client.get(f"/unit/drafts/{token}/attachments/{item.id}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    # The whole name stays inside one quoted value and one encoded value.
    name = "报告; filename=evil.html.pdf"
    assert response.headers["Content-Disposition"] == (
        f"inline; filename=\"; filename=evil.html.pdf\"; filename*=UTF-8''{quote(name)}"
    )
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    response.close()


def test_required_file_removed_after_review(
    unit_client: FlaskClient, app: Flask
) -> None:
    token = csrf_token(unit_client.get(OPEN_URL))
    review = unit_client.post(
        OPEN_URL,
        data={
            "csrf_token": token,
            **open_form(),
            "id_card": (io.BytesIO(PNG), "身份证.png"),
        },
        content_type="multipart/form-data",
    )
    assert review.status_code == 200, errors_of(review)
    draft = re.search(r'name="_draft" value="([^"]+)"', review.get_data(as_text=True))
    assert draft
    (item,) = stored(app)
    removed = unit_client.post(
        f"{OPEN_URL}/attachments/id_card",
        data={
            "csrf_token": token,
            "_draft": draft.group(1),
            "_action": f"remove_attachment:{item.id}",
        },
    )
    assert removed.status_code == 200
    assert stored(app) == []

    done = unit_client.post(
        f"{OPEN_URL}/confirm", data={"csrf_token": token, "_draft": draft.group(1)}
    )
    assert done.status_code == 400
    assert any("请上传身份证正反面扫描件" in message for message in errors_of(done))
    with app.extensions["hall"].session_factory() as session:
        application = session.scalars(select(Application)).one()
        assert application.status == "draft"
        assert application.number is None
