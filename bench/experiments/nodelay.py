"""Experiment: TCP_NODELAY on every accepted connection (asyncio, uvloop and echo_c set it).

Loaded by ``servers/rs_echo.py --patch``.  reactorsock, like Twisted,
leaves Nagle's algorithm on unless the protocol calls ``setTcpNoDelay``;
this measures what that default costs or saves per cell.
"""

from __future__ import annotations

import socket

from reactorsock import tcp

_make = tcp.Connection.makeConnection


def makeConnection(self, protocol):  # noqa: N802 - patched method
    self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _make(self, protocol)


tcp.Connection.makeConnection = makeConnection
