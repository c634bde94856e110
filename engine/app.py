"""The Flask application: configuration, specs, connectors and blueprints."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, g
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker

from connectors.router import (
    ConnectorRouter,
    configured_connectors,
    routes_from_text,
)
from engine.clock import business_date
from engine.errors import register_error_pages
from engine.policy import Policy
from engine.proxies import (
    parse_public_url,
    trust_proxies,
    trusted_proxies_from_environment,
)
from engine.service import Service, build_service
from engine.storage.db import make_engine, make_session_factory
from renderers.html import register_filters

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = REPO_ROOT / "renderers" / "html" / "templates"
STATIC = REPO_ROOT / "renderers" / "html" / "static"

csrf = CSRFProtect()

# Form parts the engine adds to a service's own inputs: the CSRF token, the action, the
# draft token, the agreement box, the SMS code and a few htmx values.
ENGINE_FORM_PARTS = 20


@dataclass
class Hall:
    """What every request of the hall shares; stored as `app.extensions['hall']`."""

    policy: Policy
    services: dict[str, Service]
    router: ConnectorRouter
    session_factory: sessionmaker[Session]
    core: Any
    attachments_dir: Path
    demo: bool
    sms: Any
    # Services opened from the spec preview in development mode; never in the menu.
    previews: dict[str, Service] = field(default_factory=dict)

    def services_of(self, hall: str) -> list[Service]:
        # Public services are reached from the login pages, not from the menu.
        chosen = [
            service
            for service in self.services.values()
            if service.hall == hall and not service.public
        ]
        return sorted(chosen, key=lambda service: (service.order, service.id))

    def figures(self, day: dt.date | None = None) -> dict[str, Any]:
        return self.policy.values_at(day or business_date())


def default_config(instance: Path) -> dict[str, Any]:
    return {
        "DATABASE_URL": os.environ.get(
            "HALL_DATABASE_URL", f"sqlite:///{instance / 'hall.db'}"
        ),
        "SPECS_DIR": Path(os.environ.get("HALL_SPECS_DIR", REPO_ROOT / "specs")),
        "ATTACHMENTS_DIR": Path(
            os.environ.get("HALL_ATTACHMENTS_DIR", instance / "attachments")
        ),
        "DEMO_MODE": os.environ.get("HALL_DEMO", "1") == "1",
        "DEVELOPMENT": os.environ.get("HALL_DEV", "0") == "1",
        "HALL_ROUTES": routes_from_text(
            os.environ.get(
                "HALL_ROUTES", "*=embedded,applications.*=hall,login.*=accounts"
            )
        ),
        "HALL_CORE_URL": os.environ.get("HALL_CORE_URL", ""),
        "HALL_CORE_SECRET": os.environ.get("HALL_CORE_SECRET", ""),
        "HALL_CORE_CONNECT_TIMEOUT": os.environ.get("HALL_CORE_CONNECT_TIMEOUT", "3"),
        "HALL_CORE_READ_TIMEOUT": os.environ.get("HALL_CORE_READ_TIMEOUT", "10"),
        # CA certificate login of units: PEM files of the CA's certificates and of
        # its revocation lists, and the addresses of the TLS proxies that pass the
        # client certificate in CA_CERT_HEADER. Unset, the login is off.
        "CA_CERTIFICATES": os.environ.get("HALL_CA_CERTIFICATES", ""),
        "CA_CRLS": os.environ.get("HALL_CA_CRLS", ""),
        "CA_TRUSTED_PROXIES": os.environ.get("HALL_CA_TRUSTED_PROXIES", ""),
        "CA_CERT_HEADER": os.environ.get("HALL_CA_CERT_HEADER", "X-Client-Cert"),
        # The number of reverse proxies in front of the hall (see engine.proxies).
        "TRUSTED_PROXIES": trusted_proxies_from_environment(),
        # The address under which the public opens the hall, for printed links.
        "PUBLIC_URL": os.environ.get("HALL_PUBLIC_URL", ""),
        # Certificates with more rows than this are rendered as print jobs; 300 rows
        # take about 1.5 s to lay out on a 2-core machine.
        "PRINT_JOB_ROWS": int(os.environ.get("HALL_PRINT_JOB_ROWS", "300")),
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(minutes=30),
        "SESSION_REFRESH_EACH_REQUEST": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        # A paged row table posts one page of rows (up to 500, each with its inputs)
        # plus the changed rows of other pages; the Flask default of 1,000 parts
        # rejects a page of 200 rows.
        "MAX_FORM_PARTS": 20_000,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": False,
    }


def instance_path(overrides: dict[str, Any] | None = None) -> Path:
    """Return the folder of the SQLite file, attachments and secret key."""
    configured = (overrides or {}).get("INSTANCE_PATH") or os.environ.get(
        "HALL_INSTANCE"
    )
    return Path(configured or REPO_ROOT / "instance")


def build_app(overrides: dict[str, Any] | None = None) -> Flask:
    instance = instance_path(overrides)
    app = Flask(
        "engine",
        instance_path=str(instance),
        template_folder=str(TEMPLATES),
        static_folder=str(STATIC),
        static_url_path="/static",
    )
    app.config.update(default_config(instance))
    app.config.update(overrides or {})
    trust_proxies(app)
    app.config["PUBLIC_URL"] = parse_public_url(app.config.get("PUBLIC_URL"))
    https = app.config["PUBLIC_URL"].startswith("https://")
    if https and "SESSION_COOKIE_SECURE" not in (overrides or {}):
        # The public opens the hall over HTTPS, so the session cookie never travels
        # over plain HTTP.
        app.config["SESSION_COOKIE_SECURE"] = True
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        secret = os.environ.get("HALL_SECRET_KEY") or _secret(instance)
        app.config["SECRET_KEY"] = secret

    hall = _build_hall(app)
    app.extensions["hall"] = hall
    if "MAX_FORM_PARTS" not in (overrides or {}):
        parts = [service.max_form_parts for service in hall.services.values()]
        # Werkzeug's default of 1000 parts is less than a full table of rows posts.
        app.config["MAX_FORM_PARTS"] = max([1000, *parts]) + ENGINE_FORM_PARTS
    csrf.init_app(app)
    register_error_pages(app)
    register_filters(app)
    _register_page_globals(app)
    _register_blueprints(app)
    if app.config["DEVELOPMENT"]:
        from engine import development

        development.init_app(app)

    @app.teardown_appcontext
    def close_session(error: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    return app


def _secret(instance: Path) -> str:
    """Keep one random secret per instance folder, so sessions survive a restart."""
    path = instance / "secret_key"
    try:
        # Exclusive creation: of several workers starting at once, one writes the key
        # and the others read it, so all of them sign sessions alike.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(secrets.token_hex(32))
    for _ in range(50):
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
        # Another worker created the file and is still writing the key.
        time.sleep(0.02)
    raise RuntimeError(f"the secret key file {path} is empty; delete it and restart")


def _build_hall(app: Flask) -> Hall:
    from connectors.embedded import EmbeddedCore
    from connectors.sms import DemoSmsGateway
    from engine.accounts import LoginAccounts
    from engine.records import ApplicationRecords
    from engine.spec_check import SpecCheckFailed, load_specs, spec_paths

    specs_dir = Path(app.config["SPECS_DIR"])
    policy = Policy.from_file(specs_dir / "policy.yaml")
    engine = make_engine(app.config["DATABASE_URL"])
    session_factory = make_session_factory(engine)
    core = EmbeddedCore(session_factory, policy)
    records = ApplicationRecords(session_factory)
    accounts = LoginAccounts(session_factory)
    connectors = {"embedded": core, "hall": records, "accounts": accounts}
    connectors.update(configured_connectors(app.config))
    router = ConnectorRouter(connectors, app.config["HALL_ROUTES"])
    known = core.operations() | records.operations() | accounts.operations()
    specs, errors = load_specs(
        spec_paths(specs_dir), policy_names=policy.names(), known_operations=known
    )
    # In development mode a broken spec shows its errors on its own page instead.
    if errors and not app.config["DEVELOPMENT"]:
        raise SpecCheckFailed(errors)
    services = {spec_id: build_service(spec) for spec_id, spec in specs.items()}
    records.titles = {spec_id: service.title for spec_id, service in services.items()}
    attachments_dir = Path(app.config["ATTACHMENTS_DIR"])
    attachments_dir.mkdir(parents=True, exist_ok=True)
    hall = Hall(
        policy,
        services,
        router,
        session_factory,
        core,
        attachments_dir,
        bool(app.config["DEMO_MODE"]),
        DemoSmsGateway(session_factory),
    )
    from engine.submission import record_decision

    core.on_decision = lambda number, status, comment: record_decision(
        session_factory, number, status, comment
    )
    return hall


def _register_blueprints(app: Flask) -> None:
    from engine.auth import auth
    from engine.ca_login import ca_login
    from engine.core_callbacks import callbacks
    from engine.dead_letters import dead_letters
    from engine.import_pages import row_imports
    from engine.printing import printing
    from engine.public import public
    from engine.staff import staff
    from engine.views import halls

    app.register_blueprint(auth)
    app.register_blueprint(ca_login)
    app.register_blueprint(public)
    app.register_blueprint(halls)
    app.register_blueprint(row_imports)
    app.register_blueprint(staff)
    app.register_blueprint(printing)
    app.register_blueprint(dead_letters)
    # The core signs its callbacks with the shared secret instead of a CSRF token.
    csrf.exempt(callbacks)
    app.register_blueprint(callbacks)


def _register_page_globals(app: Flask) -> None:
    from engine.pages import (
        carried_inputs,
        error_summary,
        row_cells,
        row_page,
        top_cells,
    )
    from engine.stored_rows import stored_row_page

    app.jinja_env.globals.update(
        top_cells=top_cells,
        row_cells=row_cells,
        error_summary=error_summary,
        row_page=row_page,
        carried_inputs=carried_inputs,
        stored_row_page=stored_row_page,
    )


def current_hall() -> Hall:
    from flask import current_app

    return current_app.extensions["hall"]


def db() -> Session:
    """Return the request's session of the hall database, opened on first use."""
    if "db" not in g:
        g.db = current_hall().session_factory()
    return g.db
