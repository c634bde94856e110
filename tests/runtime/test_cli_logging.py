"""What the `hall` commands log: no WeasyPrint progress, the startup line only in serve."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import main

PROGRESS_LOGGER = "weasyprint.progress"
STARTUP_MESSAGE = "hall started with"


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_DATABASE_URL", database_url)
    monkeypatch.setenv("HALL_INSTANCE", str(tmp_path))
    monkeypatch.delenv("HALL_CORE_URL", raising=False)
    monkeypatch.delenv("HALL_ROUTES", raising=False)


@pytest.fixture
def info_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture INFO records, with WeasyPrint's progress logger at its default level."""
    progress = logging.getLogger(PROGRESS_LOGGER)
    saved = progress.level
    progress.setLevel(logging.NOTSET)
    caplog.set_level(logging.INFO)
    yield caplog
    progress.setLevel(saved)


def progress_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == PROGRESS_LOGGER]


def startup_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.getMessage().startswith(STARTUP_MESSAGE)
    ]


@pytest.mark.parametrize("arguments", [["deliver", "--once"], ["demo", "seed"]])
def test_command_logs_no_progress(
    arguments: list[str], cli_env: None, info_logs: pytest.LogCaptureFixture
) -> None:
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert logging.getLogger(PROGRESS_LOGGER).level == logging.WARNING
    assert progress_records(info_logs) == []
    assert startup_records(info_logs) == []


def test_deliver_stderr_quiet(database_url: str, tmp_path: Path) -> None:
    """Run the installed command, which imports WeasyPrint after logging is set up."""
    hall = Path(sys.executable).parent / "hall"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("HALL_CORE_URL", "HALL_ROUTES")
    }
    env["HALL_DATABASE_URL"] = database_url
    env["HALL_INSTANCE"] = str(tmp_path)
    finished = subprocess.run(
        [str(hall), "deliver", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "delivery attempts made" in finished.stdout
    assert PROGRESS_LOGGER not in finished.stderr
    assert STARTUP_MESSAGE not in finished.stderr


def test_serve_logs_startup_once(
    cli_env: None, info_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "werkzeug.serving.run_simple", lambda *args, **kwargs: served.append(args)
    )
    result = CliRunner().invoke(main, ["serve", "--no-delivery", "--port", "25301"])
    # The stub returns at once, so the served app's pool is closed here, as the
    # server's exit would close it.
    for _host, _port, app in served:
        app.extensions["hall"].session_factory.kw["bind"].dispose()
    assert result.exit_code == 0, result.output
    assert len(served) == 1
    assert "Demo logins" in result.output
    assert len(startup_records(info_logs)) == 1
    assert progress_records(info_logs) == []
