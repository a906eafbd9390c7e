"""What ``reactorsock run`` serves: the built-in services and ``module:attribute`` apps.

The built-ins are the small services of RFC 862-868 (echo, discard, chargen,
qotd, daytime, time), each with its TCP protocol and its UDP variant.
``load_app(spec)`` turns the APP argument into an ``App`` (or, for a
``main(reactor)``-style callable, a ``ReactorCall`` to make once a reactor
exists); ``classify(obj)`` says what a user's object is.  Nothing here binds a
socket or runs a reactor.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import random
import struct
import sys
import time
import traceback
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import attrs

from reactorsock.defer import Deferred
from reactorsock.protocol import DatagramProtocol, Factory, Protocol

__all__ = [
    "App",
    "AppError",
    "ReactorCall",
    "BUILTINS",
    "load_app",
    "classify",
    "drop_module",
]


class AppError(Exception):
    """APP can't be served; ``str()`` is the one-line message, ``status`` the exit status.

    ``details`` (a traceback) is shown too when set: an error raised while
    importing the app's module is the user's bug, and its traceback is the
    useful part.
    """

    def __init__(self, message: str, status: int = 2, details: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


@attrs.frozen
class App:
    """A servable app.

    ``factory`` serves stream endpoints (tcp, tcp6, unix); ``datagram()``
    makes the ``DatagramProtocol`` for one udp endpoint; ``awaitable`` is the
    coroutine or Deferred of a ``main(reactor)``-style app, whose end stops
    the reactor.  ``builtin`` marks the RFC services (the runner prints how
    to try them).
    """

    name: str
    factory: Any = None
    datagram: Callable[[], Any] | None = None
    awaitable: Any = None
    builtin: bool = False


@attrs.frozen
class ReactorCall:
    """A callable that takes the reactor (``main(reactor)``); classify what it returns."""

    name: str
    func: Callable[[Any], Any]


# ---------------------------------------------------------------------------
# Built-in services (RFC 862-868)


class Echo(Protocol):
    """RFC 862: send back whatever arrives."""

    def dataReceived(self, data: bytes) -> None:
        """Write data back."""
        self.transport.write(data)


class Discard(Protocol):
    """RFC 863: read and ignore everything."""

    def dataReceived(self, data: bytes) -> None:
        """Drop data."""


#: RFC 864's pattern: the 95 printable ASCII characters, each 72-character
#: line starting one character further along.
_CHARGEN_RING = bytes(range(32, 127))
_CHARGEN_LINE = 72


def _chargen_lines(start: int, count: int) -> bytes:
    ring = _CHARGEN_RING * 2
    n = len(_CHARGEN_RING)
    return b"".join(
        ring[(start + i) % n : (start + i) % n + _CHARGEN_LINE] + b"\r\n" for i in range(count)
    )


class Chargen(Protocol):
    """RFC 864: send the character pattern until the client closes; ignore input.

    The protocol is a pull producer registered on its transport, so it
    writes a batch of lines only when the transport's buffer has drained.
    """

    #: Lines per batch: about 16 KiB, a few socket sends' worth.
    lines_per_write = 220

    def connectionMade(self) -> None:
        """Start producing."""
        self._line = 0
        self.transport.registerProducer(self, False)

    def resumeProducing(self) -> None:
        """Write the next batch of lines."""
        n = self.lines_per_write
        data = _chargen_lines(self._line, n)
        self._line = (self._line + n) % len(_CHARGEN_RING)
        self.transport.write(data)

    def pauseProducing(self) -> None:
        """Nothing to do: a pull producer writes only when asked."""

    def stopProducing(self) -> None:
        """The connection is gone; nothing to release."""

    def dataReceived(self, data: bytes) -> None:
        """Ignore input, as RFC 864 says."""


#: A few public-domain quotations for RFC 865 (each well under its 512 characters).
QUOTES = (
    "Simplicity is prerequisite for reliability. -- Edsger W. Dijkstra",
    "Be conservative in what you do, be liberal in what you accept from others. -- RFC 793",
    "The network is reliable. -- the first fallacy of distributed computing",
    "Premature optimization is the root of all evil. -- Donald Knuth",
)


def _quote() -> bytes:
    return random.choice(QUOTES).encode("ascii") + b"\r\n"


def _daytime() -> bytes:
    # RFC 867 leaves the syntax open; RFC 2822's date is familiar and parseable.
    return formatdate(localtime=True).encode("ascii") + b"\r\n"


#: Seconds from 1900-01-01 to the Unix epoch (RFC 868).
_EPOCH_1900 = 2208988800


def _time32() -> bytes:
    # RFC 868: seconds since 1900 as 32 bits, big-endian; wraps in 2036.
    return struct.pack("!I", (int(time.time()) + _EPOCH_1900) & 0xFFFFFFFF)


class _SayAndClose(Protocol):
    """Send one message on connect, then close (qotd, daytime, time over TCP)."""

    message: Callable[[], bytes] = staticmethod(lambda: b"")

    def connectionMade(self) -> None:
        """Send the message and close once it is sent."""
        self.transport.write(self.message())
        self.transport.loseConnection()


class QOTD(_SayAndClose):
    """RFC 865: a short quotation, then close."""

    message = staticmethod(_quote)


class Daytime(_SayAndClose):
    """RFC 867: the date and time in a readable form, then close."""

    message = staticmethod(_daytime)


class Time(_SayAndClose):
    """RFC 868: the time as 32-bit seconds since 1900, then close."""

    message = staticmethod(_time32)


class EchoDatagram(DatagramProtocol):
    """RFC 862 over UDP: send each datagram back to its sender."""

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        """Echo datagram to addr."""
        self.transport.write(datagram, addr)


class DiscardDatagram(DatagramProtocol):
    """RFC 863 over UDP: ignore every datagram."""


class ChargenDatagram(DatagramProtocol):
    """RFC 864 over UDP: answer each datagram with 0-512 characters of the pattern."""

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        """Reply with a random length of the pattern, as RFC 864 suggests."""
        data = _chargen_lines(random.randrange(len(_CHARGEN_RING)), 8)
        self.transport.write(data[: random.randint(0, 512)], addr)


class _ReplyDatagram(DatagramProtocol):
    """Answer each datagram with one message (qotd, daytime, time over UDP)."""

    message: Callable[[], bytes] = staticmethod(lambda: b"")

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        """Send the message to addr; the datagram's content is ignored."""
        self.transport.write(self.message(), addr)


