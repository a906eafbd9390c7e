"""Conformance checks that every stream transport must pass (TCP, UNIX, TLS, pipes).

The idea is trio's ``check_two_way_stream``: one body of checks, run over
each transport by handing it a ``make_pair`` function.

The ``make_pair`` contract
--------------------------
``make_pair(reactor, server_factory, client_factory)`` starts exactly one
connection between two transports of the kind under test, each running a
protocol built by its factory's ``buildProtocol`` (called exactly once per
factory).  Both factories are ``ClientFactory`` instances, so they serve
for a listening port and for a connector alike.  ``make_pair`` must not
wait for the connection: the checks iterate the reactor until both
protocols saw ``connectionMade`` (or the client factory saw
``clientConnectionFailed``, which fails the check at once).

It returns a *cleanup* callable taking no argument (or a Deferred firing
with one), which the check calls once both sides are closed, to stop
listening and the like.  The cleanup may return a Deferred; the check
waits for it.  For TCP::

    def make_pair(reactor, server_factory, client_factory):
        port = reactor.listenTCP(0, server_factory, interface="127.0.0.1")
        reactor.connectTCP("127.0.0.1", port.getHost().port, client_factory)
        return port.stopListening

Every check is ``check_x(reactor, make_pair, **options)``; ``STREAM_CHECKS``
lists them, and ``check_stream_transport`` runs them all.  Pass only the
checks that apply: a transport that cannot half-close leaves out
``check_half_close_*`` rather than skipping it.  Options:

- ``buffered``: ``transport -> int``, the bytes the transport has queued
  (default ``transport._buffered``), for the flow-control checks;
- ``abort_peer_reason``: what the peer sees after ``abortConnection``
  (default ``error.ConnectionLost``, a reset; a pipe would see
  ``error.ConnectionDone``);
- ``transport_interface``: the interface the transports must provide
  (default ``ITCPTransport``; ``ITransport`` for pipes);
- ``timeout``: seconds each wait may take (default 20).

Every check runs the reactor only through ``run_until``/``iterate_until``,
so a stuck transport fails the check instead of hanging the run, and
closes both transports (aborting them on failure) and calls the cleanup
before it returns, so that the ``reactor`` fixture sees nothing leaked.  An
ERROR logged by a ``reactorsock`` logger during a check fails it.
"""

from __future__ import annotations

import array
import contextlib
import functools
import hashlib
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from zope.interface import implementer
from zope.interface.verify import verifyObject

from reactorsock import error
from reactorsock.defer import Deferred
from reactorsock.interfaces import IAddress, IHalfCloseableProtocol, ITCPTransport
from reactorsock.protocol import ClientFactory, Protocol
from reactorsock.test._util import iterate_until, run_until

__all__ = [
    "RecordingProtocol",
    "HalfCloseRecorder",
    "StreamPair",
    "connected_pair",
    "payload",
    "check_stream_transport",
    "check_echo",
    "check_half_close_client_first",
    "check_half_close_server_first",
    "check_lose_connection_flushes",
    "check_abort_connection",
    "check_abort_drops_queued_data",
    "check_streaming_producer_flow_control",
    "check_producer_stopped_when_the_peer_goes",
    "check_pull_producer",
    "check_addresses",
    "check_write_types",
    "STREAM_CHECKS",
]

MB = 1024 * 1024
#: The size of the echo check, byte for byte.
ECHO_SIZE = 10 * MB
#: The producers' chunk size.
CHUNK = 16 * 1024


@functools.cache
def payload(size: int, seed: int = 0) -> bytes:
    """size pseudo-random bytes, the same for the same seed (cached)."""
    return random.Random(seed).randbytes(size)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _default_buffered(transport: Any) -> int:
    return transport._buffered


