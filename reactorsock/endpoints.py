"""Endpoints: where a server listens and where a client connects, as objects or strings.

An endpoint binds an address (TCP over IPv4 or IPv6, a UNIX socket, a UDP
port) to a reactor; ``listen(factory)`` and ``connect(factory)`` return
Deferreds.  ``serverFromString``/``clientFromString`` build endpoints from
Twisted's description strings, so a program can take its addresses from
the command line or a configuration file.  This module does not retry,
reconnect or run services: it makes one port or one connection per call.

Description strings
-------------------
Fields are separated by ``:``; the first names the endpoint type.  Then
come positional values and ``key=value`` pairs, in any order; positional
values fill the type's parameters, in order, that were not given by
keyword.  A backslash makes the next character literal, so ``\\:`` is a
colon inside a value (an IPv6 address, a path), ``\\=`` an equals sign in a
positional value, and ``\\\\`` a backslash.  Within a field the first
unescaped ``=`` ends the key; later ones belong to the value.

Server types::

    tcp:PORT[:interface=IPV4][:backlog=N]           tcp:8080:interface=127.0.0.1
    tcp6:PORT[:interface=IPV6][:backlog=N]          tcp6:8080:interface=\\:\\:1
    unix:PATH[:mode=OCTAL][:lockfile=0|1][:backlog=N]   unix:/run/app.sock:mode=660
    udp:PORT[:interface=IP][:maxPacketSize=N]       udp:5353:interface=127.0.0.1

(``unix:address=PATH`` names the path by keyword; ``lockfile`` is
``listenUNIX``'s ``wantPID``.)  Client types::

    tcp:HOST:PORT[:timeout=S][:bindAddress=IP[\\:PORT]]   tcp:host=example.com:port=80
    tcp6:HOST:PORT[:timeout=S][:bindAddress=IPV6]         tcp6:host=\\:\\:1:port=80
    unix:PATH[:timeout=S][:checkPID=0|1]                  unix:path=/tmp/s:timeout=2

(``lockfile`` is accepted as Twisted's spelling of ``checkPID``.)  A
malformed description raises ``ValueError`` naming the problem and showing
the expected form.

Adding a type
-------------
``SERVER_PARSERS`` and ``CLIENT_PARSERS`` map a type name to an
``EndpointSyntax`` (its parameters, their converters and a builder), or to
a ``"module:attribute"`` string naming one, imported on first use so that
optional dependencies (pyOpenSSL for ``ssl:``/``tls:``) load only when
used::

    SERVER_PARSERS["ssl"] = "reactorsock._tlsendpoints:SSL_SERVER_SYNTAX"

Any object with ``parse(reactor, args, kwargs, description)`` and a
``form`` string can stand in for an ``EndpointSyntax``.

UDP
---
``udp:`` gives a ``UDPServerEndpoint`` (for the runner), which is not an
``IStreamServerEndpoint``: its ``listen`` takes a ``DatagramProtocol``, or
a factory whose ``buildProtocol(None)`` returns one, and calls
``listenUDP``.

The description grammar and the registry live in ``_endpointstrings``; the
TLS endpoints in ``_tlsendpoints`` (both re-exported: this module is their
public home).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import attrs
from zope.interface import alsoProvides, implementer

from reactorsock import error
from reactorsock._endpointstrings import (
    CLIENT_PARSERS,
    SERVER_PARSERS,
    EndpointSyntax,
    Param,
    clientFromString,
    parse_description,
    serverFromString,
)
from reactorsock.defer import CancelledError, Deferred, fail, succeed
from reactorsock.error import ConnectingCancelledError, NoProtocol
from reactorsock.failure import Failure
from reactorsock.interfaces import (
    IDatagramServerEndpoint,
    IHalfCloseableProtocol,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from reactorsock.protocol import ClientFactory, Factory, Protocol
from reactorsock.tcp import is_ipv6_literal

__all__ = [
    "serverFromString",
    "clientFromString",
    "connectProtocol",
    "TCP4ServerEndpoint",
    "TCP6ServerEndpoint",
    "TCP4ClientEndpoint",
    "TCP6ClientEndpoint",
    "HostnameEndpoint",
    "UNIXServerEndpoint",
    "UNIXClientEndpoint",
    "UDPServerEndpoint",
    "ConnectingCancelledError",
    "NoProtocol",
    "Param",
    "EndpointSyntax",
    "SERVER_PARSERS",
    "CLIENT_PARSERS",
    "parse_description",
]


# ---------------------------------------------------------------------------
# Server endpoints


def _listen(listen: Callable[..., Any], *args: Any) -> Deferred:
    try:
        return succeed(listen(*args))
    except Exception:
        return fail(Failure())


@implementer(IStreamServerEndpoint)
@attrs.frozen
class TCP4ServerEndpoint:
    """A TCP port on an IPv4 interface (``""``: all of them); see ``IStreamServerEndpoint``.

    ``listen`` fires with the ``IListeningPort`` or fails with ``CannotListenError``.
    """

    _reactor: Any = attrs.field(repr=False)
    _port: int
    _backlog: int = 50
    _interface: str = ""

    def listen(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamServerEndpoint.listen``: ``listenTCP``."""
        return _listen(
            self._reactor.listenTCP, self._port, protocolFactory, self._backlog, self._interface
        )


