"""Routes of the unit hall and the person hall: menus, service pages, htmx fragments."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from connectors.base import PAGE_PARAM, Caller, CoreError, NotFound, Rejected
from engine import revisions, row_import, submission
from engine.app import Hall, current_hall, db
from engine.attachments import stored_path
from engine.auth import current_caller, login_required
from engine.delivery import DeliveryWorker, delivery_status, waiting_label
from engine.downloads import attachment_disposition
from engine.forms import FormRuntime, FormState, Row, form_inputs
from engine.pages import (
    changed_cells,
    error_summary,
    menu_html,
    menu_links,
    operation_params,
    page_request,
    row_cells,
    shape_result,
    show_first_error,
    table_rows,
    top_fields_html,
)
from engine.records import STATUS_LABELS
from engine.service import RowTable, Service
from engine.sms import check_code
from engine.storage.models import Application, Attachment
from renderers.exports import export_csv, export_xlsx

log = logging.getLogger(__name__)

halls = Blueprint("halls", __name__, url_prefix="/<any(unit, person):hall>")
halls.add_app_template_global(menu_links)
halls.add_app_template_global(menu_html)
halls.add_app_template_global(top_fields_html)


def _service(hall: str, service_id: str) -> Service:
    found = current_hall()
    service = found.services.get(service_id) or found.previews.get(service_id)
    if (
        service is None
        or service.hall != hall
        or service.kind == "print"
        or service.public
    ):
        abort(404)
    return service


def _caller() -> Caller:
    caller = current_caller()
    assert caller is not None  # login_required ran first
    return caller


def _runtime(service: Service) -> FormRuntime:
    hall = current_hall()
    return FormRuntime(service, hall.router, _caller(), hall.figures())


def _render(
    service: Service, state: FormState, status: int = 200, **context: Any
) -> Any:
    hall: Hall = current_hall()
    context.setdefault("draft", None)
    context.setdefault("result", None)
    context.setdefault("notice", "")
    context.setdefault("attachment_errors", {})
    context.setdefault("extra_errors", {})
    context.setdefault("import_errors", {})
    context.setdefault(
        "imports", row_import.summaries(service, state, context["draft"])
    )
    body = render_template(
        "service.html",
        service=service,
        state=state,
        menu=hall.services_of(service.hall),
        **context,
    )
    return body, status


@halls.get("/")
@login_required()
def home(hall: str) -> Any:
    services = current_hall().services_of(hall)
    profile = None
    operation = "unit.profile" if hall == "unit" else "person.account"
    try:
        profile = current_hall().router.call(operation, _caller(), {})
    except CoreError as error:
        log.error("profile of %s failed: %s", hall, error)
    return render_template("hall_home.html", hall=hall, menu=services, profile=profile)


@halls.route("/<service_id>", methods=["GET", "POST"])
@login_required()
def service_page(hall: str, service_id: str) -> Any:
    service = _service(hall, service_id)
    if service.kind in ("query", "calc"):
        return _query_page(service)
    if service.kind == "account":
        from engine.account_pages import account_page

        return account_page(service)
    if service.kind != "apply":
        abort(404)
    if request.method == "GET":
        return _render(service, _runtime(service).blank())
    return _apply_post(service)


def _query_page(service: Service) -> Any:
    runtime = _runtime(service)
    source = request.form if request.method == "POST" else request.args
    asked = request.method == "POST" or "run" in request.args
    state = runtime.from_input(source) if asked else runtime.blank()
    result_page = None
    if asked or (service.result and service.result.on_load):
        data = (
            runtime.validate(state)
            if asked
            else runtime.validate(runtime.from_input(MultiDict(_raw_form(state))))
        )
        if data is not None and service.result is not None:
            result_page = _run_query(service, state, data)
    status = 400 if state.has_errors else 200
    return _render(service, state, status, result=result_page)


def _raw_form(state: FormState) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in state.raw.items():
        if isinstance(value, dict):
            flat[f"{name}_from"] = value.get("from", "")
            flat[f"{name}_to"] = value.get("to", "")
        else:
            flat[name] = value
    return flat


def _run_query(service: Service, state: FormState, data: dict[str, Any]) -> Any:
    assert service.result is not None
    page = _int_arg("page", 1)
    sort = request.values.get("sort") or None
    descending = (
        request.values.get("dir", "desc" if service.result.descending else "asc")
        == "desc"
    )
    params = operation_params(service, data)
    page_spec = page_request(service.result, page, sort, descending)
    if page_spec is not None:
        params[PAGE_PARAM] = page_spec
    try:
        answer = current_hall().router.call(service.result.operation, _caller(), params)
    except (Rejected, NotFound) as error:
        state.errors[error.field or "_form"] = error.message
        if error.field is None:
            state.form_errors.append(error.message)
        return None
    except CoreError as error:
        log.error("query %s failed: %s", service.id, error)
        state.form_errors.append("核心系统暂时无法查询，请稍后再试")
        return None
    figures = current_hall().figures()
    return shape_result(service.result, answer, page, sort, descending, data, figures)


def _int_arg(name: str, default: int) -> int:
    value = request.values.get(name, "")
    return int(value) if value.isdigit() and len(value) < 7 else default


@halls.get("/<service_id>/export.<any(csv, xlsx):format>")
@login_required()
def export(hall: str, service_id: str, format: str) -> Any:
    service = _service(hall, service_id)
    if (
        service.result is None
        or not service.result.table_columns
        or not service.result.export
    ):
        abort(404)
    runtime = _runtime(service)
    state = runtime.from_input(request.args)
    data = runtime.validate(state)
    if data is None:
        messages = [message for _, message in error_summary(state, {}, {})]
        abort(400, description="；".join(messages))
    try:
        answer = current_hall().router.call(
            service.result.operation, _caller(), operation_params(service, data)
        )
    except (Rejected, NotFound) as error:
        abort(400, description=error.message)
    except CoreError as error:
        log.error("export of %s failed: %s", service.id, error)
        abort(503, description="核心系统暂时无法查询，请稍后再试")
    rows = table_rows(service.result, answer, data, current_hall().figures())
    columns = service.result.table_columns
    if format == "csv":
        content, mimetype = export_csv(columns, rows), "text/csv; charset=utf-8"
    else:
        content, mimetype = (
            export_xlsx(service.title, columns, rows),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = attachment_disposition(
        f"{service.title}.{format}", f"{service.id}.{format}"
    )
    return response


# Account services ---------------------------------------------------------------------


def _place_error(
    service: Service,
    state: FormState,
    attachment_errors: dict[str, str],
    error: Rejected,
) -> None:
    """Show a core's rejection at its field, its attachment kind or above the form."""
    kinds = {spec.kind for spec in service.attachments}
    fields = {spec_field.name for spec_field in service.fields}
    if error.field in fields:
        state.errors[error.field] = error.message
    elif error.field in kinds:
        attachment_errors[error.field] = error.message
    else:
        state.form_errors.append(error.message)


