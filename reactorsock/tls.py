"""TLS for any stream transport: options, the ``TLSTransport`` shell, STARTTLS and listenSSL.

The TLS state machine is ``_tlsbio.MemoryBIOTLS`` (sans-IO, pyOpenSSL over
memory BIOs); this module is the shell that moves its bytes over a real
transport, so TCP, UNIX sockets, in-memory transports and ``startTLS``
share one implementation.  It also builds the ``OpenSSL.SSL.Context``
objects with Twisted's names (``optionsForClientTLS``,
``CertificateOptions``), and re-exports certificate management from
``_certs``.  It is not a TCP transport: ``tcp.py`` is untouched and wrapped.

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
transport decides whether to ask again.

*STARTTLS.*  ``startTLS(connection, contextFactory)`` swaps the protocol
of a live connection for a ``TLSTransport`` around it.  For a
``tcp.Connection`` that means also its cached ``_data_received`` and
``_half`` slots (tcp.py looks both up once, in ``makeConnection``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from OpenSSL import SSL, crypto
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
    encode_server_name,
)
from reactorsock.defer import Deferred, fail
from reactorsock.failure import Failure
from reactorsock.interfaces import (
    IConsumer,
    IProtocol,
    IPushProducer,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
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

#: Seconds a peer gets to finish the handshake; protects servers from idle clients.
#: 30 s matches connectTCP's default timeout.
HANDSHAKE_TIMEOUT = 30.0
#: Protocol versions for ``raiseMinimumTo`` (Twisted names them ``TLSVersion.TLSv1_2``).
TLSv1_2 = SSL.TLS1_2_VERSION  # noqa: N816 - Twisted's spelling
TLSv1_3 = SSL.TLS1_3_VERSION  # noqa: N816 - Twisted's spelling


# ---------------------------------------------------------------------------
# Options: building contexts


class _PlatformTrust:
    """The platform's trust store (``SSL_CTX_set_default_verify_paths``)."""

    def __repr__(self) -> str:
        return "platformTrust()"


_PLATFORM = _PlatformTrust()


def platformTrust() -> Any:  # noqa: N802 - Twisted API
    """The operating system's trust store, as a ``trustRoot`` value."""
    return _PLATFORM


def _to_cert(obj: Any) -> x509.Certificate:
    if isinstance(obj, crypto.X509):
        return obj.to_cryptography()
    if isinstance(obj, CertificateAndKey):
        return obj.certificate
    if isinstance(obj, bytes | str | os.PathLike):
        return load_pem_certificate(obj if isinstance(obj, bytes) else Path(obj))
    return obj


def _to_key(obj: Any) -> Any:
    if isinstance(obj, crypto.PKey):
        return obj.to_cryptography_key()
    if isinstance(obj, bytes | str | os.PathLike):
        return load_pem_private_key(obj if isinstance(obj, bytes) else Path(obj))
    return obj


def _trust_certificates(trust: Any) -> list[x509.Certificate]:
    if isinstance(trust, crypto.X509 | x509.Certificate | CertificateAndKey):
        return [_to_cert(trust)]
    if isinstance(trust, bytes):
        return load_pem_certificates(trust)
    return [_to_cert(c) for c in trust]


def _as_protocols(protocols: Iterable[bytes | str] | None) -> list[bytes]:
    if not protocols:
        return []
    return [p.encode("ascii") if isinstance(p, str) else bytes(p) for p in protocols]


