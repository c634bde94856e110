"""Logins of the unit hall, the person hall and the centre's reviewers; SMS codes."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from connectors.base import Caller, NotFound
from engine.app import current_hall, db
from engine.fields import has_hidden_characters
from engine.identifiers import mask_mobile
from engine.sms import SmsThrottled, check_code, issue_code
from engine.storage.models import (
    AuditEntry,
    LoginAccount,
    LoginAttempt,
    SmsMessage,
    utcnow,
)

log = logging.getLogger(__name__)

auth = Blueprint("auth", __name__)

THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
# An absolute limit on a session, however active it is.
MAX_SESSION_AGE = dt.timedelta(hours=8)
LOGIN_FAILED = "账号或密码错误"
# The length of LoginAccount.subject, which login attempts record.
MAX_STAFF_ID_LENGTH = 40


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def set_password(hall: str, subject: str, password: str) -> None:
    """Store a new password hash and end every session of the account."""
    account = (
        db()
        .scalars(
            select(LoginAccount).where(
                LoginAccount.hall == hall, LoginAccount.subject == subject
            )
        )
        .first()
    )
    if account is None:
        account = LoginAccount(hall=hall, subject=subject, password_hash="")
        db().add(account)
    else:
        # Sessions live in signed cookies, so raising the epoch is what ends the ones
        # opened with the old password, on this device and on any other.
        account.session_epoch += 1
    account.password_hash = hash_password(password)
    account.password_changed_at = utcnow()
    db().commit()


def current_caller() -> Caller | None:
    hall = session.get("hall")
    if hall is None:
        return None
    return Caller(
        hall=hall,
        unit_account=session.get("unit_account"),
        person_account=session.get("person_account"),
        staff_id=session.get("staff_id"),
    )


def login_required(hall: str | None = None) -> Callable[..., Any]:
    """Require a live session of `hall` (or of the hall named in the URL)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            wanted = hall or kwargs.get("hall")
            if wanted not in ("unit", "person", "staff"):
                abort(404)
            if not _session_valid(wanted):
                # A live session of another hall stays, so a unit handler who opens
                # a person-hall link is still logged into the unit hall afterwards.
                if session.get("hall") in (None, wanted):
                    session.clear()
                if request.headers.get("HX-Request"):
                    return "", 401, {"HX-Redirect": url_for(f"auth.{wanted}_login")}
                return redirect(url_for(f"auth.{wanted}_login", next=request.path))
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _session_valid(hall: str) -> bool:
    if session.get("hall") != hall:
        return False
    started = session.get("login_at", 0)
    if utcnow().timestamp() - started > MAX_SESSION_AGE.total_seconds():
        return False
    account = _account(hall, session.get("subject", ""))
    return account is not None and account.session_epoch == session.get("epoch")


def _account(hall: str, subject: str) -> LoginAccount | None:
    return (
        db()
        .scalars(
            select(LoginAccount).where(
                LoginAccount.hall == hall, LoginAccount.subject == subject
            )
        )
        .first()
    )


def _address() -> str:
    return (request.remote_addr or "unknown")[:64]


def throttled(hall: str, subject: str) -> bool:
    """Tell whether recent failures lock this account or this address for a while."""
    since = utcnow() - THROTTLE_WINDOW
    failures = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    )
    by_account = db().scalar(
        failures.where(LoginAttempt.hall == hall, LoginAttempt.subject == subject)
    )
    by_address = db().scalar(failures.where(LoginAttempt.address == _address()))
    return (
        by_account >= MAX_FAILURES_PER_ACCOUNT or by_address >= MAX_FAILURES_PER_ADDRESS
    )


def _record_attempt(hall: str, subject: str, succeeded: bool) -> None:
    db().add(
        LoginAttempt(
            hall=hall, subject=subject, address=_address(), succeeded=succeeded
        )
    )
    db().commit()
    if not succeeded:
        log.warning("login failed for %s %s from %s", hall, subject, _address())


def _password_ok(hall: str, subject: str, password: str) -> bool:
    account = _account(hall, subject)
    if account is None:
        # Hash anyway, so an unknown account takes as long as a wrong password.
        check_password_hash(hash_password("x"), password)
        return False
    return check_password_hash(account.password_hash, password)


