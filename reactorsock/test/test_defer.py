"""Tests for reactorsock.defer."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import weakref

import pytest

from reactorsock import defer
from reactorsock.defer import (
    AlreadyCalledError,
    CancelledError,
    Deferred,
    DeferredList,
    FirstError,
    NotACoroutineError,
    ensureDeferred,
    fail,
    gatherResults,
    inlineCallbacks,
    maybeDeferred,
    succeed,
)
from reactorsock.failure import Failure
from reactorsock.task import Clock


def result_of(d: Deferred):
    """The success result of a fired Deferred (handling it)."""
    out = []
    d.addBoth(out.append)
    assert out, f"{d!r} has not fired"
    if isinstance(out[0], Failure):
        out[0].raiseException()
    return out[0]


def failure_of(d: Deferred, *types) -> Failure:
    """The Failure of a fired Deferred (handling it), checked against types."""
    out = []
    d.addBoth(out.append)
    assert out and isinstance(out[0], Failure), f"{d!r} did not fail: {out}"
    if types:
        assert out[0].check(*types), out[0]
    return out[0]


# -- callbacks and errbacks -------------------------------------------------


def test_callbacks_run_in_order_with_extra_args():
    calls = []
    d = Deferred()
    d.addCallback(lambda r, x, y=0: calls.append((r, x, y)) or r + 1, 10, y=20)
    d.addCallback(lambda r: calls.append(r) or r * 2)
    d.callback(1)
    assert calls == [(1, 10, 20), 2]
    assert d.called and d.result == 4
    d.addCallback(calls.append)  # added after firing: runs at once
    assert calls[-1] == 4


def test_switching_between_callback_and_errback_paths():
    trail = []

    def boom(r):
        trail.append(("cb", r))
        raise ValueError("boom")

    def recover(f):
        trail.append(("eb", f.getErrorMessage()))
        return "recovered"

    d = Deferred()
    d.addCallback(boom)
    d.addCallback(lambda r: trail.append("skipped"))
    d.addErrback(recover)
    d.addCallbacks(lambda r: trail.append(("cb2", r)), lambda f: trail.append("not this"))
    d.addCallback(lambda r: Failure(KeyError("k")))  # returning a Failure fails too
    d.addErrback(lambda f: trail.append(("eb2", f.type)))
    d.callback("go")
    assert trail == [("cb", "go"), ("eb", "boom"), ("cb2", "recovered"), ("eb2", KeyError)]


def test_add_callbacks_keyword_arguments():
    seen = []
    d = Deferred()
    d.addCallbacks(
        lambda r, a, k: seen.append((r, a, k)),
        lambda f: None,
        callbackArgs=(1,),
        callbackKeywords={"k": 2},
    )
    d.addCallbacks(
        lambda r: 1 / 0,
    )
    d.addCallbacks(
        lambda r: None,
        lambda f, a, k: seen.append((f.type, a, k)),
        errbackArgs=("x",),
        errbackKeywords={"k": "y"},
    )
    d.callback(0)
    assert seen == [(0, 1, 2), (ZeroDivisionError, "x", "y")]


def test_add_both():
    seen = []
    fail(ValueError()).addBoth(seen.append)
    succeed(3).addBoth(seen.append)
    assert seen[0].type is ValueError and seen[1] == 3


def test_errback_forms():
    d = Deferred()
    d.errback(ValueError("x"))
    assert failure_of(d, ValueError).getErrorMessage() == "x"
    try:
        raise KeyError("current")
    except KeyError:
        d = Deferred()
        d.errback()
    failure_of(d, KeyError)
    d = Deferred()
    d.errback(Failure(TypeError()))
    failure_of(d, TypeError)


def test_fired_twice_is_an_error():
    d = succeed(1)
    with pytest.raises(AlreadyCalledError):
        d.callback(2)
    with pytest.raises(AlreadyCalledError):
        d.errback(ValueError())


def test_callback_with_a_deferred_is_an_error():
    with pytest.raises(TypeError):
        Deferred().callback(Deferred())


def test_non_callable_rejected():
    with pytest.raises(TypeError):
        Deferred().addCallback(None)


def test_pause_and_unpause():
    seen = []
    d = Deferred()
    d.addCallback(seen.append)
    d.pause()
    d.callback(1)
    assert seen == []
    d.pause()
    d.unpause()
    assert seen == []
    d.unpause()
    assert seen == [1]


def test_callback_adding_callbacks_to_its_own_deferred():
    seen = []
    d = Deferred()

    def first(r):
        d.addCallback(lambda r2: seen.append(("late", r2)))
        return r + 1

    d.addCallback(first)
    d.callback(1)
    assert seen == [("late", 2)]


def test_chain_deferred():
    a, b = Deferred(), Deferred()
    a.chainDeferred(b)
    a.callback(7)
    assert result_of(b) == 7


def test_repr():
    d = Deferred()
    assert repr(d).startswith("<Deferred at 0x")
    d.callback(5)
    assert "current result: 5" in repr(d)
    assert Deferred[int] is not None  # generic alias for annotations


# -- chaining -----------------------------------------------------------------


def test_callback_returning_unfired_deferred_pauses_outer():
    inner = Deferred()
    outer = Deferred()
    seen = []
    outer.addCallback(lambda r: inner)
    outer.addCallback(seen.append)
    outer.callback(None)
    assert seen == [] and outer.paused
    assert "waiting on Deferred" in repr(outer)
    inner.callback("inner result")
    assert seen == ["inner result"] and not outer.paused
    assert inner.result is None  # the outer took it


def test_callback_returning_fired_deferred_takes_its_result():
    outer = succeed(1).addCallback(lambda r: succeed(r + 1))
    assert result_of(outer) == 2
    outer = succeed(1).addCallback(lambda r: fail(ValueError("inner")))
    assert failure_of(outer, ValueError).getErrorMessage() == "inner"


def test_failure_from_inner_deferred_goes_down_errback_path():
    inner = Deferred()
    outer = succeed(None).addCallback(lambda r: inner)
    inner.errback(KeyError("k"))
    failure_of(outer, KeyError)


def test_deep_nesting_does_not_recurse():
    n = 10_000
    ds = [Deferred() for _ in range(n + 1)]
    for i in range(n):
        ds[i].addCallback(lambda _, nxt=ds[i + 1]: nxt)
    for i in range(n):
        ds[i].callback(None)  # each now waits on the next
    seen = []
    ds[0].addCallback(seen.append)
    ds[n].callback("bottom")
    assert seen == ["bottom"]


def test_deep_nesting_in_the_other_order():
    # Each callback returns an already-chained Deferred: built bottom-up.
    n = 10_000
    bottom = Deferred()
    d = bottom
    for _ in range(n):
        outer = Deferred()
        outer.addCallback(lambda _, inner=d: inner)
        outer.callback(None)
        d = outer
    seen = []
    d.addCallback(seen.append)
    bottom.callback("x")
    assert seen == ["x"]


def test_long_callback_chain_on_one_deferred():
    d = Deferred()
    for _ in range(10_000):
        d.addCallback(lambda r: r + 1)
    d.callback(0)
    assert result_of(d) == 10_000


# -- cancellation -------------------------------------------------------------


def test_cancel_without_canceller_and_late_firing_is_ignored():
    d = Deferred()
    d.cancel()
    failure_of(d, CancelledError)
    d.callback("too late")  # eaten once
    with pytest.raises(AlreadyCalledError):
        d.callback("again")


def test_cancel_with_canceller():
    cancelled = []
    d = Deferred(cancelled.append)
    d.cancel()
    assert cancelled == [d]
    failure_of(d, CancelledError)
    with pytest.raises(AlreadyCalledError):
        d.callback(1)  # a real canceller means no suppression


def test_canceller_may_fire_the_deferred_itself():
    d = Deferred(lambda d: d.callback("cancelled nicely"))
    d.cancel()
    assert result_of(d) == "cancelled nicely"


def test_cancel_after_firing_does_nothing():
    d = succeed(1)
    d.cancel()
    assert result_of(d) == 1


def test_cancel_waiting_on_inner_cancels_inner():
    inner_cancelled = []
    inner = Deferred(inner_cancelled.append)
    outer = succeed(None).addCallback(lambda r: inner)
    outer.cancel()
    assert inner_cancelled == [inner]
    failure_of(outer, CancelledError)


def test_add_timeout_times_out():
    clock = Clock()
    d = Deferred().addTimeout(5, clock)
    clock.advance(4.9)
    assert not d.called
    clock.advance(0.1)
    f = failure_of(d, defer.TimeoutError)
    assert f.value.args == (5, "Deferred")
    assert "timed out after 5 seconds" in str(f.value)
    assert not clock.getDelayedCalls()


def test_add_timeout_fired_in_time_cancels_timer():
    clock = Clock()
    d = Deferred().addTimeout(5, clock)
    d.callback("ok")
    assert result_of(d) == "ok"
    assert clock.getDelayedCalls() == []


def test_add_timeout_custom_on_timeout_cancel():
    clock = Clock()
    d = Deferred().addTimeout(2, clock, onTimeoutCancel=lambda r, t: ("timed out", t))
    clock.advance(2)
    assert result_of(d) == ("timed out", 2)


def test_add_timeout_other_cancel_stays_cancelled():
    clock = Clock()
    d = Deferred().addTimeout(2, clock)
    d.cancel()
    failure_of(d, CancelledError)


# -- coroutines ---------------------------------------------------------------


def test_await_unfired_deferred():
    d = Deferred()

    async def main():
        return (await d) * 2

    r = ensureDeferred(main())
    assert not r.called
    d.callback(21)
    assert result_of(r) == 42
    assert d.result is None  # awaiting consumed it


def test_await_fired_deferreds_continues_synchronously():
    async def main():
        total = 0
        for i in range(10_000):
            total += await succeed(i)
        return total

    assert result_of(Deferred.fromCoroutine(main())) == sum(range(10_000))


def test_exceptions_propagate_as_failures_and_try_except_works():
    d1, d2 = Deferred(), Deferred()

    async def main():
        try:
            await d1
        except ValueError as e:
            caught = str(e)
        await d2
        return caught

    r = ensureDeferred(main())
    d1.errback(ValueError("first"))
    assert not r.called
    d2.errback(KeyError("second"))
    failure_of(r, KeyError)


def test_coroutine_raising_directly():
    async def main():
        raise RuntimeError("now")

    failure_of(ensureDeferred(main()), RuntimeError)


def test_nested_coroutines():
    d = Deferred()

    async def inner():
        return await d + 1

    async def outer():
        return await ensureDeferred(inner()) + 1

    r = ensureDeferred(outer())
    d.callback(1)
    assert result_of(r) == 3


def test_awaiting_an_asyncio_future_is_a_clear_error():
    loop = asyncio.new_event_loop()
    try:
        fut = loop.create_future()

        async def main():
            await fut

        f = failure_of(ensureDeferred(main()), TypeError)
        assert "asyncio" in f.getErrorMessage()
    finally:
        loop.close()


def test_cancel_coroutine_cancels_awaited_deferred():
    awaited_cancelled = []
    awaited = Deferred(awaited_cancelled.append)

    async def main():
        await awaited

    r = ensureDeferred(main())
    r.cancel()
    assert awaited_cancelled == [awaited]
    failure_of(r, CancelledError)


def test_coroutine_may_handle_cancellation_and_go_on():
    first, second = Deferred(), Deferred()

    async def main():
        try:
            await first
        except CancelledError:
            pass
        return await second

    r = ensureDeferred(main())
    r.cancel()
    assert not r.called or isinstance(r.result, Deferred)
    second.callback("went on")
    assert result_of(r) == "went on"


def test_ensure_deferred_passes_deferreds_and_rejects_others():
    d = Deferred()
    assert ensureDeferred(d) is d
    with pytest.raises(NotACoroutineError):
        ensureDeferred(42)
    with pytest.raises(NotACoroutineError):
        Deferred.fromCoroutine(lambda: None)


def test_coroutine_gets_its_own_context():
    var = contextvars.ContextVar("var", default="outer")
    d = Deferred()

    async def main():
        var.set("inner")
        await d
        return var.get()

    r = ensureDeferred(main())
    assert var.get() == "outer"
    d.callback(None)
    assert result_of(r) == "inner"


def test_inline_callbacks():
    d = Deferred()

    @inlineCallbacks
    def work(x):
        a = yield succeed(x)
        b = yield d
        c = yield "plain value"
        try:
            yield fail(ValueError("oops"))
        except ValueError:
            pass
        return (a, b, c)

    r = work(1)
    d.callback(2)
    assert result_of(r) == (1, 2, "plain value")

    @inlineCallbacks
    def not_a_generator():
        return 1

    with pytest.raises(TypeError):
        not_a_generator()


# -- helpers ------------------------------------------------------------------


def test_succeed_and_fail():
    assert result_of(succeed("x")) == "x"
    failure_of(fail(ValueError()), ValueError)


def test_maybe_deferred():
    assert result_of(maybeDeferred(lambda: 1)) == 1
    failure_of(maybeDeferred(lambda: 1 / 0), ZeroDivisionError)
    d = Deferred()
    assert maybeDeferred(lambda: d) is d
    failure_of(maybeDeferred(lambda: Failure(KeyError())), KeyError)

    async def coro(x):
        return x

    assert result_of(maybeDeferred(coro, 5)) == 5


def test_gather_results_in_order():
    a, b, c = Deferred(), Deferred(), Deferred()
    r = gatherResults([a, b, c])
    c.callback(3)
    a.callback(1)
    assert not r.called
    b.callback(2)
    assert result_of(r) == [1, 2, 3]
    assert result_of(gatherResults([])) == []


def test_gather_results_first_error(caplog):
    a, b = Deferred(), Deferred()
    r = gatherResults([a, b], consumeErrors=True)
    b.errback(KeyError("b"))
    f = failure_of(r, FirstError)
    assert f.value.index == 1 and f.value.subFailure.check(KeyError)
    a.errback(ValueError("later"))  # consumed: nothing is logged
    del a, b, f
    gc.collect()
    assert "Unhandled error" not in caplog.text


def test_gather_results_without_consume_errors_leaves_failure_unhandled():
    a = Deferred()
    r = gatherResults([a])
    a.errback(KeyError("k"))
    failure_of(r, FirstError)
    assert isinstance(a.result, Failure)
    a.addErrback(lambda f: None)


def test_gather_results_cancel_cancels_all():
    a, b = Deferred(), Deferred()
    r = gatherResults([a, b], consumeErrors=True)
    r.cancel()
    f = failure_of(r, FirstError)
    assert f.value.subFailure.check(CancelledError)


def test_deferred_list_plain():
    a, b = Deferred(), Deferred()
    dl = DeferredList([a, b], consumeErrors=True)
    b.errback(ValueError("b"))
    assert not dl.called
    a.callback("a")
    (ok_a, res_a), (ok_b, res_b) = result_of(dl)
    assert (ok_a, res_a) == (True, "a")
    assert ok_b is False and res_b.check(ValueError)
    assert result_of(DeferredList([])) == []


def test_deferred_list_fire_on_one_callback():
    a, b = Deferred(), Deferred()
    dl = DeferredList([a, b], fireOnOneCallback=True)
    b.callback("b")
    assert result_of(dl) == ("b", 1)
    a.callback("a")  # no AlreadyCalledError
    assert not DeferredList([], fireOnOneCallback=True).called


def test_deferred_list_fire_on_one_errback():
    a, b = Deferred(), Deferred()
    dl = DeferredList([a, b], fireOnOneErrback=True, consumeErrors=True)
    a.errback(KeyError("a"))
    assert failure_of(dl, FirstError).value.index == 0


def test_deferred_list_cancel():
    a, b = Deferred(), succeed("b")
    dl = DeferredList([a, b], consumeErrors=True)
    dl.cancel()
    [(ok_a, fa), (ok_b, rb)] = result_of(dl)
    assert not ok_a and fa.check(CancelledError) and (ok_b, rb) == (True, "b")


# -- unhandled errors ---------------------------------------------------------


def test_unhandled_error_logged_on_collection(caplog):
    caplog.set_level(logging.ERROR, logger="reactorsock.defer")

    def failing():
        raise ValueError("nobody handled me")

    d = maybeDeferred(failing)
    ref = weakref.ref(d)
    del d
    gc.collect()
    assert ref() is None
    [record] = [r for r in caplog.records if r.name == "reactorsock.defer"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("Unhandled error in Deferred:")
    assert "nobody handled me" in record.getMessage() and "in failing" in record.getMessage()


def _handle_errors_three_ways():
    d = fail(ValueError("handled"))
    d.addErrback(lambda f: None)
    d2 = fail(ValueError("awaited"))

    async def main():
        try:
            await d2
        except ValueError:
            return "ok"

    assert result_of(ensureDeferred(main())) == "ok"
    inner = fail(KeyError("taken by outer"))
    outer = succeed(None).addCallback(lambda _: inner)
    outer.addErrback(lambda f: None)


def test_handled_error_not_logged(caplog):
    caplog.set_level(logging.ERROR, logger="reactorsock.defer")
    _handle_errors_three_ways()
    gc.collect()
    assert caplog.records == []


def test_error_handled_later_not_logged(caplog):
    d = fail(ValueError("x"))
    d.addErrback(lambda f: "fine")
    del d
    gc.collect()
    assert "Unhandled error" not in caplog.text


def test_unhandled_error_of_coroutine_logged_without_cyclic_gc(caplog):
    """No reference cycle keeps a failed coroutine's Deferred alive."""

    async def main():
        raise KeyError("from a coroutine")

    gc.disable()
    try:
        ensureDeferred(main())
        assert "Unhandled error in Deferred" in caplog.text
    finally:
        gc.enable()


