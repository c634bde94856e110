"""The public verification page: validity, date of issue and response headers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine import certificates, clock, print_jobs
from engine.clock import FUND_CENTRE_ZONE, business_date
from engine.storage.models import IssuedCertificate, PrintJob, VerificationLookup
from renderers.pdf.filters import chinese_count, chinese_date
from tests.certificates.conftest import squeeze
from tests.certificates.test_certificate_views import (
    CODE,
    DEMO_ID,
    SETTLED_ACCOUNT,
    choices,
    print_certificate,
)
from tests.support import UNIT_A, login_person, login_unit, parse

STATEMENT = "unit-interest-statement-print"


class HallClock:
    """A pinned hall clock that a test moves by hand."""

    def __init__(self, instant: dt.datetime) -> None:
        self.instant = instant

    def __call__(self) -> dt.datetime:
        return self.instant

    def set(self, instant: dt.datetime) -> None:
        self.instant = instant

    def move(self, **delta: float) -> None:
        self.instant += dt.timedelta(**delta)


@pytest.fixture
def hall_clock(monkeypatch: pytest.MonkeyPatch) -> HallClock:
    """Pin the hall's clock, and with it stored timestamps and the business date."""
    pinned = HallClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    monkeypatch.setattr(clock, "now", pinned)
    return pinned


def centre_time(
    day: dt.date, hour: int, minute: int = 0, second: int = 0
) -> dt.datetime:
    """Return the UTC instant of a time of day on the fund centre's calendar."""
    local = dt.datetime.combine(
        day, dt.time(hour, minute, second), tzinfo=FUND_CENTRE_ZONE
    )
    return local.astimezone(dt.UTC)


def verify_page(app: Flask, code: str) -> TestResponse:
    return app.test_client().get(f"/verify/{code}")


def facts_of(page: TestResponse) -> dict[str, str]:
    facts = parse(page).find(id="verify-facts")
    assert facts is not None
    labels = [item.get_text(strip=True) for item in facts.find_all("dt")]
    values = [item.get_text(strip=True) for item in facts.find_all("dd")]
    return dict(zip(labels, values, strict=True))


def print_deposit_certificate(client: FlaskClient, text_of: Callable[..., str]) -> str:
    """Print the demo depositor's certificate and return its PDF text, squeezed."""
    login_person(client, DEMO_ID)
    response = print_certificate(client, "person", "person-deposit-certificate")
    assert response.status_code == 200
    return squeeze(text_of(response.data))


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found
    return found.group(1)


# Validity -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service_id", "days"),
    [
        ("person-deposit-certificate", 30),
        ("unit-deposit-certificate", 30),
        ("person-loan-settlement-certificate", None),
        ("unit-interest-statement-print", None),
    ],
)
def test_specs_declare_validity(app: Flask, service_id: str, days: int | None) -> None:
    printout = app.extensions["hall"].services[service_id].printout
    assert printout.valid_days == days


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (1, "一"),
        (10, "十"),
        (15, "十五"),
        (30, "三十"),
        (105, "一百零五"),
        (110, "一百一十"),
    ],
)
def test_days_written_in_words(days: int, words: str) -> None:
    assert chinese_count(days) == words


def test_validity_counts_from_next_day() -> None:
    issued = dt.date(2026, 12, 5)

    last_day = certificates.validity(issued, 30, dt.date(2027, 1, 4))
    day_after = certificates.validity(issued, 30, dt.date(2027, 1, 5))

    assert last_day.valid_until == dt.date(2027, 1, 4)
    assert not last_day.expired
    assert day_after.valid_until == dt.date(2027, 1, 4)
    assert day_after.expired


def test_valid_certificate_shows_last_day(
    client: FlaskClient, app: Flask, hall_clock: HallClock, text_of
) -> None:
    text = print_deposit_certificate(client, text_of)
    issued = business_date()
    valid_until = chinese_date(issued + dt.timedelta(days=30))
    # The last minute of the last valid day on the fund centre's calendar.
    hall_clock.set(centre_time(issued + dt.timedelta(days=30), 23, 59))
    page = verify_page(app, code_in(text))
    facts = facts_of(page)

    assert "自出具之日起三十日内有效" in text
    assert page.status_code == 200
    assert facts["有效期"] == f"有效期至{valid_until}"
    assert parse(page).find(id="verify-expired") is None


