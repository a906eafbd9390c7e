"""Tests for ``_tlsbio.MemoryBIOTLS``: two instances pumped at each other in memory, no socket."""

from __future__ import annotations

import datetime

import pytest
from OpenSSL import SSL

from reactorsock._certs import make_ca, make_certificate
from reactorsock._tlsbio import MemoryBIOTLS, TLSError, TLSTruncationError
from reactorsock.error import ConnectionLost
from reactorsock.tls import CertificateOptions, optionsForClientTLS

CHUNKINGS = ["whole", "bytewise"]


@pytest.fixture(scope="module")
def pki():
    ca = make_ca("tlsbio test CA")
    other_ca = make_ca("some other CA")
    now = datetime.datetime.now(datetime.UTC)
    return {
        "ca": ca,
        "other_ca": other_ca,
        "server": make_certificate(ca, ["localhost", "127.0.0.1"]),
        "a": make_certificate(ca, ["a.test"]),
        "b": make_certificate(ca, ["b.test"]),
        "expired": make_certificate(
            ca,
            ["localhost"],
            not_before=now - datetime.timedelta(days=10),
            not_after=now - datetime.timedelta(days=1),
        ),
        "client": make_certificate(ca, ["client.test"], client=True),
    }


def server_options(leaf, **kw):
    return CertificateOptions(privateKey=leaf.private_key, certificate=leaf.certificate, **kw)


def new_pair(client_options, server_opts, server_side_options=None):
    client = MemoryBIOTLS(
        client_options.getContext(),
        server_side=False,
        server_hostname=getattr(client_options, "server_hostname", None),
        verify_hostname=getattr(client_options, "verify_hostname", True),
    )
    server = MemoryBIOTLS(server_opts.getContext(), server_side=True)
    return client, server


class Side:
    """One end of the pump: the TLS object, what it decrypted, and how it failed."""

    def __init__(self, tls):
        self.tls = tls
        self.received = bytearray()
        self.error = None


def _deliver(side, data, chunking):
    chunks = [data] if chunking == "whole" else [data[i : i + 1] for i in range(len(data))]
    for chunk in chunks:
        if side.error is not None:
            return
        try:
            side.received += side.tls.receive_ciphertext(chunk)
        except TLSError as e:
            side.error = e


def pump(client, server, chunking="whole", rounds=20):
    """Move ciphertext both ways until neither side has any to send."""
    a, b = (client, server) if isinstance(client, Side) else (Side(client), Side(server))
    for _ in range(rounds):
        out_a = a.tls.ciphertext_to_send()
        out_b = b.tls.ciphertext_to_send()
        if not out_a and not out_b:
            break
        if out_a:
            _deliver(b, out_a, chunking)
        if out_b:
            _deliver(a, out_b, chunking)
    return a, b


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_handshake_and_data_both_ways(pki, chunking):
    """Plaintext written before the handshake is delivered after it, both ways."""
    client, server = new_pair(
        optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate),
        server_options(pki["server"]),
    )
    client.send_plaintext(b"hello ")
    client.send_plaintext(bytearray(b"server"))
    a, b = pump(client, server, chunking)
    assert (a.error, b.error) == (None, None)
    assert client.handshake_done and server.handshake_done
    assert bytes(b.received) == b"hello server"
    server.send_plaintext(b"hi client")
    pump(a, b, chunking)
    assert bytes(a.received) == b"hi client"
    assert client.peer_certificate.subject == pki["server"].certificate.subject
    assert server.peer_certificate is None
    assert client.tls_version in ("TLSv1.2", "TLSv1.3")


def test_ip_address_host_is_checked_against_ip_sans(pki):
    client, server = new_pair(
        optionsForClientTLS("127.0.0.1", trustRoot=pki["ca"].certificate),
        server_options(pki["server"]),
    )
    a, b = pump(client, server)
    assert (a.error, b.error) == (None, None)
    assert server.requested_server_name is None  # no SNI for an IP address (RFC 6066)


