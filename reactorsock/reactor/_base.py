"""The I/O-independent half of the reactor: time, timed calls, triggers, threads, signals.

``ReactorBase`` knows nothing of selectors; ``_selecting.Reactor`` adds the
readiness dispatch.  The loop is ``runUntilCurrent() -> timeout() ->
doIteration(timeout)`` repeated until ``crash()``.

Design notes
------------
Timed calls live in a heap of ``(time, seq, call)`` tuples, so heap
comparisons are C tuple comparisons, and ``seq`` keeps calls due at the same
moment in scheduling order.  Cancelling or moving a call does not search the
heap: the old entry goes stale (its ``seq`` no longer matches the call's
``_seq``, or the call is cancelled) and is skipped when it reaches the top;
the heap is rebuilt when more than half of it is stale.  This keeps
``TimeoutMixin.resetTimeout()`` -- one ``reset`` per received chunk -- at one
heap push.

Calls made with ``callFromThread`` go into a deque and wake the loop through
an eventfd (a pipe where there is none).  The loop writes to the waker only
when no wake-up is pending, so a burst of calls from threads costs one
syscall, not one each.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from reactorsock import error
from reactorsock._clock import DelayedCall
from reactorsock.defer import CancelledError, Deferred, DeferredList, maybeDeferred
from reactorsock.failure import Failure
from reactorsock.interfaces import (
    IReactorCore,
    IReactorPluggableResolver,
    IReactorThreads,
    IReactorTime,
)

__all__ = ["ReactorBase"]

log = logging.getLogger("reactorsock.reactor")

_PHASES = ("before", "during", "after")

# The reactor whose run() is on this thread's stack, for get_reactor().
_running = threading.local()


def running_reactor() -> ReactorBase | None:
    """The reactor running (inside ``run()``) in the calling thread, or None."""
    return getattr(_running, "reactor", None)


class _EventTriggers:
    """The before/during/after triggers of one system event.

    As in Twisted, each phase runs its triggers in the order they were added;
    a trigger added to the phase that is running runs in that same pass, and
    one removed before its turn does not run.  A "before" trigger added while
    the event waits for the Deferreds of "before" runs next time only.
    Triggers are kept after firing, so an event can be fired again.
    """

    __slots__ = ("before", "during", "after", "_fired")

    def __init__(self) -> None:
        self.before: list[tuple] = []
        self.during: list[tuple] = []
        self.after: list[tuple] = []
        # While a phase runs: the entries of that phase that have been taken
        # off its list to run, so that removing one of them still works.
        self._fired: dict[str, list[tuple]] = {}

    def add(self, phase: str, func: Callable, args: tuple, kw: dict) -> tuple:
        entry = (func, args, kw)
        getattr(self, phase).append(entry)
        return entry

    def remove(self, phase: str, entry: tuple) -> None:
        items = getattr(self, phase)
        if entry in items:
            items.remove(entry)
        elif phase in self._fired:
            self._fired[phase].remove(entry)  # ValueError if unknown
        else:
            items.remove(entry)  # ValueError

    def fire(self) -> None:
        waiting = [r for r in self._run_phase("before") if isinstance(r, Deferred)]
        if waiting:
            DeferredList(waiting).addCallback(self._continue_firing)
        else:
            self._continue_firing(None)

    def _run_phase(self, phase: str) -> list[object]:
        """Run the phase's triggers, including any added meanwhile; their results."""
        items = getattr(self, phase)
        fired = self._fired[phase] = []
        results = []
        try:
            while items:
                entry = items.pop(0)
                fired.append(entry)
                func, args, kw = entry
                try:
                    results.append(func(*args, **kw))
                except BaseException:
                    log.exception("Error in %r system event trigger %r", phase, func)
        finally:
            self._fired.pop(phase, None)
            items[:0] = fired
        return results

    def _continue_firing(self, _: object) -> None:
        self._run_phase("during")
        self._run_phase("after")


