"""A synthetic large unit for load tests: thousands of employees with long ledgers.

The rows are generated a chunk of employees at a time and inserted in batches with
Core `insert()` executemany, so memory grows with the chunk, not with the unit.
Everything goes in one transaction: a failed run leaves nothing behind, and a unit
found by its account number means the seed ran before.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from connectors.embedded import codes, finance
from connectors.embedded.demo_data import (
    DISTRICTS,
    GIVEN,
    STREETS,
    SURNAMES,
    draw_bank_card,
    draw_id_number,
)
from connectors.embedded.models import (
    Account,
    DepositChange,
    InterestSettlement,
    LedgerEntry,
    Person,
    Unit,
)
from engine.policy import Policy

log = logging.getLogger(__name__)

RANDOM_SEED = 20260701
LARGE_UNIT_ACCOUNT = "0201000100"
LARGE_UNIT_NAME = "韶关市南岭制造集团有限公司"
# 91 (enterprise) + 440200 (Shaoguan) + organisation code MA52718Q2 + check digit.
LARGE_UNIT_USCC = "91440200MA52718Q2A"
LARGE_UNIT_RATIO = Decimal("12")
LARGE_UNIT_DEBIT_DAY = 10

FULL_EMPLOYEES = 20_000
FULL_ENTRIES_PER_EMPLOYEE = 100
# Ledger rows per executemany call, enough to amortise each round trip.
BATCH_ROWS = 10_000
# Employees generated in memory before their rows are inserted.
EMPLOYEES_PER_CHUNK = 500
# One account in fifty is sealed this month, so status filters have something to find.
SEALED_EVERY = 50
# The mobile prefix no account of the small demo set uses, so numbers never collide.
MOBILE_PREFIX = "147"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Slot:
    """One ledger entry every account of the large unit has, in date order."""

    day: dt.date
    entry_type: str
    summary: str
    # The month a remittance pays for; None for the opening balance and interest.
    month: dt.date | None = None


@dataclass
class LargeSeedResult:
    """Counts and handler of a seeded large unit."""

    unit_account: str
    employees: int
    ledger_entries: int
    handler_mobile: str


def large_unit_exists(session: Session) -> bool:
    found = session.scalar(
        select(Unit.id).where(Unit.unit_account == LARGE_UNIT_ACCOUNT)
    )
    return found is not None


def seed_large(
    session: Session,
    policy: Policy,
    today: dt.date,
    employees: int = FULL_EMPLOYEES,
    entries_per_employee: int = FULL_ENTRIES_PER_EMPLOYEE,
) -> LargeSeedResult | None:
    """Insert the large unit and its employees; return None when it exists already.

    Each account gets exactly `entries_per_employee` ledger entries: an opening
    balance, then monthly remittances and each 30 June's interest, ending in the
    last month whose debit day is before `today`. The caller commits.
    """
    if employees < 1 or entries_per_employee < 1:
        raise ValueError(
            f"need at least one employee and one entry, got {employees} "
            f"and {entries_per_employee}"
        )
    if large_unit_exists(session):
        return None
    generator = _LargeUnit(session, policy, today, employees, entries_per_employee)
    result = generator.write()
    log.info(
        "seeded large unit %s: %d employees, %d ledger entries",
        result.unit_account,
        result.employees,
        result.ledger_entries,
    )
    return result


def slots(today: dt.date, count: int, debit_day: int) -> list[Slot]:
    """Lay out `count` entries ending before `today`, the first an opening balance."""
    events: list[Slot] = []
    month = today.replace(day=1)
    if month.replace(day=debit_day) >= today:
        month = finance.add_months(month, -1)
    while len(events) < count - 1:
        settlement = dt.date(month.year, 6, 30)
        # Walking backwards, the 30 June interest comes before that June's remittance.
        if month.month == 6 and settlement < today:
            events.append(
                Slot(settlement, codes.INTEREST, f"{month.year}年度结息")
            )
            if len(events) == count - 1:
                break
        events.append(
            Slot(
                month.replace(day=debit_day),
                codes.REMITTANCE,
                f"{month:%Y年%m月}汇缴",
                month,
            )
        )
        month = finance.add_months(month, -1)
    events.reverse()
    first_day = (events[0].day if events else today).replace(day=1)
    opening = Slot(first_day, codes.OPENING_BALANCE, "系统迁移期初余额")
    return [opening, *events]


class _LargeUnit:
    """Generate and write the large unit's rows in a fixed order from one seeded RNG."""

    def __init__(
        self,
        session: Session,
        policy: Policy,
        today: dt.date,
        employees: int,
        entries_per_employee: int,
    ) -> None:
        self.session = session
        self.policy = policy
        self.today = today
        self.employees = employees
        self.rng = random.Random(RANDOM_SEED)
        self.slots = slots(today, entries_per_employee, LARGE_UNIT_DEBIT_DAY)
        self.unit_id = _next_id(session, Unit.id)
        self.first_person_id = _next_id(session, Person.id)
        self.first_account_id = _next_id(session, Account.id)
        last_number = session.scalar(select(func.max(Account.person_account)))
        self.first_account_number = int(last_number or "0") + 1
        self.used_ids = set(session.scalars(select(Person.id_number)))
        self.deposits: dict[tuple[Decimal, int], Decimal] = {}
        self.rates: dict[dt.date, Decimal] = {}
        # Totals of the unit's own ledger: (day, entry type) to the amount.
        self.unit_totals: dict[tuple[dt.date, str], Decimal] = defaultdict(Decimal)
        self.ledger_written = 0

    def write(self) -> LargeSeedResult:
        handler_mobile = _mobile(1)
        self.session.execute(insert(Unit), [self._unit_row()])
        for start in range(0, self.employees, EMPLOYEES_PER_CHUNK):
            stop = min(start + EMPLOYEES_PER_CHUNK, self.employees)
            persons, accounts, settlements, changes = [], [], [], []
            ledger_rows: list[dict[str, Any]] = []
            for position in range(start, stop):
                person, account = self._employee(position)
                persons.append(person)
                accounts.append(account)
                ledger_rows.extend(self._book(account, settlements))
                if account["status"] == codes.SEALED:
                    changes.append(self._seal_change(account))
            _insert_rows(self.session, Person, persons)
            _insert_rows(self.session, Account, accounts)
            self._insert_ledger(ledger_rows)
            # A ledger of few entries may end before its first 30 June, so a chunk
            # can have no settlement and no sealed account.
            _insert_rows(self.session, InterestSettlement, settlements)
            _insert_rows(self.session, DepositChange, changes)
        _insert_rows(self.session, LedgerEntry, self._unit_ledger())
        self.session.flush()
        _advance_sequences(self.session, [Unit, Person, Account])
        _analyze(self.session)
        return LargeSeedResult(
            LARGE_UNIT_ACCOUNT, self.employees, self.ledger_written, handler_mobile
        )

    def _insert_ledger(self, rows: list[dict[str, Any]]) -> None:
        """Insert ledger rows with COPY on PostgreSQL, else in executemany batches."""
        if self.session.get_bind().dialect.name == "postgresql":
            _copy_rows(self.session, LedgerEntry.__table__, rows)
            self.ledger_written += len(rows)
            return
        for batch in _batches(rows, BATCH_ROWS):
            _insert_rows(self.session, LedgerEntry, batch)
            self.ledger_written += len(batch)

    # Unit and people

    def _unit_row(self) -> dict[str, Any]:
        return {
            "id": self.unit_id,
            "unit_account": LARGE_UNIT_ACCOUNT,
            "name": LARGE_UNIT_NAME,
            "uscc": LARGE_UNIT_USCC,
            "address": "韶关市曲江区马坝镇南岭大道 1 号",
            "postcode": "512100",
            "legal_rep": "梁振华",
            "legal_rep_id_number": self._id_number(dt.date(1968, 4, 12), "1"),
            "phone": "0751-6688001",
            # The second employee handles the unit's business, as in the small set.
            "handler_person_account": self._account_number(1),
            "unit_ratio": LARGE_UNIT_RATIO,
            "person_ratio": LARGE_UNIT_RATIO,
            "status": "01",
            "bank": "中国建设银行韶关分行",
            "bank_account": "44001720001052500001",
            "debit_day": LARGE_UNIT_DEBIT_DAY,
            "opened_on": dt.date(2005, 3, 1),
        }

    def _account_number(self, position: int) -> str:
        return f"{self.first_account_number + position:012d}"

    def _employee(self, position: int) -> tuple[dict[str, Any], dict[str, Any]]:
        person_id = self.first_person_id + position
        sex = self.rng.choice("12")
        birth = self._birth_date()
        group = finance.retirement_group(sex)
        district = self.rng.choice(list(DISTRICTS))

        person = {
            "id": person_id,
            "id_number": self._id_number(birth, sex),
            "name": self.rng.choice(SURNAMES)
            + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2)))),
            "sex": sex,
            "birth_date": birth,
            "mobile": _mobile(position),
            "address": f"韶关市{district}{self.rng.choice(STREETS)}"
            f"{self.rng.randint(1, 300)}号",
            "bank_card": self._bank_card(),
            "retirement_group": group,
        }

        first_slot = self.slots[0].day
        opened = dt.date(self.rng.randint(2006, first_slot.year - 1), 1, 1)
        opened = opened.replace(month=self.rng.randint(1, 12))
        sealed = position % SEALED_EVERY == SEALED_EVERY - 1
        account = {
            "id": self.first_account_id + position,
            "person_account": self._account_number(position),
            "person_id": person_id,
            "unit_id": self.unit_id,
            "status": codes.SEALED if sealed else codes.ACTIVE,
            "base": ZERO,
            "opened_on": opened,
            "last_paid_month": None,
            "balance": ZERO,
            "closed_on": None,
            # The wage the base follows; removed before the row is inserted.
            "wage": self._wage(),
        }
        return person, account

    def _birth_date(self) -> dt.date:
        first = finance.add_months(self.today, -12 * 59)
        last = finance.add_months(self.today, -12 * 22)
        return first + dt.timedelta(days=self.rng.randrange((last - first).days))

    def _id_number(self, birth: dt.date, sex: str) -> str:
        return draw_id_number(self.rng, self.used_ids, birth, sex)

    def _bank_card(self) -> str:
        return draw_bank_card(self.rng)

    def _wage(self) -> Decimal:
        wage = Decimal(self.rng.choice((1500, 2800, 4200, 5678, 6500, 9000, 12000)))
        return wage + Decimal(self.rng.randrange(0, 3000, 10))

    # Ledger

    def _book(
        self, account: dict[str, Any], settlements: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Build the account's ledger rows and set its base, balance and paid month."""
        wage = account.pop("wage")
        account_id = account["id"]
        rows = []
        balance = ZERO
        base = ZERO
        carried = ZERO
        movements: list[tuple[dt.date, Decimal]] = []

        for slot in self.slots:
            if slot.entry_type == codes.OPENING_BALANCE:
                years = max(slot.day.year - account["opened_on"].year, 1)
                amount = Decimal(self.rng.randint(2000, 12000) * years)
            elif slot.entry_type == codes.REMITTANCE:
                assert slot.month is not None
                base = self._base_for(wage, slot.month)
                amount = self._deposit(base, slot.month)
                account["last_paid_month"] = f"{slot.month:%Y-%m}"
            else:
                rate = self._rate(slot.day)
                amount = finance.settle_interest(carried, movements, rate, slot.day)
                settlements.append(
                    {
                        "account_id": account_id,
                        "year": slot.day.year,
                        "settled_on": slot.day,
                        "rate": rate,
                        "balance_before": balance,
                        "interest": amount,
                        "balance_after": balance + amount,
                    }
                )

            balance += amount
            if slot.entry_type == codes.INTEREST:
                carried, movements = balance, []
            else:
                movements.append((slot.day, amount))
            self.unit_totals[(slot.day, slot.entry_type)] += amount
            rows.append(
                {
                    "unit_id": None,
                    "account_id": account_id,
                    "entry_date": slot.day,
                    "sequence": 0,
                    "entry_type": slot.entry_type,
                    "summary": slot.summary,
                    "debit": ZERO,
                    "credit": amount,
                    "balance": balance,
                }
            )

        account["balance"] = balance
        account["base"] = base or self._base_for(wage, self.today)
        return rows

    def _base_for(self, wage: Decimal, month: dt.date) -> Decimal:
        """Clamp the wage, grown 3% a base year since the first slot, into the range."""
        start = finance.base_year_start(month)
        years = max(start.year - self.slots[0].day.year, 0)
        grown = (wage * Decimal("1.03") ** years).quantize(Decimal(1))
        floor, cap = self._limits(start)
        return finance.clamp_base(grown, floor, cap).quantize(ZERO)

    def _limits(self, start: dt.date) -> tuple[Decimal, Decimal]:
        try:
            return finance.base_limits(self.policy, start)
        except LookupError:
            # NOTE: the policy file publishes base limits only from its first base
            # year; earlier months reuse that year's floor and cap.
            floor = self.policy.figures["base_floor"].periods[0].value
            cap = self.policy.figures["base_cap"].periods[0].value
            return floor, cap

    def _deposit(self, base: Decimal, month: dt.date) -> Decimal:
        places = finance.deposit_places(self.policy, month)
        key = (base, places)
        if key not in self.deposits:
            deposit = finance.monthly_deposit(
                base, LARGE_UNIT_RATIO, LARGE_UNIT_RATIO, places
            )
            self.deposits[key] = deposit.total
        return self.deposits[key]

    def _rate(self, day: dt.date) -> Decimal:
        if day not in self.rates:
            self.rates[day] = self.policy.value("interest_rate", day)
        return self.rates[day]

    def _seal_change(self, account: dict[str, Any]) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "account_id": account["id"],
            "change_type": "seal",
            "effective_month": f"{self.today:%Y-%m}",
            "old_value": "正常",
            "new_value": "封存",
            "recorded_on": self.today,
            "application_number": None,
        }

    def _unit_ledger(self) -> list[dict[str, Any]]:
        """Return one unit entry per day and type, summing its employees' entries."""
        rows = []
        balance = ZERO
        for (day, entry_type), amount in sorted(self.unit_totals.items()):
            balance += amount
            rows.append(
                {
                    "unit_id": self.unit_id,
                    "account_id": None,
                    "entry_date": day,
                    "sequence": 0,
                    "entry_type": entry_type,
                    "summary": _unit_summary(entry_type, day),
                    "debit": ZERO,
                    "credit": amount,
                    "balance": balance,
                }
            )
        return rows


