"""reactorsock: Twisted-style event-driven networking over channels.

Protocols and transports defined by zope.interface run on a pluggable reactor
(select, poll, epoll) over one I/O layer, the channels of
:mod:`reactorsock.channel`.  :mod:`reactorsock.compat` offers classic
CPython-API sockets over the same channels.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0.dev0"
