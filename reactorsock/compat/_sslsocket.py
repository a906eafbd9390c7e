"""``SSLSocket`` of ``reactorsock.compat.ssl``: TLS over a compat socket, CPython's API.

``SSLSocket`` is a ``reactorsock.compat.socket.socket`` that speaks TLS: the
methods, attributes and exceptions of the stdlib's ``ssl.SSLSocket``
(``do_handshake``, ``recv``/``send``/``read``/``write``, ``makefile``,
``getpeercert``, ``unwrap``...), with the blocking, timeout and
non-blocking modes of compat sockets.  ``SSLContext.wrap_socket`` makes
one; it is not a transport and runs no reactor.

Design notes
------------
*One TLS implementation.*  The TLS state machine is
``reactorsock._tlsbio.MemoryBIOTLS``, the one under the reactor's TLS
transports; this class is the blocking shell around it, as
``tls.TLSTransport`` is the event-driven one.  An ``OpenSSL.SSL.Connection``
on the fd would not be simpler: compat fds are always ``O_NONBLOCK``, so it
would raise ``WantReadError`` in every mode and need this same poll loop,
and verification, the host name check (``service_identity``, RFC 6125) and
the error texts would exist twice.  A small subclass, ``_ssltls.CompatTLS``
(shared with ``SSLObject``), records OpenSSL's verify code so that
``SSLCertVerificationError`` carries ``verify_code`` and ``verify_message``
as the stdlib's does.

*Record-sized reads.*  CPython's OpenSSL reads one TLS record at a time
from the socket (no read-ahead), so once ``recv`` returns, ciphertext not
yet needed stays in the kernel and ``select`` still reports it.  The pump
here does the same (``_ssltls.RecordReader``): it reads a record's 5-byte
header, then exactly its body, so select/selectors loops see the readiness they see on CPython;
plaintext decrypted but not yet returned is ``pending()``.

*Modes.*  Each operation (``do_handshake``, one ``read``, one ``write``)
has one deadline, as in ``Modules/_ssl.c``; on expiry it raises
``TimeoutError('The read operation timed out')`` (or write/handshake).  In
non-blocking mode it raises ``SSLWantReadError``/``SSLWantWriteError``.  A
``write`` whose ciphertext could not all be sent keeps the rest and, as
OpenSSL requires, expects to be called again with the same data: the retry
sends the rest and returns the count the first call took.

*Closing.*  ``close()`` sends no close_notify, as CPython's does not;
``unwrap()`` sends one and waits for the peer's, then the socket carries
plaintext again.  As with CPython's OpenSSL, ``unwrap()`` raises
``SSLError`` before the handshake is done (``SHUTDOWN_WHILE_IN_INIT``; TLS
is kept) and when application data comes where the peer's close_notify
should (``APPLICATION_DATA_AFTER_CLOSE_NOTIFY``; the connection fails).
"""

from __future__ import annotations

import errno
import select
import socket as _std
import ssl as _stdssl
import time
from typing import Any

from reactorsock._tlsbio import TLSError
from reactorsock.compat import _ssltls
from reactorsock.compat._socketobject import getdefaulttimeout
from reactorsock.compat._socketobject import socket as _socket
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
    want_write,
    zero_return,
)

__all__ = ["SSLSocket"]

_POLLIN = select.POLLIN
_POLLOUT = select.POLLOUT
_WRITE_SLICE = 256 * 1024  # plaintext encrypted per step of one write: bounds memory