# Applying ----------------------------------------------------------------------------


def _apply_post(service: Service) -> Any:
    runtime = _runtime(service)
    caller = _caller()
    session = db()
    action = request.form.get("_action", "")
    draft = submission.find_draft(
        session, request.form.get("_draft", ""), service, caller
    )

    imported = row_import.imported_rows(draft)
    if action == "edit" and draft is not None:
        state = runtime.from_input(MultiDict(draft.form_values), imported=imported)
        return _render(service, state, draft=draft)

    state = runtime.from_input(request.form, imported=imported)
    uploads = {key: request.files.getlist(key) for key in request.files}
    attachment_errors: dict[str, str] = {}
    if any(upload.filename for files in uploads.values() for upload in files):
        draft = draft or submission.open_draft(session, service, caller)
        attachment_errors = submission.add_attachments(
            session, current_hall().attachments_dir, service, draft, uploads
        )
        session.commit()

    if action.startswith(
        ("add_row:", "remove_row:", "remove_attachment:", "send_code", "page:")
    ):
        notice = _form_action(service, runtime, state, draft, action)
        return _render(
            service,
            state,
            draft=draft,
            notice=notice,
            attachment_errors=attachment_errors,
        )

    extra_errors = _check_extras(service, caller, draft)
    data = runtime.validate(state)
    attachment_errors = {
        **submission.missing_attachments(service, draft),
        **attachment_errors,
    }
    if data is None or extra_errors or attachment_errors:
        show_first_error(state)
        return _render(
            service,
            state,
            400,
            draft=draft,
            attachment_errors=attachment_errors,
            extra_errors=extra_errors,
        )

    trial = None
    if service.result is not None:
        trial = _apply_trial(service, state, draft, data, attachment_errors)
        if trial is None:
            return _render(
                service,
                state,
                400,
                draft=draft,
                attachment_errors=attachment_errors,
                extra_errors=extra_errors,
            )

    draft = draft or submission.open_draft(session, service, caller)
    draft.form_values = {
        **form_inputs(service, request.form),
        **row_import.kept_imports(draft),
    }
    draft.data = data
    session.commit()
    return _review_page(service, state, draft, trial)


