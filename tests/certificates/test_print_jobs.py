"""Long certificates rendered as print jobs: queued, polled, downloaded, verified."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connectors.base import Caller
from connectors.embedded.models import Account, InterestSettlement
from engine import print_jobs
from engine.storage.models import AuditEntry, IssuedCertificate, PrintJob, utcnow
from tests.certificates.conftest import page_count, squeeze
from tests.certificates.test_certificate_views import choices, print_certificate
from tests.support import UNIT_A, UNIT_B, login_person, login_unit, parse

STATEMENT = "unit-interest-statement-print"
STATUS_URL = re.compile(r'hx-get="(/unit/print/[^"]+/jobs/[^"]+)"')
# Seconds to wait for a job, which renders in a child process, before the test fails.
PATIENCE = 180.0


@pytest.fixture
def short_jobs(app: Flask) -> Flask:
    """Make any statement of more than 20 rows a print job."""
    app.config["PRINT_JOB_ROWS"] = 20
    return app


def statement_year(client: FlaskClient) -> str:
    return choices(client.get(f"/unit/print/{STATEMENT}"), "year")[0]


def settled_rows(app: Flask, year: str) -> int:
    with app.extensions["hall"].session_factory() as session:
        return session.scalar(
            select(func.count(InterestSettlement.id))
            .join(Account, Account.id == InterestSettlement.account_id)
            .where(Account.unit_id == 1, InterestSettlement.year == int(year))
        )


def queue_statement(client: FlaskClient, app: Flask) -> tuple[str, str]:
    """Print the first unit's statement as a job; return its status URL and year."""
    login_unit(client, app, UNIT_A)
    year = statement_year(client)
    queued = print_certificate(client, "unit", STATEMENT, year=year)
    assert queued.status_code == 303
    response = client.get(queued.headers["Location"])
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert f"{year}年度" in response.get_data(as_text=True)
    found = STATUS_URL.search(response.get_data(as_text=True))
    assert found, "the progress page does not ask for the job's state"
    return found.group(1), year


def wait_until_finished(client: FlaskClient, status_url: str) -> str:
    """Ask for the job's state as htmx would until it is no longer unfinished."""
    deadline = time.monotonic() + PATIENCE
    while True:
        fragment = client.get(status_url, headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        state = parse(fragment).find(id="print-job")["data-status"]
        if state not in print_jobs.UNFINISHED or time.monotonic() > deadline:
            return fragment.get_data(as_text=True)
        time.sleep(0.3)


def test_long_statement_is_queued_then_downloaded(
    client: FlaskClient, short_jobs: Flask, text_of
) -> None:
    status_url, year = queue_statement(client, short_jobs)
    expected = settled_rows(short_jobs, year)

    fragment = wait_until_finished(client, status_url)
    body = parse(client.get(status_url))
    link = body.find("a", class_="download")
    assert "<html" not in fragment
    assert 'data-status="ready"' in fragment
    assert "hx-get" not in fragment
    assert link is not None

    download = client.get(link["href"])
    text = text_of(download.data, layout=True)
    pages = page_count(download.data)
    code = re.search(r"验证码：([2-9A-Z]{4}(?:-[2-9A-Z]{4}){3})", squeeze(text))
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    assert len(re.findall(r"^\s*\d+\s+0201\d{8}\s", text, flags=re.MULTILINE)) == (
        expected
    )
    assert f"第{pages}页共{pages}页" in squeeze(text)
    assert code is not None
    verified = client.application.test_client().get(f"/verify/{code.group(1)}")
    assert verified.status_code == 200
    assert UNIT_A in verified.get_data(as_text=True)
    # The checker compares the interest year's dates with the printed period.
    assert f"{int(year) - 1}年7月1日" in verified.get_data(as_text=True)
    assert f"{year}年6月30日" in verified.get_data(as_text=True)
    with short_jobs.extensions["hall"].session_factory() as session:
        job = session.scalars(select(PrintJob)).one()
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "print")
        ).one()
    assert job.row_count == expected
    assert job.certificate_id == audit.detail["certificate"]
    assert audit.actor == UNIT_A


def test_print_page_lists_the_unit_s_jobs(
    client: FlaskClient, short_jobs: Flask
) -> None:
    status_url, year = queue_statement(client, short_jobs)
    wait_until_finished(client, status_url)

    page = parse(client.get(f"/unit/print/{STATEMENT}"))
    listed = page.find("section", class_="print-jobs")
    assert listed is not None
    assert listed.find("a", string="下载")["href"] == f"{status_url}/pdf"
    assert f"{year}年度" in listed.get_text()


