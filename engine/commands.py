"""The `hall db`, `hall demo` and `hall serve` commands."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.storage.models import LoginAccount

log = logging.getLogger(__name__)

# Passwords of the demo data set, printed by `hall demo seed` and `hall serve`.
DEMO_UNIT_PASSWORD = "Unit@2026"
DEMO_PERSON_PASSWORD = "Person@2026"
DEMO_STAFF_ID = "reviewer"
DEMO_STAFF_PASSWORD = "Review@2026"


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
def demo_seed() -> None:
    """Load demo units, employees, ledgers, loans and logins once; later runs do nothing."""
    app = _app()
    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        if seed_demo(session, hall.policy):
            click.echo("demo data loaded")
        else:
            click.echo("demo data already present")
        click.echo(demo_logins_text(session))


def seed_demo(session: Session, policy: Any, today: dt.date | None = None) -> bool:
    """Seed the embedded core and the demo logins unless logins exist already."""
    from connectors.embedded.demo_data import seed

    if session.scalar(select(func.count()).select_from(LoginAccount)):
        return False
    seed(session, policy, today or dt.date.today())
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
    from connectors.embedded.demo_data import demo_identities

    identities = demo_identities(session)
    lines = ["Demo logins (synthetic data):"]
    for unit in identities["units"]:
        lines.append(
            f"  unit hall   unit account {unit['unit_account']}  password {DEMO_UNIT_PASSWORD}"
            f"  (SMS code: open /dev/sms)"
        )
    for person in identities["persons"][:3]:
        lines.append(
            f"  person hall ID number {person['id_number']} or account "
            f"{person['person_account']}  password {DEMO_PERSON_PASSWORD}"
        )
    lines.append(
        f"  review     staff id {DEMO_STAFF_ID}  password {DEMO_STAFF_PASSWORD}"
    )
    return "\n".join(lines)


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port", default=5000, show_default=True, type=int, help="TCP port to listen on."
)
def serve(host: str, port: int) -> None:
    """Serve the hall with the development server (threads, one process)."""
    from werkzeug.serving import run_simple

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = _app()
    hall = app.extensions["hall"]
    with hall.session_factory() as session:
        click.echo(demo_logins_text(session))
    click.echo(f"The hall is at http://{host}:{port}/")
    run_simple(host, port, app, threaded=True, use_reloader=False)
