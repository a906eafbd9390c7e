"""Tests for reactorsock.protocols.policies."""

from __future__ import annotations

import pytest
from zope.interface import implementer
from zope.interface.verify import verifyObject

import reactorsock.reactor
from reactorsock import error
from reactorsock.address import IPv4Address
from reactorsock.failure import Failure
from reactorsock.interfaces import IHalfCloseableProtocol, IProtocol, IProtocolFactory
from reactorsock.protocol import Factory, Protocol
from reactorsock.protocols.policies import ConnectionLimitFactory, TimeoutMixin
from reactorsock.task import Clock
from reactorsock.testing import StringTransport, StringTransportWithDisconnection

ADDR = IPv4Address("TCP", "10.0.0.2", 5)


class TimeoutTester(Protocol, TimeoutMixin):
    timeOut = 3  # noqa: N815 - Twisted API
    timed_out = 0

    def __init__(self, clock):
        self.callLater = clock.callLater

    def connectionMade(self):
        self.setTimeout(self.timeOut)

    def dataReceived(self, data):
        self.resetTimeout()

    def connectionLost(self, reason):
        self.setTimeout(None)

    def timeoutConnection(self):
        self.timed_out += 1
        super().timeoutConnection()


def timeout_proto():
    clock = Clock()
    p = TimeoutTester(clock)
    p.makeConnection(StringTransport())
    return p, clock


def test_timeout_fires_after_idle_period():
    p, clock = timeout_proto()
    clock.advance(2.9)
    assert not p.timed_out
    clock.advance(0.1)
    assert p.timed_out == 1
    assert p.transport.disconnecting
    assert clock.getDelayedCalls() == []


def test_activity_resets_timeout():
    p, clock = timeout_proto()
    for _ in range(5):
        clock.advance(2)
        p.dataReceived(b"x")
    assert not p.timed_out
    clock.advance(2.5)
    assert not p.timed_out
    clock.advance(0.5)
    assert p.timed_out == 1


def test_set_timeout_none_disables_and_returns_old():
    p, clock = timeout_proto()
    assert p.setTimeout(None) == 3
    assert clock.getDelayedCalls() == []
    p.resetTimeout()  # no timer: nothing to reset
    clock.advance(100)
    assert not p.timed_out
    assert p.setTimeout(None) is None


def test_set_timeout_changes_running_timer():
    p, clock = timeout_proto()
    clock.advance(1)
    assert p.setTimeout(10) == 3
    clock.advance(9.5)
    assert not p.timed_out
    clock.advance(0.5)
    assert p.timed_out == 1


def test_set_timeout_after_expiry_rearms():
    p, clock = timeout_proto()
    clock.advance(3)
    assert p.timed_out == 1
    p.setTimeout(1)
    clock.advance(1)
    assert p.timed_out == 2


def test_connection_lost_cancels_timer():
    p, clock = timeout_proto()
    p.connectionLost(Failure(error.ConnectionDone()))
    assert clock.getDelayedCalls() == []


def test_default_timeout_connection_loses_connection():
    class Plain(Protocol, TimeoutMixin):
        pass

    clock = Clock()
    p = Plain()
    p.callLater = clock.callLater
    p.makeConnection(StringTransport())
    p.setTimeout(1)
    clock.advance(1)
    assert p.transport.disconnecting


