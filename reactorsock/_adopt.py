"""Adopting stream sockets made elsewhere: ``adopt_stream_port`` and ``adopt_stream_connection``.

``IReactorSocket``'s stream half: a listening or connected socket (an int,
a channel or an object with ``fileno()``) is duplicated, checked to be a
stream socket of the family given, and served by a ``tcp.Port`` or run as
a ``tcp.Connection`` (``unix.UNIXConnection`` for ``AF_UNIX``).  It makes no
sockets of its own and is not the datagram half (``udp.adopt_datagram_port``).

Public home: ``reactorsock.tcp``, which imports this module once ``Port``
and ``Connection`` are defined; import from there.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from reactorsock.address import address_from_sockaddr
from reactorsock.channel import ServerSocketChannel, SocketChannel
from reactorsock.error import UnsupportedAddressFamily
from reactorsock.tcp import Connection, Port

__all__ = ["adopt_stream_port", "adopt_stream_connection"]

_FAMILIES = frozenset(
    {socket.AF_INET, socket.AF_INET6} | ({socket.AF_UNIX} if hasattr(socket, "AF_UNIX") else set())
)


def _dup_socket(fileDescriptor: Any, addressFamily: int, cls: Any) -> Any:
    """A channel of cls over a duplicate of fileDescriptor, checked to be addressFamily."""
    if addressFamily not in _FAMILIES:
        raise UnsupportedAddressFamily(
            f"unsupported address family {addressFamily!r} for a stream socket"
        )
    if getattr(fileDescriptor, "closed", False) is True:  # a channel's int is stale once closed
        raise ValueError(f"{fileDescriptor!r} is closed")
    fd = int(fileDescriptor) if isinstance(fileDescriptor, int) else fileDescriptor.fileno()
    if int(fd) < 0:  # what a closed socket.socket's fileno() says
        raise ValueError(f"{fileDescriptor!r} has no file descriptor (closed?)")
    # The caller keeps its own descriptor and may close it (Twisted semantics).
    dup = os.dup(int(fd))
    try:
        channel = cls.from_fd(dup)
    except BaseException:  # not a socket: nothing owns the duplicate yet
        os.close(dup)
        raise
    sock = channel.socket
    if sock.family != addressFamily or sock.type != socket.SOCK_STREAM:
        channel.close()
        raise ValueError(
            f"descriptor {fd} is a {socket.AddressFamily(sock.family).name} "
            f"{socket.SocketKind(sock.type).name} socket, not a "
            f"{socket.AddressFamily(addressFamily).name} stream socket"
        )
    return channel


def adopt_stream_port(reactor: Any, fileDescriptor: Any, addressFamily: int, factory: Any) -> Port:
    """Serve factory on a listening socket made elsewhere; see ``IReactorSocket``.

    fileDescriptor is an int, a channel or an object with ``fileno()`` (a
    ``socket.socket``).  It is duplicated, so the caller keeps and may
    close its own copy; the shared socket becomes non-blocking.  A socket
    that is bound but not yet listening is made to listen.
    """
    channel = _dup_socket(fileDescriptor, addressFamily, ServerSocketChannel)
    if addressFamily == getattr(socket, "AF_UNIX", None):
        p = Port(
            reactor, factory, channel.getsockname(), "", family=addressFamily, channel=channel
        )
        p.transport, p._kind = _unix_transport(), "UNIX"
    else:
        host, port = channel.getsockname()[:2]
        p = Port(reactor, factory, port, host, family=addressFamily, channel=channel)
    p.startListening()
    return p


def adopt_stream_connection(
    reactor: Any, fileDescriptor: Any, addressFamily: int, factory: Any
) -> None:
    """Run a protocol from factory on a connected socket made elsewhere.

    See ``IReactorSocket.adoptStreamConnection``.  fileDescriptor is taken
    as by ``adopt_stream_port`` (duplicated).  ``factory.buildProtocol`` gets
    the peer's address; if it returns None the duplicate is closed.
    """
    channel = _dup_socket(fileDescriptor, addressFamily, SocketChannel)
    try:
        peer = channel.getpeername()
        protocol = factory.buildProtocol(address_from_sockaddr("TCP", addressFamily, peer))
    except BaseException:
        channel.close()
        raise
    if protocol is None:
        channel.close()
        return
    if addressFamily == getattr(socket, "AF_UNIX", None):
        transport = _unix_transport()(reactor, channel, peer)
    else:
        transport = Connection(reactor, channel, peer)
    transport.makeConnection(protocol)


def _unix_transport() -> type[Connection]:
    from reactorsock.unix import UNIXConnection  # unix.py builds on this module

    return UNIXConnection
