"""Calls that reach the core at the same moment, for the race tests of the core."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import Caller, Rejected
from connectors.embedded import EmbeddedCore, review
from connectors.embedded.models import ReviewItem


def at_once(
    core: EmbeddedCore, caller: Caller, calls: list[tuple[str, dict[str, Any]]]
) -> list[Any]:
    """Start every call at the same moment; return each result or its Rejected."""
    barrier = threading.Barrier(len(calls))

    def run(call: tuple[str, dict[str, Any]]) -> Any:
        barrier.wait()
        try:
            return core.call(call[0], caller, call[1])
        except Rejected as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def retried_during_original(
    core: EmbeddedCore,
    caller: Caller,
    call: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> list[Any]:
    """Deliver `call` twice at once, as a retry that arrives while the original runs.

    Both deliveries find the application number unused before either goes on, so the
    retry meets whatever the original has committed by then. Return each result or
    its Rejected.
    """
    operation, params = call
    calls = [(caller, operation, params), (caller, operation, params)]
    return after_joint_lookup(core, calls, monkeypatch)


def after_joint_lookup(
    core: EmbeddedCore,
    calls: list[tuple[Caller, str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> list[Any]:
    """Run (caller, operation, params) calls at once, all past their number lookup.

    Each call looks its application number up once before any call goes on, so all
    of them find it unused. Return each result or its Rejected.
    """
    original_lookup = review.already_submitted
    all_looked_up = threading.Barrier(len(calls))
    thread_state = threading.local()

    def lookup_then_wait(*args: Any) -> dict[str, Any] | None:
        result = original_lookup(*args)
        if not getattr(thread_state, "waited", False):
            thread_state.waited = True
            all_looked_up.wait(timeout=10)
        return result

    def run(call: tuple[Caller, str, dict[str, Any]]) -> Any:
        caller, operation, params = call
        try:
            return core.call(operation, caller, params)
        except Rejected as error:
            return error

    monkeypatch.setattr(review, "already_submitted", lookup_then_wait)
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def pending(core: EmbeddedCore, person_account: str) -> list[ReviewItem]:
    with core.session_factory() as session:
        return list(
            session.scalars(
                select(ReviewItem).where(
                    ReviewItem.person_account == person_account,
                    ReviewItem.status == "pending",
                )
            )
        )


def accepted(results: list[Any]) -> list[Any]:
    return [result for result in results if not isinstance(result, Rejected)]