def _review_page(
    service: Service, state: FormState, draft: Application, trial: Any
) -> Any:
    # A field that the result card repeats under the same label is listed once, in
    # the card, because the card shows the value the core checked.
    card_labels = {column.label for column, _ in trial.card} if trial else set()
    fields = [
        field
        for field in service.fields
        if field.name not in state.hidden
        and field.type != "file"
        and field.label not in card_labels
    ]
    return render_template(
        "review.html",
        service=service,
        state=state,
        draft=draft,
        fields=fields,
        result=trial,
        menu=current_hall().services_of(service.hall),
    )


@halls.get("/<service_id>/drafts/<token>/review")
@login_required()
def draft_review(hall: str, service_id: str, token: str) -> Any:
    """Show the review page of one's own checked draft, at the requested row pages.

    The review page is first the response to the form's POST, so its links to
    further pages of rows lead here. It shows the inputs stored by the last check,
    which are what confirming submits.
    """
    service = _service(hall, service_id)
    if service.kind != "apply":
        abort(404)
    caller = _caller()
    draft = submission.find_draft(db(), token, service, caller)
    if draft is None:
        number = _confirmed_number(token, caller)
        if number is None:
            abort(404)
        return redirect(url_for("halls.application", hall=hall, number=number))
    if draft.data is None:
        # The form was never submitted for review, so no review page exists.
        abort(404)
    state = _runtime(service).from_input(
        MultiDict(draft.form_values), imported=row_import.imported_rows(draft)
    )
    trial = None
    if service.result is not None:
        attachment_errors: dict[str, str] = {}
        trial = _apply_trial(service, state, draft, draft.data, attachment_errors)
        if trial is None:
            return _render(
                service, state, 400, draft=draft, attachment_errors=attachment_errors
            )
    return _review_page(service, state, draft, trial)


def _confirmed_number(token: str, caller: Caller) -> str | None:
    """Return the number of the caller's application confirmed from draft `token`."""
    if not submission.valid_draft_token(token):
        return None
    query = select(Application).where(Application.draft_token == token)
    done = db().scalars(submission.owned_by(query, caller)).first()
    return done.number if done is not None and done.number else None


def _apply_trial(
    service: Service,
    state: FormState,
    draft: Application | None,
    data: dict[str, Any],
    attachment_errors: dict[str, str],
) -> Any:
    """Run an application's trial operation before the review page; None on an error.

    The core checks its own rules here, such as a balance or an age, and the person
    sees the figures the application would take effect with before confirming.
    """
    assert service.result is not None
    params = operation_params(service, data)
    params["attachments"] = [
        {"kind": item.kind} for item in (draft.attachments if draft else [])
    ]
    try:
        answer = current_hall().router.call(service.result.operation, _caller(), params)
    except (Rejected, NotFound) as error:
        _place_error(service, state, attachment_errors, error)
        return None
    except CoreError as error:
        log.error("trial of %s failed: %s", service.id, error)
        state.form_errors.append("核心系统暂时无法试算，请稍后再试")
        return None
    return shape_result(service.result, answer, 1, None, False)


