"""Certificate management: PEM load/save, inspection, and certificates made on the spot.

This module makes and reads X.509 certificates and private keys with
``cryptography``: a private CA and the leaf certificates it signs (DNS and
IP subject alternative names, chosen validity, so that tests can make an
*expired* certificate), self-signed pairs for development, and
``write_dev_certificates`` for ``reactorsock cert``.  It does no TLS and
no I/O beyond reading and writing PEM files; ``tls.py`` re-exports it.

Keys are ECDSA P-256 by default: generating one takes well under a
millisecond, against tens of milliseconds for RSA-2048, and every TLS
stack reactorsock talks to (OpenSSL, curl, CPython's ``ssl``) accepts it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CertificateAndKey",
    "CertificateInfo",
    "DevCertificatePaths",
    "load_pem_certificate",
    "load_pem_certificates",
    "load_pem_private_key",
    "save_pem",
    "certificate_info",
    "make_private_key",
    "make_ca",
    "make_certificate",
    "make_self_signed",
    "write_dev_certificates",
]

#: Default lifetime of a made certificate; CA/Browser Forum caps public leaves near this.
DEFAULT_DAYS = 397
#: Backdating of notBefore, so that a peer whose clock is a little behind accepts it.
_CLOCK_SKEW = datetime.timedelta(minutes=5)

PathLike = str | os.PathLike


@attrs.frozen
class CertificateAndKey:
    """A certificate, its private key, and the intermediates that follow it in a chain.

    Twisted's ``PrivateCertificate`` plays this part; this one holds
    ``cryptography`` objects.  Pass it as ``clientCertificate`` to
    ``optionsForClientTLS`` or as a CA to ``make_certificate``.
    """

    certificate: x509.Certificate
    private_key: Any
    chain: tuple[x509.Certificate, ...] = ()

    def certificate_pem(self) -> bytes:
        """The certificate followed by its chain, PEM-encoded."""
        return b"".join(_cert_pem(c) for c in (self.certificate, *self.chain))

    def private_key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return _key_pem(self.private_key)


@attrs.frozen
class CertificateInfo:
    """What a certificate says about itself, for display and checks."""

    subject: str
    issuer: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    not_before: datetime.datetime
    not_after: datetime.datetime
    serial_number: int
    is_ca: bool

    @property
    def expired(self) -> bool:
        """True if notAfter has passed."""
        return self.not_after < datetime.datetime.now(datetime.UTC)


@attrs.frozen
class DevCertificatePaths:
    """The files ``write_dev_certificates`` wrote."""

    ca_certificate: Path
    certificate: Path
    private_key: Path


def _read(source: PathLike | bytes) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    return Path(source).read_bytes()


def load_pem_certificate(source: PathLike | bytes) -> x509.Certificate:
    """The first certificate in a PEM file (a path) or PEM bytes.

    Raises:
        ValueError: no certificate in it.
    """
    certs = load_pem_certificates(source)
    if not certs:
        raise ValueError(f"no PEM certificate in {source!r:.80}")
    return certs[0]


def load_pem_certificates(source: PathLike | bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file or PEM bytes, in order (a chain or a CA bundle)."""
    data = _read(source)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return []
    return x509.load_pem_x509_certificates(data)


