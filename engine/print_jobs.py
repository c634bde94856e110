"""Long certificates: queued by the print request and rendered outside it.

A unit's interest statement of thousands of rows takes minutes to lay out, longer
than a request may last, so the print request queues a job and returns at once. A
thread of the same process renders the template, hands the layout to a child process
and stores the PDF with its certificate. The applicant's page requests the job's
state every few seconds and offers the download once it is ready.

The rendering thread renews its claim on the job while the layout runs. A serving
process that is ending calls stop_rendering, which gives its job back to the queue, so
the next process that serves the job's page claims it at once. A process that is
killed no longer renews its claim, so after a LEASE the job is claimed again the next
time its page is requested. A thread that finds its claim taken over drops its work.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self

from flask import Flask
from sqlalchemy import or_, update
from sqlalchemy.orm import Session, sessionmaker

from connectors import http as wire
from connectors.base import Caller
from engine import certificates
from engine.service import Service
from engine.storage.models import AuditEntry, PrintJob, utcnow
from renderers.pdf.renderer import (
    LayoutStopped,
    MissingGlyphs,
    pdf_in_child_process,
    stop_layouts,
)

log = logging.getLogger(__name__)

# A rendering job whose claim was not renewed within this time has lost its process.
LEASE = dt.timedelta(minutes=2)
# Seconds between renewals of the claim while a job renders, well inside the LEASE.
RENEWAL_SECONDS = 20.0
MAX_ATTEMPTS = 3
# A finished job's PDF is kept this long; its certificate stays verifiable after.
RETENTION = dt.timedelta(days=7)
# An estimate of a job's time a statement row. On a 2-core machine the whole job of
# 20,000 rows took 121 s while tests ran beside it (load average 2.7).
SECONDS_PER_ROW = Decimal("0.007")
# Seconds to start the layout process and store the PDF, an estimate.
START_SECONDS = 3

QUEUED, RENDERING, READY, FAILED = "queued", "rendering", "ready", "failed"
# A ready job whose PDF was deleted after RETENTION.
EXPIRED = "expired"
UNFINISHED = (QUEUED, RENDERING)

RENDER_FAILED = "证明生成失败：内容中含有证明字库未收录的字符，请联系公积金中心处理"
GAVE_UP = "证明生成失败，请稍后重新打印；如仍失败，请联系公积金中心"

# One layout at a time in each serving process, because each keeps all its rows in memory.
_layout_slot = threading.BoundedSemaphore(1)
_threads_lock = threading.Lock()
_threads: dict[int, threading.Thread] = {}
# Each job a thread of this process claimed, by id, with the claim's session factory
# and attempt. stop_rendering gives back each job still rendering in that attempt.
_claims_lock = threading.Lock()
_claims: dict[int, tuple[sessionmaker[Session], int]] = {}
# Set by stop_rendering, after which this process claims no job.
_ending = threading.Event()


def row_count(data: Mapping[str, Any]) -> int:
    """Return the length of the longest row list in a print operation's result."""
    lengths = [len(value) for value in data.values() if isinstance(value, list)]
    return max(lengths, default=0)


def time_needed(rows: int) -> str:
    """Estimate a job's time for its page: seconds in fives under a minute, else minutes."""
    seconds = int(rows * SECONDS_PER_ROW + START_SECONDS)
    if seconds < 60:
        return f"{(seconds + 4) // 5 * 5} 秒"
    return f"{(seconds + 59) // 60} 分钟"


# Tagged JSON ---------------------------------------------------------------------
# The job keeps the template's data in a JSON column. It uses the core's wire format,
# which tags money and dates, so the template reads back the same Decimal and date
# values the core returned.


def encode(value: Any) -> Any:
    """Return `value` as plain JSON data, with money and dates tagged."""
    return json.loads(wire.encode(value))


def decode(value: Any) -> Any:
    """Return the data `encode` made, with money and dates restored."""
    return wire.decode(json.dumps(value, ensure_ascii=False).encode("utf-8"))


# Queue, find and claim -------------------------------------------------------------


def queue(
    session: Session,
    service: Service,
    caller: Caller,
    context: Mapping[str, Any],
    code: str,
    address: str,
    summary: str = "",
) -> PrintJob:
    """Add a job for the print context to the session; the caller commits it.

    Queueing also deletes the PDFs of jobs that finished more than RETENTION ago, so
    stored statements of several megabytes each do not pile up.
    """
    expire_old_pdfs(session)
    job = PrintJob(
        token=secrets.token_urlsafe(32),
        code=code,
        service_id=service.id,
        hall=caller.hall,
        unit_account=caller.unit_account,
        person_account=caller.person_account,
        status=QUEUED,
        context={
            "address": address,
            "summary": summary,
            "print": encode(dict(context)),
        },
        row_count=row_count(context["data"]),
    )
    session.add(job)
    session.flush()
    return job