def test_short_documents_still_download_at_once(
    client: FlaskClient, app: Flask
) -> None:
    login_unit(client, app, UNIT_A)
    year = statement_year(client)
    response = print_certificate(client, "unit", STATEMENT, year=year)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    with app.extensions["hall"].session_factory() as session:
        assert session.scalar(select(func.count(PrintJob.id))) == 0


def test_another_unit_never_sees_the_job(
    client: FlaskClient, short_jobs: Flask
) -> None:
    status_url, _ = queue_statement(client, short_jobs)
    wait_until_finished(client, status_url)
    other = short_jobs.test_client()
    login_unit(other, short_jobs, UNIT_B)
    depositor = short_jobs.test_client()
    login_person(depositor, "44020319850305021X")
    person_url = status_url.replace("/unit/", "/person/")

    assert other.get(status_url).status_code == 404
    assert other.get(f"{status_url}/pdf").status_code == 404
    assert depositor.get(person_url).status_code == 404
    assert depositor.get(f"{person_url}/pdf").status_code == 404
    assert depositor.get(status_url).status_code == 302
    assert client.get(f"{status_url}x").status_code == 404


def queue_directly(app: Flask, rows: list[dict]) -> int:
    """Queue a statement job with the given rows, without starting its thread."""
    hall = app.extensions["hall"]
    service = hall.services.get(STATEMENT)
    context = {
        "title": "单位住房公积金结息对账单",
        "centre_name": "韶关市住房公积金管理中心",
        "issued_on": dt.date(2026, 7, 1),
        "code": "7KQ2-M9XD-4HPT-ZW3R",
        "verify_url": "http://127.0.0.1/verify/7KQ2-M9XD-4HPT-ZW3R",
        "data": {
            "name": "韶关市丹霞智造科技有限公司",
            "unit_account": UNIT_A,
            "year": 2026,
            "year_start": dt.date(2025, 7, 1),
            "year_end": dt.date(2026, 6, 30),
            "rate": Decimal("1.50"),
            "rows": rows,
            "total_before": Decimal("100.00"),
            "total_interest": Decimal("1.50"),
            "total_after": Decimal("101.50"),
        },
    }
    with hall.session_factory() as session:
        job = print_jobs.queue(
            session,
            service,
            Caller("unit", unit_account=UNIT_A),
            context,
            "7KQ2M9XD4HPTZW3R",
            "127.0.0.1",
        )
        session.commit()
        return job.id


def a_row(name: str = "陈志远") -> dict:
    return {
        "person_account": "020100000001",
        "name": name,
        "id_number_masked": "440203********021X",
        "balance_before": Decimal("100.00"),
        "interest": Decimal("1.50"),
        "balance_after": Decimal("101.50"),
    }


