"""Bridges between classic sockets and the reactor, both ways, on every backend.

Blocking set-up code hands a connected ``compat.socket`` to the reactor with
``adoptStreamConnection``; event-driven code hands a connection back with
``transport.detach()``.
"""

from __future__ import annotations

import socket
import threading

import pytest

from reactorsock import error
from reactorsock.compat import socket as csocket
from reactorsock.protocol import Factory, Protocol
from reactorsock.test._util import iterate_until


class Upper(Protocol):
    """Answers each chunk in upper case; records what it saw."""

    def connectionMade(self):
        self.got = []
        self.lost = []

    def dataReceived(self, data):
        self.got.append(data)
        self.transport.write(data.upper())

    def connectionLost(self, reason):
        self.lost.append(reason)


def _recv_exactly(sock, n):
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        assert chunk, "peer closed early"
        got += chunk
    return got


def test_adopt_connected_compat_socket(reactor):
    """A compat socket set up with blocking calls is served by a protocol."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        classic = csocket.create_connection(server.getsockname(), timeout=5)
        peer, _ = server.accept()
    with peer:
        peer.settimeout(5)
        classic.sendall(b"blocking set-up\n")
        assert _recv_exactly(peer, 16) == b"blocking set-up\n"
        protocols = []

        class Recording(Upper):
            def connectionMade(self):
                super().connectionMade()
                protocols.append(self)

        reactor.adoptStreamConnection(classic, socket.AF_INET, Factory.forProtocol(Recording))
        classic.close()  # the reactor holds its own duplicate
        peer.sendall(b"now event-driven")
        iterate_until(reactor, lambda: protocols and protocols[0].got)
        assert b"".join(protocols[0].got) == b"now event-driven"
        assert _recv_exactly(peer, 16) == b"NOW EVENT-DRIVEN"
        protocols[0].transport.loseConnection()
        iterate_until(reactor, lambda: protocols[0].lost)
        assert protocols[0].lost[0].check(error.ConnectionDone)


def _serve_one(reactor, listen, connect_peer):
    """Serve Upper on a fresh port; return (protocol, peer socket) once connected."""
    protocols = []

    class Recording(Upper):
        def connectionMade(self):
            super().connectionMade()
            protocols.append(self)

    port = listen(Factory.forProtocol(Recording))
    peer = connect_peer(port)
    peer.settimeout(5)
    iterate_until(reactor, lambda: protocols)
    return port, protocols[0], peer


def _tcp(reactor):
    def listen(factory):
        return reactor.listenTCP(0, factory, interface="127.0.0.1")

    def connect_peer(port):
        return socket.create_connection(("127.0.0.1", port.getHost().port), timeout=5)

    return listen, connect_peer


def _unix(reactor, tmp_path):
    path = str(tmp_path / "bridge.sock")

    def listen(factory):
        return reactor.listenUNIX(path, factory)

    def connect_peer(port):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        return s

    return listen, connect_peer


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_detach_hands_the_connection_to_blocking_code(reactor, kind, tmp_path):
    listen, connect_peer = _tcp(reactor) if kind == "tcp" else _unix(reactor, tmp_path)
    port, proto, peer = _serve_one(reactor, listen, connect_peer)
    with peer:
        peer.sendall(b"event ")
        iterate_until(reactor, lambda: proto.got)
        assert _recv_exactly(peer, 6) == b"EVENT "

        classic = proto.transport.detach()
        assert isinstance(classic, csocket.socket)
        assert proto.lost and proto.lost[0].check(error.ConnectionDone)
        assert "detached" in proto.lost[0].getErrorMessage()
        assert reactor.getReaders() == [port]

        # Blocking code in a thread now owns the connection, with no bytes lost.
        peer.sendall(b"blocking")
        result = []

        def blocking_side():
            with classic:
                classic.settimeout(5)
                data = _recv_exactly(classic, 8)
                classic.sendall(data[::-1])
                result.append(data)

        t = threading.Thread(target=blocking_side)
        t.start()
        t.join(10)
        assert result == [b"blocking"]
        assert _recv_exactly(peer, 8) == b"gnikcolb"
        assert proto.got == [b"event "], "the protocol read nothing after detach"
    port.stopListening()


def test_detach_refuses_while_data_is_queued(reactor):
    listen, connect_peer = _tcp(reactor)
    port, proto, peer = _serve_one(reactor, listen, connect_peer)
    with peer:
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        proto.transport.write(b"x" * (8 << 20))  # far more than the socket buffers hold
        assert proto.transport._buffered > 0
        with pytest.raises(RuntimeError, match="still queued"):
            proto.transport.detach()
        assert not proto.lost, "a refused detach leaves the connection alone"
        proto.transport.abortConnection()
        iterate_until(reactor, lambda: proto.lost)
        with pytest.raises(RuntimeError, match="closed or closing"):
            proto.transport.detach()
    port.stopListening()
