"""Protocol and factory base classes, with Twisted's names and semantics.

Users subclass these: ``Protocol`` for a stream connection, ``Factory`` (or
``ServerFactory``/``ClientFactory``) to make one protocol per connection,
``ReconnectingClientFactory`` for clients that retry with exponential
back-off, ``DatagramProtocol`` for UDP and ``ProcessProtocol`` for child
processes.  This module holds no I/O: transports call into these classes.

Call order of a stream protocol::

    start -> makeConnection -> connectionMade -> dataReceived* -> connectionLost -> end
"""

from __future__ import annotations

import random
from typing import Any

from zope.interface import implementer

from reactorsock import error
from reactorsock.failure import Failure
from reactorsock.interfaces import IProcessProtocol, IProtocol, IProtocolFactory

__all__ = [
    "BaseProtocol",
    "Protocol",
    "Factory",
    "ServerFactory",
    "ClientFactory",
    "ReconnectingClientFactory",
    "DatagramProtocol",
    "ProcessProtocol",
    "connectionDone",
]

#: The reason handed to ``connectionLost`` for a clean close (Twisted's constant).
connectionDone = Failure(error.ConnectionDone())  # noqa: N816 - Twisted API


class BaseProtocol:
    """The part every protocol shares: a transport and a ``connected`` flag."""

    connected = 0
    transport: Any = None

    def makeConnection(self, transport: Any) -> None:
        """See ``IProtocol.makeConnection``: sets ``connected`` and ``transport``."""
        self.connected = 1
        self.transport = transport
        self.connectionMade()

    def connectionMade(self) -> None:
        """See ``IProtocol.connectionMade``; does nothing by default."""


@implementer(IProtocol)
class Protocol(BaseProtocol):
    """A stream protocol; override ``dataReceived`` and friends.

    ``factory`` is set by ``Factory.buildProtocol``.
    """

    factory: Any = None

    def logPrefix(self) -> str:
        """The class name, for log lines about this connection."""
        return self.__class__.__name__

    def dataReceived(self, data: bytes) -> None:
        """See ``IProtocol.dataReceived``; ignores data by default."""

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """See ``IProtocol.connectionLost``; does nothing by default."""


@implementer(IProtocolFactory)
class Factory:
    """Makes one ``protocol`` instance per connection.

    Ports and connectors call ``doStart``/``doStop`` around their use of the
    factory; ``startFactory`` runs on the first start and ``stopFactory`` on
    the last stop, so one factory can serve several ports.
    """

    protocol: Any = None
    numPorts = 0  # noqa: N815 - Twisted API
    noisy = True

    @classmethod
    def forProtocol(cls, protocol: Any, *args: Any, **kwargs: Any) -> Factory:
        """Build ``cls(*args, **kwargs)`` with its ``protocol`` set to protocol."""
        factory = cls(*args, **kwargs)
        factory.protocol = protocol
        return factory

    def logPrefix(self) -> str:
        """The class name, for log lines about this factory."""
        return self.__class__.__name__

    def doStart(self) -> None:
        """See ``IProtocolFactory.doStart``: counts uses, calls startFactory on the first."""
        if not self.numPorts:
            self.startFactory()
        self.numPorts += 1

    def doStop(self) -> None:
        """See ``IProtocolFactory.doStop``: calls stopFactory when the last use ends.

        An unbalanced call (more stops than starts) is ignored, as in Twisted.
        """
        if self.numPorts == 0:
            return
        self.numPorts -= 1
        if not self.numPorts:
            self.stopFactory()

    def startFactory(self) -> None:
        """Set-up hook run before the first port or connector uses the factory."""

    def stopFactory(self) -> None:
        """Tear-down hook run after the last port or connector is done with it."""

    def buildProtocol(self, addr: Any) -> Any:
        """See ``IProtocolFactory.buildProtocol``: ``self.protocol()`` with ``factory`` set.

        Returns None (the connection is refused) when ``protocol`` is None.
        """
        if self.protocol is None:
            return None
        p = self.protocol()
        p.factory = self
        return p


class ServerFactory(Factory):
    """A factory for servers; no behaviour of its own, as in Twisted."""


class ClientFactory(Factory):
    """A factory for clients, told how its connection attempts go."""

    def startedConnecting(self, connector: Any) -> None:
        """A connection attempt has started; ``connector.stopConnecting()`` abandons it."""

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        """The attempt failed; reason is a Failure of a ``ConnectError``."""

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        """An established connection ended; ``connector.connect()`` reconnects."""


