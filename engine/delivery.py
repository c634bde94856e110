"""Delivery of confirmed applications from the outbox to the core, with retries.

Confirming an application writes a `Delivery` row in the same transaction (the
outbox). A `DeliveryWorker` claims due rows with a conditional update that sets a
lease, so several workers on SQLite or PostgreSQL never hold the same row at once.
It calls the core with the application number as the idempotency key and records
each attempt. An unavailable or failing core is retried with exponential backoff up to a
maximum delay; a rejection ends the delivery and returns the application.

A delivery gives up and becomes dead when its retries exceed the maximum number of
attempts or the maximum age, and at once when the core reports the request itself as
invalid.
The application stays submitted and visible, and a reviewer requeues the dead delivery
with `requeue_dead`, which keeps the row and so the idempotency key.

When the core offers the operation `review.status`, the worker also requests the
decision on each delivered, undecided application every `poll_interval` seconds. This
brings back a decision whose callback to the hall was lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from connectors.base import (
    Caller,
    CoreError,
    CoreUnavailable,
    Rejected,
    UnknownOperation,
)
from connectors.http import InvalidRequest
from connectors.router import ConnectorRouter
from engine.storage.models import (
    Application,
    AuditEntry,
    Delivery,
    DeliveryAttempt,
    utcnow,
)

log = logging.getLogger(__name__)

PENDING = "pending"
DELIVERED = "delivered"
REJECTED = "rejected"
DEAD = "dead"

# The core operation that returns the review status of one application.
DECISION_OPERATION = "review.status"

# Outcomes of one attempt.
UNAVAILABLE = "unavailable"
FAILED = "failed"
INVALID = "invalid"

# Status labels of a submitted application whose delivery has not reached the core.
WAITING_LABELS = {
    PENDING: "已受理，正在转交中心",
    DEAD: "转交中心失败，中心工作人员将处理",
}

# The same states as the centre's reviewers see them on the review pages.
STAFF_WAITING_LABELS = {
    PENDING: "正在转交中心",
    DEAD: "转交中心失败",
}


def waiting_label(
    application_status: str,
    delivery_status: str | None,
    labels: dict[str, str] = WAITING_LABELS,
) -> str | None:
    """Return the status to show for a submitted application not yet delivered.

    None means the application's own status label applies: it was delivered, decided,
    or has no outbox row.
    """
    if application_status != "submitted" or delivery_status is None:
        return None
    return labels.get(delivery_status)


def undelivered(session: Session) -> dict[str, str]:
    """Return the delivery status of each submitted, not yet delivered application.

    The keys are application numbers. Delivered and rejected deliveries are left out,
    so the result stays as small as the outbox backlog.
    """
    rows = session.execute(
        select(Delivery.idempotency_key, Delivery.status)
        .join(Application, Application.id == Delivery.application_id)
        .where(Delivery.status.in_((PENDING, DEAD)), Application.status == "submitted")
    )
    return {number: status for number, status in rows}


def delivery_status(session: Session, application: Application) -> str | None:
    """Return the status of an application's delivery, or None if it has none."""
    return session.scalar(
        select(Delivery.status).where(Delivery.application_id == application.id)
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts, when to give up and how long a claim lasts.

    Times are in seconds. A delivery gives up after `max_attempts` attempts or once
    `max_age` has passed since it was created or last requeued, whichever comes first.
    With the defaults the age decides: about a day of attempts, at most `max_delay`
    apart, is a few hundred attempts.
    """

    first_delay: float = 2.0
    max_delay: float = 300.0
    # Longer than the connector's connect and read timeouts together, so that a live
    # worker always records its outcome before another worker may claim the row.
    lease: float = 120.0
    max_attempts: int = 1000
    max_age: float = 86400.0
    # Seconds between two questions about one delivered application; 0 turns it off.
    poll_interval: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_age <= 0:
            raise ValueError("max_age must be more than 0 seconds")
        if self.poll_interval < 0:
            raise ValueError("poll_interval must be 0 (off) or more seconds")

    def delay(self, attempts: int) -> dt.timedelta:
        """Return the wait after `attempts` failed attempts: doubling, capped, jittered.

        The jitter takes the wait from between half and all of the doubled delay, so
        that the applications queued while the core was down do not all return at once.
        """
        exponent = min(max(attempts - 1, 0), 30)
        ceiling = min(self.max_delay, self.first_delay * 2**exponent)
        return dt.timedelta(seconds=ceiling * random.uniform(0.5, 1.0))

    def deadline(self, delivery: Delivery) -> dt.datetime:
        """Return the time after which a failed attempt makes `delivery` dead."""
        start = delivery.requeued_at or delivery.created_at
        return start + dt.timedelta(seconds=self.max_age)

    def gives_up(self, delivery: Delivery, now: dt.datetime) -> bool:
        """Tell whether a failed attempt of `delivery`, just counted, was its last."""
        return delivery.attempts >= self.max_attempts or now >= self.deadline(delivery)


def enqueue(session: Session, application: Application, operation: str) -> Delivery:
    """Add the outbox row of a confirmed application; the caller commits both."""
    delivery = Delivery(
        application_id=application.id,
        idempotency_key=application.number or "",
        operation=operation,
        status=PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    return delivery


def worker_name() -> str:
    """Return the host and process id that name this worker in the attempts table."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Claim:
    """A delivery this worker holds until `lease_owner`'s lease runs out."""

    delivery_id: int
    attempt_id: int
    lease_owner: str


class DeliveryWorker:
    """Claim due deliveries, hand them to the core and record what happened."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        router: ConnectorRouter,
        policy: RetryPolicy | None = None,
        name: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.router = router
        self.policy = policy or RetryPolicy()
        self.name = name or worker_name()
        self.clock = clock

    # Claiming ------------------------------------------------------------------------

    def claim(self, limit: int = 20, key: str | None = None) -> list[Claim]:
        """Claim up to `limit` due deliveries, or the one of application number `key`."""
        now = self.clock()
        with self.session_factory() as session:
            candidates = select(Delivery.id).where(*self._claimable(now))
            if key is not None:
                candidates = candidates.where(Delivery.idempotency_key == key)
            candidates = candidates.order_by(Delivery.next_attempt_at, Delivery.id)
            candidates = candidates.limit(limit)
            if session.get_bind().dialect.name == "postgresql":
                # Rows another worker is claiming right now are skipped, not waited on.
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list(session.scalars(candidates))
            claims = [self._take(session, now, delivery_id) for delivery_id in ids]
            session.commit()
        return [claim for claim in claims if claim is not None]

    def _claimable(self, now: dt.datetime) -> tuple[Any, ...]:
        return (
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
        )

    def _take(
        self, session: Session, now: dt.datetime, delivery_id: int
    ) -> Claim | None:
        """Set the lease if the row is still claimable; only one worker's update matches."""
        owner = f"{self.name}:{secrets.token_hex(6)}"
        taken = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, *self._claimable(now))
            .values(
                lease_owner=owner,
                lease_expires_at=now + dt.timedelta(seconds=self.policy.lease),
                attempts=Delivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None
        attempt = DeliveryAttempt(
            delivery_id=delivery_id, worker=self.name, started_at=now
        )
        session.add(attempt)
        session.flush()
        return Claim(delivery_id, attempt.id, owner)

    # Delivering ----------------------------------------------------------------------

    def deliver(self, claim: Claim) -> str:
        """Call the core for a claimed delivery and record the outcome; return it."""
        with self.session_factory() as session:
            delivery = session.get(Delivery, claim.delivery_id)
            assert delivery is not None
            application = session.scalars(
                select(Application)
                .where(Application.id == delivery.application_id)
                .options(selectinload(Application.attachments))
            ).one()
            operation = delivery.operation
            caller = _caller_of(application)
            payload = delivery_payload(application)
        error: str | None = None
        try:
            self.router.call(operation, caller, payload)
            outcome = DELIVERED
        except Rejected as rejection:
            outcome, error = REJECTED, rejection.message
        except (InvalidRequest, UnknownOperation) as invalid:
            # The same request would fail the same way, so retrying cannot help.
            outcome = INVALID
            error = f"{type(invalid).__name__}: {invalid}"[:500]
        except Exception as failure:  # noqa: BLE001 - every other failure is retried
            unavailable = isinstance(failure, CoreUnavailable)
            outcome = UNAVAILABLE if unavailable else FAILED
            error = f"{type(failure).__name__}: {failure}"[:500]
        self._record(claim, outcome, error)
        return outcome

    def _record(self, claim: Claim, outcome: str, error: str | None) -> None:
        now = self.clock()
        with self.session_factory() as session:
            delivery = session.get(Delivery, claim.delivery_id)
            assert delivery is not None
            attempt = session.get(DeliveryAttempt, claim.attempt_id)
            assert attempt is not None
            attempt.finished_at = now
            attempt.outcome = outcome
            attempt.error = error
            values = self._outcome_values(delivery, outcome, error, now)
            status = values.get("status", PENDING)
            kept = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == claim.delivery_id,
                    Delivery.lease_owner == claim.lease_owner,
                    Delivery.status == PENDING,
                )
                .values(lease_owner=None, lease_expires_at=None, **values)
                .execution_options(synchronize_session=False)
            )
            if kept.rowcount != 1:
                # The lease ran out and another worker took the row over; its attempt
                # decides. The core saw the same idempotency key from both.
                log.warning(
                    "delivery %s: lease lost before the outcome %s was recorded",
                    delivery.idempotency_key,
                    outcome,
                )
                session.commit()
                return
            self._update_application(session, delivery, outcome, error, now)
            session.commit()
        self._log(delivery, outcome, status, error)

    def _outcome_values(
        self, delivery: Delivery, outcome: str, error: str | None, now: dt.datetime
    ) -> dict[str, Any]:
        if outcome == DELIVERED:
            return {"status": DELIVERED, "finished_at": now, "last_error": None}
        if outcome == REJECTED:
            return {"status": REJECTED, "finished_at": now, "last_error": error}
        if outcome == INVALID or self.policy.gives_up(delivery, now):
            return {"status": DEAD, "finished_at": now, "last_error": error}
        # The last attempt falls on the deadline rather than a full delay after it.
        next_attempt = min(
            now + self.policy.delay(delivery.attempts), self.policy.deadline(delivery)
        )
        return {"next_attempt_at": next_attempt, "last_error": error}

    def _update_application(
        self,
        session: Session,
        delivery: Delivery,
        outcome: str,
        error: str | None,
        now: dt.datetime,
    ) -> None:
        application = session.get(Application, delivery.application_id)
        assert application is not None
        application.delivery_attempts = delivery.attempts
        if outcome == DELIVERED:
            application.delivered_at = now
            application.delivery_error = None
        elif outcome == REJECTED:
            application.status = "returned"
            application.comment = error
            application.delivery_error = None
            session.add(
                AuditEntry(
                    hall="staff",
                    actor="core",
                    action="returned",
                    application_number=application.number,
                    detail={"delivery": "rejected"},
                )
            )
        else:
            application.delivery_error = error

    def _log(
        self, delivery: Delivery, outcome: str, status: str, error: str | None
    ) -> None:
        key = delivery.idempotency_key
        if outcome == DELIVERED:
            log.info("application %s delivered to the core", key)
        elif outcome == REJECTED:
            log.info("application %s rejected by the core", key)
        elif status == DEAD:
            log.error(
                "delivery of %s gave up after %d attempts and is dead until a "
                "reviewer requeues it: %s",
                key,
                delivery.attempts,
                error,
            )
        else:
            log.error(
                "delivery of %s failed (attempt %d), retrying later: %s",
                key,
                delivery.attempts,
                error,
            )

    # Polling for decisions ------------------------------------------------------------

    def poll_decisions(self, limit: int = 50) -> int:
        """Request the decisions on delivered, undecided applications from the core.

        Returns how many decisions were stored. `decision_checked_at`, or the
        delivery's `finished_at` before the first request, spaces the requests
        about one application by `poll_interval`, except that workers
        polling at the same moment may both request it. The decision is stored once.
        """
        if self.policy.poll_interval <= 0 or not self._core_reports_decisions():
            return 0
        from engine.decisions import APPLIED, DECISIONS, apply_decision

        now = self.clock()
        due = now - dt.timedelta(seconds=self.policy.poll_interval)
        # The first request waits one interval after the delivery, like the later ones.
        last_checked = func.coalesce(Delivery.decision_checked_at, Delivery.finished_at)
        with self.session_factory() as session:
            rows = session.execute(
                select(Delivery, Application)
                .join(Application, Application.id == Delivery.application_id)
                .where(
                    Delivery.status == DELIVERED,
                    Application.status == "submitted",
                    last_checked <= due,
                )
                .order_by(last_checked, Delivery.id)
                .limit(limit)
            ).all()
            stored = 0
            for delivery, application in rows:
                key = delivery.idempotency_key
                caller = _caller_of(application)
                try:
                    answer = self.router.call(
                        DECISION_OPERATION, caller, {"number": key}
                    )
                except Rejected as rejection:
                    log.warning("the core has no review of %s: %s", key, rejection)
                    answer = None
                except CoreError as error:
                    # The next pass polls again, so one failure ends this pass.
                    log.warning("asking the core for decisions failed: %s", error)
                    break
                delivery.decision_checked_at = now
                session.commit()
                status = answer.get("status") if isinstance(answer, dict) else None
                if status not in DECISIONS:
                    continue
                comment = answer.get("comment") or None
                outcome = apply_decision(
                    session, key, caller, status, comment, via="polling"
                )
                stored += outcome == APPLIED
        return stored

    def _core_reports_decisions(self) -> bool:
        try:
            return self.router.knows(DECISION_OPERATION)
        except CoreError as error:
            log.warning("listing the core's operations failed: %s", error)
            return False

    # Passes and loops ----------------------------------------------------------------

    def run_once(self, batch: int = 20) -> int:
        """Deliver everything due now, batch by batch; return the number of attempts."""
        done = 0
        while True:
            claims = self.claim(batch)
            if not claims:
                return done
            for claim in claims:
                self.deliver(claim)
            done += len(claims)

    def deliver_now(self, key: str) -> str | None:
        """Try the delivery of one application at once; None if another worker has it.

        NOTE: the caller waits up to the connector's connect and read timeouts when
        the core hangs, which is what the confirm page does before it redirects.
        """
        claims = self.claim(1, key=key)
        if not claims:
            return None
        return self.deliver(claims[0])

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """Deliver until `stop` is set, waiting `idle_wait` seconds when nothing is due."""
        log.info("delivery worker %s started", self.name)
        while not stop.is_set():
            try:
                done = self.run_once()
                done += self.poll_decisions()
            except Exception:  # a lost database connection is retried
                log.exception("delivery worker %s: pass failed", self.name)
                done = 0
            if not done:
                stop.wait(idle_wait)
        log.info("delivery worker %s stopped", self.name)


