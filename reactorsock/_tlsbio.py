"""Sans-IO TLS: one pyOpenSSL connection over memory BIOs, bytes in and bytes out.

``MemoryBIOTLS`` holds the TLS state machine of one connection and nothing
else: no socket, reactor, clock or logger (STYLE.md section 5).  The caller
feeds it the ciphertext that arrived (``receive_ciphertext``, which returns
the plaintext it decrypts), hands it plaintext to send (``send_plaintext``)
and drains the ciphertext that is due (``ciphertext_to_send``).  The shell
that moves those bytes over a real transport is ``tls.TLSTransport``.

Every failure, whether OpenSSL's, a certificate check's or a closed
stream's, becomes one exception type, ``TLSError``, whose message names the
reason in words ("certificate verify failed: certificate has expired: ...").

Design notes
------------
*Verification.*  The chain is checked by OpenSSL against the context's
trust store; a per-connection verify callback records *why* a certificate
was refused (OpenSSL itself only reports "certificate verify failed") and,
on a client, checks the leaf against the expected host name with
``service_identity`` (RFC 6125).  Checking the name inside the callback,
rather than after the handshake, makes OpenSSL refuse the handshake and
send the server an alert, so both sides learn why.

*Truncation.*  TLS marks the end of the data with a close_notify alert
(RFC 8446 section 6.1).  A transport EOF without one may be an attacker
cutting the stream short, so it is an error (``TLSTruncationError``), never
a clean close.

*Write coalescing.*  ``send_plaintext`` only queues; the queued chunks are
joined and encrypted when the ciphertext is drained, so many small writes
made before one flush go out as one record (OpenSSL splits data larger
than 16 KiB into records of at most 16 KiB, RFC 8446 section 5.1).  Before
the handshake completes, plaintext waits in the same queue.

*Draining without exceptions.*  pyOpenSSL reports "no more data" by
raising ``WantReadError``, so a loop over ``Connection.recv`` and
``Connection.bio_read`` costs two exceptions per received record, plus
pyOpenSSL's wrapper frames around each call.  When pyOpenSSL's private
cffi binding (``OpenSSL._util.lib``) and the connection's memory BIOs are
there, the hot calls go to OpenSSL directly: ``SSL_read`` into one buffer
sized by the ciphertext waiting in the input BIO (so one ``bytes`` per
batch, however many records it holds), ``SSL_get_error`` to see
want-read, and ``BIO_read`` of exactly the pending ciphertext
(``BIO_get_mem_data`` gives its size).  Any other outcome goes through
pyOpenSSL's own ``_raise_ssl_error``, so errors are raised exactly as
before.  Without the private binding the public methods are used (and a
short ``bio_read`` already means the output BIO is empty).

*Errors mid-batch.*  When a batch of ciphertext decrypts to some plaintext
and then fails (data followed by a fatal alert), the plaintext is returned
and the error is kept in ``error``; the next call raises it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from OpenSSL import SSL

from reactorsock import error

try:  # pyOpenSSL's private cffi binding: the exception-free drain (see the notes)
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _lib

    _SSL_read = _lib.SSL_read
    _SSL_write = _lib.SSL_write
    _SSL_get_error = _lib.SSL_get_error
    _SSL_pending = _lib.SSL_pending
    _BIO_read = _lib.BIO_read
    _BIO_write = _lib.BIO_write
    _BIO_pending = _lib.BIO_get_mem_data  # BIO_CTRL_INFO: bytes held by a memory BIO
    _WANT_READ = _lib.SSL_ERROR_WANT_READ
    _NULL = _ffi.NULL
    _from_buffer = _ffi.from_buffer
    _buffer = _ffi.buffer
    _alloc = _ffi.new_allocator(should_clear_after_alloc=False)
except Exception:  # pragma: no cover - depends on the pyOpenSSL build
    _lib = None

__all__ = [
    "TLSError",
    "TLSTruncationError",
    "MemoryBIOTLS",
    "RECORD_SIZE",
    "encode_server_name",
    "is_ip_address",
]

#: Largest TLS plaintext record (RFC 8446 section 5.1): the coalescing bound.
RECORD_SIZE = 16384
#: One SSL_read returns at most one record's plaintext.
_READ_SIZE = RECORD_SIZE
#: Ciphertext drained per bio_read call.
_BIO_READ_SIZE = 65536


class TLSError(error.ConnectionLost):
    """A TLS connection failed; the message says why, in words.

    A ``ConnectionLost``, so ``reason.check(ConnectionLost)`` holds for every
    connection that did not end cleanly.  ``openssl_reasons`` keeps OpenSSL's
    own reason strings, when there were any.
    """

    def __init__(self, message: str, openssl_reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.openssl_reasons = openssl_reasons

    def __str__(self) -> str:
        return self.message


class TLSTruncationError(TLSError):
    """The transport closed without a TLS close_notify: the data may be cut short."""


def is_ip_address(host: str) -> bool:
    """True if host is an IPv4 or IPv6 address literal."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def encode_server_name(hostname: str) -> bytes:
    """The SNI form of hostname: IDNA 2008 A-labels, no trailing dot (RFC 6066 section 3)."""
    hostname = hostname.rstrip(".")
    if hostname.isascii():
        return hostname.lower().encode("ascii")
    import idna

    return idna.encode(hostname, uts46=True)


