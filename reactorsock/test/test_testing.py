"""Tests for reactorsock.testing: the fakes must keep to the interfaces they claim."""

from __future__ import annotations

import socket

import pytest
from zope.interface import implementer
from zope.interface.verify import verifyObject

from reactorsock import error
from reactorsock.address import IPv4Address, IPv6Address, UNIXAddress
from reactorsock.interfaces import (
    IConnector,
    IConsumer,
    IHalfCloseableProtocol,
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
    ITransport,
)
from reactorsock.protocol import ClientFactory, DatagramProtocol, Factory, Protocol
from reactorsock.testing import (
    FakeConnector,
    FakePort,
    FakeTransport,
    IOPump,
    MemoryReactor,
    MemoryReactorClock,
    StringTransport,
    StringTransportWithDisconnection,
    connect_pair,
    connectedServerAndClient,
)

ADDR = IPv4Address("TCP", "127.0.0.1", 1)
REACTOR_INTERFACES = [
    IReactorCore,
    IReactorTCP,
    IReactorUDP,
    IReactorUNIX,
    IReactorSSL,
    IReactorSocket,
    IReactorFDSet,
]


@pytest.mark.parametrize(
    ("iface", "make"),
    [
        (ITransport, StringTransport),
        (ITCPTransport, StringTransport),
        (IConsumer, StringTransport),
        (IPushProducer, StringTransport),
        (ITCPTransport, StringTransportWithDisconnection),
        (ITCPTransport, lambda: FakeTransport(Protocol(), False)),
        (IConsumer, lambda: FakeTransport(Protocol(), True)),
        (IPushProducer, lambda: FakeTransport(Protocol(), True)),
        (IListeningPort, lambda: FakePort(ADDR)),
        (IConnector, lambda: FakeConnector(ADDR)),
        *[(iface, MemoryReactor) for iface in REACTOR_INTERFACES],
        *[(iface, MemoryReactorClock) for iface in [*REACTOR_INTERFACES, IReactorTime]],
    ],
)
def test_provides(iface, make):
    assert verifyObject(iface, make())


# StringTransport


def test_string_transport_records_writes():
    t = StringTransport()
    t.write(b"ab")
    t.writeSequence([b"c", b"d"])
    assert t.value() == b"abcd"
    assert t.io.getvalue() == b"abcd"
    t.clear()
    assert t.value() == b""
    with pytest.raises(TypeError):
        t.write("text")


def test_string_transport_close_flags():
    t = StringTransport()
    assert not t.disconnecting
    t.loseWriteConnection()
    assert t.writeDisconnecting and not t.disconnecting
    t.loseConnection()
    assert t.disconnecting and not t.aborted
    t = StringTransport()
    t.abortConnection()
    assert t.disconnecting and t.aborted


def test_string_transport_addresses():
    t = StringTransport()
    assert t.getHost() == IPv4Address("TCP", "10.0.0.1", 12345)
    assert t.getPeer() == IPv4Address("TCP", "10.0.0.2", 54321)
    host, peer = UNIXAddress("/a"), IPv6Address("TCP", "::1", 7)
    t = StringTransport(hostAddress=host, peerAddress=peer)
    assert (t.getHost(), t.getPeer()) == (host, peer)


def test_string_transport_tcp_options_recorded():
    t = StringTransport()
    assert (t.getTcpNoDelay(), t.getTcpKeepAlive()) == (False, False)
    t.setTcpNoDelay(True)
    t.setTcpKeepAlive(1)
    assert (t.getTcpNoDelay(), t.getTcpKeepAlive()) == (True, True)


def test_string_transport_producer_registration():
    t = StringTransport()
    producer = object()
    t.registerProducer(producer, True)
    assert (t.producer, t.streaming) == (producer, True)
    with pytest.raises(RuntimeError):
        t.registerProducer(object(), False)
    t.unregisterProducer()
    assert (t.producer, t.streaming) == (None, None)
    with pytest.raises(RuntimeError):
        t.unregisterProducer()


def test_string_transport_producer_state():
    t = StringTransport()
    assert t.producerState == "producing"
    t.pauseProducing()
    assert t.producerState == "paused"
    t.resumeProducing()
    assert t.producerState == "producing"
    t.stopProducing()
    assert t.producerState == "stopped"
    with pytest.raises(RuntimeError):
        t.resumeProducing()
    t = StringTransport()
    t.loseConnection()
    with pytest.raises(RuntimeError):
        t.pauseProducing()


class Recorder(Protocol):
    def connectionMade(self):
        self.received = []
        self.reasons = []

    def dataReceived(self, data):
        self.received.append(data)

    def connectionLost(self, reason):
        self.reasons.append(reason)


