"""Fixtures for the embedded core: the policy file and a seeded SQLite core."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from connectors.embedded import EmbeddedCore
from connectors.embedded.demo_data import seed
from connectors.embedded.models import CoreBase
from engine.policy import Policy

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 4)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return Policy.from_file(ROOT / "specs" / "policy.yaml")


def seeded_engine(path: Path, policy: Policy, today: dt.date = TODAY) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    CoreBase.metadata.create_all(engine)
    with Session(engine) as session:
        seed(session, policy, today)
        session.commit()
    return engine


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory: pytest.TempPathFactory, policy: Policy) -> Path:
    """Seed once per run, so that each test works on its own copy of the file."""
    path = tmp_path_factory.mktemp("seeded") / "core.db"
    seeded_engine(path, policy).dispose()
    return path


@pytest.fixture
def core_engine(tmp_path: Path, seeded_file: Path) -> Iterator[Engine]:
    path = tmp_path / "core.db"
    shutil.copyfile(seeded_file, path)
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def core(core_engine: Engine, policy: Policy) -> EmbeddedCore:
    factory = sessionmaker(core_engine, expire_on_commit=False)
    return EmbeddedCore(factory, policy, lambda: TODAY)