# Friendly text for the verify errors people meet (X509_V_ERR_*, x509_vfy.h).
_VERIFY_REASONS = {
    2: "unknown CA: unable to get issuer certificate",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate (not issued by a trusted CA)",
    19: "unknown CA / self-signed certificate in chain",
    20: "unknown CA: unable to get local issuer certificate",
    21: "unknown CA: unable to verify the first certificate",
    26: "certificate is not for this purpose",
    62: "hostname mismatch",
}

# OpenSSL reason strings (ERR_reason_error_string) -> what they mean, first match wins.
_SSL_REASONS: tuple[tuple[str, str], ...] = (
    ("peer did not return a certificate", "peer did not send a certificate (required)"),
    ("certificate required", "peer requires a certificate and none was sent"),
    ("alert unknown ca", "peer rejected our certificate: unknown CA"),
    ("alert certificate expired", "peer rejected our certificate: certificate has expired"),
    ("alert bad certificate", "peer rejected our certificate: bad certificate"),
    ("alert certificate unknown", "peer rejected our certificate: certificate unknown"),
    ("alert certificate revoked", "peer rejected our certificate: certificate revoked"),
    ("no application protocol", "no application protocol (ALPN) in common"),
    ("no shared cipher", "no cipher suite in common"),
    ("unsupported protocol", "no TLS version in common"),
    ("alert protocol version", "no TLS version in common"),
    ("alert handshake failure", "peer refused the handshake (handshake failure alert)"),
    # A verify callback that refuses a certificate OpenSSL found valid (a client's
    # host name check) makes OpenSSL send internal_error.
    (
        "alert internal error",
        "peer aborted the handshake (internal error alert; "
        "a client whose host name check failed sends this)",
    ),
)
# Reasons that mean the bytes were not TLS at all.
_NOT_TLS = ("http request", "https proxy request", "wrong version number", "unknown protocol",
            "packet length too long", "record layer failure", "record length mismatch",
            "unexpected message")  # fmt: skip


def _openssl_reasons(exc: SSL.Error) -> tuple[str, ...]:
    errors = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    out = []
    for entry in errors:
        if isinstance(entry, tuple) and entry:
            out.append(str(entry[-1]))
    return tuple(out)


def _verify_error_text(errnum: int) -> str:
    text = _VERIFY_REASONS.get(errnum)
    if text is not None:
        return text
    try:  # OpenSSL's own wording; private pyOpenSSL binding, hence the fallback.
        from OpenSSL._util import ffi, lib

        return ffi.string(lib.X509_verify_cert_error_string(errnum)).decode("ascii", "replace")
    except Exception:  # pragma: no cover - depends on the pyOpenSSL build
        return f"verify error {errnum}"


