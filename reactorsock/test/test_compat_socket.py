"""Differential tests: ``reactorsock.compat.socket`` against the stdlib ``socket``.

Each test body runs on both modules (the ``mod`` fixture).  A known
difference from CPython is an ``xfail`` on ours whose reason is its line in
``docs/compat.md`` (``test_xfail_reasons_are_lines_of_compat_md`` checks
that).  Real sockets on loopback only; every wait is bounded.
"""

from __future__ import annotations

import datetime
import errno
import gc
import io
import ipaddress
import os
import select
import selectors
import socket as stdsocket
import ssl as stdssl
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

import reactorsock.compat.socket as compat
from reactorsock.channel import ServerSocketChannel, SocketChannel
from reactorsock.compat import _socketobject

pytestmark = pytest.mark.timeout(20)

COMPAT_MD = Path(__file__).resolve().parents[2] / "docs" / "compat.md"
FD_NONBLOCKING = (
    "fd always non-blocking: the OS socket under a compat socket is O_NONBLOCK in every "
    "mode (channels never block), so raw fd I/O on a blocking-mode socket, or a stdlib "
    "socket sharing its file description, can get EAGAIN; detach() restores CPython's flag."
)
NOT_STDLIB_SOCKET = (
    "not a _socket.socket: compat sockets are not instances of the stdlib's socket class "
    "(they hold a channel), so the stdlib ssl module refuses them; use "
    "reactorsock.compat.ssl or ssl(sock)."
)
XFAIL_REASONS = [FD_NONBLOCKING, NOT_STDLIB_SOCKET]

HAS_IPV6 = stdsocket.has_ipv6
try:
    with stdsocket.socket(stdsocket.AF_INET6) as _probe:
        _probe.bind(("::1", 0))
except OSError:
    HAS_IPV6 = False
needs_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")

WAIT = 5.0  # seconds: the bound on any wait that should succeed at once


@pytest.fixture(params=[stdsocket, compat], ids=["stdlib", "compat"])
def mod(request):
    """The module under test: the stdlib ``socket`` or ``reactorsock.compat.socket``."""
    return request.param


def ours_differs(request, reason: str) -> None:
    """Mark the running test xfail (strict) on the compat module, for reason."""
    if request.node.callspec.params.get("mod") is compat:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


@pytest.fixture
def closing():
    """Collect sockets to close at teardown: ``closing(s)`` returns s."""
    items = []

    def add(*socks):
        items.extend(socks)
        return socks[0] if len(socks) == 1 else socks

    yield add
    for s in items:
        s.close()


def tcp_pair(mod, closing, family=stdsocket.AF_INET, host="127.0.0.1"):
    """Return ``(client, server_side)``, connected, both in timeout mode (WAIT)."""
    listener = closing(mod.socket(family, mod.SOCK_STREAM))
    listener.bind((host, 0))
    listener.listen()
    listener.settimeout(WAIT)
    client = closing(mod.socket(family, mod.SOCK_STREAM))
    client.settimeout(WAIT)
    client.connect(listener.getsockname()[:2])
    conn, _ = listener.accept()
    closing(conn)
    conn.settimeout(WAIT)
    return client, conn


def udp_pair(mod, closing):
    a = closing(mod.socket(mod.AF_INET, mod.SOCK_DGRAM))
    b = closing(mod.socket(mod.AF_INET, mod.SOCK_DGRAM))
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    a.settimeout(WAIT)
    b.settimeout(WAIT)
    return a, b


def recv_exactly(sock, n: int) -> bytes:
    chunks = []
    while n:
        data = sock.recv(min(n, 65536))
        if not data:
            break
        chunks.append(data)
        n -= len(data)
    return b"".join(chunks)


def in_thread(target, *args):
    """Start target(*args) in a daemon thread; the returned join() re-raises its error."""
    box: dict = {}

    def run():
        try:
            box["result"] = target(*args)
        except BaseException as e:  # handed to the test thread
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join():
        thread.join(WAIT * 2)
        assert not thread.is_alive(), "helper thread stuck"
        if "error" in box:
            raise box["error"]
        return box.get("result")

    return join


# -- the module -------------------------------------------------------------------


def test_xfail_reasons_are_lines_of_compat_md():
    """Each xfail reason is, word for word, a line of docs/compat.md's Differences."""
    text = COMPAT_MD.read_text()
    differences = text.split("## Differences", 1)[1].split("\n## ", 1)[0]
    lines = {line[2:] for line in differences.splitlines() if line.startswith("- ")}
    for reason in XFAIL_REASONS:
        assert reason in lines


def test_public_names_complete():
    """Every public name of the stdlib module exists in ours."""
    missing = {n for n in dir(stdsocket) if not n.startswith("_")} - set(dir(compat))
    assert missing == set()
    assert set(stdsocket.__all__) <= set(compat.__all__)


