"""Tests for ``reactorsock.tcp`` on every backend: ports, connectors, connections, adoption.

The stream-transport behaviour common to TCP, UNIX, TLS and pipes lives in
``_conformance.py`` and runs here over IPv4 and IPv6 loopback.  Everything
stays on 127.0.0.1 and ::1.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import resource
import socket
import threading
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from reactorsock import error, tcp
from reactorsock.address import IPv4Address, IPv6Address, UNIXAddress
from reactorsock.channel import ServerSocketChannel, SocketChannel
from reactorsock.defer import Deferred
from reactorsock.interfaces import IConnector, IListeningPort, ITCPTransport, IUNIXTransport
from reactorsock.protocol import ClientFactory, Protocol, ReconnectingClientFactory
from reactorsock.test import _conformance
from reactorsock.test._util import iterate_until, run_until

LOCAL = ["127.0.0.1", "::1"]


def family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# -- tiny protocols and factories ---------------------------------------------


class Recorder(Protocol):
    """Keeps what it receives and how it ended."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.made = False
        self.reason: Any = None

    def connectionMade(self) -> None:
        self.made = True

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Any) -> None:
        self.reason = reason


class Echo(Recorder):
    def dataReceived(self, data: bytes) -> None:
        self.data += data
        self.transport.write(data)


class Greeter(Recorder):
    """Writes its factory's greeting on connect."""

    def connectionMade(self) -> None:
        self.made = True
        self.transport.write(self.factory.greeting)


class Recording(ClientFactory):
    """A factory that keeps its protocols and the client callbacks it got."""

    noisy = False

    def __init__(self, protocol: type = Recorder, greeting: bytes = b"") -> None:
        self.protocol = protocol
        self.greeting = greeting
        self.built: list[Any] = []
        self.addresses: list[Any] = []
        self.failed: Any = None
        self.lost: Any = None
        self.starts = self.stops = 0

    def startFactory(self) -> None:
        self.starts += 1

    def stopFactory(self) -> None:
        self.stops += 1

    def buildProtocol(self, addr: Any) -> Any:
        self.addresses.append(addr)
        p = super().buildProtocol(addr)
        self.built.append(p)
        return p

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        self.failed = reason

    def clientConnectionLost(self, connector: Any, reason: Any) -> None:
        self.lost = reason


def listen(reactor: Any, factory: Any, host: str = "127.0.0.1", **kw: Any) -> Any:
    return reactor.listenTCP(0, factory, interface=host, **kw)


def connected(reactor: Any, *factories: Recording, count: int = 1, timeout: float = 5) -> None:
    """Iterate until every factory built count protocols that are all made."""
    iterate_until(
        reactor,
        lambda: all(len(f.built) >= count and all(p.made for p in f.built) for f in factories),
        timeout,
    )


@contextlib.contextmanager
def unused_port(host: str = "127.0.0.1") -> Any:
    """A port that is bound but not listening: a connect to it is refused."""
    s = socket.socket(family_of(host))
    s.bind((host, 0))
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


@contextlib.contextmanager
def full_backlog() -> Any:
    """A listener whose accept queue is full, so further SYNs are dropped (no reply at all).

    With ``listen(0)`` Linux queues one connection and drops SYNs beyond it
    (``tcp_conn_request``: ``sk_acceptq_is_full``) while nobody accepts.
    """
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    filler = socket.create_connection(lst.getsockname(), timeout=2)
    try:
        yield lst.getsockname()[1]
    finally:
        filler.close()
        lst.close()


# -- the conformance checks ----------------------------------------------------


def tcp_pair(host: str) -> Any:
    """make_pair for _conformance: a listener on host and one client."""

    def make_pair(reactor: Any, server_factory: Any, client_factory: Any) -> Any:
        port = reactor.listenTCP(0, server_factory, interface=host)
        reactor.connectTCP(host, port.getHost().port, client_factory)
        return port.stopListening

    return make_pair


@pytest.mark.parametrize("host", LOCAL)
@pytest.mark.parametrize("check", _conformance.STREAM_CHECKS, ids=lambda c: c.__name__[6:])
def test_conformance(reactor, check, host):
    check(reactor, tcp_pair(host))