class CertificateOptions:
    """Builds (once) and hands out the ``OpenSSL.SSL.Context`` of a server or client.

    Twisted's ``CertificateOptions``, with its argument names:

    - ``privateKey``/``certificate``: this side's key and certificate
      (``cryptography`` or pyOpenSSL objects, PEM bytes, or file paths);
      ``extraCertChain``: intermediates sent after the certificate.
    - ``verify``: check the peer's certificate against ``caCerts`` (a list
      of CA certificates); ``trustRoot`` (a certificate, a list of them, a
      PEM bundle or directory path, or ``platformTrust()``) implies
      ``verify=True``.  On a server ``requireCertificate`` (default true)
      refuses clients that send none: mutual TLS.
    - ``acceptableProtocols``: ALPN names in order of preference
      (``[b"h2", b"http/1.1"]``); a server picks its most preferred one
      that the client offers, and goes on without ALPN when none match.
    - ``raiseMinimumTo``: lowest TLS version (``TLSv1_2``, the floor, or
      ``TLSv1_3``).
    - ``server_names``: server-side SNI, a mapping of host name (or
      ``"*.example.com"``) to the ``CertificateOptions`` (or ``Context``)
      whose certificate to present; unknown names get this one's.
    - ``handshake_timeout``: seconds before an unfinished handshake is
      aborted (``HANDSHAKE_TIMEOUT``); None for no limit.

    ``getContext()`` is Twisted's ContextFactory method.  The context is
    built on first use and shared by every connection.
    """

    def __init__(
        self,
        privateKey: Any = None,
        certificate: Any = None,
        extraCertChain: Iterable[Any] | None = None,
        verify: bool = False,
        caCerts: Iterable[Any] | None = None,
        requireCertificate: bool = True,
        acceptableProtocols: Iterable[bytes | str] | None = None,
        raiseMinimumTo: int = TLSv1_2,
        trustRoot: Any = None,
        verifyDepth: int = 9,
        server_names: Mapping[str, Any] | None = None,
        handshake_timeout: float | None = HANDSHAKE_TIMEOUT,
    ) -> None:
        if (privateKey is None) != (certificate is None):
            raise ValueError("privateKey and certificate go together: give both or neither")
        if trustRoot is not None:
            if caCerts is not None:
                raise ValueError("give trustRoot or caCerts, not both")
            verify = True
        elif verify and caCerts is None:
            raise ValueError("verify=True needs caCerts or trustRoot (e.g. platformTrust())")
        elif caCerts is not None and not verify:
            raise ValueError("caCerts is only used with verify=True")
        if raiseMinimumTo not in (TLSv1_2, TLSv1_3):
            raise ValueError("raiseMinimumTo must be TLSv1_2 or TLSv1_3 (older ones are broken)")
        self.privateKey = _to_key(privateKey) if privateKey is not None else None
        self.certificate = _to_cert(certificate) if certificate is not None else None
        self.extraCertChain = [_to_cert(c) for c in extraCertChain or ()]
        self.verify = verify
        self.trustRoot = trustRoot if trustRoot is not None else caCerts
        self.requireCertificate = requireCertificate
        self.acceptableProtocols = _as_protocols(acceptableProtocols)
        self.raiseMinimumTo = raiseMinimumTo
        self.verifyDepth = verifyDepth
        self.server_names = {_sni_key(k): v for k, v in (server_names or {}).items()}
        self.handshake_timeout = handshake_timeout
        self._context: SSL.Context | None = None

    def getContext(self) -> SSL.Context:
        """The ``OpenSSL.SSL.Context`` for these options, built on first call."""
        if self._context is None:
            self._context = self._make_context()
        return self._context

    def _make_context(self) -> SSL.Context:
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(self.raiseMinimumTo)
        # No compression (CRIME); no renegotiation below TLS 1.3.
        ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE)
        ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
        if self.certificate is not None:
            ctx.use_certificate(self.certificate)
            ctx.use_privatekey(self.privateKey)
            for extra in self.extraCertChain:
                ctx.add_extra_chain_cert(extra)
            ctx.check_privatekey()
        if self.verify:
            self._set_trust(ctx)
        else:
            ctx.set_verify(SSL.VERIFY_NONE)
        # Needed for session resumption with client certificates (SSL_CTX_set_session_id_context).
        ctx.set_session_id(hashlib.sha256(repr(id(self)).encode()).digest()[:32])
        if self.acceptableProtocols:
            ctx.set_alpn_protos(self.acceptableProtocols)
            ctx.set_alpn_select_callback(self._select_alpn)
        if self.server_names:
            ctx.set_tlsext_servername_callback(self._select_server_name)
        return ctx

    def _set_trust(self, ctx: SSL.Context) -> None:
        mode = SSL.VERIFY_PEER | SSL.VERIFY_CLIENT_ONCE
        if self.requireCertificate:
            mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
        ctx.set_verify(mode)
        ctx.set_verify_depth(self.verifyDepth)
        trust = self.trustRoot
        if trust is _PLATFORM:
            ctx.set_default_verify_paths()
            return
        if isinstance(trust, str | os.PathLike):
            path = Path(trust)
            if path.is_dir():
                certs = [c for p in sorted(path.glob("*.pem")) for c in load_pem_certificates(p)]
            else:
                certs = load_pem_certificates(path)
        else:
            certs = _trust_certificates(trust)
        if not certs:
            raise ValueError(f"no CA certificate in trust root {trust!r}")
        store = ctx.get_cert_store()
        for cert in certs:
            store.add_cert(crypto.X509.from_cryptography(cert))
            # Tell clients which CAs to pick a client certificate from.
            ctx.add_client_ca(cert)

    def _select_alpn(self, conn: SSL.Connection, offered: list[bytes]) -> bytes:
        for proto in self.acceptableProtocols:
            if proto in offered:
                return proto
        return SSL.NO_OVERLAPPING_PROTOCOLS

    def _select_server_name(self, conn: SSL.Connection) -> None:
        name = conn.get_servername()
        if not name:
            return
        host = name.decode("ascii", "replace").lower()
        chosen = self.server_names.get(host)
        if chosen is None and "." in host:
            chosen = self.server_names.get("*." + host.split(".", 1)[1])
        if chosen is not None:
            conn.set_context(chosen if isinstance(chosen, SSL.Context) else chosen.getContext())


