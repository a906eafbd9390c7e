"""Tests for reactorsock.channel: real sockets and pipes on loopback, every wait bounded."""

from __future__ import annotations

import copy
import errno
import os
import pickle
import select
import selectors
import socket
import struct

import pytest
from zope.interface.verify import verifyObject

from reactorsock.channel import (
    Channel,
    DatagramChannel,
    PipeChannel,
    ServerSocketChannel,
    SocketChannel,
    socketpair,
)
from reactorsock.interfaces import IChannel

WAIT = 2.0  # seconds: the bound on every readiness wait


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


FAMILIES = [
    pytest.param((socket.AF_INET, "127.0.0.1"), id="ipv4"),
    pytest.param(
        (socket.AF_INET6, "::1"),
        id="ipv6",
        marks=pytest.mark.skipif(not _ipv6_loopback(), reason="cannot bind ::1"),
    ),
]


@pytest.fixture
def closing():
    """Collect channels and close them all after the test."""
    channels: list[Channel] = []

    def add(*chans):
        channels.extend(chans)
        return chans[0] if len(chans) == 1 else chans

    yield add
    for ch in channels:
        ch.close()


def wait_readable(ch) -> None:
    assert select.select([ch], [], [], WAIT)[0], f"{ch!r} not readable within {WAIT}s"


def wait_writable(ch) -> None:
    assert select.select([], [ch], [], WAIT)[1], f"{ch!r} not writable within {WAIT}s"


def listener(closing, family=socket.AF_INET, host="127.0.0.1") -> ServerSocketChannel:
    server = closing(ServerSocketChannel.open(family))
    server.bind((host, 0))
    server.listen()
    return server


def tcp_pair(closing, family=socket.AF_INET, host="127.0.0.1"):
    """A connected (client, server-side) pair of SocketChannels."""
    server = listener(closing, family, host)
    client = closing(SocketChannel.open(family))
    if not client.connect(server.getsockname()):
        wait_writable(client)
        assert client.finish_connect() is True
    wait_readable(server)
    accepted = server.accept()
    assert accepted is not None
    conn, address = accepted
    closing(conn)
    assert address == client.getsockname()
    assert conn.getpeername() == client.getsockname()
    return client, conn


def fill(ch) -> int:
    """Write until the channel reports would-block; return the bytes written."""
    chunk, total = b"x" * 65536, 0
    for _ in range(10_000):
        n = ch.write(chunk)
        if n == 0:
            return total
        total += n
    raise AssertionError("write() never returned 0")


def read_exactly(ch, n: int) -> bytes:
    data = b""
    while len(data) < n:
        wait_readable(ch)
        chunk = ch.read(n - len(data))
        assert chunk, "unexpected EOF"
        data += chunk
    return data


def all_kinds(closing):
    """One open channel of every kind."""
    a, b = closing(*socketpair())
    source, sink = closing(*PipeChannel.pipe())
    return [
        a,
        closing(ServerSocketChannel.open()),
        closing(DatagramChannel.open()),
        source,
        sink,
    ]


# -- channels are their fd ----------------------------------------------------


def test_channel_is_int_equal_to_fd(closing):
    for ch in all_kinds(closing):
        assert isinstance(ch, int)
        assert verifyObject(IChannel, ch)
        fd = ch.fileno()
        assert type(fd) is int and ch == fd and hash(ch) == hash(fd)
        assert str(ch) == f"{ch}" == str(fd)
        assert {fd: "x"}[ch] == "x" and {ch: "y"}[fd] == "y"
        assert os.fstat(ch)  # an fd the OS knows
        if isinstance(ch, (SocketChannel, ServerSocketChannel, DatagramChannel)):
            assert ch.socket.fileno() == fd


def test_channel_passes_through_select_poll_epoll_selectors(closing):
    a, b = closing(*socketpair())
    assert a.write(b"ping") == 4
    assert select.select([b], [], [], WAIT)[0] == [b]
    poller = select.poll()
    poller.register(b, select.POLLIN)
    assert poller.poll(WAIT * 1000) == [(int(b), select.POLLIN)]
    if hasattr(select, "epoll"):
        with select.epoll() as ep:
            ep.register(b, select.EPOLLIN)
            assert ep.poll(WAIT) == [(int(b), select.EPOLLIN)]
    with selectors.DefaultSelector() as sel:
        sel.register(b, selectors.EVENT_READ, "data")
        assert sel.get_key(int(b)).fileobj is b
        [(key, events)] = sel.select(WAIT)
        assert key.fileobj is b and key.data == "data" and events == selectors.EVENT_READ
    assert b.read() == b"ping"


def test_os_read_and_write_accept_pipe_channels(closing):
    source, sink = closing(*PipeChannel.pipe())
    assert source.readable and not source.writable
    assert sink.writable and not sink.readable
    assert os.write(sink, b"abc") == 3
    wait_readable(source)
    assert os.read(source, 10) == b"abc"