def expire_old_pdfs(session: Session) -> int:
    """Delete the PDFs of ready jobs finished before RETENTION, returning how many."""
    expired = session.execute(
        update(PrintJob)
        .where(
            PrintJob.status == READY,
            PrintJob.finished_at < utcnow() - RETENTION,
        )
        .values(status=EXPIRED, pdf=None)
    )
    if expired.rowcount:
        log.info(
            "deleted the PDFs of %s print jobs older than %s",
            expired.rowcount,
            RETENTION,
        )
    return expired.rowcount


def _expire_before_reading(session: Session) -> None:
    # Expiring only on queueing would leave an old PDF downloadable until another
    # job is queued.
    if expire_old_pdfs(session):
        session.commit()


def find(
    session: Session, token: str, service_id: str, caller: Caller
) -> PrintJob | None:
    """Return the caller's job of this service with this token, or None.

    A token alone is not enough, so another unit or depositor gets None even with
    the job's link. PDFs past RETENTION are deleted first, so none is served later.
    """
    _expire_before_reading(session)
    job = session.query(PrintJob).filter_by(token=token, service_id=service_id).first()
    if job is None or job.hall != caller.hall:
        return None
    if caller.hall == "unit" and job.unit_account != caller.unit_account:
        return None
    if caller.hall == "person" and job.person_account != caller.person_account:
        return None
    return job


def recent(
    session: Session, service_id: str, caller: Caller, limit: int = 5
) -> list[PrintJob]:
    """Return the caller's newest jobs of a service, for the print page to list."""
    _expire_before_reading(session)
    query = session.query(PrintJob).filter_by(service_id=service_id, hall=caller.hall)
    if caller.hall == "unit":
        query = query.filter(PrintJob.unit_account == caller.unit_account)
    else:
        query = query.filter(PrintJob.person_account == caller.person_account)
    return query.order_by(PrintJob.id.desc()).limit(limit).all()


def _claim(session: Session, job_id: int) -> bool:
    """Mark a queued job, or one whose lease ran out, as rendering by this thread.

    A job whose lease ran out in its last allowed attempt fails instead, so a layout
    that brings its process down is not started again without end.
    """
    now = utcnow()
    lease_over = (PrintJob.status == RENDERING) & (PrintJob.claimed_at < now - LEASE)
    given_up = session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id, lease_over, PrintJob.attempts >= MAX_ATTEMPTS)
        .values(status=FAILED, error=GAVE_UP, finished_at=now)
    )
    if given_up.rowcount:
        session.commit()
        log.error(
            "print job %s given up: its process stopped in its last attempt (%s)",
            job_id,
            MAX_ATTEMPTS,
        )
        return False
    claimed = session.execute(
        update(PrintJob)
        .where(
            PrintJob.id == job_id,
            or_(PrintJob.status == QUEUED, lease_over),
        )
        .values(status=RENDERING, claimed_at=now, attempts=PrintJob.attempts + 1)
    )
    session.commit()
    return claimed.rowcount == 1


