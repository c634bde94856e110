"""单位CA证书登录 (unit-login-ca): a test CA, unit certificates and a trusted proxy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_A, csrf_token, errors_of, parse

from connectors.embedded.models import Unit
from engine import create_app

PROXY = "10.20.30.40"
NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)
# U1 of the identifier examples: valid, and no demo unit has it.
UNKNOWN_USCC = "91440200MA0000015W"


@dataclass
class Issuer:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def make_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def ca_certificate(name: str, issuer: Issuer | None = None) -> Issuer:
    """Make a self-signed root, or an intermediate CA signed by `issuer`."""
    key = make_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 30 * DAY)
        .not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            False,
        )
    return Issuer(builder.sign(signer, hashes.SHA256()), key)


def unit_certificate(
    issuer: Issuer,
    uscc: str,
    *,
    not_before: dt.datetime = NOW - DAY,
    not_after: dt.datetime = NOW + 365 * DAY,
) -> x509.Certificate:
    key = make_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "测试单位"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, uscc),
            x509.NameAttribute(NameOID.COMMON_NAME, "单位证书"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            False,
        )
        .sign(issuer.key, hashes.SHA256())
    )


def revocation_list(
    issuer: Issuer, revoked: list[x509.Certificate], next_update: dt.datetime
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(NOW - DAY)
        .next_update(next_update)
    )
    for certificate in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(NOW - DAY)
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256())


def pem(item: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return item.public_bytes(serialization.Encoding.PEM)


@dataclass
class DemoAuthority:
    root: Issuer
    intermediate: Issuer
    revoked: x509.Certificate
    folder: Path
    crl_next_update: dt.datetime = NOW + 7 * DAY

    def write(self) -> tuple[Path, Path]:
        certificates = self.folder / "ca.pem"
        certificates.write_bytes(
            pem(self.root.certificate) + pem(self.intermediate.certificate)
        )
        crls = self.folder / "crl.pem"
        crls.write_bytes(
            pem(revocation_list(self.root, [], self.crl_next_update))
            + pem(
                revocation_list(self.intermediate, [self.revoked], self.crl_next_update)
            )
        )
        return certificates, crls


def unit_uscc(app: Flask, unit_account: str = UNIT_A) -> str:
    with app.extensions["hall"].session_factory() as session:
        return session.scalar(
            select(Unit.uscc).where(Unit.unit_account == unit_account)
        )


@pytest.fixture
def authority(tmp_path: Path) -> DemoAuthority:
    root = ca_certificate("测试根CA")
    intermediate = ca_certificate("测试单位证书CA", root)
    revoked = unit_certificate(intermediate, UNKNOWN_USCC)
    return DemoAuthority(root, intermediate, revoked, tmp_path)


def build_app(
    database_url: str,
    tmp_path: Path,
    authority: DemoAuthority,
    trusted_proxies: int = 0,
) -> Flask:
    certificates, crls = authority.write()
    return create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "CA_CERTIFICATES": str(certificates),
            "CA_CRLS": str(crls),
            "CA_TRUSTED_PROXIES": f"127.0.0.2, {PROXY}",
            "TRUSTED_PROXIES": trusted_proxies,
        }
    )


@pytest.fixture
def ca_app(
    database_url: str, tmp_path: Path, authority: DemoAuthority
) -> Iterator[Flask]:
    app = build_app(database_url, tmp_path, authority)
    yield app
    app.extensions["hall"].session_factory.kw["bind"].dispose()


def proxied(app: Flask, address: str = PROXY) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def log_in(client: FlaskClient, certificate: x509.Certificate | None) -> object:
    token = csrf_token(client.get("/unit/login/ca"))
    headers = {}
    if certificate is not None:
        headers["X-Client-Cert"] = quote(pem(certificate).decode("ascii"))
    return client.post("/unit/login/ca", data={"csrf_token": token}, headers=headers)


def test_unit_certificate_logs_in(ca_app: Flask, authority: DemoAuthority) -> None:
    client = proxied(ca_app)
    certificate = unit_certificate(authority.intermediate, unit_uscc(ca_app))
    response = log_in(client, certificate)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/unit/")
    card = parse(client.get("/unit/unit-info"))
    assert card.select_one("dd[data-name=unit_account]").get_text() == UNIT_A


def test_lower_case_uscc_in_serial_number(
    ca_app: Flask, authority: DemoAuthority
) -> None:
    client = proxied(ca_app)
    code = unit_uscc(ca_app)
    key = make_key()
    subject = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, code.lower())])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(authority.intermediate.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                authority.intermediate.key.public_key()
            ),
            False,
        )
        .sign(authority.intermediate.key, hashes.SHA256())
    )
    assert log_in(client, certificate).status_code == 302


@pytest.mark.parametrize(
    ("case", "message"),
    [
        # Its validity ended yesterday.
        ("expired", "证书已过期"),
        # Its validity starts tomorrow.
        ("not yet valid", "证书尚未生效"),
        # Listed in the intermediate CA's revocation list.
        ("revoked", "证书已被吊销，不能登录"),
        # Issued by a CA the hall is not configured to trust.
        ("foreign", "证书不是由本中心认可的CA签发，不能登录"),
        # Valid, but no unit is registered with its USCC.
        ("unknown unit", "未找到证书对应的单位"),
        # Valid, but without a USCC in its subject.
        ("no uscc", "证书中没有有效的统一社会信用代码"),
    ],
)
def test_certificate_rejected(
    ca_app: Flask, authority: DemoAuthority, case: str, message: str
) -> None:
    code = unit_uscc(ca_app)
    certificates = {
        "expired": lambda: unit_certificate(
            authority.intermediate, code, not_before=NOW - 30 * DAY, not_after=NOW - DAY
        ),
        "not yet valid": lambda: unit_certificate(
            authority.intermediate, code, not_before=NOW + DAY, not_after=NOW + 9 * DAY
        ),
        "revoked": lambda: authority.revoked,
        "foreign": lambda: unit_certificate(
            ca_certificate("外来CA", ca_certificate("外来根CA")), code
        ),
        "unknown unit": lambda: unit_certificate(authority.intermediate, UNKNOWN_USCC),
        "no uscc": lambda: unit_certificate(authority.intermediate, "NOT-A-USCC"),
    }
    client = proxied(ca_app)
    response = log_in(client, certificates[case]())
    assert response.status_code == 403
    messages = errors_of(response)
    assert len(messages) == 1
    assert message in messages[0]
    assert client.get("/unit/unit-info").status_code == 302


def test_header_from_untrusted_address_ignored(
    ca_app: Flask, authority: DemoAuthority
) -> None:
    client = proxied(ca_app, "192.0.2.9")
    certificate = unit_certificate(authority.intermediate, unit_uscc(ca_app))
    response = log_in(client, certificate)
    assert response.status_code == 403
    assert errors_of(response) == ["请通过中心的CA证书登录入口访问"]
    assert client.get("/unit/unit-info").status_code == 302


def test_proxy_checked_behind_proxy_fix(
    database_url: str, tmp_path: Path, authority: DemoAuthority
) -> None:
    # With one trusted proxy, remote_addr is the browser's address from
    # X-Forwarded-For, but the certificate header is still believed only from the
    # connected proxy.
    app = build_app(database_url, tmp_path, authority, trusted_proxies=1)
    try:
        certificate = unit_certificate(authority.intermediate, unit_uscc(app))
        direct = proxied(app, "192.0.2.9")
        direct.environ_base["HTTP_X_FORWARDED_FOR"] = PROXY
        refused = log_in(direct, certificate)
        assert refused.status_code == 403
        assert errors_of(refused) == ["请通过中心的CA证书登录入口访问"]

        through_proxy = proxied(app)
        through_proxy.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.9"
        accepted = log_in(through_proxy, certificate)
        assert accepted.status_code == 302
        assert through_proxy.get("/unit/unit-info").status_code == 200
    finally:
        app.extensions["hall"].session_factory.kw["bind"].dispose()


def test_missing_or_garbled_certificate(ca_app: Flask) -> None:
    client = proxied(ca_app)
    missing = log_in(client, None)
    assert missing.status_code == 400
    assert errors_of(missing) == ["未收到CA证书，请插入单位CA证书（UKey）后重试"]
    token = csrf_token(client.get("/unit/login/ca"))
    garbled = client.post(
        "/unit/login/ca",
        data={"csrf_token": token},
        headers={"X-Client-Cert": "-----BEGIN%20CERTIFICATE-----%0Anonsense"},
    )
    assert garbled.status_code == 403
    assert errors_of(garbled) == ["证书格式不正确，请重新插入CA证书后再试"]


def test_out_of_date_revocation_list(
    database_url: str, tmp_path: Path, authority: DemoAuthority
) -> None:
    authority.crl_next_update = NOW - DAY
    app = build_app(database_url, tmp_path, authority)
    try:
        certificate = unit_certificate(authority.intermediate, unit_uscc(app))
        response = log_in(proxied(app), certificate)
        assert response.status_code == 403
        assert errors_of(response) == [
            "暂时无法核验证书吊销状态，请稍后再试或使用短信登录"
        ]
    finally:
        app.extensions["hall"].session_factory.kw["bind"].dispose()


def test_off_without_configuration(app: Flask) -> None:
    response = app.test_client().get("/unit/login/ca")
    assert response.status_code == 404
    assert errors_of(response) == ["本中心尚未开通CA证书登录，请使用短信验证码登录"]
    login_page = parse(app.test_client().get("/unit/login"))
    assert login_page.find("a", string="单位CA证书登录")["href"] == "/unit/login/ca"
