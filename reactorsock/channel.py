"""Channels: non-blocking OS endpoints that are their own file descriptor.

A channel owns one non-blocking OS object (a socket, or one end of a pipe, a
FIFO or a tty) and carries the I/O operations on it: ``read``/``read_into``,
``write``, ``accept``, ``connect``/``finish_connect``, ``receive``/``send_to``,
``shutdown``, ``close``.  Each channel class subclasses ``int``, and the int
value is the fd.

Operations never block.  "Would block" is a return value, not an exception:
``read()``/``read_into()``/``accept()``/``receive()`` return ``None``, and
``write()``/``write_sequence()``/``send_to()`` return ``0``.  End of file is
``b""`` (``0`` for ``read_into``).  Real errors raise ``OSError`` carrying
``errno``, as the specific subclass (``ConnectionResetError``,
``BrokenPipeError``, ``ConnectionRefusedError`` ...).

A channel is not a transport: it keeps no buffer, knows no reactor or
protocol, and never waits for readiness.  It is not a classic socket either:
``reactorsock.compat.socket`` builds CPython's socket API on top of it.

Design notes
------------
Why an ``int`` subclass?  Jython's sockets returned a non-int object from
``fileno()``, so ``selectors`` (whose ``_fileobj_to_fd`` wants an int, and
which keys its map by fd) and libraries that build dicts from
``sock.fileno()`` (urllib3, hence requests) broke on it.  CPython's
``select.select``, ``select.poll``, ``select.epoll``, ``selectors``,
``os.read``/``os.write`` and ``os.fstat`` all accept an int subclass as an
fd, and a channel hashes and compares equal to its fd number, so
``{fd: x}[channel]`` works.  The consequences:

- ``int`` subclasses cannot have non-empty ``__slots__`` (STYLE.md asks for
  them on channels; CPython refuses), so instances carry a ``__dict__``.
  A stream channel keeps only its ``socket`` there (``closed`` is a class
  attribute until ``close()`` sets it): it is the per-connection object a
  C10K server holds ten thousand of, and a cached bound method costs 72
  bytes.  Its ``read``/``write`` look the socket method up per call (a few
  ns); the TCP transport's data path calls the socket directly anyway
  (``tcp.py``).  Listening and datagram channels, few and on their own hot
  paths, cache their bound socket methods at construction.
- After ``close()`` the int value still holds the old fd number, which the OS
  may hand to the next object it opens.  Unregister a channel from selectors
  and dicts *before* closing it.  The I/O methods themselves are safe after
  close: they act on fd ``-1`` and raise ``OSError(EBADF)``.
- ``str()`` and ``format()`` give the bare number (``f"/dev/fd/{ch}"`` works);
  only ``repr()`` is descriptive.  Truthiness is the int's: fd 0 is falsy, so
  test channels with ``is None``.
- Arithmetic on a channel returns a plain ``int``.  Channels refuse
  ``pickle`` and ``copy``: a copy would be a second owner of the same fd.

SIGPIPE: CPython ignores it at start-up, and stream sends pass
``MSG_NOSIGNAL`` where the platform has it, so a write to a closed peer
raises ``BrokenPipeError`` even in a process that restored the default
handler.
"""

from __future__ import annotations

import errno
import os
import socket
import warnings
from collections.abc import Sequence
from typing import Any

from zope.interface import implementer

from reactorsock.interfaces import IChannel

__all__ = [
    "Channel",
    "SocketChannel",
    "ServerSocketChannel",
    "DatagramChannel",
    "PipeChannel",
    "socketpair",
]

_MSG_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)
_SOCK_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
# sendmsg() fails with EMSGSIZE beyond IOV_MAX buffers (writev(2), sendmsg(2)).
# 16 is POSIX's minimum _XOPEN_IOV_MAX, for platforms that do not say.
try:
    _IOV_MAX = os.sysconf("SC_IOV_MAX")
except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
    _IOV_MAX = 16
