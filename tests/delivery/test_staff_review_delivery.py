"""The staff review pages show an application's delivery state and block decisions.

A reviewer decides only an application whose delivery the core has confirmed. These
tests build real outcomes with the delivery worker: a core response lost on the way
back, a refused connection and a delivery not yet tried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bs4 import BeautifulSoup, Tag
from delivery_support import (
    application,
    base_change,
    free_port,
    http_router,
    store_application,
    unit_accounts,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support import csrf_token, login_staff, parse
from test_outbox import delivery_of, sessions_of

from connectors.base import Caller, CoreUnavailable
from connectors.embedded.models import ReviewItem
from connectors.router import ConnectorRouter
from engine.delivery import DeliveryWorker, RetryPolicy, requeue_dead
from engine.storage.models import AuditEntry

DEAD_LABEL = "转交中心失败"
PENDING_LABEL = "正在转交中心"
DELIVERIES_URL = "/staff/deliveries"


class LostResponseCore:
    """A connector that runs each call in the hall's core, then loses the response.

    The core keeps the application in its review queue while the hall records the
    attempt as failed, as when the connection drops after the core committed.
    """

    def __init__(self, core: Any) -> None:
        self.core = core

    def operations(self) -> set[str]:
        return self.core.operations()

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        self.core.call(operation, caller, params)
        raise CoreUnavailable("the connection closed before the response arrived")


def one_attempt_worker(app: Flask, router: ConnectorRouter) -> DeliveryWorker:
    """Return a worker whose first failed attempt makes a delivery dead."""
    policy = RetryPolicy(first_delay=1, max_delay=1, lease=30, max_attempts=1)
    return DeliveryWorker(sessions_of(app), router, policy)


def stored(app: Flask) -> str:
    account = unit_accounts(app)[0]
    return store_application(sessions_of(app), app, base_change(account, "8000"))


def delivered(app: Flask) -> str:
    """Store an application and deliver it to the hall's own core."""
    number = stored(app)
    worker = DeliveryWorker(sessions_of(app), app.extensions["hall"].router)
    assert worker.deliver_now(number) == "delivered"
    return number


def dead_in_core(app: Flask) -> str:
    """Store an application that the core has received but whose delivery is dead."""
    number = stored(app)
    lost = LostResponseCore(app.extensions["hall"].core)
    router = ConnectorRouter({"lost": lost}, {"*": "lost"})
    assert one_attempt_worker(app, router).deliver_now(number) == "unavailable"
    assert delivery_of(app, number).status == "dead"
    return number


def dead_before_core(app: Flask) -> str:
    """Store an application whose only attempt met a refused connection."""
    number = stored(app)
    router = http_router(f"http://127.0.0.1:{free_port()}")
    assert one_attempt_worker(app, router).deliver_now(number) == "unavailable"
    assert delivery_of(app, number).status == "dead"
    return number


def core_status(app: Flask, number: str) -> str | None:
    with sessions_of(app)() as session:
        return session.scalar(
            select(ReviewItem.status).where(ReviewItem.application_number == number)
        )


def decision_audits(app: Flask, number: str) -> int:
    with sessions_of(app)() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.application_number == number,
                AuditEntry.action.in_(("approve", "return")),
            )
        )


def queue_rows(client: FlaskClient) -> dict[str, Tag]:
    page = parse(client.get("/staff/reviews"))
    rows = page.select("#review-queue tbody tr")
    return {row.find("td").get_text(strip=True): row for row in rows}


def status_cell(row: Tag) -> Tag:
    return row.find_all("td")[4]


def review_page(client: FlaskClient, number: str) -> tuple[BeautifulSoup, Tag]:
    """Return an application's staff review page and the element of its status."""
    page = parse(client.get(f"/staff/reviews/{number}"))
    status = page.find(id="application-status")
    assert status is not None
    return page, status


def decide(client: FlaskClient, number: str, decision: str, comment: str = "") -> Any:
    token = csrf_token(client.get(DELIVERIES_URL))
    return client.post(
        f"/staff/reviews/{number}",
        data={"csrf_token": token, "decision": decision, "comment": comment},
        follow_redirects=True,
    )


