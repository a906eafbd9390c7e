"""Tests for endpoints and their description strings (``reactorsock.endpoints``)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import pytest
from zope.interface import implementer
from zope.interface.verify import verifyObject

from reactorsock import error
from reactorsock.defer import CancelledError, Deferred
from reactorsock.endpoints import (
    CLIENT_PARSERS,
    SERVER_PARSERS,
    ConnectingCancelledError,
    EndpointSyntax,
    HostnameEndpoint,
    NoProtocol,
    Param,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UDPServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
    clientFromString,
    connectProtocol,
    parse_description,
    serverFromString,
)
from reactorsock.interfaces import (
    IHalfCloseableProtocol,
    IListeningPort,
    IReactorUNIX,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from reactorsock.protocol import DatagramProtocol, Factory, Protocol
from reactorsock.test._util import iterate_until, requires, run_until

R = object()  # stands in for a reactor where only parsing is tested


def _has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback (::1) here")


@pytest.fixture
def sock_dir(tmp_path):
    """tmp_path, or a shorter directory when tmp_path would overflow sun_path (108 bytes)."""
    if len(os.fsencode(tmp_path)) < 70:
        yield tmp_path
        return
    short = Path(tempfile.mkdtemp(prefix="rs-ep-", dir="/tmp"))
    try:
        yield short
    finally:
        shutil.rmtree(short, ignore_errors=True)


# -- parsing: valid descriptions ---------------------------------------------------

SERVER_OK = [
    ("tcp:8080", TCP4ServerEndpoint(R, 8080, 50, "")),
    ("tcp:8080:interface=127.0.0.1:backlog=10", TCP4ServerEndpoint(R, 8080, 10, "127.0.0.1")),
    ("tcp:port=8080", TCP4ServerEndpoint(R, 8080, 50, "")),
    ("tcp:backlog=5:8080", TCP4ServerEndpoint(R, 8080, 5, "")),
    ("tcp:0:127.0.0.1:7", TCP4ServerEndpoint(R, 0, 7, "127.0.0.1")),
    (b"tcp:80", TCP4ServerEndpoint(R, 80, 50, "")),
    ("tcp6:8080", TCP6ServerEndpoint(R, 8080, 50, "::")),
    (r"tcp6:8080:interface=\:\:1", TCP6ServerEndpoint(R, 8080, 50, "::1")),
    (r"tcp6:443:interface=fe80\:\:1%lo:backlog=1", TCP6ServerEndpoint(R, 443, 1, "fe80::1%lo")),
    ("unix:/run/app.sock", UNIXServerEndpoint(R, "/run/app.sock", 50, 0o666, False)),
    (r"unix:/tmp/a\:b", UNIXServerEndpoint(R, "/tmp/a:b", 50, 0o666, False)),
    (r"unix:/tmp/a\=b", UNIXServerEndpoint(R, "/tmp/a=b", 50, 0o666, False)),
    (r"unix:/tmp/back\\slash", UNIXServerEndpoint(R, "/tmp/back\\slash", 50, 0o666, False)),
    ("unix:/path:mode=660:lockfile=1", UNIXServerEndpoint(R, "/path", 50, 0o660, True)),
    ("unix:address=/p:backlog=5:wantPID=0", UNIXServerEndpoint(R, "/p", 5, 0o666, False)),
    ("unix:/p:mode=0o600", UNIXServerEndpoint(R, "/p", 50, 0o600, False)),
    ("unix:@abstract", UNIXServerEndpoint(R, "@abstract", 50, 0o666, False)),
    ("udp:5353:interface=127.0.0.1", UDPServerEndpoint(R, 5353, "127.0.0.1", 8192)),
    ("udp:53:maxPacketSize=512", UDPServerEndpoint(R, 53, "", 512)),
]

CLIENT_OK = [
    (
        r"tcp:host=example.com:port=80:timeout=5:bindAddress=127.0.0.1\:0",
        TCP4ClientEndpoint(R, "example.com", 80, 5.0, ("127.0.0.1", 0)),
    ),
    ("tcp:example.com:80", TCP4ClientEndpoint(R, "example.com", 80, 30, None)),
    ("tcp:host=example.com:80", TCP4ClientEndpoint(R, "example.com", 80, 30, None)),
    ("tcp:example.com:port=80", TCP4ClientEndpoint(R, "example.com", 80, 30, None)),
    (
        "tcp:127.0.0.1:80:bindAddress=127.0.0.2:timeout=0.5",
        TCP4ClientEndpoint(R, "127.0.0.1", 80, 0.5, ("127.0.0.2", 0)),
    ),
    (r"tcp6:host=\:\:1:port=80", TCP6ClientEndpoint(R, "::1", 80, 30, None)),
    (
        r"tcp6:\:\:1:80:bindAddress=\:\:1",
        TCP6ClientEndpoint(R, "::1", 80, 30, ("::1", 0)),
    ),
    (
        r"tcp6:\:\:1:80:bindAddress=[\:\:1]\:4000",
        TCP6ClientEndpoint(R, "::1", 80, 30, ("::1", 4000)),
    ),
    ("unix:path=/tmp/s:timeout=2:checkPID=1", UNIXClientEndpoint(R, "/tmp/s", 2.0, True)),
    ("unix:/tmp/s", UNIXClientEndpoint(R, "/tmp/s", 30, False)),
    ("unix:/var/foo/bar:lockfile=1:timeout=9", UNIXClientEndpoint(R, "/var/foo/bar", 9.0, True)),
]


@pytest.mark.parametrize(
    ("description", "expected"), SERVER_OK, ids=[str(d) for d, _ in SERVER_OK]
)
def test_server_from_string(description, expected):
    assert serverFromString(R, description) == expected


@pytest.mark.parametrize(("description", "expected"), CLIENT_OK, ids=[d for d, _ in CLIENT_OK])
def test_client_from_string(description, expected):
    assert clientFromString(R, description) == expected


# -- parsing: malformed descriptions ----------------------------------------------

SERVER_BAD = [
    ("", "does not start with a type"),
    (":8080", "does not start with a type"),
    ("xyz:1", "unknown server endpoint type 'xyz'.*known: ssl, tcp, tcp6, udp, unix"),
    ("8080", "did you mean 'tcp:8080'"),
    ("tcp", "missing port.*expected tcp:PORT"),
    ("tcp:interface=127.0.0.1", "missing port"),
    ("tcp:http", "bad port 'http': not an integer.*expected tcp:PORT"),
    ("tcp:70000", "bad port '70000': out of range"),
    ("tcp:-1", "bad port '-1'"),
    ("tcp:80:bogus=1", "unknown keyword 'bogus'.*known: port, interface, backlog"),
    ("tcp:80:127.0.0.1:5:extra", "unexpected positional value.*'extra'"),
    ("tcp:80:backlog=x", "bad backlog 'x'"),
    ("tcp:80:backlog=1:backlog=2", "'backlog' is given twice"),
    ("tcp:80:=1", "empty keyword"),
    ("tcp:80\\", "lone backslash"),
    ("unix:/p=q", "unknown keyword '/p'"),
    ("unix:", "bad address '': empty"),
    ("unix:/p:mode=999", "bad mode '999': not an octal"),
    ("unix:/p:mode=77777", "bad mode '77777'"),
    ("unix:/p:lockfile=maybe", "bad lockfile 'maybe': not one of 0, 1"),
    ("unix:/p:wantPID=1:lockfile=1", "'lockfile' is given twice"),
    ("udp", "missing port.*expected udp:PORT"),
]

CLIENT_BAD = [
    ("tcp:example.com", "missing port.*expected tcp:HOST:PORT"),
    ("tcp:port=80", "missing host"),
    ("tcp:example.com:80:timeout=soon", "bad timeout 'soon': not a number"),
    ("tcp:example.com:80:timeout=0", "bad timeout '0': must be positive"),
    ("tcp:example.com:80:timeout=nan", "bad timeout 'nan': must be positive"),
    (r"tcp:h:80:bindAddress=1.2.3.4\:x", "bad bindAddress '1.2.3.4:x'"),
    (r"tcp6:\:\:1:80:bindAddress=[\:\:1", "bad bindAddress"),
    ("tcp:h:80:checkPID=1", "unknown keyword 'checkPID'"),
    ("unix:timeout=2", "missing path.*expected unix:PATH"),
    ("unix:/s:checkPID=2", "bad checkPID '2'"),
    ("udp:1", "unknown client endpoint type 'udp'"),
    ("tcp:example.com:80:5:127.0.0.1:x", "unexpected positional value"),
]


@pytest.mark.parametrize(("description", "message"), SERVER_BAD, ids=[d for d, _ in SERVER_BAD])
def test_server_from_string_rejects(description, message):
    with pytest.raises(ValueError, match=message):
        serverFromString(R, description)


@pytest.mark.parametrize(("description", "message"), CLIENT_BAD, ids=[d for d, _ in CLIENT_BAD])
def test_client_from_string_rejects(description, message):
    with pytest.raises(ValueError, match=message):
        clientFromString(R, description)


def test_errors_quote_the_description():
    with pytest.raises(ValueError) as info:
        serverFromString(R, "tcp:80:bogus=1")
    assert "'tcp:80:bogus=1'" in str(info.value)
    assert "e.g. tcp:8080:interface=127.0.0.1" in str(info.value)


def test_description_must_be_text():
    with pytest.raises(TypeError):
        serverFromString(R, 8080)


def test_parse_description():
    assert parse_description(r"unix:/a\:b:mode=660:x=y=z") == (
        "unix",
        ["/a:b"],
        {"mode": "660", "x": "y=z"},
    )
    assert parse_description("tcp") == ("tcp", [], {})
    assert parse_description("tcp::") == ("tcp", ["", ""], {})


def test_unavailable_type(monkeypatch):
    """A registered type whose module cannot be imported is a ValueError, not a crash."""
    monkeypatch.setitem(SERVER_PARSERS, "gone", "reactorsock.no_such_module:SYNTAX")
    with pytest.raises(ValueError, match="server endpoint type 'gone' is unavailable"):
        serverFromString(R, "gone:1")
    monkeypatch.setitem(SERVER_PARSERS, "empty", "reactorsock.endpoints:NO_SUCH_SYNTAX")
    with pytest.raises(ValueError, match="'empty' is unavailable"):
        serverFromString(R, "empty:1")


def test_tls_types_are_registered_lazily():
    assert "ssl" in SERVER_PARSERS and "tls" in CLIENT_PARSERS
    with pytest.raises(ValueError, match="missing port.*expected ssl:PORT"):
        serverFromString(R, "ssl:privateKey=k.pem")


def test_registry_is_extensible(monkeypatch):
    """A new type needs one registry entry; a "module:attr" entry is imported on first use."""
    monkeypatch.setitem(
        SERVER_PARSERS, "fake", "reactorsock.test.test_endpoints:FAKE_SERVER_SYNTAX"
    )
    monkeypatch.setitem(CLIENT_PARSERS, "fake", FAKE_SERVER_SYNTAX)
    assert serverFromString(R, "fake:7:name=x") == ("fake", R, 7, "x")
    assert SERVER_PARSERS["fake"] is FAKE_SERVER_SYNTAX  # resolved once, then cached
    assert clientFromString(R, "fake:8") == ("fake", R, 8, "anon")
    with pytest.raises(ValueError, match="expected fake:N"):
        serverFromString(R, "fake:x")


FAKE_SERVER_SYNTAX = EndpointSyntax(
    "fake:N[:name=NAME]",
    (Param("n", int, required=True), Param("name")),
    lambda reactor, n, name="anon": ("fake", reactor, n, name),
)


# -- endpoint objects ---------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        TCP4ServerEndpoint(R, 0),
        TCP6ServerEndpoint(R, 0),
        UNIXServerEndpoint(R, "/tmp/x"),
    ],
)
def test_server_endpoints_provide(endpoint):
    assert verifyObject(IStreamServerEndpoint, endpoint)


@pytest.mark.parametrize(
    "endpoint",
    [
        TCP4ClientEndpoint(R, "h", 1),
        TCP6ClientEndpoint(R, "::1", 1),
        HostnameEndpoint(R, b"h", 1),
        UNIXClientEndpoint(R, "/tmp/x"),
    ],
)
def test_client_endpoints_provide(endpoint):
    assert verifyObject(IStreamClientEndpoint, endpoint)


def test_hostname_endpoint_takes_bytes():
    assert HostnameEndpoint(R, b"example.com", 80) == HostnameEndpoint(R, "example.com", 80)


# -- helpers for real connections ------------------------------------------------------


class Recorder(Protocol):
    def __init__(self):
        self.data = bytearray()
        self.made = False
        self.lost = Deferred()
        self.reason = None

    def connectionMade(self):
        self.made = True

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.reason = reason
        self.lost.callback(None)


class Echo(Recorder):
    def dataReceived(self, data):
        self.transport.write(data)


@implementer(IHalfCloseableProtocol)
class HalfCloser(Recorder):
    def __init__(self):
        super().__init__()
        self.read_lost = False

    def readConnectionLost(self):
        self.read_lost = True
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass


class Servers(Factory):
    """Builds ``make()`` protocols and keeps them."""

    def __init__(self, make=Echo):
        self.make = make
        self.built = []

    def buildProtocol(self, addr):
        p = self.make()
        p.factory = self
        self.built.append(p)
        return p


def failure_of(reactor, d):
    """Run until d fails; return its Failure (fail the test if it succeeds)."""
    box = []
    d.addCallbacks(lambda r: pytest.fail(f"expected a failure, got {r!r}"), box.append)
    run_until(reactor, d)
    return box[0]


def roundtrip(reactor, server_ep, client_ep):
    """Listen, connect, echo a message, close; return the client protocol and the port."""
    servers = Servers(Echo)
    port = run_until(reactor, server_ep.listen(servers))
    assert verifyObject(IListeningPort, port)
    try:
        client = run_until(reactor, client_ep.connect(Factory.forProtocol(Recorder)))
        assert isinstance(client, Recorder)
        assert client.made and client.transport is not None
        client.transport.write(b"hello, endpoint")
        iterate_until(reactor, lambda: client.data == b"hello, endpoint")
        client.transport.loseConnection()
        run_until(reactor, client.lost)
        run_until(reactor, servers.built[0].lost)
    finally:
        run_until(reactor, port.stopListening())
    return client, port


def refused_port():
    """A loopback TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- listen and connect for real ---------------------------------------------------


