"""Tests for reactorsock.protocol: protocols, factories and reconnection."""

from __future__ import annotations

import math

import pytest
from zope.interface.verify import verifyObject

import reactorsock.reactor
from reactorsock import error
from reactorsock.address import IPv4Address
from reactorsock.failure import Failure
from reactorsock.interfaces import IProcessProtocol, IProtocol, IProtocolFactory
from reactorsock.protocol import (
    BaseProtocol,
    ClientFactory,
    DatagramProtocol,
    Factory,
    ProcessProtocol,
    Protocol,
    ReconnectingClientFactory,
    ServerFactory,
    connectionDone,
)
from reactorsock.task import Clock
from reactorsock.testing import FakeConnector, StringTransport

ADDR = IPv4Address("TCP", "127.0.0.1", 1)


@pytest.mark.parametrize(
    ("iface", "make"),
    [
        (IProtocol, Protocol),
        (IProtocolFactory, Factory),
        (IProtocolFactory, ServerFactory),
        (IProtocolFactory, ClientFactory),
        (IProtocolFactory, ReconnectingClientFactory),
        (IProcessProtocol, ProcessProtocol),
    ],
)
def test_provides(iface, make):
    assert verifyObject(iface, make())


def test_connection_done_constant():
    assert connectionDone.check(error.ConnectionDone)


def test_make_connection_sets_transport_then_calls_connection_made():
    seen = []

    class P(BaseProtocol):
        def connectionMade(self):
            seen.append((self.connected, self.transport))

    p = P()
    assert (p.connected, p.transport) == (0, None)
    t = StringTransport()
    p.makeConnection(t)
    assert seen == [(1, t)]


def test_protocol_defaults_do_nothing():
    p = Protocol()
    p.makeConnection(StringTransport())
    p.dataReceived(b"x")
    p.connectionLost(Failure(error.ConnectionDone()))
    p.connectionLost()
    assert p.logPrefix() == "Protocol"
    assert p.factory is None


# Factory


class Counting(Factory):
    def __init__(self, tag=None):
        self.tag = tag
        self.events = []

    def startFactory(self):
        self.events.append("start")

    def stopFactory(self):
        self.events.append("stop")


def test_build_protocol_sets_factory():
    f = Factory.forProtocol(Protocol)
    p = f.buildProtocol(ADDR)
    assert isinstance(p, Protocol)
    assert p.factory is f


def test_for_protocol_passes_arguments_to_factory():
    f = Counting.forProtocol(Protocol, tag="x")
    assert isinstance(f, Counting)
    assert (f.protocol, f.tag) == (Protocol, "x")


def test_build_protocol_without_protocol_refuses():
    assert Factory().buildProtocol(ADDR) is None


def test_do_start_do_stop_count_ports():
    f = Counting()
    f.doStart()
    f.doStart()
    assert (f.numPorts, f.events) == (2, ["start"])
    f.doStop()
    assert (f.numPorts, f.events) == (1, ["start"])
    f.doStop()
    assert (f.numPorts, f.events) == (0, ["start", "stop"])
    f.doStop()  # unbalanced: ignored
    assert (f.numPorts, f.events) == (0, ["start", "stop"])
    f.doStart()
    assert f.events == ["start", "stop", "start"]


def test_factory_log_prefix():
    assert Counting().logPrefix() == "Counting"


def test_client_factory_hooks_exist():
    f = ClientFactory()
    c = FakeConnector(ADDR)
    f.startedConnecting(c)
    f.clientConnectionFailed(c, Failure(error.ConnectionRefusedError()))
    f.clientConnectionLost(c, Failure(error.ConnectionDone()))


# ReconnectingClientFactory


def make_rcf(**attrs):
    f = ReconnectingClientFactory()
    f.clock = Clock()
    for name, value in attrs.items():
        setattr(f, name, value)
    return f, FakeConnector(ADDR)


def fail_once(f, connector):
    f.clientConnectionFailed(connector, Failure(error.ConnectionRefusedError()))


def test_rcf_defaults_match_twisted():
    f = ReconnectingClientFactory()
    assert f.initialDelay == 1.0
    assert f.maxDelay == 3600
    assert math.isclose(f.factor, math.e)
    assert 0 < f.jitter < 0.2
    assert (f.maxRetries, f.retries, f.delay, f.continueTrying) == (None, 0, 1.0, 1)


def test_rcf_delays_grow_by_factor_and_reconnect():
    f, c = make_rcf(jitter=0)
    expected = 1.0
    for n in range(1, 5):
        fail_once(f, c)
        expected *= f.factor
        assert f.retries == n
        assert math.isclose(f.delay, expected)
        [call] = f.clock.getDelayedCalls()
        assert math.isclose(call.getTime() - f.clock.seconds(), expected)
        f.clock.advance(expected * 0.999)
        assert c.connectCount == n - 1
        f.clock.advance(expected * 0.002)
        assert c.connectCount == n


def test_rcf_connection_lost_also_retries():
    f, c = make_rcf(jitter=0)
    f.clientConnectionLost(c, Failure(error.ConnectionLost()))
    f.clock.advance(f.factor)
    assert c.connectCount == 1


def test_rcf_delay_capped_at_max_delay():
    f, c = make_rcf(jitter=0, maxDelay=10)
    for _ in range(6):
        fail_once(f, c)
        f.clock.advance(f.delay)
    assert f.delay == 10
    assert c.connectCount == 6


def test_rcf_jitter_is_bounded():
    f, c = make_rcf(jitter=0.1, maxDelay=1e12)
    for _ in range(20):
        before = f.delay
        fail_once(f, c)
        nominal = before * f.factor
        assert nominal * 0.9 <= f.delay <= nominal * 1.1
        f.clock.advance(f.delay)
    assert c.connectCount == 20


