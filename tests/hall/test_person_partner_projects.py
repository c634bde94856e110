"""合作楼盘查询 (person-partner-projects): the partner projects found by a keyword."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from person_support import DEMO_ACCOUNT, core_session, table_of
from sqlalchemy import select
from support import errors_of, login_person

from connectors.embedded.models import PartnerProject

URL = "/person/person-partner-projects"


def projects(app: Flask) -> list[PartnerProject]:
    with core_session(app) as session:
        return list(session.scalars(select(PartnerProject)))


def test_all_projects_by_default(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    rows = table_of(client.get(URL))
    expected = sorted(projects(app), key=lambda project: project.name)
    assert [row[0] for row in rows] == [project.name for project in expected][:20]
    first = expected[0]
    assert rows[0] == [
        first.name,
        first.developer,
        first.district,
        first.address,
        first.banks,
    ]


def test_keyword_matches_district(app: Flask, client: FlaskClient) -> None:
    district = projects(app)[0].district
    expected = sorted(
        project.name
        for project in projects(app)
        if district in project.name + project.developer + project.district
        or district in project.address
    )
    login_person(client, DEMO_ACCOUNT)
    response = client.get(URL, query_string={"run": "1", "keyword": district})
    assert sorted(row[0] for row in table_of(response)) == expected


def test_wildcards_match_literally(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    for keyword in ("%", "_", "名苑%"):
        response = client.get(URL, query_string={"run": "1", "keyword": keyword})
        assert response.status_code == 200
        assert table_of(response) == []


def test_keyword_length_checked(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    response = client.get(URL, query_string={"run": "1", "keyword": "楼" * 51})
    assert response.status_code == 400
    assert any("关键字" in message for message in errors_of(response))


def test_login_required(client: FlaskClient) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "/person/login" in response.headers["Location"]
