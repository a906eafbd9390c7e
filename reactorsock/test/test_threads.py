"""Tests for ``reactorsock.threads`` and ``reactorsock.threadpool``, on every backend."""

from __future__ import annotations

import logging
import threading
import time

import pytest

import reactorsock.reactor
from reactorsock import error, threads
from reactorsock.defer import Deferred
from reactorsock.test._util import iterate_until, run_until
from reactorsock.threadpool import ThreadPool


class Boom(Exception):
    pass


def raise_boom(message: str = "boom") -> None:
    raise Boom(message)


def pool_threads_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "-pool-" in t.name]


# -- deferToThread ---------------------------------------------------------------


def test_reactor_defer_to_thread_result(reactor):
    d = reactor.deferToThread(lambda a, b=0: (a + b, threading.current_thread()), 2, b=3)
    value, thread = run_until(reactor, d)
    assert value == 5
    assert thread is not threading.current_thread()


def test_reactor_defer_to_thread_failure(reactor):
    with pytest.raises(Boom, match="in a thread"):
        run_until(reactor, reactor.deferToThread(raise_boom, "in a thread"))


def test_defer_to_thread_pool(reactor):
    pool = reactor.getThreadPool()
    d = threads.deferToThreadPool(reactor, pool, lambda: threading.current_thread().name)
    assert run_until(reactor, d).startswith("reactorsock-pool-")
    with pytest.raises(Boom):
        run_until(reactor, threads.deferToThreadPool(reactor, pool, raise_boom))


def test_defer_to_thread_pool_fires_in_the_loop_thread(reactor):
    seen = []
    d = threads.deferToThreadPool(reactor, reactor.getThreadPool(), time.sleep, 0.01)
    d.addCallback(lambda _: seen.append(threading.current_thread()))
    run_until(reactor, d)
    assert seen == [threading.current_thread()]


def test_module_defer_to_thread_uses_the_default_reactor(reactor, monkeypatch):
    monkeypatch.setattr(reactorsock.reactor, "_default", reactor)
    assert run_until(reactor, threads.deferToThread(pow, 2, 10)) == 1024
    with pytest.raises(Boom):
        run_until(reactor, threads.deferToThread(raise_boom))


# -- blockingCallFromThread ---------------------------------------------------------


def in_worker(reactor, f, *args):
    """Run f(*args) in a pool thread; a Deferred of (ok, result-or-exception)."""

    def call():
        try:
            return True, f(*args)
        except BaseException as e:
            return False, e

    return reactor.deferToThread(call)


def test_blocking_call_from_thread_returns_the_result(reactor):
    def in_loop(x):
        return x * 2, threading.current_thread()

    ok, (value, thread) = run_until(
        reactor, in_worker(reactor, threads.blockingCallFromThread, reactor, in_loop, 21)
    )
    assert ok and value == 42
    assert thread is threading.current_thread()  # it ran in the loop


def test_blocking_call_from_thread_raises_the_exception(reactor):
    ok, exc = run_until(
        reactor, in_worker(reactor, threads.blockingCallFromThread, reactor, raise_boom, "loop")
    )
    assert not ok and isinstance(exc, Boom) and str(exc) == "loop"


def test_blocking_call_from_thread_waits_for_a_deferred(reactor):
    def in_loop():
        d = Deferred()
        reactor.callLater(0.05, d.callback, "later")
        return d

    started = time.monotonic()
    ok, value = run_until(
        reactor, in_worker(reactor, threads.blockingCallFromThread, reactor, in_loop)
    )
    assert ok and value == "later"
    assert time.monotonic() - started >= 0.04


def test_blocking_call_from_thread_raises_a_deferreds_failure(reactor):
    def in_loop():
        d = Deferred()
        reactor.callLater(0.01, d.errback, Boom("deferred failed"))
        return d

    ok, exc = run_until(
        reactor, in_worker(reactor, threads.blockingCallFromThread, reactor, in_loop)
    )
    assert not ok and isinstance(exc, Boom) and str(exc) == "deferred failed"


def test_blocking_call_from_the_loop_thread_is_refused(reactor):
    caught = []

    def in_loop():
        try:
            threads.blockingCallFromThread(reactor, lambda: None)
        except RuntimeError as e:
            caught.append(e)
        reactor.stop()

    reactor.callWhenRunning(in_loop)
    reactor.callLater(5, reactor.crash)  # bound the run if stop() never comes
    reactor.run(installSignalHandlers=False)
    assert len(caught) == 1 and "own thread" in str(caught[0])


def test_blocking_call_from_an_iterated_loop_thread_is_refused(reactor):
    """A reactor that is only iterated, never run, still knows its loop thread."""
    caught = []

    def in_loop():
        try:
            threads.blockingCallFromThread(reactor, lambda: None)
        except RuntimeError as e:
            caught.append(e)

    # Bound the test: if the call waits, fail it (with ReactorNotRunning) after 5s.
    watchdog = threading.Timer(5, reactor._release_blocked_threads)
    watchdog.start()
    try:
        reactor.callLater(0, in_loop)
        iterate_until(reactor, lambda: caught)
    finally:
        watchdog.cancel()
    assert len(caught) == 1 and "own thread" in str(caught[0]), caught