def test_direct_construction_copy_and_pickle_are_refused(closing):
    a, _ = closing(*socketpair())
    with pytest.raises(TypeError):
        SocketChannel(3)
    with pytest.raises(TypeError):
        copy.copy(a)
    with pytest.raises(TypeError):
        pickle.dumps(a)


# -- close ----------------------------------------------------------------------


def test_close_is_idempotent_and_releases_the_fd(closing):
    for ch in all_kinds(closing):
        fd = ch.fileno()
        assert "closed" not in repr(ch)
        ch.close()
        ch.close()
        assert ch.closed
        assert repr(ch) == f"<{type(ch).__name__} fd={fd} closed>"
        with pytest.raises(ValueError):
            ch.fileno()
        with pytest.raises(OSError) as info:
            os.fstat(fd)
        assert info.value.errno == errno.EBADF
        assert ch == fd  # the int value keeps the old number


def test_io_after_close_raises_ebadf(closing):
    a, _ = closing(*socketpair())
    source, sink = closing(*PipeChannel.pipe())
    for ch in (a, source, sink):
        ch.close()
    for call in (a.read, lambda: a.write(b"x"), source.read, lambda: sink.write(b"x")):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EBADF


def test_context_manager_closes():
    with SocketChannel.open() as ch:
        assert not ch.closed
    assert ch.closed


def test_pipe_from_fd_without_ownership_leaves_fd_open():
    r, w = os.pipe()
    try:
        ch = PipeChannel.from_fd(w, own=False)
        assert ch.writable and not ch.readable and not os.get_blocking(w)
        ch.close()
        assert os.write(w, b"x") == 1
    finally:
        os.close(r)
        os.close(w)


# -- stream sockets ---------------------------------------------------------------


def test_repr_shows_state(closing):
    server = listener(closing)
    client = closing(SocketChannel.open())
    fd = int(client)
    assert repr(client) == f"<SocketChannel fd={fd} unconnected>"
    assert repr(server) == f"<ServerSocketChannel fd={int(server)} listening>"
    a, _ = closing(*socketpair())
    assert repr(a) == f"<SocketChannel fd={int(a)} connected>"


@pytest.mark.parametrize("family_host", FAMILIES)
def test_connect_accept_and_exchange(closing, family_host):
    client, conn = tcp_pair(closing, *family_host)
    assert not client.socket.getblocking() and not conn.socket.getblocking()
    assert not conn.socket.get_inheritable()
    assert client.write(b"hello") == 5
    assert read_exactly(conn, 5) == b"hello"
    assert conn.write(memoryview(b"back")) == 4
    assert read_exactly(client, 4) == b"back"


def test_would_block_results(closing):
    server = listener(closing)
    assert server.accept() is None
    client, conn = tcp_pair(closing)
    assert conn.read() is None
    assert conn.read_into(bytearray(10)) is None
    assert fill(client) > 0
    assert client.write(b"more") == 0
    assert client.write_sequence([b"a", b"b"]) == 0


def test_eof_and_half_close(closing):
    a, b = closing(*socketpair())
    a.shutdown(socket.SHUT_WR)
    wait_readable(b)
    assert b.read() == b""
    assert b.read_into(bytearray(4)) == 0
    assert b.write(b"still") == 5  # the other direction stays open
    assert read_exactly(a, 5) == b"still"
    with pytest.raises(BrokenPipeError) as info:
        a.write(b"x")
    assert info.value.errno == errno.EPIPE


def test_shutdown_ignores_enotconn(closing):
    ch = closing(SocketChannel.open())
    ch.shutdown(socket.SHUT_RDWR)


def test_read_into_fills_bytearray(closing):
    a, b = closing(*socketpair())
    a.write(b"0123456789")
    buf = bytearray(16)
    wait_readable(b)
    assert b.read_into(buf, 4) == 4
    assert b.read_into(memoryview(buf)[4:]) == 6
    assert bytes(buf[:10]) == b"0123456789"


def test_write_sequence_sends_buffers_in_order(closing):
    a, b = closing(*socketpair())
    parts = [b"ab", bytearray(b"cd"), memoryview(b"ef")]
    assert a.write_sequence(parts) == 6
    assert read_exactly(b, 6) == b"abcdef"
    many = [bytes([i % 256]) for i in range(3000)]  # more than IOV_MAX
    sent = a.write_sequence(many)
    assert 0 < sent <= len(many)
    assert read_exactly(b, sent) == b"".join(many)[:sent]


def test_abortive_close_gives_econnreset_then_epipe(closing):
    client, conn = tcp_pair(closing)
    client.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # RST instead of FIN
    wait_readable(conn)
    with pytest.raises(ConnectionResetError) as info:
        conn.read()
    assert info.value.errno == errno.ECONNRESET
    with pytest.raises(BrokenPipeError) as info:
        conn.write(b"x")
    assert info.value.errno == errno.EPIPE