def load_pem_private_key(source: PathLike | bytes, password: bytes | None = None) -> Any:
    """The private key in a PEM file or PEM bytes (PKCS#8, PKCS#1 or SEC1)."""
    return serialization.load_pem_private_key(_read(source), password)


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def save_pem(path: PathLike, *objects: Any) -> Path:
    """Write certificates, private keys or ``CertificateAndKey`` objects to one PEM file.

    A file that holds a private key is created with mode 0600, so the key
    is never readable by others, not even for a moment.
    """
    parts = []
    secret = False
    for obj in objects:
        if isinstance(obj, CertificateAndKey):
            parts.append(obj.certificate_pem())
            parts.append(obj.private_key_pem())
            secret = True
        elif isinstance(obj, x509.Certificate):
            parts.append(_cert_pem(obj))
        elif hasattr(obj, "private_bytes"):
            parts.append(_key_pem(obj))
            secret = True
        else:
            raise TypeError(f"can't write {type(obj).__name__} as PEM")
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(b"".join(parts))
    if secret:
        os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    """Subject, issuer, SANs, validity and serial number of cert."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns, ips = (), ()
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        dns_names=dns,
        ip_addresses=ips,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        serial_number=cert.serial_number,
        is_ca=is_ca,
    )


def make_private_key(kind: str = "ec") -> Any:
    """A new private key: ``"ec"`` (P-256, the default) or ``"rsa"`` (2048 bits)."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key kind {kind!r}; expected 'ec' or 'rsa'")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(
    not_before: datetime.datetime | None, not_after: datetime.datetime | None, days: float
) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    start = not_before if not_before is not None else now - _CLOCK_SKEW
    end = not_after if not_after is not None else now + datetime.timedelta(days=days)
    return start, end


def _san(hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            # IDNA 2008: certificates carry A-labels (RFC 6125 section 6.4.2).
            names.append(x509.DNSName(_a_label(host)))
    return x509.SubjectAlternativeName(names)


def _a_label(host: str) -> str:
    if host.isascii():
        return host
    import idna

    return idna.encode(host, uts46=True).decode("ascii")


def make_ca(
    common_name: str = "reactorsock private CA",
    *,
    days: float = 3650,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    key_kind: str = "ec",
) -> CertificateAndKey:
    """A new self-signed certificate authority that may sign leaves (path length 0)."""
    key = make_private_key(key_kind)
    start, end = _validity(not_before, not_after, days)
    name = _name(common_name)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAndKey(cert, key)


def make_certificate(
    issuer: CertificateAndKey | None,
    hosts: Sequence[str] = ("localhost",),
    *,
    common_name: str | None = None,
    days: float = DEFAULT_DAYS,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    client: bool = False,
    key_kind: str = "ec",
) -> CertificateAndKey:
    """A leaf certificate for hosts (DNS names and IP addresses), signed by issuer.

    issuer None makes it self-signed.  ``client=True`` makes a client
    certificate (extended key usage clientAuth); otherwise it is a server
    certificate (serverAuth).  ``not_after`` in the past makes an expired
    certificate, for tests.  The result's ``chain`` is empty: peers are
    given the CA itself as a trust root.
    """
    key = make_private_key(key_kind)
    start, end = _validity(not_before, not_after, days)
    subject = _name(common_name or (hosts[0] if hosts else "reactorsock"))
    signer_key = key if issuer is None else issuer.private_key
    issuer_name = subject if issuer is None else issuer.certificate.subject
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
            critical=False,
        )
    cert = builder.sign(signer_key, hashes.SHA256())
    return CertificateAndKey(cert, key)


def make_self_signed(
    hosts: Sequence[str] = ("localhost", "127.0.0.1", "::1"), *, days: float = DEFAULT_DAYS
) -> CertificateAndKey:
    """A self-signed server certificate for hosts, for development only."""
    return make_certificate(None, hosts, days=days)


def write_dev_certificates(
    out_dir: PathLike, hosts: Sequence[str] = ("localhost", "127.0.0.1", "::1")
) -> DevCertificatePaths:
    """Make a private CA and a server certificate for hosts; write them under out_dir.

    Writes ``ca.pem`` (give it to clients: ``curl --cacert ca.pem``),
    ``cert.pem`` and ``key.pem`` (mode 0600) for the server, e.g.
    ``ssl:8443:privateKey=key.pem:certKey=cert.pem``.  out_dir is created
    if missing.  This is what ``reactorsock cert --host H --out DIR`` calls.
    """
    if not hosts:
        raise ValueError("write_dev_certificates needs at least one host")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ca = make_ca("reactorsock development CA")
    leaf = make_certificate(ca, list(hosts))
    return DevCertificatePaths(
        ca_certificate=save_pem(out / "ca.pem", ca.certificate),
        certificate=save_pem(out / "cert.pem", leaf.certificate),
        private_key=save_pem(out / "key.pem", leaf.private_key),
    )
