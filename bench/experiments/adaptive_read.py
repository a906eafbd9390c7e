"""Experiment: 64 KiB reads per connection, growing to 256 KiB while reads come back full.

Loaded by ``servers/rs_echo.py --patch``.  Small-message connections keep
64 KiB reads (no mmap churn); bulk connections read 256 KiB per call.
"""

from __future__ import annotations

from reactorsock import error, tcp

_Connection = tcp.Connection
_SMALL, _BIG = 65536, 262144


class AdaptiveConnection(_Connection):
    __slots__ = ("_read_size",)

    def makeConnection(self, protocol):
        self._read_size = _SMALL
        _Connection.makeConnection(self, protocol)

    def doRead(self):
        size = self._read_size
        try:
            data = self._read(size)
        except OSError as e:
            return error.ConnectionLost(e)
        if data:
            n = len(data)
            if n == size:
                self._read_size = _BIG
            elif n < _SMALL and size == _BIG:
                self._read_size = _SMALL
            self._data_received(data)
            return None
        if data is None:
            return None
        return self._read_eof()


tcp.Port.transport = AdaptiveConnection
