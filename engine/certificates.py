"""Issue certificates with unguessable verification codes, and look them up by code."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.base import Caller
from engine.clock import business_date
from engine.service import Fact, Service
from engine.storage.models import (
    IssuedCertificate,
    PrintJob,
    VerificationLookup,
    utcnow,
)
from renderers.html import display
from renderers.pdf.filters import chinese_date, chinese_month

# 32 symbols without 0, O, 1 and I, which people misread when typing a printed code.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# 16 symbols of 5 bits: 80 random bits, printed in groups of four.
CODE_LENGTH = 16
GROUP_SIZE = 4
# Typed text longer than this cannot be a code, even with spaces between the symbols.
MAX_TYPED_LENGTH = 64

LOOKUP_WINDOW = dt.timedelta(minutes=15)
# A bank clerk may check a pile of certificates, while a guesser mostly misses.
MAX_LOOKUPS_PER_ADDRESS = 60
MAX_MISSES_PER_ADDRESS = 10
# One IPv6 client usually owns a whole /64, so its addresses count as one.
IPV6_CLIENT_PREFIX = 64


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def display_code(code: str) -> str:
    """Write a code in groups of four, as printed: 7KQ2-M9XD-...."""
    groups = [
        code[start : start + GROUP_SIZE] for start in range(0, len(code), GROUP_SIZE)
    ]
    return "-".join(groups)


def normalise_code(text: str) -> str | None:
    """Read a typed or scanned code; None when it cannot be a code at all.

    Chinese input methods type full-width letters and digits, and dashes such as
    U+2014, so NFKC folds the letters and digits to ASCII and every space and dash
    between the groups is dropped.
    """
    if len(text) > MAX_TYPED_LENGTH:
        return None
    folded = unicodedata.normalize("NFKC", text).upper()
    code = "".join(
        char
        for char in folded
        if not char.isspace() and unicodedata.category(char) != "Pd"
    )
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


def verified_facts(service: Service, data: Mapping[str, Any]) -> list[dict[str, str]]:
    """Format the facts the spec lists for the verification page, as text.

    Dates and months read as the certificate prints them (2026年7月1日, 2026年11月),
    so the page can be compared with the paper at a glance.
    """
    assert service.printout is not None
    return [
        {"label": fact.label, "value": _fact_text(fact, data.get(fact.name))}
        for fact in service.printout.facts
    ]


def _fact_text(fact: Fact, value: Any) -> str:
    if value is None or value == "":
        return fact.empty
    if fact.type == "date":
        return chinese_date(value)
    if fact.type == "month":
        return chinese_month(value)
    return display(value, fact.type)


def issue(
    session: Session,
    service: Service,
    caller: Caller,
    data: Mapping[str, Any],
    code: str | None = None,
    issued_at: dt.datetime | None = None,
) -> IssuedCertificate:
    """Add a certificate to the session, with `code` or a new one; the caller commits.

    `issued_at` is the stored UTC instant whose business date the PDF prints as its
    date of issue. A print job passes the code it drew when it was queued, since the
    PDF prints it. Without `issued_at`, a certificate with the code of a print job is
    issued at the job's `created_at`, which the print request sets to the instant
    whose date the PDF prints. Otherwise it is issued now.
    """
    if issued_at is None and code is not None:
        issued_at = session.scalar(
            select(PrintJob.created_at).where(PrintJob.code == code)
        )
    certificate = IssuedCertificate(
        code=code or new_code(),
        service_id=service.id,
        title=service.printout.filename if service.printout else service.title,
        hall=caller.hall,
        unit_account=caller.unit_account,
        person_account=caller.person_account,
        facts=verified_facts(service, data),
        issued_at=issued_at or utcnow(),
    )
    session.add(certificate)
    session.flush()
    return certificate


def issued_on(certificate: IssuedCertificate) -> dt.date:
    """Return the business date that the certificate prints as its date of issue."""
    return business_date(certificate.issued_at)


# Validity -----------------------------------------------------------------------


@dataclass(frozen=True)
class Validity:
    """A certificate's last valid day, and whether a business date is past it."""

    valid_until: dt.date
    expired: bool


