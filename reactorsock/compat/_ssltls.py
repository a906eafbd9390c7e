"""The TLS object and the stdlib errors shared by ``SSLSocket`` and ``SSLObject``.

``CompatTLS`` is ``reactorsock._tlsbio.MemoryBIOTLS`` (the project's one
TLS state machine) plus what the stdlib ``ssl`` API reports and
``MemoryBIOTLS`` does not keep: OpenSSL's verify code and message, for
``SSLCertVerificationError.verify_code``/``verify_message``, and a session
to resume.  ``ssl_error`` turns a ``TLSError`` into the stdlib exception
class with ``reason`` and ``library`` set.

``RecordReader`` knows where the current TLS record ends, so that callers
hand ``CompatTLS`` ciphertext one record at a time, as CPython's OpenSSL
reads it (no read-ahead): ciphertext not yet needed stays where it was (in
the kernel for a socket, in the incoming ``MemoryBIO`` for an
``SSLObject``).

The rest is the stdlib's TLS-information API (``getpeercert``, ``cipher``,
``version``, the ``context`` and ``session`` properties...), written once
for both classes.  They hold the same state: ``_tls`` (a ``CompatTLS`` once
TLS starts, else None), ``_context``, ``_session`` and ``server_side``.
Each class binds these functions as its own (``cipher = _ssltls.cipher``):
no base class, and a call costs no extra frame.
"""

from __future__ import annotations

import ssl as _stdssl
from collections.abc import Callable
from typing import Any

from OpenSSL import SSL

from reactorsock._tlsbio import MemoryBIOTLS, TLSError, TLSTruncationError, is_ip_address
from reactorsock.compat._socketobject import encode_host
from reactorsock.compat._sslcert import decode_certificate

__all__ = [
    "CompatTLS",
    "RecordReader",
    "cipher",
    "compression",
    "context",
    "get_channel_binding",
    "getpeercert",
    "data_after_close_notify",
    "library_error",
    "new_tls",
    "no_public_constructor",
    "read_api",
    "selected_alpn_protocol",
    "selected_npn_protocol",
    "server_hostname_arg",
    "session",
    "shared_ciphers",
    "ssl_error",
    "verify_client_post_handshake",
    "version",
    "want_read",
    "want_write",
    "zero_return",
]

_HEADER = 5  # TLS record header: type, version, length (RFC 8446 section 5.1)
_HOSTNAME_MISMATCH = 62  # X509_V_ERR_HOSTNAME_MISMATCH (x509_vfy.h)
_IP_ADDRESS_MISMATCH = 64  # X509_V_ERR_IP_ADDRESS_MISMATCH


def _verify_error_string(code: int) -> str:
    """OpenSSL's ``X509_verify_cert_error_string``, the stdlib's verify_message."""
    try:  # pyOpenSSL's private binding; the public API has no such call.
        from OpenSSL._util import ffi, lib

        return ffi.string(lib.X509_verify_cert_error_string(code)).decode("ascii", "replace")
    except Exception:  # pragma: no cover - depends on the pyOpenSSL build
        return f"certificate verify error {code}"