class RecordingProtocol(Protocol):
    """Counts and hashes what it receives and records how it ended.

    Subclasses react through the ``on_*`` hooks.  ``events`` lists
    ``"made"``, ``"read_lost"``, ``"write_lost"`` and ``"lost"`` in order.
    """

    def __init__(self) -> None:
        self.received = 0
        self.digest = hashlib.sha256()
        self.events: list[str] = []
        self.reason: Any = None

    @property
    def made(self) -> bool:
        """True once connectionMade ran."""
        return "made" in self.events

    @property
    def lost(self) -> bool:
        """True once connectionLost ran."""
        return self.reason is not None

    def connectionMade(self) -> None:
        """Record, then ``on_made``."""
        self.events.append("made")
        self.on_made()

    def dataReceived(self, data: bytes) -> None:
        """Count and hash data, then ``on_data``."""
        self.received += len(data)
        self.digest.update(data)
        self.on_data(data)

    def connectionLost(self, reason: Any) -> None:
        """Record the reason."""
        self.events.append("lost")
        self.reason = reason

    def on_made(self) -> None:
        """Hook: the connection is up."""

    def on_data(self, data: bytes) -> None:
        """Hook: data arrived (already counted)."""


@implementer(IHalfCloseableProtocol)
class HalfCloseRecorder(RecordingProtocol):
    """A ``RecordingProtocol`` that is half-closeable."""

    def readConnectionLost(self) -> None:
        """Record, then ``on_read_lost``."""
        self.events.append("read_lost")
        self.on_read_lost()

    def writeConnectionLost(self) -> None:
        """Record."""
        self.events.append("write_lost")

    def on_read_lost(self) -> None:
        """Hook: the peer will send no more."""


class _PairFactory(ClientFactory):
    noisy = False

    def __init__(self, make: Callable[[], RecordingProtocol]) -> None:
        self.make = make
        self.built: list[RecordingProtocol] = []
        self.failure: Any = None

    def buildProtocol(self, addr: Any) -> RecordingProtocol:
        p = self.make()
        p.factory = self
        self.built.append(p)
        return p

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        self.failure = reason


class StreamPair:
    """The two connected protocols of a check: ``server`` and ``client``."""

    def __init__(self, server: RecordingProtocol, client: RecordingProtocol) -> None:
        self.server = server
        self.client = client

    def wait_closed(self, reactor: Any, timeout: float) -> None:
        """Iterate until both sides saw connectionLost."""
        iterate_until(reactor, lambda: self.server.lost and self.client.lost, timeout)


@contextlib.contextmanager
def connected_pair(
    reactor: Any,
    make_pair: Callable[..., Any],
    server: Callable[[], RecordingProtocol],
    client: Callable[[], RecordingProtocol],
    timeout: float = 20,
) -> Iterator[StreamPair]:
    """Connect a server and a client protocol with make_pair; yield the ``StreamPair``.

    On leaving, both sides must be closed (a check waits for that); if the
    block raised, open transports are aborted first.  The cleanup of
    make_pair then runs.  An ERROR logged by a ``reactorsock`` logger in
    the meantime fails the check.
    """
    sf, cf = _PairFactory(server), _PairFactory(client)
    errors = _ErrorLog()
    logger = logging.getLogger("reactorsock")
    logger.addHandler(errors)
    cleanup = make_pair(reactor, sf, cf)
    if isinstance(cleanup, Deferred):
        cleanup = run_until(reactor, cleanup, timeout)
    try:
        iterate_until(
            reactor,
            lambda: (
                cf.failure is not None
                or (len(sf.built) == 1 == len(cf.built) and sf.built[0].made and cf.built[0].made)
            ),
            timeout,
        )
        if cf.failure is not None:
            pytest.fail(f"the client could not connect: {cf.failure.getErrorMessage()}")
        yield StreamPair(sf.built[0], cf.built[0])
        assert not errors.records, "errors logged:\n" + "\n".join(errors.records)
    except BaseException:
        for p in sf.built + cf.built:
            if not p.lost and p.transport is not None:
                p.transport.abortConnection()
        with contextlib.suppress(BaseException):
            iterate_until(reactor, lambda: all(p.lost for p in sf.built + cf.built), 2)
        raise
    finally:
        logger.removeHandler(errors)
        result = cleanup()
        if isinstance(result, Deferred):
            run_until(reactor, result, timeout)


