"""UNIX-domain stream sockets: the connection transport, listening port and connector.

These are the TCP classes of ``tcp.py`` with a different address family:
the connection transport, its flow control and half-close are shared, and
only naming, binding and the lock file differ.  This module is not about
UNIX *datagram* sockets, nor about passing descriptors (``SCM_RIGHTS``).

Addresses are filesystem paths (``str``, ``bytes`` or ``os.PathLike``) or,
on Linux, abstract-namespace names: a ``str`` or ``bytes`` starting with
NUL, or a ``str`` starting with ``@`` (the spelling ``ss(8)`` and systemd
use), which is turned into the NUL form.  Abstract names have no file, so
they have no permissions, no stale file and no lock file.

Design notes
------------
*Stale socket files.*  A UNIX server that dies leaves its socket file
behind, and ``bind`` then fails with ``EADDRINUSE`` although nobody listens.
When ``bind`` fails that way, ``UNIXPort`` probes the existing socket file
with a non-blocking ``connect``: ``ECONNREFUSED`` means nobody listens, so the file
is removed; success or ``EAGAIN`` (a full backlog) means a live server, and
listening fails.  A path that exists but is not a socket is never removed.
``stopListening`` removes the file only if it is still the one this port
bound (same device and inode), so a successor's socket survives.

*The PID lock file* (``wantPID``) is ``<path>.lock``, holding the server's
pid in decimal, as Twisted's ``listenUNIX(wantPID=True)`` promises.  The
lock itself is an ``flock(2)`` held on that file for as long as the port
listens: the kernel drops it when the process dies, so a crashed server
never blocks its successor, and no pid-reuse guess is involved.  A lock
file that is not flocked but names another *running* process (one written
by some other program) is respected too.  The file is removed (if it
is still the one this port locked), then unlocked, on ``stopListening``.
Clients that pass ``checkPID`` only read the pid (they never take the
lock, which would race with a starting server) and fail when the file is
missing or its process is gone.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import stat
import sys
from typing import Any

from zope.interface import implementer_only

from reactorsock import error
from reactorsock.address import UNIXAddress
from reactorsock.channel import ServerSocketChannel, SocketChannel
from reactorsock.defer import Deferred
from reactorsock.error import BadFileError
from reactorsock.failure import Failure
from reactorsock.interfaces import (
    IConsumer,
    IPushProducer,
    IReadWriteDescriptor,
    IUNIXTransport,
)
from reactorsock.tcp import Connection, Connector, Port

__all__ = [
    "UNIXConnection",
    "UNIXPort",
    "UNIXConnector",
    "listen_unix",
    "connect_unix",
    "BadFileError",
    "normalize_address",
    "lock_path",
]

#: Abstract socket names exist on Linux only (unix(7) "Abstract sockets").
HAS_ABSTRACT = sys.platform.startswith("linux")

#: First and longest wait before retrying a connect to a full backlog (seconds).
_RETRY_FIRST = 0.005
_RETRY_MAX = 0.1


def normalize_address(address: Any) -> str | bytes:
    """Return address as ``bind``/``connect`` take it: a path, or a NUL-led abstract name.

    ``@name`` becomes ``\\0name``.  ``ValueError`` for an empty address, or
    for an abstract name on a platform without them; ``TypeError`` for a
    non-path.
    """
    address = os.fspath(address)
    if not address:
        raise ValueError("a UNIX socket address must not be empty")
    if isinstance(address, str) and address.startswith("@"):
        address = "\0" + address[1:]
    if _is_abstract(address) and not HAS_ABSTRACT:
        raise ValueError(f"abstract UNIX socket names need Linux: {address!r}")
    return address


def _is_abstract(address: str | bytes) -> bool:
    return address[:1] in ("\0", b"\0")


def lock_path(address: str | bytes) -> str | bytes:
    """The PID lock file of a socket path: ``<path>.lock``."""
    return address + (b".lock" if isinstance(address, bytes) else ".lock")


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _read_pid(fd_or_path: int | str | bytes) -> int | None:
    """The pid in a lock file, or None if it holds none (empty or garbage)."""
    if isinstance(fd_or_path, int):
        data = os.pread(fd_or_path, 32, 0)
    else:
        with open(fd_or_path, "rb") as f:
            data = f.read(32)
    try:
        pid = int(data.strip() or b"-1")
    except ValueError:
        return None
    return pid if pid > 0 else None


# ---------------------------------------------------------------------------
# Connection


@implementer_only(IReadWriteDescriptor, IUNIXTransport, IConsumer, IPushProducer)
class UNIXConnection(Connection):
    """The transport of one UNIX-domain stream connection.

    See ``IUNIXTransport``; everything else is ``tcp.Connection``, including
    ``loseWriteConnection`` (``shutdown(SHUT_WR)`` works on UNIX streams)
    and ``abortConnection``.  Addresses are ``UNIXAddress``; an unnamed
    client socket's is ``UNIXAddress("")``.

    UNIX sockets have no reset: after ``abortConnection`` the peer sees a
    clean end of file (``ConnectionDone``), or ``ECONNRESET``
    (``ConnectionLost``) only if the aborting side left received data
    unread.

    The TCP options do not apply.  ``setTcpNoDelay``/``setTcpKeepAlive``
    are no-ops and their getters return False, so a protocol written for TCP
    that sets them in ``connectionMade`` also runs when served on a UNIX
    socket (Twisted raises ``OSError(EOPNOTSUPP)`` there instead).
    """

    noDelay = False  # no Nagle on UNIX sockets

    __slots__ = ()
    _kind = "UNIX"

    def setTcpNoDelay(self, enabled: bool) -> None:
        """Does nothing: UNIX sockets have no Nagle algorithm to turn off."""

    def getTcpNoDelay(self) -> bool:
        """False: not a TCP socket."""
        return False

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """Does nothing: UNIX sockets have no keep-alive probes."""

    def getTcpKeepAlive(self) -> bool:
        """False: not a TCP socket."""
        return False


# ---------------------------------------------------------------------------
# Listening


class UNIXPort(Port):
    """A listening UNIX-domain stream socket.

    See ``IListeningPort``.  ``port`` (and ``address``) is the address as
    bound.  ``mode`` is applied to the socket file with ``chmod`` after
    binding; ``wantPID`` takes the ``<path>.lock`` lock (see the module's
    design notes).  ``stopListening`` removes the socket file and the lock
    file.  Failures raise ``CannotListenError`` with ``port`` set to the
    address.
    """

    transport = UNIXConnection
    _kind = "UNIX"

    def __init__(
        self,
        reactor: Any,
        address: Any,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> None:
        address = normalize_address(address)
        super().__init__(reactor, factory, address, "", backlog, socket.AF_UNIX)
        self.address = address
        self.mode = mode
        self.wantPID = bool(wantPID)
        if self.wantPID and _is_abstract(address):
            raise ValueError("wantPID needs a filesystem path, not an abstract name")
        self._lock_fd = -1
        self._bound_id: tuple[int, int] | None = None

    def __repr__(self) -> str:
        state = "listening" if self.connected else "not listening"
        factory = type(self.factory).__name__
        return f"<{type(self).__name__} of {factory} on {self.address!r} {state}>"

    def startListening(self) -> None:
        """See ``IListeningPort.startListening``: lock, clear a stale file, bind, chmod, listen.

        ``RuntimeError`` if the port is listening already (a second bind
        would find its own live socket, and the cleanup of that failure
        would remove the live port's files).  A stopped port may listen again.
        """
        if self.connected:
            raise RuntimeError(f"{self!r} is already listening")
        try:
            if self.wantPID:
                self._take_lock()
            self.channel = self._make_channel()
        except OSError as e:
            self._release_lock()
            raise error.CannotListenError("", self.address, e) from None
        except BaseException:
            self._release_lock()
            raise
        # tcp.Port never clears this flag, so a restarted port's second stop
        # would do nothing: clear it now that there is a socket to close.
        self.disconnected = False
        try:
            super().startListening()
        except BaseException:
            self.disconnected = True
            if self.channel is not None and not self.channel.closed:
                self.channel.close()
            self._remove_socket_file()
            self._release_lock()
            raise

    def _make_channel(self) -> ServerSocketChannel:
        address = self.address
        abstract = _is_abstract(address)
        ch = ServerSocketChannel.open(socket.AF_UNIX)
        try:
            try:
                ch.bind(address)
            except OSError as e:
                if abstract or e.errno != errno.EADDRINUSE:
                    raise
                _clear_stale_socket(address)  # raises unless the file was stale
                ch.bind(address)
            if not abstract:
                st = os.stat(address)
                self._bound_id = (st.st_dev, st.st_ino)
                os.chmod(address, self.mode)
        except BaseException:
            ch.close()
            self._remove_socket_file()
            raise
        return ch

    def _take_lock(self) -> None:
        path = lock_path(self.address)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pid = _read_pid(fd)
                    raise OSError(
                        errno.EADDRINUSE,
                        f"lock file {os.fsdecode(path)!r} is held by running process {pid}",
                    ) from None
                # The holder before us may have removed the file between our
                # open and flock: then we hold a lock nobody else can see.
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(path))
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
                pid = _read_pid(fd)
                if pid is not None and pid != os.getpid() and _pid_running(pid):
                    raise OSError(
                        errno.EADDRINUSE,
                        f"lock file {os.fsdecode(path)!r} names running process {pid}",
                    )
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except BaseException:
                os.close(fd)
                raise
            self._lock_fd = fd
            return

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, -1
        if fd < 0:
            return
        path = lock_path(self.address)
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):  # not a successor's file
                os.unlink(path)
        except OSError:
            pass
        os.close(fd)  # drops the flock

    def _remove_socket_file(self) -> None:
        bound, self._bound_id = self._bound_id, None
        if bound is None:
            return
        try:
            st = os.stat(self.address)
            if (st.st_dev, st.st_ino) == bound:
                os.unlink(self.address)
        except OSError:
            pass

    def _cleanup(self) -> None:
        self._remove_socket_file()
        self._release_lock()

    def stopListening(self) -> Deferred:
        """See ``IListeningPort.stopListening``: also removes the socket and lock files."""
        try:
            return super().stopListening()
        finally:
            self._cleanup()

    loseConnection = stopListening

    def connectionLost(self, reason: Failure) -> None:
        """The reactor dropped the port (shutdown): stop listening, remove the files."""
        try:
            super().connectionLost(reason)
        finally:
            self._cleanup()

    def getHost(self) -> UNIXAddress:
        """See ``IListeningPort.getHost``: the bound address (after ``stopListening``, the last).

        An abstract name is ``bytes`` starting with NUL, as ``getsockname`` gives it.
        """
        return super().getHost()


def _clear_stale_socket(path: str | bytes) -> None:
    """Remove path if it is a socket nobody listens on; raise if it must stay.

    The probe is a real connect, so a live server sees one connection that
    closes at once; this runs only after ``bind`` has already failed.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(
            errno.EADDRINUSE,
            f"{os.fsdecode(path)!r} exists and is not a socket; not removing it",
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.setblocking(False)
        err = probe.connect_ex(path)
    finally:
        probe.close()
    if err == errno.ECONNREFUSED:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    if err in (0, errno.EAGAIN, errno.EWOULDBLOCK, errno.EINPROGRESS):
        raise OSError(errno.EADDRINUSE, f"a server is listening on {os.fsdecode(path)!r}")
    raise OSError(err, f"{os.strerror(err)}: {os.fsdecode(path)!r}")


def listen_unix(
    reactor: Any,
    address: Any,
    factory: Any,
    backlog: int = 50,
    mode: int = 0o666,
    wantPID: bool = False,
) -> UNIXPort:
    """Listen on a UNIX socket; see ``IReactorUNIX.listenUNIX``."""
    p = UNIXPort(reactor, address, factory, backlog, mode, wantPID)
    p.startListening()
    return p


# ---------------------------------------------------------------------------
# Connecting


class UNIXConnector(Connector):
    """An outgoing UNIX-domain connection attempt and, once up, its connection.

    See ``IConnector``.  UNIX connects finish at once; a server whose
    backlog is full refuses with ``EAGAIN``, and the connector then retries
    (backing off from 5 ms to 100 ms) until ``timeout``.  With ``checkPID``
    the attempt fails (``clientConnectionFailed`` with ``BadFileError``)
    unless ``<path>.lock`` names a running process.
    """

    transport = UNIXConnection
    _kind = "UNIX"

    def __init__(
        self,
        reactor: Any,
        address: Any,
        factory: Any,
        timeout: float = 30,
        checkPID: bool = False,
    ) -> None:
        address = normalize_address(address)
        super().__init__(reactor, os.fsdecode(address), 0, factory, timeout)
        self.address = address
        self.checkPID = bool(checkPID)
        if self.checkPID and _is_abstract(address):
            raise ValueError("checkPID needs a filesystem path, not an abstract name")
        self._retry_call: Any = None
        self._retry_delay = _RETRY_FIRST
        self._pid_call: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} to {self.address!r} {self.state}>"

    def getDestination(self) -> UNIXAddress:
        """See ``IConnector.getDestination``."""
        return UNIXAddress(self.address)

    def _resolve(self) -> None:
        self._retry_delay = _RETRY_FIRST
        if self.checkPID:
            problem = self._pid_problem()
            if problem is not None:
                # Fail from the loop, as every other connect failure does.
                self._pid_call = self.reactor.callLater(0, self._fail_pid, problem)
                return
        self._start_attempt(self.address, socket.AF_UNIX)

    def _pid_problem(self) -> str | None:
        path = lock_path(self.address)
        shown = os.fsdecode(path)
        try:
            pid = _read_pid(path)
        except FileNotFoundError:
            return f"no lock file {shown!r}: the server is not running with wantPID"
        except OSError as e:
            return f"cannot read lock file {shown!r}: {e}"
        if pid is None:
            return f"lock file {shown!r} holds no pid"
        if not _pid_running(pid):
            return f"lock file {shown!r} names process {pid}, which is not running (stale)"
        return None

    def _fail_pid(self, problem: str) -> None:
        self._pid_call = None
        self._failed(Failure(BadFileError(None, problem)))

    def _make_channel(self, family: int) -> SocketChannel:
        return SocketChannel.open(socket.AF_UNIX)

    def _failed(self, reason: Failure) -> None:
        exc = getattr(reason.value, "osError", None)
        if self.state == "connecting" and isinstance(exc, BlockingIOError):
            # Full backlog: nothing was started (unix(7)); try again shortly.
            self._attempt = None
            self._retry_call = self.reactor.callLater(self._retry_delay, self._retry)
            self._retry_delay = min(self._retry_delay * 2, _RETRY_MAX)
            return
        super()._failed(reason)

    def _retry(self) -> None:
        self._retry_call = None
        if self.state == "connecting":
            self._start_attempt(self.address, socket.AF_UNIX)

    def _abandon_attempt(self) -> None:
        for name in ("_retry_call", "_pid_call"):
            call = getattr(self, name)
            if call is not None:
                setattr(self, name, None)
                if call.active():
                    call.cancel()
        super()._abandon_attempt()


def connect_unix(
    reactor: Any,
    address: Any,
    factory: Any,
    timeout: float = 30,
    checkPID: bool = False,
) -> UNIXConnector:
    """Connect to a UNIX socket; see ``IReactorUNIX.connectUNIX``."""
    c = UNIXConnector(reactor, address, factory, timeout, checkPID)
    c.connect()
    return c
