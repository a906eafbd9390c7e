"""UDP multicast: ``MulticastPort``, a UDP port that joins groups, and ``listenMulticast``.

Group membership (``IP_ADD_MEMBERSHIP``/``IPV6_JOIN_GROUP``), the outgoing
interface, TTL and loopback options over IPv4 and IPv6.  Everything else a
multicast port does is ``udp.Port``'s; this module is only what a group
adds.  See ``udp.py``'s notes for where it follows and differs from
Twisted.

Public home: ``reactorsock.udp``, which imports this module once ``Port``
is defined; import from there.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Any

from reactorsock.channel import DatagramChannel
from reactorsock.defer import Deferred, fail, maybeDeferred
from reactorsock.error import InvalidAddressError, MulticastJoinError
from reactorsock.udp import Port, _family_of_literal

__all__ = ["MulticastPort", "listen_multicast"]


class MulticastPort(Port):
    """A UDP port that can join multicast groups.

    IPv4 groups take an interface *address* (``"127.0.0.1"``; ``""`` lets
    the kernel choose); IPv6 groups, on a port listening on an IPv6
    interface such as ``"::"``, take an interface *name or index*
    (``"lo"``, ``1``; ``""`` for the kernel's choice).  IPv4 group and
    interface names are resolved off the loop with ``reactor.resolve``;
    IPv6 ones must be literals.
    """

    __slots__ = ("listenMultiple",)

    def __init__(
        self,
        reactor: Any,
        protocol: Any,
        port: int = 0,
        interface: str = "",
        maxPacketSize: int = 8192,
        listenMultiple: bool = False,
        channel: DatagramChannel | None = None,
    ) -> None:
        super().__init__(reactor, protocol, port, interface, maxPacketSize, channel)
        self.listenMultiple = bool(listenMultiple)

    def _prepare_socket(self, sock: socket.socket) -> None:
        if not self.listenMultiple:
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            except OSError as e:  # pragma: no cover - old kernels define but refuse it
                if e.errno != errno.ENOPROTOOPT:
                    raise

    # -- options ----------------------------------------------------------

    def getTTL(self) -> int:
        """The multicast TTL (IPv6: hop limit) of outgoing datagrams; 1 by default."""
        if self._v6:
            return self._socket().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS)
        return self._socket().getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL)

    def setTTL(self, ttl: int) -> None:
        """Set how many router hops outgoing multicast datagrams may cross (0-255)."""
        if not 0 <= ttl <= 255:
            raise ValueError(f"TTL must be 0-255, not {ttl!r}")
        if self._v6:
            self._socket().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
        else:
            # A u_char, as BSDs insist (ip(4)); Linux takes either size.
            packed = struct.pack("B", ttl)
            self._socket().setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, packed)

    def getLoopbackMode(self) -> int:
        """1 if this host's own members get the port's multicast datagrams, else 0."""
        if self._v6:
            return self._socket().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP)
        return self._socket().getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP)

    def setLoopbackMode(self, mode: object) -> None:
        """Set whether members on this host get the port's multicast datagrams.

        The loopback interface echoes everything sent over it whatever this
        says: the option governs copies of datagrams sent on other interfaces.
        """
        flag = 1 if mode else 0
        if self._v6:
            self._socket().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, flag)
        else:
            packed = struct.pack("B", flag)
            self._socket().setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, packed)

    def getOutgoingInterface(self) -> str | int:
        """The interface multicast is sent from: an IPv4 address, or an IPv6 interface index.

        ``"0.0.0.0"`` (or ``0``) means the kernel chooses by route.
        """
        if self._v6:
            return self._socket().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF)
        packed = self._socket().getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
        return socket.inet_ntoa(packed)

    def setOutgoingInterface(self, addr: str | int) -> Deferred:
        """Send multicast from the interface with address addr (IPv6: name or index).

        Returns a Deferred firing with 1 (Twisted's value) once it is set.
        """
        if self._v6:
            return maybeDeferred(self._set_interface_v6, addr)
        return self._with_ipv4(addr, self._set_interface_v4)

    def _set_interface_v4(self, addr: str) -> int:
        self._socket().setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _inet_aton(addr))
        return 1

    def _set_interface_v6(self, interface: str | int) -> int:
        index = _interface_index(interface)
        self._socket().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        return 1

    # -- groups -----------------------------------------------------------

    def joinGroup(self, addr: str, interface: str | int = "") -> Deferred:
        """Join the multicast group addr on interface; a Deferred of success.

        The Deferred fails with ``MulticastJoinError`` if the kernel refuses
        (e.g. the group is already joined on that interface).
        """
        return self._membership(addr, interface, True)

    def leaveGroup(self, addr: str, interface: str | int = "") -> Deferred:
        """Leave the multicast group addr on interface; a Deferred of success."""
        return self._membership(addr, interface, False)

    def _membership(self, addr: str, interface: str | int, join: bool) -> Deferred:
        if self._v6:
            return maybeDeferred(self._member_v6, addr, interface, join)

        def with_group(group: str) -> Deferred:
            return self._with_ipv4(interface, lambda iface: self._member_v4(group, iface, join))

        return self._with_ipv4(addr, with_group)

    def _member_v4(self, group: str, interface: str, join: bool) -> None:
        option = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP
        mreq = _inet_aton(group) + _inet_aton(interface or "0.0.0.0")
        try:
            self._socket().setsockopt(socket.IPPROTO_IP, option, mreq)
        except OSError as e:
            raise MulticastJoinError(group, interface, e.errno, e.strerror) from e

    def _member_v6(self, group: str, interface: str | int, join: bool) -> None:
        if _family_of_literal(group) != socket.AF_INET6:
            raise InvalidAddressError(group, "an IPv6 multicast port needs an IPv6 group address")
        option = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack(
            "@I", _interface_index(interface)
        )
        try:
            self._socket().setsockopt(socket.IPPROTO_IPV6, option, mreq)
        except OSError as e:
            raise MulticastJoinError(group, interface, e.errno, e.strerror) from e

    # -- helpers ----------------------------------------------------------

    def _with_ipv4(self, name: Any, then: Any) -> Deferred:
        """Call then(ipv4_address) for name: at once for '' or a literal, else after resolving."""
        if not isinstance(name, str):
            return fail(InvalidAddressError(name, "an IPv4 address or host name is needed"))
        if not name or _family_of_literal(name) == socket.AF_INET:
            d = maybeDeferred(then, name)
        elif _family_of_literal(name) == socket.AF_INET6:
            return fail(InvalidAddressError(name, "IPv4 multicast port given an IPv6 address"))
        else:
            d = self.reactor.resolve(name).addCallback(then)
        return d


def _inet_aton(addr: str) -> bytes:
    try:
        return socket.inet_aton(addr)
    except OSError:
        raise InvalidAddressError(addr, "not an IPv4 address") from None


def _interface_index(interface: str | int) -> int:
    """An IPv6 interface index from an index, a decimal string, a name, or '' (0: any)."""
    if isinstance(interface, int):
        return interface
    if not interface:
        return 0
    if interface.isdigit():
        return int(interface)
    try:
        return socket.if_nametoindex(interface)
    except OSError:
        raise InvalidAddressError(interface, "no such network interface") from None


def listen_multicast(
    reactor: Any,
    port: int,
    protocol: Any,
    interface: str = "",
    maxPacketSize: int = 8192,
    listenMultiple: bool = False,
) -> MulticastPort:
    """See ``IReactorMulticast.listenMulticast``.

    listenMultiple lets several ports (and processes) bind the same port
    number, each getting every multicast datagram.
    """
    p = MulticastPort(reactor, protocol, port, interface, maxPacketSize, listenMultiple)
    p.startListening()
    return p
