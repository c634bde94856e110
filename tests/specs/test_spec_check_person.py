"""Spec rules added for the person hall: form keys and the public check operation."""

from __future__ import annotations

from collections.abc import Callable

from engine.spec_check import SpecError

CheckBody = Callable[..., list[SpecError]]


def test_attachment_kind_named_like_field(check_body: CheckBody) -> None:
    body = (
        "fields:\n  - {name: contract, type: text, label: A}\n"
        "attachments:\n  - {kind: contract, label: B, types: [pdf]}\n"
    )
    errors = check_body(body)
    assert len(errors) == 1, errors
    assert errors[0].path == "attachments[0].kind"
    assert "is also the name at fields[0].name" in errors[0].message


def test_unknown_verification_check(check_body: CheckBody) -> None:
    body = "verification:\n  method: sms\n  check: person.nowhere\n"
    errors = check_body(body, known_operations={"person.somewhere"})
    found = [error for error in errors if error.path == "verification.check"]
    assert len(found) == 1, errors
    assert "'person.nowhere' is not a known connector operation" in found[0].message


def test_same_as_names_a_field(check_body: CheckBody) -> None:
    body = (
        "fields:\n  - {name: secret, type: password, label: A}\n"
        "  - {name: again, type: password, label: B, checks: {same-as: secret}}\n"
    )
    assert check_body(body) == []
