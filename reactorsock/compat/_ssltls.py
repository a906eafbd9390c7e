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
"""

from __future__ import annotations

import ssl as _stdssl
from typing import Any

from OpenSSL import SSL

from reactorsock._tlsbio import MemoryBIOTLS, TLSError, TLSTruncationError, is_ip_address

__all__ = [
    "CompatTLS",
    "RecordReader",
    "library_error",
    "ssl_error",
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