class QOTDDatagram(_ReplyDatagram):
    """RFC 865 over UDP."""

    message = staticmethod(_quote)


class DaytimeDatagram(_ReplyDatagram):
    """RFC 867 over UDP."""

    message = staticmethod(_daytime)


class TimeDatagram(_ReplyDatagram):
    """RFC 868 over UDP."""

    message = staticmethod(_time32)


#: Built-in name -> (stream protocol, datagram protocol).
_BUILTIN_CLASSES: dict[str, tuple[type, type]] = {
    "echo": (Echo, EchoDatagram),
    "discard": (Discard, DiscardDatagram),
    "chargen": (Chargen, ChargenDatagram),
    "daytime": (Daytime, DaytimeDatagram),
    "time": (Time, TimeDatagram),
    "qotd": (QOTD, QOTDDatagram),
}
BUILTINS = tuple(_BUILTIN_CLASSES)


def _builtin(name: str) -> App:
    stream, datagram = _BUILTIN_CLASSES[name]
    return App(name, Factory.forProtocol(stream), datagram, builtin=True)


# ---------------------------------------------------------------------------
# module:attribute apps


def _is_protocol_factory(obj: Any) -> bool:
    return not isinstance(obj, type) and callable(getattr(obj, "buildProtocol", None))


def _one_datagram(name: str, proto: DatagramProtocol) -> Callable[[], DatagramProtocol]:
    used = itertools.count()

    def make() -> DatagramProtocol:
        if next(used):
            raise AppError(
                f"{name} is one DatagramProtocol instance, which serves one udp endpoint; "
                f"give its class to serve several"
            )
        return proto

    return make


