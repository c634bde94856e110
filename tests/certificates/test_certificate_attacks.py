"""Certificates under attack: forged Host headers, odd codes and repeated requests."""

from __future__ import annotations

import secrets
import threading
from collections import Counter

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from werkzeug.test import TestResponse

from connectors.embedded.models import Account, LedgerEntry, Unit
from engine import certificates, print_jobs
from engine.storage.models import IssuedCertificate, PrintJob, VerificationLookup
from tests.certificates.conftest import squeeze
from tests.certificates.test_certificate_views import (
    CODE,
    DEMO_ACCOUNT,
    DEMO_ID,
    choices,
    print_certificate,
)
from tests.support import UNIT_A, csrf_token, login_person, login_unit, parse

PERSON_PRINT = "/person/print/person-deposit-certificate"


def print_with_host(client: FlaskClient, app: Flask, host: str) -> TestResponse:
    """Print the demo depositor's certificate with a Host header of the client's choice.

    The test client sends its cookies only to its own host, so a second client
    without a cookie jar sends the session cookie by hand.
    """
    login_person(client, DEMO_ID)
    token = csrf_token(client.get(PERSON_PRINT))
    session_cookie = client.get_cookie("session")
    assert session_cookie is not None
    forged = app.test_client(use_cookies=False)
    return forged.post(
        PERSON_PRINT,
        data={"csrf_token": token},
        headers={"Host": host, "Cookie": f"session={session_cookie.value}"},
    )


def certificates_issued(app: Flask) -> int:
    with app.extensions["hall"].session_factory() as session:
        return session.scalar(select(func.count(IssuedCertificate.id))) or 0


def printed_code(response: TestResponse, text_of) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    found = CODE.search(squeeze(text_of(response.data)))
    assert found
    return found.group(1)


# The verification link ----------------------------------------------------------


def test_forged_host_not_printed_in_production(client: FlaskClient, app: Flask) -> None:
    app.config["DEMO_MODE"] = False
    response = print_with_host(client, app, "gjj-verify.example.net")
    body = response.get_data(as_text=True)

    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "尚未设置证明核验网址" in body
    assert "gjj-verify.example.net" not in body
    assert certificates_issued(app) == 0


def test_public_url_printed_whatever_the_host(
    client: FlaskClient, app: Flask, text_of
) -> None:
    app.config["DEMO_MODE"] = False
    app.config["PUBLIC_URL"] = "https://gjj.example.cn"
    response = print_with_host(client, app, "gjj-verify.example.net")
    text = squeeze(text_of(response.data))
    code = printed_code(response, text_of)

    assert f"https://gjj.example.cn/verify/{code}" in text
    assert "example.net" not in text


@pytest.mark.parametrize(
    "host",
    ["localhost:80@evil.example", "evil.example/phish?x=", "evil.example:0"],
)
def test_malformed_host_rejected(client: FlaskClient, app: Flask, host: str) -> None:
    response = print_with_host(client, app, host)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "网址无效" in response.get_data(as_text=True)
    assert certificates_issued(app) == 0


# Typed codes --------------------------------------------------------------------


def full_width(text: str) -> str:
    """Write ASCII letters, digits and hyphens as a Chinese input method types them."""
    return "".join(chr(ord(char) + 0xFEE0) if char != " " else char for char in text)


def test_code_typed_full_width_verifies(client: FlaskClient, text_of) -> None:
    login_person(client, DEMO_ID)
    code = printed_code(
        print_certificate(client, "person", "person-deposit-certificate"), text_of
    )
    anonymous = client.application.test_client()
    variants = [
        full_width(code),
        full_width(code.lower()),
        code.replace("-", "\u2014"),
        code.replace("-", "\u3000"),
    ]

    for typed in variants:
        page = anonymous.get(f"/verify/{typed}")
        assert page.status_code == 200, typed
        assert parse(page).find(id="verify-facts") is not None, typed
        typed_form = anonymous.get("/verify", query_string={"code": typed})
        assert typed_form.status_code == 302, typed
        assert typed_form.headers["Location"].endswith(f"/verify/{code}"), typed


def test_verify_never_echoes_other_text(client: FlaskClient) -> None:
    message = "证明已失效请致电0751-0000000办理"
    long_text = "A" * 5000

    for typed in (message, long_text):
        page = client.get(f"/verify/{typed}")
        body = page.get_data(as_text=True)
        assert page.status_code == 404
        assert parse(page).find(id="verify-not-found") is None
        assert "验证码应为16位字母和数字" in body
        assert typed not in body
        assert len(body) < 4000


def test_unknown_well_formed_code_named(client: FlaskClient) -> None:
    page = client.get("/verify/2222333344445555")
    found = parse(page).find(id="verify-not-found")

    assert page.status_code == 404
    assert found is not None
    assert "2222-3333-4444-5555" in found.get_text()


def random_code() -> str:
    return "".join(secrets.choice(certificates.ALPHABET) for _ in range(16))


