"""Deferred: a result that is not there yet, with Twisted's semantics.

A :class:`Deferred` holds a chain of (callback, errback) pairs and, once fired
with :meth:`~Deferred.callback` or :meth:`~Deferred.errback`, passes the result
down the chain: a callback's return value (or a :class:`~reactorsock.failure.Failure`
for an exception it raises) becomes the next result, and a Failure takes the
errback path.  A callback that returns a Deferred pauses the chain until that
one fires.  Deferreds are awaitable: coroutines run by :func:`ensureDeferred`
(or :meth:`Deferred.fromCoroutine`) ``await`` them, driven by this module
without asyncio (the driver, ``ensureDeferred`` and ``inlineCallbacks`` live
in ``_coroutine``, re-exported here; ``DeferredLock``, ``DeferredSemaphore``
and ``DeferredQueue`` live in ``_defersync``, also re-exported here).  This
module has no clock and no reactor; :meth:`addTimeout` takes any
``IReactorTime``.

Design notes
------------
- Chains run iteratively (Twisted's ``_runCallbacks`` algorithm): when a
  Deferred waits on an inner one, it appends a ``_continue`` marker to the
  inner one's callbacks, and the loop that reaches the marker moves on to
  the outer Deferred through an explicit stack.  10,000 nested Deferreds do
  not grow the Python stack.
- Unhandled errors: a chain that ends on a Failure gets a small
  ``_FailureLog`` record holding it; when the result stops being a Failure
  the record forgets it.  A record still holding a Failure when the Deferred
  is collected logs "Unhandled error in Deferred:" at ERROR on the
  ``reactorsock.defer`` logger.  Deferreds themselves have no ``__del__``,
  so the common case costs nothing.
- ``addTimeout`` errbacks with this module's :class:`TimeoutError`, a plain
  ``Exception`` as in Twisted (``twisted.internet.defer.TimeoutError``); it is
  not the builtin ``TimeoutError`` (an ``OSError``) and not
  ``reactorsock.error.TimeoutError`` (a failed connection attempt).
"""

from __future__ import annotations

import inspect
import logging
import types
from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import Any

from reactorsock.failure import Failure

__all__ = [
    "Deferred",
    "DeferredList",
    "succeed",
    "fail",
    "maybeDeferred",
    "gatherResults",
    "ensureDeferred",
    "inlineCallbacks",
    "passthru",
    "AlreadyCalledError",
    "CancelledError",
    "TimeoutError",
    "FirstError",
    "NotACoroutineError",
    "DeferredLock",
    "DeferredSemaphore",
    "DeferredQueue",
    "QueueOverflow",
    "QueueUnderflow",
]

_log = logging.getLogger("reactorsock.defer")


class AlreadyCalledError(Exception):
    """callback() or errback() was called on a Deferred that has already fired."""


class CancelledError(Exception):
    """The Deferred was cancelled (the errback of a cancel() without a canceller)."""


class TimeoutError(Exception):  # shadows the builtin on purpose: Twisted's defer.TimeoutError
    """A Deferred given a time limit by ``addTimeout`` did not fire in time.

    ``args`` is ``(timeout, "Deferred")``, as in Twisted.
    """

    def __str__(self) -> str:
        if len(self.args) == 2:
            return f"{self.args[1]} timed out after {self.args[0]} seconds"
        return super().__str__()


class FirstError(Exception):
    """A Deferred in a DeferredList (or gatherResults) failed first.

    ``subFailure`` is that Deferred's Failure and ``index`` its position.
    """

    def __init__(self, failure: Failure, index: int) -> None:
        super().__init__(failure, index)
        self.subFailure = failure
        self.index = index

    def __str__(self) -> str:
        return f"FirstError[#{self.index}, {self.subFailure}]"

    __repr__ = __str__


class NotACoroutineError(TypeError):
    """ensureDeferred or fromCoroutine got something that is not a coroutine."""


def passthru(arg: Any) -> Any:
    """Return *arg*: the missing half of a callback/errback pair."""
    return arg


