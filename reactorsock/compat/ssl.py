"""The stdlib ``ssl`` module's API over pyOpenSSL, for ``reactorsock.compat`` sockets.

The subset real clients and servers use: ``create_default_context``,
``SSLContext`` (``wrap_socket``, ``load_cert_chain``,
``load_verify_locations``, ``load_default_certs``, ``check_hostname``,
``verify_mode``, versions, ALPN, ciphers, options, SNI callback) and
``SSLSocket`` (handshake, ``recv``/``send``/``read``/``write``,
``makefile``, ``getpeercert``, ``unwrap``...), enough for ``http.client``,
``urllib.request`` and ``http.server`` over HTTPS, and ``MemoryBIO``,
``SSLObject`` and ``SSLContext.wrap_bio``, the sans-IO API asyncio's TLS
runs on.  Verification is on by
default exactly as in the stdlib.

The exception classes (``SSLError``, ``SSLWantReadError``,
``SSLCertVerificationError``...), the constants (``PROTOCOL_*``,
``CERT_*``, ``OP_*``, ``TLSVersion``, ``Purpose``, ``HAS_*``,
``OPENSSL_VERSION``...) and the pure functions (``DER_cert_to_PEM_cert``,
``cert_time_to_seconds``, ``get_default_verify_paths``...) are the stdlib's
own objects, so ``except ssl.SSLError`` catches ours.  ``OPENSSL_VERSION``
names the stdlib's OpenSSL; TLS here runs on the one pyOpenSSL binds.

``wrap_socket`` takes a compat socket or a plain stdlib ``socket.socket``
(made before ``install()``): either way the new ``SSLSocket`` takes over its
fd and the socket handed in is detached, as the stdlib does.  Both
``SSLSocket`` and ``SSLObject`` run on ``reactorsock._tlsbio.MemoryBIOTLS``,
the project's one TLS state machine.  ``docs/compat.md`` lists the
differences.
"""

from __future__ import annotations

import ssl as _stdssl
import warnings
from ssl import *  # noqa: F403 - every constant, exception class and pure function
from ssl import (  # noqa: F401 - public in the stdlib module, not covered by *
    _ASN1Object,
    _SSLMethod,
)
from typing import Any

from reactorsock.compat._socketobject import socket  # noqa: F401 - the stdlib module has it
from reactorsock.compat._sslcontext import (
    SSLContext,
    _create_unverified_context,
    create_default_context,
)
from reactorsock.compat._sslobject import MemoryBIO, SSLObject  # noqa: F401 - not the stdlib's
from reactorsock.compat._sslsocket import SSLSocket
from reactorsock.compat.socket import _GLOBAL_DEFAULT_TIMEOUT, create_connection

_OURS = [
    "MemoryBIO",
    "SSLContext",
    "SSLObject",
    "SSLSocket",
    "create_default_context",
    "get_server_certificate",
    "wrap_socket",
    "socket",
    "create_connection",
]
__all__ = sorted({n for n in dir(_stdssl) if not n.startswith("_")} | set(_OURS))

# urllib.request and http.client call these private helpers of the stdlib module.
_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context


def get_server_certificate(
    addr: tuple[str, int],
    ssl_version: int = PROTOCOL_TLS_CLIENT,  # noqa: F405
    ca_certs: str | None = None,
    timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
) -> str:
    """Return the PEM certificate of the server at ``(host, port)``.

    Verified against ca_certs when given; unverified otherwise, as the stdlib.
    """
    host, port = addr
    cert_reqs = CERT_REQUIRED if ca_certs is not None else CERT_NONE  # noqa: F405
    context = _create_unverified_context(ssl_version, cert_reqs=cert_reqs, cafile=ca_certs)
    with create_connection(addr, timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=host) as sslsock:
            der = sslsock.getpeercert(True)
    return DER_cert_to_PEM_cert(der)  # noqa: F405


def wrap_socket(
    sock: Any,
    keyfile: str | None = None,
    certfile: str | None = None,
    server_side: bool = False,
    cert_reqs: int = CERT_NONE,  # noqa: F405
    ssl_version: int = PROTOCOL_TLS,  # noqa: F405
    ca_certs: str | None = None,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
    ciphers: str | None = None,
) -> SSLSocket:
    """The deprecated module-level ``wrap_socket`` (removed in Python 3.12)."""
    warnings.warn(
        "ssl.wrap_socket() is deprecated, use SSLContext.wrap_socket()",
        category=DeprecationWarning,
        stacklevel=2,
    )
    if server_side and not certfile:
        raise ValueError("certfile must be specified for server-side operations")
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = SSLContext(ssl_version)
    context.verify_mode = cert_reqs
    if ca_certs:
        context.load_verify_locations(ca_certs)
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    if ciphers:
        context.set_ciphers(ciphers)
    return context.wrap_socket(
        sock=sock,
        server_side=server_side,
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
    )