if _IOV_MAX <= 0:  # pragma: no cover - "no limit" reported as -1
    _IOV_MAX = 1024

# Connections that died between SYN and accept(): not an error of the
# listening socket.  Linux also passes pending network errors of the new
# socket through accept(); accept(2) "Error handling" says to treat those like
# EAGAIN; of those, EPROTO is the one a listener can meet without routing trouble.
_ACCEPT_RETRY = frozenset({errno.ECONNABORTED, errno.EPROTO})


@implementer(IChannel)
class Channel(int):
    """Base of all channels: an ``int`` equal to the fd, plus ``close()``.

    See ``IChannel``.  Channels are made by the ``open``/``from_*``
    class methods of the subclasses, never by calling the class.  A channel
    is a context manager that closes it on exit.
    """

    closed: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> Channel:
        raise TypeError(
            f"{cls.__name__} is not constructed directly; use its open(), "
            f"from_socket() or from_fd() class methods"
        )

    # str()/format() give the bare fd number, repr() the description: without
    # this, int's str() would fall back to our __repr__.
    __str__ = int.__repr__

    def fileno(self) -> int:
        """Return the fd as a plain ``int``; ``ValueError`` once closed."""
        if self.closed:
            raise ValueError(f"fileno() of closed {type(self).__name__}")
        return int(self)

    def close(self) -> None:
        """Release the OS object.  Idempotent."""
        if not self.closed:
            self.closed = True
            self._release()

    def _release(self) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _state(self) -> str:
        return "open"

    def __repr__(self) -> str:
        state = "closed" if self.closed else self._state()
        return f"<{type(self).__name__} fd={int(self)} {state}>"

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"cannot pickle or copy {type(self).__name__}: it owns its fd")


class _SocketBacked(Channel):
    """A channel that owns a ``socket.socket``: construction and addresses."""

    socket: socket.socket
    _default_type = socket.SOCK_STREAM

    @classmethod
    def open(
        cls,
        family: int = socket.AF_INET,
        type: int | None = None,
        proto: int = 0,
    ) -> Any:
        """Create a new non-blocking, close-on-exec socket and its channel.

        type defaults to ``SOCK_STREAM`` (``SOCK_DGRAM`` for a
        ``DatagramChannel``).  Sockets are close-on-exec (non-inheritable)
        in Python 3 (PEP 446).
        """
        if type is None:
            type = cls._default_type
        sock = socket.socket(family, type | _SOCK_NONBLOCK, proto)
        if not _SOCK_NONBLOCK:  # pragma: no cover - Linux has SOCK_NONBLOCK
            sock.setblocking(False)
        return cls._adopt(sock)

    @classmethod
    def from_socket(cls, sock: socket.socket) -> Any:
        """Take ownership of an open ``socket.socket`` and make it non-blocking.

        The channel closes sock when it is closed.  ``ValueError`` if sock is
        already closed.
        """
        if sock.fileno() < 0:
            raise ValueError("from_socket() of a closed socket")
        sock.setblocking(False)
        return cls._adopt(sock)

    @classmethod
    def from_fd(cls, fd: int, family: int | None = None, type: int | None = None) -> Any:
        """Take ownership of a socket fd (not duplicated) and make it non-blocking.

        family and type are detected from the fd when not given.
        """
        sock = socket.socket(
            -1 if family is None else family, -1 if type is None else type, -1, int(fd)
        )
        sock.setblocking(False)
        return cls._adopt(sock)

    #: Until ``close()`` sets the instance's own: one dict entry less per channel.
    closed = False

    @classmethod
    def _adopt(cls, sock: socket.socket) -> Any:
        self = int.__new__(cls, sock.fileno())
        self.socket = sock
        self._cache_methods(sock)
        return self

    def _cache_methods(self, sock: socket.socket) -> None:
        """Store the bound socket methods the hot path calls (none by default)."""

    def _release(self) -> None:
        self.socket.close()

    def _state(self) -> str:
        try:
            self.socket.getpeername()
        except OSError:
            return "unconnected"
        return "connected"

    def bind(self, address: Any) -> None:
        """Bind the socket to address (``socket.bind``)."""
        self.socket.bind(address)

    def getsockname(self) -> Any:
        """The local address (``socket.getsockname``)."""
        return self.socket.getsockname()


