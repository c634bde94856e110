"""Routes of print services: issue a certificate as a PDF, and verify it by its code."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from connectors.base import Caller, CoreError, NotFound, Rejected
from engine import certificates, print_jobs
from engine.app import current_hall, db
from engine.auth import current_caller, login_required
from engine.clock import business_date
from engine.downloads import attachment_disposition
from engine.forms import FormRuntime, FormState
from engine.pages import operation_params
from engine.proxies import parse_public_url, public_url_for
from engine.service import Service
from engine.storage.models import AuditEntry, IssuedCertificate, PrintJob, utcnow
from renderers.pdf.filters import chinese_date
from renderers.pdf.renderer import MissingGlyphs, PdfRenderer

log = logging.getLogger(__name__)

printing = Blueprint("certificates", __name__)

DEFAULT_CENTRE_NAME = "韶关市住房公积金管理中心"
CORE_FAILED = "核心系统暂时无法出具证明，请稍后再试"
ADDRESS_UNSET = "本中心尚未设置证明核验网址，暂时无法打印证明，请联系公积金中心"
ADDRESS_INVALID = "请求中的网址无效，请从公积金中心公布的网址打开本页后重新打印"


def _print_service(hall: str, service_id: str) -> Service:
    service = current_hall().services.get(service_id)
    if service is None or service.hall != hall or service.printout is None:
        abort(404)
    return service


def _caller() -> Caller:
    caller = current_caller()
    assert caller is not None  # login_required ran first
    return caller


def renderer() -> PdfRenderer:
    """Return the app's PDF renderer, built on first use and then shared."""
    found = current_app.extensions.get("pdf_renderer")
    if found is None:
        seal = current_app.config.get("SEAL_IMAGE") or os.environ.get("HALL_SEAL_IMAGE")
        found = PdfRenderer(seal_image=Path(seal) if seal else None)
        current_app.extensions["pdf_renderer"] = found
    return found


def centre_name() -> str:
    configured = current_app.config.get("CENTRE_NAME")
    return configured or os.environ.get("HALL_CENTRE_NAME") or DEFAULT_CENTRE_NAME


def _page(service: Service, state: FormState, status: int = 200) -> Any:
    body = render_template(
        "print.html",
        service=service,
        state=state,
        menu=current_hall().services_of(service.hall),
        extra_errors={},
        attachment_errors={},
        jobs=print_jobs.recent(db(), service.id, _caller()),
        retention_days=print_jobs.RETENTION.days,
    )
    return body, status


@printing.route("/<any(unit, person):hall>/print/<service_id>", methods=["GET", "POST"])
@login_required()
def print_page(hall: str, service_id: str) -> Any:
    service = _print_service(hall, service_id)
    runtime = FormRuntime(
        service, current_hall().router, _caller(), current_hall().figures()
    )
    if request.method == "GET":
        return _page(service, runtime.blank())

    state = runtime.from_input(request.form)
    if not current_app.config.get("PUBLIC_URL"):
        status = _request_address_status()
        if status != 200:
            message = ADDRESS_INVALID if status == 400 else ADDRESS_UNSET
            state.form_errors.append(message)
            return _page(service, state, status)
    data = runtime.validate(state)
    if data is None:
        return _page(service, state, 400)
    answer, status = _certificate_data(service, state, data)
    if answer is None:
        return _page(service, state, status)
    return _issue(service, state, answer)


def _request_address_status() -> int:
    """Check that the request's address may stand in for HALL_PUBLIC_URL.

    Without HALL_PUBLIC_URL the verification link and QR code print under the Host
    header, which any client can write. So only a demo or development hall prints
    under it, and only when it is a valid host name and port. Returns 200, 400 for
    an invalid Host or 503 for a hall that needs HALL_PUBLIC_URL set.
    """
    try:
        parse_public_url(request.host_url)
    except ValueError:
        log.warning("print rejected: invalid Host header %r", request.host[:100])
        return 400
    if current_app.config["DEMO_MODE"] or current_app.config["DEVELOPMENT"]:
        return 200
    log.error(
        "print rejected: HALL_PUBLIC_URL is not set; set it to the address under "
        "which the public opens the hall, which certificates print as their "
        "verification link"
    )
    return 503


def _certificate_data(
    service: Service, state: FormState, data: dict[str, Any]
) -> tuple[dict[str, Any] | None, int]:
    """Call the print operation, and on a refusal put its message on the form.

    Returns the data, or None with the HTTP status of the page that explains why.
    """
    assert service.printout is not None
    try:
        answer = current_hall().router.call(
            service.printout.operation, _caller(), operation_params(service, data)
        )
    except (Rejected, NotFound) as error:
        state.errors[error.field or "_form"] = error.message
        if error.field is None or error.field not in state.values:
            state.form_errors.append(error.message)
        return None, 404 if isinstance(error, NotFound) else 400
    except CoreError as error:
        log.error("print %s failed: %s", service.id, error)
        state.form_errors.append(CORE_FAILED)
        return None, 503
    return answer, 200


