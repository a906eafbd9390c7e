"""Tests for ``tls``: real TLS handshakes on loopback, on every reactor backend.

Interop partners are real programs: ``openssl s_client``/``s_server``,
``curl`` and CPython's ``ssl`` module (in a thread).  Certificates are
made by the tests, into a temporary directory.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import select
import socket
import ssl
import subprocess
import threading

import pytest
from zope.interface.verify import verifyObject

from reactorsock import error
from reactorsock.endpoints import clientFromString, serverFromString
from reactorsock.interfaces import IReactorSSL, IReactorUNIX, ITCPTransport, ITransport
from reactorsock.protocol import ClientFactory, Protocol
from reactorsock.test import _conformance as conformance
from reactorsock.test._util import iterate_until, requires, run_until
from reactorsock.testing import StringTransport
from reactorsock.tls import (
    CertificateOptions,
    TLSError,
    TLSTransport,
    TLSTruncationError,
    TLSv1_2,
    TLSv1_3,
    TLSWrappingFactory,
    make_ca,
    make_certificate,
    optionsForClientTLS,
    save_pem,
    startTLS,
)

LOCAL = "127.0.0.1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A private CA, leaves signed by it (one expired), and their PEM files."""
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca("test_tls CA")
    now = datetime.datetime.now(datetime.UTC)
    made = {
        "ca": ca,
        "other_ca": make_ca("unrelated CA"),
        "server": make_certificate(ca, ["localhost", "127.0.0.1", "::1"]),
        "a": make_certificate(ca, ["a.test"]),
        "b": make_certificate(ca, ["b.test"]),
        "expired": make_certificate(
            ca,
            ["localhost", "127.0.0.1"],
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        ),
        "client": make_certificate(ca, ["client.test"], client=True),
    }
    made["ca_pem"] = save_pem(d / "ca.pem", ca.certificate)
    made["cert_pem"] = save_pem(d / "cert.pem", made["server"].certificate)
    made["key_pem"] = save_pem(d / "key.pem", made["server"].private_key)
    made["client_pem"] = save_pem(d / "client.pem", made["client"].certificate)
    made["client_key_pem"] = save_pem(d / "client-key.pem", made["client"].private_key)
    return made


def server_options(leaf, **kw):
    return CertificateOptions(privateKey=leaf.private_key, certificate=leaf.certificate, **kw)


def client_options(pki, host="localhost", **kw):
    return optionsForClientTLS(host, trustRoot=pki["ca"].certificate, **kw)


class Recorder(Protocol):
    """Keeps what arrives and why the connection ended; echoes when ``echo`` is set."""

    echo = False
    upper_and_close = False

    def __init__(self):
        self.data = bytearray()
        self.reason = None
        self.handshook = False

    def connectionMade(self):
        if self.factory is not None:
            self.factory.protocols.append(self)

    def handshakeCompleted(self):  # noqa: N802 - Twisted's IHandshakeListener
        self.handshook = True

    def dataReceived(self, data):
        self.data += data
        if self.echo:
            self.transport.write(data)
        if self.upper_and_close and b"\n" in self.data:
            self.transport.write(bytes(self.data).upper())
            self.transport.loseConnection()

    def connectionLost(self, reason):
        self.reason = reason


class Echo(Recorder):
    echo = True


class Upper(Recorder):
    upper_and_close = True


class Recording(ClientFactory):
    """A factory that remembers its protocols and the connector's verdicts."""

    def __init__(self, protocol=Recorder):
        self.protocol = protocol
        self.protocols = []
        self.failed = None
        self.lost = None

    def clientConnectionFailed(self, connector, reason):
        self.failed = reason

    def clientConnectionLost(self, connector, reason):
        self.lost = reason


@pytest.fixture
def ports(reactor):
    """Listening ports to close at teardown."""
    opened = []
    yield opened
    for p in opened:
        p.stopListening()


@pytest.fixture
def procs():
    """Child processes to kill at teardown (each test waits for its own first)."""
    started = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=5)
        for f in (p.stdin, p.stdout, p.stderr):
            if f is not None:
                f.close()


def listen(reactor, ports, factory, options):
    port = reactor.listenSSL(0, factory, options, interface=LOCAL)
    ports.append(port)
    return port.getHost().port


def wait_closed(reactor, *protocols, timeout=5.0):
    iterate_until(reactor, lambda: all(p.reason is not None for p in protocols), timeout)