def _start_session(hall: str, subject: str, **identity: str | None) -> None:
    account = _account(hall, subject)
    session.clear()
    session.permanent = True
    session.update(
        hall=hall,
        subject=subject,
        epoch=account.session_epoch if account else 0,
        login_at=utcnow().timestamp(),
        **identity,
    )
    db().add(AuditEntry(hall=hall, actor=subject, action="login", address=_address()))
    db().commit()
    log.info("login %s %s", hall, subject)


def keep_current_session() -> None:
    """Carry the current session over a rise of its account's session epoch."""
    # Another session may have changed the account since this request read it.
    db().expire_all()
    account = _account(session.get("hall", ""), session.get("subject", ""))
    if account is not None:
        session["epoch"] = account.session_epoch


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    # Only paths on this site: no scheme, no host, no protocol-relative URL. Browsers
    # drop tabs and newlines and read a backslash as a slash, so "/\t/evil" would
    # become "//evil". Any whitespace or control character therefore rejects it.
    if any(char.isspace() or not char.isprintable() for char in target):
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


@auth.get("/")
def landing() -> str:
    return render_template("landing.html")


@auth.route("/unit/login", methods=["GET", "POST"])
def unit_login() -> Any:
    errors: dict[str, str] = {}
    notice = ""
    form = {"unit_account": request.form.get("unit_account", "").strip()}
    if request.method == "POST":
        account = form["unit_account"]
        password = request.form.get("password", "")
        code = request.form.get("sms_code", "").strip()
        # Full-width digits pass isdigit() but name no account.
        if not (account.isascii() and account.isdigit()) or len(account) > 20:
            errors["unit_account"] = "请输入单位账号（数字）"
        elif not password:
            errors["password"] = "请输入登录密码"
        elif throttled("unit", account):
            errors["_form"] = "登录失败次数过多，请15分钟后再试"
        elif not _password_ok("unit", account, password):
            _record_attempt("unit", account, False)
            errors["_form"] = LOGIN_FAILED
        elif request.form.get("action") == "send_code":
            notice, error = _send_unit_code(account)
            if error:
                errors["_form"] = error
        elif not code:
            errors["sms_code"] = "请输入短信验证码（点击“获取验证码”）"
        elif not (code.isascii() and code.isdigit() and len(code) == 6):
            # Full-width digits pass isdigit() but never match, so they use up no try.
            errors["sms_code"] = "短信验证码应为6位数字"
        elif not check_code(
            db(), current_app.secret_key, "unit", account, "login", code
        ):
            _record_attempt("unit", account, False)
            errors["sms_code"] = "短信验证码错误或已过期，请重新获取"
        else:
            _record_attempt("unit", account, True)
            _start_session("unit", account, unit_account=account)
            return redirect(_safe_next(url_for("halls.home", hall="unit")))
    # htmx swaps only successful answers, and the code button updates the messages in
    # place so the typed password stays in its field.
    in_place = request.headers.get("HX-Request") == "true"
    status = 400 if errors and not in_place else 200
    return render_template(
        "login_unit.html", form=form, errors=errors, notice=notice
    ), status


def _send_unit_code(account: str) -> tuple[str, str]:
    hall = current_hall()
    try:
        info = hall.router.call(
            "unit.login_info", Caller("unit"), {"unit_account": account}
        )
    except NotFound:
        return "", LOGIN_FAILED
    try:
        issue_code(
            db(),
            current_hall().sms,
            current_app.secret_key,
            "unit",
            account,
            "login",
            info["handler_mobile"],
        )
    except SmsThrottled:
        return "", "验证码已发送，请60秒后再试"
    return f"验证码已发送至单位经办人手机 {mask_mobile(info['handler_mobile'])}", ""


@auth.route("/person/login", methods=["GET", "POST"])
def person_login() -> Any:
    errors: dict[str, str] = {}
    form = {"login_id": request.form.get("login_id", "").strip().upper()}
    if request.method == "POST":
        login_id = form["login_id"]
        password = request.form.get("password", "")
        if (
            not login_id
            or len(login_id) > 20
            or not login_id.isascii()
            or not login_id[:-1].isdigit()
        ):
            errors["login_id"] = "请输入身份证号码或个人公积金账号"
        elif not password:
            errors["password"] = "请输入登录密码"
        else:
            person = _resolve_person(login_id)
            # Failures count against the account, whichever ID named it, so switching
            # between the ID number and the account number gives no extra tries.
            subject = person["person_account"] if person else login_id
            if throttled("person", subject):
                errors["_form"] = "登录失败次数过多，请15分钟后再试"
            elif person is None or not _password_ok("person", subject, password):
                _record_attempt("person", subject, False)
                errors["_form"] = LOGIN_FAILED
            else:
                _record_attempt("person", subject, True)
                _start_session("person", subject, person_account=subject)
                return redirect(_safe_next(url_for("halls.home", hall="person")))
    status = 400 if errors else 200
    return render_template("login_person.html", form=form, errors=errors), status


