"""Delivery test helpers: a core HTTP server, routers to it, stored applications."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import BaseWSGIServer, make_server

from connectors.base import Caller
from connectors.http import HttpCore
from connectors.router import ConnectorRouter
from engine import submission
from engine.storage.models import Application

ROOT = Path(__file__).resolve().parents[2]
SECRET = "delivery-test-secret"
UNIT_A = "0201000001"
SERVICE = "unit-base-change"


def free_port() -> int:
    """Return a loopback TCP port above 20000 that nothing listens on now."""
    for _ in range(100):
        port = random.randint(20001, 60999)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port found above 20000")


class CoreServer:
    """A threaded HTTP server of the core that can be stopped and started again."""

    def __init__(self, app: Callable[..., Any], port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.server: BaseWSGIServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def http_router(url: str, read_timeout: float = 5.0) -> ConnectorRouter:
    core = HttpCore(url, SECRET, connect_timeout=1.0, read_timeout=read_timeout)
    return ConnectorRouter({"http": core}, {"*": "http"})


def unit_accounts(app: Flask, unit_account: str = UNIT_A) -> list[str]:
    """Return the person accounts of a unit's employees in the demo data."""
    employees = app.extensions["hall"].router.call(
        "unit.employees", Caller("unit", unit_account=unit_account), {}
    )
    return [employee["person_account"] for employee in employees]


def base_change(person_account: str, base: str) -> dict[str, Any]:
    """Return the stored data of a one-row base change, as the form stores it."""
    return {
        "effective_month": "2027-01",
        "employees": [{"person_account": person_account, "base": base}],
    }


def store_application(
    sessions: sessionmaker[Session], app: Flask, data: dict[str, Any]
) -> str:
    """Create a checked draft and confirm it through the submission functions."""
    service = app.extensions["hall"].services[SERVICE]
    caller = Caller("unit", unit_account=UNIT_A)
    with sessions() as session:
        draft = submission.open_draft(session, service, caller)
        draft.data = data
        session.commit()
        done = submission.confirm(
            session, draft, caller, "127.0.0.1", service.submit_operation
        )
        assert done is not None and done.number is not None
        return done.number


def application(sessions: sessionmaker[Session], number: str) -> Application:
    with sessions() as session:
        return session.scalars(
            select(Application).where(Application.number == number)
        ).one()
