"""Endpoint addresses: ``IPv4Address``, ``IPv6Address`` and ``UNIXAddress``.

Addresses are frozen attrs classes, so they compare by value and can be dict
keys.  They are built once per connection or port, never per I/O event.  This
module does no name resolution: hosts are whatever the socket layer reported.
"""

from __future__ import annotations

import socket
from typing import Literal

import attrs
from zope.interface import implementer

from reactorsock.interfaces import IAddress

__all__ = ["IPv4Address", "IPv6Address", "UNIXAddress", "address_from_sockaddr"]


@implementer(IAddress)
@attrs.frozen
class IPv4Address:
    """An IPv4 address and port of a TCP or UDP endpoint."""

    type: Literal["TCP", "UDP"]
    host: str
    port: int


@implementer(IAddress)
@attrs.frozen
class IPv6Address:
    """An IPv6 address and port; ``host`` may carry a ``%scope`` suffix."""

    type: Literal["TCP", "UDP"]
    host: str
    port: int
    flowInfo: int = 0  # noqa: N815 - Twisted API
    scopeID: int = 0  # noqa: N815 - Twisted API


@implementer(IAddress)
@attrs.frozen
class UNIXAddress:
    """A UNIX-domain socket address.

    ``name`` is a ``str`` filesystem path, ``bytes`` for a Linux abstract
    name (it starts with NUL), or ``""`` for an unnamed socket, as
    ``socket.getsockname()`` reports them.
    """

    name: str | bytes | None


def address_from_sockaddr(
    kind: Literal["TCP", "UDP"],
    family: int,
    sockaddr: object,
) -> IPv4Address | IPv6Address | UNIXAddress:
    """Build the address object for a socket address as the socket module returns it.

    ``kind`` (``"TCP"`` or ``"UDP"``) is ignored for ``AF_UNIX``.  Raises ``ValueError`` for other
    families.
    """
    if family == socket.AF_INET:
        host, port = sockaddr  # type: ignore[misc]
        return IPv4Address(kind, host, port)
    if family == socket.AF_INET6:
        host, port, flowinfo, scope_id = sockaddr  # type: ignore[misc]
        return IPv6Address(kind, host, port, flowinfo, scope_id)
    if family == getattr(socket, "AF_UNIX", object()):
        return UNIXAddress(sockaddr)  # type: ignore[arg-type]
    raise ValueError(f"unsupported address family {family!r}")