def test_expired_certificate_still_shows_facts(
    client: FlaskClient, app: Flask, hall_clock: HallClock, text_of
) -> None:
    text = print_deposit_certificate(client, text_of)
    issued = business_date()
    valid_until = chinese_date(issued + dt.timedelta(days=30))
    hall_clock.set(centre_time(issued + dt.timedelta(days=31), 0, 1))
    page = verify_page(app, code_in(text))
    facts = facts_of(page)
    expired = parse(page).find(id="verify-expired")

    assert page.status_code == 200
    assert expired is not None
    assert "已超过有效期" in expired.get_text()
    assert valid_until in expired.get_text()
    assert facts["有效期"] == f"已超过有效期（有效期至{valid_until}）"
    assert facts["姓名"] == "陈志远"
    assert facts["出具日期"] == chinese_date(issued)


def test_page_follows_declared_validity(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch, text_of
) -> None:
    """A spec that declares fifteen days prints them and makes the page count them."""
    service = app.extensions["hall"].services["person-deposit-certificate"]
    monkeypatch.setattr(service, "printout", replace(service.printout, valid_days=15))
    printed = print_deposit_certificate(client, text_of)
    valid_until = chinese_date(business_date() + dt.timedelta(days=15))
    facts = facts_of(verify_page(app, code_in(printed)))

    assert "自出具之日起十五日内有效" in printed
    assert facts["有效期"] == f"有效期至{valid_until}"


def test_certificate_without_rule_shows_none(client: FlaskClient, app: Flask) -> None:
    login_person(client, SETTLED_ACCOUNT)
    page = client.get("/person/print/person-loan-settlement-certificate")
    response = print_certificate(
        client,
        "person",
        "person-loan-settlement-certificate",
        contract_number=choices(page, "contract_number")[0],
    )
    assert response.status_code == 200
    with app.extensions["hall"].session_factory() as session:
        code = session.scalars(select(IssuedCertificate.code)).one()
    verified = verify_page(app, certificates.display_code(code))
    body = parse(verified)

    assert verified.status_code == 200
    assert "有效期" not in facts_of(verified)
    assert body.find(id="verify-validity") is None
    assert body.find(id="verify-expired") is None


# Date of issue ------------------------------------------------------------------


def test_issue_date_fixed_before_midnight(
    client: FlaskClient,
    app: Flask,
    hall_clock: HallClock,
    monkeypatch: pytest.MonkeyPatch,
    text_of,
) -> None:
    """Midnight passing while a certificate is printed keeps the printed date."""
    day = business_date()
    hall_clock.set(centre_time(day, 23, 59, 59))
    issue = certificates.issue

    def issue_after_midnight(*args: Any, **kwargs: Any) -> IssuedCertificate:
        hall_clock.move(seconds=2)
        return issue(*args, **kwargs)

    monkeypatch.setattr(certificates, "issue", issue_after_midnight)
    text = print_deposit_certificate(client, text_of)
    monkeypatch.setattr(certificates, "issue", issue)
    facts = facts_of(verify_page(app, code_in(text)))

    assert business_date() == day + dt.timedelta(days=1)
    assert f"余额截至{chinese_date(day)}" in text
    assert facts["出具日期"] == chinese_date(day)
    assert facts["有效期"] == f"有效期至{chinese_date(day + dt.timedelta(days=30))}"


def test_print_job_keeps_queued_date(
    client: FlaskClient,
    app: Flask,
    hall_clock: HallClock,
    monkeypatch: pytest.MonkeyPatch,
    text_of,
) -> None:
    """A statement queued before midnight and rendered after it keeps one date."""
    app.config["PRINT_JOB_ROWS"] = 20
    # The test renders the job itself, after moving the clock.
    monkeypatch.setattr(print_jobs, "start", lambda _app, _job_id: None)
    queue = print_jobs.queue

    def queue_after_midnight(*args: Any, **kwargs: Any) -> PrintJob:
        hall_clock.move(seconds=2)
        return queue(*args, **kwargs)

    monkeypatch.setattr(print_jobs, "queue", queue_after_midnight)
    day = business_date()
    next_day = day + dt.timedelta(days=1)
    hall_clock.set(centre_time(day, 23, 59, 50))
    login_unit(client, app, UNIT_A)
    year = choices(client.get(f"/unit/print/{STATEMENT}"), "year")[0]
    hall_clock.set(centre_time(day, 23, 59, 59))
    queued = print_certificate(client, "unit", STATEMENT, year=year)
    assert queued.status_code == 303

    hall_clock.set(centre_time(next_day, 0, 1))
    with app.extensions["hall"].session_factory() as session:
        job = session.scalars(select(PrintJob)).one()
        job_id, token = job.id, job.token
    with app.app_context():
        print_jobs.render(app, job_id)
    download = client.get(f"/unit/print/{STATEMENT}/jobs/{token}/pdf")
    assert download.status_code == 200
    text = squeeze(text_of(download.data))
    facts = facts_of(verify_page(app, code_in(text)))

    assert chinese_date(day) in text
    assert chinese_date(next_day) not in text
    assert facts["出具日期"] == chinese_date(day)


