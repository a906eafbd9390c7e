"""Readiness selectors: one interface (``ISelector``), one small module per backend.

``new_selector(name)`` builds the ``"epoll"``, ``"poll"`` or ``"select"``
backend; ``best_available()`` names the best one this platform has.
``READ`` and ``WRITE`` are the portable event bits that ``register`` and
``modify`` take; ``poll`` returns each backend's native masks, described by
the backend's ``READ_EVENTS``/``WRITE_EVENTS``/``INVALID_EVENTS`` constants.
"""

from __future__ import annotations

import importlib

# Not ``import select``: importing the submodule ``reactorsock.selector.select``
# rebinds the package's global ``select`` to that submodule.
import select as _select
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reactorsock.interfaces import ISelector

__all__ = ["READ", "WRITE", "BACKENDS", "available", "best_available", "new_selector"]

READ = 1
WRITE = 2

#: Backend names, best first.
BACKENDS = ("epoll", "poll", "select")

_CLASSES = {
    "epoll": ("reactorsock.selector.epoll", "EpollSelector"),
    "poll": ("reactorsock.selector.poll", "PollSelector"),
    "select": ("reactorsock.selector.select", "SelectSelector"),
}


def available(name: str) -> bool:
    """Whether this platform has the backend name (False for unknown names)."""
    if name == "select":
        return True
    if name in ("poll", "epoll"):
        return hasattr(_select, name)
    return False


def best_available() -> str:
    """The name of the best backend this platform has, in ``BACKENDS`` order."""
    for name in BACKENDS:
        if available(name):
            return name
    raise AssertionError("select is always available")  # pragma: no cover - see available()


def new_selector(name: str | None = None) -> ISelector:
    """Build the named backend's selector (None: ``best_available()``).

    Raises ``ValueError`` for a name not in ``BACKENDS``, or a backend this
    platform lacks; the message lists the valid choices.
    """
    if name is None:
        name = best_available()
    if name not in _CLASSES:
        choices = ", ".join(repr(n) for n in BACKENDS)
        raise ValueError(f"unknown selector backend {name!r}; choose one of {choices}")
    if not available(name):
        here = ", ".join(repr(n) for n in BACKENDS if available(n))
        raise ValueError(f"selector backend {name!r} is not available here; choose one of {here}")
    module, cls = _CLASSES[name]
    return getattr(importlib.import_module(module), cls)()