# -- listening -----------------------------------------------------------------


@pytest.mark.parametrize("host", LOCAL)
def test_listen_port_zero_gets_the_real_port(reactor, host):
    port = listen(reactor, Recording(), host)
    try:
        addr = port.getHost()
        assert verifyObject(IListeningPort, port)
        assert isinstance(addr, IPv6Address if ":" in host else IPv4Address)
        assert (addr.type, addr.host) == ("TCP", host)
        assert addr.port != 0
        assert addr.port == port.channel.socket.getsockname()[1]
    finally:
        port.stopListening()


def test_listen_on_a_busy_port_raises_cannot_listen(reactor):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(error.CannotListenError) as info:
            reactor.listenTCP(busy.getsockname()[1], Recording(), interface="127.0.0.1")
    assert info.value.socketError.errno == errno.EADDRINUSE


def test_port_listens_again_after_stop_and_refuses_a_second_start(reactor):
    factory = Recording()
    port = listen(reactor, factory)
    with pytest.raises(RuntimeError, match="listening already"):
        port.startListening()
    assert reactor.getReaders() == [port]
    port.stopListening()
    fds = len(os.listdir("/proc/self/fd"))
    port.startListening()  # restarted: a fresh socket (port 0 picks a new number)
    client = Recording()
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    connected(reactor, factory, client)
    factory.built[0].transport.loseConnection()
    iterate_until(reactor, lambda: client.lost is not None)
    port.stopListening()
    assert reactor.getReaders() == []
    assert len(os.listdir("/proc/self/fd")) == fds  # the second stop closed everything


def test_factory_do_start_raising_leaks_nothing(reactor):
    class Broken(Recording):
        def doStart(self):
            raise ZeroDivisionError("doStart failed")

    fds = len(os.listdir("/proc/self/fd"))
    with pytest.raises(ZeroDivisionError):
        reactor.listenTCP(0, Broken(), interface="127.0.0.1")
    assert reactor.getReaders() == []
    assert len(os.listdir("/proc/self/fd")) == fds


def test_stop_listening_returns_deferred_and_frees_the_port(reactor):
    factory = Recording()
    port = listen(reactor, factory)
    number = port.getHost().port
    d = port.stopListening()
    assert isinstance(d, Deferred)
    run_until(reactor, d)
    assert port.getHost().port == number  # still answers
    client = Recording()
    reactor.connectTCP("127.0.0.1", number, client)
    iterate_until(reactor, lambda: client.failed is not None)
    client.failed.trap(error.ConnectionRefusedError)
    again = reactor.listenTCP(number, factory, interface="127.0.0.1")
    try:
        assert again.getHost().port == number
        client = Recording()
        reactor.connectTCP("127.0.0.1", number, client)
        connected(reactor, factory, client)
        factory.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: client.lost is not None)
    finally:
        again.stopListening()


def test_factory_start_and_stop_counts(reactor):
    factory = Recording()
    ports = [listen(reactor, factory), listen(reactor, factory)]
    assert (factory.starts, factory.numPorts) == (1, 2)
    ports[0].stopListening()
    ports[0].stopListening()  # a second stop does not count
    assert (factory.starts, factory.stops, factory.numPorts) == (1, 0, 1)
    client = Recording()
    reactor.connectTCP("127.0.0.1", ports[1].getHost().port, client)
    assert (client.starts, client.numPorts) == (1, 1)
    connected(reactor, factory, client)
    client.built[0].transport.loseConnection()
    iterate_until(reactor, lambda: client.lost is not None and factory.built[0].reason)
    assert (client.starts, client.stops, client.numPorts) == (1, 1, 0)
    ports[1].stopListening()
    assert (factory.starts, factory.stops, factory.numPorts) == (1, 1, 0)


def test_build_protocol_returning_none_closes_the_connection(reactor):
    server = Recording(protocol=None)  # Factory.buildProtocol returns None
    port = listen(reactor, server)
    try:
        client = Recording()
        reactor.connectTCP("127.0.0.1", port.getHost().port, client)
        iterate_until(reactor, lambda: client.lost is not None)
        client.lost.trap(error.ConnectionDone)
        assert client.built[0].reason is client.lost
        assert len(server.addresses) == 1
    finally:
        port.stopListening()


