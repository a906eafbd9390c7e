"""Fakes for testing protocols and factories without sockets or a running loop.

- ``StringTransport``: a transport that records what is written.
- ``StringTransportWithDisconnection``: one that also calls ``connectionLost``.
- ``MemoryReactor``/``MemoryReactorClock``: reactors that record
  ``listenTCP``/``connectTCP``/... calls instead of doing them.
- ``FakeTransport``, ``IOPump``, ``connect_pair`` and
  ``connectedServerAndClient``: a client and a server protocol wired to each
  other in memory, with bytes moved by explicit ``pump()``/``flush()`` calls
  (Twisted's ``iosim``; they live in ``_iosim``, re-exported here).

Nothing here touches the network or real time; combine with
:class:`reactorsock.task.Clock` for timing.
"""

from __future__ import annotations

import ipaddress
from io import BytesIO
from typing import Any

from zope.interface import implementer

from reactorsock import error
from reactorsock._iosim import (
    FakeTransport,
    IOPump,
    RecordedAddressesAndOptions,
    connect_pair,
    connectedServerAndClient,
)
from reactorsock.address import IPv4Address, IPv6Address, UNIXAddress
from reactorsock.defer import fail, succeed
from reactorsock.failure import Failure
from reactorsock.interfaces import (
    IConnector,
    IConsumer,
    IListeningPort,
    IPushProducer,
    IReactorCore,
    IReactorFDSet,
    IReactorSocket,
    IReactorSSL,
    IReactorTCP,
    IReactorTime,
    IReactorUDP,
    IReactorUNIX,
    ITCPTransport,
)
from reactorsock.task import Clock

__all__ = [
    "StringTransport",
    "StringTransportWithDisconnection",
    "FakePort",
    "FakeConnector",
    "MemoryReactor",
    "MemoryReactorClock",
    "FakeTransport",
    "IOPump",
    "connect_pair",
    "connectedServerAndClient",
]


# --------------------------------------------------------------------------
# StringTransport


@implementer(ITCPTransport, IConsumer, IPushProducer)
class StringTransport(RecordedAddressesAndOptions):
    """A TCP transport that keeps what is written in ``io`` (a ``BytesIO``).

    ``value()`` returns everything written since the last ``clear()``.
    ``loseConnection`` and ``abortConnection`` only set ``disconnecting``
    (and ``aborted``); ``loseWriteConnection`` sets ``writeDisconnecting``.
    As a push producer (the reading side of the connection) it records
    ``producerState``: ``"producing"``, ``"paused"`` or ``"stopped"``.
    ``getHost()``/``getPeer()`` return ``hostAddress`` (default TCP
    10.0.0.1:12345) and ``peerAddress`` (default TCP 10.0.0.2:54321); TCP
    options are recorded in ``tcpNoDelay``/``tcpKeepAlive``, never applied.
    """

    def __init__(self, hostAddress: Any = None, peerAddress: Any = None) -> None:
        self.clear()
        self.hostAddress = hostAddress or IPv4Address("TCP", "10.0.0.1", 12345)
        self.peerAddress = peerAddress or IPv4Address("TCP", "10.0.0.2", 54321)
        self.connected = True
        self.disconnecting = False
        self.aborted = False
        self.writeDisconnecting = False
        self.producer: Any = None
        self.streaming: bool | None = None
        self.producerState = "producing"
        self.tcpNoDelay = False
        self.tcpKeepAlive = False

    def clear(self) -> None:
        """Forget what was written so far."""
        self.io = BytesIO()

    def value(self) -> bytes:
        """Everything written since the last ``clear()``."""
        return self.io.getvalue()

    def write(self, data: bytes) -> None:
        """See ``ITransport.write``; ``TypeError`` for ``str``."""
        if isinstance(data, str):
            raise TypeError("write() takes bytes, not str")
        self.io.write(data)

    def writeSequence(self, data: Any) -> None:
        """See ``ITransport.writeSequence``."""
        for chunk in data:
            self.write(chunk)

    def loseConnection(self) -> None:
        """See ``ITransport.loseConnection``; sets ``disconnecting``."""
        self.disconnecting = True

    def abortConnection(self) -> None:
        """See ``ITCPTransport.abortConnection``; sets ``disconnecting`` and ``aborted``."""
        self.aborted = True
        self.loseConnection()

    def loseWriteConnection(self) -> None:
        """See ``ITCPTransport.loseWriteConnection``; sets ``writeDisconnecting``."""
        self.writeDisconnecting = True

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """See ``IConsumer.registerProducer``; records ``producer`` and ``streaming``."""
        if self.producer is not None:
            raise RuntimeError("a producer is already registered")
        self.producer = producer
        self.streaming = streaming

    def unregisterProducer(self) -> None:
        """See ``IConsumer.unregisterProducer``; ``RuntimeError`` if none is registered."""
        if self.producer is None:
            raise RuntimeError("no producer is registered")
        self.producer = None
        self.streaming = None

    def _check_state(self) -> None:
        if self.disconnecting:
            raise RuntimeError("cannot pause or resume producing after loseConnection")
        if self.producerState == "stopped":
            raise RuntimeError("cannot pause or resume a stopped producer")

    def pauseProducing(self) -> None:
        """See ``IPushProducer.pauseProducing``; ``producerState`` becomes "paused"."""
        self._check_state()
        self.producerState = "paused"

    def resumeProducing(self) -> None:
        """See ``IPushProducer.resumeProducing``; ``producerState`` becomes "producing"."""
        self._check_state()
        self.producerState = "producing"

    def stopProducing(self) -> None:
        """See ``IProducer.stopProducing``; ``producerState`` becomes "stopped"."""
        self.producerState = "stopped"


