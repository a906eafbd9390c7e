"""Differential tests: ``reactorsock.compat.ssl`` against the stdlib ``ssl``.

Each client test body runs twice (the ``impl`` fixture): stdlib ``ssl`` over
stdlib sockets, and ``reactorsock.compat.ssl`` over compat sockets, against
a stdlib TLS server in a thread; server tests swap the roles.  Real TLS on
loopback, certificates made in a temporary directory, every wait bounded.
A known difference is an ``xfail`` whose reason is its line in
``docs/compat.md``.

The last section checks the compat socket's blocking ``recv`` on a UDP
socket shut for reading (it used to spin).
"""

from __future__ import annotations

import functools
import http.server
import os
import select
import socket as stdsocket
import ssl as stdssl
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import reactorsock.compat.socket as compatsocket
import reactorsock.compat.ssl as compatssl
from reactorsock._certs import make_ca, make_certificate, save_pem

pytestmark = pytest.mark.timeout(20)

ROOT = Path(__file__).resolve().parents[2]
COMPAT_MD = ROOT / "docs" / "compat.md"
WAIT = 5.0  # seconds: the bound on any wait that should succeed at once

HAS_IPV6 = stdsocket.has_ipv6
try:
    with stdsocket.socket(stdsocket.AF_INET6) as _probe:
        _probe.bind(("::1", 0))
except OSError:
    HAS_IPV6 = False

NO_CN_FALLBACK = (
    "ssl: no common-name fallback: check_hostname matches subjectAltName entries only "
    "(service_identity, RFC 6125), so a certificate without a subjectAltName fails where the "
    "stdlib's OpenSSL falls back to its commonName; hostname_checks_common_name is False."
)
XFAIL_REASONS = [NO_CN_FALLBACK]

STDLIB = SimpleNamespace(name="stdlib", ssl=stdssl, socket=stdsocket)
COMPAT = SimpleNamespace(name="compat", ssl=compatssl, socket=compatsocket)


@pytest.fixture(params=[STDLIB, COMPAT], ids=lambda m: m.name)
def impl(request):
    """The pair under test: stdlib ssl + socket, or compat ssl + socket."""
    return request.param


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a leaf it signed for localhost/127.0.0.1/::1, and an unrelated CA."""
    directory = tmp_path_factory.mktemp("pki")
    ca = make_ca("compat test CA")
    leaf = make_certificate(ca, ("localhost", "127.0.0.1", "::1"))
    other = make_ca("someone else's CA")
    return SimpleNamespace(
        cafile=str(save_pem(directory / "ca.pem", ca.certificate)),
        other_cafile=str(save_pem(directory / "other.pem", other.certificate)),
        certfile=str(save_pem(directory / "leaf.pem", leaf.certificate)),
        keyfile=str(save_pem(directory / "leaf.key", leaf.private_key)),
        leaf=leaf.certificate,
    )


@pytest.fixture
def closing():
    """Collect sockets to close at teardown: ``closing(s)`` returns s."""
    items = []

    def add(sock):
        items.append(sock)
        return sock

    yield add
    for s in items:
        s.close()


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


def serve_once(
    mod, pki, handler, *, alpn=None, family=stdsocket.AF_INET, host="127.0.0.1", gate=None
):
    """A TLS server of mod (stdlib or compat) for one connection: ``(port, join)``.

    handler(tls) runs on the accepted connection; TLS errors end it quietly
    (the client test checks them).  With gate (an Event), the server waits
    for it before its handshake.
    """
    context = mod.ssl.SSLContext(mod.ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.certfile, pki.keyfile)
    if alpn:
        context.set_alpn_protocols(alpn)
    listener = mod.socket.socket(family, mod.socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen()
    listener.settimeout(WAIT)

    def run():
        try:
            conn, _ = listener.accept()
            conn.settimeout(WAIT)
            if gate is not None:
                gate.wait(WAIT)
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    return handler(tls)
            except (stdssl.SSLError, OSError):
                return None
        finally:
            listener.close()

    return listener.getsockname()[1], in_thread(run)


def echo_upper(tls):
    data = tls.recv(1000)
    tls.sendall(data.upper())
    return data


def client_context(impl, pki, cafile=None):
    return impl.ssl.create_default_context(cafile=cafile or pki.cafile)


def connect(impl, closing, port, host="127.0.0.1"):
    return closing(impl.socket.create_connection((host, port), timeout=WAIT))


def ours_differs(request, impl, reason: str) -> None:
    """Mark the running test xfail (strict) for the compat pair, for reason."""
    if impl is COMPAT:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


# -- the module ----------------------------------------------------------------------


def test_xfail_reasons_are_lines_of_compat_md():
    """Each xfail reason is, word for word, a line of docs/compat.md's Differences."""
    text = COMPAT_MD.read_text()
    differences = text.split("## Differences", 1)[1].split("\n## ", 1)[0]
    lines = {line[2:] for line in differences.splitlines() if line.startswith("- ")}
    for reason in XFAIL_REASONS:
        assert reason in lines


def test_public_names_complete():
    """Every public name of the stdlib ssl module exists in ours."""
    missing = {n for n in dir(stdssl) if not n.startswith("_")} - set(dir(compatssl))
    assert missing == set()


@pytest.mark.parametrize(
    "name",
    ["SSLError", "SSLZeroReturnError", "SSLWantReadError", "SSLWantWriteError",
     "SSLSyscallError", "SSLEOFError", "SSLCertVerificationError", "CertificateError",
     "PROTOCOL_TLS_CLIENT", "CERT_REQUIRED", "OP_NO_TLSv1", "TLSVersion", "Purpose",
     "HAS_SNI", "HAS_ALPN", "OPENSSL_VERSION", "DER_cert_to_PEM_cert"],
)  # fmt: skip
def test_exceptions_and_constants_are_the_stdlibs(name):
    assert getattr(compatssl, name) is getattr(stdssl, name)