def _issue(service: Service, state: FormState, answer: dict[str, Any]) -> Any:
    """Store a new verification code, render the PDF and send it as a download.

    The code is committed only once the PDF exists, so a failed render leaves no
    certificate that /verify would confirm.
    """
    assert service.printout is not None
    session = db()
    caller = _caller()
    code = certificates.new_code()
    # The PDF prints the business date of this instant, and the certificate stores it.
    issued_at = utcnow()
    context = _print_context(service, code, answer, issued_at)
    if print_jobs.row_count(answer) > current_app.config["PRINT_JOB_ROWS"]:
        summary = _summary(service, state)
        unfinished = _unfinished_job(service, caller, summary)
        if unfinished is not None:
            if print_jobs.stalled(unfinished):
                print_jobs.start(current_app._get_current_object(), unfinished.id)
            return _job_redirect(service, unfinished)
        return _queue(service, caller, context, code, summary, issued_at)
    certificate = certificates.issue(
        session, service, caller, answer, code=code, issued_at=issued_at
    )
    try:
        content = renderer().render(service.printout.template, context)
    except MissingGlyphs as error:
        session.rollback()
        log.error("certificate %s not rendered: %s", service.id, error)
        state.form_errors.append(print_jobs.RENDER_FAILED)
        return _page(service, state, 500)
    subject = caller.unit_account if caller.hall == "unit" else caller.person_account
    session.add(
        AuditEntry(
            hall=caller.hall,
            actor=subject or "-",
            action="print",
            address=_address(),
            detail={"service": service.id, "certificate": certificate.id},
        )
    )
    session.commit()
    log.info("certificate %s issued for %s", certificate.id, service.id)
    return pdf_download(content, service.printout.filename, service.id)


def _print_context(
    service: Service, code: str, answer: dict[str, Any], issued_at: dt.datetime
) -> dict[str, Any]:
    assert service.printout is not None
    printed_code = certificates.display_code(code)
    return {
        "title": service.printout.filename,
        "centre_name": centre_name(),
        "issued_on": business_date(issued_at),
        "code": printed_code,
        "verify_url": public_url_for("certificates.verify", code=printed_code),
        "valid_days": service.printout.valid_days,
        "data": answer,
    }


def _summary(service: Service, state: FormState) -> str:
    """Describe what the form requested, such as the chosen year, by its labels."""
    parts = []
    for field in service.fields:
        value = state.values.get(field.name)
        if value in (None, "") or field.type in ("password", "file"):
            continue
        labels = {
            choice.value: choice.label for choice in state.choices.get(field.name, [])
        }
        parts.append(labels.get(str(value), str(value)))
    return "，".join(parts)


def _queue(
    service: Service,
    caller: Caller,
    context: dict[str, Any],
    code: str,
    summary: str,
    issued_at: dt.datetime,
) -> Any:
    """Queue a long document as a print job and redirect to its progress page.

    The job is dated at `issued_at`, the instant whose date the PDF prints, since
    its certificate is issued at the job's `created_at` once the PDF exists.
    """
    session = db()
    job = print_jobs.queue(session, service, caller, context, code, _address(), summary)
    job.created_at = issued_at
    session.commit()
    log.info("print job %s queued for %s: %s rows", job.id, service.id, job.row_count)
    print_jobs.start(current_app._get_current_object(), job.id)
    return _job_redirect(service, job)


def _unfinished_job(service: Service, caller: Caller, summary: str) -> PrintJob | None:
    """Return the caller's queued or rendering job of the same request, or None.

    A second click on 打印证明 then follows the first job instead of laying out the
    same statement again beside it.
    """
    for job in print_jobs.recent(db(), service.id, caller):
        if job.status in print_jobs.UNFINISHED and job.context["summary"] == summary:
            return job
    return None


def _job_redirect(service: Service, job: PrintJob) -> Any:
    """Redirect to a job's progress page, so a reload of it does not print again."""
    return redirect(
        url_for(
            "certificates.print_job",
            hall=service.hall,
            service_id=service.id,
            token=job.token,
        ),
        303,
    )


def _job_page(service: Service, job: Any, status: int = 200) -> Any:
    """Render the job's progress as a whole page, or as the fragment htmx polls for."""
    template = (
        "partials/print_job.html"
        if request.headers.get("HX-Request") == "true"
        else "print_job.html"
    )
    body = render_template(
        template,
        service=service,
        job=job,
        estimate=print_jobs.time_needed(job.row_count),
        retention_days=print_jobs.RETENTION.days,
        menu=current_hall().services_of(service.hall),
    )
    return body, status


