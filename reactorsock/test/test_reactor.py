"""Tests for the reactor core on every backend: time, triggers, threads, fd sets, signals."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from zope.interface.verify import verifyObject

from reactorsock import error
from reactorsock.defer import Deferred
from reactorsock.interfaces import (
    IDelayedCall,
    IReactorCore,
    IReactorFDSet,
    IReactorThreads,
    IReactorTime,
)
from reactorsock.reactor import _uninstall as uninstall_default
from reactorsock.reactor import get_reactor, install, new_reactor
from reactorsock.test._util import iterate_until, run_until
from reactorsock.threads import blockingCallFromThread


@pytest.mark.parametrize("iface", [IReactorCore, IReactorTime, IReactorFDSet, IReactorThreads])
def test_provides(reactor, iface):
    assert verifyObject(iface, reactor)


def test_delayed_call_provides(reactor):
    dc = reactor.callLater(1, lambda: None)
    assert verifyObject(IDelayedCall, dc)
    dc.cancel()


def test_backend_named(reactor, request):
    assert reactor.backend == request.node.callspec.params["reactor"]


# -- construction ------------------------------------------------------------


def test_unknown_backend_names_choices():
    with pytest.raises(ValueError, match="epoll, poll, select"):
        new_reactor("kqueue")


def test_environment_chooses_backend(monkeypatch):
    monkeypatch.setenv("REACTORSOCK_REACTOR", "select")
    r = new_reactor()
    try:
        assert r.backend == "select"
    finally:
        r.close()


def test_install_and_get_reactor(monkeypatch):
    uninstall_default()
    try:
        r = install("poll")
        assert get_reactor() is r
        with pytest.raises(RuntimeError, match="already installed"):
            install("select")
    finally:
        uninstall_default()
        r.close()


def test_install_an_existing_reactor():
    uninstall_default()
    r = new_reactor("select")
    try:
        assert install(r) is r and get_reactor() is r
    finally:
        uninstall_default()
        r.close()


def test_get_reactor_inside_run_is_the_running_reactor(reactor):
    """Defaults (LoopingCall.clock, deferToThread...) land on the reactor that runs."""
    uninstall_default()
    seen = []

    def started():
        seen.append(get_reactor())
        reactor.stop()

    reactor.callWhenRunning(started)
    reactor.run(installSignalHandlers=False)
    assert seen == [reactor]
    with pytest.warns(RuntimeWarning, match="not running in this thread"):
        default = get_reactor()  # outside run(): the process default, made now
    try:
        assert default is not reactor
    finally:
        uninstall_default()
        default.close()


def test_looping_call_default_clock_is_the_running_reactor(reactor):
    from reactorsock.task import LoopingCall

    ticks = []

    def tick():
        ticks.append(reactor.seconds())
        if len(ticks) == 3:
            loop.stop()
            reactor.stop()

    loop = LoopingCall(tick)
    reactor.callWhenRunning(loop.start, 0.01)
    watchdog = reactor.callLater(5, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert len(ticks) == 3 and loop.clock is reactor
    assert watchdog.active()
    watchdog.cancel()


# -- run / stop / crash ------------------------------------------------------


def test_run_stop_and_triggers_in_order(reactor):
    seen = []
    for event in ("startup", "shutdown"):
        for phase in ("after", "during", "before"):
            reactor.addSystemEventTrigger(phase, event, seen.append, (phase, event))
    reactor.callWhenRunning(lambda: seen.append(("running", reactor.running)))
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert seen == [
        ("before", "startup"),
        ("during", "startup"),
        ("after", "startup"),
        ("running", True),
        ("before", "shutdown"),
        ("during", "shutdown"),
        ("after", "shutdown"),
    ]
    assert not reactor.running


def test_before_shutdown_deferred_holds_shutdown(reactor):
    seen = []
    held = Deferred()

    def before():
        seen.append("before")
        reactor.callLater(0.05, held.callback, None)
        return held

    reactor.addSystemEventTrigger("before", "shutdown", before)
    reactor.addSystemEventTrigger(
        "during", "shutdown", lambda: seen.append(("during", held.called))
    )
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert seen == ["before", ("during", True)]


def test_remove_system_event_trigger(reactor):
    seen = []
    handle = reactor.addSystemEventTrigger("before", "startup", seen.append, 1)
    reactor.removeSystemEventTrigger(handle)
    with pytest.raises(ValueError):
        reactor.removeSystemEventTrigger(handle)
    with pytest.raises(ValueError):
        reactor.addSystemEventTrigger("sometime", "startup", seen.append)
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert seen == []


def test_before_trigger_added_while_before_runs_runs_once(reactor):
    seen = []

    def first():
        seen.append("first")
        reactor.addSystemEventTrigger("before", "shutdown", seen.append, "added")

    reactor.addSystemEventTrigger("before", "shutdown", first)
    reactor.addSystemEventTrigger("during", "shutdown", seen.append, "during")
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert seen == ["first", "added", "during"]


def test_triggers_added_or_removed_while_their_phase_runs(reactor):
    """As in Twisted: one added to the running phase runs in it; one removed early does not."""
    seen = []
    handles = {}

    def first():
        seen.append("first")
        reactor.removeSystemEventTrigger(handles["removed"])
        reactor.addSystemEventTrigger("during", "shutdown", seen.append, "added")

    reactor.addSystemEventTrigger("during", "shutdown", first)
    handles["removed"] = reactor.addSystemEventTrigger(
        "during", "shutdown", seen.append, "removed"
    )
    reactor.addSystemEventTrigger("after", "shutdown", seen.append, "after")
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert seen == ["first", "added", "after"]


def test_removing_a_fired_before_trigger_while_before_runs(reactor):
    done = []
    handles = []

    def second():
        reactor.removeSystemEventTrigger(handles[0])  # already ran: not an error
        done.append("second")

    handles.append(reactor.addSystemEventTrigger("before", "shutdown", done.append, "first"))
    reactor.addSystemEventTrigger("before", "shutdown", second)
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert done == ["first", "second"]
    with pytest.raises(ValueError):
        reactor.removeSystemEventTrigger(handles[0])


def test_stop_when_not_running(reactor):
    with pytest.raises(error.ReactorNotRunning):
        reactor.stop()
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    with pytest.raises(error.ReactorNotRunning):
        reactor.stop()
    with pytest.raises(error.ReactorNotRestartable):
        reactor.run(installSignalHandlers=False)


def test_crash_skips_shutdown_triggers(reactor):
    seen = []
    reactor.addSystemEventTrigger("before", "shutdown", seen.append, "shutdown")
    reactor.callWhenRunning(reactor.crash)
    reactor.run(installSignalHandlers=False)
    assert seen == [] and not reactor.running


def test_call_when_running_while_running_calls_now(reactor):
    seen = []

    def started():
        assert reactor.callWhenRunning(seen.append, "now") is None
        seen.append("after")
        reactor.stop()

    reactor.callWhenRunning(started)
    reactor.run(installSignalHandlers=False)
    assert seen == ["now", "after"]


# -- timed calls -------------------------------------------------------------


def test_timed_calls_fire_in_order_and_never_early(reactor):
    fired = []
    start = reactor.seconds()
    delays = [0.03, 0.0, 0.05, 0.01, 0.03, 0.02, 0.0]
    for i, delay in enumerate(delays):
        reactor.callLater(
            delay, lambda i=i, delay=delay: fired.append((i, delay, reactor.seconds()))
        )
    reactor.callLater(0.08, reactor.stop)
    reactor.callWhenRunning(lambda: None)
    reactor.run(installSignalHandlers=False)
    order = [i for i, _, _ in fired]
    # By due time; equal due times in scheduling order.
    assert order == sorted(range(len(delays)), key=lambda i: (delays[i], i))
    for _, delay, when in fired:
        assert when - start >= delay


def test_cancelled_calls_never_fire(reactor):
    fired = []
    calls = [reactor.callLater(0.01, fired.append, i) for i in range(200)]
    for dc in calls[::2]:
        dc.cancel()
    reactor.callLater(0.05, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert fired == list(range(1, 200, 2))
    with pytest.raises(error.AlreadyCancelled):
        calls[0].cancel()
    with pytest.raises(error.AlreadyCalled):
        calls[1].cancel()
    assert not calls[0].active() and not calls[1].active()


def test_raising_callback_is_logged_and_loop_goes_on(reactor, caplog):
    fired = []

    def boom():
        raise ZeroDivisionError("boom in a timed call")

    reactor.callLater(0, boom)
    reactor.callLater(0, fired.append, "next")
    reactor.callLater(0.01, reactor.stop)
    with caplog.at_level(logging.ERROR, logger="reactorsock.reactor"):
        reactor.run(installSignalHandlers=False)
    assert fired == ["next"]
    assert "boom in a timed call" in caplog.text


def test_reset_and_delay_move_calls(reactor):
    fired = []
    a = reactor.callLater(0.01, fired.append, "a")
    b = reactor.callLater(0.02, fired.append, "b")
    a.reset(0.04)
    b.delay(0.01)  # now due at +0.03
    assert sorted(reactor.getDelayedCalls(), key=lambda dc: dc.getTime()) == [b, a]
    reactor.callLater(0.06, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert fired == ["b", "a"]
    assert reactor.getDelayedCalls() == []


def test_many_resets_do_not_grow_the_heap_without_bound(reactor):
    dc = reactor.callLater(10, lambda: None)
    for _ in range(10_000):
        dc.reset(10)
    assert reactor.getDelayedCalls() == [dc]
    assert len(reactor._pending) < 200
    dc.cancel()


def test_heap_compaction_inside_a_timed_call_runs_nothing_twice(reactor):
    """A due call that cancels many others compacts the heap while the loop walks it."""
    fired = []
    victims = [reactor.callLater(10, fired.append, "victim") for _ in range(200)]

    def cancel_them():
        fired.append("canceller")
        for dc in victims:
            dc.cancel()

    reactor.callLater(0, cancel_them)
    reactor.callLater(0, fired.append, "next")
    reactor.callLater(0.01, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert fired == ["canceller", "next"]
    assert reactor.getDelayedCalls() == []


@pytest.mark.parametrize("delay", [-1, float("nan"), float("inf")])
def test_call_later_rejects_bad_delay(reactor, delay):
    with pytest.raises(ValueError):
        reactor.callLater(delay, lambda: None)


def test_timeout_sleeps_rather_than_spins(reactor):
    """A lone timed call 0.1 s away costs a handful of iterations, not a busy loop."""
    iterations = []
    real = reactor.doIteration

    def counting(timeout):
        iterations.append(timeout)
        real(timeout)

    reactor.doIteration = counting
    reactor.callLater(0.1, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert len(iterations) < 10


def test_loop_sleeps_while_startup_waits_on_a_before_trigger(reactor):
    """A "before startup" Deferred 0.1 s away costs a handful of iterations, not a busy loop."""
    iterations = []
    real = reactor.doIteration

    def counting(timeout):
        iterations.append(timeout)
        real(timeout)

    def before():
        held = Deferred()
        reactor.callLater(0.1, held.callback, None)
        return held

    reactor.doIteration = counting
    reactor.addSystemEventTrigger("before", "startup", before)
    reactor.callWhenRunning(reactor.stop)
    reactor.callLater(5, reactor.crash)  # bound the run
    reactor.run(installSignalHandlers=False)
    assert len(iterations) < 10


def test_crash_from_a_timed_call_returns_without_waiting(reactor):
    """crash() in a call, with nothing else scheduled, must not leave the loop asleep."""
    reactor.callWhenRunning(reactor.callLater, 0, reactor.crash)
    loop = threading.Thread(target=reactor.run, args=(False,), daemon=True)
    loop.start()
    loop.join(10)
    assert not loop.is_alive()


# -- threads -----------------------------------------------------------------


def test_call_from_thread_8_threads_x_10000_none_lost(reactor):
    n_threads, per_thread = 8, 10_000
    got = [0] * n_threads
    last = [-1] * n_threads
    order_ok = [True]

    def record(t, i):
        if i != last[t] + 1:
            order_ok[0] = False
        last[t] = i
        got[t] += 1

    def worker(t):
        for i in range(per_thread):
            reactor.callFromThread(record, t, i)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]

    def start():
        for th in threads:
            th.start()

    def check():
        if sum(got) == n_threads * per_thread:
            reactor.stop()
        else:
            reactor.callLater(0.01, check)

    reactor.callWhenRunning(start)
    reactor.callWhenRunning(check)
    watchdog = reactor.callLater(30, reactor.stop)
    reactor.run(installSignalHandlers=False)
    for th in threads:
        th.join(5)
    watchdog.cancel() if watchdog.active() else None
    assert sum(got) == n_threads * per_thread
    assert order_ok[0], "calls from one thread ran out of order"


def test_stop_from_another_thread(reactor):
    def later():
        time.sleep(0.05)
        reactor.callFromThread(reactor.stop)

    threading.Thread(target=later).start()
    watchdog = reactor.callLater(10, reactor.crash)
    t0 = time.monotonic()
    reactor.run(installSignalHandlers=False)
    assert time.monotonic() - t0 < 5
    assert watchdog.active()
    watchdog.cancel()


def test_call_from_thread_wakes_a_sleeping_loop(reactor):
    """With no timed call at all the loop sleeps in poll(None); a thread's call wakes it."""
    woke = []

    def later():
        time.sleep(0.05)
        reactor.callFromThread(woke.append, time.monotonic())

    threading.Thread(target=later).start()
    t0 = time.monotonic()
    deadline = t0 + 5
    while not woke and time.monotonic() < deadline:
        reactor.iterate(1.0)  # wakes early only if the waker works
    assert woke and woke[0] - t0 < 1.0


