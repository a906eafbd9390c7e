"""TCP: the stream ``Connection`` transport, listening ``Port`` and client ``Connector``.

``Connection`` is the transport of any connected stream socket channel; the
UNIX-domain transports (``unix.py``) subclass it, ``Port`` and ``Connector``.
A connection *has* a channel and a protocol: it is composed, not a mixin
stack.  This module is also the public home of the client side
(``Connector``, in ``_tcpclient``) and of adopting sockets made elsewhere
(``adopt_stream_port``, ``adopt_stream_connection``, in ``_adopt``).  It is not TLS
(``tls.py`` wraps any transport) and does no name resolution of its own: host
names go through the reactor's ``getaddrinfo``, in its thread pool.

Call order on an accepted or connected socket::

    buildProtocol -> makeConnection -> connectionMade -> dataReceived*
        -> [readConnectionLost | writeConnectionLost]* -> connectionLost

Design notes
------------
The data path (DESIGN.md) is ``doRead -> socket.recv() ->
protocol.dataReceived`` and ``write -> socket.send()`` at once when nothing
is queued.  The transport uses its channel's socket directly (kept in
``_sock`` at construction) and handles would-block (``BlockingIOError``,
``InterruptedError``) itself: the channel's ``read``/``write`` wrappers
cost a Python frame each per message (about 1 µs of the 7 µs a 64-byte
echo costs, bench/), and the transport already knows what would-block
means for it.  The channel's non-blocking contract is unchanged; only this
hot path bypasses it (``write_sequence``, ``shutdown`` and ``close`` still
go through the channel).  ``self._sock.recv`` and
``self.protocol.dataReceived`` are looked up per call rather than cached as
bound methods: CPython 3.11's specialised method calls make that as fast
(measured with timeit), and a bound method is 64-72 bytes per connection.
Stream sends pass ``MSG_NOSIGNAL`` as the channel's do (see channel.py:
CPython ignores SIGPIPE at start-up, an embedding application may not); it
costs nothing measurable.  The protocol's ``IHalfCloseableProtocol``
provision is looked up once, in ``makeConnection``.

Reads start at ``READ_SIZE`` (64 KiB) and double, up to ``MAX_READ_SIZE``
(256 KiB), while they come back full; a read of a quarter of the size or
less drops back to 64 KiB.  Bulk transfers thus make a quarter of the
``recv`` calls and protocol callbacks, while small-message connections
never ask for more than 64 KiB: ``recv(n)`` allocates n bytes before it
shrinks them, and glibc serves large allocations with ``mmap`` (asyncio's
fixed 256 KiB reads pay ``mmap``/``mremap``/``munmap`` per 64-byte message).

Only what the socket does not take at once is queued (a chunk list made on
the first such write, partial chunks kept as memoryviews, never re-sliced
copies), and only then does the connection ask the reactor for
writability; several queued chunks go out in one ``sendmsg`` (writev).
While the connection waits for writability (``_writing``) every write is
queued, which keeps the byte order and lets a pull producer's writes wait
for the next ``doWrite``.

Memory per idle connection (C10K): the hot fields are slots; the state
most connections never use (producer, connector, send error, abort,
half-close, cached ``getHost``) lives in one ``_Rare`` object made on first
need, behind properties for the public names (``producer``,
``streamingProducer``, ``producerPaused``, ``connector``).  An accepted
IPv4 peer address is kept packed in one int, not as a tuple and a str.

Flow control: above ``highWaterMark`` buffered bytes a registered streaming
producer is paused; when the buffer drains below ``lowWaterMark`` it is
resumed.  A pull producer is asked for more each time the buffer drains.
As in Twisted, ``loseConnection`` waits for a registered producer to
unregister before closing.

Errors never raise out of ``write``: a send error is kept and reported
through the reactor (``doWrite`` returns it) as ``connectionLost`` with
``ConnectionLost``, so a protocol's ``connectionLost`` never runs inside
its own ``write`` call.  An exception from ``buildProtocol`` or
``connectionMade`` is logged and costs that one connection, never the port.

Running out of descriptors (EMFILE) while accepting would leave the
pending connection in the backlog and the listening socket readable, so
the loop would spin and the client hang.  The port keeps one spare
descriptor (``/dev/null``) open; on EMFILE it closes the spare, accepts and
closes what is pending, and reopens the spare (the libev/libuv "reserve fd"
trick).  It logs that once per burst of failures, not per event.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import struct
from typing import Any

from zope.interface import implementer

from reactorsock import error
from reactorsock.address import address_from_sockaddr
from reactorsock.channel import ServerSocketChannel, SocketChannel
from reactorsock.defer import Deferred, succeed
from reactorsock.failure import Failure
from reactorsock.interfaces import (
    IConsumer,
    IHalfCloseableProtocol,
    IListeningPort,
    IPushProducer,
    IReadWriteDescriptor,
    ITCPTransport,
)

__all__ = [
    "Connection",
    "Port",
    "Connector",
    "adopt_stream_port",
    "adopt_stream_connection",
    "is_ipv6_literal",
    "is_ip_literal",
]

log = logging.getLogger("reactorsock.tcp")

#: First read size of a connection; 64 KiB matches the default socket receive buffer scale.
READ_SIZE = 65536
#: A connection's reads double from READ_SIZE up to this while they come back full.
MAX_READ_SIZE = 262144
#: At most this many queued chunks go into one sendmsg (Linux IOV_MAX is 1024).
_IOV_CHUNKS = 64
#: Seconds a port stops accepting when EMFILE strikes and it has no spare fd.
ACCEPT_RETRY_DELAY = 0.1

# struct linger {int l_onoff; int l_linger;}: on, 0 s -> close() sends RST (socket(7)).
_LINGER_RESET = struct.pack("ii", 1, 0)
_OUT_OF_FDS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

_DONE = error.ConnectionDone()
# SIGPIPE: see channel.py.  Costs nothing measurable (bench/, echo64).
_MSG_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)
_inet_aton = socket.inet_aton
_inet_ntoa = socket.inet_ntoa


def is_ipv6_literal(host: str) -> bool:
    """True if host is an IPv6 address literal (``::1``, ``fe80::1%lo``)."""
    try:
        socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
    except (OSError, ValueError, TypeError, AttributeError):
        return False
    return True


def is_ip_literal(host: str) -> bool:
    """True if host is an IPv4 or IPv6 address literal (no name lookup needed)."""
    try:
        socket.inet_pton(socket.AF_INET, host)
    except (OSError, ValueError, TypeError):
        return is_ipv6_literal(host)
    return True


def _pack_peer(addr: Any) -> Any:
    """An IPv4 ``(host, port)`` as one int; any other sockaddr as it is.

    An int of 48 bits is a 32-byte object; the tuple and its host ``str``
    are about 160 bytes, kept for the life of every accepted connection.
    """
    if type(addr) is tuple and len(addr) == 2:
        try:
            return int.from_bytes(_inet_aton(addr[0]), "big") << 16 | addr[1]
        except (OSError, TypeError):
            pass  # a 2-tuple address of another family: kept as it is
    return addr


def _unpack_peer(peer: Any) -> Any:
    if type(peer) is int:
        return (_inet_ntoa((peer >> 16).to_bytes(4, "big")), peer & 0xFFFF)
    return peer


class _Rare:
    """The state of a ``Connection`` that most connections never use.

    Allocated on first need (a producer, a client connector, a send error, a
    half-close, an abort, ``getHost``), so an idle server connection does
    not pay eight slots for it.
    """

    __slots__ = (
        "producer",
        "streamingProducer",
        "producerPaused",
        "connector",
        "error",
        "aborting",
        "read_closed",
        "host",
    )

    def __init__(self) -> None:
        self.producer: Any = None
        self.streamingProducer = False
        self.producerPaused = False
        self.connector: Any = None
        self.error: BaseException | None = None
        self.aborting = False
        self.read_closed = False
        self.host: Any = None


def _rare_property(name: str, doc: str) -> property:
    def get(self: Connection) -> Any:
        rare = self._rare
        return getattr(_NO_RARE if rare is None else rare, name)

    def set_(self: Connection, value: Any) -> None:
        setattr(self._more(), name, value)

    return property(get, set_, doc=doc)


_NO_RARE = _Rare()  # read-only defaults for connections without a _Rare


@implementer(IReadWriteDescriptor, ITCPTransport, IConsumer, IPushProducer)
class Connection:
    """The transport of one connected stream channel.

    See ``ITCPTransport``.  ``highWaterMark``/``lowWaterMark`` (bytes) bound
    the write buffer for producers.  Writes of ``bytearray`` or
    ``memoryview`` are copied if they have to be queued, so the caller may
    reuse its buffer as soon as ``write`` returns.

    With an ``IHalfCloseableProtocol``, the peer's EOF calls
    ``readConnectionLost`` and ``loseWriteConnection`` ends in
    ``writeConnectionLost``; once both directions are shut,
    ``connectionLost`` follows with ``ConnectionDone``.  Any other protocol
    gets ``connectionLost`` at the peer's EOF.

    ``TCP_NODELAY`` is on from ``makeConnection`` (class attribute
    ``noDelay``), as asyncio and uvloop have it and unlike Twisted: writes go
    to the socket at once, so with Nagle's algorithm a reply made of two
    writes would wait for the peer's delayed ACK (about 40 ms on Linux;
    CPython bpo-27456 made the same choice).  ``setTcpNoDelay(False)`` turns
    Nagle back on for a connection; set ``Connection.noDelay = False`` (or on
    a subclass) to keep the OS default everywhere.
    """

    __slots__ = (
        "reactor",
        "channel",
        "protocol",
        "connected",
        "disconnecting",
        "disconnected",
        "_sock",
        "_read_size",
        "_buffer",
        "_buffered",
        "_writing",
        "_reading",
        "_write_state",
        "_half",
        "_peer",
        "_rare",
        "__weakref__",
    )

    highWaterMark = 64 * 1024
    lowWaterMark = 16 * 1024
    #: Turn Nagle's algorithm off in makeConnection (TCP; False for UNIX sockets).
    noDelay = True
    #: The kind of address ``getHost``/``getPeer`` return ("TCP"; "UNIX" in unix.py).
    _kind = "TCP"

    producer = _rare_property("producer", "The registered producer, or None.")
    streamingProducer = _rare_property(
        "streamingProducer", "True if the registered producer is a push producer."
    )
    producerPaused = _rare_property(
        "producerPaused", "True while this transport has paused the producer."
    )
    connector = _rare_property(
        "connector", "The ``Connector`` of a client connection; None on a server."
    )

    def __init__(self, reactor: Any, channel: SocketChannel, peer: Any = None) -> None:
        self.reactor = reactor
        self.channel = channel
        self.protocol: Any = None
        self.connected = False
        self.disconnecting = False
        self.disconnected = False
        self._sock = channel.socket
        self._read_size = READ_SIZE
        self._buffer: list[Any] | None = None  # made on the first write that must wait
        self._buffered = 0
        self._writing = False
        self._reading = False
        self._write_state = 0  # 0 open, 1 shut down once drained, 2 shut down
        self._half: Any = None
        self._peer = None if peer is None else _pack_peer(peer)
        self._rare: _Rare | None = None

    def _more(self) -> _Rare:
        rare = self._rare
        if rare is None:
            rare = self._rare = _Rare()
        return rare

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.logPrefix()} fd={int(self.channel)}>"

    # -- set-up --------------------------------------------------------------

    def makeConnection(self, protocol: Any) -> None:
        """Attach protocol, start reading, and call ``protocol.makeConnection``.

        An exception from the protocol's ``makeConnection``/``connectionMade``
        is logged and drops this connection (``connectionLost`` with it).
        """
        self.protocol = protocol
        self._half = IHalfCloseableProtocol(protocol, None)
        self.connected = True
        if self.noDelay:
            try:
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - a TCP socket always takes it
                pass
        self.startReading()
        try:
            protocol.makeConnection(self)
        except Exception:
            reason = Failure()
            log.error(
                "Unhandled error in %s.connectionMade:\n%s",
                self.logPrefix(),
                reason.getTraceback(),
            )
            try:
                # Called from Port.doRead or a Connector: an error escaping
                # here would cost the port (the reactor drops it), not just
                # this connection.
                self.connectionLost(reason)
            except Exception:
                log.exception("Unhandled error in %s.connectionLost", self.logPrefix())

    def fileno(self) -> int:
        """See ``IFileDescriptor.fileno``: -1 once closed."""
        return -1 if self.channel.closed else int(self.channel)

    def logPrefix(self) -> str:
        """The protocol's class name, as in Twisted's log lines."""
        proto = self.protocol
        return type(proto).__name__ if proto is not None else type(self).__name__

    def startReading(self) -> None:
        """Watch the channel for reading."""
        if not self._reading and not (self._rare is not None and self._rare.read_closed):
            self._reading = True
            self.reactor.addReader(self)

    def stopReading(self) -> None:
        """Stop watching the channel for reading."""
        if self._reading:
            self._reading = False
            self.reactor.removeReader(self)

    def _start_writing(self) -> None:
        if not self._writing:
            self._writing = True
            self.reactor.addWriter(self)

    def _stop_writing(self) -> None:
        if self._writing:
            self._writing = False
            self.reactor.removeWriter(self)

    # -- reading -------------------------------------------------------------

    def doRead(self) -> Any:
        """See ``IReadDescriptor.doRead``: one read, delivered to dataReceived."""
        size = self._read_size
        try:
            data = self._sock.recv(size)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            return error.ConnectionLost(e)
        if data:
            n = len(data)
            if n == size:
                if size < MAX_READ_SIZE:
                    self._read_size = size << 1  # the peer sends faster than we read
            elif size > READ_SIZE and n <= size >> 2:
                self._read_size = READ_SIZE
            self.protocol.dataReceived(data)
            return None
        return self._read_eof()

    def _read_eof(self) -> Any:
        half = self._half
        if half is None:
            return _DONE
        self._more().read_closed = True
        self.stopReading()
        half.readConnectionLost()
        if self._write_state == 2:  # both directions are shut now
            return _DONE
        return None

    # -- writing -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """See ``ITransport.write``: tries the socket at once when nothing is queued."""
        if self._writing or self._write_state or self.disconnected:
            if self.disconnected or self._write_state:
                if isinstance(data, str):
                    raise TypeError("write() takes bytes, not str")
                return
            self._queue(data)
            return
        if type(data) is not bytes and not isinstance(data, str):
            # send() counts bytes, len() of a typed memoryview counts items.
            data = memoryview(data).cast("B")
        try:
            sent = self._sock.send(data, _MSG_NOSIGNAL)  # TypeError for str
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as e:
            self._fail_later(e)
            return
        if sent < len(data):
            rest = memoryview(data)[sent:] if sent else data
            self._queue(rest if type(data) is bytes else bytes(rest))
            self._start_writing()

    def writeSequence(self, iovec: Any) -> None:
        """See ``ITransport.writeSequence``: one write of the joined chunks."""
        self.write(b"".join(iovec))

    def _queue(self, data: Any) -> None:
        kind = type(data)
        if kind is not bytes and kind is not memoryview:
            if isinstance(data, str):
                raise TypeError("write() takes bytes, not str")
            data = bytes(memoryview(data))  # a snapshot: the caller may reuse its buffer
        elif kind is memoryview and (data.itemsize != 1 or not isinstance(data.obj, bytes)):
            data = data.tobytes()  # a byte snapshot: len() then counts bytes
        if not data:
            return
        buffer = self._buffer
        if buffer is None:
            buffer = self._buffer = []
        buffer.append(data)
        self._buffered += len(data)
        if self._buffered > self.highWaterMark and self._rare is not None:
            rare = self._rare
            if rare.producer is not None and rare.streamingProducer and not rare.producerPaused:
                rare.producerPaused = True
                rare.producer.pauseProducing()

    def _fail_later(self, exc: BaseException) -> None:
        # Report through the reactor: connectionLost must not run inside write().
        rare = self._more()
        if rare.error is None:
            rare.error = exc
        self._start_writing()

    def doWrite(self) -> Any:
        """See ``IWriteDescriptor.doWrite``: flush what is queued, then finish closes."""
        rare = self._rare
        if rare is not None and rare.error is not None:
            return error.ConnectionLost(rare.error)
        buffer = self._buffer
        if buffer:
            try:
                if len(buffer) == 1:
                    sent = self._sock.send(buffer[0], _MSG_NOSIGNAL)
                else:
                    sent = self.channel.write_sequence(buffer[:_IOV_CHUNKS])
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as e:
                return error.ConnectionLost(e)
            if sent:
                self._consume(sent)
            if self._buffered:
                if (
                    rare is not None
                    and rare.producerPaused
                    and rare.producer is not None
                    and self._buffered < self.lowWaterMark
                ):
                    rare.producerPaused = False
                    rare.producer.resumeProducing()
                return None
        # Everything is sent.  Writes made by the producer now are queued
        # (still ``_writing``) and go out on the next call.
        if rare is not None:
            producer = rare.producer
            if producer is not None and (not rare.streamingProducer or rare.producerPaused):
                rare.producerPaused = False
                producer.resumeProducing()
                if self._buffered or rare.error is not None:
                    return None
        self._stop_writing()
        if self.disconnecting and (rare is None or rare.producer is None):
            return _DONE
        if self._write_state == 1:
            return self._shut_write()
        return None

    def _consume(self, sent: int) -> None:
        buffer = self._buffer
        self._buffered -= sent
        while sent:
            first = buffer[0]
            size = len(first)
            if sent >= size:
                del buffer[0]
                sent -= size
            else:
                buffer[0] = memoryview(first)[sent:]
                break

    # -- closing -------------------------------------------------------------

    def loseConnection(self) -> None:
        """See ``ITransport.loseConnection``: close once the buffer is sent.

        As in Twisted, a registered producer keeps the connection open until
        it unregisters.
        """
        if self.disconnected or self.disconnecting:
            return
        self.disconnecting = True
        self.stopReading()
        self._start_writing()

    def loseWriteConnection(self) -> None:
        """See ``ITCPTransport.loseWriteConnection``: FIN once the buffer is sent."""
        if self._write_state or self.disconnected:
            return
        self._write_state = 1
        self._start_writing()

    def _shut_write(self) -> Any:
        self._write_state = 2
        try:
            self.channel.shutdown(socket.SHUT_WR)
        except OSError as e:
            return error.ConnectionLost(e)
        if self._half is not None:
            self._half.writeConnectionLost()
        if self._rare is not None and self._rare.read_closed:
            return _DONE
        return None

    def abortConnection(self) -> None:
        """See ``ITCPTransport.abortConnection``: close now, dropping queued data.

        The socket is closed with a zero linger time, so the peer gets a
        reset (``ConnectionLost``); this side gets ``ConnectionAborted`` on
        the next iteration.
        """
        if self.disconnected or (self._rare is not None and self._rare.aborting):
            return
        self._more().aborting = True
        self.stopReading()
        self._stop_writing()
        self._buffer = None
        self._buffered = 0
        self.disconnecting = True
        self._write_state = 2  # later writes are dropped, not sent before the reset
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        except OSError:
            pass  # not a socket that lingers: a plain close is the best there is
        self.reactor.callLater(0, self.connectionLost, Failure(error.ConnectionAborted()))

    def connectionLost(self, reason: Failure) -> None:
        """Called by the reactor when the connection is gone: close, tell the protocol."""
        if self.disconnected:
            return
        self.disconnected = True
        self.connected = False
        self.stopReading()
        self._stop_writing()
        self._buffer = None
        self._buffered = 0
        self.channel.close()
        rare = self._rare
        producer = None
        if rare is not None:
            producer, rare.producer = rare.producer, None
        if producer is not None:
            try:
                producer.stopProducing()
            except Exception:
                log.exception("Error in stopProducing of %r", producer)
        protocol = self.protocol
        try:
            if protocol is not None:
                protocol.connectionLost(reason)
        finally:
            if rare is not None and rare.connector is not None:
                rare.connector.connectionLost(reason)

    def detach(self) -> Any:
        """Hand the connection back as a classic ``reactorsock.compat.socket`` socket.

        The bridge from event-driven code back to blocking code: the reactor
        stops watching the connection, the protocol gets ``connectionLost``
        with ``ConnectionDone("connection detached")`` (a client's factory
        gets ``clientConnectionLost`` as usual), and the returned socket owns
        the same OS socket, in the mode a new socket starts in
        (``getdefaulttimeout()``).  Bytes the transport already read went to
        ``dataReceived``; bytes the kernel still holds are read by the socket.

        Raises ``RuntimeError`` when written data is still queued (it would be
        lost: detach once the buffer has drained, e.g. from a pull producer's
        ``resumeProducing``) or when the connection is closed or closing.
        """
        if self.disconnected or self.disconnecting or self._write_state:
            raise RuntimeError(f"can't detach {self!r}: it is closed or closing")
        if self._buffered:
            raise RuntimeError(
                f"can't detach {self!r}: {self._buffered} written bytes are still queued; "
                "detach once the write buffer has drained"
            )
        from reactorsock.compat.socket import socket as classic_socket

        self.stopReading()
        self._stop_writing()
        fd = self.channel.socket.detach()  # the channel's close() now leaves the fd open
        try:
            sock = classic_socket(fileno=fd)
        except BaseException:
            os.close(fd)
            raise
        self.connectionLost(Failure(error.ConnectionDone("connection detached")))
        return sock

    # -- producer / consumer -----------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """See ``IConsumer.registerProducer``.

        A pull producer (``streaming`` false) is asked for data at once and
        again each time the buffer drains.
        """
        if self.producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}: {self.producer!r} is registered"
            )
        if self.disconnected:
            producer.stopProducing()
            return
        rare = self._more()
        rare.producer = producer
        rare.streamingProducer = streaming
        rare.producerPaused = False
        if not streaming:
            self._start_writing()
            producer.resumeProducing()
        elif self._buffered > self.highWaterMark:
            rare.producerPaused = True
            producer.pauseProducing()

    def unregisterProducer(self) -> None:
        """See ``IConsumer.unregisterProducer``; a pending loseConnection then completes."""
        rare = self._rare
        if rare is None:
            return
        rare.producer = None
        rare.producerPaused = False
        if self.disconnecting and not self.disconnected and not rare.aborting:
            self._start_writing()

    def pauseProducing(self) -> None:
        """See ``IPushProducer.pauseProducing``: stop reading from the peer."""
        self.stopReading()

    def resumeProducing(self) -> None:
        """See ``IPushProducer.resumeProducing``: read from the peer again."""
        if self.connected and not self.disconnecting:
            self.startReading()

    def stopProducing(self) -> None:
        """See ``IProducer.stopProducing``: lose the connection."""
        self.loseConnection()

    # -- addresses and options ---------------------------------------------------

    def getHost(self) -> Any:
        """See ``ITransport.getHost``; still answers after the connection closed."""
        rare = self._more()
        if rare.host is None:
            sock = self._sock
            rare.host = address_from_sockaddr(self._kind, sock.family, sock.getsockname())
        return rare.host

    def getPeer(self) -> Any:
        """See ``ITransport.getPeer``; still answers after the connection closed."""
        peer = self._peer
        if peer is None:
            peer = self._sock.getpeername()
            self._peer = _pack_peer(peer)
        else:
            peer = _unpack_peer(peer)
        return address_from_sockaddr(self._kind, self._sock.family, peer)

    def getHandle(self) -> socket.socket:
        """The underlying ``socket.socket`` (for options reactorsock does not wrap)."""
        return self._sock

    def setTcpNoDelay(self, enabled: bool) -> None:
        """See ``ITCPTransport.setTcpNoDelay``."""
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, bool(enabled))

    def getTcpNoDelay(self) -> bool:
        """See ``ITCPTransport.getTcpNoDelay``."""
        return bool(self._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """See ``ITCPTransport.setTcpKeepAlive``."""
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, bool(enabled))

    def getTcpKeepAlive(self) -> bool:
        """See ``ITCPTransport.getTcpKeepAlive``."""
        return bool(self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))


# ---------------------------------------------------------------------------
# Listening


@implementer(IListeningPort)
class Port:
    """A listening stream socket that builds a ``Connection`` per accepted peer.

    See ``IListeningPort``.  Accepts in batches of up to ``numberAccepts``
    per readiness event.  When the process runs out of descriptors (EMFILE
    or ENFILE) it closes a reserved descriptor, accepts and drops the
    pending connections so that clients see a prompt close instead of a
    hang, reopens the reserve, and logs that once per burst rather than per
    event.  A channel passed in that already listens (an adopted socket) is
    used as it is: no bind, no ``listen``.
    """

    numberAccepts = 100
    transport = Connection
    _kind = "TCP"

    def __init__(
        self,
        reactor: Any,
        factory: Any,
        port: int = 0,
        interface: str = "",
        backlog: int = 50,
        family: int | None = None,
        channel: ServerSocketChannel | None = None,
    ) -> None:
        self.reactor = reactor
        self.factory = factory
        self.port = port
        self.interface = interface
        self.backlog = backlog
        if family is None:
            family = socket.AF_INET6 if is_ipv6_literal(interface) else socket.AF_INET
        self.family = family
        self.channel = channel
        self.connected = False
        self.disconnected = False
        self._reserve = -1
        self._emfile_logged = False
        self._accept_retry: Any = None
        self._host: Any = None

    def __repr__(self) -> str:
        state = "listening" if self.connected else "not listening"
        return f"<{type(self).__name__} of {type(self.factory).__name__} {state}>"

    def _make_channel(self) -> ServerSocketChannel:
        ch = ServerSocketChannel.open(self.family)
        try:
            ch.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            host = self.interface or ("::" if self.family == socket.AF_INET6 else "")
            ch.bind((host, self.port))
        except BaseException:
            ch.close()
            raise
        return ch

    def startListening(self) -> None:
        """See ``IListeningPort.startListening``; a stopped port may listen again.

        ``RuntimeError`` if it is listening already.
        """
        if self.connected:
            raise RuntimeError(f"{self!r} is listening already")
        try:
            if self.channel is None or self.channel.closed:
                self.channel = self._make_channel()
            sock = self.channel.socket
            if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                self.channel.listen(self.backlog)
            self._host = address_from_sockaddr(self._kind, sock.family, sock.getsockname())
        except (OSError, OverflowError) as e:
            if self.channel is not None:
                self.channel.close()
                self.channel = None
            raise error.CannotListenError(self.interface, self.port, e) from None
        self._reserve = _open_reserve()
        try:
            self.factory.doStart()
        except BaseException:
            self.channel.close()
            self.channel = None
            if self._reserve >= 0:
                os.close(self._reserve)
                self._reserve = -1
            raise
        self.disconnected = False
        self.connected = True
        self.reactor.addReader(self)

    def fileno(self) -> int:
        """See ``IFileDescriptor.fileno``."""
        ch = self.channel
        return -1 if ch is None or ch.closed else int(ch)

    def logPrefix(self) -> str:
        """The factory's class name."""
        return type(self.factory).__name__

    def doRead(self) -> None:
        """Accept up to ``numberAccepts`` pending connections."""
        accept = self.channel.accept
        build = self.factory.buildProtocol
        reactor, kind, family, transport = self.reactor, self._kind, self.family, self.transport
        for _ in range(self.numberAccepts):
            try:
                accepted = accept()
            except OSError as e:
                if e.errno in _OUT_OF_FDS:
                    self._out_of_descriptors(e)
                    return None
                if e.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue  # the peer gave up before we accepted: not an error
                raise
            if accepted is None:
                break
            self._emfile_logged = False
            channel, addr = accepted
            try:
                protocol = build(address_from_sockaddr(kind, family, addr))
            except Exception:
                log.exception("%s: unhandled error in buildProtocol", self.logPrefix())
                channel.close()
                continue
            if protocol is None:
                channel.close()
                continue
            transport(reactor, channel, addr).makeConnection(protocol)
        return None

    def _out_of_descriptors(self, exc: OSError) -> None:
        if not self._emfile_logged:
            self._emfile_logged = True
            log.error(
                "%s: out of file descriptors (%s); closing new connections until some close",
                self.logPrefix(),
                os.strerror(exc.errno),
            )
        if self._reserve < 0:
            # No spare to drain the backlog with: stop polling a socket that
            # stays readable, rather than spin, and try again shortly.
            self.reactor.removeReader(self)
            self._accept_retry = self.reactor.callLater(ACCEPT_RETRY_DELAY, self._retry_accept)
            return
        os.close(self._reserve)
        self._reserve = -1
        try:
            while True:
                accepted = self.channel.accept()
                if accepted is None:
                    break
                accepted[0].close()
        except OSError:
            pass
        finally:
            self._reserve = _open_reserve()

    def _retry_accept(self) -> None:
        self._accept_retry = None
        if self._reserve < 0:
            self._reserve = _open_reserve()
        if self.connected:
            self.reactor.addReader(self)

    def connectionLost(self, reason: Failure) -> None:
        """The reactor dropped the port (shutdown): stop listening."""
        self._close()

    def _close(self) -> None:
        if self.disconnected:
            return
        self.disconnected = True
        self.connected = False
        self.reactor.removeReader(self)
        retry, self._accept_retry = self._accept_retry, None
        if retry is not None and retry.active():
            retry.cancel()
        if self.channel is not None:
            self.channel.close()
        if self._reserve >= 0:
            os.close(self._reserve)
            self._reserve = -1
        self.factory.doStop()

    def stopListening(self) -> Deferred:
        """See ``IListeningPort.stopListening``: closes at once; the port is free on return."""
        self._close()
        return succeed(None)

    loseConnection = stopListening

    def getHost(self) -> Any:
        """See ``IListeningPort.getHost``: the real port after binding port 0."""
        if self._host is None:
            sock = self.channel.socket
            self._host = address_from_sockaddr(self._kind, sock.family, sock.getsockname())
        return self._host


def _open_reserve() -> int:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1


# The client side and adoption build on Connection and Port above, so they
# are imported last; this module is their public home.
from reactorsock._adopt import adopt_stream_connection, adopt_stream_port  # noqa: E402
from reactorsock._tcpclient import Connector  # noqa: E402
