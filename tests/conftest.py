"""Fixtures shared by every suite: a migrated, seeded SQLite file and the Flask app."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import create_app
from engine.migrate import upgrade

# The demo data is seeded once per run as of today, then each test gets its own copy.
SEED_DAY = dt.date.today()


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.commands import seed_demo

    folder = tmp_path_factory.mktemp("template")
    path = folder / "hall.db"
    upgrade(f"sqlite:///{path}")
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "INSTANCE_PATH": str(folder)}
    )
    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        seed_demo(session, hall.policy, SEED_DAY)
    hall.session_factory.kw["bind"].dispose()
    return path


@pytest.fixture
def app(seeded_database: Path, tmp_path: Path) -> Iterator[Flask]:
    path = tmp_path / "hall.db"
    shutil.copyfile(seeded_database, path)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "INSTANCE_PATH": str(tmp_path),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    yield app
    app.extensions["hall"].session_factory.kw["bind"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