class SSLSocket(_socket):
    """A compat socket carrying TLS: the stdlib ``ssl.SSLSocket`` API.

    Made by ``SSLContext.wrap_socket``, which takes over the fd of the socket
    it is given (a compat or a stdlib socket; that one is detached).
    ``fileno()`` is the channel, as on compat sockets.
    """

    __module__ = "reactorsock.compat.ssl"
    __slots__ = (
        "_context",
        "_tls",
        "_connected",
        "_session",
        "_plain",
        "_out",
        "_write_done",
        "_records",
        "server_side",
        "server_hostname",
        "do_handshake_on_connect",
        "suppress_ragged_eofs",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise no_public_constructor(self.__class__, "wrap_socket")

    @classmethod
    def _create(
        cls,
        sock: Any,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        context: Any = None,
        session: Any = None,
    ) -> SSLSocket:
        if sock.getsockopt(_std.SOL_SOCKET, _std.SO_TYPE) != _std.SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if server_side:
            if server_hostname:
                raise ValueError("server_hostname can only be specified in client mode")
            if session is not None:
                raise ValueError("session can only be specified in client mode")
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        server_hostname = server_hostname_arg(server_hostname)
        timeout = sock.gettimeout()
        family, type_, proto = sock.family, sock.type, sock.proto
        fd = sock.detach()  # a stdlib SSLSocket takes the fd over the same way
        self = cls.__new__(cls)
        self._closed = True
        self._setup(_std.socket(family, type_, proto, fd), timeout)
        self._context = context
        self._tls: CompatTLS | None = None
        self._session = session
        self._plain = bytearray()
        self._out = bytearray()
        self._write_done: int | None = None
        self._records = RecordReader()
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        try:
            self.getpeername()
            self._connected = True
        except OSError as e:
            if e.errno != errno.ENOTCONN:
                self.close()
                raise
            self._connected = False
        if self._connected:
            try:
                self._start_tls()
                if do_handshake_on_connect:
                    if timeout == 0.0:
                        raise ValueError(
                            "do_handshake_on_connect should not be specified for "
                            "non-blocking sockets"
                        )
                    self.do_handshake()
            except (OSError, ValueError):
                self.close()
                raise
        return self

    def _start_tls(self) -> None:
        self._tls = new_tls(self)

    # -- attributes ------------------------------------------------------------

    context = _ssltls.context
    session = _ssltls.session

    @property
    def session_reused(self) -> bool | None:
        """Whether the handshake resumed a session; None before TLS starts."""
        return self._tls.session_reused if self._tls is not None else None

    def _check_connected(self) -> None:
        if not self._connected:
            self.getpeername()  # OSError(ENOTCONN), as the stdlib raises

    def _need_tls(self, operation: str) -> CompatTLS:
        if self._tls is None:
            raise ValueError(f"{operation} on closed or unwrapped SSL socket.")
        return self._tls

    def _deadline_now(self) -> float | None:
        timeout = self._timeout
        return time.monotonic() + timeout if timeout else None

    # -- moving ciphertext -------------------------------------------------------

    def _wait_for(self, events: int, deadline: float | None, what: str) -> None:
        if self._timeout == 0.0:
            raise want_read() if events == _POLLIN else want_write()
        try:
            self._wait(events, deadline)
        except TimeoutError:
            raise TimeoutError(f"The {what} operation timed out") from None

    def _send_out(self, deadline: float | None, what: str) -> None:
        """Send all the ciphertext that is due, waiting as the mode says."""
        out = self._out
        write = self._ch.write
        while out:
            sent = write(out)
            if sent:
                del out[:sent]
            else:
                self._wait_for(_POLLOUT, deadline, what)

    def _pump_in(self, deadline: float | None, what: str) -> None:
        """Read ciphertext up to the end of the current record and hand it to TLS."""
        want = self._records.want()
        read = self._ch.read
        data = read(want)
        while data is None:
            self._wait_for(_POLLIN, deadline, what)
            data = read(want)
        self._records.took(data)
        tls = self._tls
        try:
            plain = tls.receive_ciphertext(data)  # b"": EOF
        except TLSError as e:
            self._out += tls.ciphertext_to_send()  # the alert tells the peer why
            try:
                self._ch.write(self._out)
            except OSError:
                pass
            self._out.clear()
            raise ssl_error(tls, e) from None
        if plain:
            self._plain += plain
        self._out += tls.ciphertext_to_send()

    def _handshake(self, deadline: float | None) -> None:
        tls = self._tls
        while True:
            self._out += tls.ciphertext_to_send()  # a client's ClientHello, at first
            self._send_out(deadline, "handshake")
            if tls.handshake_done:
                return
            self._pump_in(deadline, "handshake")

    # -- TLS operations ------------------------------------------------------------

    def do_handshake(self, block: bool = False) -> None:
        """Run the TLS handshake (again a no-op once done), in the socket's mode."""
        self._check_connected()
        self._need_tls("Handshake")
        timeout = self._timeout
        if timeout == 0.0 and block:
            self._timeout = None
        try:
            self._handshake(self._deadline_now())
        finally:
            self._timeout = timeout

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Return up to len bytes of plaintext (into buffer: the count); b"" at TLS EOF."""
        self._need_tls("Read")
        return read_api(self._read, len, buffer)

    def _read(self, size: int) -> bytes:
        tls = self._tls
        plain = self._plain
        if not plain and size:
            deadline = self._deadline_now()
            if not tls.handshake_done:
                self._handshake(deadline)
            if self._out:
                self._send_out(deadline, "read")
            try:
                while not plain:
                    if tls.peer_closed_cleanly:
                        return b""
                    self._pump_in(deadline, "read")
            except _stdssl.SSLEOFError:
                if self.suppress_ragged_eofs and tls.handshake_done:
                    return b""
                raise
            if self._out:  # a key update's answer, or the reply to close_notify
                try:
                    self._out = self._out[self._ch.write(self._out) :]
                except OSError:
                    self._out.clear()
        data = bytes(plain[:size])
        del plain[:size]
        return data

    def write(self, data: Any) -> int:
        """Send all of data (the retry of a non-blocking write: the rest); return its length."""
        tls = self._need_tls("Write")
        with memoryview(data) as view, view.cast("B") as octets:
            deadline = self._deadline_now()
            if not tls.handshake_done:
                self._handshake(deadline)
            if self._out:
                self._send_out(deadline, "write")
                done, self._write_done = self._write_done, None
                if done is not None:
                    return done
            if tls.closed:
                raise zero_return()
            total = octets.nbytes
            done = 0
            while done < total:
                piece = octets[done : done + _WRITE_SLICE]
                tls.send_plaintext(piece)
                done += piece.nbytes
                self._out += tls.ciphertext_to_send()
                if tls.error is not None:
                    raise ssl_error(tls, tls.error)
                try:
                    self._send_out(deadline, "write")
                except _stdssl.SSLWantWriteError:
                    self._write_done = done
                    raise
            return total

    def pending(self) -> int:
        """Bytes of plaintext decrypted and not yet read."""
        return len(self._plain) if self._tls is not None else 0

    def unwrap(self) -> SSLSocket:
        """Close TLS (send close_notify, wait for the peer's); return this socket, now plain."""
        tls = self._tls
        if tls is None:
            raise ValueError("No SSL wrapper around " + str(self))
        if not tls.handshake_done:  # OpenSSL's SSL_shutdown refuses, and CPython says so
            raise library_error("SHUTDOWN_WHILE_IN_INIT", "shutdown while in init")
        deadline = self._deadline_now()
        tls.close()
        self._out += tls.ciphertext_to_send()
        self._send_out(deadline, "write")
        plain = self._plain
        while not tls.peer_closed_cleanly:
            before = len(plain)
            self._pump_in(deadline, "read")
            if len(plain) > before:  # a fatal error for OpenSSL's SSL_shutdown
                del plain[before:]
                raise data_after_close_notify(tls)
        self._tls = None
        return self

    # -- what the handshake settled ---------------------------------------------------

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The peer's certificate: the stdlib's dict, DER bytes, None, or {} if unverified."""
        self._check_connected()
        self._need_tls("getpeercert")
        return _ssltls.getpeercert(self, binary_form)

    selected_alpn_protocol = _ssltls.selected_alpn_protocol
    selected_npn_protocol = _ssltls.selected_npn_protocol
    version = _ssltls.version
    cipher = _ssltls.cipher
    shared_ciphers = _ssltls.shared_ciphers
    compression = _ssltls.compression
    get_channel_binding = _ssltls.get_channel_binding
    verify_client_post_handshake = _ssltls.verify_client_post_handshake

    # -- the socket API over TLS ------------------------------------------------------

    def _no_flags(self, flags: int, name: str) -> None:
        if flags != 0:
            raise ValueError(
                f"non-zero flags not allowed in calls to {name}() on {self.__class__}"
            )

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """Return up to buflen bytes of plaintext; without TLS (unwrapped), the socket's."""
        if self._tls is None:
            return super().recv(buflen, flags)
        self._no_flags(flags, "recv")
        return self.read(buflen)

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        """Receive plaintext into buffer; return the byte count."""
        if buffer is not None and nbytes is None:
            nbytes = memoryview(buffer).nbytes
        elif nbytes is None:
            nbytes = 1024
        if self._tls is None:
            return super().recv_into(buffer, nbytes, flags)
        self._no_flags(flags, "recv_into")
        return self.read(nbytes, buffer)

    def send(self, data: Any, flags: int = 0) -> int:
        """Send data over TLS; return its length."""
        if self._tls is None:
            return super().send(data, flags)
        self._no_flags(flags, "send")
        return self.write(data)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of data over TLS."""
        if self._tls is None:
            return super().sendall(data, flags)
        self._no_flags(flags, "sendall")
        with memoryview(data) as view, view.cast("B") as octets:
            count, amount = 0, octets.nbytes
            while count < amount:
                count += self.send(octets[count:])
        return None

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a file's bytes; over TLS with ``send`` (os.sendfile would bypass TLS)."""
        if self._tls is None:
            return super().sendfile(file, offset, count)
        return self._sendfile_use_send(file, offset, count)

    def _refuse(self, name: str, error: type[Exception] = ValueError) -> None:
        if self._tls is not None:
            raise error(f"{name} not allowed on instances of {self.__class__}")

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        """Refused over TLS (ValueError), as the stdlib does."""
        self._refuse("recvfrom")
        return super().recvfrom(bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        """Refused over TLS (ValueError), as the stdlib does."""
        self._refuse("recvfrom_into")
        return super().recvfrom_into(buffer, nbytes, flags)

    def sendto(self, data: Any, flags_or_address: Any, *address: Any) -> int:
        """Refused over TLS (ValueError), as the stdlib does."""
        self._refuse("sendto")
        return super().sendto(data, flags_or_address, *address)

    def recvmsg(self, *args: Any, **kwargs: Any) -> Any:
        """Not allowed on SSL sockets (NotImplementedError), as the stdlib."""
        raise NotImplementedError(f"recvmsg not allowed on instances of {self.__class__}")

    def recvmsg_into(self, *args: Any, **kwargs: Any) -> Any:
        """Not allowed on SSL sockets (NotImplementedError), as the stdlib."""
        raise NotImplementedError(f"recvmsg_into not allowed on instances of {self.__class__}")

    def sendmsg(self, *args: Any, **kwargs: Any) -> Any:
        """Not allowed on SSL sockets (NotImplementedError), as the stdlib."""
        raise NotImplementedError(f"sendmsg not allowed on instances of {self.__class__}")

    def dup(self) -> Any:
        """Not allowed on SSL sockets (NotImplementedError), as the stdlib."""
        raise NotImplementedError(f"Can't dup() {self.__class__.__name__} instances")

    # -- connections ------------------------------------------------------------------

    def _real_connect(self, address: Any, connect_ex: bool) -> int | None:
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._tls is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        self._start_tls()
        try:
            if connect_ex:
                rc = super().connect_ex(address)
            else:
                rc = None
                super().connect(address)
            if not rc:
                self._connected = True
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return rc
        except (OSError, ValueError):
            self._tls = None
            raise

    def connect(self, address: Any) -> None:
        """Connect, then run the handshake (with do_handshake_on_connect)."""
        self._real_connect(address, False)

    def connect_ex(self, address: Any) -> int:
        """Like ``connect``, returning an errno instead of raising the socket's error."""
        return self._real_connect(address, True) or 0

    def accept(self) -> tuple[SSLSocket, Any]:
        """Accept a connection and wrap it server-side (handshake: do_handshake_on_connect)."""
        conn, address = self._accept_channel()
        plain = _socket._from_channel(conn, getdefaulttimeout())
        wrapped = self._context.wrap_socket(
            plain,
            do_handshake_on_connect=self.do_handshake_on_connect,
            suppress_ragged_eofs=self.suppress_ragged_eofs,
            server_side=True,
        )
        return wrapped, address

    def shutdown(self, how: int) -> None:
        """Drop TLS (no close_notify) and shut the socket down, as the stdlib does."""
        self._tls = None
        super().shutdown(how)

    def _real_close(self) -> None:
        self._tls = None
        super()._real_close()