# -- DeferredLock, DeferredSemaphore, DeferredQueue -------------------------------


def test_lock_acquire_release_in_fifo_order():
    lock = defer.DeferredLock()
    assert not lock.locked
    first = lock.acquire()
    assert result_of(first) is lock and lock.locked
    order = []
    second = lock.acquire().addCallback(lambda _: order.append("second"))
    third = lock.acquire().addCallback(lambda _: order.append("third"))
    assert not second.called and not third.called
    lock.release()
    assert order == ["second"] and lock.locked
    lock.release()
    assert order == ["second", "third"] and lock.locked
    lock.release()
    assert not lock.locked


def test_lock_release_when_unlocked_is_an_error():
    with pytest.raises(RuntimeError):
        defer.DeferredLock().release()


def test_lock_run_holds_the_lock_until_the_deferred_fires():
    clock = Clock()
    lock = defer.DeferredLock()

    def slow(x, y=0):
        return _later(clock, 1, x + y)

    got = []
    first = lock.run(slow, 1, y=2).addCallback(lambda r: got.append(r) or r)
    second = lock.run(got.append, "second")
    assert lock.locked and got == []
    clock.advance(1)
    # As in Twisted, the lock is released before run()'s Deferred gets the result.
    assert got == ["second", 3] and result_of(first) == 3
    result_of(second)
    assert not lock.locked