def test_classes_are_ours():
    for cls in (compatssl.SSLContext, compatssl.SSLSocket, compatssl.SSLObject,
                compatssl.MemoryBIO):  # fmt: skip
        assert cls.__module__ == "reactorsock.compat.ssl"
        assert cls is not getattr(stdssl, cls.__name__)
    assert issubclass(compatssl.SSLSocket, compatsocket.socket)


@pytest.mark.parametrize("purpose", ["SERVER_AUTH", "CLIENT_AUTH"])
def test_default_context_settings(impl, pki, purpose):
    """create_default_context sets what the stdlib sets: verification on for clients."""
    ctx = impl.ssl.create_default_context(getattr(impl.ssl.Purpose, purpose), cafile=pki.cafile)
    std = stdssl.create_default_context(getattr(stdssl.Purpose, purpose), cafile=pki.cafile)
    assert (ctx.verify_mode, ctx.check_hostname) == (std.verify_mode, std.check_hostname)
    assert ctx.options == std.options
    assert (ctx.minimum_version, ctx.maximum_version) == (std.minimum_version, std.maximum_version)
    assert ctx.protocol == std.protocol
    assert ctx.cert_store_stats() == std.cert_store_stats()
    assert ctx.get_ca_certs() == std.get_ca_certs()


def test_context_setting_rules(impl):
    ctx = impl.ssl.SSLContext(impl.ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ValueError, match="check_hostname is enabled"):
        ctx.verify_mode = impl.ssl.CERT_NONE
    ctx.check_hostname = False
    ctx.verify_mode = impl.ssl.CERT_NONE
    ctx.check_hostname = True  # turns verification back on
    assert ctx.verify_mode == impl.ssl.CERT_REQUIRED
    ctx.minimum_version = impl.ssl.TLSVersion.TLSv1_3
    assert ctx.minimum_version == stdssl.TLSVersion.TLSv1_3
    ctx.options |= impl.ssl.OP_NO_TICKET
    ctx.options &= ~impl.ssl.OP_NO_TICKET
    assert not ctx.options & stdssl.OP_NO_TICKET
    with pytest.raises(impl.ssl.SSLError):
        ctx.set_ciphers("NO-SUCH-CIPHER")
    with pytest.raises(impl.ssl.SSLError, match="ALPN protocols must be 1 to 255"):
        ctx.set_alpn_protocols(["x" * 256])
    with pytest.raises(FileNotFoundError):
        ctx.load_verify_locations("/nonexistent/ca.pem")
    with pytest.raises(FileNotFoundError):
        ctx.load_cert_chain("/nonexistent/cert.pem")
    with pytest.raises(TypeError):
        ctx.load_verify_locations()


