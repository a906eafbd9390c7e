"""The classic socket object of ``reactorsock.compat.socket``, over a channel.

``socket`` has the methods, attributes and exceptions of CPython 3's
``socket.socket``, and keeps its blocking, non-blocking and timeout modes.
It is not a ``_socket.socket`` subclass: it *has* a channel
(``reactorsock.channel``), which owns a non-blocking stdlib socket.  It is
not a transport either; hand it to a reactor to get one.

Design notes
------------
The OS socket is always non-blocking (``O_NONBLOCK``); the modes live here,
as CPython keeps them in ``sock_timeout``.  Every operation first tries the
non-blocking call.  When the channel says "would block" (``None``):

- non-blocking mode (timeout ``0.0``) raises ``BlockingIOError(EAGAIN)`` at
  once, as CPython does: zero is not rounded up to a small timeout;
- blocking mode (timeout ``None``) waits with ``select.poll`` for readiness,
  without a deadline, then tries again;
- timeout mode waits up to one deadline taken at the first wait -- one for
  the whole ``sendall``, as CPython >= 3.5 does -- then raises
  ``TimeoutError('timed out')`` (``socket.timeout`` is ``TimeoutError``).

``MSG_DONTWAIT`` in the flags of a blocking-mode call raises at once as
well: CPython's fd is blocking there, and the flag makes its call fail with
``EAGAIN``.  In timeout mode CPython waits for readiness and retries, so the
flag changes nothing there, here too.

CPython (``sock_call_ex`` in ``Modules/socketmodule.c``) polls before the
first try in timeout mode; trying first saves a ``poll`` when data is
already there and changes nothing observable.  Each wait builds its own
``select.poll`` object: one object polled from two threads at once raises
``RuntimeError``, and a socket read in one thread and written in another is
common.

The channel class follows the socket's role: a ``SocketChannel`` for stream
sockets, a ``DatagramChannel`` for datagram and raw ones, and at ``listen()``
a ``ServerSocketChannel`` over the same OS socket replaces the stream
channel (channels are ``int`` subclasses, whose class cannot be reassigned).
``fileno()`` returns the current channel.

``makefile``, ``sendfile`` (and its helpers), ``__repr__`` and
``__getstate__`` are the stdlib's own pure-Python methods, bound into this
class: they are written against the public socket API, which this class
provides, so they behave exactly as they do on the running interpreter.
"""

from __future__ import annotations

import errno
import functools
import math
import operator
import os
import select
import socket as _std
import time
import warnings
from typing import Any

import idna

from reactorsock.channel import DatagramChannel, ServerSocketChannel, SocketChannel

__all__ = [
    "socket",
    "getdefaulttimeout",
    "setdefaulttimeout",
    "encode_host",
]

_POLLIN = select.POLLIN
_POLLOUT = select.POLLOUT
# poll(2) sets POLLRDHUP (Linux) and POLLHUP once the read side is shut down.
_POLLRDHUP = getattr(select, "POLLRDHUP", 0)
_SHUT_EVENTS = _POLLRDHUP | select.POLLHUP
# Seconds between retries of a timeout-mode recv on a shut datagram socket.
_SHUT_NAP = 0.01
# Seconds between retries of a blocking connect to a full UNIX backlog (doubling).
_FULL_BACKLOG_NAP = 0.001
_FULL_BACKLOG_MAX_NAP = 0.05
_STREAM_TYPES = frozenset({_std.SOCK_STREAM, getattr(_std, "SOCK_SEQPACKET", -2)})
_TYPE_FLAGS = getattr(_std, "SOCK_NONBLOCK", 0) | getattr(_std, "SOCK_CLOEXEC", 0)
_IP_FAMILIES = frozenset({_std.AF_INET, _std.AF_INET6})
_MSG_DONTWAIT = getattr(_std, "MSG_DONTWAIT", 0)
# The largest timeout CPython's _PyTime_t (int64 nanoseconds) holds.
_MAX_TIMEOUT = (2**63 - 1) / 1e9

# poll(2) takes an int of milliseconds; longer waits poll again.
_MAX_POLL_MS = 2**31 - 1

_default_timeout: float | None = None


