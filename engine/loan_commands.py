"""The `hall loans` commands: jobs of the embedded core's loans, run by a scheduler."""

from __future__ import annotations

import datetime as dt

import click


@click.group("loans")
def loans_group() -> None:
    """Run the embedded core's loan jobs."""


@loans_group.command("collect")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Collect the instalments due up to this day (YYYY-MM-DD); default today "
    "in China, the business date.",
)
def loans_collect(day: dt.datetime | None) -> None:
    """Pay the instalments that fell due.

    Where a balance offset is signed the HPF balance pays, with an offset entry in
    the ledger; otherwise, or when the balance falls short, the bank collects it.
    Run it once a day; instalments already paid are left alone.
    """
    from connectors.embedded.context import CoreContext
    from connectors.embedded.offset import collect_due_instalments
    from engine import create_app
    from engine.clock import business_date

    hall = create_app().extensions["hall"]
    business_day = day.date() if day else business_date()
    try:
        with hall.session_factory() as session, session.begin():
            context = CoreContext(session, hall.policy, business_day)
            count = collect_due_instalments(context)
    finally:
        # Close the pooled connection now: a caller that runs this command in its
        # own process, as the tests do, would otherwise keep it open until exit.
        hall.session_factory.kw["bind"].dispose()
    click.echo(f"collected {count} instalments due by {business_day.isoformat()}")
