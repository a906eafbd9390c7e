"""``MemoryBIO`` and ``SSLObject`` of ``reactorsock.compat.ssl``: the stdlib's sans-IO TLS API.

``SSLContext.wrap_bio(incoming, outgoing, ...)`` returns an ``SSLObject``:
TLS between two ``MemoryBIO`` buffers, with no socket.  The caller writes
the ciphertext that arrived into ``incoming`` and sends what appears in
``outgoing``; ``do_handshake``, ``read``, ``write`` and ``unwrap`` raise
``SSLWantReadError`` when they need more of ``incoming``.  This is what
asyncio's TLS (``asyncio.sslproto``) runs on, so under
``reactorsock.compat.install()`` asyncio's ``ssl=`` connections use these.

Design notes
------------
*One TLS implementation.*  The TLS state machine is
``_ssltls.CompatTLS``, the ``reactorsock._tlsbio.MemoryBIOTLS`` under
``SSLSocket`` and the reactor's TLS transports; this module only moves
bytes between it and the two ``MemoryBIO`` objects and gives the stdlib's
answers and exceptions.  ``wrap_bio`` also takes the stdlib's
``ssl.MemoryBIO`` (a program may have made one before ``install()``).

*One record at a time.*  CPython's OpenSSL reads ``incoming`` one record
at a time, so ciphertext not yet needed stays there: after ``unwrap()``
the plaintext the peer sent after its close_notify is still in
``incoming``, and ``do_handshake()`` leaves the application data that
followed the handshake for ``read()``.  ``_pump`` does the same with
``_ssltls.RecordReader``.  ``pending()`` is the plaintext of the current
record not yet read, as ``SSL_pending``.

*Closing.*  As in OpenSSL, the peer's close_notify is answered only by
``unwrap()``: until then ``read()`` returns ``b""`` and (TLS 1.3)
``write()`` still works.  After both close_notify alerts ``read()`` raises
``SSLZeroReturnError`` and ``write()`` ``SSLError`` (``PROTOCOL_IS_SHUTDOWN``).
Application data that reaches ``unwrap()`` before the peer's close_notify
fails the connection with ``SSLError`` (``APPLICATION_DATA_AFTER_CLOSE_NOTIFY``),
as OpenSSL's ``SSL_shutdown`` does.
"""

from __future__ import annotations

import ssl as _stdssl
from typing import Any

from OpenSSL import SSL

from reactorsock._tlsbio import TLSError
from reactorsock.compat import _ssltls
from reactorsock.compat._ssltls import (
    CompatTLS,
    RecordReader,
    data_after_close_notify,
    library_error,
    new_tls,
    no_public_constructor,
    read_api,
    server_hostname_arg,
    ssl_error,
    want_read,
    zero_return,
)

__all__ = ["MemoryBIO", "SSLObject"]


class MemoryBIO:
    """A byte buffer TLS reads from or writes to: the stdlib ``ssl.MemoryBIO``."""

    __module__ = "reactorsock.compat.ssl"
    __slots__ = ("_buffer", "_eof_written")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            raise TypeError("MemoryBIO() takes no positional arguments")
        if kwargs:
            raise TypeError("MemoryBIO() takes no keyword arguments")
        self._buffer = bytearray()
        self._eof_written = False

    @property
    def pending(self) -> int:
        """The number of bytes in the buffer."""
        return len(self._buffer)

    @property
    def eof(self) -> bool:
        """True once ``write_eof()`` was called and the buffer is empty."""
        return self._eof_written and not self._buffer

    def read(self, size: int = -1) -> bytes:
        """Remove and return up to size bytes (all of them if size is negative)."""
        buffer = self._buffer
        if size < 0 or size >= len(buffer):
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:size])
            del buffer[:size]
        return data

    def write(self, b: Any) -> int:
        """Append the bytes-like object b; return its length.  SSLError after ``write_eof()``."""
        try:
            view = memoryview(b)
        except TypeError:
            raise TypeError(f"a bytes-like object is required, not '{type(b).__name__}'") from None
        with view:
            if self._eof_written:
                raise _stdssl.SSLError("cannot write() after write_eof()")
            self._buffer += view if view.c_contiguous else view.tobytes()
            return view.nbytes

    def write_eof(self) -> None:
        """Mark the end of the data: no more writes; ``eof`` once the buffer drains."""
        self._eof_written = True


class _BIOTLS(CompatTLS):
    """``CompatTLS`` that leaves the answer to the peer's close_notify to ``unwrap()``."""

    __slots__ = ("hold_answer",)

    def __init__(self, context: SSL.Context, **kwargs: Any) -> None:
        self.hold_answer = True
        super().__init__(context, **kwargs)

    def close(self) -> None:
        if self.hold_answer and self.peer_closed_cleanly:
            return  # MemoryBIOTLS answers at once; OpenSSL waits for SSL_shutdown
        super().close()


