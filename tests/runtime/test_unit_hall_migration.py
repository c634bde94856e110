"""The migration of the transfer and identity tables upgrades and downgrades."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from engine.migrate import alembic_config, upgrade


def test_unit_hall_tables_come_and_go(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'transfer.db'}"
    upgrade(url)
    engine = create_engine(url)
    indexes = {index["name"] for index in inspect(engine).get_indexes("core_transfer")}
    assert indexes == {
        "ix_core_transfer_from_unit_date",
        "ix_core_transfer_to_unit_date",
    }

    assert "identity_verification" in inspect(engine).get_table_names()

    command.downgrade(alembic_config(url), "0001")
    assert "core_transfer" not in inspect(engine).get_table_names()
    assert "identity_verification" not in inspect(engine).get_table_names()
    assert "core_account" in inspect(engine).get_table_names()
    engine.dispose()


def test_existing_applications_become_first_revisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'older.db'}"
    command.upgrade(alembic_config(url), "0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO application (draft_token, service_id, spec_version, hall,"
                " status, form_values, created_at, updated_at, delivery_attempts)"
                " VALUES ('t', 'unit-open-account', '1', 'unit', 'returned', '{}',"
                " '2026-01-01', '2026-01-01', 1)"
            )
        )
    upgrade(url)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT revision, revises FROM application")
        ).one()
    engine.dispose()
    assert tuple(row) == (1, None)