def _later(clock, delay, value):
    d = Deferred()
    clock.callLater(delay, d.callback, value)
    return d


def test_lock_run_releases_on_failure():
    lock = defer.DeferredLock()
    failure_of(lock.run(lambda: 1 / 0), ZeroDivisionError)
    assert not lock.locked
    failure_of(lock.run(lambda: fail(KeyError("x"))), KeyError)
    assert not lock.locked


def test_lock_cancel_pending_acquire():
    lock = defer.DeferredLock()
    lock.acquire()
    waiter = lock.acquire()
    after = lock.acquire()
    waiter.cancel()
    failure_of(waiter, CancelledError)
    lock.release()
    assert result_of(after) is lock and lock.locked  # the cancelled waiter was skipped
    lock.release()
    assert not lock.locked and not lock.waiting


def test_lock_cancel_after_acquired_does_nothing():
    lock = defer.DeferredLock()
    d = lock.acquire()
    d.cancel()
    assert result_of(d) is lock and lock.locked


def test_lock_cancel_a_pending_run_does_not_call_the_function():
    lock = defer.DeferredLock()
    lock.acquire()
    called = []
    d = lock.run(called.append, "x")
    d.cancel()
    failure_of(d, CancelledError)
    lock.release()
    assert called == [] and not lock.locked


