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
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

SETTING = "HALL_TRUSTED_PROXIES"
PUBLIC_URL_SETTING = "HALL_PUBLIC_URL"
# The maximum length of the public address, which prints on one line under the QR code.
MAX_PUBLIC_URL = 200
# The characters RFC 3986 allows unescaped in a URL, without space, quote or backslash.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# A DNS host name of letters, digits and hyphens in labels of 1 to 63 characters.
_HOST_NAME = re.compile(
    r"(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?"
)


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

    The scheme and host come back in lower case. Raise ValueError unless it is an
    http or https URL of at most MAX_PUBLIC_URL characters, with a valid host and
    port, without credentials, query or fragment, and with only characters a URL may
    carry unescaped. The address is printed as a link and encoded in a QR code, so a
    space, a quote or a line break in it would break both.
    """
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        # The IPv6 address or the port is invalid, and port 0 is rejected below.
        parts, port = urlsplit(""), 0
    host = (parts.hostname or "").lower()
    if (
        len(text) > MAX_PUBLIC_URL
        or not _URL_CHARACTERS.fullmatch(text)
        or "?" in text
        or "#" in text
        or parts.scheme.lower() not in ("http", "https")
        or parts.username is not None
        or not (":" in host or _HOST_NAME.fullmatch(host))
        or port == 0
    ):
        raise ValueError(
            f"{PUBLIC_URL_SETTING} must be the address under which the public opens "
            f"the hall, such as https://gjj.example.cn, with at most "
            f"{MAX_PUBLIC_URL} characters and a non-ASCII host name in its xn-- "
            f"form, not {value!r}"
        )
    netloc = parts.netloc.lower().rstrip(":")
    return f"{parts.scheme.lower()}://{netloc}{parts.path}".rstrip("/")


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
