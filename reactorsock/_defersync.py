"""Waiting in turn on Deferreds: ``DeferredLock``, ``DeferredSemaphore`` and ``DeferredQueue``.

Twisted's ``twisted.internet.defer`` primitives for code on one event loop:
``acquire()`` and ``get()`` return a Deferred that fires when it is the
caller's turn, and cancelling it while it waits gives up the place in line.
They are not thread locks: call them from the loop's thread only.  This
module holds no clock and no reactor.

Public home: ``reactorsock.defer``, which re-exports these names; import
from there.

Design notes
------------
- Waiters are served first come, first served.  A release hands the lock (or
  token) to the next waiter in a loop rather than by recursion: the waiter's
  callbacks run inside ``release()``, and a callback that releases again
  (``run()`` of a synchronous function does) only records it for that loop.
  5,000 waiters on ``run(f)`` with a synchronous ``f`` therefore do not
  grow the Python stack (Twisted's ``DeferredSemaphore`` nests one
  ``release()`` per waiter).
- While a hand-over is under way, ``acquire()`` queues behind the waiters
  even if a token is momentarily free, so a callback cannot jump the line.
- ``release()`` of a lock that is not held raises ``RuntimeError`` (as
  ``asyncio.Lock`` does); Twisted uses ``assert``, which ``python -O``
  removes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["DeferredLock", "DeferredSemaphore", "DeferredQueue", "QueueOverflow", "QueueUnderflow"]


class _ConcurrencyPrimitive:
    """What the lock and the semaphore share: the waiters, ``run`` and ``async with``."""

    def __init__(self) -> None:
        #: The Deferreds of pending ``acquire()`` calls, oldest first.
        self.waiting: deque[Deferred] = deque()
        self._handing_over = False

    # Subclasses say whether a token is free, and take or give back one.
    def _free(self) -> bool:
        raise NotImplementedError

    def _take(self) -> None:
        raise NotImplementedError

    def acquire(self) -> Deferred:
        """Return a Deferred firing with this object once the caller holds it.

        Cancelling the Deferred before it fires gives up the caller's turn.
        """
        d = Deferred(self._cancel_acquire)
        # Waiters outside a hand-over mean no token is free; during one, a
        # free token is the hand-over's to give, in order.
        if self.waiting or self._handing_over or not self._free():
            self.waiting.append(d)
        else:
            self._take()
            d.callback(self)
        return d

    def _cancel_acquire(self, d: Deferred) -> None:
        self.waiting.remove(d)

    def _hand_over(self) -> None:
        """Give free tokens to waiters, in order, iteratively (see the design notes)."""
        if self._handing_over:
            return
        self._handing_over = True
        try:
            waiting = self.waiting
            while waiting and self._free():
                self._take()
                waiting.popleft().callback(self)
        finally:
            self._handing_over = False

    def run(self, f: Callable[..., Any], *args: Any, **kw: Any) -> Deferred:
        """Acquire, call ``f(*args, **kw)``, and release once its result (or Deferred) is in.

        The returned Deferred fires with f's result; f is not called if the
        Deferred is cancelled while it waits for its turn.
        """

        def execute(_: object) -> Deferred:
            return maybeDeferred(f, *args, **kw).addBoth(self._release_and_return)

        return self.acquire().addCallback(execute)

    def _release_and_return(self, result: Any) -> Any:
        self.release()
        return result

    def release(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __aenter__(self) -> Deferred:
        """``async with lock:`` in a coroutine run by ``ensureDeferred``."""
        return self.acquire()

    def __aexit__(self, exc_type: object, exc: object, tb: object) -> Deferred:
        self.release()
        return succeed(False)


class DeferredLock(_ConcurrencyPrimitive):
    """A lock for code on one loop; Twisted's ``DeferredLock``.

    ``locked`` says whether someone holds it; ``waiting`` holds the
    Deferreds of the callers in line.
    """

    def __init__(self) -> None:
        super().__init__()
        self.locked = False

    def _free(self) -> bool:
        return not self.locked

    def _take(self) -> None:
        self.locked = True

    def release(self) -> None:
        """Release the lock; the next waiter, if any, gets it at once.

        ``RuntimeError`` if the lock is not held.
        """
        if not self.locked:
            raise RuntimeError("release() of a DeferredLock that is not locked")
        self.locked = False
        self._hand_over()

    def __repr__(self) -> str:
        state = "locked" if self.locked else "unlocked"
        return f"<DeferredLock {state}, {len(self.waiting)} waiting>"


class DeferredSemaphore(_ConcurrencyPrimitive):
    """At most ``limit`` holders at once; Twisted's ``DeferredSemaphore``.

    ``tokens`` is how many more may acquire now.  ``ValueError`` if tokens < 1.
    """

    def __init__(self, tokens: int) -> None:
        if tokens < 1:
            raise ValueError(f"DeferredSemaphore needs tokens >= 1, not {tokens!r}")
        super().__init__()
        self.tokens = tokens
        self.limit = tokens

    def _free(self) -> bool:
        return self.tokens > 0

    def _take(self) -> None:
        self.tokens -= 1

    def release(self) -> None:
        """Give back one token; the next waiter, if any, takes it at once.

        ``RuntimeError`` if that would make more than ``limit`` tokens.
        """
        if self.tokens >= self.limit:
            raise RuntimeError("release() of a DeferredSemaphore more times than it was acquired")
        self.tokens += 1
        self._hand_over()

    def __repr__(self) -> str:
        return f"<DeferredSemaphore {self.tokens}/{self.limit} free, {len(self.waiting)} waiting>"


class QueueOverflow(Exception):
    """``DeferredQueue.put`` on a queue already holding ``size`` objects."""


class QueueUnderflow(Exception):
    """``DeferredQueue.get`` on a queue already owing ``backlog`` objects."""


class DeferredQueue:
    """A queue whose ``get()`` returns a Deferred; Twisted's ``DeferredQueue``.

    ``size`` bounds the objects held (``pending``), ``backlog`` the
    unanswered ``get()`` calls (``waiting``); None means no bound.
    """

    def __init__(self, size: int | None = None, backlog: int | None = None) -> None:
        self.size = size
        self.backlog = backlog
        #: Objects put and not yet got, oldest first.
        self.pending: deque[Any] = deque()
        #: The Deferreds of unanswered ``get()`` calls, oldest first.
        self.waiting: deque[Deferred] = deque()

    def put(self, obj: Any) -> None:
        """Give obj to the oldest waiting ``get()``, or keep it.

        ``QueueOverflow`` if the queue already holds ``size`` objects.
        """
        if self.waiting:
            self.waiting.popleft().callback(obj)
        elif self.size is None or len(self.pending) < self.size:
            self.pending.append(obj)
        else:
            raise QueueOverflow(f"the queue already holds {self.size} object(s)")

    def get(self) -> Deferred:
        """Return a Deferred firing with the oldest object, now or once one is put.

        Cancelling it while it waits gives up its place.  ``QueueUnderflow``
        if ``backlog`` calls are already waiting.
        """
        if self.pending:
            return succeed(self.pending.popleft())
        if self.backlog is not None and len(self.waiting) >= self.backlog:
            raise QueueUnderflow(f"{self.backlog} get() call(s) are already waiting")
        d = Deferred(self.waiting.remove)
        self.waiting.append(d)
        return d

    def __repr__(self) -> str:
        return f"<DeferredQueue {len(self.pending)} pending, {len(self.waiting)} waiting>"


# Imported last, as reactorsock.defer imports this module at its end: the
# classes above need these names only when called, so either module may be
# imported first.
from reactorsock.defer import Deferred, maybeDeferred, succeed  # noqa: E402
