"""Deterministic synthetic demo data of the embedded core: units, people, ledgers."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session
from stdnum import luhn
from stdnum.cn import ric, uscc

from connectors.embedded import codes, finance
from connectors.embedded.models import (
    Account,
    DepositChange,
    InterestSettlement,
    LedgerEntry,
    Loan,
    LoanInstalment,
    PartnerProject,
    Person,
    Unit,
)
from engine.policy import Policy

log = logging.getLogger(__name__)

RANDOM_SEED = 20240701
LEDGER_MONTHS = 36
ZERO = Decimal("0.00")

FIRST_UNIT = "0201000001"
# The well-known demo depositor of the first unit; born 1985-03-05, male, has a loan.
DEMO_ID_NUMBER = "44020319850305021X"
DEMO_NAME = "陈志远"
DEMO_MOBILE = "13902210001"
DEMO_WAGE = Decimal("8600")


@dataclass(frozen=True)
class UnitPlan:
    name: str
    address: str
    postcode: str
    employees: int
    ratio: Decimal
    bank: str
    debit_day: int


UNIT_PLANS = (
    UnitPlan(
        "韶关市丹霞智造科技有限公司",
        "韶关市武江区工业西路 88 号",
        "512026",
        120,
        Decimal("12"),
        "中国建设银行韶关分行",
        10,
    ),
    UnitPlan(
        "韶关市北江物流有限公司",
        "韶关市浈江区东堤中路 136 号",
        "512023",
        100,
        Decimal("10"),
        "中国工商银行韶关分行",
        15,
    ),
    UnitPlan(
        "韶关市曲江区南华食品有限公司",
        "韶关市曲江区马坝镇府前路 21 号",
        "512100",
        90,
        Decimal("5"),
        "中国农业银行韶关曲江支行",
        20,
    ),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红晓玲丹辉鹏慧婷宇浩然嘉欣怡睿"
)
STREETS = (
    "沿江路",
    "风度北路",
    "解放路",
    "新华南路",
    "惠民北路",
    "工业东路",
    "芙蓉北路",
)
DISTRICTS = {
    "武江区": "440203",
    "浈江区": "440204",
    "曲江区": "440205",
    "始兴县": "440222",
    "仁化县": "440224",
    "乐昌市": "440281",
    "南雄市": "440282",
}
# 440200 is the city code itself; it is valid for every birth year in the
# area-code table, unlike district codes created later.
CITY_AREA_CODE = "440200"
MOBILE_PREFIXES = ("138", "139", "135", "136", "137", "150", "158", "159", "186", "188")
PROJECT_NAMES = (
    "丹霞名苑",
    "北江明珠",
    "芙蓉华府",
    "南华雅居",
    "武江壹号",
    "浈江湾",
    "曲江新城花园",
    "韶州书香苑",
    "风度御景",
    "帽子峰山水",
    "东堤丽景",
    "马坝金湾",
)
LENDING_BANKS = (
    "中国建设银行",
    "中国工商银行",
    "中国农业银行",
    "中国银行",
    "广东南粤银行",
)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Weights of the GB 11714 organisation-code check digit.
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass
class Event:
    """A movement of one account before balances are known; withdrawals are negative."""

    day: dt.date
    entry_type: str
    summary: str
    amount: Decimal
    # For a withdrawal or offset: take it only if the balance covers it.
    needs_cover: bool = False


@dataclass
class Employee:
    person: dict[str, Any]
    account: dict[str, Any]
    unit: dict[str, Any]
    wage: Decimal
    sealed_month: dt.date | None = None
    events: list[Event] = field(default_factory=list)


def seed(session: Session, policy: Policy, today: dt.date) -> None:
    """Insert the demo data set; the same `today` always yields the same rows."""
    builder = _Builder(policy, today)
    builder.build()
    for model, rows in builder.tables():
        if rows:
            session.execute(insert(model), rows)
    session.flush()
    _advance_sequences(session, [model for model, _ in builder.tables()])
    log.info(
        "seeded demo core: %d units, %d accounts, %d ledger entries",
        len(builder.units),
        len(builder.accounts),
        len(builder.ledger),
    )


def _advance_sequences(session: Session, models: list[type]) -> None:
    """Move PostgreSQL's id sequences past the ids the seed wrote explicitly.

    Rows inserted with their own ids leave a serial column's sequence at its
    start, so the next row without an id would reuse id 1.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__table__
        if "id" not in table.c or not table.c.id.autoincrement:
            continue
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            ),
            {"table": table.name},
        )


