"""A hand-written Flask page of 公积金贷款试算, the benchmark's baseline for the engine.

It serves /person/person-loan-trial as the engine does, with the same fields, checks,
Chinese messages and HTML, but written for this one service: a fixed marshmallow
schema, a fixed template and no spec. It shares with the hall what a page of the same
site would share. It reads the login accounts through the hall's SQLAlchemy model,
with one database session a request as the hall does, and calls the embedded core.
It accepts the session cookie signed with the hall's secret key, checks CSRF tokens
with Flask-WTF and formats values with the HTML helpers of `renderers.html`. Start it with `create_app()`, e.g. under gunicorn.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, g, redirect, render_template, request, session
from flask_wtf import CSRFProtect
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.baseline.schema import (
    HOMES,
    METHODS,
    TRUE_WORDS,
    LoanTrialSchema,
    quantize,
)
from connectors.base import Caller, CoreError, NotFound, Rejected
from connectors.embedded import EmbeddedCore
from engine.policy import Policy
from engine.storage.db import make_engine, make_session_factory
from engine.storage.models import LoginAccount
from renderers.html import display
from renderers.html.chart import line_chart

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_SESSION_AGE = dt.timedelta(hours=8)

# The inputs a person types, in page order. Balance and age come from the core.
EDITABLE = (
    "house_price",
    "home",
    "income",
    "co_borrower",
    "co_income",
    "existing_debt",
    "term_years",
    "method",
)
ORDER = ("balance", "age", *EDITABLE)
DEFAULTS = {
    "house_price": "",
    "home": "first",
    "income": "",
    "co_borrower": "",
    "co_income": "",
    "existing_debt": "0",
    "term_years": "20",
    "method": "equal-instalments",
}
CARD = (
    ("loanable_amount", "可贷额度（元）", "money"),
    ("binding_limit_label", "额度决定因素", "text"),
    ("limit_maximum", "最高额度（元）", "money"),
    ("limit_balance", "按账户余额倍数（元）", "money"),
    ("limit_price", "按房价扣除首付（元）", "money"),
    ("limit_capacity", "按还款能力（元）", "money"),
    ("rate", "年利率", "percent"),
    ("months", "还款月数", "number"),
    ("max_term_years", "最长可贷年限", "number"),
    ("first_payment", "首月还款额（元）", "money"),
    ("total_interest", "利息总额（元）", "money"),
    ("total_payment", "还款总额（元）", "money"),
)
COLUMNS = (
    ("month", "期数", "number"),
    ("payment", "月还款额（元）", "money"),
    ("principal", "本金（元）", "money"),
    ("interest", "利息（元）", "money"),
    ("balance", "剩余本金（元）", "money"),
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the page's app from the hall's environment variables and `config`."""
    app = Flask(__name__)
    instance = Path(os.environ.get("HALL_INSTANCE", REPO_ROOT / "instance"))
    app.config.update(
        DATABASE_URL=os.environ.get(
            "HALL_DATABASE_URL", f"sqlite:///{instance / 'hall.db'}"
        ),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=30),
        SESSION_REFRESH_EACH_REQUEST=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
    )
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        secret = os.environ.get("HALL_SECRET_KEY")
        app.config["SECRET_KEY"] = secret or _stored_secret(instance)
    sessions = make_session_factory(make_engine(app.config["DATABASE_URL"]))
    policy = Policy.from_file(REPO_ROOT / "specs" / "policy.yaml")
    core = EmbeddedCore(sessions, policy)
    app.extensions["database"] = sessions
    CSRFProtect(app)
    app.jinja_env.filters["display"] = display
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not _session_valid(sessions):
                session.clear()
                if request.headers.get("HX-Request"):
                    return "", 401, {"HX-Redirect": "/person/login"}
                return redirect("/person/login?" + urlencode({"next": request.path}))
            return view(*args, **kwargs)

        return wrapped

    @app.teardown_appcontext
    def close_database(error: BaseException | None) -> None:
        database = g.pop("database", None)
        if database is not None:
            database.close()

    @app.route("/person/person-loan-trial", methods=["GET", "POST"])
    @login_required
    def loan_trial() -> Any:
        caller = Caller("person", person_account=session.get("person_account"))
        return _loan_trial_page(core, policy, caller)

    return app