def test_string_transport_with_disconnection_tells_protocol_once():
    p = Recorder()
    t = StringTransportWithDisconnection()
    t.protocol = p
    p.makeConnection(t)
    t.loseConnection()
    t.loseConnection()
    t.abortConnection()
    assert [r.type for r in p.reasons] == [error.ConnectionDone]
    assert t.disconnecting and not t.connected


def test_string_transport_with_disconnection_abort():
    p = Recorder()
    t = StringTransportWithDisconnection()
    t.protocol = p
    p.makeConnection(t)
    t.abortConnection()
    assert [r.type for r in p.reasons] == [error.ConnectionAborted]


# MemoryReactor


class RecordingClientFactory(ClientFactory):
    def __init__(self):
        self.connectors = []

    def startedConnecting(self, connector):
        self.connectors.append(connector)


def test_memory_reactor_records_tcp_and_ssl():
    r = MemoryReactor()
    f = Factory()
    port = r.listenTCP(1234, f, backlog=5, interface="127.0.0.1")
    assert r.tcpServers == [(1234, f, 5, "127.0.0.1")]
    assert port.getHost() == IPv4Address("TCP", "127.0.0.1", 1234)
    assert r.listenTCP(80, f, interface="::1").getHost() == IPv6Address("TCP", "::1", 80)
    assert r.listenTCP(81, f).getHost() == IPv4Address("TCP", "0.0.0.0", 81)
    cf = RecordingClientFactory()
    conn = r.connectTCP("10.1.1.1", 99, cf, timeout=3)
    assert r.tcpClients == [("10.1.1.1", 99, cf, 3, None)]
    assert cf.connectors == [conn] and r.connectors == [conn]
    assert conn.getDestination() == IPv4Address("TCP", "10.1.1.1", 99)
    ctx = object()
    r.listenSSL(443, f, ctx)
    assert r.sslServers == [(443, f, ctx, 50, "")]
    conn = r.connectSSL("example.com", 443, cf, ctx)
    assert r.sslClients == [("example.com", 443, cf, ctx, 30, None)]
    assert cf.connectors[-1] is conn


def test_memory_reactor_records_unix_udp_and_adoption():
    r = MemoryReactor()
    f = Factory()
    port = r.listenUNIX("/tmp/s", f)
    assert r.unixServers == [("/tmp/s", f, 50, 0o666, False)]
    assert port.getHost() == UNIXAddress("/tmp/s")
    cf = RecordingClientFactory()
    conn = r.connectUNIX("/tmp/s", cf, timeout=2)
    assert r.unixClients == [("/tmp/s", cf, 2, False)]
    assert conn.getDestination() == UNIXAddress("/tmp/s")
    dp = DatagramProtocol()
    port = r.listenUDP(53, dp, interface="127.0.0.1")
    assert r.udpServers == [(53, dp, "127.0.0.1", 8192)]
    assert port.getHost() == IPv4Address("UDP", "127.0.0.1", 53)
    r.adoptStreamPort(7, socket.AF_INET, f)
    r.adoptStreamConnection(8, socket.AF_INET, f)
    r.adoptDatagramPort(9, socket.AF_INET, dp, 512)
    assert r.adoptedPorts == [(7, socket.AF_INET, f)]
    assert r.adoptedStreamConnections == [(8, socket.AF_INET, f)]
    assert r.adoptedDatagramPorts == [(9, socket.AF_INET, dp, 512)]


def test_fake_port_and_connector_record_state():
    port = FakePort(ADDR)
    results = []
    port.stopListening().addCallback(results.append)
    assert results == [None] and not port.listening
    conn = FakeConnector(ADDR)
    conn.connect()
    conn.stopConnecting()
    conn.disconnect()
    assert (conn.connectCount, conn.stoppedConnecting, conn.disconnected) == (1, True, True)


def test_memory_reactor_run_and_stop():
    r = MemoryReactor()
    calls = []
    r.callWhenRunning(calls.append, "early")
    assert not r.hasRun
    r.run()
    assert calls == ["early"]
    assert (r.running, r.hasRun, r.hasStopped) == (False, True, True)
    with pytest.raises(error.ReactorNotRunning):
        r.stop()


def test_memory_reactor_call_when_running_while_running():
    r = MemoryReactor()
    calls = []

    def started():
        r.callWhenRunning(calls.append, "now")
        assert calls == ["now"]
        r.stop()

    r.callWhenRunning(started)
    r.run()
    assert calls == ["now"] and r.hasStopped


