"""Readiness selectors: one interface (``ISelector``), one small module per backend.

``new_selector(name)`` builds the ``"epoll"``, ``"poll"`` or ``"select"``
backend; ``best_available()`` names the best one this platform has.
``READ`` and ``WRITE`` are the portable event bits that ``register`` and
``modify`` take; ``poll`` returns each backend's native masks, described by
the backend's ``READ_EVENTS``/``WRITE_EVENTS``/``INVALID_EVENTS`` constants.
"""

from __future__ import annotations

__all__ = ["READ", "WRITE", "BACKENDS", "available", "best_available", "new_selector"]

READ = 1
WRITE = 2

#: Backend names, best first.
BACKENDS = ("epoll", "poll", "select")
