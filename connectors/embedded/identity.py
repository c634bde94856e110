"""Identity verification (实名认证) of a depositor in the person hall."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import Caller, Rejected
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_id_number
from connectors.embedded.scope import caller_account
from engine.identifiers import mask_mobile


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