def validity(issued: dt.date, days: int, today: dt.date) -> Validity:
    """Return the validity of a certificate issued on `issued` for `days` days.

    A period counted in days starts the day after it begins (article 201 of the
    Civil Code of China), so 30 days from 5 December last until 4 January.
    """
    # NOTE: article 203 moves a last day that falls on a legal holiday to the day
    # after the holiday. The hall keeps no holiday calendar, so that is not applied.
    valid_until = issued + dt.timedelta(days=days)
    return Validity(valid_until=valid_until, expired=today > valid_until)


# Look-ups -----------------------------------------------------------------------


def find(session: Session, code: str) -> IssuedCertificate | None:
    return session.scalars(
        select(IssuedCertificate).where(IssuedCertificate.code == code)
    ).first()


def lookup_address(remote_address: str) -> str:
    """Return the address that a client's look-ups count against.

    An IPv4 address counts alone, and so does an IPv4-mapped IPv6 address, as its
    IPv4 address. Any other IPv6 address counts by its /64 network, such as
    2001:db8:1:2::/64. Text that is no IP address, such as "unknown", counts as is.
    """
    try:
        address = ipaddress.ip_address(remote_address)
    except ValueError:
        return remote_address[:64]
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    # From the integer, since the network of a scoped address keeps no zone.
    network = ipaddress.IPv6Network((int(address), IPV6_CLIENT_PREFIX), strict=False)
    return str(network)


def lookups_throttled(session: Session, address: str) -> bool:
    """Tell whether an address has looked up too many codes, or missed too often."""
    total, misses = _recent_lookups(session, address)
    return total >= MAX_LOOKUPS_PER_ADDRESS or misses >= MAX_MISSES_PER_ADDRESS


def admit_lookup(session: Session, address: str, found: bool) -> bool:
    """Record a look-up and tell whether the address stays within its limits.

    The look-up is committed before the count, so each of a burst of parallel
    requests counts the others and at most MAX_MISSES_PER_ADDRESS misses get a
    response. A rejected look-up is deleted again, so that retries while throttled
    do not prolong the wait.
    """
    lookup = VerificationLookup(address=address, found=found)
    session.add(lookup)
    session.commit()
    total, misses = _recent_lookups(session, address)
    if total <= MAX_LOOKUPS_PER_ADDRESS and misses <= MAX_MISSES_PER_ADDRESS:
        return True
    session.delete(lookup)
    session.commit()
    return False


def retry_after(session: Session, address: str) -> int:
    """Return the seconds until a throttled address may look up a code again.

    That is when enough of its look-ups have left LOOKUP_WINDOW to bring both its
    look-ups and its misses below their limits. The result is at least 1.
    """
    now = utcnow()
    recent = session.execute(
        select(VerificationLookup.at, VerificationLookup.found)
        .where(
            VerificationLookup.address == address,
            VerificationLookup.at >= now - LOOKUP_WINDOW,
        )
        .order_by(VerificationLookup.at)
    ).all()
    lookups = [at for at, _found in recent]
    misses = [at for at, found in recent if not found]
    wait = dt.timedelta(0)
    for times, limit in (
        (lookups, MAX_LOOKUPS_PER_ADDRESS),
        (misses, MAX_MISSES_PER_ADDRESS),
    ):
        if len(times) >= limit:
            # The count drops below the limit once this look-up leaves the window.
            freeing = times[len(times) - limit]
            wait = max(wait, freeing + LOOKUP_WINDOW - now)
    # A look-up exactly LOOKUP_WINDOW old still counts, so the wait ends after it.
    return math.floor(wait.total_seconds()) + 1


def _recent_lookups(session: Session, address: str) -> tuple[int, int]:
    """Count an address's look-ups within LOOKUP_WINDOW, and the misses among them."""
    since = utcnow() - LOOKUP_WINDOW
    recent = (
        select(func.count())
        .select_from(VerificationLookup)
        .where(VerificationLookup.address == address, VerificationLookup.at >= since)
    )
    total = session.scalar(recent) or 0
    misses = session.scalar(recent.where(VerificationLookup.found.is_(False))) or 0
    return total, misses