@implementer(IStreamServerEndpoint)
@attrs.frozen
class TCP6ServerEndpoint:
    """A TCP port on an IPv6 interface (``"::"``: all of them); see ``TCP4ServerEndpoint``."""

    _reactor: Any = attrs.field(repr=False)
    _port: int
    _backlog: int = 50
    _interface: str = "::"

    def listen(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamServerEndpoint.listen``: ``listenTCP`` on an IPv6 socket."""
        return _listen(
            self._reactor.listenTCP,
            self._port,
            protocolFactory,
            self._backlog,
            self._interface or "::",
        )


@implementer(IStreamServerEndpoint)
@attrs.frozen
class UNIXServerEndpoint:
    """A UNIX-domain socket; see ``IReactorUNIX.listenUNIX`` for the arguments."""

    _reactor: Any = attrs.field(repr=False)
    _address: Any
    _backlog: int = 50
    _mode: int = 0o666
    _wantPID: bool = False  # noqa: N815 - Twisted API

    def listen(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamServerEndpoint.listen``: ``listenUNIX``."""
        return _listen(
            self._reactor.listenUNIX,
            self._address,
            protocolFactory,
            self._backlog,
            self._mode,
            self._wantPID,
        )


@implementer(IDatagramServerEndpoint)
@attrs.frozen
class UDPServerEndpoint:
    """A UDP port; not a stream endpoint.

    ``listen(protocol)`` takes a ``DatagramProtocol``, or a factory (anything
    with ``buildProtocol``) whose ``buildProtocol(None)`` returns one, and
    returns a Deferred firing with the port of ``listenUDP``.
    """

    _reactor: Any = attrs.field(repr=False)
    _port: int
    _interface: str = ""
    _maxPacketSize: int = 8192  # noqa: N815 - Twisted API

    def listen(self, protocol: Any) -> Deferred:
        """Listen with protocol (or ``protocol.buildProtocol(None)`` if it is a factory)."""
        if hasattr(protocol, "buildProtocol"):  # a factory, not a DatagramProtocol
            try:
                protocol = protocol.buildProtocol(None)
            except Exception:
                return fail(Failure())
            if protocol is None:
                return fail(NoProtocol("buildProtocol(None) returned None for a UDP endpoint"))
        return _listen(
            self._reactor.listenUDP, self._port, protocol, self._interface, self._maxPacketSize
        )


# ---------------------------------------------------------------------------
# Client endpoints


class _WrappingProtocol(Protocol):
    """Stands in for the user's protocol to learn when ``connectionMade`` has run.

    ``dataReceived`` is the wrapped protocol's own bound method, stored on
    the instance, so the transport calls it directly: the wrapper costs
    nothing per read.  An instance provides ``IHalfCloseableProtocol`` only
    when the wrapped protocol does (``_WrappingFactory.buildProtocol``
    declares it), since that changes how the transport treats EOF.
    """

    def __init__(self, connected: Deferred, wrapped: Any) -> None:
        self._connected = connected
        self._wrapped = wrapped
        self.dataReceived = wrapped.dataReceived

    def logPrefix(self) -> str:
        """The wrapped protocol's log prefix."""
        prefix = getattr(self._wrapped, "logPrefix", None)
        return prefix() if prefix is not None else type(self._wrapped).__name__

    def makeConnection(self, transport: Any) -> None:
        """Connect the wrapped protocol, then fire the endpoint's Deferred with it."""
        self.connected = 1
        self.transport = transport
        try:
            self._wrapped.makeConnection(transport)
        except BaseException:
            self._fire(Failure())
            raise
        self._fire(self._wrapped)

    def _fire(self, result: Any) -> None:
        d, self._connected = self._connected, None
        if d is not None and not d.called:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)

    def connectionLost(self, reason: Failure) -> None:
        """Forward to the wrapped protocol."""
        self.connected = 0
        self._wrapped.connectionLost(reason)

    def readConnectionLost(self) -> None:
        """Forward to the wrapped protocol (which is half-closeable)."""
        self._wrapped.readConnectionLost()

    def writeConnectionLost(self) -> None:
        """Forward to the wrapped protocol (which is half-closeable)."""
        self._wrapped.writeConnectionLost()