def test_reactor_provides_ireactorssl(reactor):
    assert verifyObject(IReactorSSL, reactor)


def test_client_server_round_trip(reactor, ports, pki):
    server = Recording(Echo)
    port = listen(reactor, ports, server, server_options(pki["server"]))
    client = Recording()
    reactor.connectSSL(LOCAL, port, client, client_options(pki))
    iterate_until(reactor, lambda: client.protocols and server.protocols)
    c = client.protocols[0]
    assert isinstance(c.transport, TLSTransport)
    assert ITCPTransport.providedBy(c.transport)
    c.transport.write(b"ping ")
    c.transport.writeSequence([b"po", b"ng"])
    iterate_until(reactor, lambda: bytes(c.data) == b"ping pong")
    assert c.handshook
    assert c.transport.getPeerCertificate() == pki["server"].certificate
    assert c.transport.getPeer().port == port
    c.transport.loseConnection()
    s = server.protocols[0]
    wait_closed(reactor, c, s)
    assert c.reason.check(error.ConnectionDone), c.reason
    assert s.reason.check(error.ConnectionDone), s.reason
    iterate_until(reactor, lambda: client.lost is not None)
    assert client.lost.check(error.ConnectionDone)


class Pusher:
    """A streaming producer writing chunks of a big payload, honouring pause/resume."""

    def __init__(self, transport, payload, chunk=65536):
        self.transport = transport
        self.view = memoryview(payload)
        self.offset = 0
        self.chunk = chunk
        self.paused = False
        self.pauses = 0

    def pauseProducing(self):
        self.paused = True
        self.pauses += 1

    def resumeProducing(self):
        self.paused = False
        while not self.paused and self.offset < len(self.view):
            self.transport.write(self.view[self.offset : self.offset + self.chunk])
            self.offset += self.chunk
        if self.offset >= len(self.view):
            self.transport.unregisterProducer()

    def stopProducing(self):
        self.offset = len(self.view)


def test_ten_megabytes_round_trip_with_flow_control(reactor, ports, pki):
    """10 MB out and back, byte-exact; the producer is paused across the TLS layer."""
    payload = os.urandom(10 * 1024 * 1024)
    server = Recording(Echo)
    port = listen(reactor, ports, server, server_options(pki["server"]))
    client = Recording()
    reactor.connectSSL(LOCAL, port, client, client_options(pki))
    iterate_until(reactor, lambda: client.protocols and client.protocols[0].handshook)
    c = client.protocols[0]
    pusher = Pusher(c.transport, payload)
    c.transport.registerProducer(pusher, True)
    pusher.resumeProducing()
    iterate_until(reactor, lambda: len(c.data) >= len(payload), timeout=30)
    assert pusher.pauses > 0
    c.transport.loseConnection()
    wait_closed(reactor, c, server.protocols[0])
    assert c.reason.check(error.ConnectionDone), c.reason
    assert len(c.data) == len(payload)
    assert hashlib.sha256(c.data).digest() == hashlib.sha256(payload).digest()


@pytest.mark.parametrize(
    ("case", "client_says", "server_says"),
    [
        ("untrusted", "certificate verify failed: unknown CA", "unknown CA"),
        ("wrong host", "certificate verify failed: hostname mismatch: expected 'wrong.test'",
         "peer aborted the handshake"),
        ("expired", "certificate verify failed: certificate has expired",
         "certificate has expired"),
    ],
)  # fmt: skip
def test_verification_failure(reactor, ports, pki, case, client_says, server_says):
    leaf = pki["expired" if case == "expired" else "server"]
    server = Recording()
    port = listen(reactor, ports, server, server_options(leaf))
    trust = pki["other_ca" if case == "untrusted" else "ca"].certificate
    host = "wrong.test" if case == "wrong host" else "localhost"
    client = Recording()
    reactor.connectSSL(LOCAL, port, client, optionsForClientTLS(host, trustRoot=trust))
    iterate_until(reactor, lambda: client.protocols and server.protocols)
    c, s = client.protocols[0], server.protocols[0]
    c.transport.write(b"secret")
    wait_closed(reactor, c, s)
    assert c.reason.check(TLSError), c.reason
    assert str(c.reason.value).startswith(client_says), str(c.reason.value)
    assert s.reason.check(TLSError) and server_says in str(s.reason.value), str(s.reason.value)
    assert not s.data
    iterate_until(reactor, lambda: client.lost is not None)
    assert client.lost.check(TLSError)  # the factory hears the TLS reason too


