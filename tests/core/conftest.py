"""Fixtures for the embedded core: the policy file and seeded core databases.

`core` runs on the suite's database. `race_core` runs every test that uses it twice,
on a SQLite file and on the PostgreSQL server at `HALL_TEST_POSTGRES_URL`, because
the two lock differently.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from testdb import TestDatabases

from connectors.embedded import EmbeddedCore
from connectors.embedded.demo_data import seed
from connectors.embedded.models import CoreBase
from engine.policy import Policy
from engine.storage.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 4)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return Policy.from_file(ROOT / "specs" / "policy.yaml")


def seeded_engine(url: str, policy: Policy, today: dt.date = TODAY) -> Engine:
    engine = create_engine(url)
    CoreBase.metadata.create_all(engine)
    with Session(engine) as session:
        seed(session, policy, today)
        session.commit()
    return engine


@pytest.fixture(scope="session")
def seeded_core(test_databases: TestDatabases, policy: Policy) -> str:
    """Seed once per run, so that each test works on its own copy."""
    return test_databases.template(
        "core", lambda url: seeded_engine(url, policy).dispose()
    )


@pytest.fixture
def core_engine(
    test_databases: TestDatabases, seeded_core: str, tmp_path: Path
) -> Iterator[Engine]:
    url = test_databases.copy(seeded_core, tmp_path)
    engine = create_engine(url)
    yield engine
    engine.dispose()
    test_databases.drop(url)


@pytest.fixture
def core(core_engine: Engine, policy: Policy) -> EmbeddedCore:
    factory = sessionmaker(core_engine, expire_on_commit=False)
    return EmbeddedCore(factory, policy, lambda: TODAY)


# The shared PostgreSQL server; each test creates and drops its own database there.
POSTGRES_URL = os.environ.get(
    "HALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _admin(statement: str) -> None:
    url = make_url(POSTGRES_URL)
    with psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    ) as connection:
        connection.execute(statement)


def _seeded(url: str, policy: Policy) -> Engine:
    engine = make_engine(url)
    CoreBase.metadata.create_all(engine)
    with Session(engine) as session:
        seed(session, policy, TODAY)
        session.commit()
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, policy: Policy
) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = _seeded(f"sqlite:///{tmp_path / 'core.db'}", policy)
        yield engine
        engine.dispose()
        return
    name = f"hall_race_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        engine = _seeded(
            make_url(POSTGRES_URL).set(database=name).render_as_string(False), policy
        )
        yield engine
        engine.dispose()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def race_core(database: Engine, policy: Policy) -> EmbeddedCore:
    factory = sessionmaker(database, expire_on_commit=False)
    return EmbeddedCore(factory, policy, lambda: TODAY)
