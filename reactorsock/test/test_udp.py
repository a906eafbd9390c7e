"""Tests for ``reactorsock.udp``: UDP and multicast ports over real loopback sockets.

Every test runs on each reactor backend and only ever sends to loopback
addresses: 127.0.0.1, ::1, 127.255.255.255 (the loopback broadcast address,
routed to ``lo``) and, for multicast, a 239.x group with the outgoing
interface pinned to 127.0.0.1 *before* the first send.

IPv6 multicast delivery is not tested: ``lo`` has no ``MULTICAST`` flag
here, so the kernel gives it no ``ff00::/8`` route and a send fails with
ENETUNREACH.  Joining, leaving and the IPv6 socket options are tested.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
import time

import pytest
from zope.interface.verify import verifyObject

from reactorsock import error
from reactorsock.address import IPv4Address, IPv6Address
from reactorsock.channel import DatagramChannel
from reactorsock.defer import Deferred
from reactorsock.interfaces import IListeningPort, IReadDescriptor, IUDPTransport
from reactorsock.protocol import DatagramProtocol
from reactorsock.test._util import iterate_until, run_until
from reactorsock.udp import (
    READS_PER_EVENT,
    InvalidAddressError,
    MulticastJoinError,
    MulticastPort,
    Port,
)

GROUP = "239.255.42.99"  # organisation-local scope (RFC 2365): never routed off site
GROUP6 = "ff15::4242"  # site-local scope, transient group
_IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)  # linux/in.h; not in 3.11's socket


class Recorder(DatagramProtocol):
    """Records what the port tells it."""

    def __init__(self) -> None:
        self.datagrams: list[tuple[bytes, tuple]] = []
        self.started = 0
        self.stopped = 0
        self.refused = 0

    def startProtocol(self) -> None:  # noqa: N802 - Twisted API
        self.started += 1

    def stopProtocol(self) -> None:  # noqa: N802 - Twisted API
        self.stopped += 1

    def datagramReceived(self, data: bytes, addr: tuple) -> None:
        self.datagrams.append((data, addr))

    def connectionRefused(self) -> None:
        self.refused += 1

    def payloads(self) -> list[bytes]:
        return [d for d, _ in self.datagrams]


class Echo(Recorder):
    """Sends every datagram back to its sender."""

    def datagramReceived(self, data: bytes, addr: tuple) -> None:
        super().datagramReceived(data, addr)
        self.transport.write(data, addr)


@pytest.fixture
def listen(reactor):
    """Start UDP (or multicast) ports that are stopped at the end of the test."""
    made: list = []

    def start(proto=None, interface="127.0.0.1", port=0, multicast=False, **kw):
        proto = Recorder() if proto is None else proto
        if multicast:
            p = reactor.listenMulticast(port, proto, interface=interface, **kw)
        else:
            p = reactor.listenUDP(port, proto, interface=interface, **kw)
        made.append(p)
        return p, proto

    yield start
    for p in made:
        p.stopListening()


@pytest.fixture
def raw():
    """Plain blocking ``socket.socket`` objects, closed at the end of the test."""
    made: list[socket.socket] = []

    def make(family=socket.AF_INET, type=socket.SOCK_DGRAM, bind=("127.0.0.1", 0)):
        s = socket.socket(family, type)
        made.append(s)
        if bind is not None:
            s.bind(bind)
        return s

    yield make
    for s in made:
        s.close()


def closed_port(family=socket.AF_INET, host="127.0.0.1") -> int:
    """A UDP port number on host that nothing listens on (bound, then released)."""
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_readable(sock_or_fd, timeout=2.0) -> None:
    import select

    r, _, _ = select.select([sock_or_fd], [], [], timeout)
    assert r, "nothing arrived within the time limit"


# ---------------------------------------------------------------------------
# Basics


def test_ports_provide_their_interfaces(listen):
    port, _ = listen()
    mport, _ = listen(multicast=True, interface="")
    for p in (port, mport):
        assert verifyObject(IUDPTransport, p)
        assert verifyObject(IListeningPort, p)
        assert verifyObject(IReadDescriptor, p)
    assert isinstance(mport, MulticastPort) and isinstance(port, Port)


@pytest.mark.parametrize(
    ("host", "address_type"), [("127.0.0.1", IPv4Address), ("::1", IPv6Address)]
)
def test_echo_between_two_ports_with_real_sender_addresses(reactor, listen, host, address_type):
    """Both ends see the other's real (host, port), a 2-tuple for IPv6 too (as Twisted)."""
    server, echo = listen(Echo(), interface=host)
    client, rec = listen(interface=host)
    s_addr, c_addr = server.getHost(), client.getHost()
    assert isinstance(s_addr, address_type) and s_addr.type == "UDP" and s_addr.host == host
    client.write(b"ping", (host, s_addr.port))
    iterate_until(reactor, lambda: rec.datagrams)
    assert echo.datagrams == [(b"ping", (host, c_addr.port))]
    assert rec.datagrams == [(b"ping", (host, s_addr.port))]
    assert echo.started == rec.started == 1