def test_wrap_socket_argument_checks(impl, closing):
    ctx = impl.ssl.create_default_context()
    sock = closing(impl.socket.socket())
    with pytest.raises(ValueError, match="check_hostname requires server_hostname"):
        ctx.wrap_socket(sock)
    server = impl.ssl.SSLContext(impl.ssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(ValueError, match="client mode"):
        server.wrap_socket(sock, server_side=True, server_hostname="x")
    with pytest.raises(TypeError):
        impl.ssl.SSLSocket()


# -- client ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_verified_connect_with_cafile(impl, pki, closing, host):
    port, join = serve_once(STDLIB, pki, echo_upper)
    ctx = client_context(impl, pki)
    with ctx.wrap_socket(connect(impl, closing, port), server_hostname=host) as tls:
        assert isinstance(tls, impl.ssl.SSLSocket)
        assert tls.server_hostname == host
        assert tls.version() == "TLSv1.3"
        name, protocol, bits = tls.cipher()
        assert protocol == "TLSv1.3" and bits >= 128 and name.startswith("TLS_")
        tls.sendall(b"hello")
        assert tls.recv(100) == b"HELLO"
    assert join() == b"hello"


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
def test_verified_connect_over_ipv6(impl, pki, closing):
    port, join = serve_once(STDLIB, pki, echo_upper, family=stdsocket.AF_INET6, host="::1")
    ctx = client_context(impl, pki)
    with ctx.wrap_socket(connect(impl, closing, port, "::1"), server_hostname="::1") as tls:
        tls.sendall(b"six")
        assert tls.recv(100) == b"SIX"
    join()


def test_untrusted_ca_fails_verification(impl, pki, closing):
    port, join = serve_once(STDLIB, pki, echo_upper)
    ctx = client_context(impl, pki, cafile=pki.other_cafile)
    sock = connect(impl, closing, port)
    with pytest.raises(impl.ssl.SSLCertVerificationError) as info:
        ctx.wrap_socket(sock, server_hostname="localhost")
    assert isinstance(info.value, stdssl.SSLError)
    assert info.value.verify_code == 20
    assert info.value.verify_message == "unable to get local issuer certificate"
    assert info.value.reason == "CERTIFICATE_VERIFY_FAILED"
    assert "certificate verify failed" in str(info.value)
    join()


@pytest.mark.parametrize(
    ("host", "code", "message"),
    [
        ("other.example", 62, "Hostname mismatch, certificate is not valid for 'other.example'."),
        ("127.0.0.2", 64, "IP address mismatch, certificate is not valid for '127.0.0.2'."),
    ],
)
def test_wrong_hostname_fails_verification(impl, pki, closing, host, code, message):
    port, join = serve_once(STDLIB, pki, echo_upper)
    ctx = client_context(impl, pki)
    with pytest.raises(impl.ssl.SSLCertVerificationError) as info:
        ctx.wrap_socket(connect(impl, closing, port), server_hostname=host)
    assert (info.value.verify_code, info.value.verify_message) == (code, message)
    assert isinstance(info.value, stdssl.CertificateError)
    join()


def test_cert_none_connects_without_verification(impl, pki, closing):
    port, join = serve_once(STDLIB, pki, echo_upper)
    ctx = impl.ssl.SSLContext(impl.ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = impl.ssl.CERT_NONE
    with ctx.wrap_socket(connect(impl, closing, port)) as tls:
        assert tls.getpeercert() == {}  # unverified: the stdlib shows no fields
        der = tls.getpeercert(binary_form=True)
        assert der == pki.leaf.public_bytes(Encoding.DER)
        tls.sendall(b"anyone")
        assert tls.recv(100) == b"ANYONE"
    join()


@pytest.mark.parametrize(
    ("offer", "expected"), [(["spdy/1", "http/1.1"], "http/1.1"), (["spdy/1"], None)]
)
def test_alpn(impl, pki, closing, offer, expected):
    port, join = serve_once(
        STDLIB, pki, lambda tls: tls.selected_alpn_protocol(), alpn=["h2", "http/1.1"]
    )
    ctx = client_context(impl, pki)
    ctx.set_alpn_protocols(offer)
    with ctx.wrap_socket(connect(impl, closing, port), server_hostname="localhost") as tls:
        assert tls.selected_alpn_protocol() == expected
    assert join() == expected


def peer_cert_dict(impl, pki, closing):
    port, join = serve_once(STDLIB, pki, echo_upper)
    ctx = client_context(impl, pki)
    with ctx.wrap_socket(connect(impl, closing, port), server_hostname="localhost") as tls:
        cert = tls.getpeercert()
        tls.sendall(b"x")
        tls.recv(10)
    join()
    return cert


def test_getpeercert_dict_is_the_stdlibs(pki, closing):
    """Both modules describe the same certificate with the same dict."""
    ours = peer_cert_dict(COMPAT, pki, closing)
    theirs = peer_cert_dict(STDLIB, pki, closing)
    assert ours == theirs
    for key in ("subject", "issuer", "subjectAltName", "notAfter", "notBefore", "serialNumber",
                "version"):  # fmt: skip
        assert key in ours
    assert ours["subjectAltName"] == (
        ("DNS", "localhost"), ("IP Address", "127.0.0.1"), ("IP Address", "0:0:0:0:0:0:0:1"),
    )  # fmt: skip
    assert stdssl.cert_time_to_seconds(ours["notAfter"]) > time.time()


def test_wraps_a_stdlib_socket(pki, closing):
    """compat.ssl takes over a plain stdlib socket made before install(); it is detached."""
    port, join = serve_once(STDLIB, pki, echo_upper)
    plain = closing(stdsocket.create_connection(("127.0.0.1", port), timeout=WAIT))
    ctx = client_context(COMPAT, pki)
    with ctx.wrap_socket(plain, server_hostname="localhost") as tls:
        assert plain.fileno() == -1
        assert tls.gettimeout() == WAIT
        tls.sendall(b"adopted")
        assert tls.recv(100) == b"ADOPTED"
    join()


def test_timeout_recv_raises_timeout_error(impl, pki, closing):
    release = threading.Event()

    def quiet(tls):
        tls.recv(10)
        release.wait(WAIT)

    port, join = serve_once(STDLIB, pki, quiet)
    ctx = client_context(impl, pki)
    with ctx.wrap_socket(connect(impl, closing, port), server_hostname="localhost") as tls:
        tls.sendall(b"x")
        tls.settimeout(0.2)
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="The read operation timed out"):
            tls.recv(10)
        assert 0.15 < time.monotonic() - start < 2
        release.set()
    join()


def test_nonblocking_handshake_under_select(impl, pki, closing):
    gate = threading.Event()
    port, join = serve_once(STDLIB, pki, echo_upper, gate=gate)
    ctx = client_context(impl, pki)
    sock = connect(impl, closing, port)
    sock.setblocking(False)
    tls = closing(
        ctx.wrap_socket(sock, server_hostname="localhost", do_handshake_on_connect=False)
    )
    with pytest.raises(impl.ssl.SSLWantReadError):
        tls.do_handshake()  # the ClientHello is out; the server has not answered yet
    assert select.select([tls], [], [], 0.05)[0] == []
    gate.set()
    deadline = time.monotonic() + WAIT
    while True:
        try:
            tls.do_handshake()
            break
        except impl.ssl.SSLWantReadError:
            select.select([tls], [], [], max(0.0, deadline - time.monotonic()))
        except impl.ssl.SSLWantWriteError:
            select.select([], [tls], [], max(0.0, deadline - time.monotonic()))
        assert time.monotonic() < deadline, "handshake stuck"
    assert tls.version() is not None
    tls.sendall(b"later")  # a small write goes out at once
    chunks = []
    while not chunks:
        try:
            chunks.append(tls.recv(100))
        except impl.ssl.SSLWantReadError:
            assert select.select([tls], [], [], WAIT)[0], "no reply"
    assert chunks == [b"LATER"]
    join()


def test_unwrap_returns_to_plaintext(impl, pki, closing):
    def server(tls):
        tls.sendall(tls.recv(100).upper())
        plain = tls.unwrap()
        plain.sendall(b"in the clear")
        return plain.recv(100)

    port, join = serve_once(STDLIB, pki, server)
    ctx = client_context(impl, pki)
    tls = ctx.wrap_socket(connect(impl, closing, port), server_hostname="localhost")
    tls.sendall(b"secret")
    assert tls.recv(100) == b"SECRET"
    plain = closing(tls.unwrap())
    assert plain.recv(100) == b"in the clear"
    plain.sendall(b"bye")
    assert join() == b"bye"


def test_unwrap_before_handshake_raises_ssl_error(impl, pki, closing):
    """unwrap() before the handshake: SSLError SHUTDOWN_WHILE_IN_INIT, nothing sent, TLS kept."""
    a, b = impl.socket.socketpair()
    closing(a)
    plain_peer = closing(stdsocket.socket(fileno=b.detach()))
    a.settimeout(WAIT)
    ctx = client_context(impl, pki)
    tls = closing(ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False))
    for _ in range(2):
        with pytest.raises(impl.ssl.SSLError) as info:
            tls.unwrap()
        assert type(info.value) is stdssl.SSLError
        assert (info.value.reason, info.value.library) == ("SHUTDOWN_WHILE_IN_INIT", "SSL")
        assert info.value.args[0] == stdssl.SSL_ERROR_SSL
        assert str(info.value).startswith("[SSL: SHUTDOWN_WHILE_IN_INIT] shutdown while in init")
    plain_peer.settimeout(0.1)
    with pytest.raises(TimeoutError):
        plain_peer.recv(10)  # not even a ClientHello went out
    plain_peer.settimeout(WAIT)
    server_ctx = stdssl.SSLContext(stdssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.certfile, pki.keyfile)
    join = in_thread(lambda: echo_upper(server_ctx.wrap_socket(plain_peer, server_side=True)))
    tls.do_handshake()  # the socket still carries TLS
    tls.sendall(b"still tls")
    assert tls.recv(100) == b"STILL TLS"
    assert join() == b"still tls"