# Headers ------------------------------------------------------------------------


def assert_private(response: TestResponse) -> None:
    """Check that the page stays out of shared caches and search engines."""
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"
    if response.mimetype == "text/html" and response.status_code != 302:
        robots = BeautifulSoup(response.data, "html.parser").find(
            "meta", attrs={"name": "robots"}
        )
        assert robots is not None
        assert robots["content"] == "noindex"


def test_found_page_kept_private(client: FlaskClient, app: Flask, text_of) -> None:
    text = print_deposit_certificate(client, text_of)
    page = verify_page(app, code_in(text))

    assert page.status_code == 200
    assert_private(page)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/verify/2222-3333-4444-5555", 404),
        ("/verify/not-a-code", 404),
        ("/verify", 200),
        ("/verify?code=not-a-code", 400),
        ("/verify?code=2222333344445555", 302),
    ],
)
def test_other_pages_kept_private(client: FlaskClient, url: str, status: int) -> None:
    page = client.get(url)

    assert page.status_code == status
    assert_private(page)


def test_throttled_page_kept_private(client: FlaskClient) -> None:
    for _ in range(certificates.MAX_MISSES_PER_ADDRESS):
        assert client.get("/verify/2222-3333-4444-5555").status_code == 404
    page = client.get("/verify/2222-3333-4444-5555")

    assert page.status_code == 429
    assert_private(page)
    assert re.fullmatch(r"[1-9]\d*", page.headers["Retry-After"])


def test_retry_after_ends_throttling(
    client: FlaskClient, hall_clock: HallClock
) -> None:
    """Waiting Retry-After seconds, and not a second less, admits the next look-up."""
    for _ in range(certificates.MAX_MISSES_PER_ADDRESS):
        assert client.get("/verify/2222-3333-4444-5555").status_code == 404
        hall_clock.move(seconds=10)
    throttled = client.get("/verify/2222-3333-4444-5555")
    # The first miss is 100 seconds old and leaves the 900-second window after 800.
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "801"

    hall_clock.move(seconds=800)
    at_window_edge = client.get("/verify/2222-3333-4444-5555")
    hall_clock.move(seconds=1)
    after_wait = client.get("/verify/2222-3333-4444-5555")

    assert at_window_edge.status_code == 429
    assert at_window_edge.headers["Retry-After"] == "1"
    assert after_wait.status_code == 404


def test_throttled_page_names_wait(client: FlaskClient, hall_clock: HallClock) -> None:
    for _ in range(certificates.MAX_MISSES_PER_ADDRESS):
        client.get("/verify/2222-3333-4444-5555")
        hall_clock.move(seconds=10)
    # 801 seconds are 13 minutes and 21 seconds, so the page requests 14 minutes.
    throttled = parse(client.get("/verify/2222-3333-4444-5555"))
    message = throttled.find(id="verify-throttled")

    assert message is not None
    assert message.get_text(strip=True) == "查询次数过多，请14分钟后再试"


@pytest.mark.parametrize(
    ("misses", "retry_after"),
    [
        # 60 look-ups found certificates 600 to 541 seconds ago, so the oldest one
        # leaves the window in 300 seconds.
        (0, "301"),
        # With 10 misses 300 to 291 seconds ago as well, the oldest miss leaves the
        # window in 600 seconds, long after the 11 oldest look-ups.
        (10, "601"),
    ],
)
def test_retry_after_waits_for_both_limits(
    client: FlaskClient,
    app: Flask,
    hall_clock: HallClock,
    misses: int,
    retry_after: str,
) -> None:
    now = hall_clock().replace(tzinfo=None)
    lookups = [
        VerificationLookup(
            address="127.0.0.1", found=True, at=now - dt.timedelta(seconds=600 - index)
        )
        for index in range(certificates.MAX_LOOKUPS_PER_ADDRESS)
    ]
    lookups += [
        VerificationLookup(
            address="127.0.0.1", found=False, at=now - dt.timedelta(seconds=300 - index)
        )
        for index in range(misses)
    ]
    with app.extensions["hall"].session_factory() as session:
        session.add_all(lookups)
        session.commit()
    page = client.get("/verify/2222-3333-4444-5555")

    assert page.status_code == 429
    assert page.headers["Retry-After"] == retry_after
