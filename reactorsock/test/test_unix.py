"""Tests for UNIX-domain stream sockets (``reactorsock.unix``) on every backend."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from zope.interface.verify import verifyObject

from reactorsock import error
from reactorsock.address import UNIXAddress
from reactorsock.defer import Deferred
from reactorsock.interfaces import (
    IConnector,
    IListeningPort,
    IReactorUNIX,
    IUNIXTransport,
)
from reactorsock.protocol import ClientFactory, Factory, Protocol
from reactorsock.test import _conformance
from reactorsock.test._util import iterate_until, requires, run_until
from reactorsock.unix import BadFileError, UNIXConnection, lock_path, normalize_address

pytestmark = requires(IReactorUNIX)

#: sun_path holds 108 bytes on Linux (unix(7)), 104 on the BSDs; leave room
#: for the socket's own name below the directory.
_MAX_DIR_BYTES = 70


@pytest.fixture
def sock_dir(tmp_path):
    """A directory for socket files: tmp_path, unless its path is too long for sun_path."""
    if len(os.fsencode(tmp_path)) < _MAX_DIR_BYTES:
        yield tmp_path
        return
    short = Path(tempfile.mkdtemp(prefix="rs-unix-", dir="/tmp"))
    try:
        yield short
    finally:
        shutil.rmtree(short, ignore_errors=True)


# -- helper protocols --------------------------------------------------------


class Recorder(Protocol):
    """Keeps what it receives; fires ``made`` and ``lost`` Deferreds."""

    def __init__(self):
        self.data = bytearray()
        self.made = Deferred()
        self.lost = Deferred()
        self.reason = None

    def connectionMade(self):
        self.made.callback(self)

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.reason = reason
        self.lost.callback(None)


class ServerFactory(Factory):
    """Builds ``Recorder`` protocols and keeps them in ``built``."""

    def __init__(self):
        self.built = []

    def buildProtocol(self, addr):
        p = Recorder()
        p.factory = self
        p.addr = addr
        self.built.append(p)
        return p


class Client(ClientFactory):
    """Builds one protocol; ``failed`` fires when an attempt fails, ``reason`` says why."""

    def __init__(self, proto=None):
        self.proto = proto if proto is not None else Recorder()
        self.failed = Deferred()
        self.stopped = 0
        self.reason = None

    def buildProtocol(self, addr):
        self.proto.factory = self
        return self.proto

    def clientConnectionFailed(self, connector, reason):
        self.reason = reason
        self.failed.callback(None)

    def stopFactory(self):
        self.stopped += 1


def connected_pair(reactor, path, **listen_kw):
    """Listen on path, connect to it; return (port, server protocol, client protocol)."""
    factory = ServerFactory()
    port = reactor.listenUNIX(path, factory, **listen_kw)
    client = Client()
    reactor.connectUNIX(path, client)
    run_until(reactor, client.proto.made)
    iterate_until(reactor, lambda: factory.built and factory.built[0].connected)
    return port, factory.built[0], client.proto


def close_pair(reactor, port, *protos):
    for p in protos:
        if p.transport is not None and not p.transport.disconnected:
            p.transport.loseConnection()
    for p in protos:
        run_until(reactor, p.lost)
    run_until(reactor, port.stopListening())


def stale_socket_file(path):
    """Leave a socket file at path that nobody listens on (a crashed server's)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.fspath(path))
    s.close()


def dead_pid():
    """A pid that no running process has: a child that has been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# -- data: the stream-transport conformance checks (10 MB echo, half-close
# both ways, flushing, abort, producers, addresses, write types) -----------------


@pytest.mark.parametrize("check", _conformance.STREAM_CHECKS, ids=lambda c: c.__name__[6:])
def test_conformance(reactor, sock_dir, check):
    """The stream-transport checks that TCP passes, over a UNIX socket."""

    def make_pair(reactor, server_factory, client_factory):
        port = reactor.listenUNIX(str(sock_dir / "s"), server_factory)
        reactor.connectUNIX(str(sock_dir / "s"), client_factory)
        return port.stopListening

    # AF_UNIX has no RST: after abortConnection the peer sees a clean EOF
    # unless the aborter left data unread (unix(7); Linux unix_release_sock).
    check(
        reactor,
        make_pair,
        transport_interface=IUNIXTransport,
        abort_peer_reason=error.ConnectionDone,
    )


# -- addresses ----------------------------------------------------------------


def test_addresses(reactor, sock_dir):
    path = str(sock_dir / "s")
    port, server, client = connected_pair(reactor, path)
    assert port.getHost() == UNIXAddress(path)
    assert server.addr == UNIXAddress("")  # the client socket is unnamed
    assert server.transport.getHost() == UNIXAddress(path)
    assert server.transport.getPeer() == UNIXAddress("")
    assert client.transport.getPeer() == UNIXAddress(path)
    assert client.transport.getHost() == UNIXAddress("")
    assert client.transport.connector.getDestination() == UNIXAddress(path)
    close_pair(reactor, port, client, server)


def test_interfaces(reactor, sock_dir):
    port, server, client = connected_pair(reactor, sock_dir / "s")
    for transport in (server.transport, client.transport):
        assert isinstance(transport, UNIXConnection)
        assert verifyObject(IUNIXTransport, transport)
    assert verifyObject(IListeningPort, port)
    assert verifyObject(IConnector, client.transport.connector)
    close_pair(reactor, port, client, server)


def test_tcp_options_are_no_ops(reactor, sock_dir):
    """A protocol written for TCP may set TCP options on a UNIX connection."""
    port, server, client = connected_pair(reactor, sock_dir / "s")
    client.transport.setTcpNoDelay(True)
    client.transport.setTcpKeepAlive(True)
    assert client.transport.getTcpNoDelay() is False
    assert client.transport.getTcpKeepAlive() is False
    client.transport.write(b"still fine")
    iterate_until(reactor, lambda: server.data == b"still fine")
    close_pair(reactor, port, client, server)


@pytest.mark.parametrize("kind", ["str", "bytes", "pathlike"])
def test_path_types(reactor, sock_dir, kind):
    path = {"str": str, "bytes": os.fsencode, "pathlike": Path}[kind](sock_dir / "s")
    port, server, client = connected_pair(reactor, path)
    assert port.getHost() == UNIXAddress(str(sock_dir / "s"))
    close_pair(reactor, port, client, server)
    assert not os.path.exists(sock_dir / "s")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract names are Linux's")
@pytest.mark.parametrize("spelling", ["@", "\0"])
def test_abstract_namespace(reactor, sock_dir, spelling):
    name = f"reactorsock-test-{uuid.uuid4().hex}"
    port, server, client = connected_pair(reactor, spelling + name)
    expected = UNIXAddress(b"\0" + name.encode())
    assert port.getHost() == expected
    assert client.transport.getPeer() == expected
    client.transport.write(b"hi")
    iterate_until(reactor, lambda: server.data == b"hi")
    close_pair(reactor, port, client, server)
    # The name is free again once the port has stopped.
    port = reactor.listenUNIX("@" + name, ServerFactory())
    run_until(reactor, port.stopListening())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract names are Linux's")
def test_abstract_name_in_use(reactor):
    name = f"@reactorsock-test-{uuid.uuid4().hex}"
    port = reactor.listenUNIX(name, ServerFactory())
    with pytest.raises(error.CannotListenError) as info:
        reactor.listenUNIX(name, ServerFactory())
    assert info.value.socketError.errno == errno.EADDRINUSE
    run_until(reactor, port.stopListening())


def test_normalize_address():
    assert normalize_address("/tmp/x") == "/tmp/x"
    assert normalize_address(b"/tmp/x") == b"/tmp/x"
    assert normalize_address(Path("/tmp/x")) == "/tmp/x"
    with pytest.raises(ValueError, match="empty"):
        normalize_address("")
    with pytest.raises(TypeError):
        normalize_address(42)
    if sys.platform.startswith("linux"):
        assert normalize_address("@name") == "\0name"
    assert lock_path("/tmp/x") == "/tmp/x.lock"
    assert lock_path(b"/tmp/x") == b"/tmp/x.lock"


# -- listening: files, permissions, locks --------------------------------------


def test_stop_listening_removes_socket_file(reactor, sock_dir):
    path = sock_dir / "s"
    port = reactor.listenUNIX(str(path), ServerFactory())
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    run_until(reactor, port.stopListening())
    assert not path.exists()
    run_until(reactor, port.stopListening())  # idempotent


def test_stop_listening_spares_a_successors_file(reactor, sock_dir):
    path = sock_dir / "s"
    port = reactor.listenUNIX(str(path), ServerFactory())
    os.unlink(path)
    stale_socket_file(path)  # someone else's socket now lives at path
    run_until(reactor, port.stopListening())
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_stale_socket_file_replaced(reactor, sock_dir):
    path = sock_dir / "s"
    stale_socket_file(path)
    port, server, client = connected_pair(reactor, str(path))
    client.transport.write(b"fresh")
    iterate_until(reactor, lambda: server.data == b"fresh")
    close_pair(reactor, port, client, server)


def test_live_listener_cannot_be_replaced(reactor, sock_dir):
    path = sock_dir / "s"
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        live.bind(str(path))
        live.listen(5)
        factory = ServerFactory()
        with pytest.raises(error.CannotListenError) as info:
            reactor.listenUNIX(str(path), factory)
        assert info.value.socketError.errno == errno.EADDRINUSE
        assert "listening" in str(info.value)
        assert info.value.port == str(path)
        assert factory.numPorts == 0
        # The live server's socket file is untouched and still works.
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect(str(path))
        probe.close()
    finally:
        live.close()


def test_live_reactorsock_listener_cannot_be_replaced(reactor, sock_dir):
    path = str(sock_dir / "s")
    port = reactor.listenUNIX(path, ServerFactory())
    with pytest.raises(error.CannotListenError):
        reactor.listenUNIX(path, ServerFactory())
    assert os.path.exists(path)  # the failed port did not remove the live one's file
    run_until(reactor, port.stopListening())


def test_non_socket_file_is_never_removed(reactor, sock_dir):
    path = sock_dir / "s"
    path.write_bytes(b"precious")
    with pytest.raises(error.CannotListenError) as info:
        reactor.listenUNIX(str(path), ServerFactory())
    assert "not a socket" in str(info.value)
    assert path.read_bytes() == b"precious"


def test_missing_directory(reactor, sock_dir):
    with pytest.raises(error.CannotListenError) as info:
        reactor.listenUNIX(str(sock_dir / "no" / "such" / "dir"), ServerFactory())
    assert isinstance(info.value.socketError, FileNotFoundError)


@pytest.mark.parametrize("mode", [0o600, 0o660, 0o666])
def test_mode_honoured(reactor, sock_dir, mode):
    path = sock_dir / "s"
    port = reactor.listenUNIX(str(path), ServerFactory(), mode=mode)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    run_until(reactor, port.stopListening())


def test_want_pid_writes_and_removes_lock(reactor, sock_dir):
    path = str(sock_dir / "s")
    port = reactor.listenUNIX(path, ServerFactory(), wantPID=True)
    with open(path + ".lock") as f:
        assert int(f.read()) == os.getpid()
    run_until(reactor, port.stopListening())
    assert not os.path.exists(path + ".lock")
    assert not os.path.exists(path)


def test_want_pid_refuses_a_held_lock(reactor, sock_dir):
    path = str(sock_dir / "s")
    port = reactor.listenUNIX(path, ServerFactory(), wantPID=True)
    with pytest.raises(error.CannotListenError, match="lock file .* held by running process"):
        reactor.listenUNIX(path, ServerFactory(), wantPID=True)
    assert os.path.exists(path + ".lock")  # the loser did not remove the winner's lock
    assert os.path.exists(path)
    run_until(reactor, port.stopListening())


def test_want_pid_refuses_a_lock_naming_a_running_process(reactor, sock_dir):
    """A lock file written by another program and naming a live pid is respected."""
    path = str(sock_dir / "s")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        Path(path + ".lock").write_text(f"{live.pid}\n")
        with pytest.raises(error.CannotListenError, match=f"running process {live.pid}"):
            reactor.listenUNIX(path, ServerFactory(), wantPID=True)
        assert not os.path.exists(path)
        assert Path(path + ".lock").read_text() == f"{live.pid}\n"
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("content", ["dead", "garbage", "empty"])
def test_want_pid_replaces_a_stale_lock(reactor, sock_dir, content):
    path = str(sock_dir / "s")
    text = {"dead": f"{dead_pid()}\n", "garbage": "not a pid", "empty": ""}[content]
    Path(path + ".lock").write_text(text)
    stale_socket_file(path)
    port, server, client = connected_pair(reactor, path, wantPID=True)
    assert int(Path(path + ".lock").read_text()) == os.getpid()
    close_pair(reactor, port, client, server)
    assert not os.path.exists(path + ".lock")


def test_want_pid_needs_a_path(reactor):
    with pytest.raises(ValueError, match="wantPID"):
        reactor.listenUNIX("@abstract", ServerFactory(), wantPID=True)


# -- connecting ---------------------------------------------------------------


def test_connect_to_missing_path_fails(reactor, sock_dir):
    client = Client()
    reactor.connectUNIX(str(sock_dir / "nothing"), client)
    run_until(reactor, client.failed)
    reason = client.reason
    assert reason.check(error.ConnectError)
    assert isinstance(reason.value.osError, FileNotFoundError)
    assert client.stopped == 1  # the factory was started and stopped again


def test_connect_to_stale_file_is_refused(reactor, sock_dir):
    path = sock_dir / "s"
    stale_socket_file(path)
    client = Client()
    reactor.connectUNIX(str(path), client)
    run_until(reactor, client.failed)
    reason = client.reason
    assert reason.check(error.ConnectionRefusedError)


def test_stop_connecting(reactor, sock_dir):
    port = reactor.listenUNIX(str(sock_dir / "s"), ServerFactory())
    client = Client()
    connector = reactor.connectUNIX(str(sock_dir / "s"), client)
    connector.stopConnecting()
    run_until(reactor, client.failed)
    reason = client.reason
    assert reason.check(error.UserError)
    run_until(reactor, port.stopListening())


def test_connect_retries_while_backlog_is_full(reactor, sock_dir):
    """A full backlog refuses with EAGAIN; the connector retries until it is accepted."""
    path = str(sock_dir / "s")
    factory = ServerFactory()
    port = reactor.listenUNIX(path, factory, backlog=1)
    reactor.removeReader(port)  # accept nothing for now
    fillers = []
    try:
        for _ in range(64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            fillers.append(s)
            if s.connect_ex(path) == errno.EAGAIN:
                break
        else:
            pytest.fail("the backlog never filled up")
        client = Client()
        connector = reactor.connectUNIX(path, client, timeout=5)
        for _ in range(5):
            reactor.iterate(0.01)
        assert connector.state == "connecting"
        reactor.addReader(port)  # accept again: the retry now gets through
        run_until(reactor, client.proto.made)
    finally:
        for s in fillers:
            s.close()
    client.proto.transport.loseConnection()
    run_until(reactor, client.proto.lost)
    iterate_until(reactor, lambda: all(not p.connected or p.reason for p in factory.built))
    for p in factory.built:
        if p.reason is None:
            p.transport.loseConnection()
            run_until(reactor, p.lost)
    run_until(reactor, port.stopListening())


def test_connect_times_out_while_backlog_stays_full(reactor, sock_dir):
    path = str(sock_dir / "s")
    port = reactor.listenUNIX(path, ServerFactory(), backlog=1)
    reactor.removeReader(port)
    fillers = []
    try:
        for _ in range(64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            fillers.append(s)
            if s.connect_ex(path) == errno.EAGAIN:
                break
        client = Client()
        reactor.connectUNIX(path, client, timeout=0.2)
        run_until(reactor, client.failed)
        reason = client.reason
        assert reason.check(error.TimeoutError)
        assert not reactor.getWriters()
    finally:
        for s in fillers:
            s.close()
    reactor.addReader(port)
    run_until(reactor, port.stopListening())


def test_check_pid_with_live_server(reactor, sock_dir):
    path = str(sock_dir / "s")
    factory = ServerFactory()
    port = reactor.listenUNIX(path, factory, wantPID=True)
    client = Client()
    reactor.connectUNIX(path, client, checkPID=True)
    run_until(reactor, client.proto.made)
    iterate_until(reactor, lambda: factory.built)
    close_pair(reactor, port, client.proto, factory.built[0])


@pytest.mark.parametrize("lock", ["missing", "dead", "garbage"])
def test_check_pid_without_live_server(reactor, sock_dir, lock):
    path = str(sock_dir / "s")
    port = reactor.listenUNIX(path, ServerFactory())  # a server is there, but no lock says so
    if lock == "dead":
        Path(path + ".lock").write_text(f"{dead_pid()}\n")
    elif lock == "garbage":
        Path(path + ".lock").write_text("?")
    client = Client()
    reactor.connectUNIX(path, client, checkPID=True)
    assert not client.failed.called  # reported from the loop, not from connectUNIX
    run_until(reactor, client.failed)
    reason = client.reason
    assert reason.check(BadFileError, error.ConnectError)
    assert {"missing": "no lock file", "dead": "not running", "garbage": "no pid"}[lock] in str(
        reason.value
    )
    run_until(reactor, port.stopListening())


def test_check_pid_stop_connecting_cancels_the_report(reactor, sock_dir):
    client = Client()
    connector = reactor.connectUNIX(str(sock_dir / "s"), client, checkPID=True)
    connector.stopConnecting()
    run_until(reactor, client.failed)
    reason = client.reason
    assert reason.check(error.UserError)
    assert not reactor.getDelayedCalls()


def test_reconnect_after_loss(reactor, sock_dir):
    path = str(sock_dir / "s")
    factory = ServerFactory()
    port = reactor.listenUNIX(path, factory)
    client = Client()
    connector = reactor.connectUNIX(path, client)
    run_until(reactor, client.proto.made)
    client.proto.transport.loseConnection()
    run_until(reactor, client.proto.lost)
    assert connector.state == "disconnected"
    client.proto = Recorder()
    connector.connect()
    run_until(reactor, client.proto.made)
    iterate_until(reactor, lambda: len(factory.built) == 2)
    close_pair(reactor, port, client.proto, factory.built[1])
    run_until(reactor, factory.built[0].lost)


# -- review regressions ---------------------------------------------------------


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")
@pytest.mark.parametrize("how", ["port", "connection"])
def test_adopting_a_non_socket_closes_the_duplicate(reactor, how):
    adopt = reactor.adoptStreamPort if how == "port" else reactor.adoptStreamConnection
    r, w = os.pipe()
    try:
        before = len(os.listdir(f"/proc/{os.getpid()}/fd"))
        with pytest.raises(OSError) as info:
            adopt(r, socket.AF_UNIX, ServerFactory())
        assert info.value.errno == errno.ENOTSOCK
        assert len(os.listdir(f"/proc/{os.getpid()}/fd")) == before
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("how", ["port", "connection"])
def test_adopting_a_closed_socket_is_a_value_error(reactor, how):
    adopt = reactor.adoptStreamPort if how == "port" else reactor.adoptStreamConnection
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.close()
    with pytest.raises(ValueError, match="closed"):
        adopt(s, socket.AF_UNIX, ServerFactory())


def test_lock_released_when_listening_fails_with_a_non_os_error(reactor, sock_dir):
    """Every failure path drops the lock: here a bad mode fails after the lock was taken."""
    path = str(sock_dir / "s")
    with pytest.raises(TypeError):
        reactor.listenUNIX(path, ServerFactory(), mode=None, wantPID=True)
    assert not os.path.exists(path + ".lock")
    assert not os.path.exists(path)
    port = reactor.listenUNIX(path, ServerFactory(), wantPID=True)  # the lock is free again
    run_until(reactor, port.stopListening())


@pytest.mark.parametrize("where", ["path", "abstract"])
def test_get_host_after_stop_listening(reactor, sock_dir, where):
    """As TCP and UDP ports do, a stopped port still reports the address it had."""
    if where == "abstract" and not sys.platform.startswith("linux"):
        pytest.skip("abstract names are Linux's")
    address = str(sock_dir / "s") if where == "path" else f"@rs-{uuid.uuid4().hex}"
    port = reactor.listenUNIX(address, ServerFactory())
    host = port.getHost()
    run_until(reactor, port.stopListening())
    assert port.getHost() == host


@pytest.mark.parametrize("want_pid", [False, True])
def test_start_listening_again_spares_the_live_port(reactor, sock_dir, want_pid):
    """A second startListening on a listening port fails without touching its files."""
    path = str(sock_dir / "s")
    port = reactor.listenUNIX(path, ServerFactory(), wantPID=want_pid)
    with pytest.raises((RuntimeError, error.CannotListenError)):
        port.startListening()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert os.path.exists(path + ".lock") is want_pid
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)  # still reachable
    finally:
        probe.close()
    run_until(reactor, port.stopListening())
    assert not os.path.exists(path) and not os.path.exists(path + ".lock")


def test_restart_after_stop_listening(reactor, sock_dir):
    """stop, start, stop: the second stop closes the socket too (the fixture checks readers)."""
    path = str(sock_dir / "s")
    factory = ServerFactory()
    port = reactor.listenUNIX(path, factory, wantPID=True)
    run_until(reactor, port.stopListening())
    port.startListening()
    assert port.connected and stat.S_ISSOCK(os.lstat(path).st_mode)
    run_until(reactor, port.stopListening())
    assert not port.connected and port.fileno() == -1
    assert port not in reactor.getReaders()
    assert not os.path.exists(path) and not os.path.exists(path + ".lock")
    assert factory.numPorts == 0


def test_stop_listening_spares_a_successors_lock_file(reactor, sock_dir):
    """As with the socket file, only the lock file this port created is removed."""
    path = str(sock_dir / "s")
    port = reactor.listenUNIX(path, ServerFactory(), wantPID=True)
    os.unlink(path + ".lock")
    Path(path + ".lock").write_text("someone else's\n")
    run_until(reactor, port.stopListening())
    assert Path(path + ".lock").read_text() == "someone else's\n"
    assert not os.path.exists(path)
