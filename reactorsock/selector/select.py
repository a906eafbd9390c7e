"""The ``select(2)`` selector backend: portable, but only fds below FD_SETSIZE.

It is the fallback where poll and epoll are missing; each call copies the
whole fd sets into the kernel, so it suits few fds.

Design notes: ``select(2)`` has no per-fd error report; one closed fd in the
sets fails the whole call with ``EBADF``.  ``poll`` then probes each
registered fd alone with a zero timeout (an exact test of what ``select``
accepts, unlike ``fstat``, which also accepts ``O_PATH`` fds), forgets the
bad ones and returns them with ``INVALID_EVENTS``; the caller's next ``poll``
waits on the rest.  The exceptional set is not used: on Linux it means TCP
urgent data, which an ordinary ``recv`` does not consume, so watching it
would busy-loop (see ``poll.py``).

Inside this module ``import select`` is absolute and finds the stdlib module.
"""

from __future__ import annotations

import errno
import select as _select

from zope.interface import implementer

from reactorsock.interfaces import ISelector
from reactorsock.selector._base import MAX_TIMEOUT, SelectorBase

__all__ = ["SelectSelector", "FD_SETSIZE"]

#: glibc's FD_SETSIZE (<sys/select.h>); CPython's ``select.select`` refuses
#: larger fds ("filedescriptor out of range in select()").
FD_SETSIZE = 1024

_R = 1
_W = 2


@implementer(ISelector)
class SelectSelector(SelectorBase):
    """A selector over ``select.select``; see ``ISelector``.

    Native masks are synthetic: ``READ_EVENTS`` 1 for an fd in the readable
    list, ``WRITE_EVENTS`` 2 for the writable list, 3 for both.
    """

    name = "select"
    READ_EVENTS = _R
    WRITE_EVENTS = _W
    INVALID_EVENTS = 0x1000

    def __init__(self) -> None:
        super().__init__()
        self._readers: set[int] = set()
        self._writers: set[int] = set()

    def _check_fd(self, fd: int) -> int:
        fd = super()._check_fd(fd)
        if fd >= FD_SETSIZE:
            raise ValueError(
                f"fd {fd} is beyond the select backend's limit (FD_SETSIZE = "
                f"{FD_SETSIZE}); use the poll or epoll backend"
            )
        return fd

    def _add(self, fd: int, events: int) -> None:
        if events & _R:
            self._readers.add(fd)
        if events & _W:
            self._writers.add(fd)

    def _change(self, fd: int, events: int) -> None:
        self._remove(fd, 0)
        self._add(fd, events)

    def _remove(self, fd: int, events: int) -> None:
        self._readers.discard(fd)
        self._writers.discard(fd)

    def close(self) -> None:
        """See ``ISelector.close``."""
        super().close()
        self._readers.clear()
        self._writers.clear()

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """See ``ISelector.poll``.  A closed fd comes back once, as ``INVALID_EVENTS``."""
        if timeout is not None:
            if timeout > MAX_TIMEOUT:
                timeout = MAX_TIMEOUT
            elif timeout < 0:
                timeout = 0  # select.select refuses negative timeouts
        try:
            readable, writable, _ = _select.select(self._readers, self._writers, (), timeout)
        except InterruptedError:  # pragma: no cover - PEP 475 retries EINTR itself
            return []
        except OSError as e:
            if e.errno != errno.EBADF:
                raise
            invalid = self._forget_closed()
            if not invalid:  # pragma: no cover - EBADF yet every fd probes fine
                raise
            return invalid
        if not writable:
            return [(fd, _R) for fd in readable]
        if not readable:
            return [(fd, _W) for fd in writable]
        masks = dict.fromkeys(readable, _R)
        for fd in writable:
            masks[fd] = masks.get(fd, 0) | _W
        return list(masks.items())

    def _forget_closed(self) -> list[tuple[int, int]]:
        """Unregister the fds that ``select`` refuses; return them as invalid."""
        invalid = []
        for fd in list(self._fds):
            try:
                _select.select((fd,), (), (), 0)
            except OSError as e:
                if e.errno != errno.EBADF:
                    raise
                self.unregister(fd)
                invalid.append((fd, self.INVALID_EVENTS))
        return invalid