@pytest.mark.parametrize("with_cert", [True, False])
def test_mutual_tls(reactor, ports, pki, with_cert):
    server = Recording(Echo)
    opts = server_options(pki["server"], trustRoot=pki["ca"].certificate)
    port = listen(reactor, ports, server, opts)
    client = Recording()
    cert = pki["client"] if with_cert else None
    reactor.connectSSL(LOCAL, port, client, client_options(pki, clientCertificate=cert))
    iterate_until(reactor, lambda: client.protocols and server.protocols)
    c, s = client.protocols[0], server.protocols[0]
    c.transport.write(b"hello")
    if with_cert:
        iterate_until(reactor, lambda: bytes(c.data) == b"hello")
        assert s.transport.getPeerCertificate() == pki["client"].certificate
        c.transport.loseConnection()
        wait_closed(reactor, c, s)
        assert s.reason.check(error.ConnectionDone)
    else:
        wait_closed(reactor, c, s)
        assert str(s.reason.value) == "peer did not send a certificate (required)"
        assert c.reason.check(TLSError) and "certificate" in str(c.reason.value)
        assert not s.data


@pytest.mark.parametrize("host", ["a.test", "b.test", "localhost"])
def test_sni_picks_certificate(reactor, ports, pki, host):
    opts = server_options(
        pki["server"],
        server_names={"a.test": server_options(pki["a"]), "b.test": server_options(pki["b"])},
    )
    server = Recording()
    port = listen(reactor, ports, server, opts)
    client = Recording()
    reactor.connectSSL(LOCAL, port, client, client_options(pki, host))
    iterate_until(reactor, lambda: client.protocols and client.protocols[0].handshook)
    c = client.protocols[0]
    expected = {"a.test": "a", "b.test": "b", "localhost": "server"}[host]
    assert c.transport.getPeerCertificate() == pki[expected].certificate
    iterate_until(reactor, lambda: server.protocols and server.protocols[0].handshook)
    assert server.protocols[0].transport.tls.requested_server_name == host
    c.transport.loseConnection()
    wait_closed(reactor, c, server.protocols[0])


@pytest.mark.parametrize(
    ("offered", "expected"),
    [([b"h2", b"http/1.1"], b"h2"), ([b"http/1.1"], b"http/1.1"), ([b"spdy/3"], None)],
)
def test_alpn(reactor, ports, pki, offered, expected):
    opts = server_options(pki["server"], acceptableProtocols=[b"h2", b"http/1.1"])
    server = Recording()
    port = listen(reactor, ports, server, opts)
    client = Recording()
    reactor.connectSSL(LOCAL, port, client, client_options(pki, acceptableProtocols=offered))
    iterate_until(reactor, lambda: client.protocols and client.protocols[0].handshook)
    iterate_until(reactor, lambda: server.protocols and server.protocols[0].handshook)
    c, s = client.protocols[0], server.protocols[0]
    assert c.transport.negotiatedProtocol == expected
    assert s.transport.negotiatedProtocol == expected
    c.transport.loseConnection()
    wait_closed(reactor, c, s)


class StartTLSServer(Recorder):
    """Answers ``STARTTLS`` with ``OK`` and switches to TLS; then echoes."""

    options = None

    def dataReceived(self, data):
        if isinstance(self.transport, TLSTransport):
            self.data += data
            self.transport.write(b"tls:" + data)
            return
        assert data == b"STARTTLS\r\n"
        self.transport.write(b"OK\r\n")
        startTLS(self.transport, self.options)


class StartTLSClient(Recorder):
    options = None

    def connectionMade(self):
        super().connectionMade()
        self.transport.write(b"STARTTLS\r\n")

    def dataReceived(self, data):
        if isinstance(self.transport, TLSTransport):
            self.data += data
            return
        assert data == b"OK\r\n"
        startTLS(self.transport, self.options)
        self.transport.write(b"secret")


