"""Helpers for person hall tests: logins of any depositor, cards, tables, review."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from support import csrf_token, login_staff, parse
from werkzeug.test import TestResponse

from connectors.embedded.demo_data import DEMO_ID_NUMBER
from connectors.embedded.models import Account, Loan, Person
from engine.auth import hash_password
from engine.commands import DEMO_PERSON_PASSWORD
from engine.storage.models import LoginAccount

DEMO_ACCOUNT = "020100000001"


@contextmanager
def core_session(app: Flask) -> Iterator[Session]:
    with app.extensions["hall"].session_factory() as session:
        yield session


def give_login(app: Flask, person_account: str) -> None:
    """Give a depositor of the demo data the demo password, so a test can log in."""
    with core_session(app) as session:
        exists = session.scalars(
            select(LoginAccount).where(
                LoginAccount.hall == "person", LoginAccount.subject == person_account
            )
        ).first()
        if exists is None:
            session.add(
                LoginAccount(
                    hall="person",
                    subject=person_account,
                    password_hash=hash_password(DEMO_PERSON_PASSWORD),
                )
            )
            session.commit()


def other_borrower(app: Flask) -> tuple[str, str]:
    """Return (personal account, contract number) of a borrower other than the demo."""
    with core_session(app) as session:
        row = session.execute(
            select(Account.person_account, Loan.contract_number)
            .join(Loan, Loan.account_id == Account.id)
            .join(Person, Person.id == Loan.person_id)
            .where(Person.id_number != DEMO_ID_NUMBER, Loan.status == "01")
            .order_by(Loan.id)
        ).first()
    assert row is not None, "the demo data has no second borrower"
    return row[0], row[1]


def demo_loan(app: Flask) -> Loan:
    with core_session(app) as session:
        return session.scalars(
            select(Loan)
            .join(Person, Person.id == Loan.person_id)
            .where(Person.id_number == DEMO_ID_NUMBER)
        ).one()


def card_of(response: TestResponse) -> dict[str, str]:
    return {
        item["data-name"]: item.get_text(strip=True)
        for item in parse(response).select("#result dl.card-list dd[data-name]")
    }


def table_of(response: TestResponse) -> list[list[str]]:
    body = parse(response).select_one("#result table tbody")
    assert body is not None, "the page has no result table"
    rows = []
    for row in body.find_all("tr"):
        cells = [cell.get_text(strip=True) for cell in row.find_all("td")]
        if cells != ["没有符合条件的记录"]:
            rows.append(cells)
    return rows


def draft_token(response: TestResponse) -> str:
    match = re.search(r'name="_draft" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "the page has no draft"
    return match.group(1)


def confirm(client: FlaskClient, url: str, response: TestResponse) -> str:
    """Confirm the draft shown on a review page; return the application number."""
    done = client.post(
        f"{url}/confirm",
        data={"csrf_token": csrf_token(response), "_draft": draft_token(response)},
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    return done.headers["Location"].rsplit("/", 1)[-1]


def decide(
    app: Flask, number: str, decision: str = "approve", comment: str = ""
) -> Any:
    """Approve or return an application as the centre's reviewer."""
    reviewer = app.test_client()
    login_staff(reviewer)
    page = reviewer.get(f"/staff/reviews/{number}")
    assert page.status_code == 200
    return reviewer.post(
        f"/staff/reviews/{number}",
        data={"csrf_token": csrf_token(page), "decision": decision, "comment": comment},
    )


def renter(app: Flask, minimum: str = "20000") -> Account:
    """Return an active account without a loan, deposited up to last month."""
    from decimal import Decimal

    with core_session(app) as session:
        borrowers = select(Loan.person_id)
        accounts = session.scalars(
            select(Account)
            .where(
                Account.status == "01",
                Account.person_id.not_in(borrowers),
                Account.balance >= Decimal(minimum),
                Account.last_paid_month.is_not(None),
            )
            .order_by(Account.person_account)
        ).all()
    latest = max(account.last_paid_month or "" for account in accounts)
    chosen = [account for account in accounts if account.last_paid_month == latest]
    assert chosen, "the demo data has no depositor who could rent"
    return chosen[0]


def account_by_number(app: Flask, person_account: str) -> Account:
    with core_session(app) as session:
        return session.scalars(
            select(Account).where(Account.person_account == person_account)
        ).one()


def collect_instalments(app: Flask, day: Any) -> int:
    """Run the core's collection of instalments due by `day`, as on that day."""
    from connectors.embedded.context import CoreContext
    from connectors.embedded.offset import collect_due_instalments

    hall = app.extensions["hall"]
    with hall.session_factory() as session, session.begin():
        return collect_due_instalments(CoreContext(session, hall.policy, day))


def next_instalment(app: Flask, loan_id: int) -> Any:
    from connectors.embedded.models import LoanInstalment

    with core_session(app) as session:
        return session.scalars(
            select(LoanInstalment)
            .where(LoanInstalment.loan_id == loan_id, LoanInstalment.paid_on.is_(None))
            .order_by(LoanInstalment.month)
        ).first()


def offset_entries(app: Flask, account_id: int) -> list[Any]:
    from connectors.embedded.models import LedgerEntry

    with core_session(app) as session:
        return list(
            session.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.account_id == account_id, LedgerEntry.entry_type == "07"
                )
            )
        )