def classify(obj: Any, name: str, *, with_reactor: Any = None) -> App | ReactorCall:
    """Say what obj (the attribute named name, or what it returned) serves.

    Returns an ``App``, or a ``ReactorCall`` for a callable that takes the
    reactor (unless with_reactor is given: then it is called with it).
    ``AppError`` for anything that is not servable.
    """
    if isinstance(obj, type) and issubclass(obj, Protocol):
        return App(name, Factory.forProtocol(obj))
    if isinstance(obj, type) and issubclass(obj, DatagramProtocol):
        return App(name, datagram=obj)
    if isinstance(obj, DatagramProtocol):
        return App(name, datagram=_one_datagram(name, obj))
    if _is_protocol_factory(obj):
        return App(name, factory=obj)
    if isinstance(obj, Deferred) or inspect.isawaitable(obj):
        return App(name, awaitable=obj)
    if callable(obj):
        takes_reactor = _takes_argument(obj, name)
        if takes_reactor and with_reactor is None:
            return ReactorCall(name, obj)
        result = obj(with_reactor) if takes_reactor else obj()
        if result is None and takes_reactor:
            return App(name)  # main(reactor) set itself up and runs until stopped
        if callable(result) and not isinstance(result, type) and not _is_servable(result):
            raise AppError(f"{name}() returned {_kind(result)}, which it can't serve")
        return classify(result, f"{name}()", with_reactor=with_reactor)
    raise AppError(
        f"{name} is {_kind(obj)}, not a Factory, a Protocol or DatagramProtocol subclass, "
        f"or a callable returning one"
    )


def _is_servable(obj: Any) -> bool:
    return (
        _is_protocol_factory(obj)
        or isinstance(obj, DatagramProtocol | Deferred)
        or inspect.isawaitable(obj)
    )


def _kind(obj: Any) -> str:
    if obj is None:
        return "None"
    if isinstance(obj, type):
        return f"the class {obj.__qualname__}"
    return f"a {type(obj).__name__}"


def _takes_argument(func: Callable[..., Any], name: str) -> bool:
    """True if func needs one positional argument (the reactor); False if none."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return False  # a builtin without a signature: assume no arguments
    required = [
        p
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(required) > 1:
        raise AppError(f"{name} needs {len(required)} arguments; the runner passes at most one")
    return bool(required)


def _import(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise AppError(
                f"cannot import app module {module_name!r}: no module named {missing!r}"
            )
        details = traceback.format_exc()
    except Exception:
        details = traceback.format_exc()
    raise AppError(f"error while importing app module {module_name!r}", 1, details)


def load_app(spec: str | None) -> App | ReactorCall:
    """Resolve APP (a built-in name or ``module:attribute``; None means echo).

    ``AppError`` for an unknown name, a missing module or attribute, an
    error raised by the module (with its traceback) or an unservable object.
    """
    if spec is None:
        return _builtin("echo")
    if ":" not in spec:
        if spec in _BUILTIN_CLASSES:
            return _builtin(spec)
        raise AppError(
            f"unknown app {spec!r}: not a built-in ({', '.join(BUILTINS)}) "
            f"and not module:attribute"
        )
    module_name, _, attr_path = spec.partition(":")
    if not module_name or not attr_path:
        raise AppError(f"bad app {spec!r}: expected module:attribute, e.g. myapp.server:factory")
    # As ``python -m`` does, find modules in the current directory.
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    obj = _import(module_name)
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppError(f"app module {module_name!r} has no attribute {attr_path!r}") from None
    try:
        return classify(obj, spec)
    except AppError:
        raise
    except Exception:
        raise AppError(f"error while building app {spec!r}", 1, traceback.format_exc())


def drop_module(spec: str | None) -> None:
    """Forget spec's module and its submodules, so that the next import reads them anew."""
    if not spec or ":" not in spec:
        return
    module_name = spec.partition(":")[0]
    for name in list(sys.modules):
        if name == module_name or name.startswith(module_name + "."):
            del sys.modules[name]
