"""Masked forms of identifiers shown to people who may not see them in full."""

from __future__ import annotations


def mask_id_number(id_number: str) -> str:
    """Keep the 6-digit area code and the last 4 characters: 440203********123X."""
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_account(account: str) -> str:
    """Keep the first and last 4 digits of an account number: 0201****0012."""
    if len(account) <= 8:
        return account
    return account[:4] + "****" + account[-4:]