def _resolve_person(login_id: str) -> dict[str, Any] | None:
    try:
        return current_hall().router.call(
            "person.resolve", Caller("person"), {"login_id": login_id}
        )
    except NotFound:
        return None


@auth.route("/staff/login", methods=["GET", "POST"])
def staff_login() -> Any:
    errors: dict[str, str] = {}
    form = {"staff_id": request.form.get("staff_id", "").strip()}
    if request.method == "POST":
        staff_id = form["staff_id"]
        password = request.form.get("password", "")
        if len(staff_id) > MAX_STAFF_ID_LENGTH or has_hidden_characters(staff_id):
            errors["staff_id"] = (
                f"工号最多{MAX_STAFF_ID_LENGTH}个字符，且不能包含控制字符"
            )
        elif throttled("staff", staff_id):
            errors["_form"] = "登录失败次数过多，请15分钟后再试"
        elif not staff_id or not _password_ok("staff", staff_id, password):
            _record_attempt("staff", staff_id or "-", False)
            errors["_form"] = LOGIN_FAILED
        else:
            _record_attempt("staff", staff_id, True)
            _start_session("staff", staff_id, staff_id=staff_id)
            return redirect(_safe_next(url_for("staff.queue")))
    status = 400 if errors else 200
    return render_template("login_staff.html", form=form, errors=errors), status


@auth.post("/logout")
def logout() -> Any:
    """End the session and raise the account's epoch, so copied cookies stop working."""
    hall = session.get("hall")
    if hall and _session_valid(hall):
        subject = session.get("subject", "")
        # The session lives in a signed cookie, so clearing it alone would leave a
        # copied cookie valid. This also ends the account's sessions on other devices.
        db().execute(
            update(LoginAccount)
            .where(LoginAccount.hall == hall, LoginAccount.subject == subject)
            .values(session_epoch=LoginAccount.session_epoch + 1)
        )
        db().add(AuditEntry(hall=hall, actor=subject, action="logout"))
        db().commit()
    session.clear()
    return redirect(url_for("auth.landing"))


@auth.post("/sms/send")
def send_service_code() -> Any:
    """Send a code to the logged-in unit handler's or depositor's registered mobile."""
    caller = current_caller()
    if (
        caller is None
        or caller.hall not in ("unit", "person")
        or not _session_valid(caller.hall)
    ):
        abort(401)
    purpose = request.form.get("purpose", "")
    service = current_hall().services.get(purpose)
    # Codes go out only for the caller's own services that verify by SMS, so naming
    # other services sends no extra messages to the registered mobile.
    if service is None or service.hall != caller.hall or service.verification != "sms":
        abort(400, description="该业务不需要短信验证码")
    mobile = registered_mobile(caller)
    subject = caller.unit_account if caller.hall == "unit" else caller.person_account
    try:
        issue_code(
            db(),
            current_hall().sms,
            current_app.secret_key,
            caller.hall,
            subject or "",
            purpose,
            mobile,
        )
        message = f"验证码已发送至 {mask_mobile(mobile)}，5分钟内有效"
    except SmsThrottled:
        message = "验证码已发送，请60秒后再试"
    return render_template("partials/sms_notice.html", message=message)


def registered_mobile(caller: Caller) -> str:
    router = current_hall().router
    if caller.hall == "unit":
        return router.call("unit.profile", caller, {})["handler_mobile"]
    return router.call(
        "person.resolve", Caller("person"), {"login_id": caller.person_account}
    )["mobile"]


@auth.get("/dev/sms")
def sms_inbox() -> str:
    """List the messages of the demo SMS gateway; absent outside demo mode."""
    if not current_hall().demo:
        abort(404)
    messages = (
        db().scalars(select(SmsMessage).order_by(SmsMessage.id.desc()).limit(30)).all()
    )
    return render_template("sms_inbox.html", messages=messages)