class MemoryBIOTLS:
    """TLS over pyOpenSSL memory BIOs: bytes in, bytes out; never touches a socket.

    context is an ``OpenSSL.SSL.Context``.  On a client, server_hostname is
    sent as SNI (unless it is an IP address) and, when verify_hostname is
    true and the context verifies its peer, the server's certificate must
    match it.  A client starts its handshake at once: its ClientHello is in
    ``ciphertext_to_send()`` straight after construction.  The peer's
    close_notify is answered with ours at once unless answer_close_notify
    is false (half-close: the caller may go on sending, then ``close()``).

    Attributes:
        handshake_done: the handshake has completed.
        peer_closed_cleanly: the peer's close_notify arrived.
        error: the ``TLSError`` that ended the connection, or None.
    """

    __slots__ = (
        "_conn",
        "server_side",
        "server_hostname",
        "handshake_done",
        "peer_closed_cleanly",
        "error",
        "_verify_hostname",
        "_verify_failure",
        "_pending",
        "_pending_size",
        "_closed",
        "_fast",
        "answer_close_notify",
    )

    def __init__(
        self,
        context: SSL.Context,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        verify_hostname: bool = True,
        answer_close_notify: bool = True,
    ) -> None:
        conn = self._conn = SSL.Connection(context, None)
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.handshake_done = False
        self.peer_closed_cleanly = False
        self.error: TLSError | None = None
        self._verify_hostname = bool(verify_hostname and server_hostname and not server_side)
        self._verify_failure: str | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._closed = False
        self.answer_close_notify = answer_close_notify
        self._fast = _lib is not None and all(
            getattr(conn, name, None) is not None
            for name in ("_ssl", "_into_ssl", "_from_ssl", "_raise_ssl_error")
        ) and all(
            hasattr(context, name)
            for name in ("_verify_helper", "_alpn_select_helper", "_ocsp_helper")
        )  # fmt: skip
        mode = context.get_verify_mode()
        if mode & SSL.VERIFY_PEER:
            conn.set_verify(mode, self._verify)
        if server_side:
            conn.set_accept_state()
        else:
            conn.set_connect_state()
            if server_hostname and not is_ip_address(server_hostname):
                conn.set_tlsext_host_name(encode_server_name(server_hostname))
            self._advance_handshake()

    # -- verification --------------------------------------------------------

    def _verify(self, conn: Any, cert: Any, errnum: int, depth: int, ok: int) -> bool:
        if not ok:
            if self._verify_failure is None:
                text = _verify_error_text(errnum)
                subject = cert.to_cryptography().subject.rfc4514_string() if cert else ""
                self._verify_failure = f"{text} ({subject})" if subject else text
            return False
        if depth == 0 and self._verify_hostname:
            problem = self._hostname_problem(cert.to_cryptography())
            if problem is not None:
                self._verify_failure = problem
                return False
        return True

    def _hostname_problem(self, cert: Any) -> str | None:
        from service_identity import CertificateError, VerificationError
        from service_identity.cryptography import (
            extract_patterns,
            verify_certificate_hostname,
            verify_certificate_ip_address,
        )

        host = self.server_hostname or ""
        try:
            if is_ip_address(host):
                verify_certificate_ip_address(cert, host)
            else:
                verify_certificate_hostname(cert, host.rstrip("."))
        except (VerificationError, CertificateError):
            try:
                names = ", ".join(_pattern_text(p) for p in extract_patterns(cert)) or "no names"
            except Exception:
                names = "unreadable names"
            return f"hostname mismatch: expected {host!r}, got {names}"
        return None

    # -- receiving -----------------------------------------------------------

    def receive_ciphertext(self, data: bytes) -> bytes:
        """Take ciphertext from the transport; return the plaintext it completes (maybe b"").

        ``b""`` means the transport reached EOF: that returns b"" after the
        peer's close_notify, and raises ``TLSTruncationError`` otherwise.

        Raises:
            TLSError: the connection failed (this call or an earlier one).
        """
        if self.error is not None:
            raise self.error
        if not data:
            return self._receive_eof()
        if self._fast:
            conn = self._conn
            size = len(data)
            if type(data) is bytes:  # cffi passes bytes as a pointer without a copy
                written = _BIO_write(conn._into_ssl, data, size)
            else:
                with _from_buffer(data) as cdata:
                    written = _BIO_write(conn._into_ssl, cdata, size)
            if written != size:  # pragma: no cover - a memory BIO takes everything
                if written <= 0:
                    conn._handle_bio_errors(conn._into_ssl, written)
                raise TLSError(f"TLS input buffer took {written} of {size} bytes")
            if not self.handshake_done and not self._advance_handshake():
                return b""
            return self._read_plaintext_fast()
        self._conn.bio_write(data)
        if not self.handshake_done and not self._advance_handshake():
            return b""
        return self._read_plaintext()

    def _receive_eof(self) -> bytes:
        if self.peer_closed_cleanly:
            return b""
        if self.handshake_done:
            exc: TLSError = TLSTruncationError(
                "peer closed the connection without a TLS close_notify (truncation)"
            )
        else:
            exc = TLSError("connection closed during the TLS handshake")
        self.error = exc
        raise exc

    def _advance_handshake(self) -> bool:
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            return False
        except SSL.Error as e:
            raise self._fail(e) from None
        self.handshake_done = True
        return True

    def _read_plaintext(self) -> bytes:
        chunks: list[bytes] = []
        recv = self._conn.recv
        try:
            while True:
                chunks.append(recv(_READ_SIZE))
        except SSL.WantReadError:
            pass
        except SSL.ZeroReturnError:
            self._peer_closed()
        except SSL.Error as e:
            exc = self._fail(e)
            if not chunks:
                raise exc from None
        if not chunks:
            return b""
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _read_plaintext_fast(self) -> bytes:
        # Plaintext is never longer than the ciphertext it comes from, so one
        # buffer for what the input BIO and the SSL object hold takes it all.
        conn = self._conn
        ssl = conn._ssl
        size = _BIO_pending(conn._into_ssl, _NULL) + _SSL_pending(ssl) + 1
        buf = _alloc("char[]", size)
        got = 0
        chunks: list[bytes] | None = None
        try:
            while True:
                n = _SSL_read(ssl, buf + got, size - got)
                if n > 0:
                    got += n
                    if got == size:  # pragma: no cover - bounded by the ciphertext
                        chunks = chunks or []
                        chunks.append(_buffer(buf, got)[:])
                        got = 0
                    continue
                # What pyOpenSSL's _raise_ssl_error checks first, then want-read.
                context = conn._context
                for helper in (context._verify_helper, context._alpn_select_helper,
                               context._ocsp_helper):  # fmt: skip
                    if helper is not None:
                        helper.raise_if_problem()
                if _SSL_get_error(ssl, n) != _WANT_READ:
                    conn._raise_ssl_error(ssl, n)  # raises what pyOpenSSL would
                break
        except SSL.WantReadError:
            pass
        except SSL.ZeroReturnError:
            self._peer_closed()
        except SSL.Error as e:
            exc = self._fail(e)
            if not got and not chunks:
                raise exc from None
        if chunks is None:
            return _buffer(buf, got)[:] if got else b""
        if got:  # pragma: no cover - see above
            chunks.append(_buffer(buf, got)[:])
        return b"".join(chunks)

    def _peer_closed(self) -> None:
        self.peer_closed_cleanly = True
        if self.answer_close_notify:
            self.close()  # answer with our close_notify (RFC 8446 section 6.1)

    # -- sending -------------------------------------------------------------

    def send_plaintext(self, data: bytes) -> None:
        """Queue plaintext; it is encrypted when ``ciphertext_to_send`` drains.

        Before the handshake is done it waits.  After ``close()`` or a
        failure it is dropped.  A ``bytearray`` or ``memoryview`` is copied,
        so the caller may reuse its buffer.
        """
        if self._closed or self.error is not None:
            if isinstance(data, str):
                raise TypeError("send_plaintext() takes bytes, not str")
            return
        if type(data) is not bytes:
            if isinstance(data, str):
                raise TypeError("send_plaintext() takes bytes, not str")
            data = bytes(data)
        if data:
            self._pending.append(data)
            self._pending_size += len(data)

    @property
    def pending_plaintext(self) -> int:
        """Bytes of plaintext queued and not yet encrypted."""
        return self._pending_size

    def _encrypt(self) -> None:
        pending = self._pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        self._pending_size = 0
        size = len(data)
        sent = 0
        if self._fast:
            conn = self._conn
            ssl = conn._ssl
            try:
                sent = _SSL_write(ssl, data, size)  # data is bytes: no copy, no wrapper
                if sent < size:  # pragma: no cover - a memory BIO takes whole writes
                    with _from_buffer(data) as cdata:
                        while True:
                            if sent <= 0:
                                conn._raise_ssl_error(ssl, sent)  # raises what pyOpenSSL would
                                return
                            if sent >= size:
                                return
                            n = _SSL_write(ssl, cdata + sent, size - sent)
                            sent = n if n <= 0 else sent + n
            except SSL.Error as e:
                self._fail(e)
            return
        view = memoryview(data)
        send = self._conn.send
        try:
            while sent < size:
                sent += send(view[sent:] if sent else view)
        except SSL.Error as e:
            self._fail(e)

    def ciphertext_to_send(self) -> bytes:
        """Drain the ciphertext that is due (queued plaintext is encrypted first); b"" if none."""
        if self._pending and self.handshake_done and self.error is None:
            self._encrypt()
        if self._fast:
            bio = self._conn._from_ssl
            size = _BIO_pending(bio, _NULL)
            if size <= 0:
                return b""
            buf = _alloc("char[]", size)
            n = _BIO_read(bio, buf, size)
            if n <= 0:  # pragma: no cover - the bytes were counted just now
                return b""
            return _buffer(buf, n)[:]
        chunks: list[bytes] = []
        bio_read = self._conn.bio_read
        try:
            while True:
                chunk = bio_read(_BIO_READ_SIZE)
                chunks.append(chunk)
                if len(chunk) < _BIO_READ_SIZE:
                    break  # a memory BIO returns all it holds, up to the size asked
        except SSL.WantReadError:
            pass
        if not chunks:
            return b""
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- closing -------------------------------------------------------------

    def close(self) -> None:
        """Encrypt what is queued, then queue a close_notify; later plaintext is dropped.

        Before the handshake is done there is nothing to close: the caller
        just drops the transport.
        """
        if self._closed:
            return
        self._closed = True
        if self.error is not None or not self.handshake_done:
            return
        if self._pending:
            self._encrypt()
        try:
            self._conn.shutdown()
        except SSL.Error:
            pass  # the peer already went away; the transport's close says the rest

    @property
    def closed(self) -> bool:
        """``close()`` was called, or the peer's close_notify was answered."""
        return self._closed

    # -- failure -------------------------------------------------------------

    def _fail(self, exc: SSL.Error) -> TLSError:
        if self.error is None:
            self.error = self._describe(exc)
        return self.error

    def _describe(self, exc: SSL.Error) -> TLSError:
        if isinstance(exc, SSL.SysCallError):
            return TLSTruncationError(f"TLS stream ended unexpectedly ({exc.args[-1]})")
        reasons = _openssl_reasons(exc)
        joined = "; ".join(reasons).lower()
        if "certificate verify failed" in joined:
            detail = self._verify_failure or "untrusted certificate"
            return TLSError(f"certificate verify failed: {detail}", reasons)
        for needle, text in _SSL_REASONS:
            if needle in joined:
                return TLSError(text, reasons)
        if not self.handshake_done and any(n in joined for n in _NOT_TLS):
            if self.server_side:
                return TLSError("not TLS: plaintext received on a TLS port", reasons)
            return TLSError("not TLS: the server did not answer with TLS", reasons)
        return TLSError(f"TLS error: {'; '.join(reasons) or exc!r}", reasons)

    # -- what the handshake settled ------------------------------------------

    @property
    def negotiated_protocol(self) -> bytes | None:
        """The ALPN protocol agreed on (``b"h2"``), or None."""
        if not self.handshake_done:
            return None
        return self._conn.get_alpn_proto_negotiated() or None

    @property
    def peer_certificate(self) -> Any:
        """The peer's certificate as a ``cryptography.x509.Certificate``, or None."""
        if not self.handshake_done:
            return None
        return self._conn.get_peer_certificate(as_cryptography=True)

    @property
    def requested_server_name(self) -> str | None:
        """On a server, the host name the client asked for with SNI, or None."""
        name = self._conn.get_servername()
        return name.decode("ascii", "replace") if name else None

    @property
    def tls_version(self) -> str | None:
        """The protocol version agreed on, e.g. ``"TLSv1.3"``, or None before the handshake."""
        return self._conn.get_protocol_version_name() if self.handshake_done else None

    @property
    def connection(self) -> SSL.Connection:
        """The underlying ``OpenSSL.SSL.Connection`` (for what this class does not wrap)."""
        return self._conn


def _pattern_text(pattern: Any) -> str:
    for attr in ("pattern", "ip"):
        value = getattr(pattern, attr, None)
        if value is not None:
            if isinstance(value, bytes):
                value = value.decode("ascii", "replace")
            return repr(str(value))
    return repr(str(pattern))
