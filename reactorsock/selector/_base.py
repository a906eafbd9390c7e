"""The bookkeeping shared by every selector backend; not a backend itself.

``SelectorBase`` validates arguments and remembers which portable events
(``READ``/``WRITE``) each fd is registered for; a backend supplies the
class constants of ``ISelector`` plus three hooks, ``_add``, ``_change`` and
``_remove``, that tell its kernel object, and ``poll``.  ``PollLikeSelector``
is the base of the ``poll`` and ``epoll`` backends, whose kernel objects share
``register``/``modify``/``unregister`` (the stdlib's ``_PollLikeSelector``).

Design notes: argument checks happen in ``register``/``modify``/``unregister``
only, never in ``poll``, which stays a single system call plus (``poll``
backend only) a scan for ``POLLNVAL``.
"""

from __future__ import annotations

from operator import index

__all__ = ["SelectorBase", "PollLikeSelector", "MAX_TIMEOUT"]

#: The longest single wait, in seconds.  ``poll(2)`` and ``epoll_wait(2)`` take
#: an ``int`` of milliseconds (CPython raises ``OverflowError`` beyond
#: INT_MAX ms, about 24.8 days); a longer timeout returns ``[]`` early and the
#: caller's loop, which recomputes its timeout anyway, waits again.
MAX_TIMEOUT = (2**31 - 1) // 1000

_EVENTS_ERROR = "events must be READ (1), WRITE (2) or READ | WRITE (3), not {!r}"


class SelectorBase:
    """Argument checks and the fd -> events map; see ``ISelector``."""

    name = ""
    READ_EVENTS = 0
    WRITE_EVENTS = 0
    INVALID_EVENTS = 0

    def __init__(self) -> None:
        self._fds: dict[int, int] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fds={len(self._fds)}>"

    def __len__(self) -> int:
        """The number of registered fds."""
        return len(self._fds)

    def __contains__(self, fd: object) -> bool:
        return fd in self._fds

    def events(self, fd: int) -> int:
        """See ``ISelector.events``: the portable events fd is registered for, 0 if none."""
        return self._fds.get(fd, 0)

    def _check_fd(self, fd: int) -> int:
        """Return fd as a plain int; ``ValueError`` if this backend cannot watch it."""
        fd = index(fd)  # a plain int even for int subclasses (channels)
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}: must be >= 0")
        return fd

    def register(self, fd: int, events: int) -> None:
        """See ``ISelector.register``."""
        fd = self._check_fd(fd)
        if events not in (1, 2, 3):
            raise ValueError(_EVENTS_ERROR.format(events))
        if fd in self._fds:
            raise KeyError(f"fd {fd} is already registered")
        self._add(fd, events)
        self._fds[fd] = events

    def modify(self, fd: int, events: int) -> None:
        """See ``ISelector.modify``."""
        fd = index(fd)
        if events not in (1, 2, 3):
            raise ValueError(_EVENTS_ERROR.format(events))
        old = self._fds.get(fd)
        if old is None:
            raise KeyError(f"fd {fd} is not registered")
        if old != events:
            self._change(fd, events)
            self._fds[fd] = events

    def unregister(self, fd: int) -> None:
        """See ``ISelector.unregister``."""
        fd = index(fd)
        events = self._fds.pop(fd, None)
        if events is None:
            raise KeyError(f"fd {fd} is not registered")
        self._remove(fd, events)

    def close(self) -> None:
        """See ``ISelector.close``; forgets every fd."""
        self._fds.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Hooks: the kernel side of register/modify/unregister.  They run after
    # validation and before (register, modify) or after (unregister) the map
    # changes, so a hook that raises leaves the map as it was.

    def _add(self, fd: int, events: int) -> None:
        raise NotImplementedError

    def _change(self, fd: int, events: int) -> None:
        raise NotImplementedError

    def _remove(self, fd: int, events: int) -> None:
        raise NotImplementedError


class PollLikeSelector(SelectorBase):
    """A backend over a kernel object with register/modify/unregister.

    Subclasses set ``_NATIVE``: the native mask to request, indexed by the
    portable events (1, 2 or 3), and implement ``_new_poller`` and ``poll``.
    """

    _NATIVE: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __init__(self) -> None:
        super().__init__()
        self._poller = self._new_poller()

    def _new_poller(self):
        raise NotImplementedError

    def _add(self, fd: int, events: int) -> None:
        self._poller.register(fd, self._NATIVE[events])

    def _change(self, fd: int, events: int) -> None:
        self._poller.modify(fd, self._NATIVE[events])

    def _remove(self, fd: int, events: int) -> None:
        self._poller.unregister(fd)