@pytest.mark.parametrize("family_host", FAMILIES)
def test_connect_to_closed_port_is_refused(closing, family_host):
    family, host = family_host
    # A bound, non-listening socket holds the port, so the connect meets an RST.
    holder = closing(SocketChannel.open(family))
    holder.bind((host, 0))
    client = closing(SocketChannel.open(family))
    with pytest.raises(ConnectionRefusedError) as info:
        if not client.connect(holder.getsockname()):
            wait_writable(client)
            client.finish_connect()
    assert info.value.errno == errno.ECONNREFUSED


def test_finish_connect_is_false_until_connected(closing):
    client = closing(SocketChannel.open())
    assert client.finish_connect() is False  # no connect yet: ENOTCONN
    server = listener(closing)
    if not client.connect(server.getsockname()):
        wait_writable(client)
    assert client.finish_connect() is True
    assert client.getpeername() == server.getsockname()


def test_accept_reports_econnaborted_as_nothing(closing, monkeypatch):
    server = listener(closing)

    def aborted():
        raise ConnectionAbortedError(errno.ECONNABORTED, "aborted")

    monkeypatch.setattr(server, "_accept", aborted)
    assert server.accept() is None


def test_from_socket_and_from_fd_adopt(closing):
    raw = socket.socket(socket.AF_INET6 if _ipv6_loopback() else socket.AF_INET)
    ch = closing(SocketChannel.from_socket(raw))
    assert ch.socket is raw and not raw.getblocking() and ch == raw.fileno()
    listening = socket.create_server(("127.0.0.1", 0))
    address = listening.getsockname()
    server = closing(ServerSocketChannel.from_fd(listening.detach()))
    assert server.socket.family == socket.AF_INET and server.socket.type == socket.SOCK_STREAM
    assert server.getsockname() == address and not server.socket.getblocking()
    closed = socket.socket()
    closed.close()
    with pytest.raises(ValueError):
        SocketChannel.from_socket(closed)


# -- datagrams ---------------------------------------------------------------------


@pytest.mark.parametrize("family_host", FAMILIES)
def test_datagram_send_to_receive_reports_sender(closing, family_host):
    family, host = family_host
    a = closing(DatagramChannel.open(family))
    b = closing(DatagramChannel.open(family))
    a.bind((host, 0))
    b.bind((host, 0))
    assert b.receive() is None
    assert b.receive_into(bytearray(8)) is None
    assert a.send_to(b"one", b.getsockname()) == 3
    wait_readable(b)
    data, sender = b.receive()
    assert data == b"one" and sender == a.getsockname()
    assert a.send_to(b"two", b.getsockname()) == 3
    buf = bytearray(8)
    wait_readable(b)
    assert b.receive_into(buf) == (3, a.getsockname())
    assert bytes(buf[:3]) == b"two"


def test_connected_datagram_read_write_and_disconnect(closing):
    a, b = closing(*socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))
    assert isinstance(a, DatagramChannel)
    assert a.read() is None
    assert a.write(b"dgram") == 5
    wait_readable(b)
    assert b.read() == b"dgram"
    c, d = closing(DatagramChannel.open(), DatagramChannel.open())
    d.bind(("127.0.0.1", 0))
    c.connect(d.getsockname())
    assert repr(c).endswith(" connected>")
    assert c.write(b"udp") == 3
    wait_readable(d)
    assert d.receive() == (b"udp", c.getsockname())
    c.disconnect()
    assert repr(c).endswith("unconnected>")
    with pytest.raises(OSError):
        c.getpeername()


def test_connected_udp_to_closed_port_refused_on_read(closing):
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    address = holder.getsockname()
    holder.close()  # nothing listens there now: ICMP port unreachable
    ch = closing(DatagramChannel.open())
    ch.connect(address)
    assert ch.write(b"anyone?") == 7
    wait_readable(ch)  # a pending socket error makes it readable
    with pytest.raises(ConnectionRefusedError) as info:
        ch.read()
    assert info.value.errno == errno.ECONNREFUSED


# -- pipes ---------------------------------------------------------------------------


def test_pipe_read_write_eof(closing):
    source, sink = closing(*PipeChannel.pipe())
    assert repr(source) == f"<PipeChannel fd={int(source)} source>"
    assert source.read() is None
    assert source.read_into(bytearray(4)) is None
    assert sink.write(b"data") == 4
    wait_readable(source)
    buf = bytearray(8)
    assert source.read_into(buf, 2) == 2
    assert source.read() == b"ta" and bytes(buf[:2]) == b"da"
    sink.close()
    wait_readable(source)
    assert source.read() == b""
    assert source.read_into(buf) == 0


def test_pipe_full_would_block_then_epipe(closing):
    source, sink = closing(*PipeChannel.pipe())
    assert fill(sink) > 0
    assert sink.write(b"x") == 0
    source.close()
    with pytest.raises(BrokenPipeError) as info:
        sink.write(b"x")
    assert info.value.errno == errno.EPIPE


def test_unclosed_pipe_warns_and_closes():
    source, sink = PipeChannel.pipe()
    fd = int(source)
    with pytest.warns(ResourceWarning):
        del source
    sink.close()
    with pytest.raises(OSError):
        os.fstat(fd)
