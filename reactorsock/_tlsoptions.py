"""TLS options: the ``OpenSSL.SSL.Context`` a TLS connection runs with, in Twisted's names.

``CertificateOptions`` (this side's certificate, the peer checks, ALPN,
server-side SNI, the minimum version), ``optionsForClientTLS`` (a client's
verifying options for one host name: chain against the platform trust
store or the roots given, *and* the name) and ``platformTrust``.  Turning
verification off takes ``insecure_skip_verification=True``.  This module
builds contexts only: it moves no bytes (``tls.TLSTransport`` does) and
keeps no state per connection (``_tlsbio.MemoryBIOTLS`` does).  ``tls.py``
re-exports everything here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from OpenSSL import SSL, crypto

from reactorsock._certs import (
    CertificateAndKey,
    load_pem_certificate,
    load_pem_certificates,
    load_pem_private_key,
)
from reactorsock._tlsbio import encode_server_name

__all__ = [
    "CertificateOptions",
    "ClientTLSOptions",
    "optionsForClientTLS",
    "platformTrust",
    "HANDSHAKE_TIMEOUT",
    "TLSv1_2",
    "TLSv1_3",
]

#: Seconds a peer gets to finish the handshake; protects servers from idle clients.
#: 30 s matches connectTCP's default timeout.
HANDSHAKE_TIMEOUT = 30.0
#: Protocol versions for ``raiseMinimumTo`` (Twisted names them ``TLSVersion.TLSv1_2``).
TLSv1_2 = SSL.TLS1_2_VERSION  # noqa: N816 - Twisted's spelling
TLSv1_3 = SSL.TLS1_3_VERSION  # noqa: N816 - Twisted's spelling


class _PlatformTrust:
    """The platform's trust store (``SSL_CTX_set_default_verify_paths``)."""

    def __repr__(self) -> str:
        return "platformTrust()"


_PLATFORM = _PlatformTrust()


def platformTrust() -> Any:  # noqa: N802 - Twisted API
    """The operating system's trust store, as a ``trustRoot`` value."""
    return _PLATFORM


def _to_cert(obj: Any) -> x509.Certificate:
    if isinstance(obj, crypto.X509):
        return obj.to_cryptography()
    if isinstance(obj, CertificateAndKey):
        return obj.certificate
    if isinstance(obj, bytes | str | os.PathLike):
        return load_pem_certificate(obj if isinstance(obj, bytes) else Path(obj))
    return obj


def _to_key(obj: Any) -> Any:
    if isinstance(obj, crypto.PKey):
        return obj.to_cryptography_key()
    if isinstance(obj, bytes | str | os.PathLike):
        return load_pem_private_key(obj if isinstance(obj, bytes) else Path(obj))
    return obj


def _trust_certificates(trust: Any) -> list[x509.Certificate]:
    if isinstance(trust, crypto.X509 | x509.Certificate | CertificateAndKey):
        return [_to_cert(trust)]
    if isinstance(trust, bytes):
        return load_pem_certificates(trust)
    return [_to_cert(c) for c in trust]


def _as_protocols(protocols: Iterable[bytes | str] | None) -> list[bytes]:
    if not protocols:
        return []
    return [p.encode("ascii") if isinstance(p, str) else bytes(p) for p in protocols]


