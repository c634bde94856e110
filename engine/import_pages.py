"""Routes of a row table's import: the template download and the file upload."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

from flask import Blueprint, Response, abort, request
from werkzeug.datastructures import FileStorage

from connectors.base import Caller, CoreError, NotFound, Rejected
from connectors.router import ConnectorRouter
from engine import row_import, submission
from engine.app import current_hall, db
from engine.attachments import display_name
from engine.auth import login_required
from engine.forms import FormRuntime
from engine.row_import import XLSX_MIME, ImportRejected
from engine.service import RowTable, Service
from engine.storage.models import Application
from engine.views import _caller, _render, _service

log = logging.getLogger(__name__)

row_imports = Blueprint("row_imports", __name__, url_prefix="/<any(unit, person):hall>")

# Name of the file input of a table's import: `_import_<table>`.
FILE_INPUT = "_import_"


class _RequestRouter:
    """Pass calls to the hall's router, reading each parameterless operation once.

    An upload reads the table's records to check the file and again to build the
    page. For a unit of 20,000 employees a second read would cost seconds.
    """

    def __init__(self, router: ConnectorRouter) -> None:
        self.router = router
        self.answers: dict[str, Any] = {}

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        if params:
            return self.router.call(operation, caller, params)
        if operation not in self.answers:
            self.answers[operation] = self.router.call(operation, caller, params)
        return self.answers[operation]


def _upload_runtime(service: Service) -> FormRuntime:
    hall = current_hall()
    router = cast(ConnectorRouter, _RequestRouter(hall.router))
    return FormRuntime(service, router, _caller(), hall.figures())


def _importing_table(service: Service, table_name: str) -> RowTable:
    if service.kind != "apply":
        abort(404)
    table = next((item for item in service.rows if item.name == table_name), None)
    if table is None or table.row_import is None:
        abort(404)
    return table


def _records(
    service: Service, table: RowTable, router: Any = None
) -> list[dict[str, Any]]:
    assert table.prefill_operation is not None  # the spec check requires it
    router = router or current_hall().router
    try:
        return router.call(table.prefill_operation, _caller(), {})
    except (Rejected, NotFound) as error:
        abort(400, description=error.message)
    except CoreError as error:
        log.error("records of %s for an import failed: %s", service.id, error)
        abort(503, description="核心系统暂时无法查询，请稍后再试")


@row_imports.get("/<service_id>/rows/<table_name>/template.xlsx")
@login_required()
def template(hall: str, service_id: str, table_name: str) -> Any:
    service = _service(hall, service_id)
    table = _importing_table(service, table_name)
    content = row_import.template_xlsx(table, _records(service, table), table.label)
    response = Response(content, mimetype=XLSX_MIME)
    filename = f"{service.id}-{table.name}.xlsx"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@row_imports.post("/<service_id>/rows/<table_name>/import")
@login_required()
def upload(hall: str, service_id: str, table_name: str) -> Any:
    """Read an uploaded file into the draft, or discard the table's import.

    The service form posts here as a whole, so the page comes back with what the
    person had typed and with the attachments chosen meanwhile. A file with any
    problem leaves the draft's rows as they were.
    """
    service = _service(hall, service_id)
    table = _importing_table(service, table_name)
    session = db()
    draft = submission.find_draft(
        session, request.form.get("_draft", ""), service, _caller()
    )
    draft, attachment_errors = _keep_attachments(service, table, draft)
    runtime = _upload_runtime(service)
    if request.form.get("_action") == "discard_import":
        notice = ""
        if draft is not None:
            row_import.discard(draft, table)
            session.commit()
            notice = f"已取消{table.label}的导入"
        state = runtime.from_input(
            request.form, imported=row_import.imported_rows(draft)
        )
        return _render(
            service,
            state,
            draft=draft,
            notice=notice,
            attachment_errors=attachment_errors,
        )

    upload_file = request.files.get(FILE_INPUT + table.name)
    outcome, errors, total = _read_file(service, table, runtime, upload_file)
    if outcome is None or errors:
        log.info("import into %s rejected with %d problems", service.id, total)
        state = runtime.from_input(
            request.form, imported=row_import.imported_rows(draft)
        )
        return _render(
            service,
            state,
            400,
            draft=draft,
            attachment_errors=attachment_errors,
            import_errors={table.name: (errors, total)},
        )

    assert upload_file is not None
    draft = draft or submission.open_draft(session, service, _caller())
    row_import.store(draft, table, outcome, display_name(upload_file.filename))
    session.commit()
    log.info(
        "import into draft %s of %s: %d rows read, %d changed",
        draft.id,
        service.id,
        outcome.rows_read,
        len(outcome.changed),
    )
    state = runtime.from_input(request.form, imported=row_import.imported_rows(draft))
    notice = (
        f"已导入：读取 {outcome.rows_read} 行，其中 {len(outcome.changed)} 行有变更"
    )
    return _render(
        service, state, draft=draft, notice=notice, attachment_errors=attachment_errors
    )


def _read_file(
    service: Service,
    table: RowTable,
    runtime: FormRuntime,
    upload_file: FileStorage | None,
) -> tuple[row_import.ImportOutcome | None, list[str], int]:
    """Read and check the file; return the outcome, the errors shown and their count."""
    if upload_file is None or not upload_file.filename:
        return None, ["请选择要导入的 Excel（xlsx）文件"], 1
    try:
        rows = row_import.read_upload(table, upload_file)
        records = _records(service, table, runtime.router)
        outcome = row_import.check_rows(service, table, rows, records, runtime.bound)
    except ImportRejected as error:
        return None, [str(error)], 1
    return outcome, outcome.shown_errors, len(outcome.problems)


def _keep_attachments(
    service: Service, table: RowTable, draft: Application | None
) -> tuple[Application | None, dict[str, str]]:
    """Store the attachments posted with the import, as a submission would."""
    uploads = {
        key: request.files.getlist(key)
        for key in request.files
        if key != FILE_INPUT + table.name
    }
    if not any(item.filename for files in uploads.values() for item in files):
        return draft, {}
    session = db()
    draft = draft or submission.open_draft(session, service, _caller())
    errors = submission.add_attachments(
        session, current_hall().attachments_dir, service, draft, uploads
    )
    session.commit()
    return draft, errors
