"""TLS endpoints: ``TLSServerEndpoint``, ``wrapClientTLS`` and the ``ssl:``/``tls:`` strings.

A TLS endpoint wraps any stream endpoint: every connection it makes or
accepts runs inside a ``tls.TLSTransport``.  ``SSL_SERVER_SYNTAX`` and
``TLS_CLIENT_SYNTAX`` are the description syntaxes that
``endpoints.serverFromString``/``clientFromString`` load on first use of
``ssl:``/``tls:`` (``endpoints.SERVER_PARSERS`` names them by string, so
pyOpenSSL loads only then).  This module is not the TLS transport
(``tls.py``) nor the options (``_tlsoptions.py``); ``tls.py`` re-exports
it.  It imports ``tls`` only when an endpoint listens or connects, so that
the description registry can import it first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zope.interface import implementer

from reactorsock._certs import CertificateAndKey, load_pem_certificates, load_pem_private_key
from reactorsock._endpointstrings import (
    CLIENT_PARSERS,
    SERVER_PARSERS,
    EndpointSyntax,
    Param,
    _count,
    _host_port,
    _port,
    _seconds,
    _text,
)
from reactorsock._tlsoptions import CertificateOptions, optionsForClientTLS
from reactorsock.defer import Deferred, fail
from reactorsock.interfaces import IStreamClientEndpoint, IStreamServerEndpoint

__all__ = [
    "TLSServerEndpoint",
    "wrapClientTLS",
    "SSL_SERVER_SYNTAX",
    "TLS_CLIENT_SYNTAX",
]


@implementer(IStreamServerEndpoint)
class TLSServerEndpoint:
    """A server endpoint whose connections are TLS-wrapped (any stream endpoint below)."""

    def __init__(self, wrapped: Any, contextFactory: Any) -> None:
        self._wrapped = wrapped
        self._context_factory = contextFactory

    def listen(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamServerEndpoint.listen``."""
        from reactorsock.tls import TLSWrappingFactory

        try:
            wrapping = TLSWrappingFactory(self._context_factory, False, protocolFactory)
        except Exception:
            return fail()
        return self._wrapped.listen(wrapping)


@implementer(IStreamClientEndpoint)
class _TLSClientEndpoint:
    def __init__(self, contextFactory: Any, wrapped: Any) -> None:
        self._wrapped = wrapped
        self._context_factory = contextFactory

    def connect(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamClientEndpoint.connect``: fires with the wrapped protocol."""
        from reactorsock.tls import TLSWrappingFactory

        try:
            wrapping = TLSWrappingFactory(self._context_factory, True, protocolFactory)
        except Exception:
            return fail()  # e.g. bad options: a failed Deferred, as the server side gives
        d = self._wrapped.connect(wrapping)
        d.addCallback(lambda tls: tls.protocol)
        return d


def wrapClientTLS(connectionCreator: Any, wrappedEndpoint: Any) -> Any:  # noqa: N802 - Twisted
    """A client endpoint that runs TLS (connectionCreator's options) over wrappedEndpoint."""
    return _TLSClientEndpoint(connectionCreator, wrappedEndpoint)


def _server_endpoint(
    reactor: Any,
    port: int,
    privateKey: str,
    certKey: str | None = None,
    interface: str = "",
    backlog: int = 50,
    extraCertChain: str | None = None,
    caCertsDir: str | None = None,
) -> TLSServerEndpoint:
    from reactorsock.endpoints import TCP4ServerEndpoint

    cert_file = certKey or privateKey
    certs = load_pem_certificates(Path(cert_file))
    if not certs:
        raise ValueError(f"no certificate in {cert_file!r}")
    chain = list(certs[1:])
    if extraCertChain:
        chain += load_pem_certificates(Path(extraCertChain))
    options = CertificateOptions(
        privateKey=load_pem_private_key(Path(privateKey)),
        certificate=certs[0],
        extraCertChain=chain,
        trustRoot=caCertsDir,
    )
    options.getContext()  # fail at parse time on a key that does not match
    return TLSServerEndpoint(TCP4ServerEndpoint(reactor, port, backlog, interface), options)


def _client_endpoint(
    reactor: Any,
    host: str,
    port: int,
    trustRoots: str | None = None,
    certificate: str | None = None,
    privateKey: str | None = None,
    timeout: float = 30,
    bindAddress: Any = None,
) -> Any:
    from reactorsock.endpoints import HostnameEndpoint

    client_cert = None
    if certificate:
        certs = load_pem_certificates(Path(certificate))
        if not certs:
            raise ValueError(f"no certificate in {certificate!r}")
        key = load_pem_private_key(Path(privateKey or certificate))
        client_cert = CertificateAndKey(certs[0], key, tuple(certs[1:]))
    options = optionsForClientTLS(host, trustRoot=trustRoots, clientCertificate=client_cert)
    return wrapClientTLS(options, HostnameEndpoint(reactor, host, port, timeout, bindAddress))


def _syntaxes() -> tuple[EndpointSyntax, EndpointSyntax]:
    server = EndpointSyntax(
        "ssl:PORT:privateKey=KEY.pem[:certKey=CERT.pem][:interface=IP][:backlog=N]"
        "[:extraCertChain=CHAIN.pem][:caCertsDir=DIR], "
        "e.g. ssl:8443:privateKey=key.pem:certKey=cert.pem",
        (
            Param("port", _port, required=True),
            Param("privateKey", _text, required=True),
            Param("certKey", _text),
            Param("interface", str),
            Param("backlog", _count),
            Param("extraCertChain", _text),
            Param("caCertsDir", _text),
        ),
        _server_endpoint,
    )
    client = EndpointSyntax(
        "tls:HOST:PORT[:trustRoots=CA.pem|DIR][:certificate=CERT.pem][:privateKey=KEY.pem]"
        "[:timeout=S][:bindAddress=IP], e.g. tls:host=example.com:port=443",
        (
            Param("host", _text, required=True),
            Param("port", _port, required=True),
            Param("trustRoots", _text),
            Param("certificate", _text),
            Param("privateKey", _text),
            Param("timeout", _seconds),
            Param("bindAddress", _host_port),
        ),
        _client_endpoint,
    )
    return server, client


SSL_SERVER_SYNTAX, TLS_CLIENT_SYNTAX = _syntaxes()
# The registry names these by string already; this covers a registry entry
# removed before this module was imported.
SERVER_PARSERS.setdefault("ssl", SSL_SERVER_SYNTAX)
CLIENT_PARSERS.setdefault("tls", TLS_CLIENT_SYNTAX)