def test_rcf_jitter_never_exceeds_max_delay():
    f, c = make_rcf(jitter=0.5, maxDelay=5)
    for _ in range(30):
        fail_once(f, c)
        assert 0 <= f.delay <= 5
        f.clock.advance(f.delay)


def test_rcf_max_retries():
    f, c = make_rcf(jitter=0, maxRetries=2)
    for _ in range(2):
        fail_once(f, c)
        f.clock.advance(f.delay)
    fail_once(f, c)
    assert f.clock.getDelayedCalls() == []
    assert c.connectCount == 2


def test_rcf_stop_trying_cancels_and_stops():
    f, c = make_rcf(jitter=0)
    fail_once(f, c)
    assert len(f.clock.getDelayedCalls()) == 1
    f.stopTrying()
    assert f.clock.getDelayedCalls() == []
    assert c.stoppedConnecting
    assert not f.continueTrying
    fail_once(f, c)
    f.retry()
    assert f.clock.getDelayedCalls() == []
    f.clock.advance(1e6)
    assert c.connectCount == 0


def test_rcf_stop_trying_tolerates_not_connecting():
    class Idle(FakeConnector):
        def stopConnecting(self):
            raise error.NotConnectingError()

    f, _ = make_rcf()
    c = Idle(ADDR)
    f.connector = c
    f.stopTrying()
    assert not f.continueTrying


def test_rcf_reset_delay_on_success():
    f, c = make_rcf(jitter=0)
    for _ in range(3):
        fail_once(f, c)
        f.clock.advance(f.delay)
    f.resetDelay()  # what a subclass does in buildProtocol once connected
    assert (f.delay, f.retries, f.continueTrying) == (f.initialDelay, 0, 1)
    fail_once(f, c)
    assert math.isclose(f.delay, f.initialDelay * f.factor)


def test_rcf_stop_trying_after_reset_delay_mid_delay():
    """A retry still pending when resetDelay() runs is cancelled by a later stopTrying()."""
    f, c = make_rcf(jitter=0)
    fail_once(f, c)
    f.resetDelay()  # e.g. the network came back: start the back-off over
    f.stopTrying()
    assert f.clock.getDelayedCalls() == []
    f.clock.advance(1e6)
    assert c.connectCount == 0


def test_rcf_orphaned_retry_does_not_connect_after_stop_trying():
    """Two retries pending at once (retry() called by hand): neither connects after stopTrying."""
    f, c = make_rcf(jitter=0)
    fail_once(f, c)
    f.retry()
    f.stopTrying()
    f.clock.advance(1e6)
    assert c.connectCount == 0


def test_rcf_retry_without_connector():
    f, _ = make_rcf()
    with pytest.raises(ValueError):
        f.retry()


def test_rcf_clock_defaults_to_global_reactor(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(reactorsock.reactor, "get_reactor", lambda: clock)
    f = ReconnectingClientFactory()
    f.jitter = 0
    c = FakeConnector(ADDR)
    fail_once(f, c)
    assert f.clock is clock
    clock.advance(f.delay)
    assert c.connectCount == 1


# DatagramProtocol and ProcessProtocol


class RecordingDatagram(DatagramProtocol):
    def __init__(self):
        self.events = []

    def startProtocol(self):  # noqa: N802 - Twisted API
        self.events.append(("start", self.transport))

    def stopProtocol(self):  # noqa: N802 - Twisted API
        self.events.append(("stop", self.transport))


def test_datagram_protocol_start_stop():
    p = RecordingDatagram()
    port = object()
    p.makeConnection(port)
    assert p.transport is port
    assert p.events == [("start", port)]
    p.doStop()
    assert p.transport is None
    assert p.events == [("start", port), ("stop", None)]
    p.doStop()  # unbalanced: ignored
    assert len(p.events) == 2


def test_datagram_protocol_counts_ports():
    p = RecordingDatagram()
    p.doStart()
    p.doStart()
    p.doStop()
    assert [e for e, _ in p.events] == ["start"]
    p.doStop()
    assert [e for e, _ in p.events] == ["start", "stop"]


def test_datagram_protocol_refuses_second_transport():
    p = DatagramProtocol()
    p.makeConnection(object())
    with pytest.raises(RuntimeError):
        p.makeConnection(object())


def test_datagram_protocol_defaults():
    p = DatagramProtocol()
    p.datagramReceived(b"x", ("127.0.0.1", 1))
    p.connectionRefused()
    assert p.logPrefix() == "DatagramProtocol"


class RecordingProcess(ProcessProtocol):
    def __init__(self):
        self.events = []

    def outReceived(self, data):
        self.events.append(("out", data))

    def errReceived(self, data):
        self.events.append(("err", data))

    def inConnectionLost(self):
        self.events.append("in-lost")

    def outConnectionLost(self):
        self.events.append("out-lost")

    def errConnectionLost(self):
        self.events.append("err-lost")


def test_process_protocol_dispatches_by_fd():
    p = RecordingProcess()
    p.childDataReceived(1, b"a")
    p.childDataReceived(2, b"b")
    p.childDataReceived(3, b"ignored")
    for fd in (0, 1, 2, 3):
        p.childConnectionLost(fd)
    assert p.events == [("out", b"a"), ("err", b"b"), "in-lost", "out-lost", "err-lost"]


def test_process_protocol_defaults():
    p = ProcessProtocol()
    t = StringTransport()
    p.makeConnection(t)
    assert (p.connected, p.transport) == (1, t)
    p.childDataReceived(1, b"x")
    p.childConnectionLost(0)
    p.processExited(Failure(error.ProcessDone()))
    p.processEnded(Failure(error.ProcessDone()))