def has_data(session: Session) -> bool:
    return session.scalar(select(Unit.id).limit(1)) is not None


def demo_identities(session: Session) -> dict[str, list[dict[str, Any]]]:
    """List the units and a few depositors the hall can create demo logins for."""
    units = []
    for unit in session.scalars(select(Unit).order_by(Unit.unit_account)):
        handler = session.execute(
            select(Person)
            .join(Account, Account.person_id == Person.id)
            .where(Account.person_account == unit.handler_person_account)
        ).scalar_one()
        units.append(
            {
                "unit_account": unit.unit_account,
                "name": unit.name,
                "handler_name": handler.name,
                "handler_mobile": handler.mobile,
            }
        )
    persons = []
    demo = session.scalars(
        select(Person).where(Person.id_number == DEMO_ID_NUMBER)
    ).one()
    chosen = [demo]
    for unit in session.scalars(select(Unit).order_by(Unit.unit_account)):
        chosen.append(
            session.scalars(
                select(Person)
                .join(Account, Account.person_id == Person.id)
                .where(
                    Account.unit_id == unit.id,
                    Account.status == codes.ACTIVE,
                    Person.id != demo.id,
                )
                .order_by(Account.person_account.desc())
                .limit(1)
            ).one()
        )
    for person in chosen:
        account = session.scalars(
            select(Account)
            .where(Account.person_id == person.id)
            .order_by(Account.status, Account.person_account)
        ).first()
        has_loan = session.scalar(select(Loan.id).where(Loan.person_id == person.id))
        persons.append(
            {
                "person_account": account.person_account if account else "",
                "id_number": person.id_number,
                "name": person.name,
                "mobile": person.mobile,
                "has_loan": has_loan is not None,
            }
        )
    return {"units": units, "persons": persons}