def test_port_zero_reports_the_real_port(reactor, listen, raw):
    port, rec = listen(port=0)
    number = port.getHost().port
    assert number != 0
    assert number == port.getHandle().getsockname()[1]
    sender = raw()
    sender.sendto(b"hello", ("127.0.0.1", number))
    iterate_until(reactor, lambda: rec.datagrams)
    assert rec.datagrams == [(b"hello", sender.getsockname())]


def test_listen_on_explicit_port_and_empty_interface(reactor, listen, raw):
    """interface '' binds IPv4's any address; a chosen port number is used as is."""
    number = closed_port()
    port, rec = listen(port=number, interface="")
    assert port.getHost() == IPv4Address("UDP", "0.0.0.0", number)
    raw().sendto(b"x", ("127.0.0.1", number))
    iterate_until(reactor, lambda: rec.datagrams)


def test_empty_datagram_is_delivered(reactor, listen):
    server, rec = listen()
    client, _ = listen()
    client.write(b"", ("127.0.0.1", server.getHost().port))
    iterate_until(reactor, lambda: rec.datagrams)
    assert rec.payloads() == [b""]


def test_write_sequence_sends_one_datagram(reactor, listen):
    server, rec = listen()
    client, _ = listen()
    client.writeSequence([b"ab", b"cd", b"ef"], ("127.0.0.1", server.getHost().port))
    iterate_until(reactor, lambda: rec.datagrams)
    assert rec.payloads() == [b"abcdef"]


def test_datagram_longer_than_max_packet_size_is_truncated(reactor, listen):
    """As in Twisted, recvfrom(maxPacketSize) keeps only the first maxPacketSize bytes."""
    server, rec = listen(maxPacketSize=10)
    client, _ = listen()
    client.write(b"0123456789ABCDEFGHIJ", ("127.0.0.1", server.getHost().port))
    iterate_until(reactor, lambda: rec.datagrams)
    assert rec.payloads() == [b"0123456789"]


def test_burst_of_500_datagrams_all_received_in_order(reactor, listen):
    """Loopback only drops when the receive buffer overflows; a 4 MiB one holds the burst.

    Each 64-byte datagram costs about 1 KiB of buffer (skb overhead), so
    500 of them need about 0.5 MiB, more than the 208 KiB default.
    """
    count = 500
    server, rec = listen()
    server.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    # Linux doubles the request, capped at net.core.rmem_max (socket(7)).
    rcvbuf = server.getHandle().getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    assert rcvbuf >= count * 2048, f"SO_RCVBUF only {rcvbuf}: raise net.core.rmem_max"
    client, _ = listen()
    target = ("127.0.0.1", server.getHost().port)
    for i in range(count):
        client.write(b"%06d" % i + b"." * 58, target)
    iterate_until(reactor, lambda: len(rec.datagrams) >= count)
    assert [int(d[:6]) for d in rec.payloads()] == list(range(count))


def test_one_readiness_event_reads_a_bounded_number_of_datagrams(reactor, listen, raw):
    port, rec = listen()
    sender = raw()
    extra = 8
    for i in range(READS_PER_EVENT + extra):
        sender.sendto(b"%d" % i, ("127.0.0.1", port.getHost().port))
    # Loopback queues a datagram at the receiver before sendto() returns.
    wait_readable(port.getHandle())
    assert port.doRead() is None
    assert len(rec.datagrams) == READS_PER_EVENT
    iterate_until(reactor, lambda: len(rec.datagrams) == READS_PER_EVENT + extra)


