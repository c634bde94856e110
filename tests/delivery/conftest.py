"""Fixtures for delivery tests: a core served over HTTP on a random loopback port.

The core runs on its own copy of the seeded database, apart from the hall's, as a
real core system would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_support import ROOT, SECRET, CoreServer
from sqlalchemy.orm import Session, sessionmaker

from connectors.embedded import EmbeddedCore
from connectors.embedded.http_server import CoreHttpApp
from engine.policy import Policy
from engine.storage.db import make_engine, make_session_factory
from testdb import TestDatabases


@pytest.fixture
def core_database_url(
    test_databases: TestDatabases, seeded_database: str, tmp_path: Path
) -> Iterator[str]:
    """Return the URL of the core's own copy of the seeded database."""
    folder = tmp_path / "core"
    folder.mkdir()
    url = test_databases.copy(seeded_database, folder)
    yield url
    test_databases.drop(url)


@pytest.fixture
def core_sessions(core_database_url: str) -> Iterator[sessionmaker[Session]]:
    factory = make_session_factory(make_engine(core_database_url))
    yield factory
    factory.kw["bind"].dispose()


@pytest.fixture
def core_app(core_sessions: sessionmaker[Session]) -> CoreHttpApp:
    policy = Policy.from_file(ROOT / "specs" / "policy.yaml")
    return CoreHttpApp(EmbeddedCore(core_sessions, policy), SECRET)


@pytest.fixture
def core_server(core_app: CoreHttpApp) -> Iterator[CoreServer]:
    server = CoreServer(core_app)
    server.start()
    yield server
    server.stop()
