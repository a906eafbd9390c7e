"""A bounded pool of worker threads for blocking work (name lookups, files, user code).

The pool starts threads lazily, one per queued job while fewer than
``max`` are alive and none is idle, so an idle reactor costs no threads.
It is not an executor of futures: results travel back through
``callInThreadWithCallback`` (which the reactor's ``deferToThread`` uses).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ThreadPool"]

log = logging.getLogger("reactorsock.threadpool")

_STOP = object()  # stop() sends one per thread
_SHRINK = object()  # adjustPoolsize() sends one per surplus thread


class ThreadPool:
    """Run callables in at most ``maxthreads`` worker threads.

    Jobs queued before ``start()`` wait for it.  ``stop()`` lets queued jobs
    finish, then joins the workers.
    """

    def __init__(
        self, minthreads: int = 0, maxthreads: int = 10, name: str = "reactorsock"
    ) -> None:
        if minthreads < 0 or maxthreads < 1 or minthreads > maxthreads:
            raise ValueError(f"bad pool size: min={minthreads}, max={maxthreads}")
        self.min = minthreads
        self.max = maxthreads
        self.name = name
        self.started = False
        self.joined = False
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._pending = 0
        self._stopping = 0  # _SHRINK tokens queued and not yet taken
        self._names = itertools.count()
        self._lock = threading.Lock()

    @property
    def threads(self) -> list[threading.Thread]:
        """The live worker threads."""
        return [t for t in self._threads if t.is_alive()]

    def start(self) -> None:
        """Start taking jobs (and the first ``min`` threads)."""
        with self._lock:
            self.joined = False
            self.started = True
            while self._live() < max(self.min, min(self._pending, self.max)):
                self._spawn()

    def _live(self) -> int:
        # Threads that will take more jobs: those not already told to exit.
        return len(self._threads) - self._stopping

    def adjustPoolsize(self, minthreads: int | None = None, maxthreads: int | None = None) -> None:
        """Change the bounds; extra threads exit as they become idle."""
        minthreads = self.min if minthreads is None else minthreads
        maxthreads = self.max if maxthreads is None else maxthreads
        if minthreads < 0 or maxthreads < 1 or minthreads > maxthreads:
            raise ValueError(f"bad pool size: min={minthreads}, max={maxthreads}")
        self.min, self.max = minthreads, maxthreads
        with self._lock:
            # Count the tokens already on their way, or two quick shrinks
            # would stop every thread and strand the jobs queued behind them.
            for _ in range(self._live() - maxthreads):
                self._stopping += 1
                self._queue.put(_SHRINK)
        if self.started:
            self.start()

    def callInThread(self, func: Callable[..., object], *args: object, **kw: object) -> None:
        """Run ``func(*args, **kw)`` in a worker; an exception is logged."""
        self.callInThreadWithCallback(None, func, *args, **kw)

    def callInThreadWithCallback(
        self,
        onResult: Callable[[bool, object], object] | None,
        func: Callable[..., object],
        *args: object,
        **kw: object,
    ) -> None:
        """Run ``func(*args, **kw)``, then ``onResult(True, result)`` or ``(False, Failure)``.

        onResult runs in the worker thread; use ``reactor.callFromThread`` in it
        to get back to the loop.
        """
        with self._lock:
            # Checked under the lock that stop() takes: a job is either queued
            # before stop()'s tokens (and run), or refused -- never queued
            # behind them with no thread left to take it.
            if self.joined:
                raise RuntimeError("the thread pool has been stopped")
            self._pending += 1
            self._queue.put((onResult, func, args, kw))
            if self.started and self._idle < self._pending and self._live() < self.max:
                self._spawn()

    def stop(self) -> None:
        """Finish queued jobs, then stop and join every worker.

        Later calls to ``callInThread`` raise ``RuntimeError``.
        """
        with self._lock:
            self.joined = True
            self.started = False
            threads = list(self._threads)
            tokens = len(threads) - self._stopping
            if self._pending and not threads:
                # Queued before start(), which never came: say so rather than
                # drop them silently.
                log.warning(
                    "thread pool %r stopped with %d job(s) never run", self.name, self._pending
                )
            # Still under the lock, so that every job queued so far sits
            # ahead of the tokens.
            for _ in range(tokens):
                self._queue.put(_STOP)
        for t in threads:
            t.join()

    def _spawn(self) -> None:
        # Called with self._lock held.
        t = threading.Thread(
            target=self._worker, name=f"{self.name}-pool-{next(self._names)}", daemon=True
        )
        self._threads.append(t)
        t.start()

    def _worker(self) -> None:
        from reactorsock.failure import Failure

        get = self._queue.get
        while True:
            with self._lock:
                self._idle += 1
            job = get()
            with self._lock:
                self._idle -= 1
            if job is _STOP or job is _SHRINK:
                with self._lock:
                    # One step, so that _live() never counts this thread twice or not at all.
                    if job is _SHRINK:
                        self._stopping -= 1
                    self._threads.remove(threading.current_thread())
                return
            on_result, func, args, kw = job
            try:
                result = func(*args, **kw)
                ok = True
            except BaseException:
                result = Failure()
                ok = False
            with self._lock:
                self._pending -= 1
            if on_result is not None:
                try:
                    on_result(ok, result)
                except BaseException:
                    log.exception("Error in thread pool result callback")
            elif not ok:
                log.error(
                    "Unhandled error in thread pool job %r:\n%s", func, result.getTraceback()
                )
            del job, result, args, kw