class _Waker:
    """Wakes the loop from another thread: an eventfd, or a self-pipe."""

    def __init__(self, reactor: ReactorBase) -> None:
        self.reactor = reactor
        if hasattr(os, "eventfd"):
            self._r = self._w = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._token = (1).to_bytes(8, "little")
        else:  # pragma: no cover - Linux always has eventfd
            self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            self._token = b"x"
        self.pending = False

    def fileno(self) -> int:
        return self._r

    def wake(self) -> None:
        if self.pending:
            return
        self.pending = True
        try:
            os.write(self._w, self._token)
        except BlockingIOError:  # already full of wake-ups: the loop will wake
            pass
        except OSError:
            if self._w >= 0:
                raise

    def doRead(self) -> None:
        # Drain, then clear the flag, both before the loop drains the call
        # queue.  In the other order a wake() between the two would have its
        # byte drained yet leave the flag set, and no later wake() would write.
        try:
            os.read(self._r, 4096)
        except BlockingIOError:
            pass
        self.pending = False

    def connectionLost(self, reason: object) -> None:
        self.close()

    def close(self) -> None:
        if self._r >= 0:
            os.close(self._r)
            if self._w != self._r:
                os.close(self._w)
            self._r = self._w = -1

    def logPrefix(self) -> str:
        return "waker"


