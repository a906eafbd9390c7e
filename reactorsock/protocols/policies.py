"""Connection policies: idle timeouts and a limit on concurrent connections.

``TimeoutMixin`` closes a protocol's connection after a period without
activity; ``ConnectionLimitFactory`` wraps a server factory and refuses
connections beyond a maximum.  Neither does I/O of its own.
"""

from __future__ import annotations

from typing import Any

from zope.interface import alsoProvides, implementer

from reactorsock import error
from reactorsock.interfaces import IHalfCloseableProtocol, IProtocol, IProtocolFactory

__all__ = ["TimeoutMixin", "ConnectionLimitFactory"]


class TimeoutMixin:
    """Calls ``timeoutConnection`` after ``timeOut`` seconds without ``resetTimeout``.

    Mix into a ``Protocol``: call ``setTimeout(seconds)`` (typically in
    ``connectionMade``), ``resetTimeout()`` on activity (typically at the top
    of ``dataReceived``), and ``setTimeout(None)`` in ``connectionLost`` so
    the timer does not outlive the connection.  ``callLater`` schedules the
    timer on the transport's reactor; assign ``proto.callLater = clock.callLater``
    to drive it from a ``task.Clock`` in tests.
    """

    timeOut: float | None = None  # noqa: N815 - Twisted API
    _timeout_call: Any = None

    def callLater(self, period: float, func: Any) -> Any:
        """Schedule func after period seconds on the transport's reactor.

        That is the reactor the connection runs on (``transport.reactor``);
        without one (e.g. a ``StringTransport``), ``get_reactor()``'s.
        """
        reactor = getattr(getattr(self, "transport", None), "reactor", None)
        if reactor is None:
            from reactorsock.reactor import get_reactor

            reactor = get_reactor()
        return reactor.callLater(period, func)

    def resetTimeout(self) -> None:
        """Restart the countdown, if a timeout is set."""
        call = self._timeout_call
        if call is not None and self.timeOut is not None:
            call.reset(self.timeOut)

    def setTimeout(self, period: float | None) -> float | None:
        """Set the timeout to period seconds from now (None disables it); return the old one."""
        prev = self.timeOut
        self.timeOut = period
        call = self._timeout_call
        if call is not None:
            if period is None:
                try:
                    call.cancel()
                except (error.AlreadyCalled, error.AlreadyCancelled):
                    pass
                self._timeout_call = None
            else:
                call.reset(period)
        elif period is not None:
            self._timeout_call = self.callLater(period, self._timed_out)
        return prev

    def _timed_out(self) -> None:
        self._timeout_call = None
        self.timeoutConnection()

    def timeoutConnection(self) -> None:
        """The timeout expired; closes the transport by default (``loseConnection``)."""
        self.transport.loseConnection()  # type: ignore[attr-defined]


@implementer(IProtocol)
class _CountedProtocol:
    """The protocol that ``ConnectionLimitFactory`` hands to the transport.

    It passes the real transport to the wrapped protocol, so the wrapped
    protocol sees no difference, and only intercepts ``connectionLost`` to
    release its slot.  The hot path is not wrapped: ``dataReceived`` (and the
    half-close hooks) are the wrapped protocol's own bound methods, stored on
    the instance, so each event costs no extra call.
    """

    def __init__(self, limiter: ConnectionLimitFactory, wrapped: Any) -> None:
        self._limiter = limiter
        self.wrappedProtocol = wrapped
        self.transport: Any = None
        self.dataReceived = wrapped.dataReceived
        if IHalfCloseableProtocol.providedBy(wrapped):
            self.readConnectionLost = wrapped.readConnectionLost
            self.writeConnectionLost = wrapped.writeConnectionLost
            alsoProvides(self, IHalfCloseableProtocol)

    def __getattr__(self, name: str) -> Any:
        # Anything else (logPrefix, attributes a transport probes) comes
        # from the wrapped protocol.
        if name == "wrappedProtocol":  # not set yet: avoid endless recursion
            raise AttributeError(name)
        return getattr(self.wrappedProtocol, name)

    def makeConnection(self, transport: Any) -> None:
        """See ``IProtocol.makeConnection``; the wrapped protocol gets the transport."""
        self.transport = transport
        self.wrappedProtocol.makeConnection(transport)

    def connectionMade(self) -> None:
        """See ``IProtocol.connectionMade``; unused, makeConnection forwards instead."""

    def dataReceived(self, data: bytes) -> None:  # replaced per instance in __init__
        """See ``IProtocol.dataReceived``."""
        self.wrappedProtocol.dataReceived(data)

    def connectionLost(self, reason: Any) -> None:
        """See ``IProtocol.connectionLost``: frees the slot, then tells the wrapped protocol."""
        limiter, self._limiter = self._limiter, None
        if limiter is not None:
            limiter.connectionCount -= 1
        self.wrappedProtocol.connectionLost(reason)


@implementer(IProtocolFactory)
class ConnectionLimitFactory:
    """Wraps a server factory and allows at most ``maxConnections`` at a time.

    Beyond the limit ``buildProtocol`` returns None, so the transport closes
    the new connection at once, and ``refusedCount`` grows; a connection
    frees its slot when it is lost.  ``connectionCount`` is the number of
    open connections.  Compare Twisted's ``LimitTotalConnectionsFactory``,
    which subclasses instead of wrapping.
    """

    def __init__(self, wrappedFactory: Any, maxConnections: int) -> None:
        if maxConnections < 0:
            raise ValueError(f"maxConnections must be >= 0, not {maxConnections!r}")
        self.wrappedFactory = wrappedFactory
        self.maxConnections = maxConnections
        self.connectionCount = 0
        self.refusedCount = 0

    def logPrefix(self) -> str:
        """The wrapped factory's log prefix."""
        log_prefix = getattr(self.wrappedFactory, "logPrefix", None)
        return log_prefix() if log_prefix is not None else self.__class__.__name__

    def doStart(self) -> None:
        """See ``IProtocolFactory.doStart``; forwarded to the wrapped factory."""
        self.wrappedFactory.doStart()

    def doStop(self) -> None:
        """See ``IProtocolFactory.doStop``; forwarded to the wrapped factory."""
        self.wrappedFactory.doStop()

    def buildProtocol(self, addr: Any) -> Any:
        """See ``IProtocolFactory.buildProtocol``; None when the limit is reached."""
        if self.connectionCount >= self.maxConnections:
            self.refusedCount += 1
            return None
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        self.connectionCount += 1
        return _CountedProtocol(self, wrapped)
