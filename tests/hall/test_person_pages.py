"""Every person-hall service: in the menu and its page opens for the demo depositor."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from person_support import DEMO_ACCOUNT
from support import login_person, parse

# The services of the person hall's catalogue, without the two printed certificates.
SERVICES = {
    "person-identity",
    "person-account",
    "person-ledger",
    "person-deposit-proof",
    "person-retirement-withdrawal",
    "person-repayment-withdrawal",
    "person-rent-withdrawal",
    "person-loan-trial",
    "person-loan-account",
    "person-loan-progress",
    "person-loan-repayments",
    "person-early-repayment",
    "person-loan-info-change",
    "person-offset-sign",
    "person-offset-revoke",
    "person-partner-projects",
    "person-password",
    "person-applications",
}


def test_menu_lists_every_service(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    links = {
        link["href"].rsplit("/", 1)[-1]
        for link in parse(client.get("/person/")).select("a[href^='/person/person-']")
    }
    assert SERVICES <= links
    assert "person-forgot-password" not in links


def test_every_page_opens(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    for service in sorted(SERVICES):
        response = client.get(f"/person/{service}")
        assert response.status_code == 200, service
        title = parse(response).find("h1")
        assert title is not None and title.get_text(strip=True), service


def test_forgot_password_opens_without_login(client: FlaskClient) -> None:
    response = client.get("/person/public/person-forgot-password")
    assert response.status_code == 200
    assert parse(response).find(id="f-id_number") is not None