def test_tcp_roundtrip(reactor):
    port = run_until(
        reactor, serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(Servers())
    )
    number = port.getHost().port
    run_until(reactor, port.stopListening())
    # A fresh port: the number was just free, so listen there for the real test.
    client, _ = roundtrip(
        reactor,
        serverFromString(reactor, f"tcp:{number}:interface=127.0.0.1:backlog=5"),
        clientFromString(reactor, f"tcp:host=127.0.0.1:port={number}:timeout=5"),
    )
    assert client.transport is not None
    assert client.reason.check(error.ConnectionDone)


@needs_ipv6
def test_tcp6_roundtrip(reactor):
    port = run_until(
        reactor, serverFromString(reactor, r"tcp6:0:interface=\:\:1").listen(Servers())
    )
    host = port.getHost()
    number = host.port
    assert host.host == "::1"
    run_until(reactor, port.stopListening())
    roundtrip(
        reactor,
        serverFromString(reactor, rf"tcp6:{number}:interface=\:\:1"),
        clientFromString(reactor, rf"tcp6:host=\:\:1:port={number}:bindAddress=\:\:1"),
    )


@needs_ipv6
def test_tcp6_client_resolves_names_to_ipv6(reactor):
    """A name resolves to its IPv6 addresses only; a name without one fails with DNSLookupError."""
    try:
        infos = socket.getaddrinfo("localhost", 0, socket.AF_INET6, socket.SOCK_STREAM)
    except socket.gaierror:
        infos = []
    if infos and infos[0][4][0] == "::1":
        servers = Servers()
        port = run_until(reactor, TCP6ServerEndpoint(reactor, 0, interface="::1").listen(servers))
        try:
            client = run_until(
                reactor,
                TCP6ClientEndpoint(reactor, "localhost", port.getHost().port).connect(
                    Factory.forProtocol(Recorder)
                ),
            )
            assert client.transport.getPeer().host == "::1"
            client.transport.loseConnection()
            run_until(reactor, client.lost)
            iterate_until(reactor, lambda: servers.built and servers.built[0].reason)
        finally:
            run_until(reactor, port.stopListening())
    else:
        d = TCP6ClientEndpoint(reactor, "localhost", 80).connect(Factory.forProtocol(Recorder))
        assert failure_of(reactor, d).check(error.DNSLookupError)