def _stored_secret(instance: Path) -> str:
    """Read the secret key the hall keeps in its instance folder."""
    return (instance / "secret_key").read_text(encoding="utf-8").strip()


def _session_valid(sessions: Callable[[], Session]) -> bool:
    """Apply the hall's session rules: person hall, under 8 hours, current epoch."""
    if session.get("hall") != "person":
        return False
    # The hall stores login_at as a naive UTC time read as local time, and so does
    # this check, so the two agree on any machine time zone.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).timestamp()
    if now - session.get("login_at", 0) > MAX_SESSION_AGE.total_seconds():
        return False
    if "database" not in g:
        g.database = sessions()
    account = g.database.scalars(
        select(LoginAccount).where(
            LoginAccount.hall == "person",
            LoginAccount.subject == session.get("subject", ""),
        )
    ).first()
    return account is not None and account.session_epoch == session.get("epoch")


def _loan_trial_page(core: EmbeddedCore, policy: Policy, caller: Caller) -> Any:
    errors: dict[str, str] = {}
    form_errors: list[str] = []
    if request.method == "POST":
        raw = {name: str(request.form.get(name, "")) for name in EDITABLE}
    else:
        raw = dict(DEFAULTS)
    try:
        profile = core.call("person.profile", caller, {})
    except (Rejected, NotFound) as error:
        errors[error.field or "_form"] = error.message
        profile = {}
    raw["balance"] = _money_text(profile.get("balance"))
    raw["age"] = "" if profile.get("age") is None else str(profile["age"])
    co_borrower = raw["co_borrower"].strip().lower() in TRUE_WORDS
    if not co_borrower:
        raw["co_income"] = ""

    result = chart = None
    if request.method == "POST":
        longest = policy.value("loan_max_term_years")
        payload = {
            name: raw[name]
            for name in EDITABLE
            if raw[name].strip() and (co_borrower or name != "co_income")
        }
        try:
            data = LoanTrialSchema(longest, co_borrower).load(payload)
        except ValidationError as error:
            for name, messages in error.normalized_messages().items():
                errors[name] = messages[0]
        if not errors:
            result = _run_trial(core, caller, profile, data, errors, form_errors)
        if result is not None:
            chart = line_chart(
                [(row["month"], row["principal"]) for row in result["schedule"]],
                "每月本金（元）",
                [("每月利息（元）", [row["interest"] for row in result["schedule"]])],
            )

    summary = [(None, message) for message in form_errors]
    summary += [(f"f-{name}", errors[name]) for name in ORDER if name in errors]
    if "_form" in errors:
        summary.append((None, errors["_form"]))
    body = render_template(
        "loan_trial.html",
        raw=raw,
        errors=errors,
        summary=summary,
        co_income_hidden=not co_borrower,
        homes=HOMES,
        methods=METHODS,
        result=result,
        chart=chart,
        card=CARD,
        columns=COLUMNS,
    )
    return body, 400 if summary else 200


def _run_trial(
    core: EmbeddedCore,
    caller: Caller,
    profile: dict[str, Any],
    data: dict[str, Any],
    errors: dict[str, str],
    form_errors: list[str],
) -> dict[str, Any] | None:
    """Ask the core for the trial, placing a rejection at its field or above the form."""
    params = {
        "balance": profile.get("balance"),
        "age": profile.get("age"),
        "co_borrower": bool(data.get("co_borrower")),
        **{name: data.get(name) for name in EDITABLE if name != "co_borrower"},
    }
    if not data.get("co_borrower"):
        params.pop("co_income")
    try:
        return core.call("loan.trial", caller, params)
    except (Rejected, NotFound) as error:
        errors[error.field or "_form"] = error.message
        if error.field is None:
            form_errors.append(error.message)
    except CoreError as error:
        log.error("loan trial failed: %s", error)
        form_errors.append("核心系统暂时无法查询，请稍后再试")
    return None


def _money_text(value: Decimal | None) -> str:
    return "" if value is None else str(quantize(value, 2))
