"""Experiment: smaller idle connections (C10K RSS), on top of ``direct_socket.py``.

Loaded by ``servers/rs_echo.py --patch``.  A ``SocketChannel`` is an
``int`` subclass, so it cannot have ``__slots__``; each one carries a
``__dict__`` holding four cached bound socket methods (``_recv``,
``_recv_into``, ``_send``, ``_sendmsg``: ~72 B each plus the dict growth).
With the transport calling the socket directly, the channel needs no
cache: its methods look the socket method up per call instead (only the
non-hot paths use them).  The transport also drops its cached
``channel.read`` bound method, which the direct path does not use.
"""

from __future__ import annotations

import os
import sys

from reactorsock import channel, tcp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import direct_socket  # noqa: E402  (installs DirectConnection)

_MSG_NOSIGNAL = channel._MSG_NOSIGNAL
SC = channel.SocketChannel


def _no_cache(self, sock):
    pass


def read(self, n=65536):
    try:
        return self.socket.recv(n)
    except (BlockingIOError, InterruptedError):
        return None


def read_into(self, buffer, nbytes=0):
    try:
        return self.socket.recv_into(buffer, nbytes)
    except (BlockingIOError, InterruptedError):
        return None


def write(self, data):
    try:
        return self.socket.send(data, _MSG_NOSIGNAL)
    except (BlockingIOError, InterruptedError):
        return 0


def write_sequence(self, buffers):
    buffers = buffers[: channel._IOV_MAX]
    try:
        return self.socket.sendmsg(buffers, (), _MSG_NOSIGNAL)
    except (BlockingIOError, InterruptedError):
        return 0


SC._cache_methods = _no_cache
SC.read, SC.read_into, SC.write, SC.write_sequence = read, read_into, write, write_sequence


class LeanConnection(direct_socket.DirectConnection):
    __slots__ = ()

    def makeConnection(self, protocol):
        direct_socket.DirectConnection.makeConnection(self, protocol)
        self._read = None  # the direct doRead does not use it


tcp.Port.transport = LeanConnection
