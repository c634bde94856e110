"""One-time SMS codes: issue, send through the SMS connector, check."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.sms import SmsGateway
from engine.storage.models import SmsCode, utcnow

log = logging.getLogger(__name__)

CODE_LIFETIME = dt.timedelta(minutes=5)
RESEND_AFTER = dt.timedelta(seconds=60)
MAX_TRIES = 5


class SmsThrottled(Exception):
    """A code was sent moments ago; the person must wait before asking again."""


def _hash(secret: str, code: str) -> str:
    return hmac.new(secret.encode(), code.encode(), hashlib.sha256).hexdigest()


def _latest_code(
    session: Session, hall: str, subject: str, purpose: str, unused_only: bool
) -> SmsCode | None:
    """Return the newest code of (hall, subject, purpose), or None if there is none.

    With `unused_only`, codes already used up are passed over.
    """
    query = select(SmsCode).where(
        SmsCode.hall == hall, SmsCode.subject == subject, SmsCode.purpose == purpose
    )
    if unused_only:
        query = query.where(SmsCode.used_at.is_(None))
    return session.scalars(query.order_by(SmsCode.created_at.desc()).limit(1)).first()


def issue_code(
    session: Session,
    gateway: SmsGateway,
    secret: str,
    hall: str,
    subject: str,
    purpose: str,
    mobile: str,
) -> None:
    """Create a 6-digit code for (hall, subject, purpose) and send it to `mobile`."""
    latest = _latest_code(session, hall, subject, purpose, unused_only=False)
    now = utcnow()
    if latest is not None and now - latest.created_at < RESEND_AFTER:
        raise SmsThrottled()
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(
        SmsCode(
            hall=hall,
            subject=subject,
            purpose=purpose,
            code_hash=_hash(secret, code),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    session.commit()
    gateway.send(
        mobile, f"【住房公积金】您的验证码为{code}，5分钟内有效，请勿告诉他人。"
    )
    log.info("sms code issued for %s %s (%s)", hall, subject, purpose)


def check_code(
    session: Session,
    secret: str,
    hall: str,
    subject: str,
    purpose: str,
    code: str,
    use_up: bool = True,
) -> bool:
    """Check and use up a code; each code allows `MAX_TRIES` wrong tries, then expires.

    With `use_up` false a right code stays valid, for a caller that uses it up with
    `use_up_code` once the step it guards has succeeded.
    """
    record = _latest_code(session, hall, subject, purpose, unused_only=True)
    if record is None or record.expires_at < utcnow() or record.tries >= MAX_TRIES:
        return False
    if hmac.compare_digest(record.code_hash, _hash(secret, code.strip())):
        if use_up:
            record.used_at = utcnow()
            session.commit()
        return True
    record.tries += 1
    session.commit()
    return False


def use_up_code(session: Session, hall: str, subject: str, purpose: str) -> None:
    """Mark the latest unused code of (hall, subject, purpose) as used."""
    record = _latest_code(session, hall, subject, purpose, unused_only=True)
    if record is not None:
        record.used_at = utcnow()
        session.commit()