class _WrappingFactory(ClientFactory):
    """Wraps the user's factory for one ``connect()``; ``deferred`` fires with the protocol.

    Fires once: with the wrapped protocol after its ``connectionMade``, or
    with the failure of the attempt, of ``buildProtocol`` (``NoProtocol``
    for None) or of the cancellation (``ConnectingCancelledError``).
    ``doStart``/``doStop`` are forwarded; ``clientConnectionFailed``/
    ``clientConnectionLost`` are not (the wrapped factory may be a plain
    ``Factory``, as in Twisted).
    """

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped
        self.deferred = Deferred(self._cancel)
        self.connector: Any = None

    def logPrefix(self) -> str:
        """The wrapped factory's log prefix."""
        prefix = getattr(self._wrapped, "logPrefix", None)
        return prefix() if prefix is not None else type(self._wrapped).__name__

    def doStart(self) -> None:
        """Forward to the wrapped factory."""
        self._wrapped.doStart()

    def doStop(self) -> None:
        """Forward to the wrapped factory."""
        self._wrapped.doStop()

    def startedConnecting(self, connector: Any) -> None:
        """Remember the connector, so that cancelling can stop it."""
        self.connector = connector

    def buildProtocol(self, addr: Any) -> Any:
        """Build the wrapped protocol and wrap it; None (and a failed Deferred) on error."""
        d = self.deferred
        if d.called:  # cancelled just as the connection came up
            return None
        try:
            proto = self._wrapped.buildProtocol(addr)
        except Exception:
            d.errback(Failure())
            return None
        if proto is None:
            d.errback(NoProtocol(f"{self.logPrefix()}.buildProtocol returned None"))
            return None
        wrapper = _WrappingProtocol(d, proto)
        if IHalfCloseableProtocol.providedBy(proto):
            alsoProvides(wrapper, IHalfCloseableProtocol)
        return wrapper

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        """Fail the Deferred with reason (a ``ConnectError``)."""
        if not self.deferred.called:
            self.deferred.errback(reason)

    def _cancel(self, d: Deferred) -> None:
        connector = self.connector
        destination = connector.getDestination() if connector is not None else None
        d.errback(ConnectingCancelledError(destination))
        if connector is not None and connector.state == "connecting":
            connector.stopConnecting()


def _connect_tcp(
    reactor: Any, factory: Any, host: str, port: int, timeout: float, bindAddress: Any
) -> Deferred:
    wrapping = _WrappingFactory(factory)
    try:
        wrapping.connector = reactor.connectTCP(
            host, port, wrapping, timeout, _bind_address(bindAddress)
        )
    except Exception:
        return fail(Failure())
    return wrapping.deferred


def _bind_address(value: Any) -> Any:
    # connectTCP wants a (host, port) tuple; a bare host means any port.
    if value is None or isinstance(value, tuple):
        return value
    return (value, 0)