def test_starttls_upgrade_mid_stream(reactor, ports, pki):
    server = Recording(StartTLSServer)
    StartTLSServer.options = server_options(pki["server"])
    StartTLSClient.options = client_options(pki)
    p = reactor.listenTCP(0, server, interface=LOCAL)
    ports.append(p)
    client = Recording(StartTLSClient)
    reactor.connectTCP(LOCAL, p.getHost().port, client)
    iterate_until(reactor, lambda: client.protocols and bytes(client.protocols[0].data))
    c = client.protocols[0]
    assert bytes(c.data) == b"tls:secret"
    assert c.transport.getPeerCertificate() == pki["server"].certificate
    s = server.protocols[0]
    assert isinstance(s.transport, TLSTransport) and s.transport.server_side
    c.transport.loseConnection()
    wait_closed(reactor, c, s)
    assert s.reason.check(error.ConnectionDone)
    with pytest.raises(RuntimeError):
        startTLS(c.transport, StartTLSClient.options)


class StartTLSSink(StartTLSServer):
    """``StartTLSServer`` that only records what arrives over TLS."""

    def dataReceived(self, data):
        if isinstance(self.transport, TLSTransport):
            self.data += data
            return
        super().dataReceived(data)


class StartTLSWithProducer(Recorder):
    """Registers a push producer on the plain connection, then starts TLS and resumes it."""

    options = None
    payload = b""

    def connectionMade(self):
        super().connectionMade()
        self.pusher = Pusher(self.transport, self.payload)
        self.transport.registerProducer(self.pusher, True)
        self.transport.write(b"STARTTLS\r\n")

    def dataReceived(self, data):
        assert data == b"OK\r\n"
        self.tls = startTLS(self.transport, self.options)
        self.pusher.transport = self.tls
        self.pusher.resumeProducing()  # the handshake has not even started on the server
        self.pauses_before_handshake = self.pusher.pauses


def test_starttls_moves_a_registered_producer_to_the_tls_layer(reactor, ports, pki):
    """A producer registered before ``startTLS`` is paused by the TLS layer and sees it through."""
    payload = os.urandom(1024 * 1024)
    server = Recording(StartTLSSink)
    StartTLSSink.options = server_options(pki["server"])
    StartTLSWithProducer.options = client_options(pki)
    StartTLSWithProducer.payload = payload
    p = reactor.listenTCP(0, server, interface=LOCAL)
    ports.append(p)
    client = Recording(StartTLSWithProducer)
    reactor.connectTCP(LOCAL, p.getHost().port, client)
    iterate_until(reactor, lambda: client.protocols and hasattr(client.protocols[0], "tls"))
    c = client.protocols[0]
    tls, pusher = c.tls, c.pusher
    assert tls.producer is pusher and tls.streamingProducer
    assert tls.transport.producer is not pusher  # the plain connection let it go
    # The plaintext waiting for the handshake passed the high-water mark: paused.
    assert c.pauses_before_handshake > 0
    iterate_until(reactor, lambda: server.protocols)
    s = server.protocols[0]
    iterate_until(reactor, lambda: len(s.data) >= len(payload), timeout=30)
    assert hashlib.sha256(s.data).digest() == hashlib.sha256(payload).digest()
    assert tls.producer is None  # the pusher unregistered from the TLS layer when done
    assert tls.transport.producer is None
    tls.loseConnection()
    wait_closed(reactor, c, s)
    assert c.reason.check(error.ConnectionDone), c.reason
    assert s.reason.check(error.ConnectionDone), s.reason


def test_handshake_timeout(reactor, ports, pki):
    """A client that connects and never speaks TLS is dropped after the timeout."""
    server = Recording()
    port = listen(reactor, ports, server, server_options(pki["server"], handshake_timeout=0.2))
    silent = Recording()
    reactor.connectTCP(LOCAL, port, silent)
    iterate_until(reactor, lambda: server.protocols)
    s = server.protocols[0]
    iterate_until(reactor, lambda: silent.protocols)
    wait_closed(reactor, s, silent.protocols[0])
    assert s.reason.check(TLSError)
    assert str(s.reason.value) == "TLS handshake timed out after 0.2 s"