class SSLObject:
    """TLS between two ``MemoryBIO`` objects: the stdlib ``ssl.SSLObject`` API.

    Made by ``SSLContext.wrap_bio``.  Ciphertext is taken from the incoming
    BIO and put into the outgoing one; nothing here touches a socket.
    """

    __module__ = "reactorsock.compat.ssl"
    __slots__ = (
        "_incoming",
        "_outgoing",
        "_context",
        "_tls",
        "_session",
        "_records",
        "_plain",
        "_unwrapped",
        "server_side",
        "server_hostname",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise no_public_constructor(self.__class__, "wrap_bio")

    @classmethod
    def _create(
        cls,
        incoming: Any,
        outgoing: Any,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: Any = None,
        context: Any = None,
    ) -> SSLObject:
        for name, bio in (("incoming", incoming), ("outgoing", outgoing)):
            if not isinstance(bio, (MemoryBIO, _stdssl.MemoryBIO)):
                raise TypeError(
                    f"wrap_bio() argument '{name}' must be MemoryBIO, not {type(bio).__name__}"
                )
        server_hostname = server_hostname_arg(server_hostname)
        if server_side and session is not None:
            raise ValueError("Cannot set session for server-side SSLSocket.")
        self = cls.__new__(cls)
        self._incoming = incoming
        self._outgoing = outgoing
        self._context = context
        self._tls: _BIOTLS | None = None  # made at the first operation: session may change
        self._session = session
        self._records = RecordReader()
        self._plain = bytearray()
        self._unwrapped = False
        self.server_side = bool(server_side)
        self.server_hostname = server_hostname
        return self

    # -- attributes ----------------------------------------------------------------------

    context = _ssltls.context
    session = _ssltls.session

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed a session."""
        return self._tls.session_reused if self._tls is not None else False

    # -- moving ciphertext -----------------------------------------------------------------

    def _start(self) -> _BIOTLS:
        tls = self._tls
        if tls is None:
            tls = self._tls = new_tls(self, _BIOTLS)
        elif tls.error is not None:
            raise ssl_error(tls, tls.error)
        return tls

    def _flush(self, tls: _BIOTLS) -> None:
        data = tls.ciphertext_to_send()
        if data:
            self._outgoing.write(data)

    def _pump(self, tls: _BIOTLS) -> bool:
        """Hand TLS incoming ciphertext up to the end of a record; False if there is none."""
        incoming = self._incoming
        if incoming.pending:
            data = incoming.read(self._records.want())
            self._records.took(data)
        elif incoming.eof:
            data = b""  # EOF: an error unless the peer's close_notify came first
        else:
            return False
        try:
            plain = tls.receive_ciphertext(data)
        except TLSError as e:
            self._flush(tls)  # the alert tells the peer why
            raise ssl_error(tls, e) from None
        if plain:
            self._plain += plain
        self._flush(tls)
        return True

    # -- TLS operations ----------------------------------------------------------------------

    def do_handshake(self) -> None:
        """Advance the handshake; ``SSLWantReadError`` until the peer's part has arrived."""
        tls = self._start()
        self._flush(tls)  # a client's ClientHello, at first
        while not tls.handshake_done:
            if not self._pump(tls):
                raise want_read()

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Return up to len bytes of plaintext (into buffer: the count); b"" after close_notify."""
        return read_api(self._read, len, buffer)

    def _read(self, size: int) -> bytes:
        tls = self._start()
        if not tls.handshake_done:
            self.do_handshake()
        if size == 0:
            return b""
        plain = self._plain
        while not plain:
            if tls.peer_closed_cleanly:
                if self._unwrapped:
                    raise zero_return()
                return b""  # as OpenSSL until the close_notify is answered
            if not self._pump(tls):
                raise want_read()
        data = bytes(plain[:size])
        del plain[:size]
        return data

    def write(self, data: Any) -> int:
        """Encrypt all of data into the outgoing BIO; return its length."""
        with memoryview(data) as view, view.cast("B") as octets:
            tls = self._start()
            if not tls.handshake_done:
                self.do_handshake()
            if self._unwrapped:
                raise library_error("PROTOCOL_IS_SHUTDOWN", "protocol is shutdown")
            tls.send_plaintext(octets)
            self._flush(tls)
            if tls.error is not None:
                raise ssl_error(tls, tls.error)
            return octets.nbytes

    def unwrap(self) -> None:
        """Send close_notify and take the peer's (``SSLWantReadError`` until it arrives)."""
        tls = self._tls
        if tls is None or not tls.handshake_done:
            raise library_error("SHUTDOWN_WHILE_IN_INIT", "shutdown while in init")
        if tls.error is not None:
            raise ssl_error(tls, tls.error)
        self._unwrapped = True
        tls.hold_answer = False
        tls.close()
        self._flush(tls)
        plain = self._plain
        while not tls.peer_closed_cleanly:
            before = len(plain)
            if not self._pump(tls):
                raise want_read()
            if len(plain) > before:  # a fatal error for OpenSSL's SSL_shutdown
                del plain[before:]
                raise data_after_close_notify(tls)
        return None

    def pending(self) -> int:
        """Bytes of plaintext decrypted and not yet read."""
        return len(self._plain)

    # -- what the handshake settled ----------------------------------------------------------

    getpeercert = _ssltls.getpeercert
    selected_alpn_protocol = _ssltls.selected_alpn_protocol
    selected_npn_protocol = _ssltls.selected_npn_protocol
    version = _ssltls.version
    cipher = _ssltls.cipher
    shared_ciphers = _ssltls.shared_ciphers
    compression = _ssltls.compression
    get_channel_binding = _ssltls.get_channel_binding
    verify_client_post_handshake = _ssltls.verify_client_post_handshake
