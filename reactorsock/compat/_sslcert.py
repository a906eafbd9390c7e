"""Certificates as the stdlib ``ssl`` module shows them: ``getpeercert()``'s dict.

``decode_certificate`` turns a ``cryptography`` certificate into the dict
CPython's ``SSLSocket.getpeercert()`` and ``SSLContext.get_ca_certs()``
return: ``subject`` and ``issuer`` as tuples of relative distinguished
names of ``(long_name, value)`` pairs, ``version``, ``serialNumber`` in
upper-case hex, ``notBefore``/``notAfter`` in OpenSSL's ``ASN1_TIME_print``
form (``'Jan  5 09:30:00 2026 GMT'``) and, when present,
``subjectAltName``, ``OCSP``, ``caIssuers`` and ``crlDistributionPoints``.
It is a formatter only: no verification, no I/O.

Attribute names are OpenSSL's long names (``commonName``,
``organizationName``...), read from the OpenSSL that pyOpenSSL binds, so
they are the names the stdlib's OpenSSL gives; an OID OpenSSL does not know
is shown dotted, as the stdlib shows it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

__all__ = ["decode_certificate", "oid_name"]

# ASN1_TIME_print uses the C locale's month abbreviations, whatever the locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_names: dict[str, str] = {}


def oid_name(oid: x509.ObjectIdentifier) -> str:
    """OpenSSL's long name for oid (``OBJ_nid2ln``), or its dotted form if unknown."""
    dotted = oid.dotted_string
    name = _names.get(dotted)
    if name is None:
        name = dotted
        try:  # pyOpenSSL's private binding: the stdlib asks the same OpenSSL tables.
            from OpenSSL._util import ffi, lib

            nid = lib.OBJ_txt2nid(dotted.encode("ascii"))
            if nid:
                name = ffi.string(lib.OBJ_nid2ln(nid)).decode("ascii")
        except Exception:  # pragma: no cover - depends on the pyOpenSSL build
            name = getattr(oid, "_name", dotted)
        _names[dotted] = name
    return name


def _name(name: x509.Name) -> tuple[tuple[tuple[str, Any], ...], ...]:
    return tuple(tuple((oid_name(a.oid), a.value) for a in rdn) for rdn in name.rdns)


def _time(moment: Any) -> str:
    return (
        f"{_MONTHS[moment.month - 1]} {moment.day:2d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {moment.year} GMT"
    )


def _serial(number: int) -> str:
    text = f"{number:X}" if number >= 0 else f"-{-number:X}"
    digits = text.lstrip("-")
    if len(digits) % 2:  # i2a_ASN1_INTEGER prints whole octets
        text = text.replace(digits, "0" + digits)
    return text


def _ip(address: Any) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        # CPython formats IPv6 as eight upper-case groups, uncompressed.
        packed = address.packed
        return ":".join(f"{int.from_bytes(packed[i : i + 2], 'big'):X}" for i in range(0, 16, 2))
    return str(address)


def _general_name(general: Any) -> tuple[str, Any]:
    if isinstance(general, x509.DNSName):
        return ("DNS", general.value)
    if isinstance(general, x509.IPAddress):
        return ("IP Address", _ip(general.value))
    if isinstance(general, x509.RFC822Name):
        return ("email", general.value)
    if isinstance(general, x509.UniformResourceIdentifier):
        return ("URI", general.value)
    if isinstance(general, x509.DirectoryName):
        return ("DirName", _name(general.value))
    if isinstance(general, x509.RegisteredID):
        return ("Registered ID", oid_name(general.value))
    return ("othername", "<unsupported>")


def _extension(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> Any:
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # a malformed extension: shown as absent
        return None


def decode_certificate(cert: x509.Certificate) -> dict[str, Any]:
    """Return the stdlib ``getpeercert()`` dict for cert."""
    info: dict[str, Any] = {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _serial(cert.serial_number),
        "notBefore": _time(cert.not_valid_before_utc),
        "notAfter": _time(cert.not_valid_after_utc),
    }
    san = _extension(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if san is not None:
        info["subjectAltName"] = tuple(_general_name(g) for g in san)
    aia = _extension(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if aia is not None:
        for key, method in (
            ("OCSP", AuthorityInformationAccessOID.OCSP),
            ("caIssuers", AuthorityInformationAccessOID.CA_ISSUERS),
        ):
            uris = tuple(
                d.access_location.value
                for d in aia
                if d.access_method == method
                and isinstance(d.access_location, x509.UniformResourceIdentifier)
            )
            if uris:
                info[key] = uris
    crl = _extension(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if crl is not None:
        uris = tuple(
            name.value
            for point in crl
            for name in (point.full_name or ())
            if isinstance(name, x509.UniformResourceIdentifier)
        )
        if uris:
            info["crlDistributionPoints"] = uris
    return info