def test_timeout_mixin_without_transport_reactor_uses_get_reactor(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(reactorsock.reactor, "get_reactor", lambda: clock)

    class Plain(Protocol, TimeoutMixin):
        pass

    p = Plain()
    p.makeConnection(StringTransport())
    p.setTimeout(2)
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(2)
    assert p.transport.disconnecting


def test_timeout_mixin_times_out_on_the_connections_own_reactor(reactor):
    """A TCP connection on a reactor from new_reactor() times out on that reactor."""
    import socket

    from reactorsock.test._util import iterate_until

    lost = []

    class Idle(Protocol, TimeoutMixin):
        def connectionMade(self):
            self.setTimeout(0.05)

        def connectionLost(self, reason):
            self.setTimeout(None)
            lost.append(reason)

    port = reactor.listenTCP(0, Factory.forProtocol(Idle), interface="127.0.0.1")
    with socket.create_connection(("127.0.0.1", port.getHost().port), timeout=5):
        iterate_until(reactor, lambda: lost)
    assert lost[0].check(error.ConnectionDone)
    port.stopListening()


# ConnectionLimitFactory


class Recorder(Protocol):
    def connectionMade(self):
        self.events = ["made"]

    def dataReceived(self, data):
        self.events.append(data)

    def connectionLost(self, reason):
        self.events.append(reason.type)


class CountingFactory(Factory):
    protocol = Recorder

    def __init__(self):
        self.started = self.stopped = 0

    def startFactory(self):
        self.started += 1

    def stopFactory(self):
        self.stopped += 1


def connect(factory):
    p = factory.buildProtocol(ADDR)
    if p is None:
        return None, None
    t = StringTransportWithDisconnection()
    t.protocol = p
    p.makeConnection(t)
    return p, t


def test_limit_factory_provides_interfaces():
    f = ConnectionLimitFactory(CountingFactory(), 1)
    assert verifyObject(IProtocolFactory, f)
    p = f.buildProtocol(ADDR)
    assert verifyObject(IProtocol, p)


def test_limit_factory_refuses_beyond_limit_and_frees_on_close():
    wrapped = CountingFactory()
    f = ConnectionLimitFactory(wrapped, 2)
    p1, t1 = connect(f)
    p2, t2 = connect(f)
    assert f.connectionCount == 2
    assert connect(f) == (None, None)
    assert connect(f) == (None, None)
    assert f.refusedCount == 2
    t1.loseConnection()
    t1.loseConnection()  # closes once, frees once
    assert f.connectionCount == 1
    p3, _ = connect(f)
    assert p3 is not None
    assert (f.connectionCount, f.refusedCount) == (2, 2)


def test_limit_factory_wrapped_protocol_sees_real_transport():
    wrapped = CountingFactory()
    f = ConnectionLimitFactory(wrapped, 1)
    p, t = connect(f)
    inner = p.wrappedProtocol
    assert isinstance(inner, Recorder)
    assert inner.transport is t
    assert inner.factory is wrapped
    p.dataReceived(b"hi")
    t.loseConnection()
    assert inner.events == ["made", b"hi", error.ConnectionDone]
    assert p.logPrefix() == "Recorder"


def test_limit_factory_zero_refuses_everything():
    f = ConnectionLimitFactory(CountingFactory(), 0)
    assert f.buildProtocol(ADDR) is None
    assert f.refusedCount == 1
    with pytest.raises(ValueError):
        ConnectionLimitFactory(CountingFactory(), -1)


def test_limit_factory_forwards_start_stop():
    wrapped = CountingFactory()
    f = ConnectionLimitFactory(wrapped, 1)
    f.doStart()
    f.doStop()
    assert (wrapped.started, wrapped.stopped) == (1, 1)
    assert f.logPrefix() == "CountingFactory"


def test_limit_factory_wrapped_factory_may_refuse():
    class Refusing(Factory):
        def buildProtocol(self, addr):
            return None

    f = ConnectionLimitFactory(Refusing(), 1)
    assert f.buildProtocol(ADDR) is None
    assert (f.connectionCount, f.refusedCount) == (0, 0)


def test_limit_factory_keeps_half_close_support():
    @implementer(IHalfCloseableProtocol)
    class HalfCloser(Recorder):
        def readConnectionLost(self):
            self.events.append("read-lost")

        def writeConnectionLost(self):
            self.events.append("write-lost")

    f = ConnectionLimitFactory(Factory.forProtocol(HalfCloser), 1)
    p, _ = connect(f)
    assert IHalfCloseableProtocol.providedBy(p)
    p.readConnectionLost()
    p.writeConnectionLost()
    assert p.wrappedProtocol.events == ["made", "read-lost", "write-lost"]
    plain, _ = connect(ConnectionLimitFactory(CountingFactory(), 1))
    assert not IHalfCloseableProtocol.providedBy(plain)
