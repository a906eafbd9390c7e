"""Timed calls: the ``DelayedCall`` record and the deterministic ``Clock``.

``DelayedCall`` is shared by every owner of timed calls: :class:`Clock` here
and the real reactors in :mod:`reactorsock.reactor`.  It is a plain record
that knows its owner only through three functions handed to its constructor.
``Clock`` is an ``IReactorTime`` whose time moves only when a test calls
:meth:`Clock.advance`; it is not a reactor and does no I/O.

Design notes
------------
The owner contract of ``DelayedCall(time, func, args, kw, cancel, reset, seconds)``:

- the owner sets ``_seq`` (an increasing int) before storing the call, so
  that ``__lt__``, which compares ``(time, _seq)``, orders calls due at the
  same moment by when they were scheduled; it fits ``heapq`` directly;
- ``cancel(dc)`` is called once, after ``dc.cancelled`` has been set and
  before ``func``/``args``/``kw`` are cleared; the owner removes the call or
  skips it lazily when it surfaces (a cancelled call must never be run);
- ``reset(dc)`` is called after ``dc.time`` has changed (by ``reset`` or
  ``delay``); the owner restores its ordering (a heap owner re-heapifies or
  re-inserts), and may give the call a new ``_seq``;
- to run a due call the owner sets ``called = True``, then calls
  ``func(*args, **kw)``;
- ``seconds()`` is the owner's clock, used by ``reset`` and ``repr``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from zope.interface import implementer

from reactorsock.error import AlreadyCalled, AlreadyCancelled
from reactorsock.interfaces import IDelayedCall, IReactorTime

__all__ = ["DelayedCall", "Clock", "check_delay"]


@implementer(IDelayedCall)
class DelayedCall:
    """A call scheduled by ``callLater``; see ``IDelayedCall``.

    ``time`` is when it is due, in the owner's ``seconds()`` terms;
    ``called`` and ``cancelled`` say whether it has run or been cancelled.
    """

    __slots__ = (
        "time",
        "func",
        "args",
        "kw",
        "cancelled",
        "called",
        "_seq",
        "_canceller",
        "_resetter",
        "_seconds",
    )

    def __init__(
        self,
        time: float,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kw: dict[str, Any],
        cancel: Callable[[DelayedCall], None],
        reset: Callable[[DelayedCall], None],
        seconds: Callable[[], float],
    ) -> None:
        self.time = time
        self.func = func
        self.args = args
        self.kw = kw
        self.cancelled = False
        self.called = False
        self._seq = 0
        self._canceller = cancel
        self._resetter = reset
        self._seconds = seconds

    def __lt__(self, other: DelayedCall) -> bool:
        return (self.time, self._seq) < (other.time, other._seq)

    def getTime(self) -> float:
        """See ``IDelayedCall.getTime``."""
        return self.time

    def _check_active(self) -> None:
        if self.cancelled:
            raise AlreadyCancelled(self)
        if self.called:
            raise AlreadyCalled(self)

    def cancel(self) -> None:
        """See ``IDelayedCall.cancel``; also drops the references to func, args and kw."""
        self._check_active()
        self.cancelled = True
        self._canceller(self)
        self.func = self.args = self.kw = None

    def reset(self, secondsFromNow: float) -> None:
        """See ``IDelayedCall.reset``."""
        self._check_active()
        self.time = self._seconds() + secondsFromNow
        self._resetter(self)

    def delay(self, secondsLater: float) -> None:
        """See ``IDelayedCall.delay``."""
        self._check_active()
        self.time += secondsLater
        self._resetter(self)

    def active(self) -> bool:
        """See ``IDelayedCall.active``."""
        return not (self.cancelled or self.called)

    def __repr__(self) -> str:
        if self.cancelled:
            state = "cancelled"
        elif self.called:
            state = "called"
        else:
            state = f"due in {self.time - self._seconds():.3g}s"
        what = ""
        if self.func is not None:
            name = getattr(self.func, "__qualname__", None) or repr(self.func)
            params = [repr(a) for a in self.args or ()]
            params += [f"{k}={v!r}" for k, v in (self.kw or {}).items()]
            what = f" {name}({', '.join(params)})"
        return f"<DelayedCall 0x{id(self):x} [{state}]{what}>"


def check_delay(delay: float) -> None:
    """Raise ``ValueError`` unless *delay* is a finite number >= 0 (``callLater``'s contract)."""
    if not 0 <= delay < math.inf:  # also false for NaN
        raise ValueError(f"delay must be finite and >= 0, not {delay!r}")


@implementer(IReactorTime)
class Clock:
    """A deterministic ``IReactorTime`` for tests: time moves only by :meth:`advance`.

    ``seconds()`` starts at 0.0.  Exceptions raised by timed calls propagate
    out of :meth:`advance`.
    """

    def __init__(self) -> None:
        self.rightNow = 0.0
        self.calls: list[DelayedCall] = []  # a heap ordered by (time, _seq)
        self._counter = itertools.count()

    def seconds(self) -> float:
        """See ``IReactorTime.seconds``."""
        return self.rightNow

    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any):
        """See ``IReactorTime.callLater``."""
        check_delay(delay)
        dc = DelayedCall(
            self.rightNow + delay,
            callable,
            args,
            kw,
            self._cancel_call,
            self._reset_call,
            self.seconds,
        )
        dc._seq = next(self._counter)
        heapq.heappush(self.calls, dc)
        return dc

    def _cancel_call(self, dc: DelayedCall) -> None:
        self.calls.remove(dc)
        heapq.heapify(self.calls)

    def _reset_call(self, dc: DelayedCall) -> None:
        # A moved call counts as newly scheduled among calls due at its new time.
        dc._seq = next(self._counter)
        heapq.heapify(self.calls)

    def getDelayedCalls(self) -> list[DelayedCall]:
        """See ``IReactorTime.getDelayedCalls``; sorted by due time."""
        return sorted(self.calls)

    def advance(self, amount: float) -> None:
        """Move time forward by *amount* seconds and run every call now due.

        Calls run in (due time, scheduling order); a call scheduled while
        advancing runs in this same advance if it is already due (e.g.
        ``callLater(0, ...)``).  ``ValueError`` for a negative amount.
        """
        if amount < 0:
            raise ValueError(f"cannot advance a Clock by a negative amount: {amount!r}")
        self.rightNow += amount
        calls = self.calls
        while calls and calls[0].time <= self.rightNow:
            call = heapq.heappop(calls)
            call.called = True
            call.func(*call.args, **call.kw)

    def pump(self, timings: Iterable[float]) -> None:
        """Advance by each amount in *timings* in turn."""
        for amount in timings:
            self.advance(amount)
