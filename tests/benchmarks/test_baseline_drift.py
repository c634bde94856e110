"""The hand-written loan trial page of the benchmark must match the engine's page.

`benchmarks/page_throughput.py` compares the speed of the two pages, which is only
fair while they do the same work: the same inputs, checks and messages.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import csrf_token, login_person

# The benchmarks folder is not an installed package, and a bare `pytest` run puts
# only the test folders on the import path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.baseline.app import create_app as create_baseline  # noqa: E402
from benchmarks.baseline.outline import normalised, outline  # noqa: E402

URL = "/person/person-loan-trial"
DEMO_ID = "44020319850305021X"
VALID = {
    "house_price": "2000000",
    "home": "first",
    "income": "20000",
    "existing_debt": "0",
    "term_years": "20",
    "method": "equal-instalments",
}
# Each case breaks the rules of several fields at once.
INVALID = {
    "bounds and an unknown option": {
        "house_price": "5000",
        "home": "first",
        "income": "",
        "co_borrower": "on",
        "co_income": "0",
        "existing_debt": "-1",
        "term_years": "40",
        "method": "x",
    },
    "formats and empty choices": {
        "house_price": "1,000,000.123",
        "home": "",
        "income": "abc",
        "co_borrower": "on",
        "co_income": "",
        "existing_debt": "1e5",
        "term_years": "2.5",
        "method": "",
    },
    "too many digits": {
        "house_price": "1" * 16,
        "home": "third",
        "income": "0.001",
        "existing_debt": "12，000",
        "term_years": "0",
        "method": "equal-principal",
    },
    "everything empty": {},
}


@pytest.fixture
def clients(app: Flask, database_url: str) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    """Return clients of the engine and of the baseline, logged in as the demo person."""
    engine_client = app.test_client()
    login_person(engine_client, DEMO_ID)
    baseline = create_baseline(
        {"DATABASE_URL": database_url, "SECRET_KEY": app.config["SECRET_KEY"]}
    )
    baseline_client = baseline.test_client()
    cookie = engine_client.get_cookie("session")
    assert cookie is not None
    baseline_client.set_cookie("session", cookie.value)
    yield engine_client, baseline_client
    baseline.extensions["database"].kw["bind"].dispose()


def post(client: FlaskClient, form: dict[str, str]) -> Any:
    token = csrf_token(client.get(URL))
    return client.post(URL, data={"csrf_token": token, **form})


def test_get_matches_engine(clients: tuple[FlaskClient, FlaskClient]) -> None:
    engine_client, baseline_client = clients
    engine_page = engine_client.get(URL)
    baseline_page = baseline_client.get(URL)
    assert engine_page.status_code == 200
    assert baseline_page.status_code == 200
    engine_html = engine_page.get_data(as_text=True)
    baseline_html = baseline_page.get_data(as_text=True)
    assert outline(baseline_html) == outline(engine_html)
    assert normalised(baseline_html) == normalised(engine_html)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_post_matches_engine(
    clients: tuple[FlaskClient, FlaskClient], case: str
) -> None:
    engine_client, baseline_client = clients
    engine_page = post(engine_client, INVALID[case])
    baseline_page = post(baseline_client, INVALID[case])
    assert engine_page.status_code == 400
    assert baseline_page.status_code == 400
    engine_outline = outline(engine_page.get_data(as_text=True))
    baseline_outline = outline(baseline_page.get_data(as_text=True))
    assert engine_outline.error_messages, "the case should fail validation"
    assert baseline_outline.field_names == engine_outline.field_names
    assert baseline_outline.error_messages == engine_outline.error_messages
    assert normalised(baseline_page.get_data(as_text=True)) == normalised(
        engine_page.get_data(as_text=True)
    )


def test_valid_post_matches_engine(clients: tuple[FlaskClient, FlaskClient]) -> None:
    engine_client, baseline_client = clients
    engine_page = post(engine_client, VALID)
    baseline_page = post(baseline_client, VALID)
    assert engine_page.status_code == 200
    assert baseline_page.status_code == 200
    assert normalised(baseline_page.get_data(as_text=True)) == normalised(
        engine_page.get_data(as_text=True)
    )


def test_baseline_requires_login(app: Flask, database_url: str) -> None:
    baseline = create_baseline(
        {"DATABASE_URL": database_url, "SECRET_KEY": app.config["SECRET_KEY"]}
    )
    response = baseline.test_client().get(URL)
    baseline.extensions["database"].kw["bind"].dispose()
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/person/login?next=")


def test_baseline_rejects_missing_csrf(
    clients: tuple[FlaskClient, FlaskClient],
) -> None:
    _, baseline_client = clients
    response = baseline_client.post(URL, data=VALID)
    assert response.status_code == 400