class CompatTLS(MemoryBIOTLS):
    """``MemoryBIOTLS`` that keeps the verify code and offers a session to resume."""

    __slots__ = ("verify_code", "verify_message", "_session")

    def __init__(self, context: SSL.Context, *, session: Any = None, **kwargs: Any) -> None:
        self.verify_code: int | None = None
        self.verify_message: str | None = None
        self._session = session
        super().__init__(context, **kwargs)

    def _advance_handshake(self) -> bool:
        if self._session is not None:  # before the ClientHello is made
            self._conn.set_session(self._session)
            self._session = None
        return super()._advance_handshake()

    def _verify(self, conn: Any, cert: Any, errnum: int, depth: int, ok: int) -> bool:
        accepted = super()._verify(conn, cert, errnum, depth, ok)
        if not accepted and self.verify_code is None:
            if not ok:
                self.verify_code, self.verify_message = errnum, _verify_error_string(errnum)
            else:  # the host name check refused it: the stdlib's wording (Modules/_ssl.c)
                host = self.server_hostname
                if is_ip_address(host or ""):
                    self.verify_code = _IP_ADDRESS_MISMATCH
                    self.verify_message = (
                        f"IP address mismatch, certificate is not valid for '{host}'."
                    )
                else:
                    self.verify_code = _HOSTNAME_MISMATCH
                    self.verify_message = (
                        f"Hostname mismatch, certificate is not valid for '{host}'."
                    )
        return accepted

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed a session."""
        from OpenSSL._util import lib  # no public pyOpenSSL call

        return bool(lib.SSL_session_reused(self._conn._ssl))


class RecordReader:
    """Where the current TLS record ends: ``want()`` bytes complete its header or body."""

    __slots__ = ("_header", "_body_left")

    def __init__(self) -> None:
        self._header = bytearray()
        self._body_left = 0

    def want(self) -> int:
        """How many bytes to read next: the rest of the header, or of the body."""
        return self._body_left or _HEADER - len(self._header)

    def took(self, data: bytes) -> None:
        """Account for data, at most ``want()`` bytes just read."""
        if self._body_left:
            self._body_left -= len(data)
        elif data:
            header = self._header
            header += data
            if len(header) == _HEADER:
                self._body_left = int.from_bytes(header[3:5], "big")
                header.clear()


def new_tls(owner: Any, tls_class: type[CompatTLS] = CompatTLS) -> CompatTLS:
    """The TLS of owner (an SSLSocket or SSLObject): its context, side, host name and session."""
    context = owner._context
    tls = tls_class(
        context._openssl_context(),
        server_side=owner.server_side,
        server_hostname=owner.server_hostname,
        verify_hostname=context.check_hostname,
        session=owner._session,
    )
    tls.connection.set_app_data(owner)  # the SNI callback's first argument
    return tls


def read_api(read: Callable[[int], bytes], size: int, buffer: Any) -> Any:
    """``read(len, buffer)`` of the stdlib: read(size) bytes, or their count put into buffer."""
    if buffer is None:
        if size < 0:
            raise ValueError("size should not be negative")
        return read(size)
    with memoryview(buffer) as view, view.cast("B") as octets:
        if size <= 0 or size > len(octets):
            size = len(octets)
        data = read(size)
        octets[: len(data)] = data
    return len(data)


def data_after_close_notify(tls: CompatTLS) -> _stdssl.SSLError:
    """Fail tls, as OpenSSL's SSL_shutdown does on application data before the close_notify."""
    text = "application data after close notify"
    tls.error = TLSError(text, (text,))
    return ssl_error(tls, tls.error)


def library_error(reason: str, text: str) -> _stdssl.SSLError:
    """The stdlib's ``SSLError`` for an OpenSSL SSL-library error: ``[SSL: REASON] text``."""
    err = _stdssl.SSLError(int(_stdssl.SSL_ERROR_SSL), f"[SSL: {reason}] {text}")
    err.reason = reason
    err.library = "SSL"
    return err


def ssl_error(tls: CompatTLS, exc: TLSError) -> _stdssl.SSLError:
    """The stdlib exception for exc, with ``reason``/``library`` (and verify details)."""
    reasons = exc.openssl_reasons
    if isinstance(exc, TLSTruncationError) or (not reasons and not tls.handshake_done):
        reason = "UNEXPECTED_EOF_WHILE_READING"
        err: _stdssl.SSLError = _stdssl.SSLEOFError(
            int(_stdssl.SSL_ERROR_EOF), f"[SSL: {reason}] EOF occurred in violation of protocol"
        )
    elif tls.verify_code is not None or any("certificate verify failed" in r for r in reasons):
        reason = "CERTIFICATE_VERIFY_FAILED"
        message = tls.verify_message or "certificate verify failed"
        err = _stdssl.SSLCertVerificationError(
            int(_stdssl.SSL_ERROR_SSL), f"[SSL: {reason}] certificate verify failed: {message}"
        )
        err.verify_code = tls.verify_code or 0
        err.verify_message = message
    else:
        text = reasons[-1] if reasons else str(exc)
        reason = text.upper().replace(" ", "_") if reasons else "UNKNOWN"
        detail = f" ({exc.message})" if exc.message != text else ""
        err = _stdssl.SSLError(int(_stdssl.SSL_ERROR_SSL), f"[SSL: {reason}] {text}{detail}")
    err.reason = reason
    err.library = "SSL"
    return err


def no_public_constructor(cls: type, factory: str) -> TypeError:
    """The stdlib's error for ``SSLSocket()``/``SSLObject()``: factory makes them."""
    return TypeError(
        f"{cls.__name__} does not have a public constructor. "
        f"Instances are returned by SSLContext.{factory}()."
    )


def server_hostname_arg(server_hostname: str | None) -> str | None:
    """The ``server_hostname`` of ``wrap_socket``/``wrap_bio`` checked and IDNA-encoded."""
    if server_hostname is None:
        return None
    if not server_hostname or server_hostname.startswith("."):
        raise ValueError("server_hostname cannot be an empty string or start with a leading dot.")
    return encode_host(server_hostname)


