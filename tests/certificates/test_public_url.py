"""The public address of the hall: printed verification links and the session cookie."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.app import default_config
from engine.proxies import parse_public_url
from tests.certificates.conftest import squeeze
from tests.certificates.test_certificate_views import CODE, DEMO_ID, print_certificate
from tests.support import build_test_app, login_person


def printed_text(client: FlaskClient, text_of) -> str:  # type: ignore[no-untyped-def]
    login_person(client, DEMO_ID)
    response = print_certificate(client, "person", "person-deposit-certificate")
    assert response.status_code == 200
    return squeeze(text_of(response.data))


def test_verify_link_under_public_url(client: FlaskClient, app: Flask, text_of) -> None:
    app.config["PUBLIC_URL"] = "https://gjj.example.cn"
    text = printed_text(client, text_of)
    code = CODE.search(text)

    assert code
    assert f"https://gjj.example.cn/verify/{code.group(1)}" in text
    assert "localhost" not in text


def test_verify_link_from_request_by_default(
    client: FlaskClient, app: Flask, text_of
) -> None:
    text = printed_text(client, text_of)
    code = CODE.search(text)

    assert app.config["PUBLIC_URL"] == ""
    assert code
    assert f"http://localhost/verify/{code.group(1)}" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("  ", ""),
        ("https://gjj.example.cn/", "https://gjj.example.cn"),
        ("http://10.0.0.5:8080/hall", "http://10.0.0.5:8080/hall"),
        ("HTTPS://GJJ.Example.CN/Hall/", "https://gjj.example.cn/Hall"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
        ("https://xn--fiq228c.cn", "https://xn--fiq228c.cn"),
    ],
)
def test_public_url_accepted(value: str, expected: str) -> None:
    assert parse_public_url(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "gjj.example.cn",
        "ftp://gjj.example.cn",
        "https://",
        "https://user:secret@gjj.example.cn",
        "https://gjj.example.cn/?next=1",
        "https://gjj.example.cn/#top",
        "javascript:alert(1)",
        "https://gjj.example.cn?",
        "https://gjj.example.cn#",
        "https://gjj example.cn",
        "https://gjj.example.cn/a b",
        "https://gjj.example.cn\nevil",
        "https://gjj.example.cn\\evil.example",
        'https://gjj.example.cn/"><script>',
        "https://gjj.example.cn:99999",
        "https://gjj.example.cn:0",
        "https://gjj.example.cn:port",
        "https://gjj_example.cn",
        "https://gjj.例子.cn",
        "https://gjj.example.cn/" + "a" * 200,
        "https://" + "a" * 64 + ".cn",
    ],
)
def test_public_url_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="HALL_PUBLIC_URL"):
        parse_public_url(value)


def test_public_url_read_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_PUBLIC_URL", "https://gjj.example.cn")

    assert default_config(tmp_path)["PUBLIC_URL"] == "https://gjj.example.cn"


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [
        ("https://gjj.example.cn", True),
        ("HTTPS://gjj.example.cn", True),
        ("http://10.0.0.5:8080", False),
        ("", False),
    ],
)
def test_session_cookie_secure_under_https(
    database_url: str, tmp_path: Path, public_url: str, secure: bool
) -> None:
    app = build_test_app(database_url, tmp_path, PUBLIC_URL=public_url)
    try:
        response = app.test_client().get("/person/login")
        cookie = response.headers["Set-Cookie"]
    finally:
        app.extensions["hall"].session_factory.kw["bind"].dispose()

    assert app.config["SESSION_COOKIE_SECURE"] is secure
    assert ("; Secure" in cookie) is secure
