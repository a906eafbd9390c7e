"""Reactors: ``new_reactor(name)`` builds one; ``get_reactor()``/``install()`` manage a default.

There is no hidden global reactor: a reactor is an object, and everything
that needs one takes it.  For convenience a process-wide default exists,
made on first ``get_reactor()`` (or by ``install(name)``), on the backend
named by ``REACTORSOCK_REACTOR`` or else the best the platform has.
"""

from __future__ import annotations

import os
import threading

from reactorsock.reactor._selecting import Reactor
from reactorsock.selector import BACKENDS, available, best_available

__all__ = ["Reactor", "new_reactor", "get_reactor", "install", "BACKENDS", "available"]

ENV_VAR = "REACTORSOCK_REACTOR"

_default: Reactor | None = None
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
    return Reactor(_choose(name))


def install(name: str | None = None) -> Reactor:
    """Make a reactor on backend name the process-wide default and return it.

    ``RuntimeError`` if a default already exists.
    """
    global _default
    with _lock:
        if _default is not None:
            raise RuntimeError(f"a default reactor is already installed: {_default!r}")
        _default = new_reactor(name)
        return _default


def get_reactor() -> Reactor:
    """Return the process-wide default reactor, making it on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = new_reactor()
        return _default


def _uninstall() -> None:
    """Forget the default reactor (for tests)."""
    global _default
    with _lock:
        _default = None
