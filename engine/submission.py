"""Applications: drafts with attachments, confirmation into the outbox, decisions."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import FileStorage

from connectors.base import Caller
from engine import delivery
from engine.attachments import AttachmentInvalid, check_upload, store, stored_path
from engine.clock import business_date
from engine.service import Service
from engine.storage.models import Application, Attachment, AuditEntry, utcnow

log = logging.getLogger(__name__)

DRAFT_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,43}")
APPLICATION_NUMBER = re.compile(r"[A-Z][0-9]{1,19}")


def valid_draft_token(token: str) -> bool:
    """Tell whether text can be a draft token: URL-safe base64 of at most 43 characters.

    Checking first keeps NUL bytes and other junk out of queries. PostgreSQL's text
    types cannot hold a NUL byte, so such a query raises an error there.
    """
    return DRAFT_TOKEN.fullmatch(token) is not None


def valid_number(number: str) -> bool:
    """Tell whether text can be an application number, such as U20261204000001."""
    return APPLICATION_NUMBER.fullmatch(number) is not None


def owned_by(query: Any, caller: Caller) -> Any:
    """Restrict a query of applications to the caller's own unit or own account."""
    if caller.hall == "unit":
        return query.where(
            Application.hall == "unit", Application.unit_account == caller.unit_account
        )
    return query.where(
        Application.hall == "person",
        Application.person_account == caller.person_account,
    )


def find_draft(
    session: Session, token: str, service: Service, caller: Caller
) -> Application | None:
    if not valid_draft_token(token):
        return None
    query = select(Application).where(
        Application.draft_token == token,
        Application.service_id == service.id,
        Application.status == "draft",
    )
    return session.scalars(owned_by(query, caller)).first()


def find_application(
    session: Session, number: str, caller: Caller
) -> Application | None:
    if not valid_number(number):
        return None
    query = select(Application).where(Application.number == number)
    return session.scalars(owned_by(query, caller)).first()


def open_draft(session: Session, service: Service, caller: Caller) -> Application:
    draft = Application(
        draft_token=secrets.token_urlsafe(24),
        service_id=service.id,
        spec_version=service.spec_version,
        hall=caller.hall,
        unit_account=caller.unit_account if caller.hall == "unit" else None,
        person_account=caller.person_account,
        status="draft",
        form_values={},
    )
    session.add(draft)
    session.flush()
    return draft


def add_attachments(
    session: Session,
    directory: Path,
    service: Service,
    draft: Application,
    uploads: dict[str, list[FileStorage]],
) -> dict[str, str]:
    """Check and store each upload under its kind; return an error message per kind."""
    errors: dict[str, str] = {}
    for spec in service.attachments:
        for upload in uploads.get(spec.kind, []):
            if not upload or not upload.filename:
                continue
            existing = sum(1 for item in draft.attachments if item.kind == spec.kind)
            try:
                content = check_upload(spec, upload, existing)
            except AttachmentInvalid as error:
                errors[spec.kind] = str(error)
                continue
            finally:
                # Large uploads are spooled to a temporary file; release it now.
                upload.close()
            stored = store(directory, spec, upload, content)
            draft.attachments.append(
                Attachment(
                    kind=stored.kind,
                    original_name=stored.original_name,
                    stored_name=stored.stored_name,
                    content_type=stored.content_type,
                    size=stored.size,
                    sha256=stored.sha256,
                )
            )
    session.flush()
    return errors


def remove_attachment(
    session: Session, directory: Path, draft: Application, attachment_id: int
) -> None:
    for item in list(draft.attachments):
        if item.id == attachment_id:
            draft.attachments.remove(item)
            stored_path(directory, item.stored_name).unlink(missing_ok=True)
    session.flush()


def missing_attachments(service: Service, draft: Application | None) -> dict[str, str]:
    errors = {}
    for spec in service.attachments:
        count = sum(
            1 for item in (draft.attachments if draft else []) if item.kind == spec.kind
        )
        if spec.required and count == 0:
            errors[spec.kind] = f"请上传{spec.label}"
    return errors


def confirm(
    session: Session,
    draft: Application,
    caller: Caller,
    address: str,
    operation: str | None,
) -> Application | None:
    """Turn a checked draft into a submitted application with a number, exactly once.

    The application and its delivery to `operation` are committed together. The
    status changes by a conditional update, so of two confirmations of one draft (a
    double click) only the first matches; the second returns None.
    """
    prefix = "U" if caller.hall == "unit" else "P"
    now = utcnow()
    # The date in the number is the business date of the instant stored as
    # submitted_at, so it matches the submission time the pages show.
    number = f"{prefix}{business_date(now):%Y%m%d}{draft.id:06d}"
    changed = session.execute(
        update(Application)
        .where(Application.id == draft.id, Application.status == "draft")
        .values(number=number, status="submitted", submitted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        session.rollback()
        return None
    session.refresh(draft)
    if operation:
        delivery.enqueue(session, draft, operation)
    session.add(
        AuditEntry(
            hall=caller.hall,
            actor=(caller.unit_account or caller.person_account or ""),
            action="submit",
            application_number=number,
            address=address,
            detail={"service": draft.service_id, "attachments": len(draft.attachments)},
        )
    )
    session.commit()
    log.info("application %s submitted for %s", number, draft.service_id)
    return draft


def record_decision(
    session_factory: sessionmaker[Session],
    number: str,
    status: str,
    comment: str | None,
) -> None:
    """Store a reviewer's decision that the core reports back."""
    with session_factory() as session:
        application = session.scalars(
            select(Application).where(Application.number == number)
        ).first()
        if application is None:
            log.error("decision for unknown application %s", number)
            return
        application.status = status
        application.comment = comment
        session.add(
            AuditEntry(
                hall="staff",
                actor="core",
                action=status,
                application_number=number,
                detail={},
            )
        )
        session.commit()
        log.info("application %s %s", number, status)