class StringTransportWithDisconnection(StringTransport):
    """A ``StringTransport`` whose close reaches the protocol.

    Set ``protocol``; the first ``loseConnection`` then calls
    ``protocol.connectionLost`` with ``ConnectionDone`` (``abortConnection``:
    ``ConnectionAborted``), and later calls do nothing.
    """

    protocol: Any = None

    def loseConnection(self) -> None:
        """Close, and tell the protocol once."""
        self._close(error.ConnectionDone())

    def abortConnection(self) -> None:
        """Close at once, and tell the protocol once."""
        self.aborted = True
        self._close(error.ConnectionAborted())

    def _close(self, reason: BaseException) -> None:
        self.disconnecting = True
        if self.connected:
            self.connected = False
            self.protocol.connectionLost(Failure(reason))


# --------------------------------------------------------------------------
# MemoryReactor


def _ip_address(kind: str, host: str, port: int) -> IPv4Address | IPv6Address:
    if ":" in host:
        return IPv6Address(kind, host, port)  # type: ignore[arg-type]
    return IPv4Address(kind, host or "0.0.0.0", port)  # type: ignore[arg-type]


@implementer(IListeningPort)
class FakePort:
    """The listening port a ``MemoryReactor`` returns; ``listening`` tells its state."""

    def __init__(self, address: Any) -> None:
        self._address = address
        self.listening = True

    def startListening(self) -> None:
        """See ``IListeningPort.startListening``."""
        self.listening = True

    def stopListening(self) -> Any:
        """See ``IListeningPort.stopListening``; returns a fired Deferred."""
        self.listening = False
        return succeed(None)

    def getHost(self) -> Any:
        """See ``IListeningPort.getHost``."""
        return self._address


@implementer(IConnector)
class FakeConnector:
    """The connector a ``MemoryReactor`` returns.

    Records ``connectCount`` (calls to ``connect``), ``stoppedConnecting``
    and ``disconnected``; it never connects anything.
    """

    def __init__(self, address: Any) -> None:
        self._address = address
        self.connectCount = 0
        self.stoppedConnecting = False
        self.disconnected = False

    def getDestination(self) -> Any:
        """See ``IConnector.getDestination``."""
        return self._address

    def connect(self) -> None:
        """See ``IConnector.connect``; counts the call."""
        self.connectCount += 1

    def stopConnecting(self) -> None:
        """See ``IConnector.stopConnecting``; sets ``stoppedConnecting``."""
        self.stoppedConnecting = True

    def disconnect(self) -> None:
        """See ``IConnector.disconnect``; sets ``disconnected``."""
        self.disconnected = True


