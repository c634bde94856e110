"""Identity verification (实名认证) of a depositor in the person hall."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded import inputs
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_id_number
from connectors.embedded.models import Person
from connectors.embedded.persons import person_accounts
from connectors.embedded.scope import caller_account
from engine.identifiers import mask_mobile

RECOVERY_FAILED = "姓名、手机号码与证件号码登记的信息不符"


def identity(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return the name, masked ID number and mobile, and the verification state."""
    _account, person = caller_account(context, caller)
    verified = person.verified_on
    return {
        "name": person.name,
        "id_number_masked": mask_id_number(person.id_number),
        "mobile_masked": mask_mobile(person.mobile),
        "verified_label": f"已认证（{verified.isoformat()}）" if verified else "未认证",
    }


def verify(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Mark the depositor verified.

    The person accepted the agreement and proved the registered mobile with an SMS
    code before this is called; a second verification changes nothing.
    """
    _account, person = caller_account(context, caller)
    if person.verified_on is not None:
        raise Rejected(f"您已于 {person.verified_on.isoformat()} 完成实名认证")
    person.verified_on = context.today
    return {"verified_on": context.today}


def recovery_check(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Find the account whose person has this ID number, name and registered mobile.

    Any mismatch raises the same NotFound, so the result never reveals whether an ID
    number is known.
    """
    try:
        id_number = inputs.id_number(params.get("id_number"), context.today)
        mobile = inputs.mobile(params.get("mobile"))
    except Rejected:
        raise NotFound(RECOVERY_FAILED) from None
    name = str(params.get("name") or "").strip()
    person = context.session.scalars(
        select(Person).where(Person.id_number == id_number)
    ).first()
    if person is None or person.name != name or person.mobile != mobile:
        raise NotFound(RECOVERY_FAILED)
    accounts = person_accounts(context, person)
    if not accounts:
        raise NotFound(RECOVERY_FAILED)
    return {"subject": accounts[0][0].person_account, "mobile": person.mobile}