def test_oversized_datagram_raises_message_length_error(listen):
    port, _ = listen()
    with pytest.raises(error.MessageLengthError):
        port.write(b"x" * 70000, ("127.0.0.1", port.getHost().port))


def test_bind_failure_raises_cannot_listen_error(reactor, listen):
    port, _ = listen()
    number = port.getHost().port
    proto = Recorder()
    with pytest.raises(error.CannotListenError) as info:
        reactor.listenUDP(number, proto, interface="127.0.0.1")
    assert info.value.port == number
    assert info.value.socketError.errno == errno.EADDRINUSE
    assert proto.started == 0 and proto.transport is None


def test_start_protocol_error_closes_the_socket(reactor):
    class Broken(Recorder):
        def startProtocol(self) -> None:  # noqa: N802 - Twisted API
            raise RuntimeError("cannot start")

    proto = Broken()
    with pytest.raises(RuntimeError, match="cannot start"):
        reactor.listenUDP(0, proto, interface="127.0.0.1")
    assert proto.transport is None
    assert reactor.getReaders() == []


# ---------------------------------------------------------------------------
# Addresses


def test_write_to_host_name_raises_clear_error(listen):
    port, _ = listen()
    with pytest.raises(InvalidAddressError, match="not host names") as info:
        port.write(b"x", ("localhost", 9))
    assert isinstance(info.value, ValueError)
    assert info.value.address == "localhost"
    with pytest.raises(InvalidAddressError, match="not host names"):
        port.connect("localhost", 9)


def test_write_to_address_of_other_family_raises(listen):
    port4, _ = listen()
    port6, _ = listen(interface="::1")
    with pytest.raises(InvalidAddressError, match="IPv4 port"):
        port4.write(b"x", ("::1", 9))
    with pytest.raises(InvalidAddressError, match="IPv6 port"):
        port6.write(b"x", ("127.0.0.1", 9))
    with pytest.raises(InvalidAddressError, match="IPv6 port"):
        port6.write(b"x", ("<broadcast>", 9))


def test_write_without_address_on_unconnected_port_raises(listen):
    port, _ = listen()
    with pytest.raises(ValueError, match="needs an address"):
        port.write(b"x")


def test_listen_on_host_name_raises(reactor):
    proto = Recorder()
    with pytest.raises(InvalidAddressError):
        reactor.listenUDP(0, proto, interface="localhost")
    assert proto.started == 0


# ---------------------------------------------------------------------------
# Connected UDP


def test_connected_port_sends_to_its_peer_only(reactor, listen, raw):
    server, srec = listen()
    client, crec = listen()
    peer = ("127.0.0.1", server.getHost().port)
    client.connect(*peer)
    client.write(b"one")
    client.write(b"two", peer)
    with pytest.raises(ValueError, match="connected"):
        client.write(b"three", ("127.0.0.1", closed_port()))
    with pytest.raises(RuntimeError, match="already connected"):
        client.connect(*peer)
    iterate_until(reactor, lambda: len(srec.datagrams) == 2)
    assert srec.payloads() == [b"one", b"two"]
    # The kernel drops what other senders send to a connected socket; the
    # server's marker, sent afterwards, would arrive after a stray datagram.
    raw().sendto(b"stray", ("127.0.0.1", client.getHost().port))
    server.write(b"marker", ("127.0.0.1", client.getHost().port))
    iterate_until(reactor, lambda: crec.datagrams)
    assert crec.datagrams == [(b"marker", peer)]


def test_connected_port_to_closed_port_is_refused(reactor, listen):
    """ICMP port unreachable comes back on loopback and surfaces on the next read."""
    client, rec = listen()
    client.connect("127.0.0.1", closed_port())
    client.write(b"anyone?")
    iterate_until(reactor, lambda: rec.refused)
    assert rec.refused == 1
    assert client.connected and client in reactor.getReaders()


def test_connected_port_refused_on_write(reactor, listen):
    """Without reading, the pending ICMP error is reported by the next send."""
    client, rec = listen()
    client.connect("127.0.0.1", closed_port())
    deadline = time.monotonic() + 2
    while not rec.refused and time.monotonic() < deadline:
        client.write(b"anyone?")  # the reactor is not iterated: only write() can report it
        time.sleep(0.005)
    assert rec.refused == 1
    assert client.connected


