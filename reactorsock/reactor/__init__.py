"""Reactors: ``new_reactor(name)`` builds one; ``get_reactor()``/``install()`` manage a default.

There is no hidden global reactor: a reactor is an object, and everything
that needs one takes it.  For convenience a process-wide default exists,
made on first ``get_reactor()`` (or by ``install(name)``), on the backend
named by ``REACTORSOCK_REACTOR`` or else the best the platform has.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref

from reactorsock.reactor._base import running_reactor
from reactorsock.reactor._selecting import Reactor
from reactorsock.selector import BACKENDS, available, best_available

__all__ = ["Reactor", "new_reactor", "get_reactor", "install", "BACKENDS", "available"]

ENV_VAR = "REACTORSOCK_REACTOR"

_default: Reactor | None = None
# Every reactor new_reactor() made and that is still alive (for get_reactor's warning).
_made: weakref.WeakSet[Reactor] = weakref.WeakSet()
_lock = threading.Lock()


def _choose(name: str | None) -> str:
    if name is None:
        name = os.environ.get(ENV_VAR) or best_available()
    name = name.strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"unknown reactor {name!r}: choose one of {', '.join(BACKENDS)}")
    if not available(name):
        raise ValueError(f"the {name!r} reactor is not available on this platform")
    return name


def new_reactor(name: str | None = None) -> Reactor:
    """Build a reactor on backend name (``"epoll"``, ``"poll"``, ``"select"``).

    With no name: ``$REACTORSOCK_REACTOR`` if set, else the best available.
    ``ValueError`` for an unknown or unavailable backend.
    """
    reactor = Reactor(_choose(name))
    _made.add(reactor)
    return reactor


def install(name: str | Reactor | None = None) -> Reactor:
    """Make a reactor the process-wide default and return it.

    name is a backend name (a new reactor on it), or a reactor already made
    with ``new_reactor()``.  ``RuntimeError`` if a default already exists.
    """
    global _default
    with _lock:
        if _default is not None:
            raise RuntimeError(f"a default reactor is already installed: {_default!r}")
        _default = name if isinstance(name, Reactor) else new_reactor(name)
        return _default


def get_reactor() -> Reactor:
    """Return the reactor running in this thread, else the process-wide default.

    Code that needs a reactor and was not given one (``LoopingCall.clock``,
    ``threads.deferToThread``, ``task.react``) asks here.  Inside
    ``reactor.run()`` that is the running reactor, whichever way it was made.
    Outside, it is the default, made on first use; making it while a reactor
    from ``new_reactor()`` exists warns (``RuntimeWarning``), because what is
    scheduled on a reactor that nobody runs never happens: pass your reactor
    explicitly, or ``install()`` it as the default.
    """
    global _default
    running = running_reactor()
    if running is not None:
        return running  # type: ignore[return-value]
    with _lock:
        if _default is None:
            others = [r for r in _made if not r.closed and r is not _default]
            _default = new_reactor()
            if others:
                warnings.warn(
                    f"get_reactor() made a new default reactor while {others[0]!r} exists "
                    "and is not running in this thread; calls scheduled on the default "
                    "run only if it runs. Pass your reactor explicitly (e.g. "
                    "LoopingCall.clock = reactor) or make it the default with install().",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return _default


def _uninstall() -> None:
    """Forget the default reactor (for tests)."""
    global _default
    with _lock:
        _default = None
