"""The Alembic migrations create exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from testdb import TestDatabases

from connectors.embedded.models import CoreBase
from engine.migrate import upgrade
from engine.storage.models import HallBase


def test_upgrade_from_empty_matches_models(test_databases: TestDatabases) -> None:
    url = test_databases.empty("migrate")
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            differences = compare_metadata(
                context, [HallBase.metadata, CoreBase.metadata]
            )
    finally:
        engine.dispose()
    assert differences == []


def test_upgrade_twice_is_harmless(test_databases: TestDatabases) -> None:
    url = test_databases.empty("twice")
    upgrade(url)
    upgrade(url)
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "application",
        "attachment",
        "audit_entry",
        "sms_code",
        "login_attempt",
    } <= tables
    assert "core_account" in tables