def test_unwrap_refuses_data_before_the_peers_close_notify(impl, pki, closing):
    """Application data where unwrap() waits for the close_notify: SSLError, as OpenSSL says."""

    def server(tls):
        assert tls.recv(100) == b""  # the client's close_notify
        tls.sendall(b"too late")  # TLS 1.3: the stdlib may still write

    port, join = serve_once(STDLIB, pki, server)
    ctx = client_context(impl, pki)
    tls = ctx.wrap_socket(connect(impl, closing, port), server_hostname="localhost")
    closing(tls)
    with pytest.raises(impl.ssl.SSLError) as info:
        tls.unwrap()
    assert info.value.reason == "APPLICATION_DATA_AFTER_CLOSE_NOTIFY"
    join()


def test_unwrap_unconnected_raises_value_error(impl, pki, closing):
    ctx = client_context(impl, pki)
    tls = closing(ctx.wrap_socket(closing(impl.socket.socket()), server_hostname="localhost"))
    with pytest.raises(ValueError, match="No SSL wrapper around"):
        tls.unwrap()


def test_large_transfer_and_makefile(impl, pki, closing):
    payload = os.urandom(3 * 1024 * 1024 + 7)

    def server(tls):
        with tls.makefile("rb") as f:
            size = int(f.readline())
            data = f.read(size)
        tls.sendall(len(data).to_bytes(8, "big") + data[::-1])
        return data == payload

    port, join = serve_once(STDLIB, pki, server)
    ctx = client_context(impl, pki)
    with ctx.wrap_socket(connect(impl, closing, port), server_hostname="localhost") as tls:
        tls.sendall(b"%d\n" % len(payload) + payload)
        with tls.makefile("rb") as f:
            size = int.from_bytes(f.read(8), "big")
            assert f.read(size) == payload[::-1]
    assert join() is True


def test_peer_close_gives_eof(impl, pki, closing):
    """After the server's TLS close, recv returns b"" (ragged EOFs suppressed)."""
    port, join = serve_once(STDLIB, pki, lambda tls: tls.sendall(b"last words"))
    ctx = client_context(impl, pki)
    with ctx.wrap_socket(connect(impl, closing, port), server_hostname="localhost") as tls:
        join()
        received = b""
        while chunk := tls.recv(100):
            received += chunk
        assert received == b"last words"


def test_common_name_fallback(impl, pki, closing, tmp_path, request):
    """A certificate with the host in its commonName only (no subjectAltName)."""
    ours_differs(request, impl, NO_CN_FALLBACK)
    ca = make_ca("CN-only CA")
    leaf = make_certificate(ca, (), common_name="localhost")
    files = SimpleNamespace(
        certfile=str(save_pem(tmp_path / "cn.pem", leaf.certificate)),
        keyfile=str(save_pem(tmp_path / "cn.key", leaf.private_key)),
    )
    port, join = serve_once(STDLIB, files, echo_upper)
    ctx = impl.ssl.create_default_context(cadata=ca.certificate_pem().decode())
    try:
        with ctx.wrap_socket(connect(impl, closing, port), server_hostname="localhost") as tls:
            tls.sendall(b"cn")
            assert tls.recv(10) == b"CN"
    finally:
        join()


# -- server ---------------------------------------------------------------------------


def test_compat_server_stdlib_client(pki, closing):
    seen = []
    context_holder = {}

    def sni(sslsocket, server_name, sslcontext):
        seen.append((type(sslsocket), server_name, sslcontext is context_holder["ctx"]))

    ctx = compatssl.SSLContext(compatssl.PROTOCOL_TLS_SERVER)
    context_holder["ctx"] = ctx
    ctx.load_cert_chain(pki.certfile, pki.keyfile)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    ctx.sni_callback = sni
    listener = closing(
        ctx.wrap_socket(compatsocket.create_server(("127.0.0.1", 0)), server_side=True)
    )
    listener.settimeout(WAIT)
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()  # the handshake runs here, as in the stdlib
        with conn:
            assert isinstance(conn, compatssl.SSLSocket) and conn.server_side
            conn.settimeout(WAIT)
            conn.sendall(conn.recv(100)[::-1])
            return conn.selected_alpn_protocol()

    join = in_thread(serve)
    client = stdssl.create_default_context(cafile=pki.cafile)
    client.set_alpn_protocols(["http/1.1"])
    plain = closing(stdsocket.create_connection(("127.0.0.1", port), timeout=WAIT))
    with client.wrap_socket(plain, server_hostname="localhost") as tls:
        tls.sendall(b"olleh")
        assert tls.recv(100) == b"hello"
        assert tls.getpeercert()["subject"] == ((("commonName", "localhost"),),)
    assert join() == "http/1.1"
    assert seen == [(compatssl.SSLSocket, "localhost", True)]