class _Builder:
    """Generate every table's rows in memory, in a fixed order from one seeded RNG."""

    def __init__(self, policy: Policy, today: dt.date) -> None:
        self.policy = policy
        self.today = today
        self.rng = random.Random(RANDOM_SEED)
        this_month = today.replace(day=1)
        self.months = [
            finance.add_months(this_month, offset - LEDGER_MONTHS)
            for offset in range(LEDGER_MONTHS)
        ]
        self.window_start = self.months[0]
        self.units: list[dict[str, Any]] = []
        self.persons: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.employees: list[Employee] = []
        self.ledger: list[dict[str, Any]] = []
        self.settlements: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.projects: list[dict[str, Any]] = []
        self.loans: list[dict[str, Any]] = []
        self.instalments: list[dict[str, Any]] = []
        self.used_ids: set[str] = set()
        self.used_mobiles: set[str] = set()

    def tables(self) -> list[tuple[type, list[dict[str, Any]]]]:
        return [
            (Unit, self.units),
            (Person, self.persons),
            (Account, self.accounts),
            (PartnerProject, self.projects),
            (Loan, self.loans),
            (LoanInstalment, self.instalments),
            (LedgerEntry, self.ledger),
            (InterestSettlement, self.settlements),
            (DepositChange, self.changes),
        ]

    def build(self) -> None:
        for number, plan in enumerate(UNIT_PLANS, start=1):
            unit = self._unit(number, plan)
            for position in range(plan.employees):
                self._employee(unit, plan, position)
        self._projects()
        self._seal_some()
        self._withdraw_some()
        self._loans()
        for employee in self.employees:
            self._remittances(employee)
            self._book(employee)
        self._book_units()

    # Units and people

    def _unit(self, number: int, plan: UnitPlan) -> dict[str, Any]:
        org_code = "MA" + "".join(self.rng.choice(USCC_CHARS[:10]) for _ in range(5))
        org_code += self.rng.choice(USCC_CHARS[10:])
        org_code += _org_check(org_code)
        partial = "91440200" + org_code
        unit = {
            "id": number,
            "unit_account": f"0201{number:06d}",
            "name": plan.name,
            "uscc": partial + uscc.calc_check_digit(partial),
            "address": plan.address,
            "postcode": plan.postcode,
            "legal_rep": self._name(),
            "legal_rep_id_number": self._id_number(self._birth_date(40, 58), "1"),
            "phone": f"0751-8{self.rng.randrange(1000000):06d}",
            "handler_person_account": None,
            "unit_ratio": plan.ratio,
            "person_ratio": plan.ratio,
            "status": "01",
            "bank": plan.bank,
            "bank_account": f"4400{self.rng.randrange(10**16):016d}",
            "debit_day": plan.debit_day,
            "opened_on": dt.date(2008 + number * 2, 3 + number, 1),
        }
        self.units.append(unit)
        return unit

    def _employee(self, unit: dict[str, Any], plan: UnitPlan, position: int) -> None:
        person_id = len(self.persons) + 1
        demo = unit["id"] == 1 and position == 0
        person = self._person(person_id, demo)

        # About one in ten joined during the ledger window; the rest were migrated in.
        joined = None
        if not demo and position > 1 and self.rng.random() < 0.1:
            joined = self.rng.choice(self.months[1:-2])
        opened = joined or dt.date(
            self.rng.randint(2010, self.window_start.year - 1),
            self.rng.randint(1, 12),
            1,
        )
        account = {
            "id": person_id,
            "person_account": f"0201{person_id:08d}",
            "person_id": person_id,
            "unit_id": unit["id"],
            "status": codes.ACTIVE,
            "base": ZERO,
            "opened_on": opened,
            "last_paid_month": None,
            "balance": ZERO,
            "closed_on": None,
        }

        employee = Employee(person, account, unit, self._wage(demo))
        if joined is None:
            years = self.window_start.year - opened.year
            opening = Decimal(self.rng.randint(2000, 12000) * max(years, 1))
            employee.events.append(
                Event(
                    self.window_start,
                    codes.OPENING_BALANCE,
                    "系统迁移期初余额",
                    opening,
                )
            )
        else:
            self._change(employee, "new", joined, "", "")
        self.persons.append(person)
        self.accounts.append(account)
        self.employees.append(employee)
        if position == 1:
            unit["handler_person_account"] = account["person_account"]

    def _person(self, person_id: int, demo: bool) -> dict[str, Any]:
        if demo:
            sex, birth = "1", ric.get_birth_date(DEMO_ID_NUMBER)
            id_number, name, mobile = DEMO_ID_NUMBER, DEMO_NAME, DEMO_MOBILE
            self.used_ids.add(id_number)
            self.used_mobiles.add(mobile)
        else:
            sex = self.rng.choice("12")
            birth = self._birth_date(23, 55)
            id_number = self._id_number(birth, sex)
            name, mobile = self._name(), self._mobile()
        group = finance.retirement_group(sex)
        if sex == "2" and birth.year >= 1982 and self.rng.random() < 0.3:
            group = "female-worker"
        district = self.rng.choice(list(DISTRICTS))
        return {
            "id": person_id,
            "id_number": id_number,
            "name": name,
            "sex": sex,
            "birth_date": birth,
            "mobile": mobile,
            "address": f"韶关市{district}{self.rng.choice(STREETS)}"
            f"{self.rng.randint(1, 300)}号{self.rng.randint(1, 30)}栋"
            f"{self.rng.randint(101, 2806)}房",
            "bank_card": self._bank_card(),
            "retirement_group": group,
        }

    def _wage(self, demo: bool) -> Decimal:
        """Pick a monthly wage; a few fall below the base floor or above the cap."""
        if demo:
            return DEMO_WAGE
        if self.rng.random() < 0.03:
            return Decimal(26000)
        wage = Decimal(self.rng.choice((1500, 2800, 4200, 5678, 6500, 9000, 12000)))
        return wage + Decimal(self.rng.randrange(0, 3000, 10))

    def _name(self) -> str:
        given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
        return self.rng.choice(SURNAMES) + given

    def _mobile(self) -> str:
        while True:
            mobile = (
                self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            )
            if mobile not in self.used_mobiles:
                self.used_mobiles.add(mobile)
                return mobile

    def _birth_date(self, youngest: int, oldest: int) -> dt.date:
        first = finance.add_months(self.today, -12 * (oldest + 1))
        last = finance.add_months(self.today, -12 * youngest)
        return first + dt.timedelta(days=self.rng.randrange((last - first).days))

    def _id_number(self, birth: dt.date, sex: str) -> str:
        return draw_id_number(self.rng, self.used_ids, birth, sex)

    def _bank_card(self) -> str:
        return draw_bank_card(self.rng)

    # Events

    def _seal_some(self) -> None:
        """Seal two accounts of each unit part-way through the window."""
        for unit in self.units:
            staff = [e for e in self.employees if e.unit is unit][-12:]
            for employee in self.rng.sample(staff, 2):
                if employee.account["opened_on"] >= self.months[18]:
                    continue
                month = self.rng.choice(self.months[20:-3])
                employee.sealed_month = month
                employee.account["status"] = codes.SEALED
                self._change(employee, "seal", month, "正常", "封存")

    def _withdraw_some(self) -> None:
        """Give about one account in twelve a rent withdrawal."""
        limit = self.policy.value("rent_commercial_monthly_limit", self.today)
        for employee in self.employees:
            if employee.sealed_month or self.rng.random() >= 1 / 12:
                continue
            day = self.rng.choice(self.months[6:-1]) + dt.timedelta(
                days=self.rng.randint(2, 25)
            )
            months = self.rng.choice((3, 6, 12))
            employee.events.append(
                Event(
                    day, codes.WITHDRAWAL, "租房提取", -limit * months, needs_cover=True
                )
            )

    def _remittances(self, employee: Employee) -> None:
        unit = employee.unit
        opened = employee.account["opened_on"]
        base = ZERO
        for month in self.months:
            if month < opened.replace(day=1):
                continue
            if employee.sealed_month and month >= employee.sealed_month:
                break
            new_base = self._base_for(employee.wage, month)
            if new_base != base and base and month.month == 7:
                self._change(employee, "base", month, str(base), str(new_base))
            base = new_base
            places = finance.deposit_places(self.policy, month)
            deposit = finance.monthly_deposit(
                base, unit["unit_ratio"], unit["person_ratio"], places
            )
            day = month.replace(day=unit["debit_day"])
            summary = f"{month:%Y年%m月}汇缴"
            employee.events.append(Event(day, codes.REMITTANCE, summary, deposit.total))
            employee.account["last_paid_month"] = f"{month:%Y-%m}"
        employee.account["base"] = base or self._base_for(employee.wage, self.today)

    def _base_for(self, wage: Decimal, day: dt.date) -> Decimal:
        """Clamp the wage, grown 3% a base year, into that year's base range."""
        start = finance.base_year_start(day)
        grown = wage * Decimal("1.03") ** (start.year - self.window_start.year)
        floor, cap = self._limits(start)
        return finance.clamp_base(grown.quantize(Decimal(1)), floor, cap).quantize(ZERO)

    def _limits(self, start: dt.date) -> tuple[Decimal, Decimal]:
        # NOTE: the policy file starts its base figures in 2024; earlier demo months
        # reuse the first published year's floor and cap.
        try:
            return finance.base_limits(self.policy, start)
        except LookupError:
            floor = self.policy.figures["base_floor"].periods[0].value
            cap = self.policy.figures["base_cap"].periods[0].value
            return floor, cap

    def _change(
        self, employee: Employee, kind: str, month: dt.date, old: str, new: str
    ) -> None:
        self.changes.append(
            {
                "id": len(self.changes) + 1,
                "unit_id": employee.unit["id"],
                "account_id": employee.account["id"],
                "change_type": kind,
                "effective_month": f"{month:%Y-%m}",
                "old_value": old,
                "new_value": new,
                "recorded_on": month,
                "application_number": None,
            }
        )

    # Booking

    def _book(self, employee: Employee) -> None:
        """Apply the events in date order, settling interest on each 30 June."""
        account = employee.account
        events = sorted(employee.events, key=lambda event: event.day)
        balance = ZERO
        index = 0
        for settlement_day in self._settlement_days():
            year_start = finance.interest_year_start(settlement_day)
            while index < len(events) and events[index].day < year_start:
                balance = self._apply(account, events[index], balance)
                index += 1
            carried = balance
            movements = []
            while index < len(events) and events[index].day <= settlement_day:
                before = balance
                balance = self._apply(account, events[index], balance)
                if balance != before:
                    movements.append((events[index].day, balance - before))
                index += 1
            if carried == 0 and not movements:
                continue
            rate = self.policy.value("interest_rate", settlement_day)
            interest = finance.settle_interest(carried, movements, rate, settlement_day)
            self.settlements.append(
                {
                    "id": len(self.settlements) + 1,
                    "account_id": account["id"],
                    "year": settlement_day.year,
                    "settled_on": settlement_day,
                    "rate": rate,
                    "balance_before": balance,
                    "interest": interest,
                    "balance_after": balance + interest,
                }
            )
            summary = f"{settlement_day.year}年度结息"
            event = Event(settlement_day, codes.INTEREST, summary, interest)
            balance = self._apply(account, event, balance)
        for event in events[index:]:
            balance = self._apply(account, event, balance)
        account["balance"] = balance

    def _settlement_days(self) -> list[dt.date]:
        days = []
        day = finance.settlement_date_for(self.window_start)
        while day < self.today:
            days.append(day)
            day = day.replace(year=day.year + 1)
        return days

    def _apply(
        self, account: dict[str, Any], event: Event, balance: Decimal
    ) -> Decimal:
        if event.needs_cover and balance + event.amount < 0:
            # Not enough in the account: an offset falls back to the bank account and a
            # withdrawal is simply not made.
            return balance
        balance += event.amount
        self.ledger.append(
            {
                "id": len(self.ledger) + 1,
                "unit_id": None,
                "account_id": account["id"],
                "entry_date": event.day,
                "sequence": 0,
                "entry_type": event.entry_type,
                "summary": event.summary,
                "debit": -event.amount if event.amount < 0 else ZERO,
                "credit": event.amount if event.amount > 0 else ZERO,
                "balance": balance,
            }
        )
        return balance

    def _book_units(self) -> None:
        """Add one unit entry per day and type, summing its employees' entries."""
        unit_of = {
            employee.account["id"]: employee.unit["id"] for employee in self.employees
        }
        totals: dict[tuple[int, dt.date, str], Decimal] = defaultdict(Decimal)
        for entry in self.ledger:
            key = (
                unit_of[entry["account_id"]],
                entry["entry_date"],
                entry["entry_type"],
            )
            totals[key] += entry["credit"] - entry["debit"]
        balances: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for (unit_id, day, entry_type), amount in sorted(totals.items()):
            if amount == 0:
                continue
            balances[unit_id] += amount
            self.ledger.append(
                {
                    "id": len(self.ledger) + 1,
                    "unit_id": unit_id,
                    "account_id": None,
                    "entry_date": day,
                    "sequence": 0,
                    "entry_type": entry_type,
                    "summary": _unit_summary(entry_type, day),
                    "debit": -amount if amount < 0 else ZERO,
                    "credit": amount if amount > 0 else ZERO,
                    "balance": balances[unit_id],
                }
            )

    # Loans and projects

    def _projects(self) -> None:
        for number, name in enumerate(PROJECT_NAMES, start=1):
            district = self.rng.choice(list(DISTRICTS))
            banks = self.rng.sample(LENDING_BANKS, self.rng.randint(1, 3))
            self.projects.append(
                {
                    "id": number,
                    "name": name,
                    "developer": f"韶关市{name[:2]}房地产开发有限公司",
                    "district": district,
                    "address": f"韶关市{district}{self.rng.choice(STREETS)}"
                    f"{self.rng.randint(1, 400)}号",
                    "banks": "、".join(banks),
                }
            )

    def _loans(self) -> None:
        """Grant 16 loans, the demo depositor's first; two short loans are settled."""
        candidates = [
            e
            for e in self.employees
            if e.sealed_month is None
            and e.person["id_number"] != DEMO_ID_NUMBER
            and e.account["opened_on"] < self.window_start
        ]
        borrowers = [self.employees[0]] + self.rng.sample(candidates, 14)
        for number, employee in enumerate(borrowers, start=1):
            settled = number == len(borrowers)
            self._loan(number, employee, settled)
        # A settled loan for the second depositor among the demo logins, so the loan
        # settlement certificate can be printed. It draws from the RNG after every
        # other draw, so the rows generated before it stay the same.
        self._loan(len(borrowers) + 1, self._demo_login_employee(), True)

    def _demo_login_employee(self) -> Employee:
        """Return the first unit's active employee `demo_identities` lists second."""
        first_unit = self.units[0]
        active = [
            employee
            for employee in self.employees
            if employee.unit is first_unit
            and employee.account["status"] == codes.ACTIVE
            and employee.person["id_number"] != DEMO_ID_NUMBER
        ]
        return max(active, key=lambda employee: employee.account["person_account"])

    def _loan(self, number: int, employee: Employee, settled: bool) -> None:
        person = employee.person
        start, home, years, amount = self._loan_terms(number, person, settled)
        months = years * 12
        method = finance.EQUAL_INSTALMENTS
        if number % 4 == 0:
            method = finance.EQUAL_PRINCIPAL
        rate = finance.loan_rate(self.policy, home, months, start)
        schedule = finance.schedule_for(method, amount, rate, months)
        offset = number in (2, 5, 9)
        balance = self._book_schedule(number, employee, start, schedule, offset)

        project = self.rng.choice(self.projects)
        self.loans.append(
            {
                "id": number,
                "contract_number": f"GJJ{start:%Y%m}{number:04d}",
                "person_id": person["id"],
                "account_id": employee.account["id"],
                "project_id": project["id"],
                "amount": amount,
                "term_months": months,
                "rate": rate,
                "method": method,
                "start_date": start,
                "balance": balance,
                "status": codes.LOAN_SETTLED if balance == 0 else codes.LOAN_REPAYING,
                "bank": self.rng.choice(project["banks"].split("、")),
                "repayment_card": person["bank_card"],
                "house_address": f"{project['address']}{self.rng.randint(1, 20)}栋"
                f"{self.rng.randint(101, 2806)}房",
                "offset_signed": offset and balance > 0,
            }
        )

    def _loan_terms(
        self, number: int, person: dict[str, Any], settled: bool
    ) -> tuple[dt.date, str, int, Decimal]:
        """Pick start date, home, term in years and amount; loan 1 is the demo one."""
        starts = [
            finance.add_months(self.today.replace(day=1), -offset)
            + dt.timedelta(days=7)
            for offset in (range(14, 20) if settled else range(3, 30))
        ]
        start = self.rng.choice([day for day in starts if self._has_rates(day)])
        home = "first" if self.rng.random() < 0.85 else "second"
        if number == 1:
            return start, "first", 20, Decimal(300000)
        if settled:
            return start, home, 1, Decimal(self.rng.randrange(30000, 60000, 1000))
        longest = finance.max_term_years(
            self.policy, person["birth_date"], person["retirement_group"], start
        )
        years = self.rng.choice(
            [y for y in (10, 15, 20, 25, 30) if y <= longest] or [5]
        )
        return start, home, years, Decimal(self.rng.randrange(150000, 500001, 10000))

    def _book_schedule(
        self,
        number: int,
        employee: Employee,
        start: dt.date,
        schedule: list[finance.Instalment],
        offset: bool,
    ) -> Decimal:
        """Store the instalments, paid up to today; return the balance still owed."""
        balance = schedule[0].principal + schedule[0].balance
        for row in schedule:
            due = finance.add_months(start, row.month)
            paid = due < self.today
            if paid:
                balance = row.balance
            if paid and offset:
                employee.events.append(
                    Event(due, codes.OFFSET, "冲还贷", -row.payment, needs_cover=True)
                )
            self.instalments.append(
                {
                    "id": len(self.instalments) + 1,
                    "loan_id": number,
                    "month": row.month,
                    "due_date": due,
                    "payment": row.payment,
                    "principal": row.principal,
                    "interest": row.interest,
                    "balance": row.balance,
                    "paid_on": due if paid else None,
                }
            )
        return balance

    def _has_rates(self, day: dt.date) -> bool:
        try:
            finance.loan_rate(self.policy, "second", 360, day)
        except LookupError:
            return False
        return True