@implementer(
    IReactorCore,
    IReactorTCP,
    IReactorUDP,
    IReactorUNIX,
    IReactorSSL,
    IReactorSocket,
    IReactorFDSet,
)
class MemoryReactor:
    """A reactor that records what it is asked to do and does none of it.

    Each ``listen*``/``connect*``/``adopt*`` call appends its arguments as a
    tuple to a list named after it (``tcpServers``, ``tcpClients``,
    ``udpServers``, ``unixServers``, ``unixClients``, ``sslServers``,
    ``sslClients``, ``adoptedPorts``, ``adoptedStreamConnections``,
    ``adoptedDatagramPorts``), in the argument order of the method, and
    returns a ``FakePort`` or ``FakeConnector`` (also kept in
    ``connectors``).  ``connect*`` calls ``factory.startedConnecting``.
    ``run()`` runs the ``callWhenRunning`` calls and stops at once; system
    event triggers are kept in ``triggers[phase][eventType]`` and run only by
    ``fireSystemEvent``.
    """

    def __init__(self) -> None:
        self.running = False
        self.hasRun = False
        self.hasStopped = False
        self.hasCrashed = False
        self.triggers: dict[str, dict[str, list[tuple[Any, tuple, dict]]]] = {}
        self.whenRunningHooks: list[tuple[Any, tuple, dict]] = []
        self.tcpServers: list[tuple] = []
        self.tcpClients: list[tuple] = []
        self.udpServers: list[tuple] = []
        self.unixServers: list[tuple] = []
        self.unixClients: list[tuple] = []
        self.sslServers: list[tuple] = []
        self.sslClients: list[tuple] = []
        self.adoptedPorts: list[tuple] = []
        self.adoptedStreamConnections: list[tuple] = []
        self.adoptedDatagramPorts: list[tuple] = []
        self.connectors: list[FakeConnector] = []
        self.readers: set[Any] = set()
        self.writers: set[Any] = set()

    # IReactorCore

    def resolve(self, name: str, timeout: float = 10) -> Any:
        """See ``IReactorCore.resolve``: IP literals resolve to themselves; names fail."""
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return fail(error.DNSLookupError(None, name))
        return succeed(name)

    def run(self, installSignalHandlers: bool = True) -> None:
        """Set ``running`` and ``hasRun``, run the ``callWhenRunning`` calls, then stop."""
        if self.running:
            raise error.ReactorAlreadyRunning("the reactor is already running")
        self.running = True
        self.hasRun = True
        hooks, self.whenRunningHooks = self.whenRunningHooks, []
        for f, args, kwargs in hooks:
            f(*args, **kwargs)
        if self.running:
            self.stop()

    def stop(self) -> None:
        """Clear ``running``, set ``hasStopped``; ``ReactorNotRunning`` if not running."""
        if not self.running:
            raise error.ReactorNotRunning("the reactor is not running")
        self.running = False
        self.hasStopped = True

    def crash(self) -> None:
        """Clear ``running``, set ``hasCrashed``."""
        self.running = False
        self.hasCrashed = True

    def iterate(self, delay: float = 0) -> None:
        """Does nothing: there is no I/O to wait for."""

    def fireSystemEvent(self, eventType: str) -> None:
        """Run the recorded before/during/after triggers of eventType, in order."""
        for phase in ("before", "during", "after"):
            for f, args, kwargs in list(self.triggers.get(phase, {}).get(eventType, [])):
                f(*args, **kwargs)

    def addSystemEventTrigger(
        self, phase: str, eventType: str, callable: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """Record the trigger in ``triggers[phase][eventType]``; return its handle."""
        entry = (callable, args, kwargs)
        self.triggers.setdefault(phase, {}).setdefault(eventType, []).append(entry)
        return (phase, eventType, entry)

    def removeSystemEventTrigger(self, triggerID: Any) -> None:
        """Forget a trigger; ``ValueError`` if it is unknown."""
        try:
            phase, event_type, entry = triggerID
            self.triggers[phase][event_type].remove(entry)
        except (TypeError, ValueError, KeyError):
            raise ValueError(f"unknown trigger {triggerID!r}") from None

    def callWhenRunning(self, callable: Any, *args: Any, **kwargs: Any) -> Any:
        """Call now if running, else record in ``whenRunningHooks`` for ``run()``."""
        if self.running:
            callable(*args, **kwargs)
            return None
        entry = (callable, args, kwargs)
        self.whenRunningHooks.append(entry)
        return entry

    # IReactorTCP, IReactorSSL, IReactorUNIX, IReactorUDP

    def _connector(self, address: Any, factory: Any) -> FakeConnector:
        connector = FakeConnector(address)
        factory.startedConnecting(connector)
        self.connectors.append(connector)
        return connector

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        """Record ``(port, factory, backlog, interface)`` in ``tcpServers``."""
        self.tcpServers.append((port, factory, backlog, interface))
        return FakePort(_ip_address("TCP", interface, port))

    def connectTCP(
        self, host: str, port: int, factory: Any, timeout: float = 30, bindAddress: Any = None
    ) -> Any:
        """Record ``(host, port, factory, timeout, bindAddress)`` in ``tcpClients``."""
        self.tcpClients.append((host, port, factory, timeout, bindAddress))
        return self._connector(_ip_address("TCP", host, port), factory)

    def listenSSL(
        self, port: int, factory: Any, contextFactory: Any, backlog: int = 50, interface: str = ""
    ) -> Any:
        """Record ``(port, factory, contextFactory, backlog, interface)`` in ``sslServers``."""
        self.sslServers.append((port, factory, contextFactory, backlog, interface))
        return FakePort(_ip_address("TCP", interface, port))

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: Any = None,
    ) -> Any:
        """Record the arguments, in order, in ``sslClients``."""
        self.sslClients.append((host, port, factory, contextFactory, timeout, bindAddress))
        return self._connector(_ip_address("TCP", host, port), factory)

    def listenUNIX(
        self,
        address: Any,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> Any:
        """Record ``(address, factory, backlog, mode, wantPID)`` in ``unixServers``."""
        self.unixServers.append((address, factory, backlog, mode, wantPID))
        return FakePort(UNIXAddress(address))

    def connectUNIX(
        self, address: Any, factory: Any, timeout: float = 30, checkPID: bool = False
    ) -> Any:
        """Record ``(address, factory, timeout, checkPID)`` in ``unixClients``."""
        self.unixClients.append((address, factory, timeout, checkPID))
        return self._connector(UNIXAddress(address), factory)

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Any:
        """Record ``(port, protocol, interface, maxPacketSize)`` in ``udpServers``."""
        self.udpServers.append((port, protocol, interface, maxPacketSize))
        return FakePort(_ip_address("UDP", interface, port))

    # IReactorSocket

    def adoptStreamPort(self, fileDescriptor: Any, addressFamily: int, factory: Any) -> Any:
        """Record ``(fileDescriptor, addressFamily, factory)`` in ``adoptedPorts``."""
        self.adoptedPorts.append((fileDescriptor, addressFamily, factory))
        return FakePort(IPv4Address("TCP", "0.0.0.0", 1234))

    def adoptStreamConnection(self, fileDescriptor: Any, addressFamily: int, factory: Any) -> None:
        """Record ``(fileDescriptor, addressFamily, factory)`` in ``adoptedStreamConnections``."""
        self.adoptedStreamConnections.append((fileDescriptor, addressFamily, factory))

    def adoptDatagramPort(
        self, fileDescriptor: Any, addressFamily: int, protocol: Any, maxPacketSize: int = 8192
    ) -> Any:
        """Record the arguments, in order, in ``adoptedDatagramPorts``."""
        self.adoptedDatagramPorts.append((fileDescriptor, addressFamily, protocol, maxPacketSize))
        return FakePort(IPv4Address("UDP", "0.0.0.0", 2345))

    # IReactorFDSet

    def addReader(self, reader: Any) -> None:
        """See ``IReactorFDSet.addReader``; kept in ``readers``."""
        self.readers.add(reader)

    def addWriter(self, writer: Any) -> None:
        """See ``IReactorFDSet.addWriter``; kept in ``writers``."""
        self.writers.add(writer)

    def removeReader(self, reader: Any) -> None:
        """See ``IReactorFDSet.removeReader``."""
        self.readers.discard(reader)

    def removeWriter(self, writer: Any) -> None:
        """See ``IReactorFDSet.removeWriter``."""
        self.writers.discard(writer)

    def removeAll(self) -> list[Any]:
        """See ``IReactorFDSet.removeAll``."""
        removed = list(self.readers | self.writers)
        self.readers.clear()
        self.writers.clear()
        return removed

    def getReaders(self) -> list[Any]:
        """See ``IReactorFDSet.getReaders``."""
        return list(self.readers)

    def getWriters(self) -> list[Any]:
        """See ``IReactorFDSet.getWriters``."""
        return list(self.writers)


@implementer(IReactorTime)
class MemoryReactorClock(MemoryReactor):
    """A ``MemoryReactor`` that is also an ``IReactorTime``, driven by its ``clock``.

    ``callLater``, ``seconds``, ``getDelayedCalls``, ``advance`` and ``pump``
    are those of ``clock``, a :class:`reactorsock.task.Clock`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()

    def seconds(self) -> float:
        """See ``IReactorTime.seconds``."""
        return self.clock.seconds()

    def callLater(self, delay: float, callable: Any, *args: Any, **kwargs: Any) -> Any:
        """See ``IReactorTime.callLater``."""
        return self.clock.callLater(delay, callable, *args, **kwargs)

    def getDelayedCalls(self) -> list[Any]:
        """See ``IReactorTime.getDelayedCalls``."""
        return self.clock.getDelayedCalls()

    def advance(self, amount: float) -> None:
        """Move the clock forward and run what is due (``Clock.advance``)."""
        self.clock.advance(amount)

    def pump(self, timings: Any) -> None:
        """Advance by each amount in turn (``Clock.pump``)."""
        self.clock.pump(timings)