class BackgroundDelivery:
    """A delivery worker running in a daemon thread of this process."""

    def __init__(self, worker: DeliveryWorker, idle_wait: float = 1.0) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=worker.run,
            args=(self.stop_event, idle_wait),
            name="hall-delivery",
            daemon=True,
        )
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current delivery and wait up to `timeout` seconds for it."""
        self.stop_event.set()
        self.thread.join(timeout)


def requeue_dead(
    session_factory: sessionmaker[Session],
    actor: str,
    keys: list[str] | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> list[str]:
    """Make dead deliveries due again and return their application numbers.

    `keys` selects application numbers; None requeues every dead delivery. A requeued
    delivery keeps its row and idempotency key, so a core that did get an earlier
    attempt recognises the application. Its attempts and its retry window start again.
    """
    now = clock()
    with session_factory() as session:
        query = select(Delivery).where(Delivery.status == DEAD)
        if keys is not None:
            query = query.where(Delivery.idempotency_key.in_(keys))
        requeued = []
        for delivery in session.scalars(query.order_by(Delivery.id)):
            # Only a row still dead is changed, so two reviewers requeue it once.
            changed = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery.id, Delivery.status == DEAD)
                .values(
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    finished_at=None,
                    requeued_at=now,
                    requeued_by=actor[:40],
                )
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:
                continue
            session.add(
                AuditEntry(
                    hall="staff",
                    actor=actor[:40],
                    action="requeue_delivery",
                    application_number=delivery.idempotency_key,
                    detail={},
                )
            )
            requeued.append(delivery.idempotency_key)
        session.commit()
    for key in requeued:
        log.info("dead delivery of %s requeued by %s", key, actor)
    return requeued


def dead_deliveries(session: Session, limit: int = 500) -> list[Delivery]:
    """Return dead deliveries, the oldest first, with their applications loaded."""
    query = (
        select(Delivery)
        .where(Delivery.status == DEAD)
        .options(selectinload(Delivery.application))
        .order_by(Delivery.finished_at, Delivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def delivery_payload(application: Application) -> dict[str, Any]:
    """Build what the core receives: the form data, the number and the attachments."""
    payload = {**(application.data or {}), "application_number": application.number}
    payload["attachments"] = [
        {"kind": item.kind, "name": item.original_name, "sha256": item.sha256}
        for item in application.attachments
    ]
    return payload


def _caller_of(application: Application) -> Caller:
    return Caller(
        hall=application.hall,
        unit_account=application.unit_account,
        person_account=application.person_account,
    )
