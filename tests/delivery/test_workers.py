"""`hall serve --workers 2`: log in, submit and review across gunicorn workers.

Gunicorn recycles each worker after a few requests (`--max-requests`), so the steps
of one session run in several processes and anything kept in process memory (SMS
codes, sessions, throttling counters, delivery state) would be lost between them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup
from delivery_support import UNIT_A, free_port
from sqlalchemy import select

from engine.commands import DEMO_STAFF_ID, DEMO_STAFF_PASSWORD, DEMO_UNIT_PASSWORD
from engine.storage.db import make_engine, make_session_factory
from engine.storage.models import Delivery, SmsMessage

HALL = Path(sys.executable).parent / "hall"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ACCESS_LINE = re.compile(r'pid=<(\d+)> "(\w+) (\S+) HTTP/[\d.]+" (\d{3})')


class Hall:
    def __init__(self, url: str, database_url: str, log: Path) -> None:
        self.url = url
        self.sessions = make_session_factory(make_engine(database_url))
        self.log = log

    def latest_code(self) -> str:
        with self.sessions() as session:
            message = session.scalars(
                select(SmsMessage).order_by(SmsMessage.id.desc())
            ).first()
        assert message is not None
        match = re.search(r"[0-9]{6}", message.text)
        assert match is not None
        return match.group(0)

    def served(self) -> list[tuple[str, str, str, str]]:
        """Return (pid, method, path, status) of each request in the access log."""
        return ACCESS_LINE.findall(self.log.read_text(encoding="utf-8"))


@pytest.fixture
def hall(database_url: str, tmp_path: Path) -> Iterator[Hall]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = {
        key: value for key, value in os.environ.items() if key != "HALL_SECRET_KEY"
    }
    environment.update(
        HALL_DATABASE_URL=database_url,
        # No secret key file yet: the workers create one and must agree on it.
        HALL_INSTANCE=str(tmp_path / "instance"),
        GUNICORN_CMD_ARGS="--max-requests 4",
    )
    command = [str(HALL), "serve", "--workers", "2", "--port", str(port)]
    with log.open("w", encoding="utf-8") as output:
        server = subprocess.Popen(
            command, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server)
        running = Hall(url, database_url, log)
        yield running
        running.sessions.kw["bind"].dispose()
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def wait_until_serving(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited at start"
        try:
            if requests.get(url + "/unit/login", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the hall did not respond at {url} within 30 s")


def csrf(page: requests.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def login_unit(hall: Hall, browser: requests.Session) -> None:
    token = csrf(browser.get(hall.url + "/unit/login"))
    form = {"csrf_token": token, "unit_account": UNIT_A, "password": DEMO_UNIT_PASSWORD}
    sent = browser.post(hall.url + "/unit/login", data={**form, "action": "send_code"})
    assert sent.status_code == 200
    done = browser.post(
        hall.url + "/unit/login",
        data={**form, "action": "login", "sms_code": hall.latest_code()},
        allow_redirects=False,
    )
    assert done.status_code == 302, done.text


def base_change_form(page: requests.Response, code: str) -> dict[str, str]:
    """Return the page's own inputs, as a browser sends them, with one base raised."""
    form = BeautifulSoup(page.text, "html.parser").find(
        "form", action="/unit/unit-base-change"
    )
    assert form is not None
    data = {
        field["name"]: field.get("value", "")
        for field in form.find_all("input")
        if field.get("name") and field.get("type") not in ("file", "checkbox", "submit")
    }
    data.update(
        {
            "effective_month": "2027-01",
            "employees-0-base": "8000",
            "_agree": "on",
            "_sms_code": code,
        }
    )
    return data


def submit_base_change(hall: Hall, browser: requests.Session) -> str:
    url = hall.url + "/unit/unit-base-change"
    page = browser.get(url)
    sent = browser.post(
        hall.url + "/sms/send",
        data={"csrf_token": csrf(page), "purpose": "unit-base-change"},
    )
    assert sent.status_code == 200
    review = browser.post(
        url,
        data=base_change_form(page, hall.latest_code()),
        files={"wage_list": ("工资表.pdf", PDF, "application/pdf")},
    )
    assert review.status_code == 200, review.text
    draft = re.search(r'name="_draft" value="([^"]+)"', review.text)
    assert draft is not None
    done = browser.post(
        url + "/confirm",
        data={"csrf_token": csrf(review), "_draft": draft.group(1)},
        allow_redirects=False,
    )
    assert done.status_code == 302
    return done.headers["Location"].rsplit("/", 1)[-1]


def approve(hall: Hall, number: str) -> None:
    reviewer = requests.Session()
    token = csrf(reviewer.get(hall.url + "/staff/login"))
    done = reviewer.post(
        hall.url + "/staff/login",
        data={
            "csrf_token": token,
            "staff_id": DEMO_STAFF_ID,
            "password": DEMO_STAFF_PASSWORD,
        },
        allow_redirects=False,
    )
    assert done.status_code == 302
    page = reviewer.get(f"{hall.url}/staff/reviews/{number}")
    assert page.status_code == 200
    decided = reviewer.post(
        f"{hall.url}/staff/reviews/{number}",
        data={"csrf_token": csrf(page), "decision": "approve"},
        allow_redirects=False,
    )
    assert decided.status_code == 302


def status_of(hall: Hall, browser: requests.Session, number: str) -> str:
    page = browser.get(f"{hall.url}/unit/applications/{number}")
    soup = BeautifulSoup(page.text, "html.parser")
    status = soup.find(id="application-status")
    assert status is not None
    return status.get_text()


def test_session_spans_workers(hall: Hall) -> None:
    browser = requests.Session()
    login_unit(hall, browser)
    number = submit_base_change(hall, browser)
    assert status_of(hall, browser, number) == "待审核"
    with hall.sessions() as session:
        delivery = session.scalars(
            select(Delivery).where(Delivery.idempotency_key == number)
        ).one()
    assert delivery.status == "delivered"

    approve(hall, number)
    assert status_of(hall, browser, number) == "审核通过"

    served = hall.served()
    pids = {pid for pid, _, _, _ in served}
    # Recycled every four requests, at least this many processes served the run.
    assert len(pids) >= len(served) // 4
    assert len(pids) >= 3
    assert [line for line in served if line[3].startswith("5")] == []