def test_connected_ipv6_port_to_closed_port_is_refused(reactor, listen):
    client, rec = listen(interface="::1")
    client.connect("::1", closed_port(socket.AF_INET6, "::1"))
    client.write(b"anyone?")
    iterate_until(reactor, lambda: rec.refused)


def test_connection_refused_that_raises_is_logged_and_port_kept(reactor, listen, caplog):
    """As with datagramReceived, a failing connectionRefused must not close the port."""

    class Raising(Recorder):
        def connectionRefused(self) -> None:
            super().connectionRefused()
            raise RuntimeError("bug in connectionRefused")

    client, rec = listen(Raising())
    client.connect("127.0.0.1", closed_port())
    with caplog.at_level(logging.ERROR, logger="reactorsock"):
        client.write(b"anyone?")
        iterate_until(reactor, lambda: rec.refused)
    assert client.connected and client in reactor.getReaders()
    assert any("bug in connectionRefused" in r.getMessage() or r.exc_info for r in caplog.records)
    assert rec.stopped == 0


def test_unconnected_port_ignores_icmp_errors(reactor, listen):
    """Twisted's rule: connectionRefused is for connected ports only."""
    port, rec = listen()
    port.write(b"anyone?", ("127.0.0.1", closed_port()))
    port.write(b"self", ("127.0.0.1", port.getHost().port))
    iterate_until(reactor, lambda: rec.datagrams)
    assert rec.refused == 0 and rec.payloads() == [b"self"]


def test_unconnected_port_ignores_econnrefused_from_recvfrom(reactor, listen, raw):
    """Linux reports it to unconnected sockets only with IP_RECVERR: simulated here."""
    port, rec = listen()
    real, calls = port._receive, []

    def refused_once(n):
        if not calls:
            calls.append(n)
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return real(n)

    port._receive = refused_once
    raw().sendto(b"after", ("127.0.0.1", port.getHost().port))
    wait_readable(port.getHandle())
    assert port.doRead() is None
    assert calls and rec.refused == 0 and rec.payloads() == [b"after"]


# ---------------------------------------------------------------------------
# Stopping


def test_stop_listening_stops_protocol_and_frees_the_port(reactor, listen):
    port, rec = listen()
    number = port.getHost().port
    d = port.stopListening()
    assert isinstance(d, Deferred)
    assert run_until(reactor, d) is None
    assert rec.stopped == 1 and rec.transport is None
    assert port.fileno() == -1 and not port.connected
    assert port not in reactor.getReaders()
    assert port.getHost().port == number  # the last bound address
    again = port.stopListening()
    assert isinstance(again, Deferred) and run_until(reactor, again) is None
    assert rec.stopped == 1
    with pytest.raises(error.NotListeningError):
        port.write(b"x", ("127.0.0.1", number))
    # The number is free at once: it can be bound again.
    second, rec2 = listen(port=number)
    assert second.getHost().port == number and rec2.started == 1


def test_port_can_listen_again_after_stopping(reactor, listen):
    port, rec = listen()
    run_until(reactor, port.stopListening())
    port.startListening()
    assert rec.started == 2 and port in reactor.getReaders()
    with pytest.raises(RuntimeError, match="already listening"):
        port.startListening()


def test_stop_listening_from_datagram_received(reactor, listen, raw, caplog):
    class StopOnFirst(Recorder):
        def datagramReceived(self, data: bytes, addr: tuple) -> None:
            super().datagramReceived(data, addr)
            self.transport.stopListening()

    port, rec = listen(StopOnFirst())
    sender = raw()
    for i in range(3):
        sender.sendto(b"%d" % i, ("127.0.0.1", port.getHost().port))
    wait_readable(port.getHandle())
    caplog.set_level(logging.WARNING, logger="reactorsock")
    # The read after the stop meets the closed socket: not an error to report.
    assert port.doRead() is None
    assert rec.stopped == 1
    reactor.iterate(0)
    assert rec.payloads() == [b"0"]
    assert port not in reactor.getReaders()
    assert not caplog.records