def test_server_requires_client_certificate(impl, pki, closing, tmp_path):
    """A CERT_REQUIRED server refuses a client without a certificate and accepts one with."""
    client_ca = make_ca("client CA")
    client = make_certificate(client_ca, ("client.example",), client=True)
    client_pem = str(save_pem(tmp_path / "client.pem", client))
    ctx = impl.ssl.SSLContext(impl.ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.certfile, pki.keyfile)
    ctx.verify_mode = impl.ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=client_ca.certificate.public_bytes(Encoding.DER))
    listener = closing(impl.socket.create_server(("127.0.0.1", 0)))
    listener.settimeout(WAIT)
    port = listener.getsockname()[1]

    def serve(count):
        subjects = []
        for _ in range(count):
            conn, _ = listener.accept()
            conn.settimeout(WAIT)
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    subjects.append(tls.getpeercert()["subject"])
                    tls.sendall(b"welcome")
            except stdssl.SSLError as e:
                subjects.append(type(e))
        return subjects

    join = in_thread(serve, 2)
    anonymous = stdssl.create_default_context(cafile=pki.cafile)
    with pytest.raises((stdssl.SSLError, ConnectionResetError)):
        with anonymous.wrap_socket(
            connect(STDLIB, closing, port), server_hostname="localhost"
        ) as t:
            t.recv(10)  # TLS 1.3: the refusal arrives after the client's handshake
    known = stdssl.create_default_context(cafile=pki.cafile)
    known.load_cert_chain(client_pem)
    with known.wrap_socket(connect(STDLIB, closing, port), server_hostname="localhost") as t:
        assert t.recv(10) == b"welcome"
    first, second = join()
    assert issubclass(first, stdssl.SSLError)
    assert second == ((("commonName", "client.example"),),)


# -- memory BIOs: SSLContext.wrap_bio and SSLObject, no sockets --------------------------------

WANT = "want more"  # what attempt() returns for SSLWantReadError


def attempt(op):
    """op(), or WANT when it raises SSLWantReadError (the stdlib's class, shared by both)."""
    try:
        return op()
    except stdssl.SSLWantReadError:
        return WANT


def feed(data, bio, op, bytewise):
    """Write data into bio whole, then call op, or byte by byte, op after each: its results."""
    if not bytewise or not data:
        bio.write(data)
        return [attempt(op)]
    results = []
    for i in range(len(data)):
        bio.write(data[i : i + 1])
        results.append(attempt(op))
    return results


def drain(obj):
    """All the plaintext obj can read now (b"" at close_notify stops it too)."""
    out = bytearray()
    while True:
        chunk = attempt(lambda: obj.read(65536))
        if chunk == WANT or not chunk:
            return bytes(out)
        out += chunk


def bio_pair(impl, pki, *, client=None, server=None, host="localhost", server_impl=None):
    """A client and a server SSLObject of impl over four MemoryBIOs (server_impl: the server's)."""
    server_impl = server_impl or impl
    if client is None:
        client = client_context(impl, pki)
    if server is None:
        server = server_impl.ssl.SSLContext(server_impl.ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(pki.certfile, pki.keyfile)
    c_in, c_out = impl.ssl.MemoryBIO(), impl.ssl.MemoryBIO()
    s_in, s_out = server_impl.ssl.MemoryBIO(), server_impl.ssl.MemoryBIO()
    return SimpleNamespace(
        client=client.wrap_bio(c_in, c_out, server_hostname=host),
        server=server.wrap_bio(s_in, s_out, server_side=True),
        client_ctx=client, server_ctx=server, c_in=c_in, c_out=c_out, s_in=s_in, s_out=s_out,
    )  # fmt: skip


def handshake(pair, bytewise=False):
    """Pump both handshakes to the end in memory; SSLErrors propagate."""
    assert attempt(pair.client.do_handshake) == WANT  # the ClientHello is out
    for _ in range(4):
        server = feed(pair.c_out.read(), pair.s_in, pair.server.do_handshake, bytewise)
        client = feed(pair.s_out.read(), pair.c_in, pair.client.do_handshake, bytewise)
        if server[-1] is None and client[-1] is None:
            return
    raise AssertionError("handshake did not finish")


def send(src, dst, bytewise):
    """Move src's outgoing ciphertext into dst's incoming BIO and read it all: the plaintext."""
    obj, out_bio, in_bio = src
    received = bytearray()
    for _ in feed(out_bio.read(), in_bio, lambda: received.extend(drain(dst)), bytewise):
        pass
    return bytes(received)


def c2s(pair):
    return (pair.client, pair.c_out, pair.s_in)


def s2c(pair):
    return (pair.server, pair.s_out, pair.c_in)


FEEDS = pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])


