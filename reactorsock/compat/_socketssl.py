"""``socket.ssl()``: Python 2's classic client-side TLS object, kept from Jython.

``ssl(sock)`` runs a TLS client handshake over a connected socket (ours or
the stdlib's) and returns an object with ``read``, ``write``, ``server`` and
``issuer``.  Unlike CPython 2's, it verifies the server by default: chain to
the system trust store (or ``cafile``) and the name the socket was connected
to (or ``server_hostname``), as Java and hence Jython did.  ``verify=False``
opts out.  It is not the ``ssl`` module: ``reactorsock.compat.ssl`` is.

It runs pyOpenSSL over memory BIOs and moves the records with the socket's
own ``recv``/``sendall``, so the socket's blocking or timeout mode applies;
in non-blocking mode ``BlockingIOError`` escapes, as from the socket.
"""

from __future__ import annotations

import ipaddress
import ssl as _stdssl
from typing import Any

import service_identity
from cryptography import x509
from OpenSSL import SSL
from service_identity.pyopenssl import verify_hostname, verify_ip_address

from reactorsock.compat._socketobject import encode_host

__all__ = ["ssl", "SSLType"]

_RECORD = 16384  # TLS's maximum record payload (RFC 8446 section 5.1)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _oneline(name: x509.Name) -> str:
    """``/C=US/O=Example/CN=host``: OpenSSL's ``X509_NAME_oneline`` form, as Python 2 gave."""
    return "".join(f"/{a.rfc4514_attribute_name}={a.value}" for a in name)


def _peer_certificate(conn: SSL.Connection) -> x509.Certificate | None:
    try:
        return conn.get_peer_certificate(as_cryptography=True)
    except TypeError:  # pyOpenSSL < 24.3.  Remove when setup.cfg requires it.
        cert = conn.get_peer_certificate()
        return None if cert is None else cert.to_cryptography()


class SSLType:
    """A client TLS connection over a socket: ``read``, ``write``, ``server``, ``issuer``."""

    def __init__(self, sock: Any, conn: SSL.Connection) -> None:
        self._sock = sock
        self._conn = conn

    def _flush(self) -> None:
        conn = self._conn
        while True:
            try:
                data = conn.bio_read(65536)
            except SSL.WantReadError:
                return
            self._sock.sendall(data)

    def _pump(self) -> None:
        """Send pending records, then feed one ``recv`` of the peer's to OpenSSL."""
        self._flush()
        data = self._sock.recv(_RECORD + 512)
        if data:
            self._conn.bio_write(data)
        else:
            self._conn.bio_shutdown()

    def _run(self, operation: Any, *args: Any) -> Any:
        while True:
            try:
                result = operation(*args)
            except SSL.WantReadError:
                self._pump()
            except SSL.ZeroReturnError:
                return b""
            except SSL.SysCallError as e:
                raise _stdssl.SSLEOFError(8, f"EOF occurred in violation of protocol ({e})")
            except SSL.Error as e:
                try:
                    self._flush()  # the alert tells the server why
                except OSError:
                    pass
                text = str(e)
                if "certificate verify failed" in text:
                    raise _stdssl.SSLCertVerificationError(1, text) from None
                raise _stdssl.SSLError(1, text) from None
            else:
                self._flush()
                return result

    def read(self, n: int = 1024) -> bytes:
        """Return up to n bytes of plaintext; ``b""`` once the server closed TLS."""
        return self._run(self._conn.recv, n)

    def write(self, data: Any) -> int:
        """Send all of data; return its length."""
        return self._run(self._conn.sendall, bytes(data)) or len(data)

    def server(self) -> str:
        """The server certificate's subject, as ``/C=../O=../CN=..``."""
        cert = _peer_certificate(self._conn)
        return "" if cert is None else _oneline(cert.subject)

    def issuer(self) -> str:
        """The server certificate's issuer, as ``/C=../O=../CN=..``."""
        cert = _peer_certificate(self._conn)
        return "" if cert is None else _oneline(cert.issuer)


def ssl(
    sock: Any,
    keyfile: str | None = None,
    certfile: str | None = None,
    *,
    verify: bool = True,
    cafile: str | None = None,
    server_hostname: str | None = None,
) -> SSLType:
    """Run a TLS client handshake over the connected sock; return an ``SSLType``.

    Verifies the server's chain (system trust store, or ``cafile``) and its
    name: ``server_hostname``, else the host the socket was connected to by
    ``connect``.  ``verify=False`` skips both.  keyfile/certfile give a client
    certificate.  Raises ``ssl.SSLCertVerificationError`` when verification
    fails, ``ssl.SSLError`` for other TLS errors.
    """
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    if certfile is not None:
        ctx.use_certificate_chain_file(certfile)
        ctx.use_privatekey_file(keyfile or certfile)
    host = server_hostname or getattr(sock, "_peer_host", None)
    if verify:
        if not host:
            raise ValueError(
                "ssl() checks the server's name: connect by name, pass server_hostname=, "
                "or pass verify=False"
            )
        if cafile is not None:
            ctx.load_verify_locations(cafile)
        else:
            ctx.set_default_verify_paths()
        ctx.set_verify(SSL.VERIFY_PEER)
    conn = SSL.Connection(ctx, None)
    conn.set_connect_state()
    if host and not _is_ip(host):
        conn.set_tlsext_host_name(encode_host(host).encode("ascii"))
    wrapped = SSLType(sock, conn)
    wrapped._run(conn.do_handshake)
    if verify:
        try:
            if _is_ip(host):
                verify_ip_address(conn, host)
            else:
                verify_hostname(conn, encode_host(host))
        except service_identity.VerificationError as e:
            raise _stdssl.SSLCertVerificationError(1, f"certificate verify failed: {e}") from None
    return wrapped