@requires(IReactorUNIX)
def test_unix_roundtrip(reactor, sock_dir):
    path = sock_dir / "s"
    servers = Servers()
    port = run_until(
        reactor, serverFromString(reactor, f"unix:{path}:mode=600:lockfile=1").listen(servers)
    )
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert int(Path(f"{path}.lock").read_text()) == os.getpid()
        d = clientFromString(reactor, f"unix:path={path}:timeout=2:checkPID=1").connect(
            Factory.forProtocol(Recorder)
        )
        client = run_until(reactor, d)
        client.transport.write(b"over unix")
        iterate_until(reactor, lambda: client.data == b"over unix")
        client.transport.loseConnection()
        run_until(reactor, client.lost)
        run_until(reactor, servers.built[0].lost)
    finally:
        run_until(reactor, port.stopListening())
    assert not path.exists()
    assert not Path(f"{path}.lock").exists()


@requires(IReactorUNIX)
def test_unix_path_with_escaped_colon(reactor, sock_dir):
    path = sock_dir / "a:b"
    escaped = str(path).replace(":", "\\:")
    roundtrip(
        reactor,
        serverFromString(reactor, f"unix:{escaped}"),
        clientFromString(reactor, f"unix:{escaped}"),
    )


def test_hostname_endpoint(reactor):
    family, _, _, _, sockaddr = socket.getaddrinfo("localhost", 0, 0, socket.SOCK_STREAM)[0]
    interface = sockaddr[0]
    port = run_until(
        reactor, TCP4ServerEndpoint(reactor, 0, interface=interface).listen(Servers())
    )
    number = port.getHost().port
    run_until(reactor, port.stopListening())
    roundtrip(
        reactor,
        TCP4ServerEndpoint(reactor, number, interface=interface),
        HostnameEndpoint(reactor, "localhost", number, timeout=5),
    )


