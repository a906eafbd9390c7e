"""UDP: the datagram ``Port`` and the ``MulticastPort``, with Twisted's semantics.

A port *is* the transport of its ``DatagramProtocol``: it owns one
``DatagramChannel`` and hands every datagram to ``datagramReceived``.  It is
not a stream transport: there is no buffering, no flow control and no
``connectionLost`` on the protocol, only ``startProtocol``/``stopProtocol``
(through ``doStart``/``doStop``) and, on a connected port,
``connectionRefused``.

Call order::

    listenUDP -> makeConnection -> startProtocol -> datagramReceived* -> stopProtocol

The reactor reaches this module through ``listen_udp``, ``listen_multicast``
and ``adopt_datagram_port``.  Multicast (``MulticastPort``,
``listen_multicast``) lives in ``_multicast``; this module re-exports it.

Design notes
------------
The data path is ``doRead -> channel.receive() -> protocol.datagramReceived``
with both bound methods looked up once, when the port starts.  One readiness
event reads up to ``reads_per_event`` datagrams, so a busy port cannot starve
the other descriptors, while a burst does not cost one ``poll`` per datagram.

Where this follows Twisted (``twisted.internet.udp``):

- ``datagramReceived`` gets ``(host, port)`` for IPv6 too; flow info and
  scope id are dropped, as Twisted drops them.
- An exception raised by ``datagramReceived`` is logged and the port goes on
  serving.  So is one raised by ``connectionRefused`` when a read reports the
  refusal (Twisted lets that one close the port); when ``write`` reports it,
  the exception reaches ``write``'s caller.
- ``write`` only takes IP address literals (no name lookup on the loop);
  anything else raises ``InvalidAddressError``, a ``ValueError``.  EMSGSIZE
  raises ``error.MessageLengthError``.  ECONNREFUSED on a connected port
  calls ``protocol.connectionRefused()``; on an unconnected one it is ignored.
- ``connect`` works once; a second call raises ``RuntimeError``.
- ``listenMultiple`` sets ``SO_REUSEADDR`` and ``SO_REUSEPORT``.

Where it differs, and why:

- A datagram the kernel will not take now (EAGAIN: the send buffer is full)
  is dropped, not raised as Twisted does.  UDP promises no delivery, a full
  send buffer is the local form of a congested link, and a protocol cannot
  do anything useful with the exception that the network would not also do.
- Read errors other than ECONNREFUSED (ENOBUFS, EHOSTUNREACH, ...) are logged
  and the port keeps serving; Twisted lets them close the port.  Such errors
  are transient and are cleared by being reported.  Only errors saying that
  the descriptor itself is unusable (EBADF, ENOTSOCK) close the port.
- ``stopListening`` closes the socket and calls ``stopProtocol`` at once and
  returns an already fired Deferred, every time it is called; Twisted closes
  on the next iteration and returns None when the port is not listening.
  Closing at once frees the port number before ``stopListening`` returns.
- ``adoptDatagramPort`` also adopts a *connected* socket: the port then acts
  as if ``connect`` had been called with the peer's address.
- Multicast works over IPv6 too (``IPV6_JOIN_GROUP``): give an IPv6
  interface such as ``"::"`` to ``listenMulticast``, and an interface name or
  index (``"lo"``, ``1``, ``""`` for any) where IPv4 takes an address.
- Datagrams longer than ``maxPacketSize`` are truncated to it, as in Twisted;
  the kernel does not report it on ``recvfrom``.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from typing import Any

from zope.interface import implementer

from reactorsock import error
from reactorsock.address import address_from_sockaddr
from reactorsock.channel import DatagramChannel
from reactorsock.defer import Deferred, succeed
from reactorsock.error import InvalidAddressError, MulticastJoinError, UnsupportedAddressFamily
from reactorsock.failure import Failure
from reactorsock.interfaces import IListeningPort, IReadDescriptor, IUDPTransport

__all__ = [
    "Port",
    "MulticastPort",
    "InvalidAddressError",
    "MulticastJoinError",
    "listen_udp",
    "listen_multicast",
    "adopt_datagram_port",
]

log = logging.getLogger("reactorsock.udp")

#: Datagrams read per readiness event at most: enough to spread the cost of a
#: poll over a burst, few enough that one flooded port cannot hold up the
#: other descriptors for long.  Twisted bounds by bytes (``maxThroughput``,
#: 256 KiB); a count keeps the bound independent of ``maxPacketSize``.
READS_PER_EVENT = 32

# Read errors meaning the descriptor itself is gone: the port cannot go on.
_FATAL_READ_ERRORS = frozenset({errno.EBADF, errno.ENOTSOCK, errno.EFAULT})
_INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _family_of_literal(host: object) -> int | None:
    """``AF_INET``/``AF_INET6`` if host is an IP address literal, else None.

    An IPv6 literal may carry a ``%scope`` suffix (``fe80::1%lo``).
    """
    if not isinstance(host, str):
        return None
    try:
        socket.inet_pton(socket.AF_INET, host)
        return socket.AF_INET
    except (OSError, ValueError):
        pass
    try:
        socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
        return socket.AF_INET6
    except (OSError, ValueError):
        return None


def _check_host(host: object, family: int, what: str) -> None:
    """Raise ``InvalidAddressError`` unless host is an IP literal usable on family."""
    try:  # the usual case first: one inet_pton, no exception
        socket.inet_pton(family, host)  # type: ignore[arg-type]
        return
    except (OSError, TypeError, ValueError):
        pass
    found = _family_of_literal(host)
    if found == family:
        return
    if found is None and host == "<broadcast>" and family == socket.AF_INET:
        return  # the socket module's name for INADDR_BROADCAST, which Twisted accepts
    if found is None and host != "<broadcast>":
        raise InvalidAddressError(
            host, f"{what} only accepts IP addresses, not host names; resolve it first"
        )
    if family == socket.AF_INET6:
        raise InvalidAddressError(
            host, f"IPv6 port {what} called with an IPv4 or broadcast address"
        )
    raise InvalidAddressError(host, f"IPv4 port {what} called with an IPv6 address")


def _interface_family(interface: str) -> int:
    """The family a port bound to interface uses ('' is IPv4's any address)."""
    if not interface:
        return socket.AF_INET
    family = _family_of_literal(interface)
    if family is None:
        raise InvalidAddressError(interface, "not an IPv4 or IPv6 address")
    return family


@implementer(IUDPTransport, IListeningPort, IReadDescriptor)
class Port:
    """A UDP port: the transport of one ``DatagramProtocol``.

    See ``IUDPTransport`` and ``IListeningPort``; the module docstring lists
    where it differs from Twisted's.  ``reads_per_event`` bounds the
    datagrams read per readiness event.
    """

    __slots__ = (
        "reactor",
        "protocol",
        "port",
        "interface",
        "maxPacketSize",
        "family",
        "channel",
        "connected",
        "disconnected",
        "_adopted",
        "_v6",
        "_connected_addr",
        "_receive",
        "_deliver",
        "_host",
        "_log_prefix",
    )

    reads_per_event = READS_PER_EVENT

    def __init__(
        self,
        reactor: Any,
        protocol: Any,
        port: int = 0,
        interface: str = "",
        maxPacketSize: int = 8192,
        channel: DatagramChannel | None = None,
    ) -> None:
        self.reactor = reactor
        self.protocol = protocol
        self.port = port
        self.interface = interface
        self.maxPacketSize = maxPacketSize
        if channel is not None:
            self.family = channel.socket.family
        else:
            self.family = _interface_family(interface)
        self.channel = channel
        self._adopted = channel is not None
        self._v6 = self.family == socket.AF_INET6
        #: True while listening (Twisted's meaning of ``connected`` for ports).
        self.connected = False
        self.disconnected = False
        self._connected_addr: tuple[str, int] | None = None
        self._receive: Any = None
        self._deliver: Any = None
        self._host: Any = None
        prefix = getattr(protocol, "logPrefix", None)
        name = prefix() if callable(prefix) else type(protocol).__name__
        self._log_prefix = f"{name} (UDP)"

    def __repr__(self) -> str:
        if self.connected and self.channel is not None:
            where = f"on {self.getHost().port}"
        else:
            where = "not listening"
        return f"<{type(self).__name__} of {type(self.protocol).__name__} {where}>"

    # -- starting and stopping ----------------------------------------------

    def _bind(self) -> DatagramChannel:
        ch = DatagramChannel.open(self.family)
        try:
            self._prepare_socket(ch.socket)
            host = self.interface or ("::" if self._v6 else "0.0.0.0")
            ch.bind((host, self.port))
        except BaseException:
            ch.close()
            raise
        return ch

    def _prepare_socket(self, sock: socket.socket) -> None:
        """Set socket options before bind (``MulticastPort`` adds its own)."""

    def startListening(self) -> None:
        """See ``IListeningPort.startListening``: bind, start the protocol, read.

        ``error.CannotListenError`` if the address cannot be bound;
        ``RuntimeError`` if the port is already listening, or is an adopted
        port that was stopped (its socket is gone).
        """
        if self.connected:
            raise RuntimeError(f"{self!r} is already listening")
        if self.channel is None or self.channel.closed:
            if self._adopted:
                raise RuntimeError("an adopted datagram port cannot be restarted")
            try:
                self.channel = self._bind()
            except OSError as e:
                self.channel = None
                raise error.CannotListenError(self.interface, self.port, e) from None
        channel = self.channel
        self._host = None
        self._receive = channel.receive
        self.disconnected = False
        self.connected = True
        try:
            self._connected_addr = _peer_of(channel)
            # Chosen once (STYLE.md section 7): the protocol's hook is not
            # looked up again per datagram.
            self._deliver = self.protocol.datagramReceived
            self.protocol.makeConnection(self)
        except BaseException:
            self.connected = False
            self.disconnected = True
            if getattr(self.protocol, "transport", None) is self:
                self.protocol.transport = None
            channel.close()
            raise
        if not self.connected:
            return  # startProtocol already stopped the port
        self.reactor.addReader(self)
        log.debug("%s starting on %s", self._log_prefix, self.getHost().port)

    def stopListening(self) -> Deferred:
        """See ``IListeningPort.stopListening``.

        Closes the socket and calls the protocol's ``doStop`` (so
        ``stopProtocol``) before returning an already fired Deferred.
        Calling it again does nothing more and returns a fired Deferred too.
        """
        self._close()
        return succeed(None)

    def loseConnection(self) -> Deferred:
        """Same as ``stopListening`` (Twisted's deprecated spelling for ports)."""
        return self.stopListening()

    def connectionLost(self, reason: Failure) -> None:
        """The reactor dropped the port (shutdown, or a broken descriptor): close it."""
        self._close()

    def _close(self) -> None:
        if self.disconnected or not self.connected:
            return
        self.disconnected = True
        self.connected = False
        channel = self.channel
        try:
            self._host = self.getHost()
        except OSError:
            pass
        # Unregister before closing: the fd number may be reused at once.
        self.reactor.removeReader(self)
        channel.close()
        self._receive = self._deliver = None
        log.debug("(%s port %s closed)", self._log_prefix, self._host and self._host.port)
        try:
            self.protocol.doStop()
        except Exception:
            log.exception("Error in stopProtocol of %s", self._log_prefix)

    # -- IReadDescriptor --------------------------------------------------

    def fileno(self) -> int:
        """See ``IFileDescriptor.fileno``: -1 once closed."""
        ch = self.channel
        return -1 if ch is None or ch.closed else int(ch)

    def logPrefix(self) -> str:
        """The protocol's log prefix plus ``(UDP)``."""
        return self._log_prefix

    def doRead(self) -> Any:
        """Deliver up to ``reads_per_event`` waiting datagrams to ``datagramReceived``."""
        receive, deliver, size = self._receive, self._deliver, self.maxPacketSize
        v6 = self._v6
        for _ in range(self.reads_per_event):
            try:
                got = receive(size)
            except OSError as e:
                if e.errno == errno.ECONNREFUSED and not self.disconnected:
                    # ICMP port unreachable for an earlier datagram.  Linux reports
                    # it on unconnected sockets only with IP_RECVERR, and then it
                    # would not say which peer refused: tell connected ports only.
                    if self._connected_addr is not None:
                        try:
                            self.protocol.connectionRefused()
                        except Exception:
                            log.exception(
                                "Unhandled error in connectionRefused of %s", self._log_prefix
                            )
                    continue
                return self._read_error(e)
            if got is None:
                return None
            data, addr = got
            if v6:
                addr = addr[:2]  # Twisted's (host, port), without flow info and scope id
            try:
                deliver(data, addr)
            except Exception:
                log.exception("Unhandled error in datagramReceived of %s", self._log_prefix)
        return None

    def _read_error(self, exc: OSError) -> Any:
        if self.disconnected:
            return None  # the protocol stopped the port from one of its callbacks
        if exc.errno in _FATAL_READ_ERRORS:
            return exc
        log.warning("%s: error reading a datagram, port kept open: %s", self._log_prefix, exc)
        return None

    # -- IUDPTransport ------------------------------------------------------

    def write(self, datagram: Any, addr: tuple[str, int] | None = None) -> None:
        """See ``IUDPTransport.write``.

        addr is ``(host, port)`` with host an IP address literal of the
        port's family; it must be None, or the peer, on a connected port.
        Raises ``InvalidAddressError`` (a ``ValueError``) for a host name,
        ``ValueError`` for a missing or wrong address, and
        ``error.MessageLengthError`` for a datagram longer than the kernel
        allows.  A datagram the kernel cannot take now is dropped.
        """
        channel = self.channel
        if channel is None or channel.closed:
            raise error.NotListeningError(f"{self!r} is not listening")
        connected = self._connected_addr
        try:
            if connected is not None:
                if addr is not None and tuple(addr[:2]) != connected:
                    raise ValueError(
                        f"port is connected to {connected!r}; cannot send to {addr!r}"
                    )
                channel.write(datagram)
                return
            if addr is None:
                raise ValueError("write() needs an address on a port that is not connected")
            _check_host(addr[0], self.family, "write()")
            channel.send_to(datagram, addr)
        except OSError as e:
            self._write_error(e, len(datagram))

    def _write_error(self, exc: OSError, length: int) -> None:
        no = exc.errno
        if no == errno.EMSGSIZE:
            raise error.MessageLengthError(f"message too long ({length} bytes)") from exc
        if no == errno.ECONNREFUSED:
            # An earlier datagram met ICMP port unreachable; unconnected sockets
            # should not see it, and the report would not say for which peer.
            if self._connected_addr is not None:
                self.protocol.connectionRefused()
            return
        raise exc

    def writeSequence(self, seq: Any, addr: tuple[str, int] | None = None) -> None:
        """Send the concatenation of seq as one datagram (see ``write``)."""
        self.write(b"".join(seq), addr)

    def connect(self, host: str, port: int) -> None:
        """See ``IUDPTransport.connect``.

        host must be an IP address literal of the port's family
        (``InvalidAddressError`` otherwise).  ``RuntimeError`` if the port is
        already connected: Twisted does not support reconnecting either.
        """
        if self._connected_addr is not None:
            raise RuntimeError("already connected, reconnecting is not supported")
        _check_host(host, self.family, "connect()")
        if host == "<broadcast>":
            raise InvalidAddressError(host, "connect() needs an IP address")
        channel = self.channel
        if channel is None or channel.closed:
            raise error.NotListeningError(f"{self!r} is not listening")
        channel.connect((host, port))
        self._connected_addr = (host, port)

    def getHost(self) -> Any:
        """See ``IListeningPort.getHost``: the real port after binding port 0.

        After ``stopListening`` the last bound address.
        """
        channel = self.channel
        if channel is None or channel.closed:
            if self._host is None:
                raise error.NotListeningError(f"{self!r} was never bound")
            return self._host
        return address_from_sockaddr("UDP", self.family, channel.getsockname())

    def setBroadcastAllowed(self, enabled: bool) -> None:
        """See ``IUDPTransport.setBroadcastAllowed`` (``SO_BROADCAST``)."""
        self._socket().setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, bool(enabled))

    def getBroadcastAllowed(self) -> bool:
        """See ``IUDPTransport.getBroadcastAllowed``."""
        return bool(self._socket().getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))

    def getHandle(self) -> socket.socket:
        """The ``socket.socket`` under the port, for options this class does not cover."""
        return self._socket()

    def _socket(self) -> socket.socket:
        channel = self.channel
        if channel is None or channel.closed:
            raise error.NotListeningError(f"{self!r} is not listening")
        return channel.socket


