"""TLS for any stream transport: the ``TLSTransport`` shell, STARTTLS and listenSSL.

The TLS state machine is ``_tlsbio.MemoryBIOTLS`` (sans-IO, pyOpenSSL over
memory BIOs); this module is the shell that moves its bytes over a real
transport, so TCP, UNIX sockets, in-memory transports and ``startTLS``
share one implementation.  It is not a TCP transport: ``tcp.py`` is
untouched and wrapped.  This is also the public home of the rest of TLS,
re-exported from the private modules that hold it: the options that build
``OpenSSL.SSL.Context`` objects with Twisted's names
(``optionsForClientTLS``, ``CertificateOptions``: ``_tlsoptions``), the
endpoints and the ``ssl:``/``tls:`` description strings
(``_tlsendpoints``), and certificate management (``_certs``).

Verification is on by default: ``optionsForClientTLS`` checks the server's
chain against the platform trust store (or the roots given) *and* its host
name.  Turning it off takes ``insecure_skip_verification=True``.

Call order seen by the wrapped protocol (as in Twisted, ``connectionMade``
comes before the handshake; writes wait for it)::

    makeConnection -> connectionMade -> [handshakeCompleted] -> dataReceived*
        -> connectionLost

``connectionLost`` gets ``ConnectionDone`` only after a clean TLS close
(a close_notify either way); a peer that just drops the stream gives
``TLSTruncationError``, and every other failure a ``TLSError`` naming its
reason.  Both are ``ConnectionLost`` subclasses.

Design notes
------------
*The shell is both a protocol and a transport.*  The wrapped transport
sees a protocol (``dataReceived`` of ciphertext, ``connectionLost``); the
user's protocol sees a transport.  The received path is one
``receive_ciphertext`` call and one ``dataReceived`` per batch.

*Flushing.*  User writes only queue plaintext (``MemoryBIOTLS`` coalesces
them into records).  The queue is flushed after each batch of received
data (a reply written in ``dataReceived`` goes out with it), at once when
a record's worth (16 KiB) is queued, and otherwise by one
``callLater(0)`` per burst of writes when the transport has a reactor.

*Flow control.*  A producer registered here is wrapped in a small
membrane registered with the transport below once the handshake is done,
so the lower transport's high-water mark pauses it and its low-water mark
resumes it, and a pull producer's writes are flushed before the lower
transport decides whether to ask again.  Until then the TLS layer pauses
a push producer itself once the plaintext waiting for the handshake
passes the high-water mark below, and resumes it after the handshake
unless the transport below has paused it by then.

*STARTTLS.*  ``startTLS(connection, contextFactory)`` swaps the protocol
of a live connection for a ``TLSTransport`` around it.  For a
``tcp.Connection`` that means also its cached ``_half`` slot (tcp.py looks
the protocol's ``IHalfCloseableProtocol`` up once, in ``makeConnection``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cryptography import x509
from zope.interface import implementer

from reactorsock import error
from reactorsock._certs import (
    CertificateAndKey,
    CertificateInfo,
    DevCertificatePaths,
    certificate_info,
    load_pem_certificate,
    load_pem_certificates,
    load_pem_private_key,
    make_ca,
    make_certificate,
    make_private_key,
    make_self_signed,
    save_pem,
    write_dev_certificates,
)
from reactorsock._tlsbio import (
    RECORD_SIZE,
    MemoryBIOTLS,
    TLSError,
    TLSTruncationError,
)
from reactorsock._tlsendpoints import (
    SSL_SERVER_SYNTAX,
    TLS_CLIENT_SYNTAX,
    TLSServerEndpoint,
    wrapClientTLS,
)
from reactorsock._tlsoptions import (
    HANDSHAKE_TIMEOUT,
    CertificateOptions,
    ClientTLSOptions,
    TLSv1_2,
    TLSv1_3,
    optionsForClientTLS,
    platformTrust,
)
from reactorsock.failure import Failure
from reactorsock.interfaces import (
    IConsumer,
    IHalfCloseableProtocol,
    IProtocol,
    IPushProducer,
    ITCPTransport,
)
from reactorsock.protocol import ClientFactory

__all__ = [
    "TLSError",
    "TLSTruncationError",
    "MemoryBIOTLS",
    "CertificateOptions",
    "ClientTLSOptions",
    "optionsForClientTLS",
    "platformTrust",
    "TLSTransport",
    "TLSWrappingFactory",
    "startTLS",
    "listen_ssl",
    "connect_ssl",
    "TLSServerEndpoint",
    "wrapClientTLS",
    "SSL_SERVER_SYNTAX",
    "TLS_CLIENT_SYNTAX",
    "HANDSHAKE_TIMEOUT",
    "TLSv1_2",
    "TLSv1_3",
    # re-exported from _certs
    "CertificateAndKey",
    "CertificateInfo",
    "DevCertificatePaths",
    "certificate_info",
    "load_pem_certificate",
    "load_pem_certificates",
    "load_pem_private_key",
    "make_ca",
    "make_certificate",
    "make_private_key",
    "make_self_signed",
    "save_pem",
    "write_dev_certificates",
]


# ---------------------------------------------------------------------------
# Starting the TLS state machine


def _new_tls(contextFactory: Any, server_side: bool, half_close: bool = False) -> MemoryBIOTLS:
    context = contextFactory.getContext()
    hostname = None if server_side else getattr(contextFactory, "server_hostname", None)
    verify = getattr(contextFactory, "verify_hostname", hostname is not None)
    return MemoryBIOTLS(
        context,
        server_side=server_side,
        server_hostname=hostname,
        verify_hostname=verify,
        answer_close_notify=not half_close,
    )


# ---------------------------------------------------------------------------
# The transport shell

#: Plaintext queued before the handshake that pauses a push producer, when
#: the transport below has no ``highWaterMark`` (tcp.Connection's default).
_HIGH_WATER_MARK = 64 * 1024


class _ProducerMembrane:
    """Registered with the transport below on behalf of the producer registered above."""

    __slots__ = ("tls", "producer", "streaming", "paused", "held")

    def __init__(self, tls: TLSTransport, producer: Any, streaming: bool) -> None:
        self.tls = tls
        self.producer = producer
        self.streaming = streaming
        self.paused = False  # by the transport below
        self.held = False  # by the TLS layer, before the handshake (``_hold_producer``)

    def pauseProducing(self) -> None:
        """The transport below is full: pause the producer above."""
        self.paused = True
        self.producer.pauseProducing()

    def resumeProducing(self) -> None:
        """The transport below drained: resume (or, for a pull producer, ask) the producer."""
        self.paused = self.held = False
        self.producer.resumeProducing()
        if not self.streaming:
            self.tls._flush()

    def stopProducing(self) -> None:
        """The transport below is going away."""
        self.tls._producer_stopped(self)


@implementer(ITCPTransport, IProtocol, IConsumer, IPushProducer)
class TLSTransport:
    """TLS between a stream transport (ciphertext) and a protocol (plaintext).

    See ``ITCPTransport``; it is the *protocol* of the transport below and
    the *transport* of ``protocol``.  server_side chooses the role;
    contextFactory has ``getContext()`` and, for clients, may carry
    ``server_hostname``/``verify_hostname`` (``optionsForClientTLS``).
    reactor (for the handshake timeout and write flushing) defaults to the
    lower transport's ``reactor`` attribute.

    Half-close is by close_notify, never by a FIN below (the transport
    below closes once both directions are done).  ``loseWriteConnection``
    flushes, sends close_notify and then calls ``writeConnectionLost`` of
    an ``IHalfCloseableProtocol``.  For such a protocol the peer's
    close_notify, received while this side can still write, calls
    ``readConnectionLost`` instead of closing; ``connectionLost`` with
    ``ConnectionDone`` follows once both close_notifies have gone.  Any
    other protocol answers the peer's close_notify at once and closes, as
    before.  TLS 1.3 allows the peer to keep sending after our
    close_notify (RFC 8446 section 6.1).  TLS 1.2 (RFC 5246 section 7.2.1)
    has a peer answer close_notify at once and drop what it had still to
    send: such a peer ends the connection (``readConnectionLost`` then
    ``ConnectionDone``) instead of answering; OpenSSL (two reactorsock
    ends) does half-close over TLS 1.2 too.
    """

    __slots__ = (
        "protocol",
        "transport",
        "reactor",
        "server_side",
        "connected",
        "disconnecting",
        "disconnected",
        "producer",
        "streamingProducer",
        "lost_reason",
        "_context_factory",
        "_handshake_timeout",
        "_tls",
        "_data_received",
        "_membrane",
        "_membrane_registered",
        "_reason",
        "_dispatching",
        "_flush_call",
        "_timer",
        "_close_after_handshake",
        "_tls_closed",
        "_pause_after_handshake",
        "_half",
        "_write_shut",
        "_read_shut",
        "__weakref__",
    )

    def __init__(
        self,
        protocol: Any,
        contextFactory: Any,
        server_side: bool,
        *,
        reactor: Any = None,
        handshake_timeout: float | None | object = ...,
    ) -> None:
        self.protocol = protocol
        self.transport: Any = None
        self.reactor = reactor
        self.server_side = server_side
        self.connected = False
        self.disconnecting = False
        self.disconnected = False
        self.producer: Any = None
        self.streamingProducer = False
        self.lost_reason: Failure | None = None
        self._context_factory = contextFactory
        if handshake_timeout is ...:
            handshake_timeout = getattr(contextFactory, "handshake_timeout", HANDSHAKE_TIMEOUT)
        self._handshake_timeout = handshake_timeout
        self._tls: MemoryBIOTLS | None = None
        self._data_received: Any = None
        self._membrane: _ProducerMembrane | None = None
        self._membrane_registered = False
        self._reason: Failure | None = None
        self._dispatching = False
        self._flush_call: Any = None
        self._timer: Any = None
        self._close_after_handshake = False
        self._tls_closed = False
        self._pause_after_handshake = False
        self._half: Any = None
        self._write_shut = False
        self._read_shut = False

    def __repr__(self) -> str:
        role = "server" if self.server_side else "client"
        return f"<TLSTransport {role} {self.logPrefix()} over {self.transport!r}>"

    def logPrefix(self) -> str:
        """The wrapped protocol's class name, plus "(TLS)"."""
        return f"{type(self.protocol).__name__} (TLS)"

    # -- the lower side: a protocol of the transport below ---------------------

    def makeConnection(self, transport: Any) -> None:
        """See ``IProtocol.makeConnection``: start the handshake, then connect the protocol."""
        self._attach(transport)
        self.protocol.makeConnection(self)

    def connectionMade(self) -> None:
        """See ``IProtocol.connectionMade``; ``makeConnection`` does the work."""

    def _attach(self, transport: Any) -> None:
        self.transport = transport
        if self.reactor is None:
            self.reactor = getattr(transport, "reactor", None)
        self._half = IHalfCloseableProtocol(self.protocol, None)
        self._tls = _new_tls(self._context_factory, self.server_side, self._half is not None)
        self._data_received = self.protocol.dataReceived
        self.connected = True
        if self._handshake_timeout is not None and self.reactor is not None:
            self._timer = self.reactor.callLater(self._handshake_timeout, self._handshake_expired)
        self._flush()  # a client's ClientHello

    def dataReceived(self, data: bytes) -> None:
        """See ``IProtocol.dataReceived``: ciphertext from below; plaintext goes up."""
        tls = self._tls
        was_done = tls.handshake_done
        self._dispatching = True
        try:
            try:
                plaintext = tls.receive_ciphertext(data)
            except TLSError as e:
                self._fail(e)
                return
            if not was_done and tls.handshake_done:
                self._handshake_finished()
            if plaintext and not self.disconnected:
                self._data_received(plaintext)
            if tls.error is not None:
                self._fail(tls.error)
                return
            if tls.peer_closed_cleanly and not self._read_shut:
                self._peer_closed()
                if self._tls_closed or self.disconnected:
                    return
        finally:
            self._dispatching = False
        self._flush()

    def connectionLost(self, reason: Failure) -> None:
        """See ``IProtocol.connectionLost``: the transport below is gone; tell the protocol why."""
        if self.disconnected:
            return
        self.disconnected = True
        self.connected = False
        self._cancel_timers()
        if self._tls is None:
            # _attach failed (the context factory raised): the protocol was
            # never connected, so it is not told it was disconnected.
            self.lost_reason = reason
            return
        final = self._final_reason(reason)
        self.lost_reason = final
        membrane, self._membrane = self._membrane, None
        producer, self.producer = self.producer, None
        if producer is not None and membrane is not None and not self._membrane_registered:
            producer.stopProducing()  # the transport below never knew about it
        self.protocol.connectionLost(final)

    def _final_reason(self, reason: Failure) -> Failure:
        if self._reason is not None:
            return self._reason
        tls = self._tls
        if tls.peer_closed_cleanly:
            return Failure(error.ConnectionDone("TLS closed cleanly"))
        if reason.check(error.ConnectionDone):
            if self._tls_closed:
                return reason
            try:
                tls.receive_ciphertext(b"")
            except TLSError as e:
                return Failure(e)
        return reason

    def _peer_closed(self) -> None:
        # The peer's close_notify: the end of its data.  A half-closeable
        # protocol hears of it (and may go on writing); the connection is
        # over once our close_notify has gone too (MemoryBIOTLS sent it at
        # once for any other protocol).
        self._read_shut = True
        half = self._half
        if half is not None and not self._tls_closed:
            half.readConnectionLost()
            if self._tls_closed or self.disconnected:
                return  # it closed (loseConnection, or loseWriteConnection: both are done)
        if half is None or self._tls.closed:
            self._tls_closed = True
            self._close_below()

    # -- handshake -------------------------------------------------------------

    def _handshake_finished(self) -> None:
        self._cancel_timer()
        if self._pause_after_handshake:
            self._pause_after_handshake = False
            self.transport.pauseProducing()
        membrane = self._membrane
        if membrane is not None and not self._membrane_registered:
            self._register_membrane()
            if membrane.held:
                # Resumed once the queued plaintext has gone below (the end
                # of this batch), unless the transport below paused it then.
                if self.reactor is not None:
                    self.reactor.callLater(0, self._release_producer, membrane)
                else:
                    self._release_producer(membrane)
        listener = getattr(self.protocol, "handshakeCompleted", None)
        if listener is not None:
            listener()
        if self._close_after_handshake:
            self._shutdown()
        elif self._write_shut:
            self._shut_write()

    def _handshake_expired(self) -> None:
        self._timer = None
        if self.disconnected or self._tls.handshake_done:
            return
        exc = TLSError(f"TLS handshake timed out after {self._handshake_timeout:g} s")
        self._reason = Failure(exc)
        self._abort_below()

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _cancel_timers(self) -> None:
        self._cancel_timer()
        call, self._flush_call = self._flush_call, None
        if call is not None and call.active():
            call.cancel()

    # -- failure and closing ---------------------------------------------------

    def _fail(self, exc: TLSError) -> None:
        if self._reason is None:
            self._reason = Failure(exc)
        self._cancel_timer()
        if self.disconnected:
            return
        out = self._tls.ciphertext_to_send()  # the alert that says why, if any
        if out:
            self.transport.write(out)
        self._close_below()

    def _close_below(self) -> None:
        self._flush()
        if self._membrane_registered:
            # A producer registered below would hold loseConnection open.
            self._membrane_registered = False
            self.transport.unregisterProducer()
        self.transport.loseConnection()

    def _abort_below(self) -> None:
        abort = getattr(self.transport, "abortConnection", None)
        if abort is not None:
            abort()
        else:
            self.transport.loseConnection()

    def _shutdown(self) -> None:
        if self._tls_closed or self.disconnected or self._reason is not None:
            return
        self._tls_closed = True
        self._tls.close()  # encrypts what is queued, then the close_notify
        self._close_below()

    def loseConnection(self) -> None:
        """See ``ITransport.loseConnection``: flush, send close_notify, then close below.

        Before the handshake is done the close waits for it (writes made so
        far are sent first); a registered producer holds it open until it
        unregisters, as in Twisted.
        """
        if self.disconnecting or self.disconnected:
            return
        self.disconnecting = True
        if self.producer is None:
            self._begin_close()

    def _begin_close(self) -> None:
        if self._tls.handshake_done:
            self._shutdown()
        else:
            self._close_after_handshake = True

    def loseWriteConnection(self) -> None:
        """See ``ITCPTransport.loseWriteConnection``: flush, send close_notify, keep reading.

        Later writes are dropped.  Before the handshake is done the
        close_notify waits for it.  An ``IHalfCloseableProtocol`` then gets
        ``writeConnectionLost`` (see the class docstring for the rest).
        """
        if self._write_shut or self._tls_closed or self.disconnecting or self.disconnected:
            return
        self._write_shut = True
        if self._tls.handshake_done:
            self._shut_write()

    def _shut_write(self) -> None:
        tls = self._tls
        tls.close()  # encrypts what is queued, then the close_notify
        self._flush()
        if self.disconnected or self._reason is not None:
            return
        done = tls.peer_closed_cleanly  # both directions are shut now
        if done:
            self._tls_closed = True
        if self._half is not None:
            self._half.writeConnectionLost()
        if done and not self.disconnected:
            self._close_below()

    def abortConnection(self) -> None:
        """See ``ITCPTransport.abortConnection``: drop everything and close below at once."""
        if self.disconnected:
            return
        self.disconnecting = True
        self._cancel_timers()
        self._abort_below()

    # -- writing -----------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """See ``ITransport.write``: plaintext, encrypted and sent in coalesced records."""
        if self.disconnected or self._tls_closed or self._write_shut:  # as TCP: still sent
            if isinstance(data, str):
                raise TypeError("write() takes bytes, not str")
            return
        tls = self._tls
        tls.send_plaintext(data)
        if not tls.handshake_done:  # sent when the handshake is done
            if self._membrane is not None:
                self._hold_producer(self._membrane)
            return
        if self._dispatching:
            return  # sent at the end of the batch
        if tls.pending_plaintext >= RECORD_SIZE or self.reactor is None:
            self._flush()
        elif self._flush_call is None:
            self._flush_call = self.reactor.callLater(0, self._flush)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        """See ``ITransport.writeSequence``."""
        self.write(b"".join(iovec))

    def _flush(self) -> None:
        call, self._flush_call = self._flush_call, None
        if call is not None and call.active():
            call.cancel()
        if self.disconnected:
            return
        tls = self._tls
        out = tls.ciphertext_to_send()
        if out:
            self.transport.write(out)
        if tls.error is not None and self._reason is None:
            self._fail(tls.error)

    # -- producers -----------------------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """See ``IConsumer.registerProducer``: flow control is that of the transport below."""
        if self.producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}: {self.producer!r} is registered"
            )
        if self.disconnected:
            producer.stopProducing()
            return
        self.producer = producer
        self.streamingProducer = streaming
        self._membrane = _ProducerMembrane(self, producer, streaming)
        if self._tls.handshake_done:
            self._register_membrane()

    def _hold_producer(self, membrane: _ProducerMembrane) -> None:
        # Before the handshake the membrane is not registered below, so the
        # high-water mark there does not see the plaintext queued here: a
        # push producer would fill memory until the handshake ends.
        if membrane.streaming and not membrane.held:
            high = getattr(self.transport, "highWaterMark", _HIGH_WATER_MARK)
            if self._tls.pending_plaintext > high:
                membrane.held = True
                membrane.producer.pauseProducing()

    def _release_producer(self, membrane: _ProducerMembrane) -> None:
        if not membrane.held or self._membrane is not membrane or self.disconnected:
            return
        membrane.held = False
        if not membrane.paused:
            membrane.producer.resumeProducing()

    def _register_membrane(self) -> None:
        self._membrane_registered = True
        self.transport.registerProducer(self._membrane, self._membrane.streaming)

    def unregisterProducer(self) -> None:
        """See ``IConsumer.unregisterProducer``; a pending loseConnection then completes."""
        if self.producer is None:
            return
        self.producer = None
        self._membrane = None
        if self._membrane_registered:
            self._membrane_registered = False
            self.transport.unregisterProducer()
        if self.disconnecting and not self.disconnected:
            self._begin_close()

    def _producer_stopped(self, membrane: _ProducerMembrane) -> None:
        self._membrane_registered = False
        if self._membrane is membrane:
            self._membrane = None
            self.producer = None
        membrane.producer.stopProducing()

    def pauseProducing(self) -> None:
        """See ``IPushProducer.pauseProducing``: stop reading from the peer.

        During the handshake reading goes on (the handshake needs it) and
        stops when the handshake is done.
        """
        if self._tls is not None and not self._tls.handshake_done:
            self._pause_after_handshake = True
        else:
            self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        """See ``IPushProducer.resumeProducing``: read from the peer again."""
        self._pause_after_handshake = False
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        """See ``IProducer.stopProducing``: lose the connection."""
        self.loseConnection()

    # -- what the handshake settled, and the transport below -------------------------

    def getPeerCertificate(self) -> x509.Certificate | None:  # noqa: N802 - Twisted API
        """The peer's certificate as a ``cryptography.x509.Certificate``, or None.

        Twisted returns an ``OpenSSL.crypto.X509``; call
        ``crypto.X509.from_cryptography`` on this for one.  None before the
        handshake completes and when the peer sent none.
        """
        return self._tls.peer_certificate if self._tls is not None else None

    @property
    def negotiatedProtocol(self) -> bytes | None:  # noqa: N802 - Twisted API
        """The ALPN protocol agreed on (``b"h2"``, ``b"http/1.1"``), or None."""
        return self._tls.negotiated_protocol if self._tls is not None else None

    @property
    def tls(self) -> MemoryBIOTLS | None:
        """The sans-IO TLS state (SNI name asked for, version, the pyOpenSSL connection)."""
        return self._tls

    def getHost(self) -> Any:
        """See ``ITransport.getHost``: the transport below's."""
        return self.transport.getHost()

    def getPeer(self) -> Any:
        """See ``ITransport.getPeer``: the transport below's."""
        return self.transport.getPeer()

    def getHandle(self) -> Any:
        """The transport below's handle (its socket, for a TCP connection)."""
        return self.transport.getHandle()

    def setTcpNoDelay(self, enabled: bool) -> None:
        """See ``ITCPTransport.setTcpNoDelay``."""
        self.transport.setTcpNoDelay(enabled)

    def getTcpNoDelay(self) -> bool:
        """See ``ITCPTransport.getTcpNoDelay``."""
        return self.transport.getTcpNoDelay()

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """See ``ITCPTransport.setTcpKeepAlive``."""
        self.transport.setTcpKeepAlive(enabled)

    def getTcpKeepAlive(self) -> bool:
        """See ``ITCPTransport.getTcpKeepAlive``."""
        return self.transport.getTcpKeepAlive()


