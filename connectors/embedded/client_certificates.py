"""Find the unit a verified CA certificate names by its USCC."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Unit

UNIT_NOT_FOUND = "未找到证书对应的单位，请确认本单位已在中心登记"


def unit_by_uscc(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return the account number of the active unit with this USCC."""
    if caller.hall != "unit":
        raise Rejected("单位登录信息只能由单位网厅查询")
    code = str(params.get("uscc") or "").strip().upper()
    unit = context.session.scalars(select(Unit).where(Unit.uscc == code)).first()
    if unit is None:
        raise NotFound(UNIT_NOT_FOUND)
    if unit.status != "01":
        raise Rejected("单位状态不是正常，不能登录，请联系管理中心")
    return {"unit_account": unit.unit_account, "name": unit.name}
