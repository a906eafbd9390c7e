"""Every implementation provides, method by method, each interface it claims.

STYLE.md section 3: ``verifyObject`` on live objects (``verifyClass`` cannot
see attributes set in ``__init__``), fakes included, because fakes drift.
Each object is checked against every interface ``providedBy`` reports for it,
so a new ``@implementer`` claim is checked without editing this file.
"""

from __future__ import annotations

import sys

import pytest
from zope.interface import providedBy
from zope.interface.verify import verifyObject

from reactorsock import interfaces as ifaces
from reactorsock.endpoints import clientFromString, serverFromString
from reactorsock.protocol import (
    ClientFactory,
    DatagramProtocol,
    Factory,
    ProcessProtocol,
    Protocol,
)
from reactorsock.task import Clock
from reactorsock.test._util import iterate_until
from reactorsock.testing import MemoryReactor, MemoryReactorClock, StringTransport


def _claimed(obj):
    return list(providedBy(obj).interfaces())


def _verify_all(obj, at_least=()):
    claimed = _claimed(obj)
    for iface in at_least:
        assert iface in providedBy(obj), f"{obj!r} does not claim {iface.__name__}"
    assert claimed, f"{obj!r} claims no interface"
    for iface in claimed:
        assert verifyObject(iface, obj), iface


def test_reactor_provides_everything_it_claims(reactor):
    _verify_all(
        reactor,
        at_least=(
            ifaces.IReactorCore,
            ifaces.IReactorTime,
            ifaces.IReactorFDSet,
            ifaces.IReactorThreads,
            ifaces.IReactorTCP,
            ifaces.IReactorUDP,
            ifaces.IReactorMulticast,
            ifaces.IReactorUNIX,
            ifaces.IReactorSSL,
            ifaces.IReactorProcess,
            ifaces.IReactorSocket,
        ),
    )
    _verify_all(reactor._selector, at_least=(ifaces.ISelector,))
    dc = reactor.callLater(10, lambda: None)
    _verify_all(dc, at_least=(ifaces.IDelayedCall,))
    dc.cancel()


def test_ports_connectors_and_connections(reactor, tmp_path):
    made = []

    class Keep(Protocol):
        def connectionMade(self):
            made.append(self)

    tcp_port = reactor.listenTCP(0, Factory.forProtocol(Keep), interface="127.0.0.1")
    udp_port = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    unix_port = reactor.listenUNIX(str(tmp_path / "s"), Factory.forProtocol(Keep))
    client = ClientFactory.forProtocol(Keep)
    connector = reactor.connectTCP("127.0.0.1", tcp_port.getHost().port, client)
    try:
        iterate_until(reactor, lambda: len(made) == 2)
        for port in (tcp_port, unix_port):
            _verify_all(port, at_least=(ifaces.IListeningPort,))
        _verify_all(udp_port, at_least=(ifaces.IUDPTransport, ifaces.IListeningPort))
        _verify_all(connector, at_least=(ifaces.IConnector,))
        for proto in made:
            _verify_all(proto.transport, at_least=(ifaces.ITCPTransport, ifaces.IConsumer))
            _verify_all(proto, at_least=(ifaces.IProtocol,))
    finally:
        for proto in made:
            proto.transport.abortConnection()
        iterate_until(reactor, lambda: all(p.transport.disconnected for p in made))
        for port in (tcp_port, udp_port, unix_port):
            port.stopListening()


def test_process_transport(reactor):
    ended = []

    class Ended(ProcessProtocol):
        def processEnded(self, reason):
            ended.append(reason)

    proto = Ended()
    process = reactor.spawnProcess(proto, sys.executable, [sys.executable, "-c", "pass"])
    _verify_all(process, at_least=(ifaces.IProcessTransport, ifaces.IConsumer))
    _verify_all(proto, at_least=(ifaces.IProcessProtocol,))
    iterate_until(reactor, lambda: ended, timeout=15)


@pytest.mark.parametrize(
    "description",
    ["tcp:0:interface=127.0.0.1", r"tcp6:0:interface=\:\:1", "unix:{tmp}/e.sock", "udp:0"],
)
def test_server_endpoints(reactor, tmp_path, description):
    endpoint = serverFromString(reactor, description.format(tmp=tmp_path))
    _verify_all(endpoint)


@pytest.mark.parametrize(
    "description",
    [
        "tcp:host=127.0.0.1:port=80",
        r"tcp6:host=\:\:1:port=80",
        "unix:path=/nonexistent.sock",
        "tls:host=localhost:port=443",
    ],
)
def test_client_endpoints(reactor, description):
    _verify_all(clientFromString(reactor, description), at_least=(ifaces.IStreamClientEndpoint,))


@pytest.mark.parametrize(
    "make",
    [
        Clock,
        MemoryReactor,
        MemoryReactorClock,
        StringTransport,
        Factory,
        lambda: Factory.forProtocol(Protocol).buildProtocol(None),
    ],
    ids=["Clock", "MemoryReactor", "MemoryReactorClock", "StringTransport", "Factory", "Protocol"],
)
def test_fakes_and_bases(make):
    _verify_all(make())


def test_clock_delayed_call():
    dc = Clock().callLater(1, lambda: None)
    _verify_all(dc, at_least=(ifaces.IDelayedCall,))