def test_connect_protocol(reactor):
    servers = Servers()
    port = run_until(
        reactor, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(servers)
    )
    try:
        proto = Recorder()
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        assert run_until(reactor, connectProtocol(endpoint, proto)) is proto
        assert proto.made
        proto.transport.write(b"ping")
        iterate_until(reactor, lambda: proto.data == b"ping")
        proto.transport.loseConnection()
        run_until(reactor, proto.lost)
        run_until(reactor, servers.built[0].lost)
    finally:
        run_until(reactor, port.stopListening())


def test_listen_failure_errbacks(reactor):
    first = run_until(
        reactor, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(Servers())
    )
    try:
        again = TCP4ServerEndpoint(reactor, first.getHost().port, interface="127.0.0.1")
        reason = failure_of(reactor, again.listen(Servers()))
        assert reason.check(error.CannotListenError)
    finally:
        run_until(reactor, first.stopListening())


def test_connect_refused_errbacks(reactor):
    factory = Servers(Recorder)
    d = TCP4ClientEndpoint(reactor, "127.0.0.1", refused_port(), timeout=5).connect(factory)
    reason = failure_of(reactor, d)
    assert reason.check(error.ConnectionRefusedError)
    assert not factory.built
    assert factory.numPorts == 0  # doStart and doStop reached the wrapped factory