def test_memory_bio(impl):
    bio = impl.ssl.MemoryBIO()
    assert (bio.pending, bio.eof) == (0, False)
    assert bio.write(b"abc") == 3
    assert bio.write(bytearray(b"de")) == 2
    assert bio.write(memoryview(b"xfgx")[1:3]) == 2
    assert bio.pending == 7
    assert bio.read(2) == b"ab"
    assert bio.read(0) == b""
    assert bio.read() == b"cdefg"
    assert (bio.read(), bio.pending, bio.eof) == (b"", 0, False)
    with pytest.raises(TypeError, match="a bytes-like object is required, not 'str'"):
        bio.write("text")
    bio.write(b"last")
    bio.write_eof()
    assert (bio.pending, bio.eof) == (4, False)
    with pytest.raises(impl.ssl.SSLError, match=r"cannot write\(\) after write_eof\(\)"):
        bio.write(b"more")
    assert bio.read(-1) == b"last"
    assert bio.eof
    with pytest.raises(TypeError):
        impl.ssl.MemoryBIO(1)


def test_wrap_bio_argument_checks(impl, pki):
    ctx = client_context(impl, pki)
    bio = impl.ssl.MemoryBIO
    with pytest.raises(ValueError, match="cannot be an empty string or start with a leading"):
        ctx.wrap_bio(bio(), bio(), server_hostname="")
    with pytest.raises(ValueError):
        ctx.wrap_bio(bio(), bio(), server_hostname=".example")
    with pytest.raises(TypeError):
        ctx.wrap_bio(b"", bio(), server_hostname="localhost")
    with pytest.raises(TypeError, match="does not have a public constructor"):
        impl.ssl.SSLObject()
    obj = ctx.wrap_bio(bio(), bio(), server_hostname="localhost")
    assert isinstance(obj, impl.ssl.SSLObject)
    assert (obj.server_side, obj.server_hostname, obj.context) == (False, "localhost", ctx)


def test_sslobject_before_handshake(impl, pki):
    """Before the handshake: nothing settled, getpeercert and unwrap refuse, read starts it."""
    pair = bio_pair(impl, pki)
    obj = pair.client
    assert (obj.version(), obj.cipher(), obj.selected_alpn_protocol(), obj.compression()) == (
        None, None, None, None,
    )  # fmt: skip
    assert (obj.pending(), obj.session_reused, obj.get_channel_binding()) == (0, False, None)
    with pytest.raises(ValueError, match="handshake not done yet"):
        obj.getpeercert()
    with pytest.raises(impl.ssl.SSLError) as info:
        obj.unwrap()
    assert info.value.reason == "SHUTDOWN_WHILE_IN_INIT"
    assert pair.c_out.pending == 0  # nothing was sent
    with pytest.raises(impl.ssl.SSLWantReadError):
        pair.server.read()
    assert pair.s_out.pending == 0  # a server waits for the ClientHello
    with pytest.raises(impl.ssl.SSLWantReadError):
        obj.read()  # a client's read starts the handshake
    assert pair.c_out.pending > 0


@FEEDS
def test_sslobject_handshake_and_data(impl, pki, bytewise):
    pair = bio_pair(impl, pki)
    handshake(pair, bytewise)
    client, server = pair.client, pair.server
    assert client.version() == server.version() == "TLSv1.3"
    assert client.cipher() == server.cipher()
    assert client.getpeercert()["subject"] == ((("commonName", "localhost"),),)
    assert client.getpeercert(True) == pki.leaf.public_bytes(Encoding.DER)
    assert server.getpeercert() is None  # no client certificate asked
    assert (server.server_side, server.server_hostname) == (True, None)
    assert client.get_channel_binding() == server.get_channel_binding() is not None
    assert client.session_reused is False
    assert client.write(b"hello") == 5
    assert send(c2s(pair), server, bytewise) == b"hello"
    payload = os.urandom(70_000)  # several records
    assert server.write(memoryview(payload)) == len(payload)
    assert send(s2c(pair), client, bytewise) == payload
    client.write(b"abcdef")
    pair.s_in.write(pair.c_out.read())
    assert server.read(2) == b"ab"
    assert server.pending() == 4  # the rest of the record
    buffer = bytearray(10)
    assert server.read(10, buffer) == 4
    assert buffer[:4] == b"cdef"
    with pytest.raises(impl.ssl.SSLWantReadError):
        server.read()


def test_sslobject_app_data_stays_in_incoming_after_handshake(impl, pki):
    """do_handshake consumes only handshake records: later data waits in the BIO for read()."""
    pair = bio_pair(impl, pki)
    attempt(pair.client.do_handshake)
    pair.s_in.write(pair.c_out.read())
    attempt(pair.server.do_handshake)
    pair.c_in.write(pair.s_out.read())
    pair.client.do_handshake()
    pair.client.write(b"early")
    pair.s_in.write(pair.c_out.read())  # the client's Finished, then its data
    pair.server.do_handshake()
    assert pair.s_in.pending > 0
    assert pair.server.read() == b"early"


@pytest.mark.parametrize(
    ("offer", "expected"), [(["spdy/1", "http/1.1"], "http/1.1"), (["spdy/1"], None)]
)
def test_sslobject_alpn(impl, pki, offer, expected):
    client = client_context(impl, pki)
    client.set_alpn_protocols(offer)
    server = impl.ssl.SSLContext(impl.ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki.certfile, pki.keyfile)
    server.set_alpn_protocols(["h2", "http/1.1"])
    pair = bio_pair(impl, pki, client=client, server=server)
    handshake(pair)
    assert pair.client.selected_alpn_protocol() == pair.server.selected_alpn_protocol() == expected