def _sni_key(name: str) -> str:
    if name.startswith("*."):
        return "*." + encode_server_name(name[2:]).decode("ascii")
    return encode_server_name(name).decode("ascii")


class ClientTLSOptions:
    """What ``optionsForClientTLS`` returns: a context plus the host name to check.

    ``getContext()`` is Twisted's ContextFactory method; ``server_hostname``
    (sent as SNI, and matched against the certificate when
    ``verify_hostname`` is true) is what the TLS layer adds to it.
    """

    def __init__(self, hostname: str, options: CertificateOptions, verify_hostname: bool) -> None:
        self.server_hostname = hostname
        self.verify_hostname = verify_hostname
        self.handshake_timeout = options.handshake_timeout
        self._options = options

    def getContext(self) -> SSL.Context:
        """See ``CertificateOptions.getContext``."""
        return self._options.getContext()

    def __repr__(self) -> str:
        check = "verifying" if self.verify_hostname else "NOT VERIFYING"
        return f"<ClientTLSOptions {self.server_hostname!r} {check}>"


def optionsForClientTLS(  # noqa: N802 - Twisted API
    hostname: str | bytes,
    trustRoot: Any = None,
    clientCertificate: CertificateAndKey | None = None,
    acceptableProtocols: Iterable[bytes | str] | None = None,
    *,
    extraCertificateOptions: Mapping[str, Any] | None = None,
    insecure_skip_verification: bool = False,
) -> ClientTLSOptions:
    """Client options for talking to hostname: verifying chain and name, TLS >= 1.2, SNI.

    trustRoot defaults to ``platformTrust()``; give a CA certificate (or a
    list, or a PEM path) for a private CA.  clientCertificate (a
    ``CertificateAndKey``) is presented to servers that ask for one.
    hostname may be a DNS name (IDNA: sent as A-labels) or an IP address,
    which is then matched against the certificate's IP SANs.

    ``insecure_skip_verification=True`` checks neither the chain nor the
    name: anyone on the path can then read and change the traffic.
    """
    if isinstance(hostname, bytes):
        hostname = hostname.decode("idna")
    extra = dict(extraCertificateOptions or {})
    if clientCertificate is not None:
        extra.setdefault("privateKey", clientCertificate.private_key)
        extra.setdefault("certificate", clientCertificate.certificate)
        extra.setdefault("extraCertChain", clientCertificate.chain)
    if insecure_skip_verification:
        options = CertificateOptions(acceptableProtocols=acceptableProtocols, **extra)
    else:
        options = CertificateOptions(
            trustRoot=platformTrust() if trustRoot is None else trustRoot,
            acceptableProtocols=acceptableProtocols,
            **extra,
        )
    return ClientTLSOptions(hostname, options, not insecure_skip_verification)


