"""Client addresses that ProxyFix takes from X-Forwarded-For, as the hall stores them."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import login_unit
from test_unit_resubmission import PNG, SERVICE, opening
from unit_flow import submit

from engine.proxies import trust_proxies
from engine.storage.models import AuditEntry

# Longer than the 64 characters of every stored address column.
LONG_ADDRESS = "2001:db8:" + ":".join(["ffff"] * 20)


def test_long_forwarded_address_cut_on_submit(client: FlaskClient, app: Flask) -> None:
    app.config["TRUSTED_PROXIES"] = 1
    trust_proxies(app)
    client.environ_base["HTTP_X_FORWARDED_FOR"] = LONG_ADDRESS
    login_unit(client, app)

    files = {"id_card": (io.BytesIO(PNG), "身份证.png")}
    number = submit(client, SERVICE, opening(), files)

    with app.extensions["hall"].session_factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "submit", AuditEntry.application_number == number
            )
        ).one()
    assert len(LONG_ADDRESS) > 64
    assert entry.address == LONG_ADDRESS[:64]