def job_state(app: Flask, job_id: int) -> PrintJob:
    with app.extensions["hall"].session_factory() as session:
        job = session.get(PrintJob, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_verify_code_only_after_pdf_exists(client: FlaskClient, app: Flask) -> None:
    job_id = queue_directly(app, [a_row()])
    assert client.get("/verify/7KQ2-M9XD-4HPT-ZW3R").status_code == 404

    with app.app_context():
        print_jobs.render(app, job_id)

    assert job_state(app, job_id).status == print_jobs.READY
    assert client.get("/verify/7KQ2-M9XD-4HPT-ZW3R").status_code == 200


def test_print_job_missing_glyph_fails(client: FlaskClient, app: Flask) -> None:
    job_id = queue_directly(app, [a_row("𠀀")])
    with app.app_context():
        print_jobs.render(app, job_id)

    job = job_state(app, job_id)
    login_unit(client, app, UNIT_A)
    page = client.get(f"/unit/print/{STATEMENT}/jobs/{job.token}")
    assert job.status == print_jobs.FAILED
    assert job.certificate_id is None
    assert print_jobs.RENDER_FAILED in page.get_data(as_text=True)
    assert client.get(f"/unit/print/{STATEMENT}/jobs/{job.token}/pdf").status_code == (
        404
    )
    with app.extensions["hall"].session_factory() as session:
        assert session.scalar(select(func.count(IssuedCertificate.id))) == 0


def test_print_job_retried_then_given_up(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(page: str) -> bytes:
        raise OSError("the child process was killed")

    monkeypatch.setattr(print_jobs, "pdf_in_child_process", broken)
    job_id = queue_directly(app, [a_row()])
    seen = []
    with app.app_context():
        for _ in range(print_jobs.MAX_ATTEMPTS):
            print_jobs.render(app, job_id)
            seen.append(job_state(app, job_id).status)

    assert seen == [print_jobs.QUEUED] * (print_jobs.MAX_ATTEMPTS - 1) + [
        print_jobs.FAILED
    ]
    assert job_state(app, job_id).error == print_jobs.GAVE_UP


def test_print_job_lease_over_claimed_again(client: FlaskClient, app: Flask) -> None:
    job_id = queue_directly(app, [a_row()])
    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        job = session.get(PrintJob, job_id)
        job.status = print_jobs.RENDERING
        job.claimed_at = utcnow() - print_jobs.LEASE - dt.timedelta(minutes=1)
        token = job.token
        session.commit()

    login_unit(client, app, UNIT_A)
    status_url = f"/unit/print/{STATEMENT}/jobs/{token}"
    fragment = wait_until_finished(client, status_url)

    assert 'data-status="ready"' in fragment
    assert job_state(app, job_id).attempts == 1


def test_print_job_claimed_not_taken(app: Flask) -> None:
    job_id = queue_directly(app, [a_row()])
    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        job = session.get(PrintJob, job_id)
        job.status = print_jobs.RENDERING
        job.claimed_at = utcnow()
        session.commit()

    with app.app_context():
        print_jobs.render(app, job_id)

    job = job_state(app, job_id)
    assert job.status == print_jobs.RENDERING
    assert job.attempts == 0


def test_tagged_json_reads_back_money_and_dates_exactly() -> None:
    value = {
        "amount": Decimal("1234.50"),
        "on": dt.date(2026, 6, 30),
        "at": dt.datetime(2026, 6, 30, 8, 15),
        "rows": [{"code": "0201000001", "count": 3, "none": None}],
    }
    assert print_jobs.decode(print_jobs.encode(value)) == value
    assert print_jobs.decode(print_jobs.encode(value))["amount"].as_tuple() == (
        Decimal("1234.50").as_tuple()
    )


def test_print_job_estimate_seconds_or_minutes() -> None:
    assert print_jobs.time_needed(0) == "5 秒"
    assert print_jobs.time_needed(120) == "5 秒"
    assert print_jobs.time_needed(1_000) == "10 秒"
    assert print_jobs.time_needed(20_000) == "3 分钟"
    assert print_jobs.row_count({"rows": [1, 2, 3], "name": "x"}) == 3


def job_past_retention(app: Flask) -> tuple[int, str]:
    """Render a job whose PDF finished an hour past RETENTION; return its id and token."""
    job_id = queue_directly(app, [a_row()])
    with app.app_context():
        print_jobs.render(app, job_id)
    with app.extensions["hall"].session_factory() as session:
        job = session.get(PrintJob, job_id)
        job.finished_at = utcnow() - print_jobs.RETENTION - dt.timedelta(hours=1)
        token = job.token
        session.commit()
    return job_id, token


def test_print_job_pdf_expires_after_retention(client: FlaskClient, app: Flask) -> None:
    old_id, token = job_past_retention(app)
    hall = app.extensions["hall"]

    login_unit(client, app, UNIT_A)
    year = statement_year(client)
    app.config["PRINT_JOB_ROWS"] = 20
    queued = print_certificate(client, "unit", STATEMENT, year=year)
    status_url = STATUS_URL.search(
        client.get(queued.headers["Location"]).get_data(as_text=True)
    )
    assert status_url is not None
    # The new job renders in a thread; let it finish before the database goes away.
    wait_until_finished(client, status_url.group(1))
    old = job_state(app, old_id)
    page = client.get(f"/unit/print/{STATEMENT}/jobs/{token}")
    with hall.session_factory() as session:
        pdf = session.scalar(select(PrintJob.pdf).where(PrintJob.id == old_id))

    assert old.status == print_jobs.EXPIRED
    assert pdf is None
    assert "文件已删除" in page.get_data(as_text=True)
    assert client.get(f"/unit/print/{STATEMENT}/jobs/{token}/pdf").status_code == 404
    assert client.get("/verify/7KQ2-M9XD-4HPT-ZW3R").status_code == 200


def test_old_pdf_expires_without_new_job(client: FlaskClient, app: Flask) -> None:
    job_id, token = job_past_retention(app)
    hall = app.extensions["hall"]

    login_unit(client, app, UNIT_A)
    listing = client.get(f"/unit/print/{STATEMENT}").get_data(as_text=True)
    download = client.get(f"/unit/print/{STATEMENT}/jobs/{token}/pdf")
    with hall.session_factory() as session:
        status, pdf = session.execute(
            select(PrintJob.status, PrintJob.pdf).where(PrintJob.id == job_id)
        ).one()

    assert f"jobs/{token}/pdf" not in listing
    assert download.status_code == 404
    assert status == print_jobs.EXPIRED
    assert pdf is None


def test_print_job_claim_renewed_during_layout(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(print_jobs, "RENEWAL_SECONDS", 0.05)
    job_id = queue_directly(app, [a_row()])
    layout = print_jobs.pdf_in_child_process
    claims: list[dt.datetime] = []

    def slow_layout(page: str) -> bytes:
        claims.append(job_state(app, job_id).claimed_at)
        deadline = time.monotonic() + PATIENCE
        while job_state(app, job_id).claimed_at == claims[0]:
            assert time.monotonic() < deadline, "the claim was never renewed"
            time.sleep(0.05)
        claims.append(job_state(app, job_id).claimed_at)
        return layout(page)

    monkeypatch.setattr(print_jobs, "pdf_in_child_process", slow_layout)
    with app.app_context():
        print_jobs.render(app, job_id)

    assert claims[1] > claims[0]
    job = job_state(app, job_id)
    assert job.status == print_jobs.READY
    assert job.attempts == 1


def test_print_job_taken_over_drops_work(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = queue_directly(app, [a_row()])
    layout = print_jobs.pdf_in_child_process

    def overtaken_layout(page: str) -> bytes:
        # Another process claims the job, as after this one stopped renewing its claim.
        with app.extensions["hall"].session_factory() as session:
            job = session.get(PrintJob, job_id)
            job.attempts += 1
            job.claimed_at = utcnow()
            session.commit()
        return layout(page)

    monkeypatch.setattr(print_jobs, "pdf_in_child_process", overtaken_layout)
    with app.app_context():
        print_jobs.render(app, job_id)

    job = job_state(app, job_id)
    assert job.status == print_jobs.RENDERING
    assert job.attempts == 2
    assert job.certificate_id is None
    assert client.get("/verify/7KQ2-M9XD-4HPT-ZW3R").status_code == 404
    with app.extensions["hall"].session_factory() as session:
        assert session.scalar(select(func.count(IssuedCertificate.id))) == 0
        assert session.scalar(select(func.count(AuditEntry.id))) == 0


def test_print_job_failure_after_takeover_ignored(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = queue_directly(app, [a_row()])

    def overtaken_then_broken(page: str) -> bytes:
        with app.extensions["hall"].session_factory() as session:
            job = session.get(PrintJob, job_id)
            job.attempts = print_jobs.MAX_ATTEMPTS
            job.claimed_at = utcnow()
            session.commit()
        raise OSError("the child process was killed")

    monkeypatch.setattr(print_jobs, "pdf_in_child_process", overtaken_then_broken)
    with app.app_context():
        print_jobs.render(app, job_id)

    job = job_state(app, job_id)
    assert job.status == print_jobs.RENDERING
    assert job.error is None


def test_print_job_lost_every_attempt_given_up(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job's process stopped during its last allowed attempt, as when the layout
    # brings the serving process down, so starting it again could repeat that.
    job_id = queue_directly(app, [a_row()])
    with app.extensions["hall"].session_factory() as session:
        job = session.get(PrintJob, job_id)
        job.status = print_jobs.RENDERING
        job.attempts = print_jobs.MAX_ATTEMPTS
        job.claimed_at = utcnow() - print_jobs.LEASE - dt.timedelta(minutes=1)
        token = job.token
        session.commit()
    laid_out: list[str] = []
    monkeypatch.setattr(print_jobs, "pdf_in_child_process", laid_out.append)

    login_unit(client, app, UNIT_A)
    fragment = wait_until_finished(client, f"/unit/print/{STATEMENT}/jobs/{token}")

    job = job_state(app, job_id)
    assert laid_out == []
    assert job.status == print_jobs.FAILED
    assert job.error == print_jobs.GAVE_UP
    assert job.attempts == print_jobs.MAX_ATTEMPTS
    assert job.finished_at is not None
    assert print_jobs.GAVE_UP in fragment