class SocketChannel(_SocketBacked):
    """A connection-oriented (stream) socket.

    Upper layers reach socket options and addresses through the ``socket``
    attribute; closing that object directly leaves ``closed`` False, so close
    the channel instead.
    """

    def connect(self, address: Any) -> bool:
        """Start connecting to address without waiting.

        Returns True if the connection is already up, False if it is in
        progress: wait for writability, then call ``finish_connect``.  Raises
        ``OSError`` (e.g. ``ConnectionRefusedError``) if it failed at once.
        A non-blocking UNIX-domain connect to a full backlog raises
        ``BlockingIOError``: nothing was started, so retry later.
        """
        err = self.socket.connect_ex(address)
        if err == 0:
            return True
        # EINTR: the connect goes on asynchronously (POSIX connect(2)).
        if err == errno.EINPROGRESS or err == errno.EINTR:
            return False
        raise OSError(err, os.strerror(err))  # OSError() picks the subclass from errno

    def finish_connect(self) -> bool:
        """Return True once connected, False while still in progress.

        Raises ``OSError`` with the ``SO_ERROR`` errno if the connect failed
        (reported once: the kernel clears ``SO_ERROR`` when it is read).
        """
        sock = self.socket
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))
        try:
            sock.getpeername()
        except OSError as e:
            if e.errno == errno.ENOTCONN:
                return False
            raise
        return True

    def read(self, n: int = 65536) -> bytes | None:
        """Read up to n bytes: ``b""`` at EOF, None if nothing is ready."""
        try:
            return self.socket.recv(n)
        except (BlockingIOError, InterruptedError):
            return None

    def read_into(self, buffer: Any, nbytes: int = 0) -> int | None:
        """Read into a writable buffer (up to nbytes, 0: its size).

        Returns the count, 0 at EOF, None if nothing is ready.
        """
        try:
            return self.socket.recv_into(buffer, nbytes)
        except (BlockingIOError, InterruptedError):
            return None

    def write(self, data: Any) -> int:
        """Send what the kernel takes now of a bytes-like object; 0 if none."""
        try:
            return self.socket.send(data, _MSG_NOSIGNAL)
        except (BlockingIOError, InterruptedError):
            return 0

    def write_sequence(self, buffers: Sequence[Any]) -> int:
        """Send a sequence of bytes-like objects with one ``sendmsg`` (gather write).

        Returns the total bytes sent, in order, which may end mid-buffer; 0
        if none.  At most ``IOV_MAX`` buffers go in one call.
        """
        if len(buffers) > _IOV_MAX:
            buffers = buffers[:_IOV_MAX]
        try:
            return self.socket.sendmsg(buffers, (), _MSG_NOSIGNAL)
        except (BlockingIOError, InterruptedError):
            return 0

    def shutdown(self, how: int) -> None:
        """Shut down reading, writing or both (``socket.SHUT_RD/WR/RDWR``).

        ``ENOTCONN`` (the peer is already gone, or never connected) is ignored.
        """
        try:
            self.socket.shutdown(how)
        except OSError as e:
            if e.errno != errno.ENOTCONN:
                raise

    def getpeername(self) -> Any:
        """The remote address (``socket.getpeername``)."""
        return self.socket.getpeername()