def run_in_a_thread(reactor) -> threading.Thread:
    """Run reactor in a daemon thread, so a deadlocked shutdown cannot hang the test run."""
    loop = threading.Thread(target=reactor.run, args=(False,), daemon=True)
    loop.start()
    return loop


def test_shutdown_releases_a_worker_blocked_on_the_loop(reactor):
    """Shutdown joins the pool; a worker waiting in blockingCallFromThread must not stall it."""
    outcome = []

    def in_loop():
        reactor.stop()  # while the worker waits for the Deferred below
        return Deferred()  # never fires

    def worker():
        try:
            outcome.append(threads.blockingCallFromThread(reactor, in_loop))
        except Exception as e:
            outcome.append(e)

    reactor.callWhenRunning(reactor.callInThread, worker)
    loop = run_in_a_thread(reactor)
    loop.join(10)
    assert not loop.is_alive(), "shutdown deadlocked joining a worker blocked on the loop"
    assert len(outcome) == 1 and isinstance(outcome[0], error.ReactorNotRunning)


def test_blocking_call_after_shutdown_began_is_refused(reactor):
    """A worker that calls into the loop while shutdown joins the pool gets an error at once."""
    outcome = []
    shutting_down = threading.Event()

    def worker():
        shutting_down.wait(10)
        try:
            outcome.append(threads.blockingCallFromThread(reactor, lambda: "ran"))
        except Exception as e:
            outcome.append(e)

    def start():
        reactor.callInThread(worker)
        reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("during", "shutdown", shutting_down.set)
    loop = run_in_a_thread(reactor)
    loop.join(10)
    assert not loop.is_alive(), "shutdown deadlocked joining a worker blocked on the loop"
    assert len(outcome) == 1 and isinstance(outcome[0], error.ReactorNotRunning)


# -- the reactor's pool ---------------------------------------------------------------


def test_get_thread_pool_is_one_started_pool(reactor):
    pool = reactor.getThreadPool()
    assert isinstance(pool, ThreadPool)
    assert pool.started and not pool.joined
    assert reactor.getThreadPool() is pool


def concurrency(reactor, jobs: int, duration: float = 0.03) -> int:
    """Run jobs sleeping jobs in the reactor's pool; the most that ran at once."""
    lock = threading.Lock()
    running = [0]
    peak = [0]
    done = []

    def job() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(duration)
        with lock:
            running[0] -= 1
        reactor.callFromThread(done.append, 1)

    for _ in range(jobs):
        reactor.callInThread(job)
    iterate_until(reactor, lambda: len(done) == jobs)
    return peak[0]


def test_suggest_thread_pool_size_bounds_concurrency(reactor):
    reactor.suggestThreadPoolSize(3)
    assert concurrency(reactor, 12) == 3
    assert len(reactor.getThreadPool().threads) <= 3


def test_suggest_thread_pool_size_shrinks_a_running_pool(reactor):
    assert concurrency(reactor, 8) > 2  # default bound is 10
    reactor.suggestThreadPoolSize(2)
    assert concurrency(reactor, 8) <= 2
    iterate_until(reactor, lambda: len(reactor.getThreadPool().threads) <= 2)


def test_suggest_thread_pool_size_grows_a_running_pool(reactor):
    reactor.suggestThreadPoolSize(1)
    assert concurrency(reactor, 4) == 1
    reactor.suggestThreadPoolSize(4)
    assert concurrency(reactor, 8) == 4


def test_pool_stops_cleanly_on_reactor_shutdown(reactor):
    before = set(pool_threads_alive())
    finished = []
    pools = []

    def job(i: int) -> None:
        time.sleep(0.02)
        finished.append(i)

    def start() -> None:
        pools.append(reactor.getThreadPool())
        for i in range(6):
            reactor.callInThread(job, i)
        reactor.stop()

    reactor.callWhenRunning(start)
    reactor.callLater(5, reactor.crash)
    reactor.run(installSignalHandlers=False)
    pool = pools[0]
    assert sorted(finished) == list(range(6))  # queued work finished first
    assert pool.joined and not pool.started
    assert pool.threads == []
    assert set(pool_threads_alive()) <= before
    assert reactor._thread_pool is None
    # Nothing would stop a new pool now: the reactor refuses to build one.
    with pytest.raises(error.ReactorNotRunning):
        reactor.callInThread(job, 99)
    assert reactor._thread_pool is None and set(pool_threads_alive()) <= before