def test_verify_throttle_holds_for_burst(app: Flask) -> None:
    """Look-ups that arrive together still get at most ten "not found" pages."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(30)

    def look_up() -> None:
        client = app.test_client()
        start.wait()
        status = client.get(f"/verify/{random_code()}").status_code
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=look_up) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Each look-up counts the others committed with it, so a burst may admit fewer
    # than the limit, never more.
    assert statuses[404] <= certificates.MAX_MISSES_PER_ADDRESS
    assert statuses[404] + statuses[429] == 30


def test_throttled_retries_not_counted(client: FlaskClient, app: Flask) -> None:
    for _ in range(certificates.MAX_MISSES_PER_ADDRESS):
        assert client.get(f"/verify/{random_code()}").status_code == 404
    for _ in range(5):
        assert client.get(f"/verify/{random_code()}").status_code == 429
    with app.extensions["hall"].session_factory() as session:
        recorded = session.scalar(select(func.count(VerificationLookup.id)))

    assert recorded == certificates.MAX_MISSES_PER_ADDRESS


@pytest.mark.parametrize(
    ("remote", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("unknown", "unknown"),
    ],
)
def test_lookup_address_of_client(remote: str, counted_as: str) -> None:
    assert certificates.lookup_address(remote) == counted_as


def look_up_from(client: FlaskClient, address: str) -> int:
    page = client.get(f"/verify/{random_code()}", environ_base={"REMOTE_ADDR": address})
    return page.status_code


def test_ipv6_throttled_by_64_prefix(client: FlaskClient, app: Flask) -> None:
    """Changing the last 64 bits of an IPv6 address does not reset the count."""
    for host in range(1, certificates.MAX_MISSES_PER_ADDRESS + 1):
        assert look_up_from(client, f"2001:db8:1:2::{host:x}") == 404
    with app.extensions["hall"].session_factory() as session:
        counted = set(session.scalars(select(VerificationLookup.address)))

    assert look_up_from(client, "2001:db8:1:2:ffff:ffff:ffff:ffff") == 429
    assert look_up_from(client, "2001:db8:1:3::1") == 404
    assert look_up_from(client, "192.0.2.7") == 404
    assert counted == {"2001:db8:1:2::/64"}


def test_ipv4_mapped_counted_as_ipv4(client: FlaskClient) -> None:
    for _ in range(certificates.MAX_MISSES_PER_ADDRESS):
        assert look_up_from(client, "::ffff:192.0.2.7") == 404

    assert look_up_from(client, "192.0.2.7") == 429
    assert look_up_from(client, "192.0.2.8") == 404


# Repeated print requests --------------------------------------------------------


def test_second_print_reuses_unfinished_job(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["PRINT_JOB_ROWS"] = 20
    # The jobs stay queued, since this test needs no PDF.
    monkeypatch.setattr(print_jobs, "start", lambda _app, _job_id: None)
    login_unit(client, app, UNIT_A)
    years = choices(client.get("/unit/print/unit-interest-statement-print"), "year")

    first = print_certificate(
        client, "unit", "unit-interest-statement-print", year=years[0]
    )
    second = print_certificate(
        client, "unit", "unit-interest-statement-print", year=years[0]
    )
    other_year = print_certificate(
        client, "unit", "unit-interest-statement-print", year=years[1]
    )
    with app.extensions["hall"].session_factory() as session:
        jobs = session.scalar(select(func.count(PrintJob.id)))

    assert first.status_code == 303
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert other_year.headers["Location"] != first.headers["Location"]
    assert jobs == 2


# Verified facts -----------------------------------------------------------------


def verified_facts(client: FlaskClient, code: str) -> dict[str, str]:
    page = client.application.test_client().get(f"/verify/{code}")
    facts = parse(page).find(id="verify-facts")
    assert facts is not None
    labels = [item.get_text(strip=True) for item in facts.find_all("dt")]
    values = [item.get_text(strip=True) for item in facts.find_all("dd")]
    return dict(zip(labels, values, strict=True))


def test_unpaid_unit_verifies_as_printed(
    client: FlaskClient, app: Flask, text_of
) -> None:
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(select(Unit).where(Unit.unit_account == UNIT_A)).one()
        session.execute(delete(LedgerEntry).where(LedgerEntry.unit_id == unit.id))
        session.commit()
    login_unit(client, app, UNIT_A)
    response = print_certificate(client, "unit", "unit-deposit-certificate")
    text = squeeze(text_of(response.data))
    facts = verified_facts(client, printed_code(response, text_of))

    assert "缴至年月未缴存" in text
    assert facts["缴至年月"] == "未缴存"


def test_unpaid_person_verifies_as_printed(
    client: FlaskClient, app: Flask, text_of
) -> None:
    with app.extensions["hall"].session_factory() as session:
        account = session.scalars(
            select(Account).where(Account.person_account == DEMO_ACCOUNT)
        ).one()
        account.last_paid_month = None
        session.commit()
    login_person(client, DEMO_ID)
    response = print_certificate(client, "person", "person-deposit-certificate")
    text = squeeze(text_of(response.data))
    facts = verified_facts(client, printed_code(response, text_of))

    assert "缴至年月未缴存" in text
    assert facts["缴至年月"] == "未缴存"