def test_client_build_protocol_returning_none_fails_the_attempt(reactor):
    port = listen(reactor, Recording())
    try:
        client = Recording(protocol=None)
        reactor.connectTCP("127.0.0.1", port.getHost().port, client)
        iterate_until(reactor, lambda: client.failed is not None)
        client.failed.trap(error.ConnectError)
        assert (client.starts, client.stops) == (1, 1)
        server = port.factory
        iterate_until(reactor, lambda: server.built and server.built[0].reason is not None)
    finally:
        port.stopListening()


class Crashing(Recorder):
    def dataReceived(self, data: bytes) -> None:
        if data.startswith(b"boom"):
            raise RuntimeError("dataReceived blew up")
        self.transport.write(data)


def test_data_received_raising_drops_only_that_connection(reactor, caplog):
    server = Recording(Crashing)
    port = listen(reactor, server)
    try:
        number = port.getHost().port
        good, bad = Recording(Greeter, b"hello"), Recording(Greeter, b"boom")
        reactor.connectTCP("127.0.0.1", number, good)
        reactor.connectTCP("127.0.0.1", number, bad)
        iterate_until(reactor, lambda: bad.lost is not None and bytes(good.built[0].data))
        crashed = [p for p in server.built if p.reason is not None]
        assert len(crashed) == 1
        crashed[0].reason.trap(RuntimeError)
        assert "dataReceived blew up" in caplog.text
        assert good.lost is None and bytes(good.built[0].data) == b"hello"
        # The port serves on.
        late = Recording(Greeter, b"still there")
        reactor.connectTCP("127.0.0.1", number, late)
        iterate_until(reactor, lambda: late.built and bytes(late.built[0].data) == b"still there")
        for f in (good, late):
            f.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: all(p.reason is not None for p in server.built))
    finally:
        port.stopListening()


class BadStart(Recorder):
    def connectionMade(self) -> None:
        raise RuntimeError("connectionMade blew up")


class BadFactory(Recording):
    def buildProtocol(self, addr: Any) -> Any:
        if len(self.addresses) == 0:
            self.addresses.append(addr)
            raise RuntimeError("buildProtocol blew up")
        return super().buildProtocol(addr)


def test_errors_in_build_protocol_and_connection_made_cost_one_connection(reactor, caplog):
    factory = BadFactory(BadStart)
    port = listen(reactor, factory)
    try:
        number = port.getHost().port
        first, second = Recording(), Recording()
        reactor.connectTCP("127.0.0.1", number, first)
        iterate_until(reactor, lambda: first.lost is not None)
        reactor.connectTCP("127.0.0.1", number, second)
        iterate_until(reactor, lambda: second.lost is not None)
        assert "buildProtocol blew up" in caplog.text
        assert "connectionMade blew up" in caplog.text
        factory.built[0].reason.trap(RuntimeError)
        assert port.connected and port in reactor.getReaders()
    finally:
        port.stopListening()


class BadStartAndEnd(BadStart):
    def connectionLost(self, reason: Any) -> None:
        self.reason = reason
        raise RuntimeError("connectionLost blew up too")


def test_connection_lost_raising_after_connection_made_raised_costs_one_connection(
    reactor, caplog
):
    """connectionLost raising after connectionMade raised is logged; the port listens on."""
    factory = Recording(BadStartAndEnd)
    port = listen(reactor, factory)
    try:
        number = port.getHost().port
        for _ in range(2):
            client = Recording()
            reactor.connectTCP("127.0.0.1", number, client)
            iterate_until(reactor, lambda c=client: c.lost is not None)
        assert len(factory.built) == 2
        assert "connectionLost blew up too" in caplog.text
        assert port.connected and port in reactor.getReaders()
    finally:
        port.stopListening()