@requires(IReactorUNIX)
def test_unix_connect_failure_errbacks(reactor, sock_dir):
    d = clientFromString(reactor, f"unix:{sock_dir / 'missing'}").connect(Servers(Recorder))
    reason = failure_of(reactor, d)
    assert reason.check(error.ConnectError)
    assert isinstance(reason.value.osError, FileNotFoundError)


def test_cancel_stops_connecting(reactor):
    servers = Servers()
    port = run_until(
        reactor, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(servers)
    )
    try:
        factory = Servers(Recorder)
        d = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(factory)
        assert reactor.getWriters()  # the connect is in progress
        d.cancel()
        assert not reactor.getWriters()  # ... and was abandoned at once
        reason = failure_of(reactor, d)
        assert reason.check(ConnectingCancelledError, CancelledError)
        assert reason.value.address.port == port.getHost().port
        for _ in range(10):
            reactor.iterate(0.01)
        assert not factory.built  # no protocol was ever built
        assert factory.numPorts == 0
        assert not reactor.getWriters()
    finally:
        for p in servers.built:  # the server may have accepted before the client gave up
            run_until(reactor, p.lost)
        run_until(reactor, port.stopListening())


@requires(IReactorUNIX)
def test_cancel_unix_connect(reactor, sock_dir):
    factory = Servers(Recorder)
    d = UNIXClientEndpoint(reactor, str(sock_dir / "s"), checkPID=True).connect(factory)
    d.cancel()
    reason = failure_of(reactor, d)
    assert reason.check(ConnectingCancelledError)
    assert not reactor.getDelayedCalls()


