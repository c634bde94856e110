"""The `hall db`, `hall demo`, `hall serve` and `hall deliver` commands."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import business_date
from engine.storage.models import LoginAccount

log = logging.getLogger(__name__)

# Passwords of the demo data set, printed by `hall demo seed` and `hall serve`.
DEMO_UNIT_PASSWORD = "Unit@2026"
DEMO_PERSON_PASSWORD = "Person@2026"
DEMO_STAFF_ID = "reviewer"
DEMO_STAFF_PASSWORD = "Review@2026"
# Person logins printed: the demo depositor with a loan, then one of the first unit
# with a settled loan, then one of the second unit.
DEMO_PERSON_LOGINS_SHOWN = 3


def _app() -> Any:
    from engine import create_app

    return create_app()


@click.group("db")
def db_group() -> None:
    """Create or migrate the database."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the configured database to the newest schema."""
    from engine.app import default_config, instance_path
    from engine.migrate import upgrade

    instance = instance_path()
    instance.mkdir(parents=True, exist_ok=True)
    upgrade(default_config(instance)["DATABASE_URL"])
    click.echo("database is at the newest schema")


@click.group("demo")
def demo_group() -> None:
    """Load the synthetic demo data set."""


@demo_group.command("seed")
@click.option(
    "--scale",
    type=click.Choice(["small", "large"]),
    default="small",
    show_default=True,
    help="small: the demo units only. large: also one unit of --employees "
    "employees with --entries-per-employee ledger entries each.",
)
@click.option(
    "--employees",
    type=click.IntRange(min=1),
    default=None,
    help="Employees of the large unit (default 20000); implies --scale large.",
)
@click.option(
    "--entries-per-employee",
    type=click.IntRange(min=1),
    default=None,
    help="Ledger entries of each large-unit account (default 100); implies "
    "--scale large.",
)
def demo_seed(
    scale: str, employees: int | None, entries_per_employee: int | None
) -> None:
    """Load demo units, employees, ledgers, loans and logins once; later runs do nothing."""
    app = _app()
    hall = app.extensions["hall"]
    large = scale == "large" or employees is not None or entries_per_employee
    try:
        with hall.session_factory() as session:
            if seed_demo(session, hall.policy):
                click.echo("demo data loaded")
            else:
                click.echo("demo data already present")
            if large:
                _seed_large_unit(session, hall.policy, employees, entries_per_employee)
            click.echo(demo_logins_text(session))
    finally:
        hall.session_factory.kw["bind"].dispose()


def _seed_large_unit(
    session: Session,
    policy: Any,
    employees: int | None,
    entries_per_employee: int | None,
) -> None:
    import time

    from connectors.embedded import demo_large

    started = time.perf_counter()
    result = seed_large_unit(
        session,
        policy,
        employees=employees,
        entries_per_employee=entries_per_employee,
    )
    if result is None:
        click.echo(f"large unit {demo_large.LARGE_UNIT_ACCOUNT} already present")
        return
    seconds = time.perf_counter() - started
    click.echo(
        f"large unit {result.unit_account} loaded: {result.employees} employees, "
        f"{result.ledger_entries} ledger entries in {seconds:.1f} s"
    )


def seed_large_unit(
    session: Session,
    policy: Any,
    today: dt.date | None = None,
    employees: int | None = None,
    entries_per_employee: int | None = None,
) -> Any:
    """Seed the large unit and its unit login, unless the unit exists already.

    Returns what the seed wrote, or None when the unit was present.
    """
    from connectors.embedded import demo_large
    from engine.auth import hash_password

    result = demo_large.seed_large(
        session,
        policy,
        today or business_date(),
        employees=employees or demo_large.FULL_EMPLOYEES,
        entries_per_employee=entries_per_employee
        or demo_large.FULL_ENTRIES_PER_EMPLOYEE,
    )
    if result is None:
        return None
    session.add(
        LoginAccount(
            hall="unit",
            subject=result.unit_account,
            password_hash=hash_password(DEMO_UNIT_PASSWORD),
        )
    )
    session.commit()
    return result


def seed_demo(session: Session, policy: Any, today: dt.date | None = None) -> bool:
    """Seed the embedded core and the demo logins unless logins exist already."""
    from connectors.embedded.demo_data import seed

    if session.scalar(select(func.count()).select_from(LoginAccount)):
        return False
    seed(session, policy, today or business_date())
    session.commit()
    create_demo_logins(session)
    return True


def create_demo_logins(session: Session) -> None:
    from connectors.embedded.demo_data import demo_identities
    from engine.auth import hash_password

    identities = demo_identities(session)
    unit_hash = hash_password(DEMO_UNIT_PASSWORD)
    person_hash = hash_password(DEMO_PERSON_PASSWORD)
    for unit in identities["units"]:
        session.add(
            LoginAccount(
                hall="unit", subject=unit["unit_account"], password_hash=unit_hash
            )
        )
    for person in identities["persons"]:
        session.add(
            LoginAccount(
                hall="person",
                subject=person["person_account"],
                password_hash=person_hash,
            )
        )
    session.add(
        LoginAccount(
            hall="staff",
            subject=DEMO_STAFF_ID,
            password_hash=hash_password(DEMO_STAFF_PASSWORD),
        )
    )
    session.commit()


