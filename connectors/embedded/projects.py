"""Partner housing projects whose buyers may take HPF loans."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select

from connectors.base import Caller, Rejected
from connectors.embedded.context import CoreContext
from connectors.embedded.models import PartnerProject

MAX_KEYWORD_LENGTH = 50


def search(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> list:
    """List the projects whose name, developer, district or address has the keyword."""
    if caller.hall not in ("person", "unit"):
        raise Rejected("请先登录网上办事大厅")
    keyword = str(params.get("keyword") or "").strip()
    if len(keyword) > MAX_KEYWORD_LENGTH:
        raise Rejected(f"关键字最多{MAX_KEYWORD_LENGTH}个字", field="keyword")
    query = select(PartnerProject).order_by(PartnerProject.name)
    if keyword:
        # The keyword is matched literally, so % and _ in it match only themselves.
        pattern = "%" + _escape_like(keyword) + "%"
        query = query.where(
            or_(
                *(
                    column.like(pattern, escape="\\")
                    for column in (
                        PartnerProject.name,
                        PartnerProject.developer,
                        PartnerProject.district,
                        PartnerProject.address,
                    )
                )
            )
        )
    return [
        {
            "name": project.name,
            "developer": project.developer,
            "district": project.district,
            "address": project.address,
            "banks": project.banks,
        }
        for project in context.session.scalars(query)
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