class ServerSocketChannel(_SocketBacked):
    """A listening stream socket."""

    def _cache_methods(self, sock: socket.socket) -> None:
        # socket._accept() is accept4(SOCK_CLOEXEC) returning (fd, address);
        # building the socket ourselves skips socket.accept()'s Python frame
        # and its getdefaulttimeout() check.
        self._accept = sock._accept
        self._family = sock.family
        self._type = sock.type
        self._proto = sock.proto

    def _state(self) -> str:
        listening = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        return "listening" if listening else "open"

    def listen(self, backlog: int = 50) -> None:
        """Start listening, with room for backlog pending connections."""
        self.socket.listen(backlog)

    def accept(self) -> tuple[SocketChannel, Any] | None:
        """Accept one pending connection as a non-blocking ``SocketChannel``.

        Returns ``(channel, address)``, or None when nothing can be accepted
        now -- including a connection reset before it was accepted
        (``ECONNABORTED``), which is not an error of the listener.  When more
        connections are queued the selector reports readiness again.
        Descriptor exhaustion (``EMFILE``, ``ENFILE``) raises.
        """
        try:
            fd, address = self._accept()
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            if e.errno in _ACCEPT_RETRY:
                return None
            raise
        sock = socket.socket(self._family, self._type, self._proto, fd)
        sock.setblocking(False)  # accept4() without SOCK_NONBLOCK in CPython's _accept
        return SocketChannel._adopt(sock), address


class DatagramChannel(_SocketBacked):
    """A datagram (UDP or UNIX datagram) socket.

    ``read``/``write`` serve the connected case.  For datagrams ``b""`` is an
    empty datagram, not EOF, and ``send_to``/``write`` of an empty datagram
    return 0 like a would-block.  On a connected socket an ICMP "port
    unreachable" for an earlier datagram surfaces as
    ``ConnectionRefusedError`` from a later ``read``, ``receive`` or ``write``.
    """

    _default_type = socket.SOCK_DGRAM

    def _cache_methods(self, sock: socket.socket) -> None:
        self._recv = sock.recv
        self._recvfrom = sock.recvfrom
        self._recvfrom_into = sock.recvfrom_into
        self._send = sock.send
        self._sendto = sock.sendto

    def connect(self, address: Any) -> None:
        """Send to and receive from address only (takes effect at once)."""
        self.socket.connect(address)

    def disconnect(self) -> None:
        """Undo ``connect``: ``connect(2)`` with an ``AF_UNSPEC`` address.

        The socket module cannot express that address, so this calls libc
        through ctypes.
        """
        import ctypes  # only here: importing ctypes costs a few ms

        libc = ctypes.CDLL(None, use_errno=True)
        unspec = ctypes.create_string_buffer(16)  # sockaddr, sa_family == AF_UNSPEC == 0
        if libc.connect(int(self.socket.fileno()), unspec, ctypes.sizeof(unspec)) != 0:
            err = ctypes.get_errno()
            # BSDs dissolve the association but report EAFNOSUPPORT.
            if err != errno.EAFNOSUPPORT:
                raise OSError(err, os.strerror(err))

    def receive(self, n: int = 65536) -> tuple[bytes, Any] | None:
        """Return ``(datagram, sender_address)``, or None if nothing is ready.

        A datagram longer than n is truncated to n bytes.
        """
        try:
            return self._recvfrom(n)
        except (BlockingIOError, InterruptedError):
            return None

    def receive_into(self, buffer: Any, nbytes: int = 0) -> tuple[int, Any] | None:
        """Like ``receive``, into a writable buffer: ``(count, address)`` or None."""
        try:
            return self._recvfrom_into(buffer, nbytes)
        except (BlockingIOError, InterruptedError):
            return None

    def send_to(self, data: Any, address: Any) -> int:
        """Send one datagram to address; the byte count, or 0 if it would block."""
        try:
            return self._sendto(data, 0, address)
        except (BlockingIOError, InterruptedError):
            return 0

    def read(self, n: int = 65536) -> bytes | None:
        """Receive one datagram from the connected peer; None if nothing is ready."""
        try:
            return self._recv(n)
        except (BlockingIOError, InterruptedError):
            return None

    def write(self, data: Any) -> int:
        """Send one datagram to the connected peer; 0 if it would block."""
        try:
            return self._send(data)
        except (BlockingIOError, InterruptedError):
            return 0

    def getpeername(self) -> Any:
        """The connected peer's address (``socket.getpeername``)."""
        return self.socket.getpeername()


