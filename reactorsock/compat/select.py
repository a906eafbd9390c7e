"""The CPython 3 ``select`` module API over fds, sockets and channels.

``select()``, ``poll()`` and ``epoll()`` take what the stdlib's take -- ints
and any object with a ``fileno()`` -- and so accept stdlib sockets,
``reactorsock.compat.socket`` sockets (whose ``fileno()`` is a channel),
channels themselves, pipe ends (``os.pipe()`` ints, ``PipeChannel``) and
files, mixed freely in one call.  ``select()`` returns the very objects it
was given; ``poll().poll()`` and ``epoll().poll()`` return ``(fd, events)``
with plain int fds, as CPython's do.  Everything but ``select()`` --
``poll``, ``epoll``, ``devpoll``/``kqueue`` where the platform has them, the
constants and ``error`` (``OSError``) -- is the stdlib's own object.

This is not a selector for the reactor (see ``reactorsock.selector``), and
it never blocks longer than asked.

Design notes
------------
Channels subclass ``int``, so the stdlib functions take them as they are;
``select()`` adds one check the stdlib cannot make.  A closed channel keeps
its old fd number as its int value, and the OS may already have handed that
number to a new file: the stdlib would wait on whatever now holds it.  Here a
closed channel in a list or tuple raises ``ValueError``, as a closed file
object does in CPython (its ``fileno()`` raises).  A closed compat socket,
whose ``fileno()`` is -1, gets CPython's own ``ValueError: file descriptor
cannot be a negative integer (-1)``.  ``poll``/``epoll`` objects are C types
that cannot be subclassed, and wrapping them would cost a frame per call and
break ``isinstance``; register a channel there as an fd, and unregister it
before closing it, as ``reactorsock.channel`` asks.

Jython's select took socket objects only: no pipes or files, since only
java.nio socket channels were selectable there.  Here everything with an fd
mixes in one call (``docs/compat.md``, "Fixed from Jython's list").
"""

from __future__ import annotations

import select as _std
from select import *  # noqa: F403 - every constant and function of the platform
from typing import Any

from reactorsock.channel import Channel

__all__ = [name for name in dir(_std) if not name.startswith("_")]

error = OSError
_std_select = _std.select
_SEQUENCES = (list, tuple)


def select(rlist: Any, wlist: Any, xlist: Any, timeout: float | None = None, /) -> Any:
    """Wait until objects are ready; see the stdlib ``select.select``.

    Returns three lists holding the very objects passed in, in order.  A
    closed channel raises ``ValueError``.  Lists and tuples are checked for
    closed channels; other iterables go to the stdlib untouched, so that a
    one-shot iterator is consumed once, as in CPython.
    """
    for seq in (rlist, wlist, xlist):
        if type(seq) in _SEQUENCES:
            for obj in seq:
                if isinstance(obj, Channel) and obj.closed:
                    obj.fileno()  # raises ValueError("fileno() of closed ...")
    return _std_select(rlist, wlist, xlist, timeout)