def test_client_errors_in_build_protocol_and_connection_made(reactor, caplog):
    server = Recording()
    port = listen(reactor, server)
    try:
        number = port.getHost().port
        raising = BadFactory()
        reactor.connectTCP("127.0.0.1", number, raising)
        iterate_until(reactor, lambda: raising.failed is not None)
        raising.failed.trap(RuntimeError)
        bad_start = Recording(BadStart)
        reactor.connectTCP("127.0.0.1", number, bad_start)
        iterate_until(reactor, lambda: bad_start.lost is not None)
        bad_start.lost.trap(RuntimeError)
        iterate_until(reactor, lambda: len(server.built) == 2 and server.built[-1].reason)
        assert "connectionMade blew up" in caplog.text
    finally:
        port.stopListening()


# -- connecting ------------------------------------------------------------------


@pytest.mark.parametrize("host", LOCAL)
def test_connect_to_a_closed_port_is_refused(reactor, host):
    with unused_port(host) as number:
        client = Recording()
        connector = reactor.connectTCP(host, number, client)
        assert verifyObject(IConnector, connector)
        assert client.failed is None  # reported from the loop, never inside connectTCP
        iterate_until(reactor, lambda: client.failed is not None)
    client.failed.trap(error.ConnectionRefusedError)
    assert connector.state == "disconnected"
    assert (client.starts, client.stops) == (1, 1)
    expected = IPv6Address if ":" in host else IPv4Address
    assert connector.getDestination() == expected("TCP", host, number)


def test_connect_timeout(reactor):
    with full_backlog() as number:
        client = Recording()
        connector = reactor.connectTCP("127.0.0.1", number, client, timeout=0.2)
        iterate_until(reactor, lambda: client.failed is not None)
    client.failed.trap(error.TimeoutError)
    assert connector.state == "disconnected"
    assert not reactor.getWriters()
    assert not reactor.getDelayedCalls()


def test_stop_connecting(reactor):
    with full_backlog() as number:
        client = Recording()
        connector = reactor.connectTCP("127.0.0.1", number, client)
        reactor.iterate(0.01)
        assert connector.state == "connecting"
        connector.stopConnecting()
        client.failed.trap(error.UserError)
        assert connector.state == "disconnected"
        assert (client.starts, client.stops) == (1, 1)
        assert not reactor.getWriters() and not reactor.getDelayedCalls()
        with pytest.raises(error.NotConnectingError):
            connector.stopConnecting()


def test_stop_connecting_from_started_connecting(reactor):
    class Quitter(Recording):
        def startedConnecting(self, connector: Any) -> None:
            connector.stopConnecting()

    client = Quitter()
    with unused_port() as number:
        reactor.connectTCP("127.0.0.1", number, client)
    client.failed.trap(error.UserError)
    reactor.iterate(0.01)
    assert not reactor.getWriters() and not reactor.getDelayedCalls()


def test_reconnect_from_client_connection_failed(reactor):
    server = Recording()
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, not listening: refused
    number = holder.getsockname()[1]

    class Retrying(Recording):
        def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
            self.failed = reason
            holder.close()
            port_holder.append(reactor.listenTCP(number, server, interface="127.0.0.1"))
            connector.connect()

    port_holder: list[Any] = []
    client = Retrying()
    reactor.connectTCP("127.0.0.1", number, client)
    try:
        iterate_until(reactor, lambda: client.failed is not None)
        client.failed.trap(error.ConnectionRefusedError)
        connected(reactor, server, client)
        assert (client.starts, client.stops) == (1, 0)
        client.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: client.lost is not None and server.built[0].reason)
        assert (client.starts, client.stops) == (1, 1)
    finally:
        port_holder[0].stopListening()


def test_connect_to_localhost_resolves_in_a_thread(reactor, monkeypatch):
    threads = []
    real = socket.getaddrinfo

    def spy(*args: Any, **kw: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    server = Recording(Echo)
    port = listen(reactor, server, "127.0.0.1")
    try:
        client = Recording(Greeter, b"ping")
        connector = reactor.connectTCP("localhost", port.getHost().port, client)
        iterate_until(reactor, lambda: client.built and bytes(client.built[0].data) == b"ping")
        assert threads and threading.main_thread() not in threads
        assert connector.getDestination() == IPv4Address("TCP", "localhost", port.getHost().port)
        client.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: server.built[0].reason is not None)
    finally:
        port.stopListening()