def test_memory_reactor_system_event_triggers():
    r = MemoryReactor()
    calls = []
    r.addSystemEventTrigger("after", "shutdown", calls.append, "after")
    handle = r.addSystemEventTrigger("during", "shutdown", calls.append, "gone")
    r.addSystemEventTrigger("before", "shutdown", calls.append, "before")
    assert len(r.triggers["before"]["shutdown"]) == 1
    r.removeSystemEventTrigger(handle)
    with pytest.raises(ValueError):
        r.removeSystemEventTrigger(handle)
    r.fireSystemEvent("shutdown")
    assert calls == ["before", "after"]


def test_memory_reactor_fd_set_and_crash():
    r = MemoryReactor()
    a, b = object(), object()
    r.addReader(a)
    r.addWriter(b)
    assert (r.getReaders(), r.getWriters()) == ([a], [b])
    r.removeReader(a)
    r.removeReader(a)
    assert r.removeAll() == [b]
    assert r.getWriters() == []
    r.crash()
    assert r.hasCrashed and not r.running


def test_memory_reactor_resolve():
    r = MemoryReactor()
    results = []
    r.resolve("127.0.0.1").addCallback(results.append)
    assert results == ["127.0.0.1"]
    r.resolve("no.such.host").addErrback(lambda f: results.append(f.type))
    assert results[-1] is error.DNSLookupError


def test_memory_reactor_clock():
    r = MemoryReactorClock()
    calls = []
    r.callLater(2, calls.append, "x")
    assert len(r.getDelayedCalls()) == 1
    r.advance(1)
    assert (calls, r.seconds()) == ([], 1)
    r.pump([0.5, 0.5])
    assert calls == ["x"]
    assert r.clock.seconds() == 2


# IOPump


class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data)

    def connectionLost(self, reason):
        self.reason = reason


class Greeter(Recorder):
    def connectionMade(self):
        super().connectionMade()
        self.transport.write(b"hello")


def test_echo_round_trip_and_clean_close():
    client, server, pump = connectedServerAndClient(Echo, Recorder)
    assert isinstance(pump, IOPump)
    client.transport.write(b"ping")
    client.transport.writeSequence([b" ", b"pong"])
    assert pump.flush()
    assert b"".join(client.received) == b"ping pong"
    assert not pump.flush()  # quiet now
    client.transport.write(b"last")
    client.transport.loseConnection()
    pump.flush()
    assert b"".join(client.received) == b"ping ponglast"
    assert [r.type for r in client.reasons] == [error.ConnectionDone]
    assert server.reason.type is error.ConnectionDone
    assert client.transport.disconnected and server.transport.disconnected


def test_server_close_reaches_both_sides():
    client, server, pump = connectedServerAndClient(Recorder, Recorder)
    server.transport.write(b"bye")
    server.transport.loseConnection()
    client.transport.write(b"late")  # written before the close is seen
    pump.flush()
    assert client.received == [b"bye"]
    assert server.received == [b"late"]
    assert [r.type for r in server.reasons] == [error.ConnectionDone]
    assert [r.type for r in client.reasons] == [error.ConnectionDone]
    client.transport.write(b"after close")
    assert not pump.flush()
    assert server.received == [b"late"]


def test_greeting_is_delivered_by_connect():
    client, server, pump = connectedServerAndClient(Greeter, Recorder)
    assert client.received == [b"hello"]
    client, server, pump = connectedServerAndClient(Greeter, Recorder, greet=False)
    assert client.received == []
    pump.pump()
    assert client.received == [b"hello"]


def test_abort_drops_queued_bytes():
    client, server, pump = connectedServerAndClient(Recorder, Recorder)
    client.transport.write(b"never sent")
    client.transport.abortConnection()
    pump.flush()
    assert server.received == []
    assert [r.type for r in client.reasons] == [error.ConnectionAborted]
    assert [r.type for r in server.reasons] == [error.ConnectionLost]


def test_addresses_are_mirrored():
    client, server, _ = connectedServerAndClient(Recorder, Recorder)
    assert client.transport.getPeer() == server.transport.getHost()
    assert server.transport.getPeer() == client.transport.getHost()
    assert client.transport.isServer is False and server.transport.isServer is True


@implementer(IHalfCloseableProtocol)
class HalfCloser(Recorder):
    def connectionMade(self):
        super().connectionMade()
        self.half = []

    def readConnectionLost(self):
        self.half.append("read")
        self.transport.write(b"reply")
        self.transport.loseWriteConnection()

    def writeConnectionLost(self):
        self.half.append("write")


def test_half_close_both_ways():
    client, server, pump = connectedServerAndClient(HalfCloser, HalfCloser)
    client.transport.write(b"request")
    client.transport.loseWriteConnection()
    pump.flush()
    assert server.received == [b"request"]
    assert client.received == [b"reply"]
    assert server.half == ["read", "write"]
    assert client.half == ["write", "read"]
    assert [r.type for r in client.reasons] == [error.ConnectionDone]
    assert [r.type for r in server.reasons] == [error.ConnectionDone]