class TLSWrappingFactory(ClientFactory):
    """Wraps every protocol that wrappedFactory builds in a ``TLSTransport``.

    Twisted's ``TLSMemoryBIOFactory``.  isClient chooses the TLS role.  On
    the client side the connector's ``clientConnectionLost`` is handed the
    TLS layer's reason (a ``TLSError`` rather than the TCP layer's
    ``ConnectionDone``).
    """

    def __init__(
        self,
        contextFactory: Any,
        isClient: bool,
        wrappedFactory: Any,
        *,
        handshake_timeout: float | None | object = ...,
    ) -> None:
        self.contextFactory = contextFactory
        self.isClient = isClient
        self.wrappedFactory = wrappedFactory
        self._handshake_timeout = handshake_timeout
        self._last: TLSTransport | None = None

    def logPrefix(self) -> str:
        """The wrapped factory's prefix, plus "(TLS)"."""
        prefix = getattr(self.wrappedFactory, "logPrefix", None)
        name = prefix() if prefix is not None else type(self.wrappedFactory).__name__
        return f"{name} (TLS)"

    def doStart(self) -> None:
        """See ``IProtocolFactory.doStart``: forwarded."""
        self.wrappedFactory.doStart()

    def doStop(self) -> None:
        """See ``IProtocolFactory.doStop``: forwarded."""
        self.wrappedFactory.doStop()

    def buildProtocol(self, addr: Any) -> TLSTransport | None:
        """The wrapped factory's protocol inside a ``TLSTransport`` (None stays None)."""
        protocol = self.wrappedFactory.buildProtocol(addr)
        if protocol is None:
            return None
        wrapper = TLSTransport(
            protocol,
            self.contextFactory,
            not self.isClient,
            handshake_timeout=self._handshake_timeout,
        )
        self._last = wrapper
        return wrapper

    def startedConnecting(self, connector: Any) -> None:
        """Forwarded to the wrapped factory, if it is a client factory."""
        hook = getattr(self.wrappedFactory, "startedConnecting", None)
        if hook is not None:
            hook(connector)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        """Forwarded to the wrapped factory, if it is a client factory."""
        hook = getattr(self.wrappedFactory, "clientConnectionFailed", None)
        if hook is not None:
            hook(connector, reason)

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        """Forwarded, with the TLS layer's reason in place of the TCP layer's."""
        last = self._last
        if last is not None and last.lost_reason is not None:
            reason = last.lost_reason
        hook = getattr(self.wrappedFactory, "clientConnectionLost", None)
        if hook is not None:
            hook(connector, reason)