def test_call_from_thread_during_the_waker_drain_still_wakes_later(reactor, monkeypatch):
    """A wake-up written while the loop drains the waker must not leave later calls silent."""
    import select as stdlib_select

    real_read = os.read
    waker_fd = reactor._waker.fileno()
    raced = []

    def racing_read(fd, n):
        if fd == waker_fd and not raced:
            raced.append(True)
            reactor.callFromThread(lambda: None)  # lands between flag and drain
        return real_read(fd, n)

    reactor.callFromThread(lambda: None)
    monkeypatch.setattr(os, "read", racing_read)
    reactor.iterate(0)  # runs the first call
    reactor.iterate(0)  # drains the waker, racing
    monkeypatch.setattr(os, "read", real_read)
    iterate_until(reactor, lambda: not reactor._thread_calls)
    assert raced
    ran = []
    threading.Thread(target=reactor.callFromThread, args=(ran.append, "woken")).start()
    readable, _, _ = stdlib_select.select([waker_fd], [], [], 5)
    assert readable, "callFromThread wrote no wake-up: the loop would sleep through it"
    iterate_until(reactor, lambda: ran)


def test_call_in_thread_runs_in_bounded_pool(reactor):
    reactor.suggestThreadPoolSize(3)
    lock = threading.Lock()
    active, peak, done = [0], [0], []

    def job(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        reactor.callFromThread(done.append, (i, threading.current_thread().name))

    for i in range(20):
        reactor.callInThread(job, i)
    iterate_until(reactor, lambda: len(done) == 20)
    assert 1 <= peak[0] <= 3
    assert all(name != threading.current_thread().name for _, name in done)


def test_defer_to_thread_and_blocking_call_from_thread(reactor):
    def in_thread(x):
        # Back into the loop and wait for it, from the worker thread.
        doubled = blockingCallFromThread(reactor, lambda: x * 2)
        return doubled + 1

    assert run_until(reactor, reactor.deferToThread(in_thread, 20)) == 41
    with pytest.raises(ZeroDivisionError):
        run_until(reactor, reactor.deferToThread(lambda: 1 / 0))


def test_thread_pool_stops_at_shutdown(reactor):
    pool = reactor.getThreadPool()
    reactor.callInThread(time.sleep, 0.01)
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert pool.joined and pool.threads == []


def test_resolve_localhost(reactor):
    assert run_until(reactor, reactor.resolve("localhost")) == "127.0.0.1"
    with pytest.raises(error.DNSLookupError):
        run_until(reactor, reactor.resolve("no-such-host.invalid"), timeout=15)


def test_resolve_times_out_and_drops_the_late_answer(reactor, monkeypatch, caplog):
    """resolve(name, timeout) errbacks with DNSLookupError; the lookup's late result is dropped."""
    release = threading.Event()
    answered = threading.Event()

    def slow_getaddrinfo(*args):
        release.wait(10)
        answered.set()
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 0))]

    monkeypatch.setattr(
        reactor, "getaddrinfo", lambda *args: reactor.deferToThread(slow_getaddrinfo, *args)
    )
    try:
        with pytest.raises(error.DNSLookupError) as info:
            run_until(reactor, reactor.resolve("slow.example", timeout=0.05))
    finally:
        release.set()
    assert isinstance(info.value.osError, TimeoutError)
    assert "slow.example" in str(info.value)
    # The worker finishes later; its answer reaches the loop and is dropped quietly.
    with caplog.at_level(logging.ERROR):
        assert answered.wait(10)
        iterate_until(reactor, lambda: not reactor._thread_calls and not reactor._waker.pending)
        reactor.iterate(0)
    assert "Unhandled error" not in caplog.text and "AlreadyCalled" not in caplog.text


