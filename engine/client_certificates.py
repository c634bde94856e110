"""Check a unit's client certificate: chain, validity dates, revocation and USCC."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from stdnum.cn import uscc

log = logging.getLogger(__name__)

# Subject attributes that may carry the USCC, in the order they are read:
# organizationIdentifier (2.5.4.97), then serialNumber (2.5.4.5).
USCC_ATTRIBUTES = (NameOID.ORGANIZATION_IDENTIFIER, NameOID.SERIAL_NUMBER)
# A root, at most two intermediates and the unit's certificate.
MAX_CHAIN_DEPTH = 3


class CertificateRejected(Exception):
    """A client certificate failed a check; `message` is the reason shown (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CertificateAuthority:
    """The configured CA certificates and the revocation lists of their issuers."""

    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList]


def load_authority(certificates: Path, crls: Path) -> CertificateAuthority:
    """Read the CA's PEM certificates and its PEM revocation lists.

    Self-signed certificates of the file are trusted roots; the others are
    intermediates a chain may pass through.
    """
    loaded = x509.load_pem_x509_certificates(certificates.read_bytes())
    roots = [item for item in loaded if item.issuer == item.subject]
    if not roots:
        raise ValueError(
            f"{certificates} contains no self-signed root certificate; add the "
            "CA's root certificate to it"
        )
    intermediates = [item for item in loaded if item.issuer != item.subject]
    return CertificateAuthority(roots, intermediates, _load_crls(crls.read_bytes()))


def _load_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    marker = b"-----BEGIN X509 CRL-----"
    blocks = [marker + part for part in data.split(marker)[1:]]
    return [x509.load_pem_x509_crl(block) for block in blocks]


def read_header(value: str) -> x509.Certificate:
    """Read the certificate a proxy passes URL-encoded (or as plain PEM)."""
    try:
        return x509.load_pem_x509_certificate(unquote(value).encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise CertificateRejected("证书格式不正确，请重新插入CA证书后再试") from None


def verify_client(
    authority: CertificateAuthority, certificate: x509.Certificate, now: dt.datetime
) -> str:
    """Check the certificate and return the USCC its subject carries.

    Raises CertificateRejected when it is not yet or no longer valid, does not chain
    to a configured root, is revoked, its issuer's revocation list is missing or out
    of date, or it carries no valid USCC.
    """
    if now < certificate.not_valid_before_utc:
        raise CertificateRejected("证书尚未生效")
    if now > certificate.not_valid_after_utc:
        valid_to = certificate.not_valid_after_utc.date().isoformat()
        raise CertificateRejected(f"证书已过期（有效期至 {valid_to}），请更新CA证书")
    chain = _verified_chain(authority, certificate, now)
    _check_revocation(authority, certificate, chain[1], now)
    return _uscc_of(certificate)


def _verified_chain(
    authority: CertificateAuthority, certificate: x509.Certificate, now: dt.datetime
) -> list[x509.Certificate]:
    # Unit certificates often carry no subject alternative name; the USCC is in the
    # subject, so the Web PKI rule that requires one is relaxed.
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(authority.roots))
        .time(now)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy
        )
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(certificate, authority.intermediates)
    except VerificationError as error:
        log.warning(
            "client certificate %x failed: %s", certificate.serial_number, error
        )
        raise CertificateRejected("证书不是由本中心认可的CA签发，不能登录") from None
    return list(verified.chain)


def _check_revocation(
    authority: CertificateAuthority,
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    now: dt.datetime,
) -> None:
    crl = next(
        (
            item
            for item in authority.crls
            if item.issuer == issuer.subject
            and item.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        ),
        None,
    )
    if crl is None:
        log.error("no revocation list of %s is configured", issuer.subject)
        raise CertificateRejected("暂时无法核验证书吊销状态，请稍后再试或使用短信登录")
    if crl.next_update_utc is not None and crl.next_update_utc < now:
        log.error("the revocation list of %s is out of date", issuer.subject)
        raise CertificateRejected("暂时无法核验证书吊销状态，请稍后再试或使用短信登录")
    if crl.get_revoked_certificate_by_serial_number(certificate.serial_number):
        raise CertificateRejected("证书已被吊销，不能登录")


def _uscc_of(certificate: x509.Certificate) -> str:
    for oid in USCC_ATTRIBUTES:
        for attribute in certificate.subject.get_attributes_for_oid(oid):
            value = str(attribute.value).strip().upper()
            if uscc.is_valid(value):
                return value
    raise CertificateRejected("证书中没有有效的统一社会信用代码，不能登录")