def test_cancel_after_connecting_does_nothing(reactor):
    servers = Servers()
    port = run_until(
        reactor, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(servers)
    )
    try:
        d = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(
            Factory.forProtocol(Recorder)
        )
        client = run_until(reactor, d)
        d.cancel()
        assert client.transport.connected
        client.transport.loseConnection()
        run_until(reactor, client.lost)
        run_until(reactor, servers.built[0].lost)
    finally:
        run_until(reactor, port.stopListening())


@pytest.mark.parametrize("how", ["none", "raise"])
def test_build_protocol_failure_errbacks(reactor, how):
    servers = Servers()
    port = run_until(
        reactor, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(servers)
    )

    class Broken(Factory):
        def buildProtocol(self, addr):
            if how == "raise":
                raise RuntimeError("cannot build")
            return None

    try:
        d = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(Broken())
        reason = failure_of(reactor, d)
        assert reason.check(NoProtocol if how == "none" else RuntimeError)
        iterate_until(reactor, lambda: servers.built)
        run_until(reactor, servers.built[0].lost)  # the dropped connection closes the server side
    finally:
        run_until(reactor, port.stopListening())


@pytest.mark.parametrize("half", [True, False])
def test_wrapper_keeps_half_close_semantics(reactor, half):
    """The wrapped protocol gets readConnectionLost only if it is half-closeable."""
    servers = Servers(Recorder)
    port = run_until(
        reactor, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(servers)
    )
    try:
        proto = HalfCloser() if half else Recorder()
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        run_until(reactor, connectProtocol(endpoint, proto))
        assert IHalfCloseableProtocol.providedBy(proto.transport.protocol) is half
        iterate_until(reactor, lambda: servers.built and servers.built[0].transport)
        servers.built[0].transport.loseWriteConnection()
        run_until(reactor, proto.lost)
        if half:
            assert proto.read_lost
        assert proto.reason.check(error.ConnectionDone)
        run_until(reactor, servers.built[0].lost)
    finally:
        run_until(reactor, port.stopListening())


# -- UDP -------------------------------------------------------------------------------


class Collector(DatagramProtocol):
    def __init__(self):
        self.received = []

    def datagramReceived(self, datagram, addr):
        self.received.append(datagram)


@pytest.mark.parametrize("given", ["protocol", "factory"])
def test_udp_endpoint(reactor, given):
    proto = Collector()

    class OneProtocol:
        def buildProtocol(self, addr):
            assert addr is None
            return proto

    endpoint = serverFromString(reactor, "udp:0:interface=127.0.0.1")
    port = run_until(reactor, endpoint.listen(proto if given == "protocol" else OneProtocol()))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"datagram", ("127.0.0.1", port.getHost().port))
        iterate_until(reactor, lambda: proto.received)
        assert proto.received == [b"datagram"]
    finally:
        run_until(reactor, port.stopListening())


def test_udp_endpoint_listen_failure(reactor):
    first = run_until(reactor, UDPServerEndpoint(reactor, 0, "127.0.0.1").listen(Collector()))
    try:
        again = UDPServerEndpoint(reactor, first.getHost().port, "127.0.0.1")
        assert failure_of(reactor, again.listen(Collector())).check(error.CannotListenError)
    finally:
        run_until(reactor, first.stopListening())


# -- review regressions ----------------------------------------------------------------


