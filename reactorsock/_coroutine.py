"""Running coroutines on Deferreds: ``ensureDeferred``, ``inlineCallbacks`` and their driver.

``_Driver`` steps a coroutine (or an ``inlineCallbacks`` generator) through
the Deferreds it awaits, without asyncio: each ``await d`` adds one
callback to *d*, and a Deferred that has already fired resumes the
coroutine in the same loop rather than by recursion.  Each coroutine runs
in its own copy of the current ``contextvars`` context.  This module is not
the Deferred itself (``defer.Deferred``, whose ``fromCoroutine`` uses the
driver) and knows no event loop.

Public home: ``reactorsock.defer``, which imports this module once
``Deferred`` is defined; import from there.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from reactorsock.defer import Deferred, NotACoroutineError, fail
from reactorsock.failure import Failure

__all__ = ["ensureDeferred", "inlineCallbacks"]

_NOTHING = object()


class _Driver:
    """Steps a coroutine (or an inlineCallbacks generator) through the Deferreds it awaits."""

    __slots__ = ("coro", "is_coroutine", "deferred", "waiting_on", "context", "adding", "stash")

    def __init__(self, coro: Any, is_coroutine: bool) -> None:
        self.coro = coro
        self.is_coroutine = is_coroutine
        self.deferred = Deferred(self._cancel)
        self.waiting_on: Deferred | None = None
        self.context = contextvars.copy_context()
        self.adding = False
        self.stash: Any = _NOTHING

    def start(self) -> Deferred:
        d = self.deferred
        self._step(None, False)
        return d

    def _step(self, value: Any, failed: bool) -> None:
        coro, run = self.coro, self.context.run
        while True:
            try:
                if failed:
                    yielded = run(coro.throw, value)
                else:
                    yielded = run(coro.send, value)
            except StopIteration as stop:
                self._finish(stop.value)
                return
            except BaseException:
                self._finish(Failure())
                return
            if not isinstance(yielded, Deferred):
                if self.is_coroutine:
                    value = TypeError(
                        f"a coroutine run by ensureDeferred awaited {yielded!r}: only "
                        "Deferreds (and awaitables built on them) can be awaited here; "
                        "asyncio futures need an asyncio event loop"
                    )
                    failed = True
                else:
                    value, failed = yielded, False  # inlineCallbacks sends it straight back
                continue
            self.waiting_on = yielded
            self.adding = True
            yielded.addBoth(self._resume)
            self.adding = False
            result, self.stash = self.stash, _NOTHING
            if result is _NOTHING:
                return  # _resume goes on when it fires
            self.waiting_on = None
            if isinstance(result, Failure):
                value, failed = result.value.with_traceback(result.tb), True
            else:
                value, failed = result, False

    def _resume(self, result: Any) -> None:
        if self.adding:
            self.stash = result  # fired at once: _step's loop goes on, no recursion
            return None
        self.waiting_on = None
        if isinstance(result, Failure):
            self._step(result.value.with_traceback(result.tb), True)
        else:
            self._step(result, False)
        return None

    def _finish(self, result: Any) -> None:
        d = self.deferred
        # Break the cycle d -> canceller -> self -> d, so that an unhandled
        # Failure is reported as soon as d is dropped, not at the next GC.
        d._canceller = None
        if isinstance(result, Failure):
            d.errback(result)
        elif isinstance(result, Deferred):
            result.chainDeferred(d)
        else:
            d.callback(result)

    def _cancel(self, d: Deferred) -> None:
        awaited = self.waiting_on
        if awaited is None:
            # Cancelled from inside the coroutine itself: fail now, and drop
            # the coroutine's eventual result.
            d._suppress_already_called = True
            return
        awaited.cancel()
        if not d.called:
            # The coroutine handled the cancellation and awaits something
            # else: d now follows its eventual result.
            self.deferred = Deferred(self._cancel)
            d._wait_on(self.deferred)


def ensureDeferred(coro: Deferred | Coroutine[Deferred, Any, Any] | Any) -> Deferred:
    """Return *coro* if it is a Deferred, else run it with ``Deferred.fromCoroutine``.

    Other awaitables are awaited in a coroutine; ``NotACoroutineError`` for
    anything that is not awaitable.
    """
    if isinstance(coro, Deferred):
        return coro
    if inspect.iscoroutine(coro) or inspect.isgenerator(coro):
        return Deferred.fromCoroutine(coro)
    if inspect.isawaitable(coro):

        async def await_it() -> Any:
            return await coro

        return Deferred.fromCoroutine(await_it())
    raise NotACoroutineError(f"{coro!r} is not a coroutine or a Deferred")


def inlineCallbacks(f: Callable[..., Generator]) -> Callable[..., Deferred]:  # noqa: N802
    """Decorate a generator function to run it like a coroutine; calls return Deferreds.

    ``result = yield d`` waits for the Deferred *d* (its Failure is raised
    at the ``yield``); yielding anything else sends it straight back.  The
    generator's ``return`` value fires the Deferred.
    """

    @functools.wraps(f)
    def run(*args: Any, **kw: Any) -> Deferred:
        try:
            gen = f(*args, **kw)
        except BaseException:
            return fail(Failure())
        if not inspect.isgenerator(gen):
            raise TypeError(f"inlineCallbacks requires {f!r} to produce a generator, got {gen!r}")
        return _Driver(gen, False).start()

    return run