class _ErrorLog(logging.Handler):
    """Collects the ERROR records of the reactorsock loggers: a check logs none."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


# ---------------------------------------------------------------------------
# The checks


def check_echo(reactor: Any, make_pair: Callable[..., Any], timeout: float = 20, **_: Any) -> None:
    """10 MB sent by the client come back from an echo server byte for byte (SHA-256)."""
    data = payload(ECHO_SIZE)
    half = len(data) // 2

    class Echo(RecordingProtocol):
        def on_data(self, data: bytes) -> None:
            self.transport.write(data)

    class Client(RecordingProtocol):
        def on_made(self) -> None:
            # One big write (partly queued) then many small ones behind it.
            self.transport.write(data[:half])
            view = memoryview(data)
            for i in range(half, len(data), CHUNK):
                self.transport.write(view[i : i + CHUNK])

        def on_data(self, data: bytes) -> None:
            if self.received == ECHO_SIZE:
                self.transport.loseConnection()

    with connected_pair(reactor, make_pair, Echo, Client, timeout) as pair:
        pair.wait_closed(reactor, timeout)
        assert pair.server.received == ECHO_SIZE
        assert pair.client.received == ECHO_SIZE
        assert pair.server.digest.hexdigest() == _sha(data)
        assert pair.client.digest.hexdigest() == _sha(data)
        pair.client.reason.trap(error.ConnectionDone)
        pair.server.reason.trap(error.ConnectionDone)


def _check_half_close(
    reactor: Any, make_pair: Callable[..., Any], closer_is_client: bool, timeout: float
) -> None:
    request, response = payload(100_000, 1), payload(300_000, 2)

    class Closer(HalfCloseRecorder):
        def on_made(self) -> None:
            self.transport.write(request)
            self.transport.loseWriteConnection()
            self.transport.write(b"dropped: the write side is shut")

    class Answerer(HalfCloseRecorder):
        def on_read_lost(self) -> None:
            # The peer is done sending; this side may still write.
            self.transport.write(response)
            self.transport.loseWriteConnection()

    server, client = (Answerer, Closer) if closer_is_client else (Closer, Answerer)
    with connected_pair(reactor, make_pair, server, client, timeout) as pair:
        closer, answerer = (
            (pair.client, pair.server) if closer_is_client else (pair.server, pair.client)
        )
        pair.wait_closed(reactor, timeout)
        assert answerer.received == len(request)
        assert answerer.digest.hexdigest() == _sha(request)
        assert closer.received == len(response)
        assert closer.digest.hexdigest() == _sha(response)
        # The closer's write side went first; the answerer's read side saw it.
        assert closer.events == ["made", "write_lost", "read_lost", "lost"]
        assert answerer.events == ["made", "read_lost", "write_lost", "lost"]
        closer.reason.trap(error.ConnectionDone)
        answerer.reason.trap(error.ConnectionDone)


def check_half_close_client_first(
    reactor: Any, make_pair: Callable[..., Any], timeout: float = 20, **_: Any
) -> None:
    """The client half-closes; the server reads EOF, answers, half-closes too: both see all."""
    _check_half_close(reactor, make_pair, True, timeout)


def check_half_close_server_first(
    reactor: Any, make_pair: Callable[..., Any], timeout: float = 20, **_: Any
) -> None:
    """The same with the roles swapped: the server half-closes first."""
    _check_half_close(reactor, make_pair, False, timeout)


def check_lose_connection_flushes(
    reactor: Any,
    make_pair: Callable[..., Any],
    buffered: Callable[[Any], int] = _default_buffered,
    timeout: float = 20,
    **_: Any,
) -> None:
    """loseConnection right after a big write: the peer gets every byte, then ConnectionDone."""
    data = payload(16 * MB, 3)
    queued: list[int] = []

    class Reader(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.pauseProducing()  # let the writer's buffer fill first

    class Writer(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.write(data)
            queued.append(buffered(self.transport))
            self.transport.loseConnection()
            self.transport.write(b"after loseConnection")  # still sent: not yet closed

    with connected_pair(reactor, make_pair, Writer, Reader, timeout) as pair:
        assert queued[0] > 0, "16 MB went into the kernel at once: nothing was left to flush"
        assert not pair.server.lost
        pair.client.transport.resumeProducing()
        pair.wait_closed(reactor, timeout)
        expected = data + b"after loseConnection"
        assert pair.client.received == len(expected)
        assert pair.client.digest.hexdigest() == _sha(expected)
        pair.client.reason.trap(error.ConnectionDone)
        pair.server.reason.trap(error.ConnectionDone)


def check_abort_connection(
    reactor: Any,
    make_pair: Callable[..., Any],
    abort_peer_reason: type[BaseException] = error.ConnectionLost,
    timeout: float = 20,
    **_: Any,
) -> None:
    """abortConnection: the aborter gets ConnectionAborted later, the peer a reset.

    connectionLost does not run inside abortConnection, and nothing written
    after it is sent.
    """
    lost_inside_abort: list[bool] = []

    class Aborter(RecordingProtocol):
        def on_data(self, data: bytes) -> None:
            if self.received >= 1000 and not lost_inside_abort:
                self.transport.abortConnection()
                lost_inside_abort.append(self.lost)
                self.transport.write(b"after abortConnection")  # dropped
                self.transport.loseConnection()  # a no-op now

    class Peer(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.write(b"x" * 1000)

    with connected_pair(reactor, make_pair, Aborter, Peer, timeout) as pair:
        pair.wait_closed(reactor, timeout)
        assert lost_inside_abort == [False], "connectionLost ran inside abortConnection"
        pair.server.reason.trap(error.ConnectionAborted)
        pair.client.reason.trap(abort_peer_reason)
        assert not pair.client.reason.check(error.ConnectionAborted)
        assert pair.client.received == 0


def check_abort_drops_queued_data(
    reactor: Any,
    make_pair: Callable[..., Any],
    buffered: Callable[[Any], int] = _default_buffered,
    abort_peer_reason: type[BaseException] = error.ConnectionLost,
    timeout: float = 20,
    **_: Any,
) -> None:
    """abortConnection with megabytes queued: the queue is dropped, not flushed."""
    queued: list[int] = []
    size = 16 * MB

    class Aborter(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.write(payload(size, 4))
            queued.append(buffered(self.transport))
            self.transport.abortConnection()
            queued.append(buffered(self.transport))

    class Peer(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.pauseProducing()  # the aborter's data stays queued

    with connected_pair(reactor, make_pair, Aborter, Peer, timeout) as pair:
        assert queued[0] > 0 and queued[1] == 0, queued
        iterate_until(reactor, lambda: pair.server.lost, timeout)
        pair.server.reason.trap(error.ConnectionAborted)
        pair.client.transport.resumeProducing()
        pair.wait_closed(reactor, timeout)
        pair.client.reason.trap(abort_peer_reason)
        assert pair.client.received < size


class _PushProducer:
    """Writes CHUNKs to a transport while resumed, up to total bytes; records its calls."""

    def __init__(self, transport: Any, total: int, buffered: Callable[[Any], int]) -> None:
        self.transport = transport
        self.total = total
        self.buffered = buffered
        self.sent = 0
        self.paused = True
        self.calls: list[tuple[str, int]] = []
        self.max_buffered = 0
        self.digest = hashlib.sha256()
        self.stopped = False

    def pauseProducing(self) -> None:
        self.paused = True
        self.calls.append(("pause", self.buffered(self.transport)))

    def resumeProducing(self) -> None:
        self.calls.append(("resume", self.buffered(self.transport)))
        self.paused = False
        data = payload(CHUNK, 5)
        while not self.paused and self.sent < self.total:
            self.transport.write(data)
            self.digest.update(data)
            self.sent += len(data)
            self.max_buffered = max(self.max_buffered, self.buffered(self.transport))
        if self.sent >= self.total and not self.stopped:
            self.stopped = True
            self.transport.unregisterProducer()
            self.transport.loseConnection()

    def stopProducing(self) -> None:
        self.calls.append(("stop", 0))


def check_streaming_producer_flow_control(
    reactor: Any,
    make_pair: Callable[..., Any],
    buffered: Callable[[Any], int] = _default_buffered,
    timeout: float = 20,
    water_marks: Callable[[Any], tuple[int, int]] | None = None,
    chunk_overhead: int = 0,
    **_: Any,
) -> None:
    """A slow reader pauses the writer's push producer above the high-water mark.

    It is resumed below the low-water mark, and the writer's buffer never
    holds more than ``highWaterMark`` plus one chunk.  water_marks gives a
    transport's ``(highWaterMark, lowWaterMark)`` when it does not carry
    them itself (a TLS transport: those of the transport below);
    chunk_overhead is the framing a transport adds to each chunk written
    (a TLS record's header and tag), allowed on top of that chunk.
    """
    total = 64 * MB  # an upper bound: the check ends once flow control was seen
    state: dict[str, Any] = {}

    class Writer(RecordingProtocol):
        def on_made(self) -> None:
            producer = _PushProducer(self.transport, total, buffered)
            state["producer"] = producer
            self.transport.registerProducer(producer, True)
            producer.resumeProducing()  # a push producer starts on its own

    class SlowReader(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.pauseProducing()

    with connected_pair(reactor, make_pair, Writer, SlowReader, timeout) as pair:
        producer = state["producer"]
        writer = pair.server.transport
        if water_marks is None:
            high, low = writer.highWaterMark, writer.lowWaterMark
        else:
            high, low = water_marks(writer)
        iterate_until(reactor, lambda: producer.calls[-1][0] == "pause", timeout)
        # The reader still reads nothing: once the kernel buffers are full the
        # producer stays paused.  Then the reader catches up.
        pair.client.transport.resumeProducing()
        iterate_until(reactor, lambda: sum(c[0] == "resume" for c in producer.calls) >= 2, timeout)
        # Enough: the producer finishes when it is next resumed.  Between
        # iterations it is always paused: it only returns when paused or done.
        assert producer.paused
        producer.total = producer.sent
        iterate_until(reactor, lambda: pair.client.received == producer.sent, timeout)
        pair.wait_closed(reactor, timeout)
        assert pair.client.digest.hexdigest() == producer.digest.hexdigest()
        pauses = [b for name, b in producer.calls if name == "pause"]
        resumes = [b for name, b in producer.calls[1:] if name == "resume"]
        assert pauses and resumes
        assert all(b > high for b in pauses), (pauses, high)
        assert all(b < low for b in resumes), (resumes, low)
        assert producer.max_buffered <= high + CHUNK + chunk_overhead, (
            producer.max_buffered,
            high,
        )
        assert ("stop", 0) not in producer.calls  # it unregistered before the close
        pair.client.reason.trap(error.ConnectionDone)


def check_producer_stopped_when_the_peer_goes(
    reactor: Any,
    make_pair: Callable[..., Any],
    buffered: Callable[[Any], int] = _default_buffered,
    timeout: float = 20,
    **_: Any,
) -> None:
    """The peer resets a connection that waits for its producer: stopProducing, once.

    The producer unregisters from within ``stopProducing``, as producers
    commonly do; that must not disturb the closed transport.
    """
    state: dict[str, Any] = {}

    class Producer(_PushProducer):
        def stopProducing(self) -> None:
            super().stopProducing()
            self.transport.unregisterProducer()

    class Writer(RecordingProtocol):
        def on_made(self) -> None:
            producer = state["producer"] = Producer(self.transport, 64 * MB, buffered)
            self.transport.registerProducer(producer, True)
            producer.resumeProducing()  # runs until the buffer is full: then paused
            self.transport.loseConnection()  # waits for the producer to unregister

    class Peer(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.pauseProducing()

    with connected_pair(reactor, make_pair, Writer, Peer, timeout) as pair:
        producer = state["producer"]
        iterate_until(reactor, lambda: producer.paused, timeout)
        pair.client.transport.abortConnection()
        pair.wait_closed(reactor, timeout)
        assert [c for c in producer.calls if c[0] == "stop"] == [("stop", 0)]
        pair.server.reason.trap(error.ConnectionLost)


def check_pull_producer(
    reactor: Any, make_pair: Callable[..., Any], timeout: float = 20, **_: Any
) -> None:
    """A pull producer is asked for data again and again until it unregisters."""
    count = 200
    calls: list[int] = []

    class Pull:
        def __init__(self, transport: Any) -> None:
            self.transport = transport

        def resumeProducing(self) -> None:
            calls.append(len(calls))
            if len(calls) > count:
                raise AssertionError("resumeProducing after unregisterProducer")
            self.transport.write(b"%06d" % len(calls) + payload(CHUNK - 6, 6))
            if len(calls) == count:
                self.transport.unregisterProducer()
                self.transport.loseConnection()

        def stopProducing(self) -> None:
            raise AssertionError("stopProducing of a producer that unregistered")

    class Writer(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.registerProducer(Pull(self.transport), False)

    expected = b"".join(b"%06d" % i + payload(CHUNK - 6, 6) for i in range(1, count + 1))
    with connected_pair(reactor, make_pair, Writer, RecordingProtocol, timeout) as pair:
        pair.wait_closed(reactor, timeout)
        assert len(calls) == count
        assert pair.client.digest.hexdigest() == _sha(expected)
        pair.client.reason.trap(error.ConnectionDone)
        pair.server.reason.trap(error.ConnectionDone)


def check_addresses(
    reactor: Any,
    make_pair: Callable[..., Any],
    transport_interface: Any = ITCPTransport,
    timeout: float = 20,
    **_: Any,
) -> None:
    """Each side's getHost() is the other's getPeer(); transports provide the interface."""
    with connected_pair(reactor, make_pair, RecordingProtocol, RecordingProtocol, timeout) as p:
        server, client = p.server.transport, p.client.transport
        assert verifyObject(transport_interface, server)
        assert verifyObject(transport_interface, client)
        for addr in (server.getHost(), server.getPeer(), client.getHost(), client.getPeer()):
            assert IAddress.providedBy(addr), addr
        assert server.getHost() == client.getPeer()
        assert server.getPeer() == client.getHost()
        client.loseConnection()
        p.wait_closed(reactor, timeout)
        # Still answered once closed (protocols log them in connectionLost).
        assert server.getPeer() == client.getHost()


def check_write_types(
    reactor: Any, make_pair: Callable[..., Any], timeout: float = 20, **_: Any
) -> None:
    """write() refuses str; takes bytes, bytearray and memoryview; writeSequence joins."""
    reused = bytearray(b"abc")

    class Writer(RecordingProtocol):
        def on_made(self) -> None:
            t = self.transport
            with pytest.raises(TypeError):
                t.write("text")
            with pytest.raises(TypeError):
                t.writeSequence([b"ok", "text"])
            t.write(payload(4 * MB, 7))  # so that what follows is queued
            t.write(reused)
            reused[:] = b"XYZ"  # the transport took a snapshot
            t.write(memoryview(b"def"))
            t.write(b"")
            t.writeSequence([b"g", b"hi", b""])
            t.writeSequence(iter([b"jk"]))
            t.loseConnection()

    expected = payload(4 * MB, 7) + b"abcdefghijk"
    with connected_pair(reactor, make_pair, Writer, RecordingProtocol, timeout) as pair:
        pair.wait_closed(reactor, timeout)
        assert pair.client.received == len(expected)
        assert pair.client.digest.hexdigest() == _sha(expected)


def check_typed_memoryview_writes(
    reactor: Any, make_pair: Callable[..., Any], timeout: float = 20, **_: Any
) -> None:
    """A memoryview with items wider than a byte is sent whole, counted in bytes.

    The first write goes to the socket at once and is only partly taken (8 MB
    is more than the socket buffers hold), the second is queued behind it.
    """
    wide = array.array("i", range(2_000_000))  # 8 MB, 4-byte items
    small = array.array("q", [1, 2, 3])

    class Writer(RecordingProtocol):
        def on_made(self) -> None:
            self.transport.write(memoryview(wide))
            self.transport.write(memoryview(small))
            self.transport.loseConnection()

    expected = wide.tobytes() + small.tobytes()
    with connected_pair(reactor, make_pair, Writer, RecordingProtocol, timeout) as pair:
        pair.wait_closed(reactor, timeout)
        assert pair.client.received == len(expected)
        assert pair.client.digest.hexdigest() == _sha(expected)


STREAM_CHECKS = (
    check_echo,
    check_half_close_client_first,
    check_half_close_server_first,
    check_lose_connection_flushes,
    check_abort_connection,
    check_abort_drops_queued_data,
    check_streaming_producer_flow_control,
    check_producer_stopped_when_the_peer_goes,
    check_pull_producer,
    check_addresses,
    check_write_types,
    check_typed_memoryview_writes,
)


def check_stream_transport(
    reactor: Any, make_pair: Callable[..., Any], checks: Any = STREAM_CHECKS, **options: Any
) -> None:
    """Run checks (default: all of ``STREAM_CHECKS``) over make_pair with options."""
    for check in checks:
        check(reactor, make_pair, **options)