@needs_ipv6
def test_tcp6_client_reports_refusal_after_resolving_as_refusal(reactor, monkeypatch):
    """Only a failed lookup is a DNSLookupError; a refused connect to the address found is not."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        number = s.getsockname()[1]
    resolved = Deferred()
    monkeypatch.setattr(reactor, "getaddrinfo", lambda *args: resolved)
    d = TCP6ClientEndpoint(reactor, "name.invalid", number, timeout=5).connect(
        Factory.forProtocol(Recorder)
    )
    resolved.callback([(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", number, 0, 0))])
    reason = failure_of(reactor, d)
    assert reason.check(error.ConnectionRefusedError), reason
    assert not reason.check(error.DNSLookupError)


@needs_ipv6
def test_tcp6_client_cancel_after_resolving(reactor, monkeypatch):
    """Cancelling once the name is resolved stops the connect, as on the other endpoints."""
    servers = Servers()
    port = run_until(reactor, TCP6ServerEndpoint(reactor, 0, interface="::1").listen(servers))
    try:
        number = port.getHost().port
        resolved = Deferred()
        monkeypatch.setattr(reactor, "getaddrinfo", lambda *args: resolved)
        factory = Servers(Recorder)
        d = TCP6ClientEndpoint(reactor, "name.invalid", number).connect(factory)
        resolved.callback([(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", number, 0, 0))])
        d.cancel()
        assert failure_of(reactor, d).check(ConnectingCancelledError)
        assert not reactor.getWriters()
        assert not factory.built
    finally:
        for p in servers.built:
            run_until(reactor, p.lost)
        run_until(reactor, port.stopListening())


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("tls::443", "bad host '': empty"),
        ("tls:host=:port=443", "bad host '': empty"),
        ("tls:example.com:443:trustRoots=", "bad trustRoots '': empty"),
        ("tls:example.com:443:certificate=", "bad certificate '': empty"),
        ("tls:example.com:443:privateKey=", "bad privateKey '': empty"),
    ],
)
def test_tls_client_string_rejects_empty_values(description, message):
    """An empty host or file is a malformed description, not a silent default."""
    pytest.importorskip("OpenSSL")
    with pytest.raises(ValueError, match=message):
        clientFromString(R, description)


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("ssl:443:privateKey=", "bad privateKey '': empty"),
        ("ssl:443:privateKey=k.pem:certKey=", "bad certKey '': empty"),
        ("ssl:443:privateKey=k.pem:backlog=x", "bad backlog 'x': not an integer"),
        ("ssl:443:privateKey=k.pem:backlog=-1", "bad backlog '-1': negative"),
        ("ssl:443:privateKey=k.pem:extraCertChain=", "bad extraCertChain '': empty"),
        ("ssl:443:privateKey=k.pem:caCertsDir=", "bad caCertsDir '': empty"),
    ],
)
def test_ssl_server_string_rejects_bad_values(description, message):
    """ssl: values are checked like tcp:'s, before any file is read."""
    pytest.importorskip("OpenSSL")
    with pytest.raises(ValueError, match=message):
        serverFromString(R, description)


@pytest.mark.parametrize(
    "description",
    ["tcp6:port=80:interface=::1", "tcp6:8080:interface=::", "udp:0:interface=::1"],
)
def test_unescaped_ipv6_interface_says_to_escape(description):
    """An IPv6 address written without escaping its colons gets a hint, not just 'bad value'."""
    with pytest.raises(ValueError, match=r"write a ':' inside a value as '\\:'"):
        serverFromString(R, description)


def test_tls_client_certificate_file_without_a_certificate(tmp_path):
    """A client certificate file holding only a key is a clear ValueError, not IndexError."""
    pytest.importorskip("OpenSSL")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ValueError, match="no certificate in .*key.pem"):
        clientFromString(R, f"tls:example.com:443:certificate={path}")


def test_tls_client_endpoint_setup_error_is_a_failed_deferred(monkeypatch):
    """An error building the TLS layer comes back as a failed Deferred, not raised."""
    import reactorsock.tls
    from reactorsock.tls import wrapClientTLS

    def broken(*args, **kwargs):
        raise ValueError("bad TLS options")

    monkeypatch.setattr(reactorsock.tls, "TLSWrappingFactory", broken)

    class Never:
        def connect(self, factory):  # pragma: no cover - must not be reached
            raise AssertionError("connected despite the error")

    d = wrapClientTLS(object(), Never()).connect(Factory.forProtocol(Protocol))
    failures = []
    d.addErrback(failures.append)
    assert failures and failures[0].check(ValueError)