def _continue(result: Any, waiting: Deferred) -> None:  # pragma: no cover - a marker
    """Mark a Deferred waiting on another one; never called, see ``_run_callbacks``."""
    raise AssertionError("_continue is a marker and is never called")


_PASS_ITEM = (passthru, (), None)


class _FailureLog:
    """Logs the Failure it still holds when the Deferred that owns it is collected."""

    __slots__ = ("failure",)

    def __init__(self) -> None:
        self.failure: Failure | None = None

    def __del__(self) -> None:
        failure = self.failure
        if failure is not None:
            try:
                _log.error("Unhandled error in Deferred:\n%s", failure.getTraceback().rstrip())
            except Exception:  # pragma: no cover - interpreter shutdown
                pass


class Deferred:
    """A result that will be available later; Twisted's ``Deferred``.

    Attributes: ``called`` (fired?), ``paused`` (pause depth; a Deferred
    waiting on an inner one counts as paused), ``result`` (the current result
    once fired, or the inner Deferred it is waiting on), ``callbacks`` (the
    pending (callback, errback) pairs).

    *canceller*, if given, is called with the Deferred by :meth:`cancel`; it
    may fire the Deferred itself, otherwise :class:`CancelledError` is used.
    """

    __slots__ = (
        "callbacks",
        "called",
        "paused",
        "result",
        "_canceller",
        "_chained_to",
        "_running_callbacks",
        "_suppress_already_called",
        "_debug_info",
        "__weakref__",
    )

    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, canceller: Callable[[Deferred], None] | None = None) -> None:
        self.callbacks: list[tuple[tuple, tuple]] = []
        self.called = False
        self.paused = 0
        self.result: Any = None
        self._canceller = canceller
        self._chained_to: Deferred | None = None
        self._running_callbacks = False
        self._suppress_already_called = False
        self._debug_info: _FailureLog | None = None

    # -- building the chain -------------------------------------------

    def addCallbacks(
        self,
        callback: Callable[..., Any],
        errback: Callable[..., Any] | None = None,
        callbackArgs: tuple = (),
        callbackKeywords: dict[str, Any] | None = None,
        errbackArgs: tuple = (),
        errbackKeywords: dict[str, Any] | None = None,
    ) -> Deferred:
        """Add a callback and an errback as one step of the chain; return self.

        The callback gets the result, the errback a Failure; exactly one of
        the two runs, with the extra arguments given.
        """
        if errback is None:
            errback = passthru
        if not (callable(callback) and callable(errback)):
            raise TypeError("callback and errback must be callable")
        self.callbacks.append(
            ((callback, callbackArgs, callbackKeywords), (errback, errbackArgs, errbackKeywords))
        )
        if self.called:
            self._run_callbacks()
        return self

    def addCallback(self, callback: Callable[..., Any], *args: Any, **kw: Any) -> Deferred:
        """Add a callback (called as ``callback(result, *args, **kw)``) only; return self."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {callback!r}")
        self.callbacks.append(((callback, args, kw), _PASS_ITEM))
        if self.called:
            self._run_callbacks()
        return self

    def addErrback(self, errback: Callable[..., Any], *args: Any, **kw: Any) -> Deferred:
        """Add an errback (called as ``errback(failure, *args, **kw)``) only; return self."""
        if not callable(errback):
            raise TypeError(f"errback must be callable, not {errback!r}")
        self.callbacks.append((_PASS_ITEM, (errback, args, kw)))
        if self.called:
            self._run_callbacks()
        return self

    def addBoth(self, callback: Callable[..., Any], *args: Any, **kw: Any) -> Deferred:
        """Add *callback* as both the callback and the errback of one step; return self."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {callback!r}")
        item = (callback, args, kw)
        self.callbacks.append((item, item))
        if self.called:
            self._run_callbacks()
        return self

    def chainDeferred(self, d: Deferred) -> Deferred:  # noqa: N802 -- Twisted's name
        """Fire *d* with this Deferred's result at this point of the chain; return self.

        This Deferred's result is passed on unchanged (and a Failure stays
        unhandled here); prefer returning *d* from a callback.
        """
        d._chained_to = self
        return self.addCallbacks(d.callback, d.errback)

    def addTimeout(
        self,
        timeout: float,
        clock: Any,
        onTimeoutCancel: Callable[[Any, float], Any] | None = None,
    ) -> Deferred:
        """Cancel this Deferred if it has not fired *timeout* seconds from now; return self.

        *clock* is any ``IReactorTime``.  On time-out the Deferred is
        cancelled, and the resulting :class:`CancelledError` Failure becomes
        a :class:`TimeoutError` (``args == (timeout, "Deferred")``), or
        whatever ``onTimeoutCancel(result, timeout)`` returns or raises.
        Firing in time cancels the timer.
        """
        timed_out = False

        def time_it_out() -> None:
            nonlocal timed_out
            timed_out = True
            self.cancel()

        delayed_call = clock.callLater(timeout, time_it_out)

        def convert_cancelled(result: Any) -> Any:
            if timed_out:
                return (onTimeoutCancel or _cancelled_to_timed_out)(result, timeout)
            return result

        def cancel_timer(result: Any) -> Any:
            if delayed_call.active():
                delayed_call.cancel()
            return result

        self.addBoth(convert_cancelled)
        return self.addBoth(cancel_timer)

    # -- firing ---------------------------------------------------------

    def callback(self, result: Any) -> None:
        """Fire with a success result; ``AlreadyCalledError`` if already fired.

        *result* must not be a Deferred (``TypeError``): return a Deferred
        from a callback to chain instead.
        """
        if isinstance(result, Deferred):
            raise TypeError("a Deferred cannot be fired with another Deferred; chain it instead")
        self._start(result)

    def errback(self, fail: Failure | BaseException | None = None) -> None:
        """Fire with a failure: a Failure, an exception, or None for the current exception.

        ``AlreadyCalledError`` if already fired; ``NoCurrentExceptionError``
        for None outside an ``except`` block.
        """
        if not isinstance(fail, Failure):
            fail = Failure(fail)
        self._start(fail)

    def _start(self, result: Any) -> None:
        if self.called:
            if self._suppress_already_called:
                # cancel() without a canceller eats the one late firing.
                self._suppress_already_called = False
                return
            raise AlreadyCalledError(f"{self!r} has already been fired")
        self.called = True
        self.result = result
        self._run_callbacks()

    def pause(self) -> None:
        """Stop running callbacks until a matching :meth:`unpause`."""
        self.paused += 1

    def unpause(self) -> None:
        """Undo one :meth:`pause`; runs pending callbacks when no pause is left."""
        self.paused -= 1
        if not self.paused and self.called:
            self._run_callbacks()

    def cancel(self) -> None:
        """Cancel the operation this Deferred stands for.

        If not yet fired: call the canceller; if that did not fire the
        Deferred (or there is none), errback with :class:`CancelledError`.
        When there is no canceller, one later callback()/errback() by the
        original producer is silently ignored.  If fired but waiting on an
        inner Deferred, cancel that one.  Otherwise do nothing.
        """
        if not self.called:
            canceller = self._canceller
            if canceller is not None:
                canceller(self)
            else:
                self._suppress_already_called = True
            if not self.called:
                self.errback(Failure(CancelledError()))
        elif isinstance(self.result, Deferred):
            self.result.cancel()

    def _wait_on(self, inner: Deferred) -> None:
        """Fire this (unfired) Deferred with *inner*'s eventual result."""
        self.called = True
        self.result = inner
        self.paused += 1
        self._chained_to = inner
        marker = (_continue, (self,), None)
        inner.callbacks.append((marker, marker))

    def _run_callbacks(self) -> None:
        if self._running_callbacks:
            # A callback added callbacks to (or unpaused) the Deferred whose
            # loop is running further up the stack; that loop picks them up.
            return
        chain = [self]
        while chain:
            current = chain[-1]
            if current.paused:
                # It will produce no result now; whatever waits on it waits on.
                chain.pop()
                continue
            finished = True
            current._chained_to = None
            callbacks = current.callbacks
            while callbacks:
                item = callbacks.pop(0)
                result = current.result
                callback, args, kw = item[1] if isinstance(result, Failure) else item[0]
                if callback is passthru:
                    continue
                if callback is _continue:
                    # Hand our result to the Deferred waiting on us and go on
                    # with it; our own remaining callbacks come after.
                    waiting = args[0]
                    waiting.result = result
                    current.result = None
                    if current._debug_info is not None:
                        current._debug_info.failure = None
                    waiting.paused -= 1
                    chain.append(waiting)
                    finished = False
                    break
                current._running_callbacks = True
                try:
                    result = callback(result, *args, **kw) if kw else callback(result, *args)
                except BaseException:
                    result = Failure()
                current._running_callbacks = False
                if isinstance(result, Deferred):
                    inner = result
                    if inner is current:
                        result = Failure(
                            TypeError(f"callback {callback!r} returned its own Deferred")
                        )
                    elif (
                        not inner.called
                        or inner.paused
                        or inner._running_callbacks
                        or isinstance(inner.result, Deferred)
                    ):
                        current.result = inner
                        current.paused += 1
                        current._chained_to = inner
                        marker = (_continue, (current,), None)
                        inner.callbacks.append((marker, marker))
                        break
                    else:
                        # The inner Deferred has its result already: take it.
                        result = inner.result
                        inner.result = None
                        if inner._debug_info is not None:
                            inner._debug_info.failure = None
                current.result = result
            if finished:
                result = current.result
                if isinstance(result, Failure):
                    result.cleanFailure()
                    if current._debug_info is None:
                        current._debug_info = _FailureLog()
                    current._debug_info.failure = result
                elif current._debug_info is not None:
                    current._debug_info.failure = None
                chain.pop()

    # -- coroutines -----------------------------------------------------

    def __await__(self) -> Generator[Deferred, Any, Any]:
        """``await d`` in a coroutine driven by :func:`ensureDeferred`.

        Gives the result, or raises the Failure's exception.  Awaiting a
        Deferred that has already fired continues at once.  Awaiting consumes
        the result: afterwards the Deferred's result is None.
        """
        if (
            not self.called
            or self.paused
            or self._running_callbacks
            or isinstance(self.result, Deferred)
        ):
            return (yield self)
        result = self.result
        self.result = None
        if isinstance(result, Failure):
            if self._debug_info is not None:
                self._debug_info.failure = None
            raise result.value.with_traceback(result.tb)
        return result

    @classmethod
    def fromCoroutine(cls, coro: Coroutine[Deferred, Any, Any] | Generator) -> Deferred:
        """Run *coro* until it ends; return a Deferred firing with its return value.

        The coroutine may ``await`` Deferreds (and awaitables built only on
        Deferreds); an exception it raises becomes the Deferred's Failure.
        Cancelling the returned Deferred cancels the Deferred being awaited.
        Each coroutine runs in its own copy of the current ``contextvars``
        context.  ``NotACoroutineError`` for anything but a coroutine or
        generator.
        """
        if inspect.iscoroutine(coro):
            return _Driver(coro, True).start()
        if inspect.isgenerator(coro):
            return _Driver(coro, False).start()
        raise NotACoroutineError(f"{coro!r} is not a coroutine")

    def __repr__(self) -> str:
        if self._chained_to is not None:
            state = f" waiting on Deferred at 0x{id(self._chained_to):x}"
        elif self.called:
            state = f" current result: {self.result!r}"
        else:
            state = ""
        return f"<{type(self).__name__} at 0x{id(self):x}{state}>"

    __str__ = __repr__