@FEEDS
@pytest.mark.parametrize(
    ("host", "cafile", "code", "message"),
    [
        ("localhost", "other", 20, "unable to get local issuer certificate"),
        ("other.example", None, 62,
         "Hostname mismatch, certificate is not valid for 'other.example'."),
    ],
    ids=["untrusted", "wrong-name"],
)  # fmt: skip
def test_sslobject_verification_failure(impl, pki, bytewise, host, cafile, code, message):
    """The client raises SSLCertVerificationError; its alert fails the server's handshake."""
    client = client_context(impl, pki, cafile=pki.other_cafile if cafile else None)
    pair = bio_pair(impl, pki, client=client, host=host)
    with pytest.raises(impl.ssl.SSLCertVerificationError) as info:
        handshake(pair, bytewise)
    err = info.value
    assert isinstance(err, stdssl.CertificateError)
    assert (err.verify_code, err.verify_message) == (code, message)
    assert (err.reason, err.library) == ("CERTIFICATE_VERIFY_FAILED", "SSL")
    assert f"certificate verify failed: {message}" in str(err)
    assert pair.c_out.pending > 0  # the alert
    with pytest.raises(impl.ssl.SSLError):
        feed(pair.c_out.read(), pair.s_in, pair.server.do_handshake, bytewise)


@FEEDS
def test_sslobject_unwrap(impl, pki, bytewise):
    """close_notify both ways: read gives b"" until unwrap; plaintext after it stays in the BIO."""
    pair = bio_pair(impl, pki)
    handshake(pair, bytewise)
    client, server = pair.client, pair.server
    with pytest.raises(impl.ssl.SSLWantReadError):
        server.unwrap()  # ours is out; the client's has not come
    close_notify = pair.s_out.read()
    assert close_notify
    results = feed(close_notify + b"in the clear", pair.c_in, client.read, bytewise)
    assert results[-1] == b""
    assert pair.c_in.pending == len(b"in the clear")  # read() stops at the close_notify
    assert client.read() == b""  # again: not yet answered
    assert pair.c_out.pending == 0
    assert client.write(b"late") == 4  # TLS 1.3: still writable after the peer's close
    late = pair.c_out.read()
    assert client.unwrap() is None
    assert pair.c_in.read() == b"in the clear"
    pair.s_in.write(late)
    with pytest.raises(impl.ssl.SSLError) as info:
        server.unwrap()  # data where the close_notify should be: a fatal error
    assert info.value.reason == "APPLICATION_DATA_AFTER_CLOSE_NOTIFY"
    pair.s_in.write(pair.c_out.read())
    with pytest.raises(impl.ssl.SSLError):
        server.unwrap()
    with pytest.raises(impl.ssl.SSLZeroReturnError):
        client.read()
    with pytest.raises(impl.ssl.SSLError) as info:
        client.write(b"x")
    assert info.value.reason == "PROTOCOL_IS_SHUTDOWN"


@pytest.mark.parametrize("stage", ["handshake", "data"])
def test_sslobject_eof_without_close_notify(impl, pki, stage):
    """An incoming EOF without close_notify is SSLEOFError (truncation), not a clean end."""
    pair = bio_pair(impl, pki)
    if stage == "data":
        handshake(pair)
        pair.server.write(b"partial")
        pair.c_in.write(pair.s_out.read()[:-3])
        op = pair.client.read
    else:
        attempt(pair.client.do_handshake)
        op = pair.client.do_handshake
    with pytest.raises(impl.ssl.SSLWantReadError):
        op()
    pair.c_in.write_eof()
    with pytest.raises(impl.ssl.SSLEOFError) as info:
        op()
    assert info.value.reason == "UNEXPECTED_EOF_WHILE_READING"


def test_sslobject_not_tls(impl, pki):
    pair = bio_pair(impl, pki)
    attempt(pair.client.do_handshake)
    pair.c_in.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    with pytest.raises(impl.ssl.SSLError) as info:
        pair.client.do_handshake()
    assert info.value.reason == "WRONG_VERSION_NUMBER"


@pytest.mark.parametrize("ours", ["client", "server"])
def test_sslobject_interoperates_with_the_stdlib(pki, ours):
    """A compat SSLObject and a stdlib one complete a handshake and exchange data."""
    client_impl, server_impl = (COMPAT, STDLIB) if ours == "client" else (STDLIB, COMPAT)
    pair = bio_pair(client_impl, pki, server_impl=server_impl)
    handshake(pair)
    pair.client.write(b"ping")
    assert send(c2s(pair), pair.server, False) == b"ping"
    pair.server.write(b"pong")
    assert send(s2c(pair), pair.client, False) == b"pong"


def test_wrap_bio_takes_stdlib_memory_bios(pki):
    """compat's wrap_bio takes the stdlib's MemoryBIO (asyncio made before install() uses it)."""
    ctx = client_context(COMPAT, pki)
    obj = ctx.wrap_bio(stdssl.MemoryBIO(), outgoing := stdssl.MemoryBIO(), server_hostname="x")
    with pytest.raises(stdssl.SSLWantReadError):
        obj.do_handshake()
    assert outgoing.pending > 0


def test_asyncio_tls_echo_in_process(impl, pki):
    """asyncio's TLS (sslproto, over MemoryBIO) with impl's contexts: echo and peer certificate."""
    import asyncio

    server_ctx = impl.ssl.SSLContext(impl.ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.certfile, pki.keyfile)
    client_ctx = client_context(impl, pki)

    async def handle(reader, writer):
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"over asyncio\n")
            echoed = await reader.read()  # to the server's close_notify
            obj = writer.get_extra_info("ssl_object")
            subject = writer.get_extra_info("peercert")["subject"]
            writer.close()
            await writer.wait_closed()
        return echoed, type(obj), subject

    echoed, kind, subject = asyncio.run(asyncio.wait_for(main(), WAIT))
    assert echoed == b"OVER ASYNCIO\n"
    assert kind is impl.ssl.SSLObject
    assert subject == ((("commonName", "localhost"),),)


