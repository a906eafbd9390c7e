"""The CPython 3 ``socket`` module API over reactorsock channels.

Every public name of the stdlib ``socket`` module is here.  Constants,
exception classes (``error`` is ``OSError``, ``timeout`` is
``TimeoutError``, ``gaierror``, ``herror``) and pure functions (``inet_*``,
``htons``, ``getservbyname``, ``if_nameindex``...) are the stdlib's own
objects.  The socket class and the functions that make sockets
(``socketpair``, ``fromfd``, ``create_connection``, ``create_server``) are
reimplemented over channels: ``fileno()`` returns the channel, an ``int``
subclass that every fd-taking API accepts.

Functions that take host names convert non-ASCII names with IDNA 2008
(UTS #46) where the stdlib applies IDNA 2003; ``_use_ipv4_addresses_only``
(kept from Jython) limits ``getaddrinfo(..., AF_UNSPEC)`` to IPv4; ``ssl()``
is Python 2's classic TLS object, verifying by default.  ``docs/compat.md``
lists every difference from CPython.

This module is not a transport and runs no reactor: it blocks the calling
thread as CPython's does.  It holds the stdlib module it is built on, so
import it before ``reactorsock.compat.install()`` replaces ``socket`` in
``sys.modules`` (``install`` does so).
"""

from __future__ import annotations

import array  # noqa: F401 - the stdlib module's namespace has it
import errno  # noqa: F401 - idem
import io  # noqa: F401 - idem
import os
import selectors  # noqa: F401 - idem
import socket as _std
import sys  # noqa: F401 - idem
from socket import *  # noqa: F403 - every constant, exception and pure function
from socket import (  # noqa: F401 - public but not in the stdlib's __all__
    _GLOBAL_DEFAULT_TIMEOUT,
    _LOCALHOST,  # private, but CPython's test_socket uses them
    _LOCALHOST_V6,
    EAGAIN,
    EBADF,
    EWOULDBLOCK,
    AddressInfo,
    IntEnum,
    IntFlag,
    MsgFlag,
    SocketIO,
    _GiveupOnSendfile,  # raised by _sendfile_use_sendfile, the stdlib's own method
)
from typing import Any

from reactorsock.compat._socketobject import (
    encode_host,
    getdefaulttimeout,
    setdefaulttimeout,  # noqa: F401 - re-exported
    socket,
)
from reactorsock.compat._socketssl import SSLType, ssl

__all__ = [*_std.__all__, "ssl", "SSLType", "encode_host"]

SocketType = socket
has_ipv6 = _std.has_ipv6

_ipv4_only = False


def _use_ipv4_addresses_only(flag: bool) -> None:
    """Make ``getaddrinfo(..., AF_UNSPEC)`` return IPv4 addresses only (or again both).

    Kept from Jython, where it worked around JVMs with broken IPv6.  It
    affects every caller of this module's ``getaddrinfo``, including
    ``create_connection``.
    """
    global _ipv4_only
    _ipv4_only = bool(flag)


# -- name resolution -----------------------------------------------------------


def getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[tuple[Any, Any, int, str, Any]]:
    """Resolve host and port into socket address 5-tuples, as the stdlib does.

    A non-ASCII host is converted with IDNA 2008.  After
    ``_use_ipv4_addresses_only(True)``, ``AF_UNSPEC`` asks for ``AF_INET``.
    """
    if family == _std.AF_UNSPEC and _ipv4_only:
        family = _std.AF_INET
    return _std.getaddrinfo(encode_host(host), port, family, type, proto, flags)


def gethostbyname(hostname: str) -> str:
    """Return the IPv4 address of hostname (IDNA 2008 for non-ASCII names)."""
    return _std.gethostbyname(encode_host(hostname))


def gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """Return ``(name, aliases, ipv4_addresses)`` for hostname (IDNA 2008)."""
    return _std.gethostbyname_ex(encode_host(hostname))


def gethostbyaddr(ip_address: str) -> tuple[str, list[str], list[str]]:
    """Return ``(name, aliases, addresses)`` for an address or name (IDNA 2008)."""
    return _std.gethostbyaddr(encode_host(ip_address))


def getnameinfo(sockaddr: tuple[Any, ...], flags: int) -> tuple[str, str]:
    """Return ``(host, port)`` for a socket address (IDNA 2008 for a non-ASCII host)."""
    if not isinstance(sockaddr, tuple):
        # As CPython, and holding no reference to sockaddr in the traceback.
        del sockaddr
        raise TypeError("getnameinfo() argument 1 must be a tuple")
    if sockaddr:
        sockaddr = (encode_host(sockaddr[0]), *sockaddr[1:])
    return _std.getnameinfo(sockaddr, flags)