@pytest.mark.parametrize(
    ("client_protos", "server_protos", "expected"),
    [
        ([b"h2", b"http/1.1"], [b"h2", b"http/1.1"], b"h2"),
        ([b"http/1.1"], [b"h2", b"http/1.1"], b"http/1.1"),
        (["h2", "http/1.1"], ["http/1.1", "h2"], b"http/1.1"),  # the server's preference
        ([b"spdy/3"], [b"h2"], None),  # no overlap: no ALPN, no failure
    ],
)
def test_alpn(pki, client_protos, server_protos, expected):
    client, server = new_pair(
        optionsForClientTLS(
            "localhost", trustRoot=pki["ca"].certificate, acceptableProtocols=client_protos
        ),
        server_options(pki["server"], acceptableProtocols=server_protos),
    )
    a, b = pump(client, server)
    assert (a.error, b.error) == (None, None)
    assert client.negotiated_protocol == expected
    assert server.negotiated_protocol == expected


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("host", ["a.test", "b.test", "localhost"])
def test_sni_selects_certificate(pki, host, chunking):
    opts = server_options(
        pki["server"], server_names={"a.test": server_options(pki["a"]), "b.test": pki["b"]}
    )
    # A CertificateAndKey is not options: map it explicitly.
    opts.server_names["b.test"] = server_options(pki["b"])
    client, server = new_pair(optionsForClientTLS(host, trustRoot=pki["ca"].certificate), opts)
    a, b = pump(client, server, chunking)
    assert (a.error, b.error) == (None, None)
    assert server.requested_server_name == host
    expected = {"a.test": pki["a"], "b.test": pki["b"], "localhost": pki["server"]}[host]
    assert client.peer_certificate == expected.certificate


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize(
    ("case", "client_reason", "server_reason"),
    [
        ("untrusted", "certificate verify failed: unknown CA", "peer rejected our certificate"),
        ("wrong host", "certificate verify failed: hostname mismatch: expected 'example.org', "
         "got 'localhost', '127.0.0.1'", "peer aborted the handshake"),
        ("expired", "certificate verify failed: certificate has expired",
         "certificate has expired"),
    ],
)  # fmt: skip
def test_verification_failure(pki, case, client_reason, server_reason, chunking):
    trust = pki["other_ca" if case == "untrusted" else "ca"].certificate
    host = "example.org" if case == "wrong host" else "localhost"
    leaf = pki["expired" if case == "expired" else "server"]
    client, server = new_pair(optionsForClientTLS(host, trustRoot=trust), server_options(leaf))
    a, b = pump(client, server, chunking)
    assert isinstance(a.error, TLSError) and isinstance(a.error, ConnectionLost)
    assert str(a.error).startswith(client_reason), str(a.error)
    assert b.error is not None and server_reason in str(b.error), str(b.error)
    assert not b.received


def test_insecure_skip_verification_is_explicit(pki):
    client, server = new_pair(
        optionsForClientTLS("example.org", insecure_skip_verification=True),
        server_options(pki["expired"]),
    )
    a, b = pump(client, server)
    assert (a.error, b.error) == (None, None)


def test_default_trust_is_not_a_private_ca(pki):
    """Verification is on by default: the platform store does not know our CA."""
    client, server = new_pair(optionsForClientTLS("localhost"), server_options(pki["server"]))
    a, _ = pump(client, server)
    assert "certificate verify failed" in str(a.error)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_close_notify_is_a_clean_close(pki, chunking):
    client, server = new_pair(
        optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate),
        server_options(pki["server"]),
    )
    a, b = pump(client, server, chunking)
    client.send_plaintext(b"last words")
    client.close()
    client.send_plaintext(b"dropped")
    pump(a, b, chunking)
    assert bytes(b.received) == b"last words"
    assert server.peer_closed_cleanly and server.closed
    assert client.peer_closed_cleanly  # the server answered with its own close_notify
    assert server.receive_ciphertext(b"") == b""
    assert client.receive_ciphertext(b"") == b""


@pytest.mark.parametrize("version", [SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION], ids=["1.2", "1.3"])
def test_half_close_when_close_notify_is_not_answered(pki, version):
    """With answer_close_notify false, data still flows both ways after one close_notify."""
    context = server_options(pki["server"]).getContext()
    context.set_max_proto_version(version)
    options = optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate)
    client = MemoryBIOTLS(options.getContext(), server_side=False, server_hostname="localhost",
                          answer_close_notify=False)  # fmt: skip
    server = MemoryBIOTLS(context, server_side=True, answer_close_notify=False)
    a, b = pump(client, server)
    client.send_plaintext(b"request")
    client.close()
    pump(a, b)
    assert bytes(b.received) == b"request"
    assert server.peer_closed_cleanly and not server.closed  # not answered yet
    server.send_plaintext(b"response")
    pump(a, b)
    assert bytes(a.received) == b"response"  # read after our own close_notify
    assert not client.peer_closed_cleanly
    server.close()
    pump(a, b)
    assert client.peer_closed_cleanly and a.error is None and b.error is None
    assert server.receive_ciphertext(b"") == b""
    assert client.receive_ciphertext(b"") == b""