def _cancelled_to_timed_out(result: Any, timeout: float) -> Any:
    if isinstance(result, Failure):
        result.trap(CancelledError)
        raise TimeoutError(timeout, "Deferred")
    return result


def succeed(result: Any) -> Deferred:
    """Return a Deferred that has already fired with *result*."""
    d = Deferred()
    d.callback(result)
    return d


def fail(result: Failure | BaseException | None = None) -> Deferred:
    """Return a Deferred that has already failed with *result* (see ``Deferred.errback``)."""
    d = Deferred()
    d.errback(result)
    return d


def maybeDeferred(f: Callable[..., Any], *args: Any, **kw: Any) -> Deferred:
    """Call ``f(*args, **kw)`` and return its outcome as a Deferred.

    A Deferred is returned as is, a coroutine is run by :func:`ensureDeferred`,
    a Failure or a raised exception becomes a failed Deferred, and any other
    value a fired one.
    """
    try:
        result = f(*args, **kw)
    except BaseException:
        return fail(Failure())
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Failure):
        return fail(result)
    if inspect.iscoroutine(result):
        return Deferred.fromCoroutine(result)
    return succeed(result)


class DeferredList(Deferred):
    """A Deferred that fires when the Deferreds in a list have fired.

    Its result is a list of ``(success, result)`` pairs, in the order of the
    list.  With *fireOnOneCallback* it fires with ``(result, index)`` as soon
    as one succeeds; with *fireOnOneErrback* it errbacks with a
    :class:`FirstError` as soon as one fails.  With *consumeErrors* the
    Failures are handled here, so they are not reported as unhandled.
    Cancelling it cancels every Deferred in the list, unless it has fired.
    """

    def __init__(
        self,
        deferredList: Iterable[Deferred],
        fireOnOneCallback: bool = False,
        fireOnOneErrback: bool = False,
        consumeErrors: bool = False,
    ) -> None:
        super().__init__()
        self._deferreds = list(deferredList)
        self.resultList: list[tuple[bool, Any] | None] = [None] * len(self._deferreds)
        self.fireOnOneCallback = fireOnOneCallback
        self.fireOnOneErrback = fireOnOneErrback
        self.consumeErrors = consumeErrors
        self.finishedCount = 0
        if not self._deferreds and not fireOnOneCallback:
            self.callback(self.resultList)
        for index, d in enumerate(self._deferreds):
            d.addCallbacks(
                self._on_result,
                self._on_result,
                callbackArgs=(index, True),
                errbackArgs=(index, False),
            )

    def _on_result(self, result: Any, index: int, succeeded: bool) -> Any:
        self.resultList[index] = (succeeded, result)
        self.finishedCount += 1
        if not self.called:
            if succeeded and self.fireOnOneCallback:
                self.callback((result, index))
            elif not succeeded and self.fireOnOneErrback:
                self.errback(Failure(FirstError(result, index)))
            elif self.finishedCount == len(self.resultList):
                self.callback(self.resultList)
        if not succeeded and self.consumeErrors:
            return None
        return result

    def cancel(self) -> None:
        """Cancel every Deferred in the list, unless this DeferredList has fired."""
        if not self.called:
            for d in self._deferreds:
                try:
                    d.cancel()
                except Exception:
                    _log.exception("Exception raised from a canceller")


def _values(results: list[tuple[bool, Any]]) -> list[Any]:
    return [value for _, value in results]


def gatherResults(deferredList: Iterable[Deferred], consumeErrors: bool = False) -> Deferred:
    """Return a Deferred firing with the list of results, in order.

    It errbacks with a :class:`FirstError` wrapping the first Failure;
    *consumeErrors* as for :class:`DeferredList`.
    """
    d = DeferredList(deferredList, fireOnOneErrback=True, consumeErrors=consumeErrors)
    return d.addCallback(_values)


# The coroutine driver and the lock/semaphore/queue build on Deferred above,
# so they are imported last; this module is their public home.
from reactorsock._coroutine import _Driver, ensureDeferred, inlineCallbacks  # noqa: E402
from reactorsock._defersync import (  # noqa: E402
    DeferredLock,
    DeferredQueue,
    DeferredSemaphore,
    QueueOverflow,
    QueueUnderflow,
)