def test_queue_marks_dead_delivery(app: Flask, client: FlaskClient) -> None:
    waiting = delivered(app)
    dead = dead_in_core(app)
    login_staff(client)
    rows = queue_rows(client)

    assert set(rows) == {waiting, dead}
    assert status_cell(rows[waiting]).get_text(strip=True) == "待审核"
    assert rows[waiting].find_all("a")[-1].get_text(strip=True) == "审核"

    dead_cell = status_cell(rows[dead])
    assert dead_cell.get_text(strip=True) == DEAD_LABEL
    link = dead_cell.find("a")
    assert link is not None
    assert link["href"] == DELIVERIES_URL
    assert rows[dead].find_all("a")[-1].get_text(strip=True) == "查看"
    assert "待审核" not in rows[dead].get_text()

    page = client.get("/staff/reviews").get_data(as_text=True)
    assert "投递失败的申报（1 笔）" in page


def test_queue_counts_deliveries_core_lacks(app: Flask, client: FlaskClient) -> None:
    missing = dead_before_core(app)
    login_staff(client)
    assert missing not in queue_rows(client)
    page = client.get("/staff/reviews").get_data(as_text=True)
    assert "投递失败的申报（1 笔）" in page


def test_review_page_blocks_dead_delivery(app: Flask, client: FlaskClient) -> None:
    number = dead_in_core(app)
    login_staff(client)
    page, status = review_page(client, number)

    assert status.get_text(strip=True) == DEAD_LABEL
    link = status.find("a")
    assert link is not None
    assert link["href"] == DELIVERIES_URL
    assert page.find("form", class_="decision") is None
    blocked = page.find(id="decision-blocked")
    assert blocked is not None
    assert "重新投递" in blocked.get_text()


def test_dead_delivery_decision_rejected(app: Flask, client: FlaskClient) -> None:
    number = dead_in_core(app)
    login_staff(client)

    approved = decide(client, number, "approve")
    assert "转交中心失败，请先在“投递失败的申报”中重新投递" in approved.get_data(
        as_text=True
    )
    returned = decide(client, number, "return", "材料不全")
    assert "转交中心失败" in returned.get_data(as_text=True)

    assert core_status(app, number) == "pending"
    assert application(sessions_of(app), number).status == "submitted"
    assert decision_audits(app, number) == 0


def test_decision_rejected_core_lacks(app: Flask, client: FlaskClient) -> None:
    number = dead_before_core(app)
    login_staff(client)
    page, status = review_page(client, number)
    assert status.get_text(strip=True) == DEAD_LABEL
    assert page.find("form", class_="decision") is None

    response = decide(client, number, "approve")
    text = response.get_data(as_text=True)
    assert "请先在“投递失败的申报”中重新投递" in text
    # The hall rejects the decision before it calls the core, so no core error shows.
    assert "处理失败" not in text
    assert core_status(app, number) is None
    assert application(sessions_of(app), number).status == "submitted"


def test_pending_delivery_not_decidable(app: Flask, client: FlaskClient) -> None:
    number = stored(app)
    assert delivery_of(app, number).status == "pending"
    login_staff(client)
    page, status = review_page(client, number)
    assert status.get_text(strip=True) == PENDING_LABEL
    assert page.find("form", class_="decision") is None

    response = decide(client, number, "approve")
    assert "正在转交中心，转交成功后才能审核" in response.get_data(as_text=True)
    assert application(sessions_of(app), number).status == "submitted"
    assert decision_audits(app, number) == 0


def test_requeued_delivery_becomes_decidable(app: Flask, client: FlaskClient) -> None:
    number = dead_in_core(app)
    assert requeue_dead(sessions_of(app), "reviewer", [number]) == [number]
    worker = DeliveryWorker(sessions_of(app), app.extensions["hall"].router)
    # The core recognises the number from the lost attempt and queues nothing new.
    assert worker.deliver_now(number) == "delivered"

    login_staff(client)
    rows = queue_rows(client)
    assert status_cell(rows[number]).get_text(strip=True) == "待审核"
    page, status = review_page(client, number)
    assert status.get_text(strip=True) == "待审核"
    assert page.find("form", class_="decision") is not None
    assert page.find(id="decision-blocked") is None

    response = decide(client, number, "approve")
    assert f"申报 {number} 已审核通过" in response.get_data(as_text=True)
    assert core_status(app, number) == "approved"
    assert application(sessions_of(app), number).status == "approved"
    assert decision_audits(app, number) == 1