@implementer(IStreamClientEndpoint)
@attrs.frozen
class TCP4ClientEndpoint:
    """A TCP server to connect to; host is a name or an IPv4 address.

    ``connect`` fires with the protocol once its ``connectionMade`` has run,
    or fails with the ``ConnectError`` (``ConnectionRefusedError``,
    ``DNSLookupError``, ``TimeoutError`` ...).  Cancelling it stops
    connecting and fails it with ``ConnectingCancelledError``.  bindAddress
    is a ``(host, port)`` tuple or a host.
    """

    _reactor: Any = attrs.field(repr=False)
    _host: str
    _port: int
    _timeout: float = 30
    _bindAddress: Any = None  # noqa: N815 - Twisted API

    def connect(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamClientEndpoint.connect``: ``connectTCP``."""
        return _connect_tcp(
            self._reactor,
            protocolFactory,
            self._host,
            self._port,
            self._timeout,
            self._bindAddress,
        )


@implementer(IStreamClientEndpoint)
@attrs.frozen
class TCP6ClientEndpoint:
    """A TCP server over IPv6; a host name is resolved to its IPv6 addresses only.

    See ``TCP4ClientEndpoint``.  Cancelling during name resolution abandons it.
    """

    _reactor: Any = attrs.field(repr=False)
    _host: str
    _port: int
    _timeout: float = 30
    _bindAddress: Any = None  # noqa: N815 - Twisted API

    def connect(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamClientEndpoint.connect``: resolve (AAAA), then ``connectTCP``."""
        if is_ipv6_literal(self._host):
            return self._connect_to(self._host, protocolFactory)
        resolving = self._reactor.getaddrinfo(
            self._host, self._port, socket.AF_INET6, socket.SOCK_STREAM
        )

        def resolved(infos: list) -> Deferred:
            if not infos:
                raise error.DNSLookupError(None, f"no IPv6 address for {self._host}")
            addr, _, _, scope = infos[0][4]
            return self._connect_to(f"{addr}%{scope}" if scope else addr, protocolFactory)

        def lookup_failed(f: Failure) -> Failure:
            if f.check(CancelledError, error.DNSLookupError):
                return f
            return Failure(error.DNSLookupError(f.value, self._host))

        # The errback covers the lookup only: a failure to connect to the
        # address found (refused, timed out, cancelled) passes through as is.
        return resolving.addCallbacks(resolved, lookup_failed)

    def _connect_to(self, address: str, factory: Any) -> Deferred:
        return _connect_tcp(
            self._reactor, factory, address, self._port, self._timeout, self._bindAddress
        )


@implementer(IStreamClientEndpoint)
@attrs.frozen
class HostnameEndpoint:
    """A TCP server named by host name or address of either family.

    ``connectTCP`` resolves the name in the reactor's thread pool and tries
    its addresses one after the other, in ``getaddrinfo`` order; unlike
    Twisted's, this endpoint does not race them ("happy eyeballs", RFC
    8305).  See ``TCP4ClientEndpoint`` for the rest.
    """

    _reactor: Any = attrs.field(repr=False)
    _host: str = attrs.field(converter=lambda h: h.decode("idna") if isinstance(h, bytes) else h)
    _port: int
    _timeout: float = 30
    _bindAddress: Any = None  # noqa: N815 - Twisted API

    def connect(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamClientEndpoint.connect``: ``connectTCP``, which resolves the name."""
        return _connect_tcp(
            self._reactor,
            protocolFactory,
            self._host,
            self._port,
            self._timeout,
            self._bindAddress,
        )


@implementer(IStreamClientEndpoint)
@attrs.frozen
class UNIXClientEndpoint:
    """A UNIX-domain socket to connect to; see ``IReactorUNIX.connectUNIX``.

    ``connect`` behaves as ``TCP4ClientEndpoint.connect``.
    """

    _reactor: Any = attrs.field(repr=False)
    _path: Any
    _timeout: float = 30
    _checkPID: bool = False  # noqa: N815 - Twisted API

    def connect(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamClientEndpoint.connect``: ``connectUNIX``."""
        wrapping = _WrappingFactory(protocolFactory)
        try:
            wrapping.connector = self._reactor.connectUNIX(
                self._path, wrapping, self._timeout, self._checkPID
            )
        except Exception:
            return fail(Failure())
        return wrapping.deferred


def connectProtocol(endpoint: Any, protocol: Any) -> Deferred:
    """Connect protocol (an instance, not a factory) through endpoint.

    Returns ``endpoint.connect``'s Deferred, which fires with protocol once
    it is connected.
    """

    class OneShotFactory(Factory):
        def buildProtocol(self, addr: Any) -> Any:
            return protocol

    return endpoint.connect(OneShotFactory())