def _new_tls(contextFactory: Any, server_side: bool) -> MemoryBIOTLS:
    context = contextFactory.getContext()
    hostname = None if server_side else getattr(contextFactory, "server_hostname", None)
    verify = getattr(contextFactory, "verify_hostname", hostname is not None)
    return MemoryBIOTLS(
        context, server_side=server_side, server_hostname=hostname, verify_hostname=verify
    )


# ---------------------------------------------------------------------------
# The transport shell


class _ProducerMembrane:
    """Registered with the transport below on behalf of the producer registered above."""

    __slots__ = ("tls", "producer", "streaming")

    def __init__(self, tls: TLSTransport, producer: Any, streaming: bool) -> None:
        self.tls = tls
        self.producer = producer
        self.streaming = streaming

    def pauseProducing(self) -> None:
        """The transport below is full: pause the producer above."""
        self.producer.pauseProducing()

    def resumeProducing(self) -> None:
        """The transport below drained: resume (or, for a pull producer, ask) the producer."""
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
        self._tls = _new_tls(self._context_factory, self.server_side)
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
            if tls.peer_closed_cleanly and not self._tls_closed:
                self._tls_closed = True
                self._close_below()
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

    # -- handshake -------------------------------------------------------------

    def _handshake_finished(self) -> None:
        self._cancel_timer()
        if self._pause_after_handshake:
            self._pause_after_handshake = False
            self.transport.pauseProducing()
        if self._membrane is not None and not self._membrane_registered:
            self._register_membrane()
        listener = getattr(self.protocol, "handshakeCompleted", None)
        if listener is not None:
            listener()
        if self._close_after_handshake:
            self._shutdown()

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
        """See ``ITCPTransport.loseWriteConnection``: send close_notify, keep reading.

        The peer's close_notify in reply then closes the connection.
        """
        if self._tls_closed or self.disconnected:
            return
        if not self._tls.handshake_done:
            self.loseConnection()
            return
        self._tls.close()
        self._flush()

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
        if self.disconnected or self._tls_closed:  # until then, as TCP: still sent
            if isinstance(data, str):
                raise TypeError("write() takes bytes, not str")
            return
        tls = self._tls
        tls.send_plaintext(data)
        if self._dispatching or not tls.handshake_done:
            return  # sent at the end of the batch, or when the handshake is done
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
    clear, ahead of the handshake.  server_side defaults to the
    connection's role: client if it has a ``connector`` (it was made by
    connectTCP/connectUNIX), server otherwise.  Bytes the peer sends
    after its STARTTLS command must not already have been delivered to the
    protocol: the protocol must call this before the peer starts its
    handshake (as the STARTTLS command/response exchange ensures).
    """
    if isinstance(transport, TLSTransport) or isinstance(transport.protocol, TLSTransport):
        raise RuntimeError("TLS is already started on this connection")
    if server_side is None:
        server_side = getattr(transport, "connector", None) is None
    protocol = transport.protocol
    wrapper = TLSTransport(
        protocol,
        contextFactory,
        server_side,
        reactor=getattr(transport, "reactor", None),
        handshake_timeout=handshake_timeout,
    )
    transport.protocol = wrapper
    if hasattr(transport, "_data_received"):  # tcp.Connection caches protocol.dataReceived
        transport._data_received = wrapper.dataReceived
    if hasattr(transport, "_half"):
        # EOF must reach the TLS layer (connectionLost) to be checked for truncation.
        transport._half = None
    protocol.transport = wrapper
    wrapper._attach(transport)
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


# ---------------------------------------------------------------------------
# Endpoints


@implementer(IStreamServerEndpoint)
class TLSServerEndpoint:
    """A server endpoint whose connections are TLS-wrapped (any stream endpoint below)."""

    def __init__(self, wrapped: Any, contextFactory: Any) -> None:
        self._wrapped = wrapped
        self._context_factory = contextFactory

    def listen(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamServerEndpoint.listen``."""
        try:
            wrapping = TLSWrappingFactory(self._context_factory, False, protocolFactory)
        except Exception:
            return fail()
        return self._wrapped.listen(wrapping)