def want_read() -> _stdssl.SSLWantReadError:
    """More incoming ciphertext is needed."""
    return _stdssl.SSLWantReadError(
        int(_stdssl.SSL_ERROR_WANT_READ), "The operation did not complete (read)"
    )


def want_write() -> _stdssl.SSLWantWriteError:
    """The outgoing side must drain first."""
    return _stdssl.SSLWantWriteError(
        int(_stdssl.SSL_ERROR_WANT_WRITE), "The operation did not complete (write)"
    )


def zero_return() -> _stdssl.SSLZeroReturnError:
    """The TLS connection was closed with close_notify."""
    return _stdssl.SSLZeroReturnError(
        int(_stdssl.SSL_ERROR_ZERO_RETURN), "TLS/SSL connection has been closed (EOF)"
    )


# -- the TLS-information API of SSLSocket and SSLObject (self: either one) ------------------


def _get_context(self: Any) -> Any:
    """The ``SSLContext``; a server's SNI callback may replace it mid-handshake."""
    return self._context


def _set_context(self: Any, ctx: Any) -> None:
    self._context = ctx
    if self._tls is not None:
        self._tls.connection.set_context(ctx._openssl_context())


context = property(_get_context, _set_context)


def _get_session(self: Any) -> Any:
    """The TLS session (an ``OpenSSL.SSL.Session``) for ``wrap_socket``/``wrap_bio(session=)``."""
    if self._tls is None or not self._tls.handshake_done:
        return self._session
    return self._tls.connection.get_session()


def _set_session(self: Any, session: Any) -> None:
    if self.server_side:
        raise ValueError("Cannot set session for server-side SSLSocket.")
    if self._tls is not None and self._tls.handshake_done:
        raise ValueError("Cannot set session after handshake.")
    self._session = session


session = property(_get_session, _set_session)


def _settled(self: Any) -> SSL.Connection | None:
    tls = self._tls
    return tls.connection if tls is not None and tls.handshake_done else None


def getpeercert(self: Any, binary_form: bool = False) -> Any:
    """The peer's certificate: the stdlib's dict, DER bytes, None, or {} if unverified."""
    tls = self._tls
    if tls is None or not tls.handshake_done:
        raise ValueError("handshake not done yet")
    cert = tls.peer_certificate
    if cert is None:
        return None
    if binary_form:
        from cryptography.hazmat.primitives.serialization import Encoding

        return cert.public_bytes(Encoding.DER)
    if self._context.verify_mode == _stdssl.CERT_NONE:
        return {}  # as CPython: an unverified certificate's fields are not shown
    return decode_certificate(cert)


def selected_alpn_protocol(self: Any) -> str | None:
    """The ALPN protocol agreed on, or None."""
    tls = self._tls
    proto = tls.negotiated_protocol if tls is not None else None
    return proto.decode("ascii") if proto else None


def selected_npn_protocol(self: Any) -> None:
    """None: NPN is gone from OpenSSL 3 (the stdlib's answer there too)."""
    return None


def version(self: Any) -> str | None:
    """The TLS version agreed on (``'TLSv1.3'``), or None before the handshake."""
    conn = _settled(self)
    return conn.get_protocol_version_name() if conn is not None else None


def cipher(self: Any) -> tuple[str, str, int] | None:
    """``(name, protocol, secret_bits)`` of the cipher in use, or None."""
    conn = _settled(self)
    if conn is None:
        return None
    return (conn.get_cipher_name(), conn.get_cipher_version(), conn.get_cipher_bits())


def shared_ciphers(self: Any) -> None:
    """None: pyOpenSSL does not expose the client's cipher list."""
    return None


def compression(self: Any) -> None:
    """None: TLS compression is off (OP_NO_COMPRESSION, CRIME)."""
    return None


def get_channel_binding(self: Any, cb_type: str = "tls-unique") -> bytes | None:
    """The ``tls-unique`` channel binding (RFC 5929), or None before the handshake."""
    if cb_type != "tls-unique":
        raise ValueError(f"{cb_type} channel binding type not implemented")
    conn = _settled(self)
    if conn is None:
        return None
    # The first Finished message: ours on a new client session or a resumed server one.
    if bool(self.session_reused) != (not self.server_side):
        return conn.get_finished()
    return conn.get_peer_finished()


def verify_client_post_handshake(self: Any) -> None:
    """Not offered: pyOpenSSL has no post-handshake authentication call."""
    raise NotImplementedError("post-handshake authentication is not supported")