def _check_extras(
    service: Service, caller: Caller, draft: Application | None
) -> dict[str, str]:
    """Check the agreement box and the SMS code, which are not service data."""
    errors = {}
    if service.agreement and request.form.get("_agree") not in ("on", "1", "true"):
        errors["_agree"] = f"请阅读并同意《{service.agreement.get('title', '协议')}》"
    if service.verification == "sms":
        code = request.form.get("_sms_code", "").strip()
        subject = (
            caller.unit_account if caller.hall == "unit" else caller.person_account
        ) or ""
        if not code:
            errors["_sms_code"] = "请输入短信验证码（点击“获取验证码”）"
        elif not (code.isascii() and code.isdigit() and len(code) == 6):
            errors["_sms_code"] = "短信验证码应为6位数字"
        elif not check_code(
            db(), current_app.secret_key, caller.hall, subject, service.id, code
        ):
            errors["_sms_code"] = "短信验证码错误或已过期，请重新获取"
    return errors


def _form_action(
    service: Service,
    runtime: FormRuntime,
    state: FormState,
    draft: Application | None,
    action: str,
) -> str:
    """Carry out a no-JavaScript button: add or remove a row or attachment, send a code."""
    parts = action.split(":")
    if parts[0] == "add_row" and len(parts) == 2 and parts[1] in state.rows:
        runtime.add_row(state, parts[1])
    elif (
        parts[0] == "remove_row"
        and len(parts) == 3
        and parts[1] in state.rows
        and parts[2].isdigit()
    ):
        runtime.remove_row(state, parts[1], int(parts[2]))
    elif (
        parts[0] == "remove_attachment"
        and draft is not None
        and len(parts) == 2
        and parts[1].isdigit()
    ):
        submission.remove_attachment(
            db(), current_hall().attachments_dir, draft, int(parts[1])
        )
        db().commit()
    elif (
        parts[0] == "page"
        and len(parts) == 3
        and parts[1] in state.rows
        and parts[2].isdigit()
        and len(parts[2]) < 6
    ):
        state.pages[parts[1]] = int(parts[2])
    elif parts[0] == "send_code" and service.verification == "sms":
        from engine.auth import registered_mobile
        from engine.identifiers import mask_mobile
        from engine.sms import SmsThrottled, issue_code

        caller = _caller()
        subject = (
            caller.unit_account if caller.hall == "unit" else caller.person_account
        ) or ""
        try:
            mobile = registered_mobile(caller)
            issue_code(
                db(),
                current_hall().sms,
                current_app.secret_key,
                caller.hall,
                subject,
                service.id,
                mobile,
            )
            return f"验证码已发送至 {mask_mobile(mobile)}，5分钟内有效"
        except SmsThrottled:
            return "验证码已发送，请60秒后再试"
    return ""