def test_reactor_shutdown_stops_the_port(reactor, listen):
    port, rec = listen()
    reactor.disconnectAll()
    assert rec.stopped == 1 and port.fileno() == -1


# ---------------------------------------------------------------------------
# Errors while reading


def test_exception_in_datagram_received_is_logged_and_port_kept(reactor, listen, caplog):
    class Fragile(Recorder):
        def datagramReceived(self, data: bytes, addr: tuple) -> None:
            if data == b"boom":
                raise ZeroDivisionError("bad datagram")
            super().datagramReceived(data, addr)

    server, rec = listen(Fragile())
    client, _ = listen()
    target = ("127.0.0.1", server.getHost().port)
    caplog.set_level(logging.ERROR, logger="reactorsock.udp")
    client.write(b"boom", target)
    client.write(b"ok", target)
    iterate_until(reactor, lambda: rec.datagrams)
    assert rec.payloads() == [b"ok"]
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)
    assert server.connected


def test_transient_read_error_is_logged_and_port_kept(reactor, listen, raw, caplog):
    port, rec = listen()
    real = port._receive
    calls = []

    def flaky(n):
        if not calls:
            calls.append(n)
            raise OSError(errno.ENOBUFS, "No buffer space available")
        return real(n)

    port._receive = flaky
    caplog.set_level(logging.WARNING, logger="reactorsock.udp")
    raw().sendto(b"hi", ("127.0.0.1", port.getHost().port))
    iterate_until(reactor, lambda: rec.datagrams)
    assert calls and rec.stopped == 0 and port.connected
    assert any("No buffer space" in r.getMessage() for r in caplog.records)


def test_fatal_read_error_closes_the_port(reactor, listen, raw):
    port, rec = listen()

    def broken(n):
        raise OSError(errno.EBADF, "Bad file descriptor")

    port._receive = broken
    raw().sendto(b"hi", ("127.0.0.1", port.getHost().port))
    iterate_until(reactor, lambda: rec.stopped)
    assert port.fileno() == -1 and port not in reactor.getReaders()


# ---------------------------------------------------------------------------
# Adopting


@pytest.mark.parametrize("kind", ["int", "socket", "channel"])
def test_adopt_datagram_port(reactor, raw, kind):
    if kind == "channel":
        owner = DatagramChannel.open(socket.AF_INET)
        owner.bind(("127.0.0.1", 0))
        source, sock = owner, owner.socket
    else:
        sock = raw()
        source = sock.fileno() if kind == "int" else sock
        owner = sock
    number = sock.getsockname()[1]
    rec = Recorder()
    port = reactor.adoptDatagramPort(source, socket.AF_INET, rec)
    try:
        assert port.fileno() != sock.fileno()  # duplicated
        assert port.getHost() == IPv4Address("UDP", "127.0.0.1", number)
        assert rec.started == 1
        sender = raw()
        sender.sendto(b"adopted", ("127.0.0.1", number))
        iterate_until(reactor, lambda: rec.datagrams)
        assert rec.datagrams == [(b"adopted", sender.getsockname())]
        port.write(b"reply", sender.getsockname())
        wait_readable(sender)
        assert sender.recvfrom(100) == (b"reply", ("127.0.0.1", number))
    finally:
        run_until(reactor, port.stopListening())
    # The caller's descriptor stays open and usable.
    assert sock.getsockname()[1] == number
    if kind == "channel":
        owner.close()


def test_adopt_connected_socket_acts_as_connected_port(reactor, raw):
    peer = raw()
    sock = raw()
    sock.connect(peer.getsockname())
    port = reactor.adoptDatagramPort(sock, socket.AF_INET, Recorder())
    try:
        port.write(b"to peer")
        wait_readable(peer)
        assert peer.recv(100) == b"to peer"
        with pytest.raises(RuntimeError, match="already connected"):
            port.connect("127.0.0.1", 9)
    finally:
        port.stopListening()


def test_adopt_rejects_wrong_family_or_type(reactor, raw):
    udp6 = raw(socket.AF_INET6, bind=("::1", 0))
    tcp = raw(socket.AF_INET, socket.SOCK_STREAM)
    proto = Recorder()
    with pytest.raises(ValueError, match="AF_INET6"):
        reactor.adoptDatagramPort(udp6.fileno(), socket.AF_INET, proto)
    with pytest.raises(ValueError, match="SOCK_STREAM"):
        reactor.adoptDatagramPort(tcp, socket.AF_INET, proto)
    with pytest.raises(ValueError, match="AF_INET and AF_INET6"):
        reactor.adoptDatagramPort(udp6, socket.AF_UNIX, proto)
    assert proto.started == 0