def test_plaintext_to_tls_port_fails_cleanly_and_server_serves_others(reactor, ports, pki):
    server = Recording(Echo)
    port = listen(reactor, ports, server, server_options(pki["server"]))
    plain = Recording()
    reactor.connectTCP(LOCAL, port, plain)
    iterate_until(reactor, lambda: plain.protocols and server.protocols)
    plain.protocols[0].transport.write(b"GET / HTTP/1.0\r\n\r\n")
    bad = server.protocols[0]
    wait_closed(reactor, bad, plain.protocols[0])
    assert str(bad.reason.value) == "not TLS: plaintext received on a TLS port"
    # The port is still serving.
    client = Recording()
    reactor.connectSSL(LOCAL, port, client, client_options(pki))
    iterate_until(reactor, lambda: client.protocols)
    c = client.protocols[0]
    c.transport.write(b"still here")
    iterate_until(reactor, lambda: bytes(c.data) == b"still here")
    c.transport.loseConnection()
    wait_closed(reactor, c, server.protocols[1])


class BrokenContextFactory:
    """A context factory whose ``getContext`` fails, as a bad key/certificate pair does."""

    def getContext(self):  # noqa: N802 - Twisted API
        raise ValueError("no context today")


def test_context_factory_error_costs_one_connection_not_the_port(reactor, ports, pki, caplog):
    server = Recording()
    port = reactor.listenSSL(0, server, BrokenContextFactory(), interface=LOCAL)
    ports.append(port)
    for _ in range(2):
        plain = Recording()
        reactor.connectTCP(LOCAL, port.getHost().port, plain)
        iterate_until(reactor, lambda p=plain: p.lost is not None)
    assert "no context today" in caplog.text
    assert "Error" not in caplog.text.replace("ValueError", "")  # nothing else went wrong
    assert port.connected and port in reactor.getReaders()
    assert server.protocols == []  # never connected: no connectionLost either


class DropAfterWrite(Recorder):
    """Writes, then closes the TCP connection under TLS without a close_notify."""

    def dataReceived(self, data):
        self.transport.write(b"partial")
        self.transport._flush()
        self.transport.transport.loseConnection()


def test_truncation_is_not_a_clean_close(reactor, ports, pki):
    server = Recording(DropAfterWrite)
    port = listen(reactor, ports, server, server_options(pki["server"]))
    client = Recording()
    reactor.connectSSL(LOCAL, port, client, client_options(pki))
    iterate_until(reactor, lambda: client.protocols)
    c = client.protocols[0]
    c.transport.write(b"go")
    iterate_until(reactor, lambda: server.protocols)
    wait_closed(reactor, c, server.protocols[0])
    assert bytes(c.data) == b"partial"
    assert c.reason.check(TLSTruncationError), c.reason
    assert c.reason.check(error.ConnectionLost)
    assert not c.reason.check(error.ConnectionDone)


def test_endpoints_ssl_and_tls(reactor, ports, pki):
    desc = f"ssl:0:privateKey={pki['key_pem']}:certKey={pki['cert_pem']}:interface={LOCAL}"
    server = Recording(Echo)
    p = run_until(reactor, serverFromString(reactor, desc).listen(server))
    ports.append(p)
    cdesc = f"tls:host=localhost:port={p.getHost().port}:trustRoots={pki['ca_pem']}"
    client = Recording()
    c = run_until(reactor, clientFromString(reactor, cdesc).connect(client))
    assert isinstance(c, Recorder)
    c.transport.write(b"via endpoints")
    iterate_until(reactor, lambda: bytes(c.data) == b"via endpoints")
    c.transport.loseConnection()
    wait_closed(reactor, c, server.protocols[0])


TLS_CHECKS = (
    conformance.check_echo,
    conformance.check_lose_connection_flushes,
    conformance.check_abort_connection,
    conformance.check_streaming_producer_flow_control,
    conformance.check_producer_stopped_when_the_peer_goes,
    conformance.check_pull_producer,
    conformance.check_addresses,
    conformance.check_write_types,
    conformance.check_typed_memoryview_writes,
)
#: Half-close is TLS 1.3's: close_notify one way while data still flows the other.
TLS13_CHECKS = (
    conformance.check_half_close_client_first,
    conformance.check_half_close_server_first,
)