def _unit_summary(entry_type: str, day: dt.date) -> str:
    if entry_type == codes.REMITTANCE:
        return f"{day:%Y年%m月}汇缴"
    if entry_type == codes.INTEREST:
        return f"{day.year}年度结息"
    return "系统迁移期初余额"


def _mobile(position: int) -> str:
    return f"{MOBILE_PREFIX}{position:08d}"


def _next_id(session: Session, column: Any) -> int:
    return int(session.scalar(select(func.max(column))) or 0) + 1


def _insert_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert rows with one executemany, and nothing when the list is empty.

    SQLAlchemy turns `insert(model)` with an empty parameter list into a single
    INSERT ... DEFAULT VALUES, which fails on the NOT NULL columns.
    """
    if rows:
        session.execute(insert(model), rows)


def _batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Stream rows into a PostgreSQL table with COPY, in the session's transaction.

    Each value passes through its column type's bind processing first, so an
    amount is stored in fen exactly as an INSERT would store it.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    names = list(rows[0])
    processors = [table.c[name].type.bind_processor(dialect) for name in names]
    driver_connection = session.connection().connection.driver_connection
    column_list = ", ".join(names)
    with driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [
                        process(row[name]) if process else row[name]
                        for name, process in zip(names, processors)
                    ]
                )


def _analyze(session: Session) -> None:
    """Refresh PostgreSQL's planner statistics of the tables the load filled.

    SQLite keeps no statistics unless ANALYZE runs, and its plans without them
    use the indexes of the paged queries. With statistics it chose to walk the
    whole unique person_account index for the employee page of a unit that contains
    most accounts, so SQLite is left without.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("core_account", "core_person", "core_ledger_entry"):
        session.execute(text(f"ANALYZE {table}"))


def _advance_sequences(session: Session, models: list[type]) -> None:
    """Move PostgreSQL's id sequences past the ids this seed wrote explicitly."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__table__
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            ),
            {"table": table.name},
        )