@implementer(IStreamClientEndpoint)
class _TLSClientEndpoint:
    def __init__(self, contextFactory: Any, wrapped: Any) -> None:
        self._wrapped = wrapped
        self._context_factory = contextFactory

    def connect(self, protocolFactory: Any) -> Deferred:
        """See ``IStreamClientEndpoint.connect``: fires with the wrapped protocol."""
        wrapping = TLSWrappingFactory(self._context_factory, True, protocolFactory)
        d = self._wrapped.connect(wrapping)
        d.addCallback(lambda tls: tls.protocol)
        return d


def wrapClientTLS(connectionCreator: Any, wrappedEndpoint: Any) -> Any:  # noqa: N802 - Twisted
    """A client endpoint that runs TLS (connectionCreator's options) over wrappedEndpoint."""
    return _TLSClientEndpoint(connectionCreator, wrappedEndpoint)


def _server_endpoint(
    reactor: Any,
    port: int,
    privateKey: str,
    certKey: str | None = None,
    interface: str = "",
    backlog: int = 50,
    extraCertChain: str | None = None,
    caCertsDir: str | None = None,
) -> TLSServerEndpoint:
    from reactorsock.endpoints import TCP4ServerEndpoint

    cert_file = certKey or privateKey
    certs = load_pem_certificates(Path(cert_file))
    if not certs:
        raise ValueError(f"no certificate in {cert_file!r}")
    chain = list(certs[1:])
    if extraCertChain:
        chain += load_pem_certificates(Path(extraCertChain))
    options = CertificateOptions(
        privateKey=load_pem_private_key(Path(privateKey)),
        certificate=certs[0],
        extraCertChain=chain,
        trustRoot=caCertsDir,
    )
    options.getContext()  # fail at parse time on a key that does not match
    return TLSServerEndpoint(TCP4ServerEndpoint(reactor, port, backlog, interface), options)


def _client_endpoint(
    reactor: Any,
    host: str,
    port: int,
    trustRoots: str | None = None,
    certificate: str | None = None,
    privateKey: str | None = None,
    timeout: float = 30,
    bindAddress: Any = None,
) -> Any:
    from reactorsock.endpoints import HostnameEndpoint

    client_cert = None
    if certificate:
        certs = load_pem_certificates(Path(certificate))
        key = load_pem_private_key(Path(privateKey or certificate))
        client_cert = CertificateAndKey(certs[0], key, tuple(certs[1:]))
    options = optionsForClientTLS(host, trustRoot=trustRoots, clientCertificate=client_cert)
    return wrapClientTLS(options, HostnameEndpoint(reactor, host, port, timeout, bindAddress))


def _syntaxes() -> tuple[Any, Any]:
    from reactorsock.endpoints import EndpointSyntax, Param, _host_port, _port, _seconds

    server = EndpointSyntax(
        "ssl:PORT:privateKey=KEY.pem[:certKey=CERT.pem][:interface=IP][:backlog=N]"
        "[:extraCertChain=CHAIN.pem][:caCertsDir=DIR], "
        "e.g. ssl:8443:privateKey=key.pem:certKey=cert.pem",
        (
            Param("port", _port, required=True),
            Param("privateKey", str, required=True),
            Param("certKey", str),
            Param("interface", str),
            Param("backlog", int),
            Param("extraCertChain", str),
            Param("caCertsDir", str),
        ),
        _server_endpoint,
    )
    client = EndpointSyntax(
        "tls:HOST:PORT[:trustRoots=CA.pem|DIR][:certificate=CERT.pem][:privateKey=KEY.pem]"
        "[:timeout=S][:bindAddress=IP], e.g. tls:host=example.com:port=443",
        (
            Param("host", str, required=True),
            Param("port", _port, required=True),
            Param("trustRoots", str),
            Param("certificate", str),
            Param("privateKey", str),
            Param("timeout", _seconds),
            Param("bindAddress", _host_port),
        ),
        _client_endpoint,
    )
    return server, client


try:
    SSL_SERVER_SYNTAX, TLS_CLIENT_SYNTAX = _syntaxes()
except ImportError:  # pragma: no cover - endpoints.py predates its registry
    SSL_SERVER_SYNTAX = TLS_CLIENT_SYNTAX = None
else:
    from reactorsock import endpoints as _endpoints

    _endpoints.SERVER_PARSERS.setdefault("ssl", SSL_SERVER_SYNTAX)
    _endpoints.CLIENT_PARSERS.setdefault("tls", TLS_CLIENT_SYNTAX)
