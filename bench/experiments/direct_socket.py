"""Experiment: Connection calls socket.recv/send directly, not through the channel.

Loaded by ``servers/rs_echo.py --patch``
(``run.py --variant direct=experiments/direct_socket.py``);
reactorsock's source is untouched.  Saves one Python frame per read and one
per write (``SocketChannel.read``/``write`` wrap the socket methods only to
turn ``BlockingIOError`` into ``None``/``0``); would-block is caught in the
transport instead.  ``MSG_NOSIGNAL`` is dropped: CPython ignores SIGPIPE
at start-up, so ``send`` reports EPIPE either way.
"""

from __future__ import annotations

from reactorsock import error, tcp

_Connection = tcp.Connection
_READ_SIZE = tcp.READ_SIZE


class DirectConnection(_Connection):
    __slots__ = ("_recv", "_sock_send")

    def makeConnection(self, protocol):
        sock = self.channel.socket
        self._recv = sock.recv
        self._sock_send = sock.send
        _Connection.makeConnection(self, protocol)

    def doRead(self):
        try:
            data = self._recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            return error.ConnectionLost(e)
        if data:
            self._data_received(data)
            return None
        return self._read_eof()

    def write(self, data):
        if self.disconnected or self._write_state or self._writing:
            return _Connection.write(self, data)
        try:
            sent = self._sock_send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as e:
            self._fail_later(e)
            return
        if sent < len(data):
            rest = memoryview(data)[sent:] if sent else data
            self._queue(rest if type(data) is bytes else bytes(rest))
            self._start_writing()


tcp.Port.transport = DirectConnection
