"""The hall's own login accounts as a connector, so account specs can change them."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from connectors.base import Caller, Rejected, UnknownOperation
from engine.storage.models import AuditEntry, LoginAccount, LoginAttempt, utcnow

log = logging.getLogger(__name__)

CHANGE_PASSWORD = "password.change"
RESET_PASSWORD = "password.reset"
MIN_LENGTH = 8
# A new password mixes at least three of: upper case, lower case, digits, others.
CHARACTER_CLASSES = (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]")
MIN_CLASSES = 3
# Wrong old passwords allowed within the window, as for logins.
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
STRENGTH_RULE = "新密码应至少 8 位，并包含大写字母、小写字母、数字和符号中的至少三类"


def password_problem(password: str, subject: str) -> str | None:
    """Return why a new password is too weak, or None when it is strong enough."""
    classes = sum(1 for pattern in CHARACTER_CLASSES if re.search(pattern, password))
    if len(password) < MIN_LENGTH or classes < MIN_CLASSES:
        return STRENGTH_RULE
    if subject and subject in password:
        return "新密码不能包含登录账号"
    return None


class LoginAccounts:
    """Connector of `password.change` and `password.reset` for units and depositors."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def operations(self) -> set[str]:
        return {CHANGE_PASSWORD, RESET_PASSWORD}

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        if operation == CHANGE_PASSWORD:
            return self.change_password(caller, params)
        if operation == RESET_PASSWORD:
            return self.reset_password(caller, params)
        raise UnknownOperation(operation)

    def reset_password(self, caller: Caller, params: Mapping[str, Any]) -> dict:
        """Set a new password without the old one and end every session.

        The caller must already have proved who they are: the public page of a
        forgotten password calls this only after the core matched the person's
        details and the SMS code sent to the registered mobile was right.
        """
        subject = (
            caller.unit_account if caller.hall == "unit" else caller.person_account
        )
        if caller.hall not in ("unit", "person") or not subject:
            raise Rejected("身份核验未通过")
        new = _new_password(params, subject)
        with self.session_factory() as session, session.begin():
            account = session.scalars(
                select(LoginAccount).where(
                    LoginAccount.hall == caller.hall, LoginAccount.subject == subject
                )
            ).first()
            if account is None:
                account = LoginAccount(
                    hall=caller.hall, subject=subject, password_hash="", session_epoch=0
                )
                session.add(account)
            account.password_hash = generate_password_hash(new, method="scrypt")
            account.password_changed_at = utcnow()
            account.session_epoch += 1
            session.add(AuditEntry(hall=caller.hall, actor=subject, action="reset"))
        log.info("password of %s %s reset", caller.hall, subject)
        return {"status": "reset"}

    def change_password(self, caller: Caller, params: Mapping[str, Any]) -> dict:
        """Check the old password, store the new one and end the other sessions.

        The session epoch rises, so every session issued before the change ends; the
        page that made the change renews its own session afterwards.
        """
        subject = (
            caller.unit_account if caller.hall == "unit" else caller.person_account
        )
        if caller.hall not in ("unit", "person") or not subject:
            raise Rejected("请先登录网上办事大厅")
        old = str(params.get("old_password") or "")
        new = _new_password(params, subject)
        if new == old:
            raise Rejected("新密码不能与原密码相同", field="new_password")
        with self.session_factory() as session, session.begin():
            if _recent_failures(session, caller.hall, subject) >= MAX_FAILURES:
                raise Rejected("密码错误次数过多，请15分钟后再试", field="old_password")
            account = session.scalars(
                select(LoginAccount).where(
                    LoginAccount.hall == caller.hall, LoginAccount.subject == subject
                )
            ).first()
            if account is None or not check_password_hash(account.password_hash, old):
                # A wrong old password counts as a failed login of the account.
                session.add(
                    LoginAttempt(
                        hall=caller.hall,
                        subject=subject,
                        address="password-change",
                        succeeded=False,
                    )
                )
                failed = True
            else:
                account.password_hash = generate_password_hash(new, method="scrypt")
                account.password_changed_at = utcnow()
                account.session_epoch += 1
                session.add(
                    AuditEntry(hall=caller.hall, actor=subject, action="password")
                )
                failed = False
        if failed:
            log.warning(
                "password change of %s %s: wrong password", caller.hall, subject
            )
            raise Rejected("原密码错误", field="old_password")
        log.info("password of %s %s changed", caller.hall, subject)
        return {"status": "changed"}


def _recent_failures(session: Session, hall: str, subject: str) -> int:
    since = utcnow() - FAILURE_WINDOW
    return session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.hall == hall,
            LoginAttempt.subject == subject,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= since,
        )
    )


def _new_password(params: Mapping[str, Any], subject: str) -> str:
    new = str(params.get("new_password") or "")
    if new != str(params.get("new_password_again") or ""):
        raise Rejected("两次输入的新密码不一致", field="new_password_again")
    problem = password_problem(new, subject)
    if problem:
        raise Rejected(problem, field="new_password")
    return new