class PipeChannel(Channel):
    """One end of a pipe, or any non-socket fd: a FIFO, a tty, a character device.

    ``readable``/``writable`` say which way data goes (a pipe's source is
    readable, its sink writable; a tty may be both).  POSIX only.

    Making a shared fd non-blocking (``from_fd(0)`` on a terminal) changes
    the open file description, which other processes holding it see too.
    """

    readable: bool
    writable: bool

    @classmethod
    def pipe(cls) -> tuple[PipeChannel, PipeChannel]:
        """Create a non-blocking, close-on-exec pipe: ``(source, sink)``."""
        if hasattr(os, "pipe2"):
            r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        else:  # pragma: no cover - macOS; os.pipe() fds are already non-inheritable
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
        return cls._adopt(r, True, False, True), cls._adopt(w, False, True, True)

    @classmethod
    def from_fd(cls, fd: int, *, own: bool = True) -> PipeChannel:
        """Wrap fd, making it non-blocking.

        With ``own=False`` closing the channel leaves the fd open (use it for
        stdin/stdout).  ``readable``/``writable`` come from the fd's access mode.
        """
        import fcntl

        fd = int(fd)
        access = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
        os.set_blocking(fd, False)
        return cls._adopt(fd, access != os.O_WRONLY, access != os.O_RDONLY, own)

    @classmethod
    def _adopt(cls, fd: int, readable: bool, writable: bool, own: bool) -> PipeChannel:
        self = int.__new__(cls, fd)
        self._fd = fd  # -1 after close, so that I/O raises EBADF instead of hitting a reused fd
        self._own = own
        self.readable = readable
        self.writable = writable
        self.closed = False
        return self

    def _release(self) -> None:
        fd, self._fd = self._fd, -1
        if self._own:
            os.close(fd)

    def _state(self) -> str:
        return {(True, False): "source", (False, True): "sink"}.get(
            (self.readable, self.writable), "open"
        )

    def __del__(self) -> None:
        if not getattr(self, "closed", True) and self._own:
            message = f"unclosed {self!r}"
            self.close()  # first: with warnings as errors, warn() raises
            warnings.warn(message, ResourceWarning, source=self, stacklevel=2)

    def read(self, n: int = 65536) -> bytes | None:
        """Read up to n bytes: ``b""`` at EOF, None if nothing is ready."""
        try:
            return os.read(self._fd, n)
        except (BlockingIOError, InterruptedError):
            return None

    def read_into(self, buffer: Any, nbytes: int = 0) -> int | None:
        """Read into a writable buffer (up to nbytes, 0: its size).

        Returns the count, 0 at EOF, None if nothing is ready.
        """
        if nbytes:
            buffer = memoryview(buffer)[:nbytes]
        try:
            return os.readv(self._fd, (buffer,))
        except (BlockingIOError, InterruptedError):
            return None

    def write(self, data: Any) -> int:
        """Write what the pipe takes now of a bytes-like object; 0 if none.

        ``BrokenPipeError`` (``EPIPE``) once the reading end is closed.
        """
        try:
            return os.write(self._fd, data)
        except (BlockingIOError, InterruptedError):
            return 0


def socketpair(
    family: int = getattr(socket, "AF_UNIX", socket.AF_INET),
    type: int = socket.SOCK_STREAM,
) -> tuple[Any, Any]:
    """Return a connected pair of non-blocking channels.

    Two ``SocketChannel`` objects, or two ``DatagramChannel`` objects when
    type is ``SOCK_DGRAM``.
    """
    a, b = socket.socketpair(family, type)
    cls = DatagramChannel if type == socket.SOCK_DGRAM else SocketChannel
    return cls.from_socket(a), cls.from_socket(b)
