"""Benchmark: the interest statement of the large unit, printed as a print job.

Seeds a temporary SQLite file with the large unit (20,000 employees by default) and
logs into the unit hall through the Flask app. Then it prints the newest year's
interest statement and polls the job's page, as the browser does, until the PDF is
ready. It prints the rows, the time from the print request to the ready PDF, the peak
memory of the child process that laid it out, the pages and the PDF size. It fails
when pdftotext does not find every row in the PDF.

Run it with `make bench-statement` or
`.venv/bin/python benchmarks/long_statement.py [--employees N]`.
"""

from __future__ import annotations

import argparse
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from connectors.embedded import demo_large  # noqa: E402
from engine import create_app, print_jobs  # noqa: E402
from engine.clock import business_date  # noqa: E402
from engine.commands import (  # noqa: E402
    DEMO_UNIT_PASSWORD,
    seed_demo,
    seed_large_unit,
)
from engine.migrate import upgrade  # noqa: E402
from engine.storage.models import SmsMessage  # noqa: E402

STATEMENT = "/unit/print/unit-interest-statement-print"
STATUS_URL = re.compile(r'hx-get="([^"]+/jobs/[^"]+)"')
YEAR_OPTION = re.compile(r'<option value="([0-9]{4})"')
ROW_LINE = re.compile(r"^\s*\d+\s+0201\d{8}\s", flags=re.MULTILINE)
# Stop polling after this many seconds; 20,000 rows took 136 s on a 2-core machine.
GIVE_UP_SECONDS = 1800


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--employees",
        type=int,
        default=demo_large.FULL_EMPLOYEES,
        help="employees of the large unit, each with one row in the statement",
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        return run(Path(folder), arguments.employees)


def run(folder: Path, employees: int) -> int:
    url = f"sqlite:///{folder / 'hall.db'}"
    upgrade(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder),
            "SECRET_KEY": "bench",
            # Every statement becomes a print job, however few employees are seeded.
            "PRINT_JOB_ROWS": 0,
        }
    )
    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        seed_demo(session, hall.policy, business_date())
        started = time.perf_counter()
        # Two years of monthly entries an employee cover the newest interest year.
        seed_large_unit(
            session, hall.policy, employees=employees, entries_per_employee=24
        )
        seeded = time.perf_counter() - started
    client = app.test_client()
    login(client, app)

    page = client.get(STATEMENT).get_data(as_text=True)
    year = YEAR_OPTION.search(page)
    if year is None:
        print("the large unit has no interest year to print")
        return 1
    started = time.perf_counter()
    queued = client.post(
        STATEMENT, data={"csrf_token": csrf_token(page), "year": year.group(1)}
    )
    answered = time.perf_counter() - started
    if queued.status_code != 303:
        print(f"the print request returned {queued.status}, not a print job")
        return 1
    status_url = STATUS_URL.search(
        client.get(queued.headers["Location"]).get_data(as_text=True)
    )
    if status_url is None:
        print("the print job's page does not poll for its progress")
        return 1
    state = wait_until_finished(client, status_url.group(1))
    ready = time.perf_counter() - started
    if state != print_jobs.READY:
        print(f"the print job ended as {state}")
        return 1
    pdf = client.get(f"{status_url.group(1)}/pdf").data
    pdf_path = folder / "statement.pdf"
    pdf_path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(pdf_path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    rows_printed = len(ROW_LINE.findall(text))
    pages = text.count("\f")
    # The largest resident set of any child process waited for: the layout process.
    child_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    hall.session_factory.kw["bind"].dispose()

    print(
        f"machine:                        {platform.processor() or platform.machine()}"
    )
    print(f"employees seeded:               {employees} in {seeded:.1f} s")
    print(f"print request answered:         {answered * 1000:.0f} ms (303 to the job)")
    print(f"request to ready PDF:           {ready:.1f} s")
    print(f"rows in the PDF / employees:    {rows_printed} / {employees}")
    print(f"pages:                          {pages}")
    print(f"PDF size:                       {len(pdf) / 1024:.0f} KB")
    print(f"layout process peak memory:     {child_peak_mb:.0f} MB")
    if rows_printed != employees:
        print("rows are missing from the PDF")
        return 1
    return 0


def wait_until_finished(client: FlaskClient, status_url: str) -> str:
    """Poll the job's page as htmx does and return the state it ended in."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        fragment = client.get(status_url, headers={"HX-Request": "true"})
        state = re.search(r'data-status="(\w+)"', fragment.get_data(as_text=True))
        if state and state.group(1) not in print_jobs.UNFINISHED:
            return state.group(1)
        time.sleep(1)
    return "timed out"


def login(client: FlaskClient, app: Flask) -> None:
    """Log into the unit hall as the large unit, reading the SMS code from its table."""
    form = {
        "csrf_token": csrf_token(client.get("/unit/login").get_data(as_text=True)),
        "unit_account": demo_large.LARGE_UNIT_ACCOUNT,
        "password": DEMO_UNIT_PASSWORD,
    }
    client.post("/unit/login", data={**form, "action": "send_code"})
    with app.extensions["hall"].session_factory() as session:
        message = session.scalars(
            select(SmsMessage).order_by(SmsMessage.id.desc())
        ).first()
    code = re.search(r"[0-9]{6}", message.text if message else "")
    if code is None:
        raise SystemExit("no login code was sent")
    done = client.post(
        "/unit/login", data={**form, "action": "login", "sms_code": code.group(0)}
    )
    if done.status_code != 302:
        raise SystemExit(f"unit login failed: {done.status}")


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if found is None:
        raise SystemExit("the page has no CSRF token")
    return found.group(1)


if __name__ == "__main__":
    sys.exit(main())
