"""Deliver 1,000 applications through an unreliable core and lose or repeat none.

The core runs over HTTP on a random loopback port behind a fault injector that
returns 500 before or after running the operation and stalls past the hall's read
timeout before or after running it. The server is also stopped twice so connections
are refused. Two submitter processes, each storing half of the applications, deliver
each one at once as the confirm view does; at fixed points a submitter is killed
with SIGKILL between storing an application and delivering it, and restarted. Two
`hall deliver` processes retry everything else and are killed with SIGKILL in turn
while they work."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from delivery_support import ROOT, SECRET, CoreServer
from fault_submitter import REJECT_EVERY
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connectors.embedded import EmbeddedCore
from connectors.embedded.http_server import CoreHttpApp
from connectors.embedded.models import ReviewItem
from engine.policy import Policy
from engine.storage.db import make_engine, make_session_factory
from engine.storage.models import Application, Delivery, DeliveryAttempt
from testdb import TestDatabases

HERE = Path(__file__).resolve().parent
HALL = Path(sys.executable).parent / "hall"
TOTAL = 1000
# Indexes after whose storing a submitter is killed, two in each half.
PAUSE_POINTS = (150, 400, 650, 900)
# A delivery worker is killed each time this many more applications are stored.
KILL_EVERY = 200
READ_TIMEOUT = 0.3
STALL = 0.7
# Share of requests per fault; the rest pass through untouched.
FAULTS = {
    "500 before": 0.05,
    "500 after": 0.05,
    "stall before": 0.02,
    "stall after": 0.02,
}


class FaultInjector:
    """WSGI middleware that breaks a share of the core's delivery requests."""

    def __init__(self, inner: CoreHttpApp, seed: int) -> None:
        self.inner = inner
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.requests = 0

    def _draw(self) -> str | None:
        with self.lock:
            self.requests += 1
            roll = self.random.random()
        for fault, share in FAULTS.items():
            if roll < share:
                with self.lock:
                    self.injected[fault] += 1
                return fault
            roll -= share
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] != "POST":
            return self.inner(environ, start_response)
        fault = self._draw()
        if fault == "500 before":
            return self._fail(start_response)
        if fault == "stall before":
            time.sleep(STALL)
        if fault in ("500 after", "stall after"):
            # The operation runs and its response is lost on the way back.
            self.inner(environ, lambda *args: None)
            if fault == "stall after":
                time.sleep(STALL)
            return self._fail(start_response)
        return self.inner(environ, start_response)

    def _fail(self, start_response: Any) -> list[bytes]:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"injected fault"]


class Lane:
    """A run of submitter processes that stores applications `first` to `last`.

    The submitter is killed when it reports a pause point and restarted after the
    last application it stored.
    """

    def __init__(
        self, run: Run, first: int, last: int, pauses: tuple[int, ...]
    ) -> None:
        self.run = run
        self.first = first
        self.last = last
        self.pauses = list(pauses)
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.error: Exception | None = None

    def _work(self) -> None:
        try:
            self._submit_all()
        except Exception as error:  # noqa: BLE001 - the test raises it after join
            self.error = error

    def _submit_all(self) -> None:
        next_index = self.first
        last_number = ""
        while next_index <= self.last:
            pause = self.pauses.pop(0) if self.pauses else 0
            process = self.run.start_submitter(next_index, self.last, pause)
            assert process.stdout is not None
            with process.stdout:
                for line in process.stdout:
                    word, *rest = line.split()
                    if word == "stored":
                        next_index = int(rest[0]) + 1
                        last_number = rest[1]
                        self.run.stored(last_number)
                    elif word == "paused":
                        os.kill(process.pid, signal.SIGKILL)
                        self.run.killed_submitters.append(last_number)
                        break
            process.wait()
            self.run.forget(process)