def startTLS(  # noqa: N802 - Twisted API
    transport: Any,
    contextFactory: Any,
    server_side: bool | None = None,
    *,
    handshake_timeout: float | None | object = ...,
) -> TLSTransport:
    """Start TLS on a live connection (STARTTLS); return the new ``TLSTransport``.

    The connection's protocol stays the same and gets the ``TLSTransport``
    as its ``transport``; bytes written before the call go out in the
    clear, ahead of the handshake, and a producer registered with the
    connection moves to the ``TLSTransport``, as if registered there.
    server_side defaults to the connection's role: client if it has a
    ``connector`` (it was made by connectTCP/connectUNIX), server
    otherwise.  Bytes the peer sends
    after its STARTTLS command must not already have been delivered to the
    protocol: the protocol must call this before the peer starts its
    handshake (as the STARTTLS command/response exchange ensures).
    """
    if isinstance(transport, TLSTransport) or isinstance(transport.protocol, TLSTransport):
        raise RuntimeError("TLS is already started on this connection")
    if server_side is None:
        server_side = getattr(transport, "connector", None) is None
    protocol = transport.protocol
    producer = getattr(transport, "producer", None)
    if producer is not None:
        # Moved up to the TLS layer, as if registered there: its writes are
        # plaintext now, and the water marks that pause it are the TLS layer's.
        streaming = bool(getattr(transport, "streamingProducer", True))
        paused = bool(getattr(transport, "producerPaused", False))
        transport.unregisterProducer()
    wrapper = TLSTransport(
        protocol,
        contextFactory,
        server_side,
        reactor=getattr(transport, "reactor", None),
        handshake_timeout=handshake_timeout,
    )
    transport.protocol = wrapper
    if hasattr(transport, "_half"):
        # EOF must reach the TLS layer (connectionLost) to be checked for truncation.
        transport._half = None
    protocol.transport = wrapper
    wrapper._attach(transport)
    if producer is not None:
        wrapper.registerProducer(producer, streaming)
        membrane = wrapper._membrane
        if paused and streaming and membrane is not None:
            # Paused below; resumed by the TLS layer after the handshake
            # (``_release_producer``) unless paused there again by then.
            membrane.held = True
    return wrapper


# ---------------------------------------------------------------------------
# Reactor API


def listen_ssl(
    reactor: Any,
    port: int,
    factory: Any,
    contextFactory: Any,
    backlog: int = 50,
    interface: str = "",
) -> Any:
    """See ``IReactorSSL.listenSSL``: ``listenTCP`` with every connection TLS-wrapped."""
    return reactor.listenTCP(port, TLSWrappingFactory(contextFactory, False, factory), backlog,
                             interface)  # fmt: skip


def connect_ssl(
    reactor: Any,
    host: str,
    port: int,
    factory: Any,
    contextFactory: Any,
    timeout: float = 30,
    bindAddress: Any = None,
) -> Any:
    """See ``IReactorSSL.connectSSL``: ``connectTCP`` with the connection TLS-wrapped.

    With ``optionsForClientTLS(host)`` the server's name is checked; a
    bare Twisted-style context factory (only ``getContext``) checks what
    its context checks, and no host name.
    """
    wrapping = TLSWrappingFactory(contextFactory, True, factory)
    return reactor.connectTCP(host, port, wrapping, timeout, bindAddress)
