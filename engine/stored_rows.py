"""Pages of the rows stored in an application or a checked draft.

A base-change application can carry tens of thousands of rows, so the applicant's
review page before confirming, the application page and the staff review page show
one page of each row table at a time. The page number travels in a plain query
parameter per table, so the links work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.service import RowTable
from engine.storage.models import Application
from renderers.html import merge_args

ROWS_PER_PAGE = 100
PAGE_PARAMETER_PREFIX = "page_"
# A page number of more digits counts as invalid and shows the first page.
MAX_PAGE_DIGITS = 6


@dataclass(frozen=True)
class StoredRowPage:
    """One page of a row table's stored rows, with its position among all pages."""

    table: RowTable
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int

    @property
    def parameter(self) -> str:
        return PAGE_PARAMETER_PREFIX + self.table.name

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row, 0 when the table is empty."""
        return (self.page - 1) * ROWS_PER_PAGE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * ROWS_PER_PAGE + len(self.rows)

    def href(self, page: int, args: Mapping[str, Any], path: str = "") -> str:
        """Build the link to `page`, keeping the other query parameters of `args`.

        Page 1 drops the parameter, so the first page has the page's plain address.
        Without `path` the link is relative to the current address. A page rendered
        in response to a POST passes the path of a GET route that shows the same rows.
        """
        query = merge_args(dict(args), **{self.parameter: page if page > 1 else None})
        return f"{path}?{query}#rows-{self.table.name}"


def stored_row_page(
    application: Application, table: RowTable, args: Mapping[str, Any]
) -> StoredRowPage:
    """Pick the page of `table`'s stored rows that the query parameters `args` request.

    `application` is a submitted application or a draft whose inputs were checked.

    A missing or invalid page number shows the first page, and a number past the end
    shows the last page.
    """
    stored = (application.data or {}).get(table.name)
    rows = stored if isinstance(stored, list) else []
    pages = max(1, -(-len(rows) // ROWS_PER_PAGE))
    requested = str(args.get(PAGE_PARAMETER_PREFIX + table.name, ""))
    page = 1
    if requested.isdigit() and len(requested) <= MAX_PAGE_DIGITS:
        page = min(max(int(requested), 1), pages)
    start = (page - 1) * ROWS_PER_PAGE
    return StoredRowPage(
        table=table,
        rows=rows[start : start + ROWS_PER_PAGE],
        total=len(rows),
        page=page,
        pages=pages,
    )