def test_each_resolved_address_is_tried_in_turn(reactor, monkeypatch):
    server = Recording()
    port = listen(reactor, server, "127.0.0.1")
    number = port.getHost().port
    with unused_port("::1") as refused:
        answers = [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", refused, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", number)),
        ]
        monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
        try:
            client = Recording()
            reactor.connectTCP("two.example", number, client)
            connected(reactor, server, client)
            assert client.built[0].transport.getPeer() == IPv4Address("TCP", "127.0.0.1", number)
            client.built[0].transport.loseConnection()
            iterate_until(reactor, lambda: server.built[0].reason is not None)
        finally:
            port.stopListening()


def test_an_address_the_bind_address_does_not_fit_is_skipped(reactor, monkeypatch):
    """A bindAddress of one family fails the attempts of the other, not the whole connect."""
    server = Recording()
    port = listen(reactor, server, "127.0.0.1")
    number = port.getHost().port
    answers = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", number, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", number)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    try:
        client = Recording()
        reactor.connectTCP("two.example", number, client, bindAddress=("127.0.0.1", 0))
        iterate_until(reactor, lambda: client.failed is not None or client.built)
        assert client.failed is None, client.failed
        connected(reactor, server, client)
        client.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: server.built[0].reason is not None)
    finally:
        port.stopListening()


def test_reconnecting_client_factory_retries_on_the_connectors_reactor(reactor):
    """With no clock set, retries are scheduled on the reactor that made the connector."""

    class Dropper(Recorder):
        def connectionMade(self) -> None:
            self.made = True
            self.transport.loseConnection()

    class Reconnecting(ReconnectingClientFactory):
        protocol = Recorder
        initialDelay = delay = 0.001
        maxDelay = 0.01
        jitter = 0

    server = Recording(Dropper)
    port = listen(reactor, server)
    client = Reconnecting()
    connector = reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    try:
        iterate_until(reactor, lambda: len(server.built) >= 2)
    finally:
        client.stopTrying()
        port.stopListening()
    iterate_until(reactor, lambda: all(p.reason is not None for p in server.built))
    iterate_until(reactor, lambda: connector.state == "disconnected")


def test_unresolvable_name_fails_with_dns_lookup_error(reactor, monkeypatch):
    def no_such_name(*args: Any, **kw: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    client = Recording()
    reactor.connectTCP("nowhere.invalid", 80, client)
    iterate_until(reactor, lambda: client.failed is not None)
    client.failed.trap(error.DNSLookupError)
    assert "nowhere.invalid" in client.failed.getErrorMessage()


def test_bind_address(reactor):
    server = Recording()
    port = listen(reactor, server)
    try:
        with unused_port() as local:
            pass  # free again: bind the client to it
        client = Recording()
        reactor.connectTCP(
            "127.0.0.1", port.getHost().port, client, bindAddress=("127.0.0.1", local)
        )
        connected(reactor, server, client)
        assert server.built[0].transport.getPeer() == IPv4Address("TCP", "127.0.0.1", local)
        assert client.built[0].transport.getHost().port == local
        client.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: server.built[0].reason is not None)
        # A bind that fails is a ConnectBindError, reported from the loop.
        failing = Recording()
        taken = ("127.0.0.1", port.getHost().port)  # the listening port itself
        reactor.connectTCP("127.0.0.1", port.getHost().port, failing, bindAddress=taken)
        assert failing.failed is None
        iterate_until(reactor, lambda: failing.failed is not None)
        failing.failed.trap(error.ConnectBindError)
    finally:
        port.stopListening()


def test_client_connection_lost_when_the_server_closes(reactor):
    class Closer(Recorder):
        def connectionMade(self) -> None:
            self.made = True
            self.transport.write(b"bye")
            self.transport.loseConnection()

    port = listen(reactor, Recording(Closer))
    try:
        client = Recording()
        connector = reactor.connectTCP("127.0.0.1", port.getHost().port, client)
        iterate_until(reactor, lambda: client.lost is not None)
        client.lost.trap(error.ConnectionDone)
        assert bytes(client.built[0].data) == b"bye"
        assert connector.state == "disconnected"
    finally:
        port.stopListening()