def test_lock_async_with():
    lock = defer.DeferredLock()
    seen = []

    async def main():
        async with lock:
            seen.append(lock.locked)
        return lock.locked

    assert result_of(ensureDeferred(main())) is False
    assert seen == [True]


def test_lock_handoff_to_many_synchronous_waiters_does_not_recurse():
    """Each release hands over in a loop, not by nesting: 5000 waiters fit the stack."""
    lock = defer.DeferredLock()
    lock.acquire()
    done = [lock.run(lambda i=i: i) for i in range(5000)]
    lock.release()
    assert [result_of(d) for d in done] == list(range(5000))
    assert not lock.locked


def test_lock_acquire_during_handoff_waits_its_turn():
    """A waiter that acquires again from its callback goes behind the others (no barging)."""
    lock = defer.DeferredLock()
    lock.acquire()
    order = []

    def first(_):
        order.append("a")
        lock.release()
        lock.acquire().addCallback(lambda _: order.append("a again"))

    lock.acquire().addCallback(first)
    lock.acquire().addCallback(lambda _: order.append("b"))
    lock.release()
    assert order == ["a", "b"]
    lock.release()
    assert order == ["a", "b", "a again"]


def test_semaphore_limits_concurrency():
    clock = Clock()
    sem = defer.DeferredSemaphore(2)
    assert sem.tokens == 2 and sem.limit == 2
    running = []
    peak = []

    def job(i):
        running.append(i)
        peak.append(len(running))
        d = _later(clock, 1, i)
        return d.addCallback(lambda r: running.remove(i) or r)

    results = [sem.run(job, i) for i in range(5)]
    assert sem.tokens == 0 and len(sem.waiting) == 3
    for _ in range(3):
        clock.advance(1)
    assert [result_of(d) for d in results] == list(range(5))
    assert max(peak) == 2 and sem.tokens == 2 and not sem.waiting


