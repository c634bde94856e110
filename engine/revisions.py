"""Corrections of returned applications, each submitted again as a new revision."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import Caller
from engine.attachments import stored_path
from engine.service import Service
from engine.storage.models import Application, Attachment
from engine.submission import open_draft, owned_by

log = logging.getLogger(__name__)

RETURNED = "returned"


def latest_revision(
    session: Session, application: Application, caller: Caller
) -> Application | None:
    """Return the correction made of `application`, a draft or submitted, if any."""
    query = (
        select(Application)
        .where(Application.revises == application.number)
        .order_by(Application.id.desc())
    )
    return session.scalars(owned_by(query, caller)).first()


def revise(
    session: Session,
    directory: Path,
    service: Service,
    returned: Application,
    caller: Caller,
) -> Application:
    """Open a draft that copies a returned application's input and attachments.

    A draft opened before is reused, so pressing the button twice opens one draft.
    The copies of the attachments are files of their own, so removing one from the
    draft leaves the returned application's record whole.
    """
    if returned.status != RETURNED:
        raise ValueError(f"application {returned.number} is not returned")
    earlier = latest_revision(session, returned, caller)
    if earlier is not None:
        return earlier
    draft = open_draft(session, service, caller)
    draft.form_values = dict(returned.form_values)
    draft.revises = returned.number
    draft.revision = returned.revision + 1
    for item in returned.attachments:
        draft.attachments.append(_copy(directory, item))
    session.commit()
    log.info("draft revision %d of %s opened", draft.revision, returned.number)
    return draft


def _copy(directory: Path, item: Attachment) -> Attachment:
    extension = item.stored_name.rsplit(".", 1)[-1]
    stored_name = f"{uuid.uuid4().hex}.{extension}"
    target = stored_path(directory, stored_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stored_path(directory, item.stored_name), target)
    return Attachment(
        kind=item.kind,
        original_name=item.original_name,
        stored_name=stored_name,
        content_type=item.content_type,
        size=item.size,
        sha256=item.sha256,
    )