class ReconnectingClientFactory(ClientFactory):
    """A client factory that reconnects after a failure or a lost connection.

    The n-th retry waits ``initialDelay * factor ** n`` seconds, capped at
    ``maxDelay``, each delay moved by a random fraction of at most ``jitter``
    so that many clients do not come back in lock step.  Call
    ``resetDelay()`` once a connection succeeds (typically in
    ``buildProtocol``), and ``stopTrying()`` to give up.  ``clock`` is the
    ``IReactorTime`` that schedules retries; it defaults to the connector's
    reactor, or to the global reactor for a connector without one.

    Unlike Twisted, whose jitter is a normal variate, the jitter here is
    uniform within ``+-jitter``, and a delay never exceeds ``maxDelay``.
    """

    maxDelay: float = 3600  # noqa: N815 - Twisted API
    initialDelay: float = 1.0  # noqa: N815 - Twisted API
    # Twisted's constants: e, and a jitter of about 12%.
    factor: float = 2.7182818284590451
    jitter: float = 0.11962656472
    delay: float = initialDelay
    retries = 0
    maxRetries: int | None = None  # noqa: N815 - Twisted API
    continueTrying = 1  # noqa: N815 - Twisted API
    connector: Any = None
    clock: Any = None
    _call_id: Any = None

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        """Schedule a retry unless ``stopTrying`` was called."""
        if self.continueTrying:
            self.connector = connector
            self.retry()

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        """Schedule a retry unless ``stopTrying`` was called."""
        if self.continueTrying:
            self.connector = connector
            self.retry()

    def retry(self, connector: Any = None) -> None:
        """Grow the delay and schedule ``connector.connect()`` after it.

        Uses the last connector seen when connector is None (``ValueError``
        if there is none).  Does nothing after ``stopTrying`` or once
        ``maxRetries`` retries have been made.
        """
        if not self.continueTrying:
            return
        if connector is None:
            if self.connector is None:
                raise ValueError("no connector to retry")
            connector = self.connector
        self.retries += 1
        if self.maxRetries is not None and self.retries > self.maxRetries:
            return
        delay = min(self.delay * self.factor, self.maxDelay)
        if self.jitter:
            delay = random.uniform(delay * (1 - self.jitter), delay * (1 + self.jitter))
            delay = min(max(delay, 0.0), self.maxDelay)
        self.delay = delay

        def reconnect() -> None:
            self._call_id = None
            # stopTrying() cancels the retry it knows of; this one may have
            # been orphaned by a second retry() while it was pending.
            if self.continueTrying:
                connector.connect()

        clock = self.clock
        if clock is None:
            # The connector's own reactor: a reactor is an object (DESIGN.md),
            # and a retry scheduled on another one would never run.
            clock = getattr(connector, "reactor", None)
        if clock is None:
            from reactorsock.reactor import get_reactor

            clock = self.clock = get_reactor()
        self._call_id = clock.callLater(delay, reconnect)

    def stopTrying(self) -> None:
        """Cancel any scheduled retry, stop connecting, and retry no more."""
        if self._call_id is not None:
            if self._call_id.active():
                self._call_id.cancel()
            self._call_id = None
        self.continueTrying = 0
        if self.connector is not None:
            try:
                self.connector.stopConnecting()
            except error.NotConnectingError:
                pass

    def resetDelay(self) -> None:
        """Start over: delay back to ``initialDelay``, retry count to 0, trying again.

        A retry already scheduled stays scheduled, and ``stopTrying`` still
        cancels it (Twisted forgets it here, so it would connect anyway).
        """
        self.delay = self.initialDelay
        self.retries = 0
        self.continueTrying = 1


class DatagramProtocol:
    """A UDP protocol; override ``datagramReceived``.

    ``startProtocol`` runs when the first port starts using the protocol and
    ``stopProtocol`` when the last one stops.  A connected UDP port also
    calls ``connectionRefused`` when the peer answered with ICMP "port
    unreachable".

    Call order: ``makeConnection -> startProtocol -> datagramReceived* ->
    stopProtocol``.
    """

    transport: Any = None
    numPorts = 0  # noqa: N815 - Twisted API
    noisy = True

    def logPrefix(self) -> str:
        """The class name, for log lines about this port."""
        return self.__class__.__name__

    def makeConnection(self, transport: Any) -> None:
        """Attach the port (an ``IUDPTransport``) and start the protocol."""
        if self.transport is not None:
            raise RuntimeError("DatagramProtocol is already attached to a transport")
        self.transport = transport
        self.doStart()

    def doStart(self) -> None:
        """Count a use; call startProtocol on the first."""
        if not self.numPorts:
            self.startProtocol()
        self.numPorts += 1

    def doStop(self) -> None:
        """Drop a use and the transport; call stopProtocol after the last."""
        if self.numPorts == 0:
            return
        self.numPorts -= 1
        self.transport = None
        if not self.numPorts:
            self.stopProtocol()

    def startProtocol(self) -> None:  # noqa: N802 - Twisted API
        """The protocol is listening; ``self.transport`` is set."""

    def stopProtocol(self) -> None:  # noqa: N802 - Twisted API
        """The protocol is no longer listening."""

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        """One datagram arrived from addr (an ``(host, port)`` tuple)."""

    def connectionRefused(self) -> None:
        """The connected peer refused a datagram (ICMP port unreachable)."""


@implementer(IProcessProtocol)
class ProcessProtocol(BaseProtocol):
    """A protocol for a child process, with per-fd hooks.

    ``childDataReceived`` dispatches fd 1 to ``outReceived`` and fd 2 to
    ``errReceived``; ``childConnectionLost`` dispatches fds 0, 1 and 2 to
    ``inConnectionLost``, ``outConnectionLost`` and ``errConnectionLost``.
    Override the ``child*`` methods to see other fds.

    Call order: ``makeConnection -> connectionMade -> childDataReceived* ->
    childConnectionLost* -> processExited -> processEnded``.
    """

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        """See ``IProcessProtocol.childDataReceived``."""
        if childFD == 1:
            self.outReceived(data)
        elif childFD == 2:
            self.errReceived(data)

    def outReceived(self, data: bytes) -> None:
        """The child wrote data to its stdout."""

    def errReceived(self, data: bytes) -> None:
        """The child wrote data to its stderr."""

    def childConnectionLost(self, childFD: int) -> None:
        """See ``IProcessProtocol.childConnectionLost``."""
        if childFD == 0:
            self.inConnectionLost()
        elif childFD == 1:
            self.outConnectionLost()
        elif childFD == 2:
            self.errConnectionLost()

    def inConnectionLost(self) -> None:
        """The child's stdin is closed."""

    def outConnectionLost(self) -> None:
        """The child closed its stdout."""

    def errConnectionLost(self) -> None:
        """The child closed its stderr."""

    def processExited(self, reason: Failure) -> None:
        """See ``IProcessProtocol.processExited``."""

    def processEnded(self, reason: Failure) -> None:
        """See ``IProcessProtocol.processEnded``."""
