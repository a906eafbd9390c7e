"""Apps for the ``reactorsock run`` tests, named on the command line as ``module:attribute``.

Not tests themselves: each attribute is one kind of APP the runner accepts
(a Factory instance, a Protocol subclass, a DatagramProtocol, a
``main(reactor)`` coroutine function) or rejects.
"""

from __future__ import annotations

import os
from typing import Any

from reactorsock.protocol import DatagramProtocol, Factory, Protocol
from reactorsock.task import deferLater

__all__ = [
    "PidEcho",
    "pid_factory",
    "make_pid_factory",
    "Slow",
    "slow_factory",
    "crashing_factory",
    "PidDatagram",
    "main",
    "failing_main",
    "not_servable",
]


class PidEcho(Protocol):
    """Says which process serves the connection (``pid N``), then echoes."""

    def connectionMade(self) -> None:
        """Send this process's pid."""
        self.transport.write(f"pid {os.getpid()}\n".encode())

    def dataReceived(self, data: bytes) -> None:
        """Echo."""
        self.transport.write(data)


pid_factory = Factory.forProtocol(PidEcho)


def make_pid_factory() -> Factory:
    """A callable taking no arguments that returns a factory."""
    return Factory.forProtocol(PidEcho)


class Slow(Protocol):
    """On ``wait SECONDS\\n``, answers ``done\\n`` after that long and closes."""

    def connectionMade(self) -> None:
        """Tell the client the connection is being served."""
        self.transport.write(b"ready\n")

    def dataReceived(self, data: bytes) -> None:
        """Start the wait."""
        if data.startswith(b"wait "):
            seconds = float(data.split()[1])
            self.transport.reactor.callLater(seconds, self._finish)

    def _finish(self) -> None:
        self.transport.write(b"done\n")
        self.transport.loseConnection()


slow_factory = Factory.forProtocol(Slow)


class _Crashing(Factory):
    protocol = PidEcho

    def startFactory(self) -> None:
        raise RuntimeError("this worker cannot start")


crashing_factory = _Crashing()


class PidDatagram(DatagramProtocol):
    """Answers each datagram with ``pid N``."""

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        """Reply with this process's pid."""
        self.transport.write(f"pid {os.getpid()}".encode(), addr)


async def main(reactor: Any) -> None:
    """A ``main(reactor)`` app: waits a moment and returns, which stops the runner."""
    await deferLater(reactor, 0.05, lambda: None)


async def failing_main(reactor: Any) -> None:
    """A ``main(reactor)`` app that fails after a moment."""
    await deferLater(reactor, 0.01, lambda: None)
    raise RuntimeError("the app gave up")


not_servable = 42
