"""Fixtures shared by every suite: a migrated, seeded database and the Flask app.

The database is a SQLite file unless `HALL_TEST_DATABASE_URL` names a PostgreSQL
server (see `testdb.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from testdb import TestDatabases

from engine import create_app
from engine.clock import business_date
from engine.migrate import upgrade
from tests.support import build_test_app

# The demo data is seeded once per run as of the business date, then each test gets
# its own copy.
SEED_DAY = business_date()


@pytest.fixture(scope="session")
def test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    databases = TestDatabases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.drop_all()


def _seed(url: str, folder: Path) -> None:
    from engine.commands import seed_demo

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder)})
    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        seed_demo(session, hall.policy, SEED_DAY)
    hall.session_factory.kw["bind"].dispose()


@pytest.fixture(scope="session")
def seeded_database(
    test_databases: TestDatabases, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """Return the URL of the migrated database with the demo data as of SEED_DAY."""
    folder = tmp_path_factory.mktemp("template")
    return test_databases.template("template", lambda url: _seed(url, folder))


@pytest.fixture
def database_url(
    test_databases: TestDatabases, seeded_database: str, tmp_path: Path
) -> Iterator[str]:
    """Return the URL of this test's own copy of the seeded database."""
    url = test_databases.copy(seeded_database, tmp_path)
    yield url
    test_databases.drop(url)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = build_test_app(database_url, tmp_path)
    yield app
    app.extensions["hall"].session_factory.kw["bind"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