def test_semaphore_rejects_bad_tokens_and_over_release():
    with pytest.raises(ValueError):
        defer.DeferredSemaphore(0)
    sem = defer.DeferredSemaphore(1)
    with pytest.raises(RuntimeError):
        sem.release()
    sem.acquire()
    sem.release()
    assert sem.tokens == 1


def test_semaphore_cancel_pending_acquire():
    sem = defer.DeferredSemaphore(1)
    sem.acquire()
    waiter = sem.acquire()
    waiter.cancel()
    failure_of(waiter, CancelledError)
    assert not sem.waiting
    sem.release()
    assert sem.tokens == 1


def test_queue_put_then_get_and_get_then_put():
    q = defer.DeferredQueue()
    q.put(1)
    q.put(2)
    assert result_of(q.get()) == 1
    assert result_of(q.get()) == 2
    waiter = q.get()
    assert not waiter.called and len(q.waiting) == 1
    q.put(3)
    assert result_of(waiter) == 3 and not q.pending and not q.waiting


def test_queue_size_overflow_and_backlog_underflow():
    q = defer.DeferredQueue(size=1, backlog=1)
    q.put("a")
    with pytest.raises(defer.QueueOverflow):
        q.put("b")
    assert result_of(q.get()) == "a"
    q.get()
    with pytest.raises(defer.QueueUnderflow):
        q.get()


def test_queue_cancel_pending_get():
    q = defer.DeferredQueue(backlog=1)
    cancelled = q.get()
    cancelled.cancel()
    failure_of(cancelled, CancelledError)
    assert not q.waiting
    live = q.get()  # the backlog slot is free again
    q.put("x")
    assert result_of(live) == "x"


def test_queue_waiters_served_in_order():
    q = defer.DeferredQueue()
    got = []
    for i in range(3):
        q.get().addCallback(lambda v, i=i: got.append((i, v)))
    for v in "abc":
        q.put(v)
    assert got == [(0, "a"), (1, "b"), (2, "c")]


def test_sync_primitives_are_exported():
    for name in (
        "DeferredLock",
        "DeferredSemaphore",
        "DeferredQueue",
        "QueueOverflow",
        "QueueUnderflow",
    ):
        assert name in defer.__all__ and getattr(defer, name).__module__ in (
            "reactorsock.defer",
            "reactorsock._defersync",
        )
