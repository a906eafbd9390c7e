"""The ``epoll(7)`` selector backend (Linux): cost grows with ready fds only.

Design notes: epoll watches open file *descriptions*, not fd numbers
(epoll(7), "Questions and answers" 6).  Closing an fd without unregistering
it first therefore has two outcomes:

- if it was the last reference, the kernel drops it from the set silently:
  no events and no spin, but this object's map still holds the number;
- if a duplicate (``dup``, ``fork``) keeps the description open, the kernel
  goes on reporting it under the old number, and ``EPOLL_CTL_DEL`` can no
  longer name it (``EBADF``).

So ``unregister`` ignores ``EBADF``/``ENOENT`` from ``EPOLL_CTL_DEL``, and after
an ``EBADF`` the next ``poll`` rebuilds the epoll set from the map, which is
the only way to evict such a ghost.  A registered fd found closed during that
rebuild is forgotten and reported once with ``INVALID_EVENTS``, a synthetic
bit no kernel event uses.  ``register``/``modify`` retry as ``MOD``/``ADD`` on
``EEXIST``/``ENOENT``, the cases of an fd number closed and reused.

Only ``EPOLLIN`` is requested for reading, not ``EPOLLPRI``: see ``poll.py``.
"""

from __future__ import annotations

import errno
import select as _select

from zope.interface import implementer

from reactorsock.interfaces import ISelector
from reactorsock.selector._base import MAX_TIMEOUT, PollLikeSelector

__all__ = ["EpollSelector"]

_IN = _select.EPOLLIN
_OUT = _select.EPOLLOUT
_ERR = _select.EPOLLERR | _select.EPOLLHUP


@implementer(ISelector)
class EpollSelector(PollLikeSelector):
    """A selector over ``select.epoll``; see ``ISelector``."""

    name = "epoll"
    # Hang-up and error wake both sides, so a writer-only fd learns of errors.
    READ_EVENTS = _IN | _select.EPOLLPRI | _select.EPOLLRDHUP | _ERR
    WRITE_EVENTS = _OUT | _ERR
    #: Synthetic: above every EPOLL* event bit (EPOLLET is 1 << 31).
    INVALID_EVENTS = 1 << 32

    _NATIVE = (0, _IN, _OUT, _IN | _OUT)

    def __init__(self) -> None:
        super().__init__()
        self._rebuild_due = False

    def _new_poller(self):
        return _select.epoll()

    def _add(self, fd: int, events: int) -> None:
        try:
            self._poller.register(fd, self._NATIVE[events])
        except FileExistsError:
            # Still in the kernel's set from before a close we did not see.
            self._poller.modify(fd, self._NATIVE[events])

    def _change(self, fd: int, events: int) -> None:
        try:
            self._poller.modify(fd, self._NATIVE[events])
        except FileNotFoundError:
            # Closed behind our back and the number reused for a new file.
            self._poller.register(fd, self._NATIVE[events])

    def _remove(self, fd: int, events: int) -> None:
        try:
            self._poller.unregister(fd)
        except OSError as e:
            if e.errno == errno.EBADF:
                self._rebuild_due = True  # a duplicate may keep it reporting
            elif e.errno != errno.ENOENT:
                raise

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """See ``ISelector.poll``."""
        if self._rebuild_due:
            invalid = self._rebuild()
            if invalid:
                return invalid
        if timeout is None:
            timeout = -1
        elif timeout > MAX_TIMEOUT:
            timeout = MAX_TIMEOUT
        elif timeout < 0:
            timeout = 0  # negative means "forever" to epoll_wait(2)
        try:
            # CPython rounds the float seconds *up* to whole milliseconds
            # (_PyTime_ROUND_CEILING in selectmodule.c), so this never
            # returns early, and returns the list of (fd, mask) as it is.
            return self._poller.poll(timeout)
        except InterruptedError:  # pragma: no cover - PEP 475 retries EINTR itself
            return []

    def _rebuild(self) -> list[tuple[int, int]]:
        """Replace the epoll set by one built from the map; return the closed fds."""
        self._rebuild_due = False
        self._poller.close()
        self._poller = self._new_poller()
        invalid = []
        for fd, events in list(self._fds.items()):
            try:
                self._poller.register(fd, self._NATIVE[events])
            except OSError as e:
                if e.errno != errno.EBADF:
                    raise
                del self._fds[fd]
                invalid.append((fd, self.INVALID_EVENTS))
        return invalid

    def close(self) -> None:
        """See ``ISelector.close``."""
        super().close()
        self._poller.close()