class Run:
    """The processes of one run: submitters, delivery workers and their kill counts."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self.lock = threading.Lock()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.submitters: list[subprocess.Popen[str]] = []
        self.printed: list[str] = []
        self.killed_workers = 0
        self.killed_submitters: list[str] = []

    def stored(self, number: str) -> None:
        with self.lock:
            self.printed.append(number)

    def start_worker(self) -> subprocess.Popen[bytes]:
        command = [str(HALL), "deliver", "--first-delay", "0.05", "--max-delay", "0.4"]
        command += ["--lease", "2", "--idle-wait", "0.1"]
        return subprocess.Popen(
            command,
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start_submitter(
        self, first: int, last: int, pause: int
    ) -> subprocess.Popen[str]:
        command = [sys.executable, str(HERE / "fault_submitter.py")]
        command += [
            "--first",
            str(first),
            "--last",
            str(last),
            "--pause-at",
            str(pause),
        ]
        process = subprocess.Popen(
            command,
            env=self.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        with self.lock:
            self.submitters.append(process)
        return process

    def forget(self, process: subprocess.Popen[str]) -> None:
        with self.lock:
            self.submitters.remove(process)

    def kill_a_worker(self) -> None:
        index = self.killed_workers % len(self.workers)
        os.kill(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()
        self.killed_workers += 1
        self.workers[index] = self.start_worker()

    def stop_all(self) -> None:
        with self.lock:
            processes = [*self.workers, *self.submitters]
        for process in processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def databases(
    test_databases: TestDatabases, seeded_database: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """Return the URLs of the hall's and the core's copies of the seeded database.

    SQLite copies go to a memory file system when the machine has one. On a disk,
    each commit waits for an fsync (about 9 ms measured on a shared 2-core test
    machine, five commits per application), which makes the run minutes longer
    without testing more.
    """
    shm = Path("/dev/shm")
    if test_databases.server is not None or not os.access(shm, os.W_OK):
        hall_folder, core_folder = tmp_path / "hall", tmp_path / "core"
        cleanup = None
    else:
        cleanup = Path(tempfile.mkdtemp(prefix="hall-faults-", dir=shm))
        hall_folder, core_folder = cleanup / "hall", cleanup / "core"
    hall_folder.mkdir()
    core_folder.mkdir()
    urls = (
        test_databases.copy(seeded_database, hall_folder),
        test_databases.copy(seeded_database, core_folder),
    )
    yield urls
    for url in urls:
        test_databases.drop(url)
    if cleanup is not None:
        shutil.rmtree(cleanup)


def sessions_for(url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(url))


def count(session: Session, query: Any) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery()))


def test_no_application_lost_or_repeated(
    databases: tuple[str, str], tmp_path: Path
) -> None:
    started = time.monotonic()
    hall_url, core_url = databases
    hall_sessions, core_sessions = sessions_for(hall_url), sessions_for(core_url)
    policy = Policy.from_file(ROOT / "specs" / "policy.yaml")
    core_app = CoreHttpApp(EmbeddedCore(core_sessions, policy), SECRET)
    injector = FaultInjector(core_app, seed=7)
    server = CoreServer(injector)
    server.start()
    run = Run(
        {
            **os.environ,
            "HALL_DATABASE_URL": hall_url,
            "HALL_INSTANCE": str(tmp_path),
            "HALL_ROUTES": "*=http",
            "HALL_CORE_URL": server.url,
            "HALL_CORE_SECRET": SECRET,
            "HALL_CORE_CONNECT_TIMEOUT": "0.5",
            "HALL_CORE_READ_TIMEOUT": str(READ_TIMEOUT),
            "PYTHONPATH": str(HERE),
        }
    )
    try:
        elapsed = submit_and_deliver(run, server, hall_sessions, started)
    finally:
        run.stop_all()
        server.stop()
    check_outcome(run, injector, core_app, hall_sessions, core_sessions, elapsed)
    hall_sessions.kw["bind"].dispose()
    core_sessions.kw["bind"].dispose()


def submit_and_deliver(
    run: Run, server: CoreServer, hall_sessions: sessionmaker[Session], started: float
) -> float:
    """Submit everything under faults, then wait for the deliveries; return seconds."""
    run.workers = [run.start_worker(), run.start_worker()]
    half = TOTAL // 2
    lanes = [
        Lane(run, 1, half, PAUSE_POINTS[:2]),
        Lane(run, half + 1, TOTAL, PAUSE_POINTS[2:]),
    ]
    for lane in lanes:
        lane.thread.start()
    # While the lanes submit, kill a delivery worker every KILL_EVERY applications
    # and refuse connections for a second twice.
    windows = [TOTAL * 3 // 10, TOTAL * 7 // 10]
    next_kill = KILL_EVERY
    while any(lane.thread.is_alive() for lane in lanes):
        time.sleep(0.05)
        if windows and len(run.printed) >= windows[0]:
            windows.pop(0)
            server.stop()
            time.sleep(1.0)
            server.start()
        if len(run.printed) >= next_kill:
            run.kill_a_worker()
            next_kill += KILL_EVERY
    for lane in lanes:
        assert lane.error is None, lane.error
    print(f"\nsubmitted in {time.monotonic() - started:.1f} s")

    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        with hall_sessions() as session:
            pending = count(
                session, select(Delivery).where(Delivery.status == "pending")
            )
        if not pending:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def check_outcome(
    run: Run,
    injector: FaultInjector,
    core_app: CoreHttpApp,
    hall_sessions: sessionmaker[Session],
    core_sessions: sessionmaker[Session],
    elapsed: float,
) -> None:
    with hall_sessions() as session:
        applications = session.execute(
            select(Application.number, Application.status, Application.comment).where(
                Application.status != "draft"
            )
        ).all()
        deliveries = {
            delivery.idempotency_key: delivery
            for delivery in session.scalars(select(Delivery))
        }
        attempts = list(session.scalars(select(DeliveryAttempt)))
    with core_sessions() as session:
        queued = list(session.scalars(select(ReviewItem.application_number)))

    numbers = {number for number, _, _ in applications}
    delivered = {key for key, item in deliveries.items() if item.status == "delivered"}
    rejected = {key for key, item in deliveries.items() if item.status == "rejected"}
    outcomes = Counter(attempt.outcome or "cut off" for attempt in attempts)
    refused = sum(1 for a in attempts if "cannot connect" in (a.error or ""))
    timed_out = sum(1 for a in attempts if "timed out" in (a.error or ""))
    repeated_keys = [key for key, runs in core_app.executions.items() if runs > 1]
    print(
        f"\nfault injection: {len(numbers)} applications in {elapsed:.1f} s; "
        f"{len(delivered)} delivered, {len(rejected)} rejected; "
        f"{len(attempts)} attempts {dict(outcomes)}; "
        f"core requests {injector.requests}, faults {dict(injector.injected)}, "
        f"refused {refused}, timed out {timed_out}; "
        f"delivery workers killed {run.killed_workers}, submitters killed after "
        f"storing {len(run.killed_submitters)}; keys run twice by the core "
        f"{len(repeated_keys)}; review items {len(queued)} "
        f"({len(queued) - len(set(queued))} duplicates)"
    )

    # Nothing stored was lost: every number printed is stored and has its delivery.
    assert len(numbers) == TOTAL
    assert set(run.printed) == numbers
    assert set(deliveries) == numbers
    assert delivered | rejected == numbers
    # The core queued each delivered application exactly once and nothing else.
    assert len(queued) == len(set(queued))
    assert set(queued) == delivered
    assert repeated_keys == []
    assert set(core_app.executions) == numbers
    # Rejections were final and returned the application with the core's message.
    assert len(rejected) == TOTAL // REJECT_EVERY
    for number, status, comment in applications:
        if number in rejected:
            assert status == "returned"
            assert "缴存基数应在" in (comment or "")
    # The faults really happened.
    assert all(injector.injected[fault] > 0 for fault in FAULTS)
    assert refused > 0
    assert timed_out > 0
    assert run.killed_workers >= 3
    assert len(run.killed_submitters) == len(PAUSE_POINTS)