class CertificateOptions:
    """Builds (once) and hands out the ``OpenSSL.SSL.Context`` of a server or client.

    Twisted's ``CertificateOptions``, with its argument names:

    - ``privateKey``/``certificate``: this side's key and certificate
      (``cryptography`` or pyOpenSSL objects, PEM bytes, or file paths);
      ``extraCertChain``: intermediates sent after the certificate.
    - ``verify``: check the peer's certificate against ``caCerts`` (a list
      of CA certificates); ``trustRoot`` (a certificate, a list of them, a
      PEM bundle or directory path, or ``platformTrust()``) implies
      ``verify=True``.  On a server ``requireCertificate`` (default true)
      refuses clients that send none: mutual TLS.
    - ``acceptableProtocols``: ALPN names in order of preference
      (``[b"h2", b"http/1.1"]``); a server picks its most preferred one
      that the client offers, and goes on without ALPN when none match.
    - ``raiseMinimumTo``: lowest TLS version (``TLSv1_2``, the floor, or
      ``TLSv1_3``).
    - ``server_names``: server-side SNI, a mapping of host name (or
      ``"*.example.com"``) to the ``CertificateOptions`` (or ``Context``)
      whose certificate to present; unknown names get this one's.
    - ``handshake_timeout``: seconds before an unfinished handshake is
      aborted (``HANDSHAKE_TIMEOUT``); None for no limit.

    ``getContext()`` is Twisted's ContextFactory method.  The context is
    built on first use and shared by every connection.
    """

    def __init__(
        self,
        privateKey: Any = None,
        certificate: Any = None,
        extraCertChain: Iterable[Any] | None = None,
        verify: bool = False,
        caCerts: Iterable[Any] | None = None,
        requireCertificate: bool = True,
        acceptableProtocols: Iterable[bytes | str] | None = None,
        raiseMinimumTo: int = TLSv1_2,
        trustRoot: Any = None,
        verifyDepth: int = 9,
        server_names: Mapping[str, Any] | None = None,
        handshake_timeout: float | None = HANDSHAKE_TIMEOUT,
    ) -> None:
        if (privateKey is None) != (certificate is None):
            raise ValueError("privateKey and certificate go together: give both or neither")
        if trustRoot is not None:
            if caCerts is not None:
                raise ValueError("give trustRoot or caCerts, not both")
            verify = True
        elif verify and caCerts is None:
            raise ValueError("verify=True needs caCerts or trustRoot (e.g. platformTrust())")
        elif caCerts is not None and not verify:
            raise ValueError("caCerts is only used with verify=True")
        if raiseMinimumTo not in (TLSv1_2, TLSv1_3):
            raise ValueError("raiseMinimumTo must be TLSv1_2 or TLSv1_3 (older ones are broken)")
        self.privateKey = _to_key(privateKey) if privateKey is not None else None
        self.certificate = _to_cert(certificate) if certificate is not None else None
        self.extraCertChain = [_to_cert(c) for c in extraCertChain or ()]
        self.verify = verify
        self.trustRoot = trustRoot if trustRoot is not None else caCerts
        self.requireCertificate = requireCertificate
        self.acceptableProtocols = _as_protocols(acceptableProtocols)
        self.raiseMinimumTo = raiseMinimumTo
        self.verifyDepth = verifyDepth
        self.server_names = {_sni_key(k): v for k, v in (server_names or {}).items()}
        self.handshake_timeout = handshake_timeout
        self._context: SSL.Context | None = None

    def getContext(self) -> SSL.Context:
        """The ``OpenSSL.SSL.Context`` for these options, built on first call."""
        if self._context is None:
            self._context = self._make_context()
        return self._context

    def _make_context(self) -> SSL.Context:
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(self.raiseMinimumTo)
        # No compression (CRIME); no renegotiation below TLS 1.3.
        ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE)
        ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
        if self.certificate is not None:
            ctx.use_certificate(self.certificate)
            ctx.use_privatekey(self.privateKey)
            for extra in self.extraCertChain:
                ctx.add_extra_chain_cert(extra)
            ctx.check_privatekey()
        if self.verify:
            self._set_trust(ctx)
        else:
            ctx.set_verify(SSL.VERIFY_NONE)
        # Needed for session resumption with client certificates (SSL_CTX_set_session_id_context).
        ctx.set_session_id(hashlib.sha256(repr(id(self)).encode()).digest()[:32])
        if self.acceptableProtocols:
            ctx.set_alpn_protos(self.acceptableProtocols)
            ctx.set_alpn_select_callback(self._select_alpn)
        if self.server_names:
            ctx.set_tlsext_servername_callback(self._select_server_name)
        return ctx

    def _set_trust(self, ctx: SSL.Context) -> None:
        mode = SSL.VERIFY_PEER | SSL.VERIFY_CLIENT_ONCE
        if self.requireCertificate:
            mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
        ctx.set_verify(mode)
        ctx.set_verify_depth(self.verifyDepth)
        trust = self.trustRoot
        if trust is _PLATFORM:
            ctx.set_default_verify_paths()
            return
        if isinstance(trust, str | os.PathLike):
            path = Path(trust)
            if path.is_dir():
                certs = [c for p in sorted(path.glob("*.pem")) for c in load_pem_certificates(p)]
            else:
                certs = load_pem_certificates(path)
        else:
            certs = _trust_certificates(trust)
        if not certs:
            raise ValueError(f"no CA certificate in trust root {trust!r}")
        store = ctx.get_cert_store()
        for cert in certs:
            store.add_cert(crypto.X509.from_cryptography(cert))
            # Tell clients which CAs to pick a client certificate from.
            ctx.add_client_ca(cert)

    def _select_alpn(self, conn: SSL.Connection, offered: list[bytes]) -> bytes:
        for proto in self.acceptableProtocols:
            if proto in offered:
                return proto
        return SSL.NO_OVERLAPPING_PROTOCOLS

    def _select_server_name(self, conn: SSL.Connection) -> None:
        name = conn.get_servername()
        if not name:
            return
        host = name.decode("ascii", "replace").lower()
        chosen = self.server_names.get(host)
        if chosen is None and "." in host:
            chosen = self.server_names.get("*." + host.split(".", 1)[1])
        if chosen is not None:
            conn.set_context(chosen if isinstance(chosen, SSL.Context) else chosen.getContext())