def test_threads_after_shutdown_are_refused_not_leaked(reactor):
    """With no pool before shutdown, a later callInThread must not build one nothing stops."""
    before = set(pool_threads_alive())
    reactor.callWhenRunning(reactor.stop)
    reactor.callLater(5, reactor.crash)
    reactor.run(installSignalHandlers=False)
    ran = threading.Event()
    with pytest.raises(error.ReactorNotRunning):
        reactor.callInThread(ran.set)
    with pytest.raises(error.ReactorNotRunning):
        reactor.getThreadPool()
    with pytest.raises(error.ReactorNotRunning):
        reactor.deferToThread(ran.set)
    with pytest.raises(error.ReactorNotRunning):  # the Deferred API fails its Deferred instead
        run_until(reactor, reactor.resolve("localhost"))
    assert reactor._thread_pool is None and not ran.is_set()
    assert set(pool_threads_alive()) <= before


# -- ThreadPool itself -------------------------------------------------------------------


def test_pool_results_and_failures_reach_on_result():
    pool = ThreadPool(0, 2, "unit")
    results = []
    done = threading.Event()

    def on_result(ok, result):
        results.append((ok, result))
        if len(results) == 2:
            done.set()

    pool.start()
    try:
        pool.callInThreadWithCallback(on_result, lambda: "fine")
        pool.callInThreadWithCallback(on_result, raise_boom, "bad")
        assert done.wait(5)
    finally:
        pool.stop()
    by_ok = dict(results)
    assert by_ok[True] == "fine"
    assert by_ok[False].check(Boom) and by_ok[False].getErrorMessage() == "bad"
    assert pool.threads == []


def test_pool_jobs_queued_before_start_run_after_it():
    pool = ThreadPool(0, 3, "unit")
    ran = threading.Event()
    pool.callInThread(ran.set)
    assert not ran.wait(0.05)
    pool.start()
    try:
        assert ran.wait(5)
    finally:
        pool.stop()


def test_pool_starts_min_threads_and_never_exceeds_max():
    pool = ThreadPool(2, 2, "unit")
    pool.start()
    try:
        assert len(pool.threads) == 2
        gate = threading.Event()
        for _ in range(5):
            pool.callInThread(gate.wait, 5)
        assert len(pool.threads) == 2
        gate.set()
    finally:
        pool.stop()
    assert pool.threads == []


def test_pool_refuses_work_after_stop():
    pool = ThreadPool(0, 1, "unit")
    pool.start()
    pool.stop()
    with pytest.raises(RuntimeError):
        pool.callInThread(lambda: None)


class StopBeforeLock:
    """Wraps a pool's lock; the caller thread's first acquire runs pool.stop() first.

    This replays the race deterministically: a callInThread that passed its
    "stopped?" check just as stop() ran on another thread.
    """

    def __init__(self, pool: ThreadPool, caller: threading.Thread) -> None:
        self.lock = pool._lock
        self.pool = pool
        self.caller = caller
        self.armed = False

    def __enter__(self):
        if self.armed and threading.current_thread() is self.caller:
            self.armed = False
            self.pool.stop()
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


@pytest.mark.parametrize("minthreads", [0, 1])
def test_pool_call_racing_stop_runs_or_raises(minthreads):
    """A job queued while stop() runs either runs or raises; it is never stranded."""
    pool = ThreadPool(minthreads, 2, "unit")
    race = pool._lock = StopBeforeLock(pool, threading.current_thread())
    pool.start()
    ran = threading.Event()
    race.armed = True
    try:
        pool.callInThread(ran.set)
    except RuntimeError as e:
        assert "stopped" in str(e)
        assert not ran.is_set()
    else:
        assert ran.wait(5), "the job was queued behind stop() and never ran"
    finally:
        race.armed = False
        pool.stop()
    assert not race.armed, "the race was not replayed"
    assert pool.threads == []


@pytest.mark.parametrize(("lo", "hi"), [(-1, 1), (0, 0), (3, 2)])
def test_pool_rejects_bad_sizes(lo, hi):
    with pytest.raises(ValueError):
        ThreadPool(lo, hi)
    pool = ThreadPool(0, 1)
    with pytest.raises(ValueError):
        pool.adjustPoolsize(lo, hi)


def test_pool_logs_errors_of_call_in_thread(caplog):
    pool = ThreadPool(0, 1, "unit")
    pool.start()
    with caplog.at_level(logging.ERROR, logger="reactorsock.threadpool"):
        pool.callInThread(raise_boom, "logged, not lost")
        pool.stop()
    assert "logged, not lost" in caplog.text


def test_pool_shrunk_twice_while_busy_still_serves_queued_work():
    """Two quick shrinks must not send more stop tokens than there are surplus threads."""
    pool = ThreadPool(0, 3, "unit")
    pool.start()
    gate = threading.Event()
    try:
        for _ in range(3):
            pool.callInThread(gate.wait, 5)
        assert len(pool.threads) == 3
        pool.adjustPoolsize(maxthreads=2)
        pool.adjustPoolsize(maxthreads=1)
        ran = threading.Event()
        pool.callInThread(ran.set)
        gate.set()
        assert ran.wait(5), "the job queued behind the stop tokens was stranded"
    finally:
        gate.set()
        pool.stop()
    assert pool.threads == []
