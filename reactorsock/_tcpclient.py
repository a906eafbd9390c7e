"""TCP client side: ``Connector``, one outgoing connection attempt and its connection.

A ``Connector`` resolves the host name (in the reactor's thread pool;
literal addresses connect at once), tries each address in ``getaddrinfo``
order until one connects, then builds a ``tcp.Connection`` and hands it
the factory's protocol.  ``unix.UNIXConnector`` subclasses it.  It is not
the transport (``tcp.Connection``) nor the listening side (``tcp.Port``).

Public home: ``reactorsock.tcp``, which imports this module once
``Connection`` is defined; import ``Connector`` from there.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from zope.interface import implementer

from reactorsock import error
from reactorsock.address import IPv4Address, IPv6Address
from reactorsock.channel import SocketChannel
from reactorsock.defer import Deferred
from reactorsock.failure import Failure
from reactorsock.interfaces import IConnector
from reactorsock.tcp import Connection, is_ip_literal, is_ipv6_literal

__all__ = ["Connector"]

log = logging.getLogger("reactorsock.tcp")


class _ConnectAttempt:
    """The descriptor of a connect in progress: becomes a Connection on success."""

    __slots__ = ("connector", "channel", "address", "done", "_watched")

    def __init__(self, connector: Connector, channel: SocketChannel, address: Any) -> None:
        self.connector = connector
        self.channel = channel
        self.address = address
        self.done = False
        self._watched = False

    def fileno(self) -> int:
        return -1 if self.channel.closed else int(self.channel)

    def logPrefix(self) -> str:
        return f"connecting to {self.address}"

    def start(self) -> None:
        try:
            connected = self.channel.connect(self.address)
        except OSError as e:
            self.connector.reactor.callLater(0, self._failed, e)
            return
        if connected:
            self.connector.reactor.callLater(0, self._succeeded)
        else:
            self._watched = True
            self.connector.reactor.addWriter(self)

    def doWrite(self) -> Any:
        try:
            if not self.channel.finish_connect():
                return None
        except OSError as e:
            return e
        self._unwatch()
        self._succeeded()
        return None

    doRead = doWrite

    def connectionLost(self, reason: Failure) -> None:
        self._watched = False  # the reactor has dropped us
        value = reason.value
        self._failed(value if isinstance(value, OSError) else None, reason)

    def _unwatch(self) -> None:
        if self._watched:
            self._watched = False
            self.connector.reactor.removeWriter(self)

    def abandon(self) -> None:
        if not self.done:
            self.done = True
            self._unwatch()
            self.channel.close()

    def _succeeded(self) -> None:
        if self.done:
            return
        self.done = True
        self.connector._connected(self.channel)

    def _failed(self, exc: OSError | None, reason: Failure | None = None) -> None:
        if self.done:
            return
        self.abandon()
        if exc is not None:
            reason = Failure(error.get_connect_error(exc))
        self.connector._attempt_failed(reason)


@implementer(IConnector)
class Connector:
    """An outgoing TCP connection attempt and, once up, its connection.

    See ``IConnector``.  Host names are resolved in the reactor's thread
    pool; literal addresses connect at once.  A name with several addresses
    is tried one address after the other, in ``getaddrinfo`` order, until
    one connects; ``timeout`` covers them all.  ``state`` is
    ``"disconnected"``, ``"connecting"`` or ``"connected"``.
    """

    transport = Connection
    _kind = "TCP"
    #: ``(family, sockaddr)`` left to try after the current attempt fails.
    _addresses: Any = ()

    def __init__(
        self,
        reactor: Any,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: Any = None,
    ) -> None:
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, not {port!r}")
        self.reactor = reactor
        self.host = host
        self.port = port
        self.factory = factory
        self.timeout = timeout
        self.bindAddress = bindAddress
        self.state = "disconnected"
        self.transport_instance: Connection | None = None
        self._attempt: _ConnectAttempt | None = None
        self._timer: Any = None
        self._factory_started = False
        self._resolving: Deferred | None = None
        self._bind_failure: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} to {self.host}:{self.port} {self.state}>"

    def getDestination(self) -> Any:
        """See ``IConnector.getDestination``."""
        if is_ipv6_literal(self.host):
            return IPv6Address(self._kind, self.host, self.port)
        return IPv4Address(self._kind, self.host, self.port)

    def connect(self) -> None:
        """See ``IConnector.connect``: start (or restart) connecting."""
        if self.state != "disconnected":
            raise RuntimeError(f"can't connect in state {self.state}")
        self.state = "connecting"
        if not self._factory_started:
            self.factory.doStart()
            self._factory_started = True
        self.factory.startedConnecting(self)
        if self.state != "connecting":  # startedConnecting called stopConnecting
            return
        if self.timeout is not None:
            self._timer = self.reactor.callLater(self.timeout, self._timed_out)
        self._resolve()

    def _resolve(self) -> None:
        if is_ip_literal(self.host):
            self._start_attempt(self._sockaddr(self.host))
            return
        d = self._resolving = self.reactor.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)

        def resolved(infos: list) -> None:
            if self._resolving is not d:
                return
            self._resolving = None
            addresses = []
            for family, _, _, _, sockaddr in infos:
                if (family, sockaddr) not in addresses:
                    addresses.append((family, sockaddr))
            if not addresses:
                self._failed(Failure(error.DNSLookupError(None, self.host)))
                return
            family, sockaddr = addresses.pop(0)
            self._addresses = addresses
            self._start_attempt(sockaddr, family)

        def failed(f: Failure) -> None:
            if self._resolving is not d:
                return
            self._resolving = None
            self._failed(Failure(error.DNSLookupError(f.value, self.host)))

        d.addCallbacks(resolved, failed)

    def _sockaddr(self, host: str) -> tuple:
        if is_ipv6_literal(host):
            addr, _, scope = host.partition("%")
            scope_id = socket.if_nametoindex(scope) if scope and not scope.isdigit() else 0
            return (addr, self.port, 0, int(scope) if scope.isdigit() else scope_id)
        return (host, self.port)

    def _start_attempt(self, sockaddr: Any, family: int | None = None) -> None:
        if family is None:
            family = socket.AF_INET6 if len(sockaddr) == 4 else socket.AF_INET
        try:
            channel = self._make_channel(family)
        except Exception as e:  # bind errors, and bad bindAddress values
            # Fail from the loop, as every other connect failure does; the
            # next address (of another family, say) may still fit.
            reason = Failure(error.ConnectBindError(e))
            self._bind_failure = self.reactor.callLater(0, self._bind_failed, reason)
            return
        self._attempt = _ConnectAttempt(self, channel, sockaddr)
        self._attempt.start()

    def _bind_failed(self, reason: Failure) -> None:
        self._bind_failure = None
        self._attempt_failed(reason)

    def _make_channel(self, family: int) -> SocketChannel:
        channel = SocketChannel.open(family)
        if self.bindAddress is not None:
            try:
                channel.bind(self.bindAddress)
            except BaseException:
                channel.close()
                raise
        return channel

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        self._abandon_attempt()
        self._failed(Failure(error.TimeoutError(None, "connection attempt timed out")))

    def _abandon_attempt(self) -> None:
        self._resolving = None
        self._addresses = ()
        call, self._bind_failure = self._bind_failure, None
        if call is not None and call.active():
            call.cancel()
        if self._attempt is not None:
            self._attempt.abandon()
            self._attempt = None

    def _attempt_failed(self, reason: Failure) -> None:
        # One address failed: try the next one the name resolved to, if any.
        self._attempt = None
        if self._addresses and self.state == "connecting":
            family, sockaddr = self._addresses.pop(0)
            self._start_attempt(sockaddr, family)
            return
        self._failed(reason)

    def _connected(self, channel: SocketChannel) -> None:
        self._cancel_timer()
        self._attempt = None
        self._addresses = ()
        transport = self.transport(self.reactor, channel)
        try:
            protocol = self.factory.buildProtocol(transport.getPeer())
        except OSError as e:  # reset between connect and getpeername
            channel.close()
            self._failed(Failure(error.get_connect_error(e)))
            return
        except Exception:
            reason = Failure()
            log.error(
                "Unhandled error in %s.buildProtocol:\n%s",
                type(self.factory).__name__,
                reason.getTraceback(),
            )
            channel.close()
            self._failed(reason)
            return
        if protocol is None:
            channel.close()
            self._failed(Failure(error.ConnectError(None, "buildProtocol returned None")))
            return
        self.state = "connected"
        transport.connector = self
        self.transport_instance = transport
        transport.makeConnection(protocol)

    def _failed(self, reason: Failure) -> None:
        if self.state != "connecting":
            return
        self._cancel_timer()
        self._abandon_attempt()
        self.state = "disconnected"
        self.factory.clientConnectionFailed(self, reason)
        self._stop_factory_if_idle()

    def connectionLost(self, reason: Failure) -> None:
        """Called by the connection when it closes; tells the factory."""
        self.state = "disconnected"
        self.transport_instance = None
        self.factory.clientConnectionLost(self, reason)
        self._stop_factory_if_idle()

    def _stop_factory_if_idle(self) -> None:
        # A factory that reconnected from its callback keeps running.
        if self.state == "disconnected" and self._factory_started:
            self._factory_started = False
            self.factory.doStop()

    def stopConnecting(self) -> None:
        """See ``IConnector.stopConnecting``."""
        if self.state != "connecting":
            raise error.NotConnectingError("we're not trying to connect")
        self._abandon_attempt()
        self._failed(Failure(error.UserError(None, "stopConnecting was called")))

    def disconnect(self) -> None:
        """See ``IConnector.disconnect``."""
        if self.state == "connecting":
            self.stopConnecting()
        elif self.state == "connected" and self.transport_instance is not None:
            self.transport_instance.loseConnection()
