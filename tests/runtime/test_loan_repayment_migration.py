"""Revision 0010 records the early repayments approved before it, dated in China."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from engine.migrate import alembic_config, upgrade

LOAN = (
    "INSERT INTO core_loan (id, contract_number, person_id, account_id, amount,"
    " term_months, rate, method, start_date, balance, status, bank, repayment_card,"
    " house_address, offset_signed) VALUES (:id, :contract, 1, 1, 30000000, 240,"
    " '2.6', 'equal_instalments', '2026-01-08', :balance, :status, '', '', '', 0)"
)
ITEM = (
    "INSERT INTO core_review_item (application_number, operation, caller_hall,"
    " person_account, payload, status, created_at, decided_at) VALUES (:number,"
    " 'loan.early_repayment', 'person', '020100000001', :payload, :status,"
    " '2026-12-01 02:00:00', :decided_at)"
)


def add_item(connection, number: str, status: str, decided_at, **payload) -> None:  # type: ignore[no-untyped-def]
    connection.execute(
        text(ITEM),
        {
            "number": number,
            "payload": json.dumps(payload),
            "status": status,
            "decided_at": decided_at,
        },
    )


def test_approved_early_repayments_recorded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'older.db'}"
    command.upgrade(alembic_config(url), "0009_core_callback_failures")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(LOAN),
            {"id": 1, "contract": "GJJ2026010001", "balance": 0, "status": "02"},
        )
        connection.execute(
            text(LOAN),
            {"id": 2, "contract": "GJJ2026010002", "balance": 1000000, "status": "01"},
        )
        # 01:30 on 5 December in China, still 4 December in UTC.
        add_item(
            connection,
            "P20261205000001",
            "approved",
            "2026-12-04 17:30:00",
            contract="GJJ2026010001",
            mode="full",
            amount="290000.50",
            balance="290000.50",
            balance_after="0.00",
        )
        add_item(
            connection,
            "P20261130000001",
            "approved",
            "2026-11-30 03:00:00",
            contract="GJJ2026010002",
            mode="partial",
            amount="20000.00",
            balance="30000.00",
            balance_after="10000.00",
        )
        # Neither a pending nor a returned application repaid anything.
        add_item(
            connection,
            "P20261201000001",
            "pending",
            None,
            contract="GJJ2026010002",
            mode="partial",
            amount="5000.00",
        )
        add_item(
            connection,
            "P20261201000002",
            "returned",
            "2026-12-01 03:00:00",
            contract="GJJ2026010002",
            mode="full",
            amount="10000.00",
        )
    upgrade(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT loan_id, repaid_on, kind, payment, principal, interest,"
                " balance, application_number FROM core_loan_repayment ORDER BY loan_id"
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, "2026-12-05", "full", 29000050, 29000050, 0, 0, "P20261205000001"),
        (2, "2026-11-30", "partial", 2000000, 2000000, 0, 1000000, "P20261130000001"),
    ]


def test_repayment_table_comes_and_goes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'repayments.db'}"
    upgrade(url)
    engine = create_engine(url)
    indexes = {
        index["name"] for index in inspect(engine).get_indexes("core_loan_repayment")
    }
    assert indexes == {"ix_core_loan_repayment_loan_date"}

    command.downgrade(alembic_config(url), "0009_core_callback_failures")
    assert "core_loan_repayment" not in inspect(engine).get_table_names()
    assert "core_loan_schedule" in inspect(engine).get_table_names()
    engine.dispose()