@printing.get("/<any(unit, person):hall>/print/<service_id>/jobs/<token>")
@login_required()
def print_job(hall: str, service_id: str, token: str) -> Any:
    service = _print_service(hall, service_id)
    job = print_jobs.find(db(), token, service.id, _caller())
    if job is None:
        abort(404)
    if print_jobs.stalled(job):
        print_jobs.start(current_app._get_current_object(), job.id)
    return _job_page(service, job)


@printing.get("/<any(unit, person):hall>/print/<service_id>/jobs/<token>/pdf")
@login_required()
def print_job_pdf(hall: str, service_id: str, token: str) -> Any:
    service = _print_service(hall, service_id)
    assert service.printout is not None
    job = print_jobs.find(db(), token, service.id, _caller())
    if job is None or job.status != print_jobs.READY or job.pdf is None:
        abort(404)
    return pdf_download(job.pdf, service.printout.filename, service.id)


def pdf_download(content: bytes, filename: str, ascii_name: str) -> Response:
    """Send a PDF download named in Chinese, with an ASCII name for old clients."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = attachment_disposition(
        f"{filename}.pdf", f"{ascii_name}.pdf"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# Verification -------------------------------------------------------------------------


def _address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _lookup_address() -> str:
    return certificates.lookup_address(request.remote_addr or "unknown")


def _verify_page(status: int, **context: Any) -> Response:
    """Render the verification page, kept out of caches and search engines.

    A certificate's facts are personal data, so no proxy or browser may store the
    page and no search engine may list it, whatever the status.
    """
    context.setdefault("certificate", None)
    context.setdefault("typed", "")
    context.setdefault("invalid", False)
    response = make_response(render_template("verify.html", **context), status)
    _keep_private(response)
    return response


def _keep_private(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"


@printing.get("/verify")
def verify_form() -> Any:
    typed = request.args.get("code", "")
    if typed:
        code = certificates.normalise_code(typed)
        if code is not None:
            response = redirect(
                url_for("certificates.verify", code=certificates.display_code(code))
            )
            _keep_private(response)
            return response
        shown = typed[: certificates.MAX_TYPED_LENGTH]
        return _verify_page(400, typed=shown, invalid=True)
    return _verify_page(200)


@printing.get("/verify/<code>")
def verify(code: str) -> Any:
    """Show a certificate's key facts to anyone holding its code, or "not found".

    The page repeats a code only in its printed form. Text that cannot be a code
    gets the format error alone, so a link cannot put its own words on the page.
    """
    session = db()
    normal = certificates.normalise_code(code)
    printed = certificates.display_code(normal) if normal else ""
    address = _lookup_address()
    # A throttled address is rejected before the look-up, and admit_lookup holds
    # back a burst of requests that passed this check together.
    if certificates.lookups_throttled(session, address):
        return _throttled(address, printed)
    found = certificates.find(session, normal) if normal else None
    if not certificates.admit_lookup(session, address, found is not None):
        return _throttled(address, printed)
    if found is None:
        return _verify_page(404, typed=printed, invalid=normal is None)
    issued = certificates.issued_on(found)
    validity = _validity(found, issued)
    # Dates read as the certificate prints them, such as 2026年12月5日.
    return _verify_page(
        200,
        certificate=found,
        typed=printed,
        code=printed,
        issued_on=chinese_date(issued),
        validity=validity,
        valid_until=chinese_date(validity.valid_until) if validity else "",
    )


def _validity(
    certificate: IssuedCertificate, issued: dt.date
) -> certificates.Validity | None:
    """Return the validity that the certificate's spec declares, as of today.

    The print template states the same days, which the spec check enforces.
    A certificate without one, or whose service is gone, gets None.
    """
    # NOTE: the spec as it reads now gives the days, so a changed valid_days also
    # changes the page of certificates printed before the change.
    service = current_hall().services.get(certificate.service_id)
    if service is None or service.printout is None:
        return None
    days = service.printout.valid_days
    if days is None:
        return None
    return certificates.validity(issued, days, business_date())


def _throttled(address: str, printed: str) -> Response:
    log.warning("verification look-ups throttled for %s", address)
    seconds = certificates.retry_after(db(), address)
    # The page names whole minutes, rounded up, so waiting that long always suffices.
    minutes = -(-seconds // 60)
    response = _verify_page(429, throttled=True, typed=printed, wait_minutes=minutes)
    response.headers["Retry-After"] = str(seconds)
    return response