def test_tcp_options_round_trip(reactor):
    server = Recording()
    port = listen(reactor, server)
    try:
        client = Recording()
        reactor.connectTCP("127.0.0.1", port.getHost().port, client)
        connected(reactor, server, client)
        t = client.built[0].transport
        assert verifyObject(ITCPTransport, t)
        for value in (True, False, True):
            t.setTcpNoDelay(value)
            assert t.getTcpNoDelay() is value
            t.setTcpKeepAlive(value)
            assert t.getTcpKeepAlive() is value
        assert t.getHandle().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        t.loseConnection()
        iterate_until(reactor, lambda: server.built[0].reason is not None)
    finally:
        port.stopListening()


def test_nagle_is_off_by_default_on_both_ends(reactor, monkeypatch):
    """TCP_NODELAY is on for accepted and connected TCP connections (asyncio's default)."""
    server = Recording()
    port = listen(reactor, server)
    try:
        client = Recording()
        reactor.connectTCP("127.0.0.1", port.getHost().port, client)
        connected(reactor, server, client)
        for proto in (server.built[0], client.built[0]):
            assert proto.transport.getTcpNoDelay() is True
            sock = proto.transport.getHandle()
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        client.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: server.built[0].reason is not None)

        monkeypatch.setattr(tcp.Connection, "noDelay", False)  # opting out keeps the OS default
        server2, client2 = Recording(), Recording()
        port.factory = server2
        reactor.connectTCP("127.0.0.1", port.getHost().port, client2)
        connected(reactor, server2, client2)
        assert client2.built[0].transport.getTcpNoDelay() is False
        assert server2.built[0].transport.getTcpNoDelay() is False
        client2.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: server2.built[0].reason is not None)
    finally:
        port.stopListening()


# -- many connections ---------------------------------------------------------------


class Checked(Protocol):
    """Sends its factory's payload for its index; checks the echo; then closes."""

    def connectionMade(self) -> None:
        f = self.factory
        self.index = len(f.built)
        self.expected = hashlib.sha256(b"%d:" % self.index).digest() * 64  # 2 KiB each
        self.got = bytearray()
        f.built.append(self)
        self.transport.write(self.expected)

    def dataReceived(self, data: bytes) -> None:
        self.got += data
        if len(self.got) >= len(self.expected):
            self.transport.loseConnection()

    def connectionLost(self, reason: Any) -> None:
        self.factory.done.append((bytes(self.got) == self.expected, reason))


class CheckedFactory(ClientFactory):
    protocol = Checked
    noisy = False

    def __init__(self) -> None:
        self.built: list[Any] = []
        self.done: list[Any] = []
        self.failures: list[Any] = []

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        self.failures.append(reason)


def test_many_concurrent_connections(reactor):
    """1,000 connections at once each echo checksummed data; select stays below FD_SETSIZE.

    select() cannot watch fds >= 1024 (FD_SETSIZE) and each connection costs
    two fds here (both ends), so the select backend runs 400.
    """
    count = 400 if reactor.backend == "select" else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * count + 200
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    server = Recording(Echo)
    port = reactor.listenTCP(0, server, backlog=count, interface="127.0.0.1")
    try:
        client = CheckedFactory()
        for _ in range(count):
            reactor.connectTCP("127.0.0.1", port.getHost().port, client)
        iterate_until(reactor, lambda: len(client.done) + len(client.failures) == count, 30)
        assert not client.failures
        assert all(ok for ok, _ in client.done)
        assert all(reason.check(error.ConnectionDone) for _, reason in client.done)
        iterate_until(reactor, lambda: all(p.reason is not None for p in server.built))
        assert len(server.built) == count
    finally:
        port.stopListening()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- running out of descriptors ---------------------------------------------------


def _pending_client(address: tuple) -> socket.socket:
    """A connected client socket, waiting in the listener's backlog; non-blocking.

    No ``create_connection``: its getaddrinfo may want descriptors of its own.
    """
    sock = socket.socket()
    sock.settimeout(2)
    sock.connect(address)
    sock.setblocking(False)
    return sock


