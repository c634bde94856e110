"""Requests that reach the hall through reverse proxies: client and public addresses.

`HALL_TRUSTED_PROXIES` is the number of reverse proxies in front of the hall, each of
which appends the address it received the request from to `X-Forwarded-For`. With a
count N above 0, werkzeug's ProxyFix sets `request.remote_addr` to the N-th address
from the right of that header, so per-address throttles and logs see the real sender.
With 0 (the default) the header is ignored, because a client can write any address
into it.

`HALL_PUBLIC_URL` is the address under which the public opens the hall, such as
https://gjj.example.cn. Certificates print their verification link under it, because
behind a proxy the hall may see itself as http://127.0.0.1:8000.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

SETTING = "HALL_TRUSTED_PROXIES"
PUBLIC_URL_SETTING = "HALL_PUBLIC_URL"


def trusted_proxies_from_environment() -> int:
    """Read HALL_TRUSTED_PROXIES, which must be a count of 0 or more (ValueError)."""
    text = os.environ.get(SETTING, "0").strip() or "0"
    return parse_proxy_count(text)


def parse_proxy_count(value: Any) -> int:
    """Parse a proxy count of 0 or more, and raise ValueError for anything else."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError(
            f"{SETTING} must be a whole number of 0 or more "
            f"(the reverse proxies in front of the hall), not {value!r}"
        )
    return int(text)


def trust_proxies(app: Flask) -> None:
    """Wrap the app in ProxyFix for the configured number of proxies, if any.

    Only X-Forwarded-For is read, and the forwarded scheme, host, port and prefix
    headers are ignored.
    """
    count = parse_proxy_count(app.config.get("TRUSTED_PROXIES", 0))
    app.config["TRUSTED_PROXIES"] = count
    if count:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=0, x_host=0, x_port=0, x_prefix=0
        )


def peer_address() -> str:
    """Return the address of the host directly connected to the hall.

    That is the nearest proxy when ProxyFix has replaced `request.remote_addr`, and
    the client itself otherwise.
    """
    original = request.environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or request.remote_addr or ""


def parse_public_url(value: Any) -> str:
    """Return the public address without its trailing slash, or "" when it is unset.

    Raise ValueError unless it is an http or https URL with a host and without
    credentials, query or fragment.
    """
    text = str(value or "").strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"{PUBLIC_URL_SETTING} must be the address under which the public opens "
            f"the hall, such as https://gjj.example.cn, not {value!r}"
        )
    return text.rstrip("/")


def public_url_for(endpoint: str, **values: Any) -> str:
    """Build the absolute address of an endpoint as the public opens it.

    Uses HALL_PUBLIC_URL when it is set, and the address of the current request
    otherwise.
    """
    base = current_app.config.get("PUBLIC_URL") or ""
    if not base:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root) :]
    return base + path
