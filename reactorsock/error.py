"""Exception types of reactorsock, with Twisted's names.

Errors of the channel layer are plain ``OSError`` with ``errno``; the types
here describe events at the reactor, connection and process level.
"""

from __future__ import annotations

import socket

from reactorsock.defer import CancelledError

__all__ = [
    "ReactorNotRunning",
    "ReactorAlreadyRunning",
    "ReactorNotRestartable",
    "AlreadyCalled",
    "AlreadyCancelled",
    "ConnectionDone",
    "ConnectionLost",
    "ConnectionAborted",
    "ConnectionClosed",
    "ConnectError",
    "ConnectionRefusedError",
    "ConnectBindError",
    "DNSLookupError",
    "TimeoutError",
    "UserError",
    "NoRouteError",
    "CannotListenError",
    "MessageLengthError",
    "ProcessDone",
    "ProcessTerminated",
    "ProcessExitedAlready",
    "NotConnectingError",
    "NotListeningError",
    "BadFileError",
    "ConnectingCancelledError",
    "NoProtocol",
    "InvalidAddressError",
    "MulticastJoinError",
    "UnsupportedAddressFamily",
]


class ReactorNotRunning(RuntimeError):
    """The reactor is not running (or is shutting down) for what was asked.

    Raised by ``stop()`` on a reactor that is not running, and by
    ``blockingCallFromThread`` once shutdown has begun (so a worker thread
    waiting on the loop is released instead of deadlocking the shutdown).
    """


class ReactorAlreadyRunning(RuntimeError):
    """run() was called on a reactor that is already running."""


class ReactorNotRestartable(RuntimeError):
    """run() was called again on a reactor that has already stopped."""


class AlreadyCalled(ValueError):
    """The delayed call has already run."""


class AlreadyCancelled(ValueError):
    """The delayed call has already been cancelled."""


class ConnectionClosed(Exception):
    """Base of the reasons a connection ends."""


class ConnectionLost(ConnectionClosed):
    """The connection ended uncleanly (reset, error, or a peer that vanished)."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        return "Connection to the other side was lost" + (f": {detail}" if detail else ".")


class ConnectionAborted(ConnectionLost):
    """The connection was closed by abortConnection()."""


class ConnectionDone(ConnectionClosed):
    """The connection ended cleanly."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        return "Connection was closed cleanly" + (f": {detail}" if detail else ".")


class ConnectError(Exception):
    """A connection attempt failed; ``osError`` carries the underlying error, if any."""

    def __init__(self, osError: object = None, string: str = "") -> None:
        self.osError = osError
        super().__init__(osError, string)

    def __str__(self) -> str:
        doc = (self.__doc__ or "").strip().splitlines()[0].rstrip(".")
        parts = [str(a) for a in self.args if a not in (None, "")]
        return doc + (": " + " ".join(parts) if parts else ".")


class ConnectBindError(ConnectError):
    """Could not bind the local address for an outgoing connection."""


class ConnectionRefusedError(ConnectError):
    """Connection was refused by the other side."""


class NoRouteError(ConnectError):
    """No route to host."""


class DNSLookupError(ConnectError, OSError):
    """A host name could not be resolved."""


class TimeoutError(ConnectError):
    """The connection attempt timed out."""


class UserError(ConnectError):
    """The connection attempt was abandoned by the user (stopConnecting)."""


class BadFileError(ConnectError):
    """The UNIX socket's lock file shows no running server (``checkPID``)."""


class ConnectingCancelledError(CancelledError):
    """A ``connect()`` Deferred was cancelled before the connection was made.

    ``address`` is the destination that was being connected to.
    """

    def __init__(self, address: object) -> None:
        super().__init__(address)
        self.address = address

    def __str__(self) -> str:
        return f"connecting to {self.address} was cancelled"


class NoProtocol(Exception):
    """The factory's ``buildProtocol`` returned None, so the connection was dropped."""


class CannotListenError(OSError):
    """A port could not be bound; ``interface``, ``port`` and ``socketError`` say why."""

    def __init__(self, interface: str, port: object, socketError: BaseException) -> None:
        super().__init__(getattr(socketError, "errno", None), str(socketError))
        self.interface = interface
        self.port = port
        self.socketError = socketError

    def __str__(self) -> str:
        where = f"{self.interface or 'any'}:{self.port}"
        return f"Couldn't listen on {where}: {self.socketError}."


class NotConnectingError(RuntimeError):
    """stopConnecting() was called while not connecting."""


class NotListeningError(RuntimeError):
    """The port is not listening."""


class MessageLengthError(ValueError):
    """A datagram or message is longer than allowed."""


class InvalidAddressError(ValueError):
    """An address is not an IP address literal (or not of the port's family).

    Twisted's ``error.InvalidAddressError``: ``address`` and ``message`` are
    kept as attributes.
    """

    def __init__(self, address: object, message: str) -> None:
        super().__init__(address, message)
        self.address = address
        self.message = message

    def __str__(self) -> str:
        return f"Invalid address {self.address!r}: {self.message}"


class MulticastJoinError(Exception):
    """Joining or leaving a multicast group failed (Twisted's ``error.MulticastJoinError``)."""


class UnsupportedAddressFamily(ValueError):
    """A socket, or a descriptor to adopt, is of an address family this call does not take.

    A ``ValueError``, as the adoption calls raised before it existed.
    """


class ProcessDone(ConnectionDone):
    """A child process exited with status 0."""

    def __init__(self, status: int = 0) -> None:
        super().__init__("process finished with exit code 0")
        self.exitCode = 0
        self.signal = None
        self.status = status


class ProcessTerminated(ConnectionLost):
    """A child process exited with a non-zero code or was killed by a signal."""

    def __init__(
        self, exitCode: int | None = None, signal: int | None = None, status: int | None = None
    ) -> None:
        self.exitCode = exitCode
        self.signal = signal
        self.status = status
        if signal is not None:
            msg = f"process ended by signal {signal}"
        else:
            msg = f"process ended with exit code {exitCode}"
        super().__init__(msg)


class ProcessExitedAlready(Exception):
    """The child process has already exited, so it cannot be signalled."""


def get_connect_error(exc: OSError) -> ConnectError:
    """Map an OSError from connect() to the matching ConnectError subclass."""
    import errno

    if exc.errno == errno.ECONNREFUSED:
        return ConnectionRefusedError(exc)
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return NoRouteError(exc)
    if exc.errno == errno.ETIMEDOUT:
        return TimeoutError(exc)
    if isinstance(exc, socket.gaierror):
        return DNSLookupError(exc)
    return ConnectError(exc)