def _take_free_descriptors(fillers: list[int]) -> None:
    """Open /dev/null until EMFILE, so no descriptor is left below the limit."""
    while True:
        try:
            fillers.append(os.open(os.devnull, os.O_RDONLY))
        except OSError as e:
            assert e.errno == errno.EMFILE
            return


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_out_of_descriptors_closes_pending_clients_and_logs_once(reactor, caplog):
    server = Recording(Echo)
    port = listen(reactor, server)
    address = ("127.0.0.1", port.getHost().port)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    clients = [_pending_client(address) for _ in range(3)]
    fillers: list[int] = []
    caplog.set_level(logging.ERROR, logger="reactorsock.tcp")
    try:
        highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, hard))
        _take_free_descriptors(fillers)
        iterate_until(reactor, lambda: all(_closed_by_peer(c) for c in clients))
        # A second burst, still without descriptors: no second log line.
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 3, hard))  # room for 2
        more = [_pending_client(address) for _ in range(2)]
        clients += more
        _take_free_descriptors(fillers)
        iterate_until(reactor, lambda: all(_closed_by_peer(c) for c in more))
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for c in clients:
            c.close()
    lines = [r for r in caplog.records if "out of file descriptors" in r.getMessage()]
    assert len(lines) == 1, caplog.text
    assert not server.built
    # Descriptors are back: the port serves again.
    try:
        client = Recording(Greeter, b"back")
        reactor.connectTCP(*address, client)
        iterate_until(reactor, lambda: client.built and bytes(client.built[0].data) == b"back")
        client.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: server.built[0].reason is not None)
    finally:
        port.stopListening()


def test_out_of_descriptors_without_a_spare_pauses_accepting(reactor, caplog, monkeypatch):
    """With no spare descriptor to drain the backlog, the port pauses instead of spinning."""
    monkeypatch.setattr(tcp, "_open_reserve", lambda: -1)
    monkeypatch.setattr(tcp, "ACCEPT_RETRY_DELAY", 0.05)
    server = Recording(Echo)
    port = listen(reactor, server)
    address = ("127.0.0.1", port.getHost().port)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    client = _pending_client(address)
    fillers: list[int] = []
    caplog.set_level(logging.ERROR, logger="reactorsock.tcp")
    try:
        highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, hard))
        _take_free_descriptors(fillers)
        iterate_until(reactor, lambda: port not in reactor.getReaders())
        reactor.iterate(0.15)  # a retry or two, each failing again
        assert not _closed_by_peer(client)
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        lines = [r for r in caplog.records if "out of file descriptors" in r.getMessage()]
        assert len(lines) == 1, caplog.text
        # Descriptors are back: the waiting client is served.
        client.sendall(b"late but served")
        iterate_until(reactor, lambda: server.built and bytes(server.built[0].data))
        assert bytes(server.built[0].data) == b"late but served"
        assert port in reactor.getReaders()
        client.close()
        iterate_until(reactor, lambda: server.built[0].reason is not None)
    finally:
        client.close()
        port.stopListening()


# -- adopting sockets made elsewhere ----------------------------------------------------


def _as(kind: str, sock: socket.socket, cls: Any) -> Any:
    """sock as an int fd, the socket itself, or a channel over a dup of it."""
    if kind == "int":
        return sock.fileno()
    if kind == "socket":
        return sock
    return cls.from_fd(os.dup(sock.fileno()))


@pytest.mark.parametrize("kind", ["int", "socket", "channel"])
def test_adopt_stream_port(reactor, kind):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(5)
    number = lst.getsockname()[1]
    given = _as(kind, lst, ServerSocketChannel)
    server = Recording(Echo)
    port = reactor.adoptStreamPort(given, socket.AF_INET, server)
    lst.close()  # the caller's copy: the port has its own
    if kind == "channel":
        given.close()
    try:
        assert port.getHost() == IPv4Address("TCP", "127.0.0.1", number)
        assert (server.starts, server.numPorts) == (1, 1)
        client = Recording(Greeter, b"adopted")
        reactor.connectTCP("127.0.0.1", number, client)
        iterate_until(reactor, lambda: client.built and bytes(client.built[0].data) == b"adopted")
        client.built[0].transport.loseConnection()
        iterate_until(reactor, lambda: server.built[0].reason is not None)
    finally:
        port.stopListening()
    assert server.stops == 1


