"""LoopingCall: call a function every *interval* seconds on an ``IReactorTime``.

Twisted's ``task.LoopingCall``: calls stay on the grid ``start + n * interval``;
when a call (or the Deferred it returns) overruns one or more intervals, the
missed ones are skipped rather than run in a burst.  It is re-exported by
:mod:`reactorsock.task`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactorsock.defer import Deferred, maybeDeferred
from reactorsock.failure import Failure

__all__ = ["LoopingCall"]


class LoopingCall:
    """Call ``f(*a, **kw)`` repeatedly, every *interval* seconds once started.

    ``clock`` is the ``IReactorTime`` used; it defaults to the process-wide
    reactor (``reactorsock.reactor.get_reactor()``, looked up on first use)
    and may be set to a ``task.Clock`` in tests.  If ``f`` returns a
    Deferred, the next call is scheduled only after it fires.  ``running``
    is True between :meth:`start` and the end of the loop; ``deferred`` is
    the Deferred that :meth:`start` returned, while running.

    Call order: ``start -> f* -> stop -> start's Deferred fires with self``;
    an exception in ``f`` (or a failed Deferred from it) ends the loop and
    errbacks start's Deferred with it.
    """

    def __init__(self, f: Callable[..., Any], *a: Any, **kw: Any) -> None:
        self.f = f
        self.a = a
        self.kw = kw
        self.running = False
        self.interval: float | None = None
        self.starttime: float | None = None
        self.call: Any = None  # the pending IDelayedCall, if any
        self._deferred: Deferred | None = None
        self._clock: Any = None
        self._run_at_start = False
        self._last_count_time: float | None = None

    @property
    def clock(self) -> Any:
        """The ``IReactorTime`` that schedules the calls."""
        if self._clock is None:
            from reactorsock.reactor import get_reactor

            self._clock = get_reactor()
        return self._clock

    @clock.setter
    def clock(self, value: Any) -> None:
        self._clock = value

    @property
    def deferred(self) -> Deferred | None:
        """The Deferred returned by :meth:`start`, until the loop ends."""
        return self._deferred

    @classmethod
    def withCount(cls, countCallable: Callable[[int], Any]) -> LoopingCall:  # noqa: N802
        """A LoopingCall calling ``countCallable(n)``, n being the intervals since the last call.

        n is 1 when the loop keeps up and larger after missed intervals (a
        loop with interval 0 always passes 1).
        """
        loop: LoopingCall

        def counter() -> Any:
            now = loop.clock.seconds()
            if loop.interval == 0:
                loop._last_count_time = now
                return countCallable(1)
            last = loop._last_count_time
            if last is None:
                last = loop.starttime
                if loop._run_at_start:
                    last -= loop.interval
            count = loop._interval_of(now) - loop._interval_of(last)
            if count > 0:
                loop._last_count_time = now
                return countCallable(count)
            return None

        loop = cls(counter)
        return loop

    def _interval_of(self, when: float) -> int:
        return int((when - self.starttime) / self.interval)

    def start(self, interval: float, now: bool = True) -> Deferred:
        """Start calling every *interval* seconds, the first time at once if *now*.

        Returns a Deferred firing with this LoopingCall when :meth:`stop`
        ends the loop, or with the Failure of ``f``.  ``RuntimeError`` if
        already running, ``ValueError`` for a negative interval.
        """
        if self.running:
            raise RuntimeError("this LoopingCall is already running")
        if interval < 0:
            raise ValueError(f"interval must be >= 0, not {interval!r}")
        self.running = True
        d = self._deferred = Deferred()
        self.starttime = self.clock.seconds()
        self.interval = interval
        self._run_at_start = now
        if now:
            self()
        else:
            self._schedule_from(self.starttime)
        return d

    def stop(self) -> None:
        """End the loop; start's Deferred fires (once a pending call of ``f`` has finished).

        ``RuntimeError`` if not running.
        """
        if not self.running:
            raise RuntimeError("this LoopingCall is not running")
        self.running = False
        if self.call is not None:
            self.call.cancel()
            self.call = None
            d, self._deferred = self._deferred, None
            d.callback(self)

    def reset(self) -> None:
        """Start counting the intervals anew from now (the next call is one interval away)."""
        if not self.running:
            raise RuntimeError("this LoopingCall is not running")
        if self.call is not None:
            self.call.cancel()
            self.call = None
            self.starttime = self.clock.seconds()
            self._schedule_from(self.starttime)

    def __call__(self) -> None:
        """Run ``f`` once, then schedule the next run (internal; the clock calls it)."""
        self.call = None
        d = maybeDeferred(self.f, *self.a, **self.kw)
        d.addCallbacks(self._on_done, self._on_error)

    def _on_done(self, result: Any) -> None:
        if self.running:
            self._schedule_from(self.clock.seconds())
        else:
            d, self._deferred = self._deferred, None
            d.callback(self)

    def _on_error(self, failure: Failure) -> None:
        self.running = False
        d, self._deferred = self._deferred, None
        d.errback(failure)

    def _schedule_from(self, when: float) -> None:
        """Schedule the next call at the first grid point after *when*."""
        interval = self.interval
        if interval == 0:
            self.call = self.clock.callLater(0, self)
            return
        until_next = interval - ((when - self.starttime) % interval)
        if when == when + until_next:  # float precision lost at huge times
            until_next = interval
        self.call = self.clock.callLater(until_next, self)

    def __repr__(self) -> str:
        name = getattr(self.f, "__qualname__", None) or repr(self.f)
        return f"LoopingCall<{self.interval!r}>({name}, *{self.a!r}, **{self.kw!r})"