@pytest.mark.parametrize(
    "name",
    ["error", "timeout", "gaierror", "herror", "AF_INET", "SOCK_STREAM", "inet_aton",
     "htons", "getservbyname", "gethostname", "if_nameindex", "SocketIO",
     "_GLOBAL_DEFAULT_TIMEOUT", "AddressFamily", "_LOCALHOST", "_LOCALHOST_V6",
     "_GiveupOnSendfile"],
)  # fmt: skip
def test_constants_exceptions_and_pure_functions_are_the_stdlibs(name):
    assert getattr(compat, name) is getattr(stdsocket, name)


def test_exception_classes():
    assert compat.error is OSError
    assert compat.timeout is TimeoutError
    assert issubclass(compat.gaierror, OSError)


def test_socket_type(mod, closing):
    s = closing(mod.socket())
    assert isinstance(s, mod.SocketType)
    assert isinstance(s, mod.socket)


# -- modes ----------------------------------------------------------------------


def _echo_server(listener, count):
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(WAIT)
        received = recv_exactly(conn, count)
        conn.sendall(received)


@pytest.mark.parametrize("mode", ["blocking", "timeout", "nonblocking"])
@pytest.mark.parametrize("family", ["v4", pytest.param("v6", marks=needs_ipv6)], ids=["v4", "v6"])
def test_echo(mod, closing, family, mode):
    """Echo over TCP on loopback in each mode, client and server from the module."""
    fam, host = (mod.AF_INET, "127.0.0.1") if family == "v4" else (mod.AF_INET6, "::1")
    listener = closing(mod.socket(fam, mod.SOCK_STREAM))
    listener.bind((host, 0))
    listener.listen()
    listener.settimeout(WAIT)
    payload = os.urandom(200_000)
    join = in_thread(_echo_server, listener, len(payload))
    client = closing(mod.socket(fam, mod.SOCK_STREAM))
    client.settimeout(WAIT)
    client.connect(listener.getsockname()[:2])
    received = bytearray()
    if mode == "nonblocking":
        client.setblocking(False)
        sent = 0
        deadline = time.monotonic() + WAIT
        while len(received) < len(payload):
            assert time.monotonic() < deadline
            r, w, _ = select.select([client], [client] if sent < len(payload) else [], [], WAIT)
            if w:
                try:
                    sent += client.send(payload[sent : sent + 65536])
                except BlockingIOError:
                    pass
            if r:
                try:
                    received += client.recv(65536)
                except BlockingIOError:
                    pass
    else:
        client.settimeout(None if mode == "blocking" else WAIT)
        client.sendall(payload)
        received += recv_exactly(client, len(payload))
    join()
    assert received == payload


def test_timeout_zero_raises_blocking_io_error_at_once(mod, closing):
    """settimeout(0) is non-blocking mode: EAGAIN at once, not a 1 ms timeout."""
    client, _ = tcp_pair(mod, closing)
    client.settimeout(0)
    assert client.gettimeout() == 0.0
    assert client.getblocking() is False
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        with pytest.raises(BlockingIOError) as info:
            client.recv(10)
        best = min(best, time.perf_counter() - start)
    assert info.value.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
    assert best < 0.005


def test_timeout_recv_raises_timeout_error_after_timeout(mod, closing):
    client, _ = tcp_pair(mod, closing)
    client.settimeout(0.2)
    start = time.monotonic()
    with pytest.raises(mod.timeout) as info:
        client.recv(10)
    elapsed = time.monotonic() - start
    assert type(info.value) is TimeoutError
    assert str(info.value) == "timed out"
    assert 0.2 <= elapsed < 2