@halls.post("/<service_id>/confirm")
@login_required()
def confirm(hall: str, service_id: str) -> Any:
    service = _service(hall, service_id)
    caller = _caller()
    session = db()
    token = request.form.get("_draft", "")
    draft = submission.find_draft(session, token, service, caller)
    if draft is None:
        # A second click after the first confirmed: show what the first one created.
        number = _confirmed_number(token, caller)
        if number is None:
            abort(404)
        return redirect(url_for("halls.application", hall=hall, number=number))
    if draft.data is None:
        abort(400)
    # Attachments can still be removed after the review page, so check them again.
    missing = submission.missing_attachments(service, draft)
    if missing:
        state = _runtime(service).from_input(
            MultiDict(draft.form_values), imported=row_import.imported_rows(draft)
        )
        return _render(service, state, 400, draft=draft, attachment_errors=missing)
    # Behind proxies the address comes from X-Forwarded-For, so it is cut to the
    # 64 characters of the audit column like every other stored address.
    address = (request.remote_addr or "")[:64]
    application = submission.confirm(
        session, draft, caller, address, service.submit_operation
    )
    if application is None or application.number is None:
        # Another click confirmed the same draft first and created the application.
        return confirm(hall, service_id)
    # One immediate try, so the application reaches the review queue at once when the
    # core is up; otherwise the delivery worker retries it.
    hall_state = current_hall()
    DeliveryWorker(hall_state.session_factory, hall_state.router).deliver_now(
        application.number
    )
    flash(f"提交成功，申报编号 {application.number}")
    return redirect(url_for("halls.application", hall=hall, number=application.number))


# htmx fragments -----------------------------------------------------------------------


def _fragment_state(runtime: FormRuntime) -> FormState:
    """Read the posted form without the lookups that a field change triggers."""
    return runtime.from_input(request.form, run_triggers=False)


def _row_table(service: Service, table_name: str) -> RowTable:
    """Return the service's row table of that name, or abort with 404 if it has none."""
    if table_name not in {table.name for table in service.rows}:
        abort(404)
    return service.table(table_name)


def _changed_cells(
    service: Service,
    state: FormState,
    table: RowTable | None,
    row: Row | None,
    names: set[str],
) -> str:
    """Render the cells that changed as out-of-band swaps."""
    cells = changed_cells(state, table, row, names)
    return render_template(
        "partials/oob_cells.html", cells=cells, state=state, service=service
    )


@halls.post("/<service_id>/lookup/<name>")
@login_required()
def lookup(hall: str, service_id: str, name: str) -> Any:
    service = _service(hall, service_id)
    try:
        spec_lookup, table = service.lookup(name)
    except KeyError:
        abort(404)
    runtime = _runtime(service)
    state = _fragment_state(runtime)
    row = None
    if table is not None:
        row_index = request.form.get("_row", "")
        try:
            row = state.row(table.name, int(row_index))
        except (KeyError, ValueError):
            abort(400)
    runtime.run_lookup(state, name, row.index if row else None)
    names = set(spec_lookup.fill) | (
        {spec_lookup.trigger} if spec_lookup.trigger else set()
    )
    return _changed_cells(service, state, table, row, names)


@halls.post("/<service_id>/calc")
@login_required()
def calculate(hall: str, service_id: str) -> Any:
    service = _service(hall, service_id)
    state = _fragment_state(_runtime(service))
    table = row = None
    table_name = request.form.get("_table", "")
    if table_name:
        try:
            table = service.table(table_name)
            row = state.row(table.name, int(request.form.get("_row", "")))
        except (StopIteration, KeyError, ValueError):
            abort(400)
    return _changed_cells(service, state, table, row, set())


@halls.post("/<service_id>/rows/<table_name>/add")
@login_required()
def add_row(hall: str, service_id: str, table_name: str) -> Any:
    service = _service(hall, service_id)
    table = _row_table(service, table_name)
    if not table.editable:
        abort(400, description=f"{table.label}的行由核心系统列出，不能手工添加")
    runtime = _runtime(service)
    state = _fragment_state(runtime)
    row = runtime.add_row(state, table_name)
    if row is None:
        return render_template(
            "partials/table_error.html",
            table=table,
            message=state.errors.get(table_name, ""),
        )
    return render_template(
        "partials/new_row.html",
        service=service,
        table=table,
        row=row,
        cells=row_cells(table, row),
        state=state,
    )


@halls.post("/<service_id>/rows/<table_name>/remove")
@login_required()
def remove_row(hall: str, service_id: str, table_name: str) -> Any:
    service = _service(hall, service_id)
    _row_table(service, table_name)
    runtime = _runtime(service)
    state = _fragment_state(runtime)
    index = request.form.get("_row", "")
    if index.isdigit():
        runtime.remove_row(state, table_name, int(index))
    return _changed_cells(service, state, None, None, set())


