"""Fixtures for the embedded core: the policy file and a seeded core database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker
from testdb import TestDatabases

from connectors.embedded import EmbeddedCore
from connectors.embedded.demo_data import seed
from connectors.embedded.models import CoreBase
from engine.policy import Policy

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