def test_eof_without_close_notify_is_truncation(pki):
    client, server = new_pair(
        optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate),
        server_options(pki["server"]),
    )
    pump(client, server)
    with pytest.raises(TLSTruncationError, match="without a TLS close_notify"):
        server.receive_ciphertext(b"")
    with pytest.raises(TLSTruncationError):  # and it stays failed
        server.receive_ciphertext(b"more")


def test_eof_during_handshake(pki):
    client, server = new_pair(
        optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate),
        server_options(pki["server"]),
    )
    server.receive_ciphertext(client.ciphertext_to_send())
    with pytest.raises(TLSError, match="closed during the TLS handshake") as info:
        server.receive_ciphertext(b"")
    assert not isinstance(info.value, TLSTruncationError)


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("junk", [b"GET / HTTP/1.0\r\n\r\n", b"EHLO mail.example\r\n"])
def test_plaintext_to_server_is_not_tls(pki, junk, chunking):
    server = MemoryBIOTLS(server_options(pki["server"]).getContext(), server_side=True)
    side = Side(server)
    _deliver(side, junk, chunking)
    assert side.error is not None
    assert str(side.error) == "not TLS: plaintext received on a TLS port"


def test_plaintext_answer_to_client(pki):
    client = MemoryBIOTLS(
        optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate).getContext(),
        server_side=False,
        server_hostname="localhost",
    )
    assert client.ciphertext_to_send()[:1] == b"\x16"  # the ClientHello is due at once
    with pytest.raises(TLSError, match="not TLS: the server did not answer with TLS"):
        client.receive_ciphertext(b"220 smtp.example ESMTP ready\r\n")


def _record_types(ciphertext):
    """TLS record content types in ciphertext (RFC 8446 section 5.1 header: type, version, len)."""
    types, i = [], 0
    while i + 5 <= len(ciphertext):
        types.append(ciphertext[i])
        i += 5 + int.from_bytes(ciphertext[i + 3 : i + 5], "big")
    assert i == len(ciphertext)
    return types


def test_small_writes_coalesce_into_few_records(pki):
    client, server = new_pair(
        optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate),
        server_options(pki["server"], raiseMinimumTo=0x0303),
    )
    a, b = pump(client, server)
    for i in range(1000):
        client.send_plaintext(b"%04d" % i)  # 4000 bytes in 1000 writes
    out = client.ciphertext_to_send()
    assert _record_types(out) == [23]  # one application_data record
    for _ in range(10):
        client.send_plaintext(b"x" * 4000)  # 40000 bytes: records of at most 16 KiB
    out2 = client.ciphertext_to_send()
    assert _record_types(out2) == [23, 23, 23]
    b.received.clear()
    _deliver(b, out + out2, "whole")
    assert bytes(b.received) == b"".join(b"%04d" % i for i in range(1000)) + b"x" * 40000


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_mutual_tls(pki, chunking):
    server_opts = server_options(pki["server"], trustRoot=pki["ca"].certificate)
    with_cert = optionsForClientTLS(
        "localhost", trustRoot=pki["ca"].certificate, clientCertificate=pki["client"]
    )
    client, server = new_pair(with_cert, server_opts)
    client.send_plaintext(b"authenticated")
    a, b = pump(client, server, chunking)
    assert (a.error, b.error) == (None, None)
    assert bytes(b.received) == b"authenticated"
    assert server.peer_certificate == pki["client"].certificate

    without = optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate)
    client, server = new_pair(without, server_opts)
    client.send_plaintext(b"anonymous")
    a, b = pump(client, server, chunking)
    assert str(b.error) == "peer did not send a certificate (required)"
    assert a.error is not None and "certificate" in str(a.error)
    assert not b.received


def test_data_then_alert_in_one_batch_keeps_the_data(pki):
    client, server = new_pair(
        optionsForClientTLS("localhost", trustRoot=pki["ca"].certificate),
        server_options(pki["server"]),
    )
    pump(client, server)
    client.send_plaintext(b"payload")
    data = client.ciphertext_to_send()
    garbage = b"\x15\x03\x03\x00\x02\x02\x50"  # a fatal alert record, unencrypted: bad record
    assert server.receive_ciphertext(data + garbage) == b"payload"
    assert server.error is not None
    with pytest.raises(TLSError):
        server.receive_ciphertext(b"x")