def demo_logins_text(session: Session) -> str:
    """Return the demo logins to print: every unit login and the first person logins.

    Each line is a login account that exists, joined to its unit or person, so it
    works as printed until its password is changed. Person logins are listed in
    creation order: the ones `create_demo_logins` seeded come first, and logins
    created later by a password reset come after them.
    """
    from connectors.embedded.models import Account, Person, Unit

    unit_accounts = session.scalars(
        select(LoginAccount.subject)
        .join(Unit, Unit.unit_account == LoginAccount.subject)
        .where(LoginAccount.hall == "unit")
        .order_by(LoginAccount.subject)
    ).all()
    person_logins = session.execute(
        select(Person.id_number, Account.person_account)
        .select_from(LoginAccount)
        .join(Account, Account.person_account == LoginAccount.subject)
        .join(Person, Person.id == Account.person_id)
        .where(LoginAccount.hall == "person")
        .order_by(LoginAccount.id)
        .limit(DEMO_PERSON_LOGINS_SHOWN)
    ).all()
    lines = ["Demo logins (synthetic data):"]
    for unit_account in unit_accounts:
        lines.append(
            f"  unit hall   unit account {unit_account}  password {DEMO_UNIT_PASSWORD}"
            f"  (SMS code: open /dev/sms)"
        )
    for id_number, person_account in person_logins:
        lines.append(
            f"  person hall ID number {id_number} or account "
            f"{person_account}  password {DEMO_PERSON_PASSWORD}"
        )
    lines.append(
        f"  review     staff id {DEMO_STAFF_ID}  password {DEMO_STAFF_PASSWORD}"
    )
    return "\n".join(lines)


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port", default=5000, show_default=True, type=int, help="TCP port to listen on."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Run gunicorn with this many worker processes instead of the "
    "development server.",
)
@click.option(
    "--delivery/--no-delivery",
    default=True,
    show_default=True,
    help="Also deliver confirmed applications to the core from a background thread "
    "of each process; turn off when separate `hall deliver` processes run.",
)
def serve(host: str, port: int, workers: int | None, delivery: bool) -> None:
    """Serve the hall: the development server (threads, one process) or gunicorn."""
    _log_to_stderr()
    app = _app()
    hall = app.extensions["hall"]
    log.info("hall started with %d services", len(hall.services))
    with hall.session_factory() as session:
        click.echo(demo_logins_text(session))
    click.echo(f"The hall is at http://{host}:{port}/")
    if workers is not None:
        from engine.workers import run_gunicorn

        hall.session_factory.kw["bind"].dispose()
        run_gunicorn(host, port, workers, delivery)
        return

    import signal

    from werkzeug.serving import run_simple

    from engine import print_jobs

    if delivery:
        from engine.delivery import BackgroundDelivery, DeliveryWorker

        BackgroundDelivery(DeliveryWorker(hall.session_factory, hall.router))
    # SIGTERM, as a service manager sends it, stops the server as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        print_jobs.stop_rendering()


@click.command("deliver")
@click.option("--once", is_flag=True, help="Make one pass over the due deliveries.")
@click.option(
    "--first-delay",
    default=2.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to wait after the first failed attempt; doubled after each one.",
)
@click.option(
    "--max-delay",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Maximum seconds between two attempts of one delivery.",
)
@click.option(
    "--lease",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds a claimed delivery stays with this worker before another may "
    "take it over; keep it above the core's connect and read timeouts together.",
)
@click.option(
    "--idle-wait",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Seconds to sleep when nothing is due.",
)
@click.option(
    "--max-attempts",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Attempts after which a delivery gives up and becomes dead.",
)
@click.option(
    "--max-age",
    default=86400.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds after its creation or last requeue at which a failing delivery "
    "gives up and becomes dead.",
)
@click.option(
    "--poll-interval",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds between two requests to the core for the decision on one "
    "delivered, undecided application; 0 turns polling off. Only a core with the "
    "operation review.status is polled.",
)
@click.option(
    "--requeue-dead",
    is_flag=True,
    help="Make the dead deliveries due again, with their idempotency keys, and exit.",
)
@click.option(
    "--application",
    "numbers",
    multiple=True,
    metavar="NUMBER",
    help="With --requeue-dead: requeue only this application number; repeatable.",
)
def deliver(
    once: bool,
    first_delay: float,
    max_delay: float,
    lease: float,
    idle_wait: float,
    max_attempts: int,
    max_age: float,
    poll_interval: float,
    requeue_dead: bool,
    numbers: tuple[str, ...],
) -> None:
    """Deliver confirmed applications to the core, retrying until the core responds.

    Several `hall deliver` processes may run at once, on one or several machines;
    each delivery is claimed by one of them at a time. A delivery that still fails
    after --max-attempts or --max-age, or that the core rejects as invalid, becomes
    dead. --requeue-dead, or the reviewers' page /staff/deliveries, makes it due again.
    SIGTERM or Ctrl-C stops the loop after the current delivery.
    """
    import signal
    import threading

    from engine import delivery
    from engine.delivery import DeliveryWorker, RetryPolicy

    if numbers and not requeue_dead:
        raise click.UsageError("--application only works with --requeue-dead")
    _log_to_stderr()
    hall = _app().extensions["hall"]
    if requeue_dead:
        try:
            keys = list(numbers) or None
            requeued = delivery.requeue_dead(hall.session_factory, "cli", keys)
        finally:
            hall.session_factory.kw["bind"].dispose()
        click.echo(f"{len(requeued)} dead deliveries requeued")
        for number in requeued:
            click.echo(number)
        return
    policy = RetryPolicy(
        first_delay=first_delay,
        max_delay=max_delay,
        lease=lease,
        max_attempts=max_attempts,
        max_age=max_age,
        poll_interval=poll_interval,
    )
    worker = DeliveryWorker(hall.session_factory, hall.router, policy)
    try:
        if once:
            click.echo(f"{worker.run_once()} delivery attempts made")
            click.echo(f"{worker.poll_decisions()} decisions received from the core")
            return
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        worker.run(stop, idle_wait)
    finally:
        hall.session_factory.kw["bind"].dispose()