@pytest.mark.parametrize("kind", ["int", "socket", "channel"])
def test_adopt_stream_connection(reactor, kind):
    with socket.create_server(("127.0.0.1", 0)) as lst:
        peer = socket.create_connection(lst.getsockname(), timeout=2)
        mine, _ = lst.accept()
    given = _as(kind, mine, SocketChannel)
    factory = Recording(Echo)
    try:
        assert reactor.adoptStreamConnection(given, socket.AF_INET, factory) is None
        mine.close()  # the caller's copy
        if kind == "channel":
            given.close()
        assert factory.addresses == [IPv4Address("TCP", *peer.getsockname())]
        peer.sendall(b"over the adopted socket")
        iterate_until(reactor, lambda: bytes(factory.built[0].data) == b"over the adopted socket")
        assert peer.recv(100) == b"over the adopted socket"
        peer.shutdown(socket.SHUT_WR)
        iterate_until(reactor, lambda: factory.built[0].reason is not None)
        factory.built[0].reason.trap(error.ConnectionDone)
    finally:
        peer.close()
        mine.close()


def test_adopt_unix_sockets(reactor, tmp_path):
    """AF_UNIX descriptors get the UNIX transport (no TCP options, UNIX addresses)."""
    path = str(tmp_path / "s")
    lst = socket.socket(socket.AF_UNIX)
    lst.bind(path)
    lst.listen(5)
    server = Recording(Echo)
    port = reactor.adoptStreamPort(lst, socket.AF_UNIX, server)
    lst.close()
    a, b = socket.socketpair()
    factory = Recording(Greeter, b"over a socketpair")
    try:
        assert port.getHost() == UNIXAddress(path)
        reactor.adoptStreamConnection(a, socket.AF_UNIX, factory)
        a.close()
        b.settimeout(2)
        assert b.recv(100) == b"over a socketpair"
        transport = factory.built[0].transport
        assert verifyObject(IUNIXTransport, transport)
        assert transport.getPeer() == UNIXAddress("")
        client = Recording(Greeter, b"to the adopted port")
        reactor.connectUNIX(path, client)
        iterate_until(
            reactor, lambda: client.built and client.built[0].data == b"to the adopted port"
        )
        assert verifyObject(IUNIXTransport, server.built[0].transport)
        client.built[0].transport.loseConnection()
        b.close()
        iterate_until(reactor, lambda: server.built[0].reason and factory.built[0].reason)
    finally:
        port.stopListening()
        b.close()


def test_adopt_rejects_a_wrong_family_or_closed_socket(reactor):
    with socket.socket() as s:
        with pytest.raises(ValueError, match="AF_INET6"):
            reactor.adoptStreamConnection(s, socket.AF_INET6, Recording())
    channel = SocketChannel.open()
    channel.close()
    with pytest.raises(ValueError, match="closed"):
        reactor.adoptStreamConnection(channel, socket.AF_INET, Recording())
    with pytest.raises(ValueError, match="family"):
        reactor.adoptStreamPort(0, -1, Recording())


# -- shutdown ----------------------------------------------------------------------------


def test_reactor_stop_gives_open_connections_connection_lost(reactor):
    server = Recording()
    port = listen(reactor, server)
    client = Recording()
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    connected(reactor, server, client)
    reactor.callWhenRunning(reactor.stop)
    guard = reactor.callLater(5, reactor.crash)
    reactor.run(installSignalHandlers=False)
    assert guard.active(), "the reactor did not stop"
    guard.cancel()
    server.built[0].reason.trap(error.ConnectionLost)
    client.built[0].reason.trap(error.ConnectionLost)
    client.lost.trap(error.ConnectionLost)
    assert not port.connected and server.stops == 1
