"""Unit login with a client certificate that a trusted TLS proxy has received.

The reverse proxy terminates TLS, asks the browser for a client certificate, and
passes it URL-encoded in a request header. The hall accepts that header only from
the proxy addresses it is configured to trust, and checks the certificate again
itself: chain to a configured root, validity dates, revocation list and USCC.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from connectors.base import Caller, NotFound, Rejected
from engine.app import current_hall
from engine.auth import _record_attempt, _start_session
from engine.client_certificates import (
    CertificateAuthority,
    CertificateRejected,
    load_authority,
    read_header,
    verify_client,
)
from engine.proxies import peer_address

log = logging.getLogger(__name__)

ca_login = Blueprint("ca_login", __name__)

DEFAULT_HEADER = "X-Client-Cert"


def _authority() -> CertificateAuthority | None:
    """Load the configured CA once per app; None when CA login is not configured."""
    config = current_app.config
    if not config.get("CA_CERTIFICATES") or not config.get("CA_CRLS"):
        return None
    cached = current_app.extensions.get("ca_authority")
    if cached is None:
        cached = load_authority(
            Path(config["CA_CERTIFICATES"]), Path(config["CA_CRLS"])
        )
        current_app.extensions["ca_authority"] = cached
    return cached


def _trusted_proxies() -> set[str]:
    configured = current_app.config.get("CA_TRUSTED_PROXIES") or ()
    if isinstance(configured, str):
        configured = configured.split(",")
    return {address.strip() for address in configured if address.strip()}


def _page(message: str, status: int) -> tuple[str, int]:
    errors = {"_form": message} if message else {}
    return render_template("login_ca.html", errors=errors), status


@ca_login.route("/unit/login/ca", methods=["GET", "POST"])
def unit_login_ca() -> Any:
    authority = _authority()
    if authority is None:
        return _page("本中心尚未开通CA证书登录，请使用短信验证码登录", 404)
    if request.method == "GET":
        return _page("", 200)

    # The certificate header comes from the proxy connected to the hall, so that
    # proxy's address is checked even when remote_addr is the browser's.
    address = peer_address()
    if address not in _trusted_proxies():
        log.warning("CA login from %s, which is not a trusted proxy", address)
        return _page("请通过中心的CA证书登录入口访问", 403)
    header = current_app.config.get("CA_CERT_HEADER") or DEFAULT_HEADER
    value = request.headers.get(header, "")
    if not value:
        return _page("未收到CA证书，请插入单位CA证书（UKey）后重试", 400)
    try:
        certificate = read_header(value)
        now = dt.datetime.now(dt.UTC)
        code = verify_client(authority, certificate, now)
        unit = current_hall().router.call(
            "unit.by_uscc", Caller("unit"), {"uscc": code}
        )
    except CertificateRejected as error:
        log.info("CA login rejected: %s", error.message)
        return _page(error.message, 403)
    except (Rejected, NotFound) as error:
        return _page(error.message, 403)
    unit_account = unit["unit_account"]
    _record_attempt("unit", unit_account, True)
    _start_session("unit", unit_account, unit_account=unit_account)
    log.info(
        "unit %s logged in with certificate %x",
        unit_account,
        certificate.serial_number,
    )
    return redirect(url_for("halls.home", hall="unit"))