def test_resolve_timeout_may_be_twisteds_tuple(reactor, monkeypatch):
    """Twisted's resolve takes a tuple of retry timeouts; their sum bounds the lookup."""
    monkeypatch.setattr(reactor, "getaddrinfo", lambda *args: Deferred())
    with pytest.raises(error.DNSLookupError):
        run_until(reactor, reactor.resolve("never.example", timeout=(0.01, 0.02)))


def test_resolve_answer_in_time_cancels_the_timer(reactor, monkeypatch):
    answer = Deferred()
    monkeypatch.setattr(reactor, "getaddrinfo", lambda *args: answer)
    d = reactor.resolve("quick.example", timeout=30)
    answer.callback([(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", 0))])
    assert run_until(reactor, d) == "192.0.2.7"
    assert reactor.getDelayedCalls() == []


# -- fd sets -----------------------------------------------------------------


class Pipe:
    """A minimal read/write descriptor over one end of a socketpair."""

    def __init__(self, sock):
        self.sock = sock
        sock.setblocking(False)
        self.data = b""
        self.reads = self.writes = 0
        self.lost = []

    def fileno(self):
        return self.sock.fileno()

    def doRead(self):
        self.reads += 1
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return None
        if not chunk:
            return error.ConnectionDone()
        self.data += chunk
        return None

    def doWrite(self):
        self.writes += 1

    def connectionLost(self, reason):
        self.lost.append(reason)

    def logPrefix(self):
        return "Pipe"


def test_add_remove_readers_and_writers(reactor):
    a, b = socket.socketpair()
    with a, b:
        pa = Pipe(a)
        reactor.addReader(pa)
        reactor.addWriter(pa)
        assert reactor.getReaders() == [pa] and reactor.getWriters() == [pa]
        b.send(b"hello")
        iterate_until(reactor, lambda: pa.data == b"hello" and pa.writes > 0)
        reactor.removeWriter(pa)
        writes = pa.writes
        reactor.iterate(0.01)
        assert pa.writes == writes
        reactor.removeWriter(pa)  # no error when not watched
        assert reactor.getWriters() == []
        assert reactor.removeAll() == [pa]
        assert reactor.getReaders() == []


def test_eof_returned_from_do_read_disconnects(reactor):
    a, b = socket.socketpair()
    with a:
        pa = Pipe(a)
        reactor.addReader(pa)
        b.close()
        iterate_until(reactor, lambda: pa.lost)
        assert pa.lost[0].check(error.ConnectionDone)
        assert reactor.getReaders() == []


def test_exception_in_do_read_is_logged_and_disconnects(reactor, caplog):
    a, b = socket.socketpair()
    with a, b:
        pa = Pipe(a)
        pa.doRead = lambda: 1 / 0
        reactor.addReader(pa)
        b.send(b"x")
        with caplog.at_level(logging.ERROR, logger="reactorsock.reactor"):
            iterate_until(reactor, lambda: pa.lost)
        assert pa.lost[0].check(ZeroDivisionError)
        assert "ZeroDivisionError" in caplog.text
        assert reactor.getReaders() == []


def test_reader_closed_behind_our_back_neither_spins_nor_crashes(reactor):
    a, b = socket.socketpair()
    pa = Pipe(a)
    reactor.addReader(pa)
    b.send(b"pending data")
    a.close()  # without removeReader
    b.close()
    fired = []
    reactor.callLater(0.2, fired.append, True)
    for _ in range(100):
        if fired:
            break
        reactor.iterate(0.05)
    assert fired, "timed calls stopped running"
    # A spinning loop would call doRead thousands of times.
    assert pa.reads < 5
    # epoll silently forgets a closed fd; poll and select report it: then it is dropped.
    if pa.lost:
        assert pa.lost[0].check(error.ConnectionLost)
        assert reactor.getReaders() == []
    reactor.removeReader(pa)
    assert reactor.getReaders() == []


def test_add_reader_rejects_closed_descriptor(reactor):
    class Closed(Pipe):
        def fileno(self):
            return -1

    a, b = socket.socketpair()
    with a, b, pytest.raises(ValueError):
        reactor.addReader(Closed(a))


# -- signals -----------------------------------------------------------------

_SIGNAL_CHILD = textwrap.dedent(
    """
    import signal, sys
    # As an interactive start has it: a job started in the background by a
    # non-interactive shell inherits SIGINT ignored, and run() keeps that.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from reactorsock.reactor import new_reactor
    r = new_reactor(sys.argv[1])
    r.addSystemEventTrigger("after", "shutdown", lambda: print("shutdown done", flush=True))
    r.callWhenRunning(lambda: print("running", flush=True))
    r.run()
    print("run returned", flush=True)
    """
)


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_stops_the_loop_in_order(reactor, signame):
    proc = subprocess.Popen(
        [sys.executable, "-c", _SIGNAL_CHILD, reactor.backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.split("\n")[:2] == ["shutdown done", "run returned"]
    assert f"Received {signame}" in err or err == ""


def test_signal_wakeup_fd_wakes_an_idle_loop(reactor):
    """While run() runs, a byte on the signal wakeup fd (what the C-level handler
    writes) wakes a loop that has nothing else to do: a signal landing just
    before poll() enters the kernel is not lost.  Afterwards the fd is restored."""
    before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before)
    seen = {}

    def started():
        fd = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(fd)
        seen["fd"] = fd
        pipe = reactor._signal_pipe
        real = pipe.doRead

        def woke():
            real()
            seen["woke"] = True
            reactor.stop()

        pipe.doRead = woke
        # No timed call is pending: only the byte can wake the loop.
        threading.Thread(target=lambda: (time.sleep(0.05), os.write(fd, b"\x02"))).start()

    watchdog = threading.Thread(
        target=lambda: (time.sleep(5), reactor.callFromThread(reactor.crash)), daemon=True
    )
    reactor.callWhenRunning(started)
    watchdog.start()
    reactor.run(installSignalHandlers=False)
    assert seen.get("fd", -1) >= 0, "run() did not own the signal wakeup fd"
    assert seen.get("woke"), "the wakeup byte did not wake the loop"
    assert signal.set_wakeup_fd(before) == before, "the old wakeup fd was not restored"


_STUCK_SHUTDOWN_CHILD = textwrap.dedent(
    """
    import sys
    from reactorsock.defer import Deferred
    from reactorsock.reactor import new_reactor
    r = new_reactor(sys.argv[1])
    def before():
        print("stopping", flush=True)
        return Deferred()  # never fires: shutdown waits for ever
    r.addSystemEventTrigger("before", "shutdown", before)
    r.callWhenRunning(lambda: print("running", flush=True))
    r.run()
    print("run returned", flush=True)
    """
)


def test_second_sigint_stops_a_stuck_shutdown(reactor):
    proc = subprocess.Popen(
        [sys.executable, "-c", _STUCK_SHUTDOWN_CHILD, reactor.backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "stopping"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.strip() == "run returned"
    assert "again" in err


_OWN_SIGINT_CHILD = textwrap.dedent(
    """
    import signal, sys
    from reactorsock.reactor import new_reactor
    r = new_reactor(sys.argv[1])
    def mine(signum, frame):
        print("own handler", flush=True)
        r.callFromThread(r.stop)
    signal.signal(signal.SIGINT, mine)
    r.callWhenRunning(lambda: print("running", flush=True))
    r.run()
    print("restored", signal.getsignal(signal.SIGINT) is mine, flush=True)
    """
)


def test_run_keeps_an_application_sigint_handler(reactor):
    """As in Twisted, run() installs its SIGINT handler only over Python's default one."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _OWN_SIGINT_CHILD, reactor.backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.split("\n")[:2] == ["own handler", "restored True"]


def test_fd_count_stable_across_reactors():
    before = len(os.listdir("/proc/self/fd"))
    for name in ("select", "poll", "epoll"):
        r = new_reactor(name)
        r.close()
    assert len(os.listdir("/proc/self/fd")) == before