def getfqdn(name: str = "") -> str:
    """Return a fully qualified domain name for name (default: this host).

    The first of the canonical name and aliases ``gethostbyaddr`` gives that
    contains a dot; the canonical name if none does; name if the lookup fails.
    """
    name = name.strip()
    if not name or name in ("0.0.0.0", "::"):
        name = _std.gethostname()
    try:
        hostname, aliases, _ = gethostbyaddr(name)
    except OSError:
        return name
    for candidate in [hostname, *aliases]:
        if "." in candidate:
            return candidate
    return hostname


# -- making sockets ---------------------------------------------------------------


def socketpair(family: int | None = None, type: int = _std.SOCK_STREAM, proto: int = 0) -> Any:
    """Return a pair of connected sockets (``AF_UNIX`` by default)."""
    if family is None:
        family = _std.AF_UNIX
    a, b = _std.socketpair(family, type, proto)
    timeout = getdefaulttimeout()
    return socket._from_stdlib(a, timeout), socket._from_stdlib(b, timeout)


def fromfd(fd: int, family: int, type: int, proto: int = 0) -> socket:
    """Return a socket over a duplicate of fd (the original stays open)."""
    return socket(family, type, proto, _std.dup(fd))


def create_connection(
    address: tuple[Any, Any],
    timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
    source_address: Any = None,
    *,
    all_errors: bool = False,
) -> socket:
    """Connect to ``(host, port)``, trying each address ``getaddrinfo`` gives.

    timeout applies to the new socket (default: ``getdefaulttimeout()``).
    When every address fails, raise the last error, or an ``ExceptionGroup``
    of all of them with ``all_errors=True``.
    """
    host, port = address
    exceptions = []
    for family, type_, proto, _, sockaddr in getaddrinfo(host, port, 0, _std.SOCK_STREAM):
        sock = None
        try:
            sock = socket(family, type_, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            sock._peer_host = host if isinstance(host, str) else None
            return sock
        except OSError as exc:
            exceptions.append(exc)
            if sock is not None:
                sock.close()
    if not exceptions:
        raise OSError("getaddrinfo returns an empty list")
    if all_errors:
        raise ExceptionGroup("create_connection failed", exceptions)
    raise exceptions[-1]


def create_server(
    address: tuple[Any, ...],
    *,
    family: int = _std.AF_INET,
    backlog: int | None = None,
    reuse_port: bool = False,
    dualstack_ipv6: bool = False,
) -> socket:
    """Return a TCP socket bound to address and listening, as the stdlib's does.

    ``SO_REUSEADDR`` is set on POSIX; ``dualstack_ipv6=True`` with
    ``AF_INET6`` accepts IPv4 connections too, where the platform can.
    """
    if reuse_port and not hasattr(_std, "SO_REUSEPORT"):
        raise ValueError("SO_REUSEPORT not supported on this platform")
    if dualstack_ipv6:
        if not _std.has_dualstack_ipv6():
            raise ValueError("dualstack_ipv6 not supported on this platform")
        if family != _std.AF_INET6:
            raise ValueError("dualstack_ipv6 requires _std.AF_INET6 family")
    sock = socket(family, _std.SOCK_STREAM)
    try:
        # Without _std.SO_REUSEADDR a restarted server cannot bind while old
        # connections sit in TIME_WAIT; Windows' _std.SO_REUSEADDR means
        # something else (port stealing), hence the test.
        if os.name not in ("nt", "cygwin"):
            try:
                sock.setsockopt(_std.SOL_SOCKET, _std.SO_REUSEADDR, 1)
            except OSError:
                pass
        if reuse_port:
            sock.setsockopt(_std.SOL_SOCKET, _std.SO_REUSEPORT, 1)
        if has_ipv6 and family == _std.AF_INET6:
            if dualstack_ipv6:
                sock.setsockopt(_std.IPPROTO_IPV6, _std.IPV6_V6ONLY, 0)
            elif hasattr(_std, "IPV6_V6ONLY"):
                sock.setsockopt(_std.IPPROTO_IPV6, _std.IPV6_V6ONLY, 1)
        try:
            sock.bind(address)
        except OSError as err:
            raise OSError(
                err.errno, f"{err.strerror} (while attempting to bind on address {address!r})"
            ) from None
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except BaseException:
        sock.close()
        raise