def _renew(session: Session, job_id: int, attempt: int) -> bool:
    """Renew this attempt's claim on a rendering job, returning False if it was lost.

    The update also locks the job's row until the session commits, so a job being
    finished cannot be claimed by another process in between.
    """
    renewed = session.execute(
        update(PrintJob)
        .where(
            PrintJob.id == job_id,
            PrintJob.status == RENDERING,
            PrintJob.attempts == attempt,
        )
        .values(claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return renewed.rowcount == 1


class _Claim:
    """A context that renews a claim on a job every RENEWAL_SECONDS while it lasts."""

    def __init__(self, app: Flask, job_id: int, attempt: int) -> None:
        self.session_factory = app.extensions["hall"].session_factory
        self.job_id = job_id
        self.attempt = attempt
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._keep, name=f"print-job-{job_id}-claim", daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _keep(self) -> None:
        while not self._stop.wait(RENEWAL_SECONDS):
            try:
                with self.session_factory() as session:
                    renewed = _renew(session, self.job_id, self.attempt)
                    session.commit()
            except Exception:
                # A database that is briefly away leaves the claim to the next renewal.
                log.exception("print job %s: claim not renewed", self.job_id)
                continue
            if not renewed:
                return


def stalled(job: PrintJob) -> bool:
    """Tell whether an unfinished job has no thread of this process working on it."""
    if job.status not in UNFINISHED:
        return False
    with _threads_lock:
        running = job.id in _threads
    if running:
        return False
    if job.status == QUEUED:
        return True
    assert job.claimed_at is not None
    return job.claimed_at < utcnow() - LEASE


# Rendering -------------------------------------------------------------------------


def start(app: Flask, job_id: int) -> None:
    """Render the job in a thread of this process, unless one already does."""
    with _threads_lock:
        if job_id in _threads:
            return
        thread = threading.Thread(
            target=_run, args=(app, job_id), name=f"print-job-{job_id}", daemon=True
        )
        _threads[job_id] = thread
    thread.start()


def _run(app: Flask, job_id: int) -> None:
    try:
        with app.app_context(), _layout_slot:
            render(app, job_id)
    except Exception:
        log.exception("print job %s stopped", job_id)
    finally:
        # The claim goes before the thread's entry, so it is never the claim of a
        # new thread that start() begins for the same job.
        with _claims_lock:
            _claims.pop(job_id, None)
        with _threads_lock:
            _threads.pop(job_id, None)


def render(app: Flask, job_id: int) -> None:
    """Claim the job, lay it out and store the PDF with its certificate.

    Runs inside an app context. A character the font lacks fails the job at once;
    any other error leaves it for another attempt, up to MAX_ATTEMPTS.
    """
    from engine.printing import renderer

    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        # Under the lock, stop_rendering finds every claim made before it began.
        with _claims_lock:
            if _ending.is_set() or not _claim(session, job_id):
                return
            job = session.get(PrintJob, job_id)
            assert job is not None
            attempt = job.attempts
            _claims[job_id] = (hall.session_factory, attempt)
        service = hall.services.get(job.service_id)
        context = decode(job.context["print"])
        session.commit()
        try:
            with _Claim(app, job_id, attempt):
                if service is None or service.printout is None:
                    raise LookupError(f"print service {job.service_id} is gone")
                page = renderer().html(service.printout.template, context)
                content = pdf_in_child_process(page)
        except LayoutStopped as error:
            # stop_rendering gave the job back before it stopped the layouts.
            log.info("print job %s attempt %s stopped: %s", job_id, attempt, error)
            return
        except MissingGlyphs as error:
            log.error("print job %s not rendered: %s", job_id, error)
            if _still_claimed(session, job_id, attempt):
                _finish(session, job, FAILED, error=RENDER_FAILED)
            return
        except Exception:
            log.exception("print job %s attempt %s failed", job_id, attempt)
            if not _still_claimed(session, job_id, attempt):
                return
            if attempt >= MAX_ATTEMPTS:
                _finish(session, job, FAILED, error=GAVE_UP)
            else:
                job.status = QUEUED
                session.commit()
            return
        if not _still_claimed(session, job_id, attempt):
            return
        caller = Caller(
            job.hall, unit_account=job.unit_account, person_account=job.person_account
        )
        certificate = certificates.issue(
            session, service, caller, context["data"], code=job.code
        )
        job.certificate_id = certificate.id
        job.pdf = content
        session.add(
            AuditEntry(
                hall=job.hall,
                actor=(job.unit_account or job.person_account or "-"),
                action="print",
                address=job.context.get("address"),
                detail={"service": job.service_id, "certificate": certificate.id},
            )
        )
        _finish(session, job, READY)
        log.info(
            "print job %s ready: certificate %s, %s rows, %s bytes",
            job_id,
            certificate.id,
            job.row_count,
            len(content),
        )


def stop_rendering() -> None:
    """Give back the jobs this process renders and end their layouts.

    A serving process that is ending calls it. Each job goes back to the queue with
    its attempt returned, so the next process that serves its page claims it at once
    instead of after the LEASE. This process claims no job afterwards.
    """
    with _claims_lock:
        _ending.set()
        claims = list(_claims.items())
    for job_id, (session_factory, attempt) in claims:
        _give_back(session_factory, job_id, attempt)
    stop_layouts()


def _give_back(
    session_factory: sessionmaker[Session], job_id: int, attempt: int
) -> None:
    try:
        with session_factory() as session:
            given_back = session.execute(
                update(PrintJob)
                .where(
                    PrintJob.id == job_id,
                    PrintJob.status == RENDERING,
                    PrintJob.attempts == attempt,
                )
                .values(status=QUEUED, attempts=attempt - 1)
            )
            session.commit()
    except Exception:
        log.exception(
            "failed to give back print job %s, so another process claims it after %s",
            job_id,
            LEASE,
        )
        return
    if given_back.rowcount:
        log.info("print job %s given back: this process is ending", job_id)


def _still_claimed(session: Session, job_id: int, attempt: int) -> bool:
    """Check whether this attempt still has the job's claim, locking it until commit.

    Otherwise another process claimed the job after this one stopped renewing, and
    that attempt finishes it.
    """
    if _renew(session, job_id, attempt):
        return True
    session.rollback()
    log.warning(
        "print job %s: attempt %s lost its claim; another attempt finishes it",
        job_id,
        attempt,
    )
    return False


def _finish(
    session: Session, job: PrintJob, status: str, error: str | None = None
) -> None:
    job.status = status
    job.error = error
    job.finished_at = utcnow()
    session.commit()