@implementer(IReactorCore, IReactorTime, IReactorThreads, IReactorPluggableResolver)
class ReactorBase:
    """Time, timed calls, system events, threads and signals; see the interfaces."""

    def __init__(self) -> None:
        self.running = False
        self._started = False
        self._stopped = False
        self._ran = False
        self._pending: list[tuple[float, int, DelayedCall]] = []
        self._seq = 0
        self._stale = 0
        self._thread_calls: deque[tuple[Callable, tuple, dict]] = deque()
        self._triggers: dict[str, _EventTriggers] = {}
        self._thread_pool: Any = None
        self._pool_closed = False  # set at shutdown: no pool after that
        self._pool_size = 10
        self._old_signals: dict[int, Any] = {}
        self._stop_signals = 0
        self._loop_thread: threading.Thread | None = None
        self._waker = _Waker(self)
        # Threads waiting in blockingCallFromThread: each one's result box.
        self._blocked_threads: set[Any] = set()
        self._blocked_lock = threading.Lock()
        self._refuse_blocking_calls = False
        self.seconds = time.monotonic
        self.addSystemEventTrigger("during", "startup", self._really_start_running)
        self.addSystemEventTrigger("during", "shutdown", self.crash)
        self.addSystemEventTrigger("during", "shutdown", self.disconnectAll)
        # Before the thread pool is joined (its trigger is added later): a
        # worker waiting on the loop would otherwise never finish.
        self.addSystemEventTrigger("during", "shutdown", self._release_blocked_threads)
        # The pool made before shutdown stops "during" it (getThreadPool adds
        # that trigger); this one refuses any pool from here on, even when
        # none was made before.
        self.addSystemEventTrigger("after", "shutdown", self._stop_thread_pool)

    # -- IReactorTime -----------------------------------------------------

    def seconds(self) -> float:  # replaced per instance by time.monotonic
        """See ``IReactorTime.seconds``: ``time.monotonic()``."""
        return time.monotonic()

    def callLater(self, delay: float, callable: Callable, *args: Any, **kw: Any) -> DelayedCall:
        """See ``IReactorTime.callLater``."""
        if not delay >= 0 or delay == math.inf:  # also rejects NaN
            raise ValueError(f"callLater delay must be a finite number >= 0, not {delay!r}")
        dc = DelayedCall(
            self.seconds() + delay, callable, args, kw, self._cancelled, self._moved, self.seconds
        )
        self._seq = seq = self._seq + 1
        dc._seq = seq
        heapq.heappush(self._pending, (dc.time, seq, dc))
        return dc

    def _cancelled(self, dc: DelayedCall) -> None:
        self._stale += 1
        if self._stale > 64 and self._stale > len(self._pending) >> 1:
            self._compact()

    def _moved(self, dc: DelayedCall) -> None:
        self._seq = seq = self._seq + 1
        dc._seq = seq
        heapq.heappush(self._pending, (dc.time, seq, dc))
        self._cancelled(dc)  # the old entry is now stale

    def _compact(self) -> None:
        # In place: runUntilCurrent holds the list while a call it runs may
        # cancel enough calls to get here; a new list would leave it popping
        # (and running) entries of the old one that the new one also holds.
        pending = self._pending
        pending[:] = [e for e in pending if not e[2].cancelled and e[2]._seq == e[1]]
        heapq.heapify(pending)
        self._stale = 0

    def getDelayedCalls(self) -> list[DelayedCall]:
        """See ``IReactorTime.getDelayedCalls``."""
        return [dc for _, seq, dc in self._pending if not dc.cancelled and dc._seq == seq]

    # -- the loop ----------------------------------------------------------

    def timeout(self) -> float | None:
        """Seconds until the next timed call (0 if calls from threads wait; None if nothing)."""
        if self._thread_calls:
            return 0.0
        pending = self._pending
        while pending:
            _, seq, dc = pending[0]
            if dc.cancelled or dc._seq != seq:
                heapq.heappop(pending)
                self._stale -= 1
                continue
            return max(0.0, dc.time - self.seconds())
        return None

    def runUntilCurrent(self) -> None:
        """Run the calls from threads, then every timed call that is due."""
        calls = self._thread_calls
        if calls:
            for _ in range(len(calls)):
                func, args, kw = calls.popleft()
                try:
                    func(*args, **kw)
                except BaseException:
                    log.exception("Unhandled error in call from thread %r", func)
        pending = self._pending
        if not pending:
            return
        now = self.seconds()
        pop = heapq.heappop
        while pending and pending[0][0] <= now:
            _, seq, dc = pop(pending)
            if dc.cancelled or dc._seq != seq:
                self._stale -= 1
                continue
            dc.called = True
            try:
                dc.func(*dc.args, **dc.kw)
            except BaseException:
                log.exception("Unhandled error in delayed call %r", dc)

    def doIteration(self, timeout: float | None) -> None:
        """Wait for I/O up to timeout seconds and dispatch it (subclasses)."""
        raise NotImplementedError

    def iterate(self, delay: float = 0) -> None:
        """See ``IReactorCore.iterate``."""
        # A reactor driven by iterate() alone has a loop thread too, which
        # blockingCallFromThread must refuse (run() records it in startRunning).
        # Once per call, not per event: mainLoop does not come through here.
        self._loop_thread = threading.current_thread()
        self.runUntilCurrent()
        self.doIteration(delay)

    def run(self, installSignalHandlers: bool = True) -> None:
        """See ``IReactorCore.run``."""
        outer = running_reactor()
        _running.reactor = self
        try:
            self.startRunning(installSignalHandlers=installSignalHandlers)
            try:
                self.mainLoop()
            finally:
                self._restore_signal_handlers()
        finally:
            _running.reactor = outer

    def startRunning(self, installSignalHandlers: bool = True) -> None:
        """Fire startup triggers; the loop itself is ``mainLoop``."""
        if self._started:
            raise error.ReactorAlreadyRunning("the reactor is already running")
        if self._ran:
            raise error.ReactorNotRestartable("a reactor runs once; make a new one")
        self._started = True
        self._ran = True
        self._stopped = False
        self._loop_thread = threading.current_thread()
        if installSignalHandlers:
            self._install_signal_handlers()
        self.fireSystemEvent("startup")

    def mainLoop(self) -> None:
        """Iterate until crash() (which stop() calls through the shutdown triggers)."""
        while self._started:
            try:
                while self._started:
                    self.runUntilCurrent()
                    if self._started:  # a call may have crashed the loop: do not wait then
                        # Waits even while startup waits on a "before" trigger's
                        # Deferred: whatever fires that wakes the selector.
                        self.doIteration(self.timeout())
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt | SystemExit):
                    raise
                log.exception("Unexpected error in the main loop")

    def stop(self) -> None:
        """See ``IReactorCore.stop``."""
        if self._stopped or not self._started:
            raise error.ReactorNotRunning("can't stop a reactor that isn't running")
        self._stopped = True
        self.callLater(0, self.fireSystemEvent, "shutdown")

    def crash(self) -> None:
        """See ``IReactorCore.crash``."""
        self._started = False
        self.running = False

    def _really_start_running(self) -> None:
        self.running = True

    def disconnectAll(self) -> None:
        """Drop every watched descriptor with ConnectionLost (subclasses)."""

    # -- system events -------------------------------------------------------

    def fireSystemEvent(self, eventType: str) -> None:
        """See ``IReactorCore.fireSystemEvent``."""
        triggers = self._triggers.get(eventType)
        if triggers is not None:
            triggers.fire()

    def addSystemEventTrigger(
        self, phase: str, eventType: str, callable: Callable, *args: Any, **kw: Any
    ) -> tuple:
        """See ``IReactorCore.addSystemEventTrigger``."""
        if phase not in _PHASES:
            raise ValueError(f"phase must be one of {_PHASES}, not {phase!r}")
        if not callable or not hasattr(callable, "__call__"):  # noqa: B004 - message
            raise TypeError(f"{callable!r} is not callable")
        triggers = self._triggers.setdefault(eventType, _EventTriggers())
        return (eventType, phase, triggers.add(phase, callable, args, kw))

    def removeSystemEventTrigger(self, triggerID: tuple) -> None:
        """See ``IReactorCore.removeSystemEventTrigger``."""
        try:
            event_type, phase, entry = triggerID
            self._triggers[event_type].remove(phase, entry)
        except (TypeError, ValueError, KeyError):
            raise ValueError(f"{triggerID!r} is not a registered system event trigger")

    def callWhenRunning(self, callable: Callable, *args: Any, **kw: Any) -> tuple | None:
        """See ``IReactorCore.callWhenRunning``."""
        if self.running:
            callable(*args, **kw)
            return None
        return self.addSystemEventTrigger("after", "startup", callable, *args, **kw)

    # -- threads -----------------------------------------------------------

    def callFromThread(self, callable: Callable, *args: Any, **kw: Any) -> None:
        """See ``IReactorThreads.callFromThread``."""
        self._thread_calls.append((callable, args, kw))
        self._waker.wake()

    def getThreadPool(self) -> Any:
        """See ``IReactorThreads.getThreadPool``.

        Raises ``error.ReactorNotRunning`` once shutdown has stopped the pool:
        a new pool then would have nothing to stop it.
        """
        pool = self._thread_pool
        if pool is not None:
            return pool
        if self._pool_closed:
            raise error.ReactorNotRunning("the reactor has shut down; its thread pool is stopped")
        from reactorsock.threadpool import ThreadPool

        self._thread_pool = pool = ThreadPool(0, self._pool_size, "reactorsock")
        pool.start()
        self.addSystemEventTrigger("during", "shutdown", self._stop_thread_pool)
        return pool

    def _add_blocked_thread(self, box: Any) -> bool:
        """Record a thread about to wait for the loop; False once the loop has stopped."""
        with self._blocked_lock:
            if self._refuse_blocking_calls:
                return False
            self._blocked_threads.add(box)
            return True

    def _remove_blocked_thread(self, box: Any) -> None:
        with self._blocked_lock:
            self._blocked_threads.discard(box)

    def _release_blocked_threads(self) -> None:
        """Fail every blockingCallFromThread still waiting, and any made later.

        The loop runs no more calls from threads after shutdown; without this,
        shutting down the pool would join a worker that waits for the loop.
        """
        with self._blocked_lock:
            self._refuse_blocking_calls = True
            boxes, self._blocked_threads = self._blocked_threads, set()
        for box in boxes:
            box.put(Failure(error.ReactorNotRunning("the reactor shut down during the call")))

    def _stop_thread_pool(self) -> None:
        # Closed first: a worker calling getThreadPool() meanwhile sees either
        # the old pool (which runs or refuses its job) or the refusal.
        self._pool_closed = True
        pool, self._thread_pool = self._thread_pool, None
        if pool is not None:
            pool.stop()

    def callInThread(self, callable: Callable, *args: Any, **kw: Any) -> None:
        """See ``IReactorThreads.callInThread``."""
        self.getThreadPool().callInThread(callable, *args, **kw)

    def suggestThreadPoolSize(self, size: int) -> None:
        """See ``IReactorThreads.suggestThreadPoolSize``."""
        self._pool_size = size
        if self._thread_pool is not None:
            self._thread_pool.adjustPoolsize(maxthreads=size)

    def deferToThread(self, f: Callable, *args: Any, **kw: Any) -> Deferred:
        """Run ``f(*args, **kw)`` in the pool; return a Deferred firing in the loop."""
        d = Deferred()

        def on_result(ok: bool, result: object) -> None:
            self.callFromThread(d.callback if ok else d.errback, result)

        self.getThreadPool().callInThreadWithCallback(on_result, f, *args, **kw)
        return d

    # -- name resolution -----------------------------------------------------

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0) -> Deferred:
        """See ``IReactorPluggableResolver.getaddrinfo``: runs in the thread pool.

        After shutdown the Deferred fails with ``error.ReactorNotRunning``.
        """
        return maybeDeferred(
            self.deferToThread, socket.getaddrinfo, host, port, family, type, proto, flags
        )

    def resolve(self, name: str, timeout: float | tuple[float, ...] = 10) -> Deferred:
        """See ``IReactorCore.resolve``: an IPv4 address for name, never blocking the loop.

        With no answer within timeout seconds (Twisted's tuple of retry
        timeouts counts as their sum) the Deferred fails with
        ``error.DNSLookupError`` whose ``osError`` is a ``TimeoutError``.  The
        lookup's thread cannot be interrupted; its late answer is dropped.
        """
        if not name:
            return maybeDeferred(lambda: "0.0.0.0")
        if isinstance(timeout, tuple | list):
            timeout = sum(timeout)
        d = self.getaddrinfo(name, 0, socket.AF_INET, socket.SOCK_STREAM)

        def timed_out(result: object, seconds: float) -> Failure:
            # addTimeout cancelled d: its one late firing is ignored (Deferred.cancel).
            if isinstance(result, Failure):
                result.trap(CancelledError)
            return Failure(
                error.DNSLookupError(TimeoutError(f"no answer within {seconds:g}s"), name)
            )

        d.addTimeout(timeout, self, onTimeoutCancel=timed_out)

        def pick(infos: list) -> str:
            return infos[0][4][0]

        def wrap(f: Failure) -> Failure:
            if f.check(socket.gaierror):
                return Failure(error.DNSLookupError(f.value, name))
            return f

        return d.addCallbacks(pick, wrap)

    # -- signals -------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in (
            (signal.SIGINT, self._on_stop_signal),
            (signal.SIGTERM, self._on_stop_signal),
        ):
            if signum == signal.SIGINT and signal.getsignal(signum) != signal.default_int_handler:
                # Someone else's (pdb, the application, SIG_IGN from a shell's
                # "&"): leave it alone, as Twisted does.
                continue
            try:
                self._old_signals[signum] = signal.signal(signum, handler)
            except (ValueError, OSError):  # pragma: no cover - not the main thread
                pass

    def _restore_signal_handlers(self) -> None:
        for signum, old in self._old_signals.items():
            try:
                signal.signal(signum, old)
            except (ValueError, OSError, TypeError):  # pragma: no cover
                pass
        self._old_signals.clear()

    def _on_stop_signal(self, signum: int, frame: object) -> None:
        # Runs between bytecodes of the main thread: only queue the stop.
        name = signal.Signals(signum).name
        self._stop_signals += 1
        if self._stop_signals == 1:
            log.info("Received %s, shutting down.", name)
            self.callFromThread(self._stop_if_running)
        else:
            # The user asks again while shutdown waits (e.g. on a "before"
            # trigger's Deferred): stop the loop without waiting, as a second
            # Ctrl-C does in asyncio.run().
            log.warning("Received %s again, stopping without waiting for shutdown.", name)
            self.callFromThread(self.crash)

    def _stop_if_running(self) -> None:
        try:
            self.stop()
        except error.ReactorNotRunning:
            pass
