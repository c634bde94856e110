"""Databases for the suites: SQLite files by default, PostgreSQL when a URL is given.

`HALL_TEST_DATABASE_URL` names a PostgreSQL server database the tests may connect to
(for example `postgresql+psycopg://127.0.0.1:5432/test`). Each seeded template becomes
a database of its own there, and each test gets a fresh copy made with
`CREATE DATABASE ... TEMPLATE ...`; every database made is dropped at the end.
Without the variable, templates and copies are SQLite files in pytest's temporary
folders.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

SERVER_URL_VARIABLE = "HALL_TEST_DATABASE_URL"


def server_url() -> URL | None:
    """Return the PostgreSQL URL of the test run, or None when the run uses SQLite."""
    value = os.environ.get(SERVER_URL_VARIABLE, "").strip()
    return make_url(value) if value else None


class TestDatabases:
    """Maker of seeded templates and per-test copies, on the server or as SQLite files."""

    __test__ = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server = server_url()
        self.prefix = f"hall_{os.getpid()}_{secrets.token_hex(3)}"
        self.counter = 0
        self.created: list[str] = []

    def _next_name(self, label: str) -> str:
        self.counter += 1
        return f"{self.prefix}_{label}_{self.counter}"

    def _admin(self, sql: str) -> None:
        assert self.server is not None
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()

    def _url_of(self, name: str) -> str:
        assert self.server is not None
        return self.server.set(database=name).render_as_string(hide_password=False)

    def empty(self, label: str) -> str:
        """Create an empty database and return its URL."""
        if self.server is None:
            self.counter += 1
            path = self.folder / f"{label}-{self.counter}.db"
            return f"sqlite:///{path}"
        name = self._next_name(label)
        self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self._url_of(name)

    def template(self, label: str, fill: Callable[[str], None]) -> str:
        """Create a database, fill it with `fill(url)` and return its URL."""
        url = self.empty(label)
        fill(url)
        return url

    def copy(self, template_url: str, target_folder: Path) -> str:
        """Copy a template for one test and return the copy's URL.

        Every connection to the template must be closed before copying, which
        PostgreSQL requires of a template database.
        """
        if self.server is None:
            source = Path(make_url(template_url).database or "")
            target = target_folder / source.name
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        template_name = make_url(template_url).database
        name = self._next_name("copy")
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
        self.created.append(name)
        return self._url_of(name)

    def drop(self, url: str) -> None:
        """Drop a database made here. SQLite files go with pytest's folders."""
        if self.server is None:
            return
        name = make_url(url).database
        if name in self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(reversed(self.created)):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()