def test_half_close_to_plain_protocol_closes():
    client, server, pump = connectedServerAndClient(Recorder, HalfCloser)
    client.transport.loseWriteConnection()
    pump.flush()
    assert client.half == ["write"]
    assert [r.type for r in server.reasons] == [error.ConnectionDone]
    assert [r.type for r in client.reasons] == [error.ConnectionDone]


def test_pause_producing_holds_delivery():
    client, server, pump = connectedServerAndClient(Recorder, Recorder)
    server.transport.pauseProducing()
    client.transport.write(b"held")
    assert not pump.flush()
    assert server.received == []
    server.transport.resumeProducing()
    pump.flush()
    assert server.received == [b"held"]


def test_pause_producing_holds_the_end_of_the_stream():
    """A paused side sees the peer's close only after it resumes, as a real reader would."""
    client, server, pump = connectedServerAndClient(Recorder, Recorder)
    client.transport.write(b"before")
    pump.flush()
    server.transport.pauseProducing()
    client.transport.loseConnection()
    pump.flush()
    assert [r.type for r in client.reasons] == [error.ConnectionDone]  # the closer is done
    assert server.reasons == [] and not server.transport.disconnected
    server.transport.write(b"to nobody")  # the peer is gone: lost, as on a closed socket
    assert not pump.flush()
    assert server.reasons == []
    server.transport.resumeProducing()
    pump.flush()
    assert server.received == [b"before"]
    assert [r.type for r in server.reasons] == [error.ConnectionDone]
    assert client.received == []


def test_pause_producing_holds_a_half_close():
    """readConnectionLost waits for resumeProducing too."""
    client, server, pump = connectedServerAndClient(HalfCloser, HalfCloser)
    client.transport.write(b"request")
    pump.flush()
    server.transport.pauseProducing()
    client.transport.loseWriteConnection()
    pump.flush()
    assert client.half == ["write"]
    assert server.received == [b"request"] and server.half == []
    assert client.reasons == [] and server.reasons == []
    server.transport.resumeProducing()
    pump.flush()
    assert server.received == [b"request"]
    assert server.half == ["read", "write"]
    assert client.received == [b"reply"]
    assert client.half == ["write", "read"]
    assert [r.type for r in client.reasons] == [error.ConnectionDone]
    assert [r.type for r in server.reasons] == [error.ConnectionDone]


def test_paused_side_closing_before_it_resumes_is_told_once():
    client, server, pump = connectedServerAndClient(Recorder, Recorder)
    server.transport.pauseProducing()
    client.transport.abortConnection()
    pump.flush()
    assert [r.type for r in client.reasons] == [error.ConnectionAborted]
    assert server.reasons == []
    server.transport.loseConnection()  # it stopped reading for good: the reset goes unseen
    pump.flush()
    server.transport.resumeProducing()
    pump.flush()
    assert [r.type for r in server.reasons] == [error.ConnectionLost]


def test_pull_producer_is_resumed_and_stopped():
    class Pull:
        def __init__(self, transport, chunks):
            self.transport, self.chunks, self.stopped = transport, chunks, False

        def resumeProducing(self):
            if self.chunks:
                self.transport.write(self.chunks.pop(0))
            else:
                self.transport.unregisterProducer()

        def stopProducing(self):
            self.stopped = True

    client, server, pump = connectedServerAndClient(Recorder, Recorder)
    producer = Pull(client.transport, [b"a", b"b", b"c"])
    client.transport.registerProducer(producer, False)
    with pytest.raises(RuntimeError):
        client.transport.registerProducer(producer, False)
    pump.flush()
    assert b"".join(server.received) == b"abc"
    streaming = Pull(server.transport, [])
    server.transport.registerProducer(streaming, True)
    server.transport.loseConnection()
    pump.flush()
    assert streaming.stopped


def test_flush_gives_up_on_endless_ping_pong():
    client, server, pump = connectedServerAndClient(Echo, Echo)
    client.transport.write(b"x")
    with pytest.raises(RuntimeError):
        pump.flush(max_rounds=50)


def test_connect_pair_with_clock_runs_due_calls():
    r = MemoryReactorClock()

    class Later(Recorder):
        def connectionMade(self):
            super().connectionMade()
            r.callLater(0, self.transport.write, b"soon")

    server, client = Later(), Recorder()
    pump = connect_pair(server, client, clock=r.clock)
    assert client.received == [b"soon"]
    assert pump.server is server and pump.client is client
