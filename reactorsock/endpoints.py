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

    SERVER_PARSERS["ssl"] = "reactorsock.tls:SSL_SERVER_SYNTAX"

Any object with ``parse(reactor, args, kwargs, description)`` and a
``form`` string can stand in for an ``EndpointSyntax``.

UDP
---
``udp:`` gives a ``UDPServerEndpoint`` (for the runner), which is not an
``IStreamServerEndpoint``: its ``listen`` takes a ``DatagramProtocol``, or
a factory whose ``buildProtocol(None)`` returns one, and calls
``listenUDP``.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Callable
from typing import Any

import attrs
from zope.interface import alsoProvides, implementer

from reactorsock import error
from reactorsock.defer import CancelledError, Deferred, fail, succeed
from reactorsock.failure import Failure
from reactorsock.interfaces import (
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


class ConnectingCancelledError(CancelledError):
    """A ``connect()`` Deferred was cancelled before the connection was made.

    ``address`` is the destination that was being connected to.
    """

    def __init__(self, address: Any) -> None:
        super().__init__(address)
        self.address = address

    def __str__(self) -> str:
        return f"connecting to {self.address} was cancelled"


class NoProtocol(Exception):
    """The factory's ``buildProtocol`` returned None, so the connection was dropped."""


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

        return resolving.addCallback(resolved).addErrback(lookup_failed)

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


# ---------------------------------------------------------------------------
# Description strings


def _split(description: str) -> list[tuple[str | None, str]]:
    """Split a description into ``(key or None, value)`` fields, undoing escapes.

    The type is the first field, returned as ``(None, type)``.
    """
    fields: list[tuple[str | None, str]] = []
    key: str | None = None
    current: list[str] = []
    chars = iter(description)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, None)
            if nxt is None:
                raise ValueError("the description ends with a lone backslash (write \\\\)")
            current.append(nxt)
        elif ch == ":":
            fields.append((key, "".join(current)))
            key, current = None, []
        elif ch == "=" and key is None and fields:
            key, current = "".join(current), []
        else:
            current.append(ch)
    fields.append((key, "".join(current)))
    return fields


def parse_description(description: str | bytes) -> tuple[str, list[str], dict[str, str]]:
    """Split description into ``(type, positional values, keyword values)``.

    ``ValueError`` for an empty type, an empty or repeated keyword, or a
    trailing lone backslash.
    """
    if isinstance(description, bytes):
        description = description.decode("utf-8")
    if not isinstance(description, str):
        raise TypeError(f"an endpoint description is a str, not {type(description).__name__}")
    fields = _split(description)
    kind = fields[0][1]
    if not kind:
        raise ValueError(f"endpoint description {description!r} does not start with a type")
    args: list[str] = []
    kwargs: dict[str, str] = {}
    for key, value in fields[1:]:
        if key is None:
            args.append(value)
        elif not key:
            raise ValueError(f"empty keyword before '={value}' in {description!r}")
        elif key in kwargs:
            raise ValueError(f"{key!r} is given twice in {description!r}")
        else:
            kwargs[key] = value
    return kind, args, kwargs


# -- converters: str -> value, ValueError with a short reason -----------------


def _port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        raise ValueError("not an integer") from None
    if not 0 <= port <= 65535:
        raise ValueError("out of range 0-65535")
    return port