@halls.post("/<service_id>/attachments/<kind>")
@login_required()
def upload(hall: str, service_id: str, kind: str) -> Any:
    service = _service(hall, service_id)
    spec = next((item for item in service.attachments if item.kind == kind), None)
    if spec is None:
        abort(404)
    session = db()
    caller = _caller()
    draft = submission.find_draft(
        session, request.form.get("_draft", ""), service, caller
    )
    draft = draft or submission.open_draft(session, service, caller)
    action = request.form.get("_action", "")
    if action.startswith("remove_attachment:") and action.split(":")[1].isdigit():
        submission.remove_attachment(
            session, current_hall().attachments_dir, draft, int(action.split(":")[1])
        )
        errors = {}
    else:
        errors = submission.add_attachments(
            session,
            current_hall().attachments_dir,
            service,
            draft,
            {kind: request.files.getlist(kind)},
        )
    session.commit()
    return render_template(
        "partials/attachment_kind.html",
        service=service,
        spec=spec,
        draft=draft,
        error=errors.get(kind),
        oob_draft=True,
    )


# Applications ---------------------------------------------------------------------------


@halls.get("/applications/<number>")
@login_required()
def application(hall: str, number: str) -> Any:
    found = submission.find_application(db(), number, _caller())
    if found is None:
        abort(404)
    service = current_hall().services.get(found.service_id)
    return render_template(
        "application.html",
        application=found,
        service=service,
        status_label=waiting_label(found.status, delivery_status(db(), found))
        or STATUS_LABELS.get(found.status, found.status),
        menu=current_hall().services_of(hall),
        revision=revisions.latest_revision(db(), found, _caller()),
    )


@halls.post("/applications/<number>/revise")
@login_required()
def revise(hall: str, number: str) -> Any:
    """Open the form of a returned application, filled in, to correct and submit."""
    caller = _caller()
    returned = submission.find_application(db(), number, caller)
    if returned is None or returned.status != revisions.RETURNED:
        abort(404)
    service = _service(hall, returned.service_id)
    earlier = revisions.latest_revision(db(), returned, caller)
    if earlier is not None and earlier.number:
        return redirect(url_for("halls.application", hall=hall, number=earlier.number))
    draft = revisions.revise(
        db(), current_hall().attachments_dir, service, returned, caller
    )
    state = _runtime(service).from_input(
        MultiDict(draft.form_values), imported=row_import.imported_rows(draft)
    )
    notice = (
        f"正在修改退回的申报 {number}。提交后生成新的申报编号，"
        f"作为申报 {number} 的第{draft.revision}版重新审核"
    )
    return _render(service, state, draft=draft, notice=notice)


@halls.get("/applications/<number>/attachments/<int:attachment_id>")
@login_required()
def attachment(hall: str, number: str, attachment_id: int) -> Any:
    found = submission.find_application(db(), number, _caller())
    if found is None:
        abort(404)
    return send_attachment(found, attachment_id)


@halls.get("/drafts/<token>/attachments/<int:attachment_id>")
@login_required()
def draft_attachment(hall: str, token: str, attachment_id: int) -> Any:
    if not submission.valid_draft_token(token):
        abort(404)
    query = select(Application).where(Application.draft_token == token)
    found = db().scalars(submission.owned_by(query, _caller())).first()
    if found is None:
        abort(404)
    return send_attachment(found, attachment_id)


def send_attachment(application: Application, attachment_id: int) -> Any:
    item: Attachment | None = next(
        (each for each in application.attachments if each.id == attachment_id), None
    )
    if item is None:
        abort(404)
    path = stored_path(current_hall().attachments_dir, item.stored_name)
    response = send_file(
        path,
        mimetype=item.content_type,
        download_name=item.original_name,
        as_attachment=False,
    )
    # The type was checked by content, so the browser must not guess another one.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