def draw_id_number(
    rng: random.Random, used_ids: set[str], birth: dt.date, sex: str
) -> str:
    """Draw an unused ID number with a valid check digit, and add it to `used_ids`."""
    while True:
        area = rng.choice(list(DISTRICTS.values()))
        sequence = rng.randrange(1, 999)
        # The sequence's last digit is odd for men and even for women.
        if (sequence % 2 == 1) != (sex == "1"):
            sequence += 1
        partial = f"{area}{birth:%Y%m%d}{sequence:03d}"
        number = partial + ric.calc_check_digit(partial + "0")
        if not ric.is_valid(number):
            # A district created after the birth year is not valid for it.
            partial = CITY_AREA_CODE + partial[6:]
            number = partial + ric.calc_check_digit(partial + "0")
        if number not in used_ids:
            used_ids.add(number)
            return number


def draw_bank_card(rng: random.Random) -> str:
    """Draw a 19-digit bank card number with a valid Luhn check digit."""
    partial = "621700" + f"{rng.randrange(10**12):012d}"
    return partial + luhn.calc_check_digit(partial)


def _unit_summary(entry_type: str, day: dt.date) -> str:
    if entry_type == codes.REMITTANCE:
        return f"{day:%Y年%m月}汇缴"
    if entry_type == codes.INTEREST:
        return f"{day.year}年度结息"
    if entry_type == codes.OPENING_BALANCE:
        return "系统迁移期初余额"
    return f"职工{codes.LEDGER_TYPES[entry_type]}"


def _org_check(code: str) -> str:
    """Compute the GB 11714 check character of an 8-character organisation code."""
    # Digits count as themselves and letters A to Z as 10 to 35.
    total = sum(int(char, 36) * weight for char, weight in zip(code, ORG_CODE_WEIGHTS))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))