def _sni_key(name: str) -> str:
    if name.startswith("*."):
        return "*." + encode_server_name(name[2:]).decode("ascii")
    return encode_server_name(name).decode("ascii")


class ClientTLSOptions:
    """What ``optionsForClientTLS`` returns: a context plus the host name to check.

    ``getContext()`` is Twisted's ContextFactory method; ``server_hostname``
    (sent as SNI, and matched against the certificate when
    ``verify_hostname`` is true) is what the TLS layer adds to it.
    """

    def __init__(self, hostname: str, options: CertificateOptions, verify_hostname: bool) -> None:
        self.server_hostname = hostname
        self.verify_hostname = verify_hostname
        self.handshake_timeout = options.handshake_timeout
        self._options = options

    def getContext(self) -> SSL.Context:
        """See ``CertificateOptions.getContext``."""
        return self._options.getContext()

    def __repr__(self) -> str:
        check = "verifying" if self.verify_hostname else "NOT VERIFYING"
        return f"<ClientTLSOptions {self.server_hostname!r} {check}>"


def optionsForClientTLS(  # noqa: N802 - Twisted API
    hostname: str | bytes,
    trustRoot: Any = None,
    clientCertificate: CertificateAndKey | None = None,
    acceptableProtocols: Iterable[bytes | str] | None = None,
    *,
    extraCertificateOptions: Mapping[str, Any] | None = None,
    insecure_skip_verification: bool = False,
) -> ClientTLSOptions:
    """Client options for talking to hostname: verifying chain and name, TLS >= 1.2, SNI.

    trustRoot defaults to ``platformTrust()``; give a CA certificate (or a
    list, or a PEM path) for a private CA.  clientCertificate (a
    ``CertificateAndKey``) is presented to servers that ask for one.
    hostname may be a DNS name (IDNA: sent as A-labels) or an IP address,
    which is then matched against the certificate's IP SANs.

    ``insecure_skip_verification=True`` checks neither the chain nor the
    name: anyone on the path can then read and change the traffic.
    """
    if isinstance(hostname, bytes):
        hostname = hostname.decode("idna")
    extra = dict(extraCertificateOptions or {})
    if clientCertificate is not None:
        extra.setdefault("privateKey", clientCertificate.private_key)
        extra.setdefault("certificate", clientCertificate.certificate)
        extra.setdefault("extraCertChain", clientCertificate.chain)
    if insecure_skip_verification:
        options = CertificateOptions(acceptableProtocols=acceptableProtocols, **extra)
    else:
        options = CertificateOptions(
            trustRoot=platformTrust() if trustRoot is None else trustRoot,
            acceptableProtocols=acceptableProtocols,
            **extra,
        )
    return ClientTLSOptions(hostname, options, not insecure_skip_verification)