def _check_timeout(value: Any) -> float | None:
    """Validate a timeout as CPython's ``_PyTime_FromSecondsObject`` does."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("Invalid value NaN (not a number)")
        seconds = value
    else:
        seconds = float(operator.index(value))  # TypeError for str, Decimal... as CPython
    if seconds < 0:
        raise ValueError("Timeout value out of range")
    if seconds > _MAX_TIMEOUT:
        raise OverflowError("timestamp out of range for platform time_t")
    return seconds


def getdefaulttimeout() -> float | None:
    """Return the timeout new sockets of this module start with (None: blocking)."""
    return _default_timeout


def setdefaulttimeout(timeout: float | None) -> None:
    """Set the timeout new sockets of this module start with (None: blocking).

    It applies to this module's sockets only; the stdlib's own default is
    ``socket.setdefaulttimeout`` of the stdlib.
    """
    global _default_timeout
    _default_timeout = _check_timeout(timeout)


def encode_host(host: Any) -> Any:
    """Return host ready for the resolver: non-ASCII names in IDNA 2008.

    ASCII strings (names, numeric addresses, ``''``, ``'<broadcast>'``) and
    bytes pass unchanged.  A non-ASCII name is converted with UTS #46
    mapping (``idna.encode(name, uts46=True)``), where the stdlib's ``idna``
    codec applies IDNA 2003: ``'straße.de'`` becomes ``'xn--strae-oqa.de'``,
    not ``'strasse.de'``.  ``idna.IDNAError`` is a ``UnicodeError``, as the
    stdlib codec's errors are.
    """
    if isinstance(host, str) and not host.isascii():
        return idna.encode(host, uts46=True).decode("ascii")
    return host


def _encode_address(family: int, address: Any) -> Any:
    """Convert the host of an AF_INET/AF_INET6 address tuple with ``encode_host``."""
    if family in _IP_FAMILIES and isinstance(address, tuple) and address:
        host = address[0]
        if isinstance(host, str) and not host.isascii():
            return (encode_host(host), *address[1:])
    return address


def _would_block(code: int = errno.EAGAIN) -> BlockingIOError:
    return BlockingIOError(code, os.strerror(code))


def _nb(method: Any, *args: Any) -> Any:
    """Call a non-blocking socket method; None where it would block."""
    try:
        return method(*args)
    except (BlockingIOError, InterruptedError):
        return None


def _buffer_list(buffers: Any, method: str) -> list[Any]:
    """Return the iterable buffers as a list (an iterator must survive a retry).

    ``TypeError`` for a non-iterable, with CPython's message.
    """
    try:
        it = iter(buffers)
    except TypeError:
        raise TypeError(f"{method}() argument 1 must be an iterable") from None
    return list(it)


def _bytes_of(data: Any) -> int:
    with memoryview(data) as view:
        return view.nbytes


class socket:  # noqa: N801 - CPython's name
    """A CPython-API socket over a reactorsock channel.

    ``socket(family=AF_INET, type=SOCK_STREAM, proto=0, fileno=None)`` as in
    the stdlib; with fileno it takes ownership of that fd (family, type and
    proto are detected when -1).  ``fileno()`` returns the channel, an ``int``
    subclass equal to the fd, or -1 once closed.
    """

    __module__ = "reactorsock.compat.socket"
    __slots__ = ("__weakref__", "_ch", "_timeout", "_io_refs", "_closed", "_peer_host")

    def __init__(
        self, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None
    ) -> None:
        self._closed = True  # until the channel exists: __del__ and __repr__ look at it
        timeout = _default_timeout
        if fileno is None:
            family = _std.AF_INET if family == -1 else family
            type = _std.SOCK_STREAM if type == -1 else type
            proto = 0 if proto == -1 else proto
            if type & getattr(_std, "SOCK_NONBLOCK", 0):
                timeout = 0.0  # socket(2) flag: CPython starts such a socket non-blocking
            sock = _std.socket(family, type, proto)
        else:  # as given: the stdlib rejects a float or a str with TypeError, as CPython
            sock = _std.socket(family, type, proto, fileno)
        self._setup(sock, timeout)

    def _setup(self, sock: _std.socket, timeout: float | None) -> None:
        """Wrap the stdlib socket sock in the channel class its role calls for."""
        kind = sock.type & ~_TYPE_FLAGS
        if kind in _STREAM_TYPES:
            try:
                listening = sock.getsockopt(_std.SOL_SOCKET, _std.SO_ACCEPTCONN)
            except OSError:
                listening = 0
            cls = ServerSocketChannel if listening else SocketChannel
        else:
            cls = DatagramChannel
        self._ch = cls.from_socket(sock)
        self._timeout = timeout
        self._io_refs = 0
        self._closed = False
        self._peer_host = None

    @classmethod
    def _from_stdlib(cls, sock: _std.socket, timeout: float | None) -> socket:
        """Take ownership of a stdlib socket (``socketpair``)."""
        self = cls.__new__(cls)
        self._closed = True
        self._setup(sock, timeout)
        return self

    @classmethod
    def _from_channel(cls, channel: Any, timeout: float | None) -> socket:
        self = cls.__new__(cls)
        self._ch = channel
        self._timeout = timeout
        self._io_refs = 0
        self._closed = False
        self._peer_host = None
        return self

    # -- life cycle ---------------------------------------------------------

    def __enter__(self) -> socket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._closed:
            self.close()

    def __del__(self) -> None:
        ch = getattr(self, "_ch", None)
        if ch is not None and not ch.closed:
            message = f"unclosed {self!r}"
            ch.close()  # first: with warnings as errors, warn() raises
            warnings.warn(message, ResourceWarning, source=self, stacklevel=2)

    def _real_close(self) -> None:
        self._ch.close()

    def close(self) -> None:
        """Close the socket; with ``makefile()`` objects open, once they close."""
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def detach(self) -> int:
        """Close the socket object without closing the fd, and return the fd.

        The fd is left blocking in blocking mode and non-blocking otherwise,
        the state CPython's fd would be in.  -1 if already closed.
        """
        self._closed = True
        ch = self._ch
        if ch.closed:
            return -1
        fd = ch.socket.detach()
        ch.close()  # closes the detached stdlib socket: the fd stays open
        if self._timeout is None:
            os.set_blocking(fd, True)
        return fd

    def dup(self) -> socket:
        """Return a new socket over a duplicate of the fd, with the same timeout."""
        fd = _std.dup(self.fileno())
        sock = type(self)(self.family, self.type, self.proto, fileno=fd)
        sock.settimeout(self._timeout)
        return sock

    def fileno(self) -> Any:
        """Return the channel (an ``int`` equal to the fd), or -1 once closed."""
        ch = self._ch
        return -1 if ch.closed else ch

    # -- attributes -----------------------------------------------------------

    @property
    def family(self) -> _std.AddressFamily:
        """The address family (``AF_INET``...)."""
        return self._ch.socket.family

    @property
    def type(self) -> _std.SocketKind:
        """The socket type, without the ``SOCK_NONBLOCK``/``SOCK_CLOEXEC`` flags."""
        return self._ch.socket.type

    @property
    def proto(self) -> int:
        """The protocol number."""
        return self._ch.socket.proto

    @property
    def timeout(self) -> float | None:
        """The timeout: None (blocking), 0.0 (non-blocking) or seconds."""
        return self._timeout

    def gettimeout(self) -> float | None:
        """Return the timeout: None (blocking), 0.0 (non-blocking) or seconds."""
        return self._timeout

    def settimeout(self, value: float | None) -> None:
        """Set blocking (None), non-blocking (0) or timeout (seconds) mode."""
        self._timeout = _check_timeout(value)
        self._check_fd()

    def getblocking(self) -> bool:
        """Return False in non-blocking mode (timeout 0), True otherwise."""
        return self._timeout != 0.0

    def setblocking(self, flag: bool) -> None:
        """``setblocking(True)`` is ``settimeout(None)``; False is ``settimeout(0.0)``."""
        self._timeout = None if flag else 0.0
        self._check_fd()

    def _check_fd(self) -> None:
        """Set the fd's ``O_NONBLOCK`` again, as CPython sets its flag on a mode change.

        The flag is the same in every mode here (see "Design notes"), but
        the call raises ``OSError`` (``EBADF``) for a closed socket or fd,
        where CPython's ``ioctl``/``fcntl`` does.
        """
        os.set_blocking(self.fileno(), False)

    def get_inheritable(self) -> bool:
        """Return whether the fd is inherited by child processes."""
        return os.get_inheritable(self.fileno())

    def set_inheritable(self, inheritable: bool) -> None:
        """Set whether the fd is inherited by child processes."""
        os.set_inheritable(self.fileno(), inheritable)

    def getsockname(self) -> Any:
        """Return the local address: the real one as soon as the socket is bound."""
        return self._ch.socket.getsockname()

    def getpeername(self) -> Any:
        """Return the remote address."""
        return self._ch.socket.getpeername()

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> Any:
        """Return a socket option: an int, or bytes when buflen is given."""
        if buflen is None:
            return self._ch.socket.getsockopt(level, optname)
        return self._ch.socket.getsockopt(level, optname, buflen)

    def setsockopt(self, level: int, optname: int, value: Any, *optlen: int) -> None:
        """Set a socket option from an int, a bytes-like object, or None and optlen."""
        self._ch.socket.setsockopt(level, optname, value, *optlen)

    # -- waiting ------------------------------------------------------------

    def _deadline(self) -> float | None:
        """The first wait's deadline: raises at once in non-blocking mode."""
        timeout = self._timeout
        if timeout is None:
            return None
        if timeout == 0.0:
            raise _would_block()
        return time.monotonic() + timeout

    def _wait(self, events: int, deadline: float | None) -> int:
        """Wait until the channel is ready for events; return poll's mask.

        ``TimeoutError`` at deadline.  A wait for reading also asks for
        ``POLLRDHUP`` (Linux), which ``_receive`` reads.
        """
        poller = select.poll()
        if events & _POLLIN:
            events |= _POLLRDHUP
        poller.register(self._ch, events)
        while True:
            if deadline is None:
                ms = None
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("timed out")
                ms = min(math.ceil(remaining * 1000), _MAX_POLL_MS)
            ready = poller.poll(ms)
            if ready:
                return ready[0][1]

    def _deadline_unless(self, flags: Any) -> float | None:
        """``_deadline()``, but raise at once for ``MSG_DONTWAIT`` in blocking mode.

        CPython's fd is blocking in blocking mode, where the flag makes the
        call fail with ``EAGAIN``; in timeout mode CPython waits for
        readiness before each try, so the flag changes nothing there.
        """
        if self._timeout is None and isinstance(flags, int) and flags & _MSG_DONTWAIT:
            raise _would_block()
        return self._deadline()

    def _io(self, events: int, flags: Any, attempt: Any, *args: Any) -> Any:
        """Call attempt(*args) until it is not None, in this socket's mode and flags'."""
        result = attempt(*args)
        if result is None:
            deadline = self._deadline_unless(flags)
            while result is None:
                self._wait(events, deadline)
                result = attempt(*args)
        return result

    def _receive(self, shut: Any, flags: Any, attempt: Any, *args: Any) -> Any:
        """``_io`` for the recv family; shut is what CPython returns when reading is shut down.

        A datagram socket after ``shutdown(SHUT_RD)`` polls readable for ever
        while its non-blocking recv says EAGAIN until a datagram comes (Linux
        still queues them).  CPython's blocking recv then returns at once (the
        kernel's blocking recv does not wait on a shut socket): ``b""``, or
        ``(b"", None)`` from ``recvfrom``...; that is shut.  In timeout mode
        CPython re-polls until the deadline; naps of ``_SHUT_NAP`` give the
        same results without burning a CPU.
        """
        result = attempt(*args)
        if result is None:
            deadline = self._deadline_unless(flags)
            while result is None:
                mask = self._wait(_POLLIN, deadline)
                result = attempt(*args)
                if result is None and mask & _SHUT_EVENTS:
                    if deadline is None:
                        return shut
                    time.sleep(max(0.0, min(_SHUT_NAP, deadline - time.monotonic())))
        return result

    # -- connections ----------------------------------------------------------

    def bind(self, address: Any) -> None:
        """Bind to address; ``getsockname()`` then gives the real port at once."""
        self._ch.socket.bind(_encode_address(self.family, address))

    def listen(self, *backlog: int) -> None:
        """Listen for connections; the channel becomes a ``ServerSocketChannel``."""
        ch = self._ch
        ch.socket.listen(*backlog)
        if isinstance(ch, SocketChannel):
            # The new channel takes over the same stdlib socket; the old one
            # is dropped unclosed (closing it would close the OS socket).
            self._ch = ServerSocketChannel.from_socket(ch.socket)

    def accept(self) -> tuple[socket, Any]:
        """Wait for a connection; return ``(socket, address)``.

        The new socket starts in the default timeout's mode, as on CPython.
        """
        conn, address = self._accept_channel()
        return type(self)._from_channel(conn, _default_timeout), address

    def _accept_channel(self) -> tuple[SocketChannel, Any]:
        """Wait for a connection in this socket's mode; return ``(channel, address)``."""
        ch = self._ch
        if not isinstance(ch, ServerSocketChannel):
            ch.socket._accept()  # the OS's error: EINVAL when not listening
        return self._io(_POLLIN, 0, ch.accept)

    def _accept(self) -> tuple[int, Any]:
        """Wait for a connection; return ``(fd, address)``, as ``_socket.socket._accept``.

        The fd is blocking, as CPython's ``accept4(2)`` leaves it, and the
        caller owns it.
        """
        conn, address = self._accept_channel()
        fd = conn.socket.detach()
        conn.close()  # closes the detached stdlib socket: the fd stays open
        os.set_blocking(fd, True)
        return fd, address

    def connect(self, address: Any) -> None:
        """Connect to address, waiting as the mode says.

        In non-blocking mode an unfinished connect raises
        ``BlockingIOError(EINPROGRESS)``; in timeout mode it waits for
        writability up to the timeout, then reads ``SO_ERROR``.  A UNIX
        listener's full backlog raises ``BlockingIOError(EAGAIN)`` at once
        in both, as on CPython; blocking mode retries until there is room.
        """
        if isinstance(address, tuple) and address and isinstance(address[0], str):
            self._peer_host = address[0]
        address = _encode_address(self.family, address)
        ch = self._ch
        if not isinstance(ch, SocketChannel):
            ch.socket.connect(address)  # datagram: immediate; listening: the OS's error
            return
        nap = _FULL_BACKLOG_NAP
        while True:
            try:
                if ch.connect(address):
                    return
                break
            except BlockingIOError:
                # UNIX socket, listener's backlog full: nothing started.  CPython
                # raises this EAGAIN in non-blocking and timeout mode (its fd is
                # non-blocking there); its blocking connect sleeps in the kernel
                # until the listener has room.  No poll event marks that moment
                # (an unconnected UNIX socket polls ready at once), so naps.
                # Elsewhere (TCP out of local ports) blocking mode raises too.
                if self._timeout is not None or self.family != _std.AF_UNIX:
                    raise
                time.sleep(nap)
                nap = min(nap * 2, _FULL_BACKLOG_MAX_NAP)
        if self._timeout == 0.0:
            raise _would_block(errno.EINPROGRESS)
        deadline = self._deadline()
        while True:
            self._wait(_POLLOUT, deadline)
            if ch.finish_connect():
                return

    def connect_ex(self, address: Any) -> int:
        """Like ``connect``, but return an errno (0 on success) instead of raising.

        Address errors (``gaierror``, ``TypeError``) still raise; a timeout
        returns ``EWOULDBLOCK``, as CPython's does.
        """
        try:
            self.connect(address)
        except _std.gaierror:
            raise
        except OSError as e:
            if e.errno is None:
                if isinstance(e, TimeoutError):
                    return errno.EWOULDBLOCK
                raise
            return e.errno
        return 0

    def shutdown(self, how: int) -> None:
        """Shut down reading, writing or both, on any socket type, as the OS does.

        On a listening socket ``SHUT_RD``/``SHUT_RDWR`` stops listening.
        """
        self._ch.socket.shutdown(how)

    # -- receiving --------------------------------------------------------------

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to bufsize bytes: ``b""`` at end of stream."""
        ch = self._ch
        if flags or not isinstance(ch, SocketChannel):
            return self._receive(b"", flags, _nb, ch.socket.recv, bufsize, flags)
        return self._receive(b"", 0, ch.read, bufsize)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into a writable buffer; return the byte count."""
        ch = self._ch
        if flags or not isinstance(ch, SocketChannel):
            return self._receive(0, flags, _nb, ch.socket.recv_into, buffer, nbytes, flags)
        return self._receive(0, 0, ch.read_into, buffer, nbytes)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        """Receive up to bufsize bytes; return ``(data, sender_address)``."""
        ch = self._ch
        if flags or not isinstance(ch, DatagramChannel):
            return self._receive((b"", None), flags, _nb, ch.socket.recvfrom, bufsize, flags)
        return self._receive((b"", None), 0, ch.receive, bufsize)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        """Receive into a writable buffer; return ``(count, sender_address)``."""
        ch = self._ch
        if flags or not isinstance(ch, DatagramChannel):
            return self._receive(
                (0, None), flags, _nb, ch.socket.recvfrom_into, buffer, nbytes, flags
            )
        return self._receive((0, None), 0, ch.receive_into, buffer, nbytes)

    def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0) -> Any:
        """Receive data and ancillary data: ``(data, ancdata, msg_flags, address)``."""
        recvmsg = self._ch.socket.recvmsg
        return self._receive((b"", [], 0, None), flags, _nb, recvmsg, bufsize, ancbufsize, flags)

    def recvmsg_into(self, buffers: Any, ancbufsize: int = 0, flags: int = 0) -> Any:
        """Like ``recvmsg``, scattering into buffers: ``(nbytes, ancdata, flags, addr)``."""
        buffers = _buffer_list(buffers, "recvmsg_into")
        recvmsg_into = self._ch.socket.recvmsg_into
        return self._receive(
            (0, [], 0, None), flags, _nb, recvmsg_into, buffers, ancbufsize, flags
        )

    # -- sending ----------------------------------------------------------------

    def _send_once(self, data: Any, flags: int) -> int | None:
        ch = self._ch
        if flags or not isinstance(ch, SocketChannel):
            return _nb(ch.socket.send, data, flags)
        sent = ch.write(data)  # 0: would block, or data was empty
        if sent or _bytes_of(data):
            return sent or None
        return 0

    def send(self, data: Any, flags: int = 0) -> int:
        """Send what the OS takes of data; return the byte count."""
        return self._io(_POLLOUT, flags, self._send_once, data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of data; in timeout mode, one deadline covers the whole call."""
        with memoryview(data) as view, view.cast("B") as octets:
            total = len(octets)
            sent = 0
            deadline: float | None = None
            first_wait = True
            while True:  # at least one send, even of b"", as CPython does
                n = self._send_once(octets[sent:], flags)
                if n is None:
                    if first_wait:
                        deadline = self._deadline_unless(flags)
                        first_wait = False
                    self._wait(_POLLOUT, deadline)
                    continue
                sent += n
                if sent >= total:
                    return

    def sendto(self, data: Any, *args: Any) -> int:
        """``sendto(data, address)`` or ``sendto(data, flags, address)``."""
        if len(args) == 1:
            (addr,), flags = args, 0
        elif len(args) == 2:
            flags, addr = args
        else:
            raise TypeError(f"sendto() takes 2 or 3 arguments ({len(args) + 1} given)")
        addr = _encode_address(self.family, addr)
        return self._io(_POLLOUT, flags, _nb, self._ch.socket.sendto, data, flags, addr)

    def sendmsg(self, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None) -> int:
        """Send buffers and ancillary data with one ``sendmsg(2)``."""
        args: tuple[Any, ...] = (_buffer_list(buffers, "sendmsg"), ancdata, flags)
        if address is not None:
            args += (_encode_address(self.family, address),)
        return self._io(_POLLOUT, flags, _nb, self._ch.socket.sendmsg, *args)

    if hasattr(_std.socket, "sendmsg_afalg"):

        def sendmsg_afalg(self, *args: Any, **kwargs: Any) -> int:
            """Send to an ``AF_ALG`` socket (Linux kernel crypto API)."""
            send = functools.partial(self._ch.socket.sendmsg_afalg, *args, **kwargs)
            return self._io(_POLLOUT, kwargs.get("flags", 0), _nb, send)

    # The stdlib's pure-Python methods, written against the public API (see
    # "Design notes").  _sendfile_use_sendfile waits with its own selector.
    makefile = _std.socket.makefile
    sendfile = _std.socket.sendfile
    _sendfile_use_sendfile = _std.socket._sendfile_use_sendfile
    _sendfile_use_send = _std.socket._sendfile_use_send
    _check_sendfile_params = _std.socket._check_sendfile_params
    _decref_socketios = _std.socket._decref_socketios
    __repr__ = _std.socket.__repr__
    __getstate__ = _std.socket.__getstate__