def test_adopt_rejects_a_closed_channel(reactor):
    """A closed channel still is an int (its old fd number, maybe reused): never adopt that."""
    channel = DatagramChannel.open(socket.AF_INET)
    channel.close()
    proto = Recorder()
    with pytest.raises(ValueError, match="closed"):
        reactor.adoptDatagramPort(channel, socket.AF_INET, proto)
    assert proto.started == 0


def _open_fds() -> int:
    return len(os.listdir(f"/proc/{os.getpid()}/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")
def test_adopting_a_non_socket_closes_the_duplicate(reactor):
    r, w = os.pipe()
    try:
        before = _open_fds()
        with pytest.raises(OSError) as info:
            reactor.adoptDatagramPort(r, socket.AF_INET, Recorder())
        assert info.value.errno == errno.ENOTSOCK
        assert _open_fds() == before
    finally:
        os.close(r)
        os.close(w)


def test_adopted_port_cannot_be_restarted(reactor, raw):
    port = reactor.adoptDatagramPort(raw(), socket.AF_INET, Recorder())
    port.stopListening()
    with pytest.raises(RuntimeError, match="adopted"):
        port.startListening()


# ---------------------------------------------------------------------------
# Broadcast


def test_broadcast_option_and_send_to_loopback_broadcast_address(reactor, listen):
    """127.255.255.255 is lo's broadcast address (ip route show table local)."""
    receiver, rec = listen(interface="")  # broadcasts reach sockets bound to the any address
    sender, _ = listen()
    target = ("127.255.255.255", receiver.getHost().port)
    assert sender.getBroadcastAllowed() is False
    with pytest.raises(PermissionError):  # EACCES without SO_BROADCAST (ip(7))
        sender.write(b"not allowed", target)
    sender.setBroadcastAllowed(True)
    assert sender.getBroadcastAllowed() is True
    assert sender.getHandle().getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
    sender.write(b"to all", target)
    iterate_until(reactor, lambda: rec.datagrams)
    assert rec.datagrams == [(b"to all", ("127.0.0.1", sender.getHost().port))]
    sender.setBroadcastAllowed(False)
    assert sender.getHandle().getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) == 0


# ---------------------------------------------------------------------------
# Multicast (IPv4 on the loopback interface)


def _multicast_sender(reactor, listen):
    sender, rec = listen(multicast=True)
    assert run_until(reactor, sender.setOutgoingInterface("127.0.0.1")) == 1
    # Never let a group datagram leave through a real interface.
    assert sender.getOutgoingInterface() == "127.0.0.1"
    return sender, rec


def test_multicast_join_receive_and_leave(reactor, listen):
    receiver, rec = listen(multicast=True, interface="")
    if sys.platform.startswith("linux"):
        # IP_MULTICAST_ALL (ip(7)) defaults to 1: a socket bound to the any address
        # gets a group's datagrams while *any* socket on the host is a member, so
        # a concurrent test run that joined GROUP would defeat leaveGroup here.
        receiver.getHandle().setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
    target = (GROUP, receiver.getHost().port)
    sender, _ = _multicast_sender(reactor, listen)
    assert run_until(reactor, receiver.joinGroup(GROUP, "127.0.0.1")) is None
    sender.write(b"to the group", target)
    iterate_until(reactor, lambda: rec.datagrams)
    assert rec.datagrams == [(b"to the group", ("127.0.0.1", sender.getHost().port))]

    run_until(reactor, receiver.leaveGroup(GROUP, "127.0.0.1"))
    sender.write(b"after leaving", target)
    # A unicast marker sent afterwards arrives after anything the group sent.
    sender.write(b"marker", ("127.0.0.1", receiver.getHost().port))
    iterate_until(reactor, lambda: b"marker" in rec.payloads())
    assert rec.payloads() == [b"to the group", b"marker"]