def test_timeout_accept(mod, closing):
    listener = closing(mod.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    with pytest.raises(TimeoutError, match="timed out"):
        listener.accept()
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_sendall_one_deadline(mod, closing):
    """sendall in timeout mode stops at one deadline for the whole call."""
    client, _ = tcp_pair(mod, closing)
    client.settimeout(0.3)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        client.sendall(b"x" * 50_000_000)  # the peer never reads
    assert time.monotonic() - start < 3


@pytest.mark.parametrize(
    ("value", "exc"),
    [(-1, ValueError), ("x", TypeError), (float("nan"), ValueError), (1e300, OverflowError)],
)
def test_settimeout_rejects_as_cpython(mod, closing, value, exc):
    s = closing(mod.socket())
    with pytest.raises(exc) as info:
        s.settimeout(value)
    with stdsocket.socket() as reference, pytest.raises(exc) as expected:
        reference.settimeout(value)
    assert str(info.value) == str(expected.value)


def test_default_timeout(mod, closing):
    old = mod.getdefaulttimeout()
    mod.setdefaulttimeout(1.5)
    try:
        s = closing(mod.socket())
        assert s.gettimeout() == 1.5
        a, b = closing(*mod.socketpair())
        assert a.gettimeout() == 1.5
    finally:
        mod.setdefaulttimeout(old)
    assert closing(mod.socket()).gettimeout() is None


def test_nonblock_type_flag(mod, closing):
    """SOCK_NONBLOCK starts a socket non-blocking; .type hides the flag."""
    s = closing(mod.socket(mod.AF_INET, mod.SOCK_STREAM | mod.SOCK_NONBLOCK))
    assert s.type == mod.SOCK_STREAM
    assert s.gettimeout() == 0.0


def test_fd_blocking_state_matches_mode(mod, closing, request):
    """The fd is O_NONBLOCK exactly in non-blocking and timeout modes."""
    ours_differs(request, FD_NONBLOCKING)
    s = closing(mod.socket())
    assert os.get_blocking(s.fileno()) is True


def test_detach_leaves_fd_as_cpython_does(mod, closing):
    s = mod.socket()
    fd = s.detach()
    try:
        assert s.fileno() == -1
        assert os.get_blocking(fd) is True
    finally:
        os.close(fd)
    t = mod.socket()
    t.settimeout(1)
    fd = t.detach()
    try:
        assert os.get_blocking(fd) is False
    finally:
        os.close(fd)


# -- connect ----------------------------------------------------------------------


def _free_port(mod):
    with stdsocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("timeout", [None, 1.0])
def test_connect_refused(mod, closing, timeout):
    s = closing(mod.socket())
    s.settimeout(timeout)
    with pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", _free_port(mod)))


def test_connect_ex(mod, closing):
    s = closing(mod.socket())
    s.settimeout(1.0)
    assert s.connect_ex(("127.0.0.1", _free_port(mod))) == errno.ECONNREFUSED
    listener = closing(mod.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    t = closing(mod.socket())
    t.setblocking(False)
    assert t.connect_ex(listener.getsockname()) in (0, errno.EINPROGRESS)
    with pytest.raises(mod.gaierror):
        t.connect_ex(("host.invalid", 80))


def test_nonblocking_connect_raises_einprogress(mod, closing):
    listener = closing(mod.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    s = closing(mod.socket())
    s.setblocking(False)
    try:
        s.connect(listener.getsockname())
    except BlockingIOError as e:
        assert e.errno == errno.EINPROGRESS
    _, w, _ = select.select([], [s], [], WAIT)
    assert w
    assert s.getsockopt(mod.SOL_SOCKET, mod.SO_ERROR) == 0


def test_accept_returns_a_module_socket(mod, closing):
    client, conn = tcp_pair(mod, closing)
    assert isinstance(conn, mod.socket)
    assert conn.getpeername() == client.getsockname()
    listener = closing(mod.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(WAIT)
    c2 = closing(mod.create_connection(listener.getsockname(), timeout=WAIT))
    accepted, address = listener.accept()
    closing(accepted)
    assert address == c2.getsockname()
    assert accepted.gettimeout() is None  # the default timeout, as CPython


def test_closed_socket_raises_ebadf(mod):
    s = mod.socket()
    s.close()
    with pytest.raises(OSError) as info:
        s.recv(1)
    assert info.value.errno == errno.EBADF
    s.close()  # idempotent


# -- addresses and options ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["SOCK_STREAM", "SOCK_DGRAM"])
def test_getsockname_after_bind_has_real_port(mod, closing, kind):
    """The real ephemeral port is known right after bind(), before listen()."""
    s = closing(mod.socket(mod.AF_INET, getattr(mod, kind)))
    s.bind(("", 0))
    host, port = s.getsockname()
    assert port != 0
    assert host == "0.0.0.0"


def test_udp_recvfrom_with_timeout_returns_sender(mod, closing):
    a, b = udp_pair(mod, closing)
    a.sendto(b"ping", b.getsockname())
    data, sender = b.recvfrom(100)
    assert (data, sender) == (b"ping", a.getsockname())
    buffer = bytearray(10)
    b.sendto(b"pong", ("127.0.0.1", a.getsockname()[1]))
    n, sender = a.recvfrom_into(buffer)
    assert (bytes(buffer[:n]), sender) == (b"pong", b.getsockname())
    b.settimeout(0.05)
    with pytest.raises(TimeoutError):
        b.recvfrom(100)


def test_so_linger_round_trip(mod, closing):
    s = closing(mod.socket())
    s.setsockopt(mod.SOL_SOCKET, mod.SO_LINGER, struct.pack("ii", 1, 10))
    raw = s.getsockopt(mod.SOL_SOCKET, mod.SO_LINGER, struct.calcsize("ii"))
    assert struct.unpack("ii", raw) == (1, 10)


def test_listener_options_reach_accepted_sockets(mod, closing):
    """Options set on a listener are the OS's: Linux copies them to accepted sockets."""
    listener = closing(mod.socket())
    listener.setsockopt(mod.IPPROTO_TCP, mod.TCP_NODELAY, 1)
    listener.setsockopt(mod.SOL_SOCKET, mod.SO_KEEPALIVE, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(WAIT)
    closing(mod.create_connection(listener.getsockname(), timeout=WAIT))
    conn, _ = listener.accept()
    closing(conn)
    assert conn.getsockopt(mod.IPPROTO_TCP, mod.TCP_NODELAY) != 0
    assert conn.getsockopt(mod.SOL_SOCKET, mod.SO_KEEPALIVE) != 0
    assert listener.getsockopt(mod.SOL_SOCKET, mod.SO_ACCEPTCONN) == 1


@needs_ipv6
def test_dualstack_ipv6_accepts_ipv4(mod, closing):
    if not mod.has_dualstack_ipv6():
        pytest.skip("no dual-stack IPv6")
    listener = closing(mod.create_server(("::", 0), family=mod.AF_INET6, dualstack_ipv6=True))
    listener.settimeout(WAIT)
    port = listener.getsockname()[1]
    client = closing(mod.create_connection(("127.0.0.1", port), timeout=WAIT))
    conn, address = listener.accept()
    closing(conn)
    assert address[0] == "::ffff:127.0.0.1"
    client.sendall(b"v4 over v6")
    conn.settimeout(WAIT)
    assert conn.recv(100) == b"v4 over v6"


def test_repr(mod, closing):
    s = closing(mod.socket())
    s.bind(("127.0.0.1", 0))
    text = repr(s)
    assert text.startswith(f"<{mod.__name__}.socket fd={int(s.fileno())}, family=")
    assert f"laddr={s.getsockname()}" in text
    s.close()
    assert repr(s).startswith(f"<{mod.__name__}.socket [closed] fd=-1,")


def test_unclosed_socket_warns(mod):
    s = mod.socket()
    text = repr(s)
    with pytest.warns(ResourceWarning, match="unclosed"):
        del s
        gc.collect()
    assert text


def test_context_manager_closes(mod):
    with mod.socket() as s:
        assert s.fileno() != -1
    assert s.fileno() == -1


def test_not_a_stdlib_socket_instance(mod, closing, request):
    ours_differs(request, NOT_STDLIB_SOCKET)
    assert isinstance(closing(mod.socket()), stdsocket.socket)


# -- shutdown -------------------------------------------------------------------


def test_shutdown_wr_gives_peer_eof(mod, closing):
    client, conn = tcp_pair(mod, closing)
    client.sendall(b"last words")
    client.shutdown(mod.SHUT_WR)
    assert recv_exactly(conn, 100) == b"last words"
    assert conn.recv(100) == b""
    conn.sendall(b"reply")  # the other direction stays open
    assert client.recv(100) == b"reply"


def test_shutdown_unconnected_tcp_raises_enotconn(mod, closing):
    s = closing(mod.socket())
    with pytest.raises(OSError) as info:
        s.shutdown(mod.SHUT_RDWR)
    assert info.value.errno == errno.ENOTCONN


def test_shutdown_listener_stops_accepting(mod, closing):
    listener = closing(mod.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    address = listener.getsockname()
    listener.shutdown(mod.SHUT_RDWR)
    with pytest.raises(ConnectionRefusedError):
        closing(mod.create_connection(address, timeout=WAIT))


def test_shutdown_udp(mod, closing):
    a, b = udp_pair(mod, closing)
    a.connect(b.getsockname())
    a.shutdown(mod.SHUT_WR)
    with pytest.raises(BrokenPipeError):
        a.send(b"x")
    b.connect(a.getsockname())
    b.shutdown(mod.SHUT_RD)
    b.settimeout(0.05)  # both modules poll "readable", recv says EAGAIN, until the deadline
    with pytest.raises(TimeoutError):
        b.recv(10)
    c = closing(mod.socket(mod.AF_INET, mod.SOCK_DGRAM))
    with pytest.raises(OSError) as info:
        c.shutdown(mod.SHUT_RDWR)  # unconnected: Linux shuts it down and says ENOTCONN
    assert info.value.errno == errno.ENOTCONN


def test_shutdown_unix(mod, closing):
    a, b = closing(*mod.socketpair())
    b.settimeout(WAIT)
    a.sendall(b"bye")
    a.shutdown(mod.SHUT_WR)
    assert recv_exactly(b, 10) == b"bye"
    assert b.recv(10) == b""


# -- fileno -----------------------------------------------------------------------


def test_fileno_is_an_int_for_select_and_selectors(mod, closing):
    client, conn = tcp_pair(mod, closing)
    fd = client.fileno()
    assert isinstance(fd, int)
    assert fd == int(fd) >= 0
    conn.sendall(b"x")
    r, _, _ = select.select([fd], [], [], WAIT)
    assert r == [fd]
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    assert poller.poll(WAIT * 1000)[0][0] == fd
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ, "data")
        events = selector.select(WAIT)
        assert [(key.fileobj, key.data) for key, _ in events] == [(client, "data")]
        selector.unregister(client)
    assert os.fstat(fd)
    client.close()
    assert client.fileno() == -1


def test_fileno_is_the_channel(closing):
    """Ours only: fileno() is the channel, a ServerSocketChannel after listen()."""
    s = closing(compat.socket())
    assert isinstance(s.fileno(), SocketChannel)
    s.bind(("127.0.0.1", 0))
    before = s.fileno()
    s.listen()
    assert isinstance(s.fileno(), ServerSocketChannel)
    assert s.fileno() == before
    c = closing(compat.create_connection(s.getsockname(), timeout=WAIT))
    assert isinstance(c.fileno(), SocketChannel)
    udp = closing(compat.socket(type=compat.SOCK_DGRAM))
    assert type(udp.fileno()).__name__ == "DatagramChannel"


# -- streams and helpers -----------------------------------------------------------------


def test_makefile_readline_round_trip(mod, closing):
    client, conn = tcp_pair(mod, closing)
    f = client.makefile("rwb")
    g = conn.makefile("rwb")
    f.write(b"hello\r\nworld\r\n")
    f.flush()
    assert g.readline() == b"hello\r\n"
    assert g.readline() == b"world\r\n"
    g.write(b"back\n")
    g.flush()
    assert f.readline() == b"back\n"
    text = conn.makefile("r", encoding="utf-8")
    client.sendall("ünï\n".encode())
    assert text.readline() == "ünï\n"
    for stream in (f, g, text):
        stream.close()


def test_makefile_keeps_socket_open_until_closed(mod, closing):
    client, conn = tcp_pair(mod, closing)
    f = conn.makefile("rb")
    conn.close()
    assert conn.fileno() != -1  # the file still holds it
    client.sendall(b"still here\n")
    assert f.readline() == b"still here\n"
    f.close()
    assert conn.fileno() == -1


def test_sendall_10_megabytes(mod, closing):
    client, conn = tcp_pair(mod, closing)
    payload = os.urandom(10 * 1024 * 1024)
    join = in_thread(recv_exactly, conn, len(payload))
    client.sendall(memoryview(payload))
    assert join() == payload


def test_sendfile(mod, closing, tmp_path):
    client, conn = tcp_pair(mod, closing)
    path = tmp_path / "data"
    payload = os.urandom(1_000_000)
    path.write_bytes(payload)
    join = in_thread(recv_exactly, conn, len(payload) - 1000)
    with open(path, "rb") as f:
        assert client.sendfile(f, offset=1000) == len(payload) - 1000
    assert join() == payload[1000:]
    with open(path, "rb") as f:
        join = in_thread(recv_exactly, conn, 500)
        client._sendfile_use_send(f, 0, 500)
        assert join() == payload[:500]


def test_socketpair(mod, closing):
    a, b = closing(*mod.socketpair())
    assert a.family == mod.AF_UNIX
    assert isinstance(a, mod.socket)
    b.settimeout(WAIT)
    a.sendall(b"pair")
    assert b.recv(10) == b"pair"
    c, d = closing(*mod.socketpair(mod.AF_UNIX, mod.SOCK_DGRAM))
    d.settimeout(WAIT)
    c.send(b"dgram")
    assert d.recv(10) == b"dgram"


def test_fromfd(mod, closing):
    a, b = closing(*mod.socketpair())
    c = closing(mod.fromfd(a.fileno(), mod.AF_UNIX, mod.SOCK_STREAM))
    assert c.fileno() != a.fileno()
    assert isinstance(c, mod.socket)
    b.settimeout(WAIT)
    c.sendall(b"via dup")
    assert b.recv(10) == b"via dup"


def test_dup(mod, closing):
    client, conn = tcp_pair(mod, closing)
    client.settimeout(2.5)
    twin = closing(client.dup())
    assert twin.gettimeout() == 2.5
    assert twin.fileno() != client.fileno()
    assert twin.getsockname() == client.getsockname()
    client.close()
    twin.sendall(b"twin")
    assert conn.recv(10) == b"twin"


def test_detach(mod, closing):
    client, conn = tcp_pair(mod, closing)
    fd = client.detach()
    assert client.fileno() == -1
    other = closing(mod.socket(fileno=fd))
    assert other.family == mod.AF_INET
    assert other.type == mod.SOCK_STREAM
    other.settimeout(WAIT)
    other.sendall(b"detached")
    assert conn.recv(20) == b"detached"


def test_socket_from_fileno_of_listener_accepts(mod, closing):
    listener = mod.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    address = listener.getsockname()
    adopted = closing(mod.socket(fileno=listener.detach()))
    adopted.settimeout(WAIT)
    closing(mod.create_connection(address, timeout=WAIT))
    conn, _ = adopted.accept()
    closing(conn)


def test_create_connection_and_server(mod, closing):
    server = closing(mod.create_server(("127.0.0.1", 0)))
    assert server.getsockopt(mod.SOL_SOCKET, mod.SO_REUSEADDR) != 0
    server.settimeout(WAIT)
    client = closing(mod.create_connection(("localhost", server.getsockname()[1]), WAIT))
    assert client.gettimeout() == WAIT
    conn, _ = server.accept()
    closing(conn)
    client.sendall(b"hi")
    conn.settimeout(WAIT)
    assert conn.recv(2) == b"hi"
    with pytest.raises(OSError, match="while attempting to bind"):
        mod.create_server(server.getsockname())
    with pytest.raises(ConnectionRefusedError):
        mod.create_connection(("127.0.0.1", _free_port(mod)), WAIT)
    with pytest.raises(ExceptionGroup):
        mod.create_connection(("127.0.0.1", _free_port(mod)), WAIT, all_errors=True)


def test_recvmsg_sendmsg_and_fds(mod, closing, tmp_path):
    a, b = closing(*mod.socketpair())
    b.settimeout(WAIT)
    assert a.sendmsg([b"he", b"llo"]) == 5
    data, ancdata, flags, _ = b.recvmsg(10)
    assert (data, ancdata) == (b"hello", [])
    with open(tmp_path / "f", "w") as f:
        mod.send_fds(a, [b"fd"], [f.fileno()])
        msg, fds, _, _ = mod.recv_fds(b, 10, 1)
    assert msg == b"fd"
    assert len(fds) == 1
    os.close(fds[0])
    buffer = bytearray(8)
    a.sendall(b"into")
    assert b.recv_into(buffer) == 4
    assert bytes(buffer[:4]) == b"into"


def test_inheritable(mod, closing):
    s = closing(mod.socket())
    assert s.get_inheritable() is False
    s.set_inheritable(True)
    assert s.get_inheritable() is True


# -- names -------------------------------------------------------------------------


def test_getaddrinfo(mod):
    infos = mod.getaddrinfo("127.0.0.1", 80, mod.AF_INET, mod.SOCK_STREAM)
    assert infos[0][0] is mod.AF_INET
    assert infos[0][4] == ("127.0.0.1", 80)
    assert mod.gethostbyname("127.0.0.1") == "127.0.0.1"
    assert mod.getnameinfo(("127.0.0.1", 80), mod.NI_NUMERICHOST | mod.NI_NUMERICSERV) == (
        "127.0.0.1",
        "80",
    )
    assert isinstance(mod.getfqdn(), str)


def test_getaddrinfo_ipv4_only():
    """Ours only: _use_ipv4_addresses_only(True) limits AF_UNSPEC to IPv4."""
    compat._use_ipv4_addresses_only(True)
    try:
        infos = compat.getaddrinfo("localhost", 80, compat.AF_UNSPEC, compat.SOCK_STREAM)
        assert infos
        assert {info[0] for info in infos} == {compat.AF_INET}
        with pytest.raises(compat.gaierror):
            compat.getaddrinfo("::1", 80)
        assert compat.getaddrinfo("::1", 80, compat.AF_INET6)  # explicit families unchanged
    finally:
        compat._use_ipv4_addresses_only(False)
    if HAS_IPV6:
        assert compat.getaddrinfo("::1", 80, compat.AF_UNSPEC)[0][0] == compat.AF_INET6


def test_idna_2008_conversion():
    assert compat.encode_host("straße.de") == "xn--strae-oqa.de"
    assert "straße.de".encode("idna") == b"strasse.de"  # the stdlib's IDNA 2003
    assert compat.encode_host("ALÁN.com") == "xn--aln-fla.com"
    for unchanged in ("localhost", "", "::1", "<broadcast>", b"bytes.example"):
        assert compat.encode_host(unchanged) == unchanged
    with pytest.raises(UnicodeError):
        compat.encode_host("a\u0000é.com")
    assert _socketobject._encode_address(compat.AF_INET, ("straße.de", 80)) == (
        "xn--strae-oqa.de",
        80,
    )
    assert _socketobject._encode_address(compat.AF_UNIX, "straße") == "straße"


def test_idna_2008_name_is_passed_to_the_resolver(monkeypatch):
    """Ours only: resolver functions hand the IDNA 2008 form to the stdlib."""
    seen = []

    def record(host, *args):
        seen.append(host)
        raise stdsocket.gaierror(stdsocket.EAI_NONAME, "recorded")

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        monkeypatch.setattr(stdsocket, name, record)
    monkeypatch.setattr(stdsocket, "getnameinfo", lambda addr, flags: record(addr[0]))
    calls = [
        lambda: compat.getaddrinfo("straße.de", 80),
        lambda: compat.gethostbyname("straße.de"),
        lambda: compat.gethostbyname_ex("straße.de"),
        lambda: compat.gethostbyaddr("straße.de"),
        lambda: compat.getnameinfo(("straße.de", 80), 0),
        lambda: compat.create_connection(("straße.de", 80)),
    ]
    for call in calls:
        with pytest.raises(compat.gaierror):
            call()
    assert seen == ["xn--strae-oqa.de"] * len(calls)


# -- legacy ssl() ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for localhost and 127.0.0.1: (certfile, keyfile)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(certfile), str(keyfile)


@pytest.fixture
def tls_server(tls_files, closing):
    """A stdlib-ssl echo server in a thread, for one connection: its port."""
    certfile, keyfile = tls_files
    context = stdssl.SSLContext(stdssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    listener = closing(stdsocket.create_server(("127.0.0.1", 0)))
    listener.settimeout(WAIT)

    def serve():
        conn, _ = listener.accept()
        conn.settimeout(WAIT)
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                data = tls.recv(100)
                tls.sendall(data.upper())
        except (stdssl.SSLError, OSError):
            pass  # the client refused the certificate

    join = in_thread(serve)
    yield listener.getsockname()[1]
    join()


def test_legacy_ssl_verifies_by_default(tls_server, closing):
    sock = closing(compat.create_connection(("localhost", tls_server), WAIT))
    with pytest.raises(stdssl.SSLCertVerificationError):
        compat.ssl(sock)


def test_legacy_ssl_with_cafile(tls_server, tls_files, closing):
    sock = closing(compat.create_connection(("localhost", tls_server), WAIT))
    tls = compat.ssl(sock, cafile=tls_files[0])
    assert tls.write(b"hello") == 5
    assert tls.read(100) == b"HELLO"
    assert tls.server() == "/CN=localhost"
    assert tls.issuer() == "/CN=localhost"


def test_legacy_ssl_checks_the_host_name(tls_server, tls_files, closing):
    sock = closing(compat.create_connection(("127.0.0.1", tls_server), WAIT))
    with pytest.raises(stdssl.SSLCertVerificationError, match="verify failed"):
        compat.ssl(sock, cafile=tls_files[0], server_hostname="other.example")
    sock.close()  # the server waits for this connection's end


def test_legacy_ssl_verify_false(tls_server, closing):
    sock = closing(compat.socket())
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", tls_server))
    tls = compat.ssl(sock, verify=False)
    tls.write(b"unverified")
    assert tls.read(100) == b"UNVERIFIED"


def test_legacy_ssl_over_a_stdlib_socket(tls_server, tls_files, closing):
    sock = closing(stdsocket.create_connection(("127.0.0.1", tls_server), WAIT))
    tls = compat.ssl(sock, cafile=tls_files[0], server_hostname="127.0.0.1")
    tls.write(b"ip")
    assert tls.read(100) == b"IP"


def test_makefile_over_compat_is_socketio(closing):
    client, _ = tcp_pair(compat, closing)
    raw = client.makefile("rwb", buffering=0)
    assert isinstance(raw, compat.SocketIO)
    assert isinstance(raw, io.RawIOBase)
    raw.close()


def test_accept_on_unlistening_socket_raises_einval(mod, closing):
    s = closing(mod.socket())
    s.bind(("127.0.0.1", 0))
    with pytest.raises(OSError) as info:
        s.accept()
    assert info.value.errno == errno.EINVAL


def test_accept_fd(mod, closing):
    """``_accept()`` returns ``(fd, address)``: a blocking fd the caller owns."""
    listener = closing(mod.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(WAIT)
    client = closing(mod.create_connection(listener.getsockname(), WAIT))
    fd, address = listener._accept()
    conn = closing(mod.socket(fileno=fd))
    assert type(fd) is int
    assert address == client.getsockname()
    conn.settimeout(WAIT)
    client.sendall(b"fd")
    assert conn.recv(10) == b"fd"


# -- argument checking and private names, as CPython's test_socket checks them -------


@pytest.mark.parametrize("fileno", [42.5, "foo"])
def test_fileno_argument_rejects_float_and_str(mod, fileno):
    with pytest.raises(TypeError):
        mod.socket(mod.AF_INET, mod.SOCK_STREAM, fileno=fileno)


def test_getnameinfo_rejects_a_non_tuple(mod):
    """A non-tuple address raises TypeError whose traceback holds no reference to it."""
    address = "not a tuple " + str(os.getpid())  # a new object: the refcount is ours alone
    before = sys.getrefcount(address)
    try:
        mod.getnameinfo(address, 0)
    except TypeError as e:
        assert str(e) == "getnameinfo() argument 1 must be a tuple"
        assert sys.getrefcount(address) == before  # while the traceback is alive
    else:
        pytest.fail("TypeError not raised")


@pytest.mark.parametrize("args", [(b"x",), (b"x", 0, ("127.0.0.1", 9), 4)], ids=["1", "4"])
def test_sendto_argument_count_error(mod, closing, args):
    s = closing(mod.socket(mod.AF_INET, mod.SOCK_DGRAM))
    with pytest.raises(TypeError) as info:
        s.sendto(*args)
    assert str(info.value) == f"sendto() takes 2 or 3 arguments ({len(args)} given)"


@pytest.mark.parametrize("method", ["sendmsg", "recvmsg_into"])
def test_buffers_must_be_an_iterable(mod, closing, method):
    a, _ = closing(*mod.socketpair())
    with pytest.raises(TypeError) as info:
        getattr(a, method)(5)
    assert str(info.value) == f"{method}() argument 1 must be an iterable"


def test_sendfile_gives_up_on_a_bad_fd(mod, closing, tmp_path):
    """``_sendfile_use_sendfile`` raises the module's ``_GiveupOnSendfile`` for a closed fd."""
    s = closing(mod.socket())
    fd = os.open(tmp_path, os.O_RDONLY)
    os.close(fd)

    class ClosedFile:
        def fileno(self):
            return fd

    with pytest.raises(mod._GiveupOnSendfile):
        s._sendfile_use_sendfile(ClosedFile())


@pytest.mark.parametrize("call", ["setblocking", "settimeout"])
def test_mode_change_on_a_closed_fd_raises(mod, closing, call):
    """setblocking()/settimeout() raise OSError when the fd under the socket is gone."""
    first = mod.socket(mod.AF_INET, mod.SOCK_STREAM, 0)
    sock = mod.socket(mod.AF_INET, mod.SOCK_STREAM, 0, first.fileno())
    first.close()
    try:
        with pytest.raises(OSError) as info:
            getattr(sock, call)(False if call == "setblocking" else 1.0)
        assert info.value.errno == errno.EBADF
    finally:
        sock.detach()
    closed = mod.socket()
    closed.close()
    with pytest.raises(OSError):
        closed.settimeout(None)


# -- MSG_DONTWAIT -------------------------------------------------------------------------


def _fill(sock, flags=0):
    """Send on sock (non-blocking) until the OS buffers are full."""
    sock.setblocking(False)
    try:
        while True:
            sock.send(b"x" * 65536, flags)
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)


_DONTWAIT_RECV = {
    "recv": lambda s, f: s.recv(10, f),
    "recv_into": lambda s, f: s.recv_into(bytearray(10), 10, f),
    "recvfrom": lambda s, f: s.recvfrom(10, f),
    "recvfrom_into": lambda s, f: s.recvfrom_into(bytearray(10), 10, f),
    "recvmsg": lambda s, f: s.recvmsg(10, 0, f),
    "recvmsg_into": lambda s, f: s.recvmsg_into([bytearray(10)], 0, f),
}
_DONTWAIT_SEND = {
    "send": lambda s, f: s.send(b"x", f),
    "sendall": lambda s, f: s.sendall(b"x", f),
    "sendmsg": lambda s, f: s.sendmsg([b"x"], [], f),
}


@pytest.mark.parametrize("call", [*_DONTWAIT_RECV, *_DONTWAIT_SEND])
def test_msg_dontwait_in_blocking_mode_raises_at_once(mod, closing, call):
    """MSG_DONTWAIT makes a blocking-mode call raise BlockingIOError instead of waiting."""
    a, b = closing(*mod.socketpair())
    if call in _DONTWAIT_SEND:
        _fill(a)
    assert a.gettimeout() is None
    started = time.monotonic()
    with pytest.raises(BlockingIOError):
        {**_DONTWAIT_RECV, **_DONTWAIT_SEND}[call](a, mod.MSG_DONTWAIT)
    assert time.monotonic() - started < 1.0


def test_msg_dontwait_in_timeout_mode_waits_for_the_timeout(mod, closing):
    """In timeout mode MSG_DONTWAIT changes nothing: CPython polls first, then times out."""
    a, b = closing(*mod.socketpair())
    a.settimeout(0.2)
    with pytest.raises(TimeoutError):
        a.recv(10, mod.MSG_DONTWAIT)
    b.sendall(b"late")
    assert a.recv(10, mod.MSG_DONTWAIT) == b"late"


def test_recvmsg_into_takes_an_iterator_of_buffers(mod, closing):
    """recvmsg_into with a generator of buffers still fills them after a wait."""
    a, b = closing(*mod.socketpair())
    a.settimeout(WAIT)
    first, second = bytearray(3), bytearray(5)

    def send_later():
        time.sleep(0.1)
        b.sendall(b"abcdefgh")

    join = in_thread(send_later)
    nbytes, _, _, _ = a.recvmsg_into(buf for buf in (first, second))
    join()
    assert nbytes == 8
    assert (bytes(first), bytes(second)) == (b"abc", b"defgh")


@pytest.fixture
def full_unix_listener(mod, closing):
    """A UNIX listener whose backlog is full: ``(listener, path, pending clients)``."""
    import tempfile

    directory = tempfile.TemporaryDirectory(dir="/tmp")  # short: sun_path is 108 bytes
    path = os.path.join(directory.name, "s")
    listener = closing(mod.socket(mod.AF_UNIX))
    listener.bind(path)
    listener.listen(0)
    pending = []
    for _ in range(64):
        client = closing(mod.socket(mod.AF_UNIX))
        client.setblocking(False)
        try:
            client.connect(path)
        except BlockingIOError:
            break
        pending.append(client)
    else:
        pytest.skip("the UNIX backlog never filled")
    yield listener, path, pending
    directory.cleanup()


@pytest.mark.parametrize("timeout", [0.0, 0.5], ids=["nonblocking", "timeout"])
def test_unix_connect_to_full_backlog_raises_eagain(mod, closing, full_unix_listener, timeout):
    """Non-blocking and timeout mode: EAGAIN at once, as CPython (its fd is non-blocking)."""
    _, path, _ = full_unix_listener
    client = closing(mod.socket(mod.AF_UNIX))
    client.settimeout(timeout)
    with pytest.raises(BlockingIOError) as info:
        client.connect(path)
    assert info.value.errno == errno.EAGAIN


def test_unix_connect_to_full_backlog_blocking_mode_waits_for_room(
    mod, closing, full_unix_listener, monkeypatch
):
    """Blocking mode waits until the listener accepts, without retrying connect in a spin."""
    listener, path, pending = full_unix_listener
    attempts = []
    connect = SocketChannel.connect

    def counting_connect(self, address):
        attempts.append(address)
        return connect(self, address)

    monkeypatch.setattr(SocketChannel, "connect", counting_connect)
    client = closing(mod.socket(mod.AF_UNIX))
    assert client.gettimeout() is None
    done = threading.Event()

    def connect_blocking():
        client.connect(path)
        done.set()

    join = in_thread(connect_blocking)
    assert not done.wait(0.3)  # still waiting: no room yet
    closing(listener.accept()[0])  # makes room in the backlog
    assert done.wait(WAIT)
    join()
    if mod is compat:
        assert len(attempts) < 100  # a spin makes tens of thousands in 0.3 s