def _count(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise ValueError("not an integer") from None
    if value < 0:
        raise ValueError("negative")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number of seconds") from None
    if not value > 0:  # also rejects nan
        raise ValueError("must be positive")
    return value


def _flag(text: str) -> bool:
    value = {"1": True, "0": False, "true": True, "false": False, "yes": True, "no": False}.get(
        text.lower()
    )
    if value is None:
        raise ValueError("not one of 0, 1, true, false, yes, no")
    return value


def _mode(text: str) -> int:
    digits = text[2:] if text[:2].lower() == "0o" else text
    try:
        mode = int(digits, 8)
    except ValueError:
        raise ValueError("not an octal file mode such as 660") from None
    if not 0 <= mode <= 0o7777:
        raise ValueError("not a file mode (0-7777 octal)")
    return mode


def _text(text: str) -> str:
    if not text:
        raise ValueError("empty")
    return text


def _host_port(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``IPV6`` or ``[IPV6]:PORT`` as a bind address."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("not [IPV6]:PORT")
        return host, _port(rest[1:]) if rest else 0
    if is_ipv6_literal(text):
        return text, 0
    host, sep, port = text.rpartition(":")
    if not sep:
        return _text(text), 0
    return _text(host), _port(port)


@attrs.frozen
class Param:
    """One parameter of an endpoint type: its keyword, converter and aliases.

    ``name`` is the keyword in descriptions and the builder's argument
    name; ``aliases`` are other keywords accepted for it.
    """

    name: str
    convert: Callable[[str], Any] = _text
    required: bool = False
    aliases: tuple[str, ...] = ()


@attrs.frozen
class EndpointSyntax:
    """The description syntax of one endpoint type, and how to build it.

    ``build(reactor, **values)`` gets each given parameter converted, under
    its ``name``.  ``form`` is the synopsis shown in error messages.
    Positional values fill ``params`` in order, skipping those given by
    keyword.
    """

    form: str
    params: tuple[Param, ...]
    build: Callable[..., Any]

    def parse(
        self, reactor: Any, args: list[str], kwargs: dict[str, str], description: str
    ) -> Any:
        """Build the endpoint that args and kwargs describe; ``ValueError`` if they don't fit."""

        def bad(problem: str) -> ValueError:
            return ValueError(f"{problem} in {description!r}; expected {self.form}")

        by_keyword = {}
        for p in self.params:
            for k in (p.name, *p.aliases):
                by_keyword[k] = p
        raw: dict[str, tuple[str, str]] = {}  # name -> (spelling, text)
        for key, text in kwargs.items():
            p = by_keyword.get(key)
            if p is None:
                known = ", ".join(p.name for p in self.params)
                raise bad(f"unknown keyword {key!r} (known: {known})")
            if p.name in raw:
                raise bad(f"{p.name!r} is given twice (as {raw[p.name][0]!r} and {key!r})")
            raw[p.name] = (key, text)
        free = [p for p in self.params if p.name not in raw]
        if len(args) > len(free):
            extra = ":".join(args[len(free) :])
            raise bad(f"unexpected positional value(s) {extra!r}")
        for p, text in zip(free, args, strict=False):
            raw[p.name] = (p.name, text)
        values = {}
        for p in self.params:
            if p.name not in raw:
                if p.required:
                    raise bad(f"missing {p.name}")
                continue
            spelling, text = raw[p.name]
            try:
                values[p.name] = p.convert(text)
            except ValueError as e:
                raise bad(f"bad {spelling} {text!r}: {e}") from None
        return self.build(reactor, **values)


def _tcp_server(endpoint: type, interface_default: str) -> Callable[..., Any]:
    def build(reactor: Any, port: int, interface: str = interface_default, backlog: int = 50):
        return endpoint(reactor, port, backlog, interface)

    return build


def _unix_server(
    reactor: Any, address: str, mode: int = 0o666, lockfile: bool = False, backlog: int = 50
) -> UNIXServerEndpoint:
    return UNIXServerEndpoint(reactor, address, backlog, mode, lockfile)


def _udp_server(
    reactor: Any, port: int, interface: str = "", maxPacketSize: int = 8192
) -> UDPServerEndpoint:
    return UDPServerEndpoint(reactor, port, interface, maxPacketSize)


def _tcp_client(endpoint: type) -> Callable[..., Any]:
    def build(reactor: Any, host: str, port: int, timeout: float = 30, bindAddress: Any = None):
        return endpoint(reactor, host, port, timeout, bindAddress)

    return build


def _unix_client(
    reactor: Any, path: str, timeout: float = 30, checkPID: bool = False
) -> UNIXClientEndpoint:
    return UNIXClientEndpoint(reactor, path, timeout, checkPID)


_TCP_SERVER_PARAMS = (
    Param("port", _port, required=True),
    Param("interface", str),
    Param("backlog", _count),
)
_TCP_CLIENT_PARAMS = (
    Param("host", _text, required=True),
    Param("port", _port, required=True),
    Param("timeout", _seconds),
    Param("bindAddress", _host_port),
)

#: Server endpoint types by name: ``EndpointSyntax`` or ``"module:attribute"``.
SERVER_PARSERS: dict[str, Any] = {
    "tcp": EndpointSyntax(
        "tcp:PORT[:interface=IPV4][:backlog=N], e.g. tcp:8080:interface=127.0.0.1",
        _TCP_SERVER_PARAMS,
        _tcp_server(TCP4ServerEndpoint, ""),
    ),
    "tcp6": EndpointSyntax(
        "tcp6:PORT[:interface=IPV6][:backlog=N], e.g. tcp6:8080:interface=\\:\\:1",
        _TCP_SERVER_PARAMS,
        _tcp_server(TCP6ServerEndpoint, "::"),
    ),
    "unix": EndpointSyntax(
        "unix:PATH[:mode=OCTAL][:lockfile=0|1][:backlog=N], e.g. unix:/run/app.sock:mode=660",
        (
            Param("address", _text, required=True),
            Param("mode", _mode),
            Param("lockfile", _flag, aliases=("wantPID",)),
            Param("backlog", _count),
        ),
        _unix_server,
    ),
    "udp": EndpointSyntax(
        "udp:PORT[:interface=IP][:maxPacketSize=N], e.g. udp:5353:interface=127.0.0.1",
        (
            Param("port", _port, required=True),
            Param("interface", str),
            Param("maxPacketSize", _count),
        ),
        _udp_server,
    ),
    # TLS lives in tls.py (pyOpenSSL): imported only when a description uses it.
    "ssl": "reactorsock.tls:SSL_SERVER_SYNTAX",
}

#: Client endpoint types by name: ``EndpointSyntax`` or ``"module:attribute"``.
CLIENT_PARSERS: dict[str, Any] = {
    "tcp": EndpointSyntax(
        "tcp:HOST:PORT[:timeout=SECONDS][:bindAddress=IP[\\:PORT]], "
        "e.g. tcp:host=example.com:port=80:timeout=5",
        _TCP_CLIENT_PARAMS,
        _tcp_client(TCP4ClientEndpoint),
    ),
    "tcp6": EndpointSyntax(
        "tcp6:HOST:PORT[:timeout=SECONDS][:bindAddress=IPV6], e.g. tcp6:host=\\:\\:1:port=80",
        _TCP_CLIENT_PARAMS,
        _tcp_client(TCP6ClientEndpoint),
    ),
    "unix": EndpointSyntax(
        "unix:PATH[:timeout=SECONDS][:checkPID=0|1], e.g. unix:path=/tmp/s:timeout=2",
        (
            Param("path", _text, required=True),
            Param("timeout", _seconds),
            Param("checkPID", _flag, aliases=("lockfile",)),
        ),
        _unix_client,
    ),
    "tls": "reactorsock.tls:TLS_CLIENT_SYNTAX",
}


def _syntax(registry: dict[str, Any], kind: str, role: str, description: str) -> Any:
    syntax = registry.get(kind)
    if syntax is None:
        known = ", ".join(sorted(registry))
        hint = f"; did you mean 'tcp:{description}'?" if kind.isdigit() else ""
        raise ValueError(
            f"unknown {role} endpoint type {kind!r} in {description!r} (known: {known}){hint}"
        )
    if isinstance(syntax, str):  # "module:attribute", imported on first use
        module, _, attr = syntax.partition(":")
        try:
            loaded = getattr(importlib.import_module(module), attr, None)
        except ImportError as e:
            raise ValueError(f"{role} endpoint type {kind!r} is unavailable: {e}") from e
        if loaded is None:
            raise ValueError(f"{role} endpoint type {kind!r} is unavailable: no {syntax}")
        syntax = registry[kind] = loaded
    return syntax


def _from_string(registry: dict[str, Any], role: str, reactor: Any, description: Any) -> Any:
    if isinstance(description, bytes):
        description = description.decode("utf-8")
    try:
        kind, args, kwargs = parse_description(description)
    except ValueError as e:
        raise ValueError(f"malformed {role} endpoint description: {e}") from None
    return _syntax(registry, kind, role, description).parse(reactor, args, kwargs, description)


def serverFromString(reactor: Any, description: str | bytes) -> Any:
    """Build the server endpoint that description names, e.g. ``"tcp:8080"``.

    See the module docstring for the syntax; ``ValueError`` if it is malformed.
    """
    return _from_string(SERVER_PARSERS, "server", reactor, description)


def clientFromString(reactor: Any, description: str | bytes) -> Any:
    """Build the client endpoint that description names, e.g. ``"tcp:example.com:80"``.

    See the module docstring for the syntax; ``ValueError`` if it is malformed.
    """
    return _from_string(CLIENT_PARSERS, "client", reactor, description)