def _channel_of_dup(fd: int) -> DatagramChannel:
    """A channel over a duplicate of fd; the duplicate is closed if fd is not a socket."""
    dup = os.dup(fd)
    try:
        return DatagramChannel.from_fd(dup)
    except BaseException:
        os.close(dup)
        raise


def _peer_of(channel: DatagramChannel) -> tuple[str, int] | None:
    """The connected peer of an adopted socket as ``(host, port)``, or None."""
    try:
        peer = channel.getpeername()
    except OSError:
        return None
    return (peer[0], peer[1])


# ---------------------------------------------------------------------------
# Entry points for the reactor (reactor/_selecting.py)


def listen_udp(
    reactor: Any, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
) -> Port:
    """See ``IReactorUDP.listenUDP``.

    interface ``""`` binds IPv4's any address; an IPv6 literal (``"::"``,
    ``"::1"``) makes an IPv6 port.  ``InvalidAddressError`` for a host name;
    ``error.CannotListenError`` if the address cannot be bound.
    """
    p = Port(reactor, protocol, port, interface, maxPacketSize)
    p.startListening()
    return p


def adopt_datagram_port(
    reactor: Any,
    fileDescriptor: Any,
    addressFamily: int,
    protocol: Any,
    maxPacketSize: int = 8192,
) -> Port:
    """See ``IReactorSocket.adoptDatagramPort``.

    fileDescriptor is an int fd, a channel, or anything with ``fileno()``
    (a ``socket.socket``, a classic compat socket).  The descriptor is
    duplicated, so the caller still owns and must close the original; but
    both share one open file, which is made non-blocking.  ``ValueError``
    if the descriptor is not a datagram socket of addressFamily (IPv4 or
    IPv6 only).
    """
    if addressFamily not in _INET_FAMILIES:
        raise UnsupportedAddressFamily(
            f"adoptDatagramPort supports AF_INET and AF_INET6, not {addressFamily!r}"
        )
    if getattr(fileDescriptor, "closed", False) is True:  # a channel's int is stale once closed
        raise ValueError(f"{fileDescriptor!r} is closed")
    fd = fileDescriptor if isinstance(fileDescriptor, int) else fileDescriptor.fileno()
    fd = int(fd)
    if fd < 0:
        raise ValueError(f"{fileDescriptor!r} has no file descriptor (closed?)")
    channel = _channel_of_dup(fd)
    sock = channel.socket
    if sock.type != socket.SOCK_DGRAM or sock.family != addressFamily:
        channel.close()
        raise ValueError(
            f"fd {fd} is a {socket.SocketKind(sock.type).name} socket of family "
            f"{socket.AddressFamily(sock.family).name}, not a SOCK_DGRAM socket of "
            f"{socket.AddressFamily(addressFamily).name}"
        )
    try:
        port_number = channel.getsockname()[1]
    except OSError:  # pragma: no cover - getsockname on a live socket does not fail
        port_number = 0
    p = Port(reactor, protocol, port_number, "", maxPacketSize, channel=channel)
    p.startListening()
    return p


# MulticastPort builds on Port above, so it is imported last; this module
# is its public home.
from reactorsock._multicast import MulticastPort, listen_multicast  # noqa: E402
