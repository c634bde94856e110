"""The hall's own login accounts as connector operations: passwords and identity.

Passwords and identity verifications are the hall's records, not the core's, so
these operations run in the hall like `applications.list`.
"""

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
from engine.storage.models import (
    AuditEntry,
    IdentityVerification,
    LoginAccount,
    LoginAttempt,
    utcnow,
)
from renderers.html import display

log = logging.getLogger(__name__)

CHANGE_PASSWORD = "login.change_password"
RECORD_IDENTITY = "login.record_identity"
IDENTITY_STATUS = "login.identity_status"
RESET_PASSWORD = "login.reset_password"

MIN_PASSWORD_LENGTH = 8
# A new password mixes at least three of: upper case, lower case, digits, others.
MIN_CHARACTER_CLASSES = 3
CHARACTER_CLASSES = (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]")
# Wrong old passwords allowed within the window, as for logins.
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)


def subject_of(caller: Caller) -> str:
    """Return the login subject of a unit or person caller."""
    subject = caller.unit_account if caller.hall == "unit" else caller.person_account
    if caller.hall not in ("unit", "person") or not subject:
        raise Rejected("请先登录")
    return subject


def password_problem(password: str, subject: str) -> str | None:
    """Return why a new password is too weak, or None when it is strong enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"新密码至少{MIN_PASSWORD_LENGTH}位"
    classes = sum(1 for pattern in CHARACTER_CLASSES if re.search(pattern, password))
    if classes < MIN_CHARACTER_CLASSES:
        return "新密码须包含大写字母、小写字母、数字和符号中的至少三种"
    if subject in password:
        return "新密码不能包含登录账号"
    return None


class LoginAccounts:
    """Runs the `login.*` operations on the hall's login tables."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def operations(self) -> set[str]:
        return {CHANGE_PASSWORD, RECORD_IDENTITY, IDENTITY_STATUS, RESET_PASSWORD}

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        if operation == CHANGE_PASSWORD:
            return self.change_password(caller, params)
        if operation == RECORD_IDENTITY:
            return self.record_identity(caller, params)
        if operation == IDENTITY_STATUS:
            return self.identity_status(caller)
        if operation == RESET_PASSWORD:
            return self.reset_password(caller, params)
        raise UnknownOperation(operation)

    def change_password(
        self, caller: Caller, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Check the old password, set the new one and end every other session.

        Returns the new `session_epoch`. The session that made the change adopts it,
        and every session issued before no longer matches.
        """
        subject = subject_of(caller)
        old = str(params.get("old_password") or "")
        new = _new_password(params, subject)
        with self.session_factory() as session:
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
                session.commit()
                log.warning(
                    "password change of %s %s: wrong old password",
                    caller.hall,
                    subject,
                )
                raise Rejected("原密码不正确", field="old_password")
            if check_password_hash(account.password_hash, new):
                raise Rejected("新密码不能与原密码相同", field="new_password")
            account.password_hash = generate_password_hash(new, method="scrypt")
            account.password_changed_at = utcnow()
            account.session_epoch += 1
            session.add(AuditEntry(hall=caller.hall, actor=subject, action="password"))
            session.commit()
            log.info("password of %s %s changed", caller.hall, subject)
            return {"session_epoch": account.session_epoch}

    def reset_password(
        self, caller: Caller, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Set a new password without the old one and end every session.

        The caller must already have proved who they are: the public page of a
        forgotten password calls this only after the core matched the person's
        details and the SMS code sent to the registered mobile was right.
        """
        subject = subject_of(caller)
        new = _new_password(params, subject)
        with self.session_factory() as session:
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
            session.commit()
        log.info("password of %s %s reset", caller.hall, subject)
        return {"status": "reset"}

    def record_identity(
        self, caller: Caller, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Record that the acting person accepted the identity agreement."""
        subject = subject_of(caller)
        person_account = str(params.get("person_account") or "")
        if not person_account:
            raise Rejected("未找到办理人的个人账号，请联系管理中心")
        with self.session_factory() as session:
            session.add(
                IdentityVerification(
                    hall=caller.hall,
                    subject=subject,
                    person_account=person_account,
                    agreement=str(params.get("agreement") or "")[:80],
                    address=str(params.get("address") or "")[:64],
                )
            )
            session.add(AuditEntry(hall=caller.hall, actor=subject, action="identity"))
            session.commit()
        log.info("identity of %s %s verified", caller.hall, subject)
        return {"verified": True}

    def identity_status(self, caller: Caller) -> dict[str, Any]:
        """Return when the login's current person last accepted the agreement."""
        subject = subject_of(caller)
        with self.session_factory() as session:
            latest = session.scalars(
                select(IdentityVerification)
                .where(
                    IdentityVerification.hall == caller.hall,
                    IdentityVerification.subject == subject,
                )
                .order_by(IdentityVerification.accepted_at.desc())
            ).first()
        if latest is None:
            return {"verified_person_account": "", "verified_at": ""}
        return {
            "verified_person_account": latest.person_account,
            "verified_at": display(latest.accepted_at),
        }


def _recent_failures(session: Session, hall: str, subject: str) -> int:
    """Count the account's failed logins and password checks in the window."""
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
    """Return the new password once it is typed twice alike and strong enough."""
    new = str(params.get("new_password") or "")
    if new != str(params.get("new_password_repeat") or ""):
        raise Rejected("两次输入的新密码不一致", field="new_password_repeat")
    problem = password_problem(new, subject)
    if problem:
        raise Rejected(problem, field="new_password")
    return new
