"""A serving process that ends mid-layout gives its print job back at once.

The hall is served in a subprocess whose layout process waits for the test
(`layout_gate`), so the test ends the server the way gunicorn, a service manager or
Ctrl-C in a terminal would while the layout process runs. The job must then be
queued again with its attempt returned, and the app of this process must finish it.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from engine import print_jobs
from renderers.pdf import renderer
from tests.certificates.conftest import squeeze
from tests.certificates.test_certificate_renderer import running
from tests.certificates.test_print_jobs import (
    PATIENCE,
    STATEMENT,
    a_row,
    job_state,
    queue_directly,
    wait_until_finished,
)
from tests.support import UNIT_A, login_unit

ROOT = Path(__file__).resolve().parents[2]
# Serves the hall with the command line given after the gate's port, each layout
# waiting for the test on that port.
LAUNCHER = """
import functools
import sys

from renderers.pdf import renderer
from tests.certificates.layout_gate import gated_pdf

renderer._child_pdf = functools.partial(gated_pdf, int(sys.argv[1]))

from engine.cli import main

main(sys.argv[2:], prog_name="hall")
"""
GUNICORN = ["serve", "--workers", "1", "--no-delivery"]
DEVELOPMENT_SERVER = ["serve", "--no-delivery"]


def loopback_listener() -> socket.socket:
    """Return a socket listening on a free loopback port above 20000."""
    for _ in range(100):
        listener = socket.socket()
        try:
            listener.bind(("127.0.0.1", random.randint(20001, 60999)))
        except OSError:
            listener.close()
            continue
        listener.listen()
        return listener
    raise RuntimeError("no free loopback port found above 20000")


def free_port() -> int:
    with loopback_listener() as probe:
        return probe.getsockname()[1]


@pytest.fixture
def gate() -> Iterator[socket.socket]:
    """A loopback listener that each layout process of the served hall connects to."""
    with loopback_listener() as listener:
        listener.settimeout(PATIENCE)
        yield listener


def start_hall(
    command: list[str], gate_port: int, app: Flask, folder: Path, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Serve the app's database in a new process group, returning the server and URL.

    The served hall shares the app's secret key, so it accepts the app's sessions.
    """
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HALL_DATABASE_URL": app.config["DATABASE_URL"],
        "HALL_INSTANCE": str(folder),
        "HALL_SECRET_KEY": app.config["SECRET_KEY"],
    }
    arguments = [str(gate_port), *command, "--port", str(port)]
    with log.open("w", encoding="utf-8") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *arguments],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return server, f"http://127.0.0.1:{port}"


def wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text(encoding="utf-8")
        try:
            if requests.get(url + "/unit/login", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the hall did not respond at {url} within {PATIENCE} s")


def open_job_page(url: str, client: FlaskClient, token: str) -> None:
    """Open the job's page with the client's session, which starts the job."""
    session = client.get_cookie("session")
    assert session is not None, "the client is not logged in"
    page = requests.get(
        f"{url}/unit/print/{STATEMENT}/jobs/{token}",
        cookies={"session": session.value},
        allow_redirects=False,
        timeout=PATIENCE,
    )
    assert page.status_code == 200


def hung_up(connection: socket.socket) -> bool:
    """Wait until the layout process closes its end, returning False on timeout."""
    try:
        while connection.recv(64):
            pass
    except TimeoutError:
        return False
    return True


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize(
    ("command", "number", "whole_group"),
    [
        # gunicorn stops its workers with SIGTERM, or with SIGQUIT on SIGINT.
        pytest.param(GUNICORN, signal.SIGTERM, False, id="gunicorn-stopped"),
        pytest.param(GUNICORN, signal.SIGINT, False, id="gunicorn-quick-stop"),
        pytest.param(DEVELOPMENT_SERVER, signal.SIGTERM, False, id="server-stopped"),
        # Ctrl-C in a terminal sends SIGINT to the whole process group.
        pytest.param(DEVELOPMENT_SERVER, signal.SIGINT, True, id="server-ctrl-c"),
    ],
)
def test_ending_server_gives_job_back(
    app: Flask,
    tmp_path: Path,
    gate: socket.socket,
    text_of,
    command: list[str],
    number: signal.Signals,
    whole_group: bool,
) -> None:
    job_id = queue_directly(app, [a_row()])
    token = job_state(app, job_id).token
    client = app.test_client()
    login_unit(client, app, UNIT_A)
    log = tmp_path / "hall.log"
    server, url = start_hall(
        command, gate.getsockname()[1], app, tmp_path / "served", log
    )
    try:
        wait_until_serving(url, server, log)
        open_job_page(url, client, token)
        connection, _ = gate.accept()
        with connection:
            connection.settimeout(PATIENCE)
            layout = int(connection.makefile(encoding="ascii").readline())
            claimed = job_state(app, job_id)
            if whole_group:
                os.killpg(server.pid, number)
            else:
                os.kill(server.pid, number)
            server.wait(timeout=PATIENCE)
            layout_ended = hung_up(connection)
    finally:
        # Also ends a layout process left behind, which shares the server's group.
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()
    output = log.read_text(encoding="utf-8")

    assert claimed.status == print_jobs.RENDERING
    assert claimed.attempts == 1
    assert server.returncode == 0, output
    assert layout_ended, output
    assert not running(layout)
    given_back = job_state(app, job_id)
    assert given_back.status == print_jobs.QUEUED, output
    assert given_back.attempts == 0
    assert given_back.error is None
    assert f"print job {job_id} given back" in output

    # This process renders with the real layout, without waiting for the LEASE.
    fragment = wait_until_finished(client, f"/unit/print/{STATEMENT}/jobs/{token}")
    download = client.get(f"/unit/print/{STATEMENT}/jobs/{token}/pdf")
    finished = job_state(app, job_id)
    assert 'data-status="ready"' in fragment
    assert finished.status == print_jobs.READY
    assert finished.attempts == 1
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert "陈志远" in squeeze(text_of(download.data))


def test_ending_process_claims_no_job(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fresh flags, so that the processes of later tests still render.
    monkeypatch.setattr(print_jobs, "_ending", threading.Event())
    monkeypatch.setattr(renderer, "_layouts_stopped", threading.Event())
    job_id = queue_directly(app, [a_row()])

    print_jobs.stop_rendering()
    with app.app_context():
        print_jobs.render(app, job_id)

    job = job_state(app, job_id)
    assert job.status == print_jobs.QUEUED
    assert job.attempts == 0
    with pytest.raises(renderer.LayoutStopped):
        renderer.pdf_in_child_process("<p>证明</p>")