def test_multicast_join_errors_fail_the_deferred(reactor, listen):
    receiver, _ = listen(multicast=True, interface="")
    run_until(reactor, receiver.joinGroup(GROUP, "127.0.0.1"))
    with pytest.raises(MulticastJoinError):  # EADDRINUSE: already a member
        run_until(reactor, receiver.joinGroup(GROUP, "127.0.0.1"))
    run_until(reactor, receiver.leaveGroup(GROUP, "127.0.0.1"))
    with pytest.raises(MulticastJoinError):  # EADDRNOTAVAIL: not a member
        run_until(reactor, receiver.leaveGroup(GROUP, "127.0.0.1"))
    with pytest.raises(InvalidAddressError):
        run_until(reactor, receiver.joinGroup(GROUP6, "127.0.0.1"))


def test_multicast_join_resolves_interface_names(reactor, listen):
    """Names go through reactor.resolve (off the loop), as in Twisted."""
    receiver, _ = listen(multicast=True, interface="")
    run_until(reactor, receiver.joinGroup(GROUP, "localhost"))
    run_until(reactor, receiver.leaveGroup(GROUP, "127.0.0.1"))


def test_multicast_ttl_and_loopback_mode(listen):
    """Options only: lo echoes every datagram sent over it whatever IP_MULTICAST_LOOP says."""
    port, _ = listen(multicast=True)
    sock = port.getHandle()
    assert port.getTTL() == 1
    port.setTTL(5)
    assert port.getTTL() == 5 == sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL)
    with pytest.raises(ValueError):
        port.setTTL(256)
    assert port.getLoopbackMode() == 1
    port.setLoopbackMode(False)
    assert port.getLoopbackMode() == 0
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0
    port.setLoopbackMode(True)
    assert port.getLoopbackMode() == 1


def test_listen_multiple_shares_the_port_and_each_gets_the_datagram(reactor, listen):
    first, rec1 = listen(multicast=True, interface="", listenMultiple=True)
    number = first.getHost().port
    sock = first.getHandle()
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    second, rec2 = listen(multicast=True, interface="", port=number, listenMultiple=True)
    for p in (first, second):
        run_until(reactor, p.joinGroup(GROUP, "127.0.0.1"))
    sender, _ = _multicast_sender(reactor, listen)
    sender.write(b"for both", (GROUP, number))
    iterate_until(reactor, lambda: rec1.datagrams and rec2.datagrams)
    assert rec1.payloads() == rec2.payloads() == [b"for both"]


def test_listen_multiple_shares_with_a_reuseport_only_socket(listen, raw):
    """A program that sets only SO_REUSEPORT can share the port too (socket(7))."""
    port, _ = listen(multicast=True, interface="", listenMultiple=True)
    other = raw(bind=None)
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("0.0.0.0", port.getHost().port))


def test_without_listen_multiple_second_bind_fails(reactor, listen):
    first, _ = listen(multicast=True, interface="")
    with pytest.raises(error.CannotListenError):
        reactor.listenMulticast(first.getHost().port, Recorder(), interface="")


# ---------------------------------------------------------------------------
# Multicast over IPv6: membership and options (delivery: see the module docstring)


def test_ipv6_multicast_membership_and_options(reactor, listen):
    port, _ = listen(multicast=True, interface="::")
    lo = socket.if_nametoindex("lo")
    assert run_until(reactor, port.joinGroup(GROUP6, "lo")) is None
    with pytest.raises(MulticastJoinError):
        run_until(reactor, port.joinGroup(GROUP6, lo))
    run_until(reactor, port.leaveGroup(GROUP6, str(lo)))
    with pytest.raises(MulticastJoinError):
        run_until(reactor, port.leaveGroup(GROUP6, "lo"))
    with pytest.raises(InvalidAddressError):
        run_until(reactor, port.joinGroup(GROUP, "lo"))
    with pytest.raises(InvalidAddressError, match="no such network interface"):
        run_until(reactor, port.joinGroup(GROUP6, "no-such-if0"))
    assert run_until(reactor, port.setOutgoingInterface("lo")) == 1
    assert port.getOutgoingInterface() == lo
    port.setTTL(7)
    assert port.getTTL() == 7
    port.setLoopbackMode(0)
    assert port.getLoopbackMode() == 0
    sock = port.getHandle()
    assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS) == 7
    assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP) == 0
