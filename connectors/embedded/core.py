"""The embedded core system: operations and the review queue over its own tables."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connectors.base import Caller, NotFound, UnknownOperation
from connectors.embedded import review
from connectors.embedded.context import CoreContext
from connectors.embedded.models import CoreBase
from connectors.embedded.operations import APPROVALS, OPERATIONS
from engine.clock import business_date
from engine.policy import Policy

log = logging.getLogger(__name__)

DecisionListener = Callable[[str, str, str | None], None]


class EmbeddedCore:
    """A reference core system the hall calls through `call`, one transaction a call.

    `on_decision(application_number, status, comment)` is called after a reviewer's
    decision is committed; status is 'approved' or 'returned'.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        policy: Policy,
        today: Callable[[], dt.date] = business_date,
    ) -> None:
        self.session_factory = session_factory
        self.policy = policy
        self.today = today
        self.on_decision: DecisionListener | None = None

    def create_tables(self) -> None:
        """Create the core's tables that do not exist yet."""
        with self.session_factory() as session:
            CoreBase.metadata.create_all(session.get_bind())

    def seed_demo(self) -> None:
        """Fill empty core tables with the demo data; a core with data is kept."""
        from connectors.embedded.demo_data import has_data, seed

        with self._context() as context:
            if not has_data(context.session):
                seed(context.session, self.policy, context.today)

    def operations(self) -> set[str]:
        return set(OPERATIONS)

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        try:
            function = OPERATIONS[operation]
        except KeyError:
            raise UnknownOperation(
                f"the embedded core has no operation {operation!r}"
            ) from None
        try:
            with self._context() as context:
                return function(context, caller, params)
        except IntegrityError:
            number = params.get("application_number")
            if not isinstance(number, str) or not self._queued(number):
                raise
        # A concurrent call queued the same application number after this call had
        # looked it up, so this call's insert broke the number's unique key. Each
        # submit looks its number up first, so a second run returns the first call's
        # result to the same caller and rejects any other caller.
        log.info(
            "application %s was queued by a concurrent %s call; running the call again",
            number,
            operation,
        )
        with self._context() as context:
            return function(context, caller, params)

    def _queued(self, application_number: str) -> bool:
        with self._context() as context:
            return review.find(context, application_number) is not None

    def pending_reviews(self) -> list[dict[str, Any]]:
        with self._context() as context:
            return review.pending_items(context)

    def review_item(self, application_number: str) -> dict[str, Any]:
        with self._context() as context:
            item = review.find(context, application_number)
            if item is None:
                raise NotFound(review.ITEM_NOT_FOUND)
            return review.describe(item)

    def applicant(
        self, unit_account: str | None, person_account: str | None
    ) -> dict[str, str]:
        """Return the unit and depositor names shown on an application's review page."""
        with self._context() as context:
            return review.applicant(context, unit_account, person_account)

    def approve(self, application_number: str, staff_id: str) -> None:
        """Apply an application's effects and mark it approved, in one transaction."""
        with self._context() as context:
            item = review.pending_item(context, application_number)
            APPROVALS[item.operation](context, item)
            review.record(item, review.APPROVED, staff_id, None)
        log.info("application %s approved by %s", application_number, staff_id)
        self._notify(application_number, review.APPROVED, None)

    def return_application(
        self, application_number: str, staff_id: str, comment: str
    ) -> None:
        """Mark an application returned to the applicant; nothing else changes."""
        with self._context() as context:
            item = review.pending_item(context, application_number)
            review.record(item, review.RETURNED, staff_id, comment)
        log.info("application %s returned by %s", application_number, staff_id)
        self._notify(application_number, review.RETURNED, comment)

    @contextmanager
    def _context(self) -> Iterator[CoreContext]:
        """Open a session, commit if the block succeeds, roll back if it raises."""
        with self.session_factory() as session, session.begin():
            yield CoreContext(session, self.policy, self.today())

    def _notify(
        self, application_number: str, status: str, comment: str | None
    ) -> None:
        if self.on_decision is not None:
            self.on_decision(application_number, status, comment)
