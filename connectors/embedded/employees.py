"""The employees of a unit: the employee list and one employee's ledger."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, literal, select

from connectors.base import PAGE_PARAM, PAGED_ROWS, Caller, NotFound, Rejected
from connectors.embedded import inputs, ledger
from connectors.embedded.codes import ACCOUNT_STATUS, ACTIVE, FROZEN, SEX
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Account, Person, Unit
from connectors.embedded.scope import caller_unit
from connectors.embedded.units import deposit_for

# The same message for an unknown ID number and another unit's employee, so a unit
# cannot learn who deposits elsewhere.
NOT_AN_EMPLOYEE = "该证件号码不是本单位职工，请核对"
ZERO = Decimal("0.00")
# The maximum rows of one page, whatever page size a request sets.
MAX_PAGE_SIZE = 200


def account_statuses(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the account statuses as choices for a form."""
    return [{"value": code, "label": label} for code, label in ACCOUNT_STATUS.items()]


def employee_list(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list | dict:
    """List every account of the caller's unit, whatever its status, with filters.

    With PAGE_PARAM the database sorts, counts and cuts the list, and the result
    is a PAGED_ROWS dict that contains only the requested page.
    """
    unit = caller_unit(context, caller)
    page_spec = params.get(PAGE_PARAM)
    if isinstance(page_spec, Mapping):
        return _employee_page(context, unit, params, page_spec)
    query = _filtered(
        select(Account, Person)
        .join(Person, Account.person_id == Person.id)
        .where(Account.unit_id == unit.id),
        params,
    )
    rows = context.session.execute(query.order_by(Account.person_account))
    return [_employee_row(context, unit, account, person) for account, person in rows]


def _employee_page(
    context: CoreContext,
    unit: Unit,
    params: Mapping[str, Any],
    page_spec: Mapping[str, Any],
) -> dict[str, Any]:
    """Count, sort and cut the list in SQL, then load the rows of one page.

    The page's account ids are found first, joining the person table only when a
    filter or the sort reads it, so the database neither joins nor carries whole
    rows for every account of a large unit.
    """
    sort = page_spec.get("sort")
    person_filters = [name for name in _PERSON_FILTERS if str(params.get(name) or "")]
    ids = select(Account.id).where(Account.unit_id == unit.id)
    if person_filters or sort in _PERSON_SORTS:
        ids = ids.join(Person, Account.person_id == Person.id)
    ids = _filtered(ids, params)

    size = _bounded_int(page_spec.get("size"), 1, MAX_PAGE_SIZE, 20)
    total = context.session.scalar(select(func.count()).select_from(ids.subquery()))
    pages = max(1, -(-total // size))
    page = _bounded_int(page_spec.get("number"), 1, pages, 1)
    ordered = ids.order_by(*_sort_order(sort, page_spec.get("descending") is True))
    page_ids = list(
        context.session.scalars(ordered.limit(size).offset((page - 1) * size))
    )

    rows = context.session.execute(
        select(Account, Person)
        .join(Person, Account.person_id == Person.id)
        .where(Account.id.in_(page_ids))
    )
    by_id = {account.id: (account, person) for account, person in rows}
    return {
        PAGED_ROWS: [
            _employee_row(context, unit, *by_id[account_id]) for account_id in page_ids
        ],
        "total": total,
        "page": page,
    }


def _bounded_int(value: Any, low: int, high: int, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return min(max(value, low), high)


def _sort_order(column: Any, descending: bool) -> list[Any]:
    """Return ORDER BY terms that sort as the hall sorts the full list.

    Rows without a value come last in both directions, labels sort by their text
    rather than their code, and ties keep the personal account order.
    """
    key = _SORT_KEYS.get(column) if isinstance(column, str) else None
    if key is None or column == "person_account":
        return [Account.person_account.desc() if descending else Account.person_account]
    terms: list[Any] = []
    if column in _NULLABLE_SORTS:
        terms.append(key.is_(None))
    terms.append(key.desc() if descending else key.asc())
    terms.append(Account.person_account)
    return terms


def _label_rank(column: Any, labels: Mapping[str, str]) -> Any:
    """Rank codes by the text of their labels, so SQL order matches the page's."""
    ranks = {code: rank for rank, code in enumerate(sorted(labels, key=labels.get))}
    return case(ranks, value=column, else_=len(ranks))


# A sealed or closed account deposits nothing, and deposits grow with the base.
_DEPOSIT_ORDER = case(
    (Account.status.in_((ACTIVE, FROZEN)), Account.base), else_=literal(0)
)
_SORT_KEYS: dict[str, Any] = {
    "person_account": Account.person_account,
    # NOTE: text sorts in the database's collation. Under C or C.UTF-8 (SQLite's
    # default, and the test server's) that is Python's code-point order. Other
    # PostgreSQL collations may order names differently from the full list.
    "name": Person.name,
    "id_number": Person.id_number,
    "sex": _label_rank(Person.sex, SEX),
    "base": Account.base,
    "unit_deposit": _DEPOSIT_ORDER,
    "person_deposit": _DEPOSIT_ORDER,
    "balance": Account.balance,
    "status_label": _label_rank(Account.status, ACCOUNT_STATUS),
    "last_paid_month": Account.last_paid_month,
    "opened_on": Account.opened_on,
}
_NULLABLE_SORTS = {"last_paid_month"}
# Sort columns and filters of the person table; the others read core_account.
_PERSON_SORTS = {"name", "id_number", "sex"}
_PERSON_FILTERS = ("name", "id_number")


def _filtered(query: Select[Any], params: Mapping[str, Any]) -> Select[Any]:
    person_account = str(params.get("person_account") or "").strip()
    if person_account:
        query = query.where(Account.person_account == person_account)
    name = str(params.get("name") or "").strip()
    if name:
        query = query.where(Person.name.contains(name, autoescape=True))
    status = str(params.get("status") or "").strip()
    if status:
        if status not in ACCOUNT_STATUS:
            raise Rejected(f"未知的账户状态：{status}", field="status")
        query = query.where(Account.status == status)
    id_number = str(params.get("id_number") or "").strip()
    if id_number:
        query = query.where(Person.id_number == id_number.upper())
    return query


def _employee_row(
    context: CoreContext, unit: Unit, account: Account, person: Person
) -> dict[str, Any]:
    # Sealed and closed accounts take no deposits.
    depositing = account.status in (ACTIVE, FROZEN)
    deposit = deposit_for(context, unit, account.base) if depositing else None
    return {
        "person_account": account.person_account,
        "name": person.name,
        "id_number": person.id_number,
        "sex": SEX.get(person.sex, ""),
        "mobile": person.mobile,
        "base": account.base,
        "unit_deposit": deposit.unit if deposit else ZERO,
        "person_deposit": deposit.person if deposit else ZERO,
        "balance": account.balance,
        "status": account.status,
        "status_label": ACCOUNT_STATUS.get(account.status, account.status),
        "opened_on": account.opened_on,
        "last_paid_month": account.last_paid_month,
    }


def employee_of_unit(
    context: CoreContext, unit: Unit, id_number: str, field: str = "id_number"
) -> tuple[Account, Person]:
    """Return the account at `unit` of the person with this ID number.

    An unknown ID number and a person who is not with the unit raise the same
    NotFound. Of several accounts at the unit, an active one comes first.
    """
    rows = context.session.execute(
        select(Account, Person)
        .join(Person, Account.person_id == Person.id)
        .where(Person.id_number == id_number, Account.unit_id == unit.id)
    ).all()
    if not rows:
        raise NotFound(NOT_AN_EMPLOYEE, field=field)
    # A person has few accounts at one unit, so they are sorted here. An ORDER BY
    # made SQLite prefer the (unit_id, status) index and read every account of
    # the unit.
    account, person = min(
        rows, key=lambda row: (row[0].status, row[0].person_account)
    )
    return account, person


def employee_ledger(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return one employee's account card and ledger for a month range."""
    unit = caller_unit(context, caller)
    id_number = inputs.id_number(params.get("id_number"), context.today)
    account, person = employee_of_unit(context, unit, id_number)
    return {
        "person_account": account.person_account,
        "name": person.name,
        "status_label": ACCOUNT_STATUS.get(account.status, account.status),
        "base": account.base,
        "balance": account.balance,
        "last_paid_month": account.last_paid_month,
        "entries": ledger.entries(context, params, account_id=account.id),
    }


def employee(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Back-fill an employee row of the caller's unit from the ID number."""
    unit = caller_unit(context, caller)
    id_number = inputs.id_number(params.get("id_number"), context.today)
    account, person = employee_of_unit(context, unit, id_number)
    return {
        "id_number": person.id_number,
        "name": person.name,
        "person_account": account.person_account,
        "balance": account.balance,
        "status": account.status,
        "status_label": ACCOUNT_STATUS.get(account.status, account.status),
        "mobile": person.mobile,
        "address": person.address,
        "bank_card": person.bank_card,
    }
