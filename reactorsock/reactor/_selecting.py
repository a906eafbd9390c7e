"""The reactor proper: ``ReactorBase`` plus readiness dispatch over one ``ISelector``.

One class serves every backend; the selector object is the only difference.

Design notes
------------
The hot path is ``doIteration``: the selector's native ``(fd, mask)`` list is
walked with the masks tested against the selector's own constants, the
descriptor looked up in a plain dict, and ``doRead``/``doWrite`` called
directly -- no per-event wrapper objects, no interface lookups, no logging
context (DESIGN.md "Data path").  Only a descriptor's failure leaves the fast
path, through ``_disconnect``, the one place that logs.

The selector is told about an fd only when the union of its read and write
interest changes, so ``addWriter`` on a reader costs one ``modify`` and
nothing else.  That union is the selector's own map (``ISelector.events``):
the reactor keeps no copy of it, so a watched connection costs one entry in
``_readers`` and one in the selector, not three fd-keyed entries.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading

from zope.interface import classImplements, implementer

from reactorsock import error
from reactorsock.failure import Failure
from reactorsock.interfaces import (
    IReactorFDSet,
    IReactorMulticast,
    IReactorProcess,
    IReactorSocket,
    IReactorSSL,
    IReactorTCP,
    IReactorUDP,
    IReactorUNIX,
)
from reactorsock.reactor._base import ReactorBase
from reactorsock.selector import READ, WRITE, new_selector

__all__ = ["Reactor"]

log = logging.getLogger("reactorsock.reactor")


@implementer(IReactorFDSet)
class Reactor(ReactorBase):
    """A reactor over one selector backend (``"epoll"``, ``"poll"`` or ``"select"``)."""

    def __init__(self, backend: str | None = None) -> None:
        self._selector = new_selector(backend)
        self.backend = self._selector.name
        self.closed = False
        self._signal_pipe: _SignalPipe | None = None
        self._old_wakeup_fd = -1
        self._readers: dict[int, object] = {}
        self._writers: dict[int, object] = {}
        self._internal: set[object] = set()
        super().__init__()
        self._internal.add(self._waker)
        self.addReader(self._waker)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend={self.backend} running={self.running}>"

    # -- IReactorFDSet -----------------------------------------------------

    def _fd_of(self, desc: object, table: dict[int, object]) -> int:
        try:
            fd = desc.fileno()
        except (ValueError, OSError):
            fd = -1
        if fd >= 0:
            return fd
        # Closed (fileno() == -1): find it by identity.  Only here, so that
        # removing a descriptor that is not watched stays O(1).
        for known, d in table.items():
            if d is desc:
                return known
        return fd

    def _add_events(self, fd: int, bit: int) -> None:
        sel = self._selector
        old = sel.events(fd)
        if not old:
            sel.register(fd, bit)
        elif not old & bit:
            sel.modify(fd, old | bit)

    def _remove_events(self, fd: int, bit: int) -> None:
        sel = self._selector
        old = sel.events(fd)
        if not old & bit:
            return
        if old == bit:
            sel.unregister(fd)
        else:
            sel.modify(fd, old & ~bit)

    def addReader(self, reader: object) -> None:
        """See ``IReactorFDSet.addReader``."""
        fd = reader.fileno()
        if fd < 0:
            raise ValueError(f"{reader!r} has no file descriptor (closed?)")
        fd = int(fd)
        self._add_events(fd, READ)
        self._readers[fd] = reader

    def addWriter(self, writer: object) -> None:
        """See ``IReactorFDSet.addWriter``."""
        fd = writer.fileno()
        if fd < 0:
            raise ValueError(f"{writer!r} has no file descriptor (closed?)")
        fd = int(fd)
        self._add_events(fd, WRITE)
        self._writers[fd] = writer

    def removeReader(self, reader: object) -> None:
        """See ``IReactorFDSet.removeReader``."""
        fd = self._fd_of(reader, self._readers)
        if self._readers.get(fd) is reader:
            del self._readers[fd]
            self._remove_events(fd, READ)

    def removeWriter(self, writer: object) -> None:
        """See ``IReactorFDSet.removeWriter``."""
        fd = self._fd_of(writer, self._writers)
        if self._writers.get(fd) is writer:
            del self._writers[fd]
            self._remove_events(fd, WRITE)

    def getReaders(self) -> list[object]:
        """See ``IReactorFDSet.getReaders``."""
        return [r for r in self._readers.values() if r not in self._internal]

    def getWriters(self) -> list[object]:
        """See ``IReactorFDSet.getWriters``."""
        return [w for w in self._writers.values() if w not in self._internal]

    def removeAll(self) -> list[object]:
        """See ``IReactorFDSet.removeAll``."""
        removed: list[object] = []
        for desc in self.getReaders():
            self.removeReader(desc)
            removed.append(desc)
        for desc in self.getWriters():
            self.removeWriter(desc)
            if desc not in removed:
                removed.append(desc)
        return removed

    def disconnectAll(self) -> None:
        """Drop every descriptor with ``ConnectionLost`` (at shutdown)."""
        for desc in self.removeAll():
            try:
                desc.connectionLost(Failure(error.ConnectionLost("reactor shut down")))
            except BaseException:
                log.exception("Error in connectionLost of %r at shutdown", desc)

    # -- the loop ----------------------------------------------------------

    def doIteration(self, timeout: float | None) -> None:
        """Wait up to timeout seconds for readiness and dispatch it."""
        sel = self._selector
        readers, writers = self._readers, self._writers
        READ_EVENTS, WRITE_EVENTS, INVALID = (  # noqa: N806 - constants
            sel.READ_EVENTS,
            sel.WRITE_EVENTS,
            sel.INVALID_EVENTS,
        )
        for fd, mask in sel.poll(timeout):
            if mask & READ_EVENTS:
                fdesc = readers.get(fd)
                if fdesc is not None:
                    try:
                        why = fdesc.doRead()
                    except BaseException as e:
                        why = self._raised(fdesc, e)
                    if why is not None:
                        self._disconnect(fdesc, why)
                        continue
            elif mask & INVALID:  # never with READ/WRITE bits: tested off the read path
                self._drop_invalid(fd)
                continue
            if mask & WRITE_EVENTS:
                fdesc = writers.get(fd)
                if fdesc is not None:
                    try:
                        why = fdesc.doWrite()
                    except BaseException as e:
                        why = self._raised(fdesc, e)
                    if why is not None:
                        self._disconnect(fdesc, why)

    def _raised(self, fdesc: object, exc: BaseException) -> Failure:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise exc
        f = Failure(exc)
        log.error("Unhandled error in %s:\n%s", _prefix(fdesc), f.getTraceback())
        return f

    def _disconnect(self, fdesc: object, why: object) -> None:
        self.removeReader(fdesc)
        self.removeWriter(fdesc)
        reason = why if isinstance(why, Failure) else Failure(why)
        try:
            fdesc.connectionLost(reason)
        except BaseException:
            log.exception("Error in connectionLost of %s", _prefix(fdesc))

    def _drop_invalid(self, fd: int) -> None:
        # The selector has already forgotten fd: forget it here and tell the owners.
        owners = []
        for table in (self._readers, self._writers):
            desc = table.pop(fd, None)
            if desc is not None and desc not in owners:
                owners.append(desc)
        for desc in owners:
            log.warning(
                "%s: fd %d was closed while the reactor watched it; dropping it", _prefix(desc), fd
            )
            err = OSError(errno.EBADF, f"fd {fd} was closed while being watched")
            try:
                desc.connectionLost(Failure(error.ConnectionLost(err)))
            except BaseException:
                log.exception("Error in connectionLost of %s", _prefix(desc))

    # -- signals -------------------------------------------------------------

    def run(self, installSignalHandlers: bool = True) -> None:
        """See ``IReactorCore.run``.

        In the main thread the loop also owns ``signal.set_wakeup_fd`` while
        it runs, whoever installed the Python-level handlers (``run()``
        itself, the CLI runner, the application): a signal that lands after
        the loop's last check for pending signals but before ``poll()``
        enters the kernel does not interrupt the wait, and its handler would
        run only after the next event -- possibly never.  The byte the C-level
        handler writes wakes the poll (asyncio and Twisted do the same).  A
        pipe, not the eventfd waker: ``set_wakeup_fd`` writes single bytes.
        """
        self._install_signal_wakeup()
        try:
            super().run(installSignalHandlers=installSignalHandlers)
        finally:
            self._remove_signal_wakeup()

    def _install_signal_wakeup(self) -> None:
        if self._signal_pipe is not None or threading.current_thread() is not (
            threading.main_thread()
        ):
            return
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            self._old_wakeup_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        except ValueError:  # pragma: no cover - not the main thread after all
            os.close(r)
            os.close(w)
            return
        self._signal_pipe = _SignalPipe(r, w)
        self._internal.add(self._signal_pipe)
        self.addReader(self._signal_pipe)

    def _remove_signal_wakeup(self) -> None:
        pipe, self._signal_pipe = self._signal_pipe, None
        if pipe is None:
            return
        try:
            signal.set_wakeup_fd(self._old_wakeup_fd)
        except ValueError:  # pragma: no cover - not the main thread
            pass
        self._internal.discard(pipe)
        self.removeReader(pipe)
        pipe.close()

    def close(self) -> None:
        """Release the selector and the waker; the reactor is unusable afterwards."""
        self.closed = True
        self._selector.close()
        self._waker.close()


class _SignalPipe:
    """The read end of the signal wakeup pipe: drained, nothing more.

    The byte only wakes the poll; the Python-level handler (which queues
    the real work with ``callFromThread``) runs as the loop goes on.
    """

    def __init__(self, r: int, w: int) -> None:
        self._r, self._w = r, w

    def fileno(self) -> int:
        return self._r

    def doRead(self) -> None:
        try:
            while os.read(self._r, 4096):
                pass
        except BlockingIOError:
            pass

    def connectionLost(self, reason: object) -> None:
        self.close()

    def close(self) -> None:
        if self._r >= 0:
            os.close(self._r)
            os.close(self._w)
            self._r = self._w = -1

    def logPrefix(self) -> str:
        return "signal wakeup"


def _prefix(desc: object) -> str:
    try:
        return desc.logPrefix()
    except Exception:
        return repr(desc)


# ---------------------------------------------------------------------------
# Transports.  Each method hands off to its transport module, imported on
# first use so that a reactor that only times calls loads no socket code.


def _listen_tcp(self, port: int, factory, backlog: int = 50, interface: str = ""):
    """See ``IReactorTCP.listenTCP``."""
    from reactorsock.tcp import Port

    p = Port(self, factory, port, interface, backlog)
    p.startListening()
    return p


def _connect_tcp(self, host: str, port: int, factory, timeout: float = 30, bindAddress=None):
    """See ``IReactorTCP.connectTCP``."""
    from reactorsock.tcp import Connector

    c = Connector(self, host, port, factory, timeout, bindAddress)
    c.connect()
    return c


def _listen_udp(self, port: int, protocol, interface: str = "", maxPacketSize: int = 8192):
    """See ``IReactorUDP.listenUDP``."""
    from reactorsock.udp import listen_udp

    return listen_udp(self, port, protocol, interface, maxPacketSize)


def _listen_multicast(
    self, port: int, protocol, interface: str = "", maxPacketSize: int = 8192, listenMultiple=False
):
    """See ``IReactorMulticast.listenMulticast``."""
    from reactorsock.udp import listen_multicast

    return listen_multicast(self, port, protocol, interface, maxPacketSize, listenMultiple)


def _listen_unix(self, address, factory, backlog: int = 50, mode: int = 0o666, wantPID=False):
    """See ``IReactorUNIX.listenUNIX``."""
    from reactorsock.unix import listen_unix

    return listen_unix(self, address, factory, backlog, mode, wantPID)


def _connect_unix(self, address, factory, timeout: float = 30, checkPID: bool = False):
    """See ``IReactorUNIX.connectUNIX``."""
    from reactorsock.unix import connect_unix

    return connect_unix(self, address, factory, timeout, checkPID)


def _adopt_stream_port(self, fileDescriptor, addressFamily, factory):
    """See ``IReactorSocket.adoptStreamPort``."""
    from reactorsock.tcp import adopt_stream_port

    return adopt_stream_port(self, fileDescriptor, addressFamily, factory)


def _adopt_stream_connection(self, fileDescriptor, addressFamily, factory):
    """See ``IReactorSocket.adoptStreamConnection``."""
    from reactorsock.tcp import adopt_stream_connection

    return adopt_stream_connection(self, fileDescriptor, addressFamily, factory)


def _adopt_datagram_port(self, fileDescriptor, addressFamily, protocol, maxPacketSize=8192):
    """See ``IReactorSocket.adoptDatagramPort``."""
    from reactorsock.udp import adopt_datagram_port

    return adopt_datagram_port(self, fileDescriptor, addressFamily, protocol, maxPacketSize)


def _spawn_process(
    self,
    processProtocol,
    executable,
    args=(),
    env=None,
    path=None,
    uid=None,
    gid=None,
    usePTY=False,
    childFDs=None,
):
    """See ``IReactorProcess.spawnProcess``."""
    from reactorsock.process import spawn_process

    return spawn_process(
        self, processProtocol, executable, args, env, path, uid, gid, usePTY, childFDs
    )


Reactor.listenTCP = _listen_tcp
Reactor.connectTCP = _connect_tcp
Reactor.listenUDP = _listen_udp
Reactor.listenMulticast = _listen_multicast
Reactor.listenUNIX = _listen_unix
Reactor.connectUNIX = _connect_unix
Reactor.adoptStreamPort = _adopt_stream_port
Reactor.adoptStreamConnection = _adopt_stream_connection
Reactor.adoptDatagramPort = _adopt_datagram_port
Reactor.spawnProcess = _spawn_process
classImplements(
    Reactor, IReactorTCP, IReactorUDP, IReactorMulticast, IReactorSocket, IReactorProcess
)
if hasattr(socket, "AF_UNIX"):
    classImplements(Reactor, IReactorUNIX)


def _listen_ssl(self, port: int, factory, contextFactory, backlog: int = 50, interface: str = ""):
    """See ``IReactorSSL.listenSSL``."""
    from reactorsock.tls import listen_ssl

    return listen_ssl(self, port, factory, contextFactory, backlog, interface)


def _connect_ssl(
    self, host: str, port: int, factory, contextFactory, timeout=30, bindAddress=None
):
    """See ``IReactorSSL.connectSSL``."""
    from reactorsock.tls import connect_ssl

    return connect_ssl(self, host, port, factory, contextFactory, timeout, bindAddress)


Reactor.listenSSL = _listen_ssl
Reactor.connectSSL = _connect_ssl
classImplements(Reactor, IReactorSSL)
