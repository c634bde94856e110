"""The core-system interface: callers, operations and the errors they raise."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# A query's parameter naming the page of its table the hall shows:
# {"number": 1-based page, "size": rows a page, "sort": column or None,
# "descending": bool}. An operation may ignore it and return every row.
PAGE_PARAM = "_page"
# An operation that pages itself returns {PAGED_ROWS: the page's rows, "total":
# rows of all pages, "page": the page served after clamping to the last one}.
PAGED_ROWS = "page_rows"


@dataclass(frozen=True)
class Caller:
    """Who is acting: the hall they are logged into and the records they may see.

    A unit handler carries `unit_account`, a depositor carries `person_account`, and a
    centre reviewer carries `staff_id`. Operations scope every read and write by these
    values and never by identifiers taken from a request.
    """

    hall: str
    unit_account: str | None = None
    person_account: str | None = None
    staff_id: str | None = None


class CoreError(Exception):
    """Base class of errors an operation raises on purpose."""


class Rejected(CoreError):
    """The core refused the input; `message` is shown to the user as it is (Chinese)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(Rejected):
    """No record matches within what the caller may see."""


class CoreUnavailable(CoreError):
    """The core did not answer or failed; the request may be retried later."""


class UnknownOperation(CoreError):
    """No connector is configured for an operation name."""


Operation = Callable[[Caller, Mapping[str, Any]], Any]


class Connector(Protocol):
    """A system the hall calls by operation name, such as `person.lookup`."""

    def operations(self) -> set[str]: ...

    def call(
        self, operation: str, caller: Caller, params: Mapping[str, Any]
    ) -> Any: ...