@pytest.mark.parametrize("check", TLS_CHECKS + TLS13_CHECKS, ids=lambda c: c.__name__)
def test_conformance_tls_over_tcp(reactor, pki, check):
    """The stream-transport conformance checks, over TLS over TCP.

    Half-close is a close_notify one way (TLS has no half-close over a TCP
    FIN), checked over TLS 1.3, where the peer may go on sending.  Flow
    control is that of the transport below, which holds ciphertext: the
    streaming-producer check reads its water marks there and allows one
    record's framing on top of a chunk.
    """
    minimum = TLSv1_3 if check in TLS13_CHECKS else TLSv1_2

    def make_pair(reactor, server_factory, client_factory):
        options = server_options(pki["server"], raiseMinimumTo=minimum)
        port = reactor.listenSSL(0, server_factory, options, interface=LOCAL)
        reactor.connectSSL(LOCAL, port.getHost().port, client_factory, client_options(pki))
        return port.stopListening

    def buffered(transport):
        return transport.transport._buffered + transport.tls.pending_plaintext

    def water_marks(transport):
        return transport.transport.highWaterMark, transport.transport.lowWaterMark

    # A TLS 1.3 record adds a 5-byte header, the content type and a 16-byte tag.
    check(reactor, make_pair, buffered=buffered, water_marks=water_marks, chunk_overhead=64)


@requires(IReactorUNIX)
def test_tls_over_unix_socket(reactor, pki, tmp_path):
    """TLSWrappingFactory wraps any stream transport: here a UNIX-domain socket."""
    path = str(tmp_path / "tls.sock")
    server = Recording(Echo)
    port = reactor.listenUNIX(path, TLSWrappingFactory(server_options(pki["server"]), False,
                                                       server))  # fmt: skip
    try:
        client = Recording()
        wrapping = TLSWrappingFactory(client_options(pki), True, client)
        reactor.connectUNIX(path, wrapping)
        iterate_until(reactor, lambda: client.protocols)
        c = client.protocols[0]
        c.transport.write(b"over unix")
        iterate_until(reactor, lambda: bytes(c.data) == b"over unix")
        assert c.transport.getPeerCertificate() == pki["server"].certificate
        c.transport.loseConnection()
        wait_closed(reactor, c, server.protocols[0])
        assert c.reason.check(error.ConnectionDone)
    finally:
        port.stopListening()


def test_tls_over_in_memory_transports(pki):
    """Two TLSTransports over StringTransports, pumped by hand: no reactor, no socket."""
    server, client = Recorder(), Recorder()
    s_tls = TLSTransport(server, server_options(pki["server"]), True)
    c_tls = TLSTransport(client, client_options(pki), False)
    s_raw, c_raw = StringTransport(), StringTransport()
    s_tls.makeConnection(s_raw)
    c_tls.makeConnection(c_raw)
    client.transport.write(b"in memory")

    def pump():
        for _ in range(10):
            a, b = c_raw.value(), s_raw.value()
            c_raw.clear()
            s_raw.clear()
            if not a and not b:
                return
            for i in range(len(a)):  # byte by byte
                s_tls.dataReceived(a[i : i + 1])
            if b:
                c_tls.dataReceived(b)

    pump()
    assert bytes(server.data) == b"in memory"
    assert verifyObject(ITransport, client.transport)
    server.transport.write(b"reply")
    pump()
    assert bytes(client.data) == b"reply"
    client.transport.loseConnection()
    pump()
    assert c_raw.disconnecting and s_raw.disconnecting
    s_tls.connectionLost(conformance_done())
    c_tls.connectionLost(conformance_done())
    assert server.reason.check(error.ConnectionDone)
    assert client.reason.check(error.ConnectionDone)


def conformance_done():
    from reactorsock.failure import Failure

    return Failure(error.ConnectionDone())


# -- interop with other TLS stacks ------------------------------------------------


def wait_process(reactor, proc, timeout=10.0):
    iterate_until(reactor, lambda: proc.poll() is not None, timeout)
    out = proc.stdout.read()
    err = proc.stderr.read() if proc.stderr else b""
    return out, err


