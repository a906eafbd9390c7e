"""A connected pair in memory: ``FakeTransport``, ``IOPump`` and ``connectedServerAndClient``.

A client and a server protocol are wired to each other with one
``FakeTransport`` each; bytes and closes move only when the test calls
``pump()``/``flush()`` (Twisted's ``iosim``).  Nothing here touches the
network or real time.  It is not the single-ended recording transport
(``testing.StringTransport``) nor a fake reactor (``testing.MemoryReactor``);
``testing.py`` is the public home and re-exports this module.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from reactorsock import error
from reactorsock.address import IPv4Address
from reactorsock.failure import Failure
from reactorsock.interfaces import IConsumer, IHalfCloseableProtocol, IPushProducer, ITCPTransport

__all__ = ["FakeTransport", "IOPump", "connect_pair", "connectedServerAndClient"]


_SERVER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 8080)
_serials = itertools.count(1)


class RecordedAddressesAndOptions:
    """Addresses and TCP options of a fake transport: given, or recorded, never applied.

    The one base of ``FakeTransport`` and ``testing.StringTransport``; the
    subclass sets ``hostAddress``, ``peerAddress``, ``tcpNoDelay`` and
    ``tcpKeepAlive`` in its ``__init__``.
    """

    def getPeer(self) -> Any:
        """See ``ITransport.getPeer``: ``peerAddress``."""
        return self.peerAddress

    def getHost(self) -> Any:
        """See ``ITransport.getHost``: ``hostAddress``."""
        return self.hostAddress

    def getTcpNoDelay(self) -> bool:
        """See ``ITCPTransport.getTcpNoDelay``; the recorded ``tcpNoDelay``."""
        return self.tcpNoDelay

    def setTcpNoDelay(self, enabled: bool) -> None:
        """See ``ITCPTransport.setTcpNoDelay``; records ``tcpNoDelay``."""
        self.tcpNoDelay = bool(enabled)

    def getTcpKeepAlive(self) -> bool:
        """See ``ITCPTransport.getTcpKeepAlive``; the recorded ``tcpKeepAlive``."""
        return self.tcpKeepAlive

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """See ``ITCPTransport.setTcpKeepAlive``; records ``tcpKeepAlive``."""
        self.tcpKeepAlive = bool(enabled)


@implementer(ITCPTransport, IConsumer, IPushProducer)
class FakeTransport(RecordedAddressesAndOptions):
    """One end of an in-memory connection; an ``IOPump`` moves its bytes.

    ``write`` queues bytes until the pump delivers them to the peer's
    protocol.  ``loseConnection`` closes once the queue is empty,
    ``abortConnection`` closes dropping it, and ``loseWriteConnection``
    half-closes (the peer's ``readConnectionLost``, or a full close if the
    peer's protocol is not ``IHalfCloseableProtocol``).  As a push producer
    it pauses delivery *to* its own protocol: bytes, and the end of the
    stream too, as for a real reader that stopped reading.
    """

    def __init__(
        self, protocol: Any, isServer: bool, hostAddress: Any = None, peerAddress: Any = None
    ) -> None:
        self.protocol = protocol
        self.isServer = isServer
        self.serial = next(_serials)
        client_address = IPv4Address("TCP", "127.0.0.1", 50000 + self.serial % 10000)
        if isServer:
            self.hostAddress = hostAddress or _SERVER_ADDRESS
            self.peerAddress = peerAddress or client_address
        else:
            self.hostAddress = hostAddress or client_address
            self.peerAddress = peerAddress or _SERVER_ADDRESS
        self.connected = True
        self.disconnecting = False
        self.disconnected = False
        self.aborted = False
        self.writeDisconnecting = False
        self.paused = False
        self.producer: Any = None
        self.streaming: bool | None = None
        self.tcpNoDelay = False
        self.tcpKeepAlive = False
        self._out: list[bytes] = []
        self._write_shut = False
        self._read_shut = False
        self._held_eof: list[Callable[[], None]] = []  # for when resumeProducing comes

    def __repr__(self) -> str:
        side = "server" if self.isServer else "client"
        return f"<FakeTransport #{self.serial} {side} of {self.protocol!r}>"

    def logPrefix(self) -> str:
        """A short name for log lines."""
        return f"FakeTransport#{self.serial}"

    def write(self, data: bytes) -> None:
        """See ``ITransport.write``; dropped after the write side is shut."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        if self.disconnected or self._write_shut or self.aborted:
            return
        if data:
            self._out.append(bytes(data))

    def writeSequence(self, data: Any) -> None:
        """See ``ITransport.writeSequence``."""
        for chunk in data:
            self.write(chunk)

    def loseConnection(self) -> None:
        """See ``ITransport.loseConnection``: close once the queued bytes are delivered."""
        self.disconnecting = True

    def abortConnection(self) -> None:
        """See ``ITCPTransport.abortConnection``: drop queued bytes and close."""
        self.aborted = True
        self.disconnecting = True
        self._out.clear()

    def loseWriteConnection(self) -> None:
        """See ``ITCPTransport.loseWriteConnection``: half-close once the queue drains."""
        self.writeDisconnecting = True

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """See ``IConsumer.registerProducer``; a pull producer is resumed on each pump."""
        if self.producer is not None:
            raise RuntimeError("a producer is already registered")
        self.producer = producer
        self.streaming = streaming
        if not streaming:
            producer.resumeProducing()

    def unregisterProducer(self) -> None:
        """See ``IConsumer.unregisterProducer``."""
        self.producer = None
        self.streaming = None

    def pauseProducing(self) -> None:
        """Stop delivering bytes to this side's protocol."""
        self.paused = True

    def resumeProducing(self) -> None:
        """Deliver bytes to this side's protocol again."""
        self.paused = False

    def stopProducing(self) -> None:
        """See ``IProducer.stopProducing``: close the connection."""
        self.loseConnection()

    # Used by IOPump.

    def _take_output(self) -> bytes:
        out = self._out
        if not out:
            return b""
        data = b"".join(out)
        out.clear()
        return data

    def _connection_lost(self, reason: BaseException) -> None:
        if self.disconnected and not self.connected:
            return
        self._held_eof.clear()
        self.connected = False
        self.disconnected = True
        self.disconnecting = True
        producer = self.producer
        if producer is not None:
            self.unregisterProducer()
            producer.stopProducing()
        self.protocol.connectionLost(Failure(reason))


class IOPump:
    """Moves bytes between the two ``FakeTransport`` ends of a connection.

    ``pump()`` does one round: it delivers each side's queued bytes to the
    other side's protocol, or, when no bytes were queued, carries out one
    pending close.  ``flush()`` pumps until nothing is left to do.  When one
    side closes, both protocols get ``connectionLost``: the closing side
    first, with ``ConnectionDone`` (``ConnectionAborted`` after
    ``abortConnection``), then its peer, with ``ConnectionDone``
    (``ConnectionLost`` after an abort).  A side that is paused
    (``pauseProducing`` on its transport) sees the end of the stream, like
    the bytes before it, only in a round after it resumes; if the other side
    closed, that side got its ``connectionLost`` already, and if it
    half-closed, the connection stays open until then.  With a ``clock``,
    each round first runs the calls it has due (``clock.advance(0)``).
    """

    def __init__(
        self,
        client: Any,
        server: Any,
        clientIO: FakeTransport,
        serverIO: FakeTransport,
        clock=None,
    ) -> None:
        self.client = client
        self.server = server
        self.clientIO = clientIO
        self.serverIO = serverIO
        self.clock = clock

    def flush(self, max_rounds: int = 1000) -> bool:
        """Pump until quiet; return whether anything happened.

        ``RuntimeError`` if still busy after max_rounds rounds (a ping-pong
        that never ends, or a pull producer that never stops).
        """
        result = False
        for _ in range(max_rounds):
            if not self.pump():
                return result
            result = True
        raise RuntimeError(f"IOPump still busy after {max_rounds} rounds")

    def pump(self) -> bool:
        """Do one round; return whether anything happened."""
        if self.clock is not None:
            self.clock.advance(0)
        client_io, server_io = self.clientIO, self.serverIO
        for io in (client_io, server_io):
            if io.producer is not None and not io.streaming and not io.disconnected:
                io.producer.resumeProducing()
        moved = False
        for src, dst in ((client_io, server_io), (server_io, client_io)):
            if not src._out:
                continue
            if dst.disconnected or dst._read_shut:
                src._out.clear()  # nobody is reading: the bytes are lost
                continue
            if dst.paused:
                continue
            dst.protocol.dataReceived(src._take_output())
            moved = True
        if moved:
            return True
        for io, peer in ((client_io, server_io), (server_io, client_io)):
            if io._held_eof and not io.paused and not io.disconnected:
                io._held_eof.pop(0)()  # the end of the stream it stopped reading before
                return True
            if io.disconnected or io._out:
                continue
            if io.disconnecting:
                self._close(io, peer)
                return True
            if io.writeDisconnecting and not io._write_shut:
                self._half_close(io, peer)
                return True
        return False

    @staticmethod
    def _close(io: FakeTransport, peer: FakeTransport) -> None:
        mine: BaseException
        theirs: BaseException
        if io.aborted:
            mine, theirs = error.ConnectionAborted(), error.ConnectionLost()
        elif peer.aborted:
            mine, theirs = error.ConnectionLost(), error.ConnectionAborted()
        else:
            mine, theirs = error.ConnectionDone(), error.ConnectionDone()
        if peer.disconnected:
            # It closed earlier, while this side was paused (the held end of
            # the stream is superseded: this side stopped reading for good).
            io._connection_lost(mine)
            return
        if peer.paused:
            peer._read_shut = True
            io._connection_lost(mine)
            peer._held_eof.append(functools.partial(peer._connection_lost, theirs))
            return
        peer.disconnected = True  # so nothing more reaches the peer meanwhile
        io._connection_lost(mine)
        peer._connection_lost(theirs)

    @staticmethod
    def _half_close(io: FakeTransport, peer: FakeTransport) -> None:
        io._write_shut = True
        peer._read_shut = True
        if IHalfCloseableProtocol.providedBy(io.protocol):
            io.protocol.writeConnectionLost()
        if peer.disconnected:
            return  # it closed while this side was paused: nobody reads
        if peer.paused:
            peer._held_eof.append(functools.partial(IOPump._read_eof, io, peer))
        else:
            IOPump._read_eof(io, peer)

    @staticmethod
    def _read_eof(io: FakeTransport, peer: FakeTransport) -> None:
        # peer reads the end of what io sends.
        if IHalfCloseableProtocol.providedBy(peer.protocol):
            peer.protocol.readConnectionLost()
            if peer._write_shut:
                # Both directions are shut: the connection is over.
                io.disconnecting = True
        else:
            # TCP without half-close support: end of input closes the connection.
            peer.disconnecting = True


def connect_pair(
    serverProtocol: Any, clientProtocol: Any, greet: bool = True, clock: Any = None
) -> IOPump:
    """Connect two protocol instances in memory; return the pump.

    The server's ``makeConnection`` runs first, then the client's; with greet,
    the pump is flushed once so greetings sent in ``connectionMade`` arrive.
    """
    server_io = FakeTransport(serverProtocol, isServer=True)
    client_io = FakeTransport(clientProtocol, isServer=False)
    server_io.peerAddress = client_io.hostAddress
    serverProtocol.makeConnection(server_io)
    clientProtocol.makeConnection(client_io)
    pump = IOPump(clientProtocol, serverProtocol, client_io, server_io, clock=clock)
    if greet:
        pump.flush()
    return pump


def connectedServerAndClient(  # noqa: N802 - Twisted API
    ServerClass: Any, ClientClass: Any, greet: bool = True, clock: Any = None
) -> tuple[Any, Any, IOPump]:
    """Build a server and a client protocol, connect them in memory.

    Returns ``(client, server, pump)``, as Twisted's ``iosim`` does.
    """
    client = ClientClass()
    server = ServerClass()
    return client, server, connect_pair(server, client, greet=greet, clock=clock)