# -- HTTPS ------------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_urllib_against_http_server_over_compat_ssl(pki, tmp_path):
    """urllib.request and http.server, both over compat.ssl: the body arrives byte-exact."""
    body = os.urandom(300_000)
    (tmp_path / "blob.bin").write_bytes(body)
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server_ctx = compatssl.SSLContext(compatssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.certfile, pki.keyfile)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        ctx = compatssl.create_default_context(cafile=pki.cafile)
        url = f"https://localhost:{httpd.server_address[1]}/blob.bin"
        with urllib.request.urlopen(url, context=ctx, timeout=WAIT) as response:
            assert response.status == 200
            assert response.read() == body
        with pytest.raises(urllib.error.URLError) as info:
            urllib.request.urlopen(url, context=compatssl.create_default_context(), timeout=WAIT)
        assert isinstance(info.value.reason, stdssl.SSLCertVerificationError)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(WAIT)


HTTPS_CHILD = textwrap.dedent(
    """
    import functools, http.server, ssl, sys, threading, urllib.request

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    certfile, keyfile, cafile, directory = sys.argv[1:5]
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(certfile, keyfile)
    handler = functools.partial(Quiet, directory=directory)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ctx = ssl.create_default_context(cafile=cafile)
    url = "https://localhost:%d/hello.txt" % httpd.server_address[1]
    with urllib.request.urlopen(url, context=ctx, timeout=5) as response:
        body = response.read()
    httpd.shutdown()
    print(ssl.SSLContext.__module__, type(httpd.socket).__module__, body.decode())
    """
)


def test_https_e2e_under_python_m_reactorsock_compat(pki, tmp_path):
    """An unchanged HTTPS server and client run on compat.ssl under ``-m reactorsock.compat``."""
    (tmp_path / "hello.txt").write_text("hello over TLS")
    script = tmp_path / "https_child.py"
    script.write_text(HTTPS_CHILD)
    result = subprocess.run(
        [sys.executable, "-m", "reactorsock.compat", str(script),
         pki.certfile, pki.keyfile, pki.cafile, str(tmp_path)],
        capture_output=True, text=True, timeout=15, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "reactorsock.compat.ssl",
        "reactorsock.compat.ssl",
        "hello",
        "over",
        "TLS",
    ]


ASYNCIO_TLS_CHILD = textwrap.dedent(
    """
    import asyncio, ssl, sys, warnings

    certfile, keyfile, cafile = sys.argv[1:4]

    async def handle(reader, writer):
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(certfile, keyfile)
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            client_ctx = ssl.create_default_context(cafile=cafile)
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"echo over asyncio tls\\n")
            echoed = await reader.read()
            ssl_object = writer.get_extra_info("ssl_object")
            writer.close()
            await writer.wait_closed()
        return echoed, type(ssl_object).__module__

    echoed, object_module = asyncio.run(asyncio.wait_for(main(), 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context_module = type(ssl.SSLContext()).__module__
    print(echoed.decode().strip(), context_module, object_module)
    """
)


def test_asyncio_tls_e2e_under_python_m_reactorsock_compat(pki, tmp_path):
    """An unchanged asyncio TLS echo server and client run on compat.ssl's SSLObject."""
    script = tmp_path / "asyncio_tls_child.py"
    script.write_text(ASYNCIO_TLS_CHILD)
    result = subprocess.run(
        [sys.executable, "-m", "reactorsock.compat", str(script),
         pki.certfile, pki.keyfile, pki.cafile],
        capture_output=True, text=True, timeout=15, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "ECHO", "OVER", "ASYNCIO", "TLS", "reactorsock.compat.ssl", "reactorsock.compat.ssl",
    ]  # fmt: skip


# -- compat socket: blocking recv on a UDP socket shut for reading --------------------------


@pytest.fixture(params=[stdsocket, compatsocket], ids=["stdlib", "compat"])
def mod(request):
    """The socket module under test."""
    return request.param


def test_udp_shut_rd_blocking_recv_returns_at_once(mod, closing):
    """Blocking recv family calls on a UDP socket after SHUT_RD return empty, using no CPU."""
    a = closing(mod.socket(mod.AF_INET, mod.SOCK_DGRAM))
    b = closing(mod.socket(mod.AF_INET, mod.SOCK_DGRAM))
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    a.connect(b.getsockname())
    b.connect(a.getsockname())
    b.shutdown(mod.SHUT_RD)
    assert b.gettimeout() is None
    box = {}

    def calls():
        cpu = time.process_time()
        buf = bytearray(8)
        box["results"] = [
            b.recv(10), b.recvfrom(10), b.recv_into(buf), b.recvfrom_into(buf),
            b.recvmsg(10), b.recvmsg_into([buf]),
        ]  # fmt: skip
        box["cpu"] = time.process_time() - cpu

    thread = threading.Thread(target=calls, daemon=True)
    thread.start()
    thread.join(2.0)
    assert not thread.is_alive(), "blocking recv did not return"
    assert box["results"] == [
        b"", (b"", None), 0, (0, None), (b"", [], 0, None), (0, [], 0, None)
    ]  # fmt: skip
    assert box["cpu"] < 0.5
    a.send(b"still delivered")  # Linux queues datagrams after SHUT_RD
    b.settimeout(WAIT)
    assert b.recv(100) == b"still delivered"


def test_udp_shut_rd_timeout_recv_times_out(mod, closing):
    """In timeout mode it raises TimeoutError at the deadline, as CPython does."""
    a = closing(mod.socket(mod.AF_INET, mod.SOCK_DGRAM))
    b = closing(mod.socket(mod.AF_INET, mod.SOCK_DGRAM))
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    b.connect(a.getsockname())
    b.shutdown(mod.SHUT_RD)
    b.settimeout(0.2)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        b.recv(10)
    assert 0.15 < time.monotonic() - start < 2
