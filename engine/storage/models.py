"""Tables of the hall: applications, deliveries, attachments, audit, logins, SMS codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine import clock


def utcnow() -> dt.datetime:
    """Return the hall clock's current instant in UTC without a zone, as stored."""
    return clock.now().replace(tzinfo=None)


class HallBase(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Application(HallBase):
    """What a submitted service creates; a draft until the person confirms it."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    draft_token: Mapped[str] = mapped_column(String(43), unique=True)
    service_id: Mapped[str] = mapped_column(String(60), index=True)
    spec_version: Mapped[str] = mapped_column(String(20))
    hall: Mapped[str] = mapped_column(String(10))
    unit_account: Mapped[str | None] = mapped_column(String(20), index=True)
    person_account: Mapped[str | None] = mapped_column(String(20), index=True)
    # draft, submitted, approved, returned
    status: Mapped[str] = mapped_column(String(20), default="draft")
    form_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    delivery_attempts: Mapped[int] = mapped_column(default=0)
    delivery_error: Mapped[str | None] = mapped_column(Text)
    # A correction of a returned application gets its own number; `revises` names the
    # returned one and `revision` counts from 1 along the chain.
    revises: Mapped[str | None] = mapped_column(String(20), index=True)
    revision: Mapped[int] = mapped_column(default=1)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="application",
        order_by="Attachment.id",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        Index("ix_application_status_submitted", "status", "submitted_at"),
    )


class Delivery(HallBase):
    """An application waiting in the outbox for the core, or the outcome of its delivery.

    It is written in the transaction that confirms the application. A worker claims it
    by setting `lease_owner` and `lease_expires_at` in one conditional update; a lease
    that expires without an outcome (the worker died) lets another worker claim it.
    A delivery that fails for too long, or that the core reports as invalid, becomes
    dead until a reviewer requeues it. The requeue keeps the row and so the idempotency
    key.
    """

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id"), unique=True
    )
    # The application number, sent to the core as the idempotency key.
    idempotency_key: Mapped[str] = mapped_column(String(20), unique=True)
    operation: Mapped[str] = mapped_column(String(60))
    # pending, delivered, rejected, dead
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # Attempts since the delivery was created or last requeued.
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    # Time and reviewer of the last requeue. The retry window starts again there.
    requeued_at: Mapped[dt.datetime | None]
    requeued_by: Mapped[str | None] = mapped_column(String(40))
    # The last time the worker asked the core for the decision on a delivered one.
    decision_checked_at: Mapped[dt.datetime | None]

    application: Mapped[Application] = relationship()

    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),)


class DeliveryAttempt(HallBase):
    """One try to hand an application to the core, with how it ended."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"), index=True)
    worker: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    # delivered, rejected, unavailable, failed; empty while the attempt runs
    outcome: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)


class CoreCallbackNonce(HallBase):
    """A nonce of a signed callback from the core, kept to reject a replay of it.

    Rows older than the allowed clock skew can be deleted, since a callback with such
    an old timestamp is rejected before its nonce is looked up.
    """

    __tablename__ = "core_callback_nonce"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class CoreCallbackFailure(HallBase):
    """A callback rejected for its signature or nonce, counted to throttle an address."""

    __tablename__ = "core_callback_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_core_callback_failure_address_at", "address", "at"),)


class Attachment(HallBase):
    """An uploaded scan or PDF; stored under a generated name, shown by its original."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(back_populates="attachments")


class AuditEntry(HallBase):
    """Who did what; identifiers only, never names, ID numbers or mobiles."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    hall: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    application_number: Mapped[str | None] = mapped_column(String(20), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LoginAccount(HallBase):
    """A password for a unit, a depositor or a centre reviewer."""

    __tablename__ = "login_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Raised to end every session issued before it.
    session_epoch: Mapped[int] = mapped_column(default=0)
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("hall", "subject"),)


class LoginAttempt(HallBase):
    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_login_attempt_subject_at", "hall", "subject", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )


class SmsCode(HallBase):
    """A one-time code; only its hash is kept."""

    __tablename__ = "sms_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(60))
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    tries: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index("ix_sms_code_subject", "hall", "subject", "purpose", "created_at"),
    )


class SmsMessage(HallBase):
    """A message the demo SMS gateway would have sent; read by the development inbox."""

    __tablename__ = "sms_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class IssuedCertificate(HallBase):
    """A printed certificate: its verification code and the key facts /verify shows.

    The facts are stored already formatted and masked, so the public page never
    reads the core system and never shows a full ID number.
    """

    __tablename__ = "issued_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    service_id: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(60))
    hall: Mapped[str] = mapped_column(String(10))
    unit_account: Mapped[str | None] = mapped_column(String(20), index=True)
    person_account: Mapped[str | None] = mapped_column(String(20), index=True)
    # A list of {"label": ..., "value": ...} in the order the spec declares them.
    facts: Mapped[list[Any]] = mapped_column(default=list)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrintJob(HallBase):
    """A long certificate rendered outside the request that queued it.

    The verification code is drawn when the job is queued, because every page prints
    it. The certificate that /verify confirms is added only once the PDF exists.
    """

    __tablename__ = "print_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The job's address in links; unguessable, and checked against the owner too.
    token: Mapped[str] = mapped_column(String(43), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    service_id: Mapped[str] = mapped_column(String(60))
    hall: Mapped[str] = mapped_column(String(10))
    unit_account: Mapped[str | None] = mapped_column(String(20), index=True)
    person_account: Mapped[str | None] = mapped_column(String(20), index=True)
    # queued, rendering, ready, failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    # The print template's data, with money and dates tagged so they read back exact.
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    row_count: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("issued_certificate.id")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class VerificationLookup(HallBase):
    """One look-up on the public verification page, counted to throttle an address."""

    __tablename__ = "verification_lookup"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    found: Mapped[bool]
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_verification_lookup_address_at", "address", "at"),)


class IdentityVerification(HallBase):
    """A login's acceptance of the identity-verification agreement.

    For a unit the subject is the unit account and `person_account` names the
    handler who accepted; the unit is verified while that person is its handler.
    """

    __tablename__ = "identity_verification"
    __table_args__ = (Index("ix_identity_verification_subject", "hall", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(40))
    person_account: Mapped[str] = mapped_column(String(20))
    # The service id and version whose agreement text was accepted.
    agreement: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