def test_openssl_s_client_against_server(reactor, ports, procs, pki):
    server = Recording(Upper)
    port = listen(reactor, ports, server, server_options(pki["server"]))
    cmd = ["openssl", "s_client", "-connect", f"{LOCAL}:{port}", "-CAfile", str(pki["ca_pem"]),
           "-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost",
           "-quiet", "-ign_eof"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    procs.append(proc)
    proc.stdin.write(b"hello from s_client\n")
    proc.stdin.flush()
    out, err = wait_process(reactor, proc)
    assert out == b"HELLO FROM S_CLIENT\n", err
    assert proc.returncode == 0, err
    wait_closed(reactor, server.protocols[0])
    assert server.protocols[0].reason.check(error.ConnectionDone), server.protocols[0].reason


def test_stdlib_ssl_client_against_server(reactor, ports, pki):
    server = Recording(Upper)
    port = listen(reactor, ports, server, server_options(pki["server"]))
    result = {}

    def client():
        try:
            ctx = ssl.create_default_context(cafile=str(pki["ca_pem"]))
            with socket.create_connection((LOCAL, port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"hello from ssl\n")
                    chunks = []
                    while chunk := tls.recv(4096):
                        chunks.append(chunk)
                    result["data"] = b"".join(chunks)
                    result["version"] = tls.version()
        except Exception as e:  # reported by the main thread
            result["error"] = e

    t = threading.Thread(target=client, daemon=True)
    t.start()
    iterate_until(reactor, lambda: not t.is_alive(), timeout=10)
    assert "error" not in result, result
    assert result["data"] == b"HELLO FROM SSL\n"
    assert result["version"] == "TLSv1.3"
    wait_closed(reactor, server.protocols[0])


def _free_port():
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def _read_until(proc, marker, timeout=10.0):
    seen = b""
    fd = proc.stdout.fileno()
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            pytest.fail(f"no {marker!r} from {proc.args[:2]} within {timeout}s; got {seen!r}")
        chunk = os.read(fd, 4096)
        if not chunk:
            pytest.fail(f"{proc.args[:2]} exited; got {seen!r}")
        seen += chunk


def test_client_against_openssl_s_server(reactor, procs, pki):
    port = _free_port()
    cmd = ["openssl", "s_server", "-accept", f"{LOCAL}:{port}", "-cert", str(pki["cert_pem"]),
           "-key", str(pki["key_pem"]), "-rev", "-naccept", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    procs.append(proc)
    _read_until(proc, b"ACCEPT")
    client = Recording()
    reactor.connectSSL(LOCAL, port, client, client_options(pki))
    iterate_until(reactor, lambda: client.protocols)
    c = client.protocols[0]
    c.transport.write(b"hello s_server\n")
    iterate_until(reactor, lambda: b"\n" in c.data)
    assert bytes(c.data) == b"revres_s olleh\n"
    assert c.transport.getPeerCertificate() == pki["server"].certificate
    c.transport.loseConnection()
    wait_closed(reactor, c)
    assert c.reason.check(error.ConnectionDone), c.reason
    iterate_until(reactor, lambda: proc.poll() is not None, timeout=10)


class HTTP10(Recorder):
    """A tiny HTTP/1.0 responder: one fixed response per request, then close."""

    def dataReceived(self, data):
        self.data += data
        if b"\r\n\r\n" in self.data:
            body = b"hello over TLS\n"
            self.transport.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
            self.transport.loseConnection()


def test_curl_against_server(reactor, ports, procs, pki):
    server = Recording(HTTP10)
    opts = server_options(pki["server"], acceptableProtocols=[b"http/1.1"])
    port = listen(reactor, ports, server, opts)
    url = f"https://localhost:{port}/hello"
    cmd = ["curl", "-sS", "--max-time", "10", "--cacert", str(pki["ca_pem"]),
           "--resolve", f"localhost:{port}:{LOCAL}", url]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    procs.append(proc)
    out, err = wait_process(reactor, proc, timeout=15)
    assert proc.returncode == 0, err
    assert out == b"hello over TLS\n"
    s = server.protocols[0]
    wait_closed(reactor, s)
    assert s.data.startswith(b"GET /hello HTTP/1.")
    assert s.transport.negotiatedProtocol == b"http/1.1"


def test_curl_refuses_untrusted_server(reactor, ports, procs, pki):
    server = Recording(HTTP10)
    port = listen(reactor, ports, server, server_options(pki["server"]))
    cmd = ["curl", "-sS", "--max-time", "10", "--cacert", str(pki["ca_pem"]),
           f"https://wrong.test:{port}/", "--resolve", f"wrong.test:{port}:{LOCAL}"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    procs.append(proc)
    _, err = wait_process(reactor, proc, timeout=15)
    assert proc.returncode == 60, err  # CURLE_PEER_FAILED_VERIFICATION
    assert b"wrong.test" in err
    # curl checks the name after the handshake and then closes politely (close_notify),
    # so the server sees an ordinary end without a request.
    wait_closed(reactor, server.protocols[0])
    assert not server.protocols[0].data
