"""The worker supervisor of ``reactorsock run --workers N``.

The supervisor forks N workers after the listening sockets are bound, so
they all inherit the same sockets and the kernel spreads the connections
among them.  It restarts a worker that dies (with exponential back-off, so
a crash loop does not spin), forwards SIGTERM/SIGINT, and on SIGHUP
replaces the workers one at a time.  It is not a reactor and serves
nothing itself: what a worker does is the ``start_worker`` callable it is
given.

Design notes
------------
The supervisor is a plain ``selectors`` loop, not a reactor, because it
forks: a child must not inherit a running reactor's state, and the loop
here has little to do.  Signals arrive through ``signal.set_wakeup_fd``: the
C-level handler writes each signal's number to a pipe, so the loop reads
the signals as bytes, in order, and no Python handler does any work (the
handlers installed are no-ops, needed only so that the signals are caught).

Forking: between fork() and the child's set-up the child still has the
supervisor's handlers and wakeup fd, so a signal it got then (a Ctrl-C
reaches the whole process group) would be written into the supervisor's
pipe and counted twice.  ``_spawn`` therefore blocks the handled signals
across fork(); the child leaves the process group, discards what is
pending (setting SIG_IGN discards a pending signal, POSIX sigaction(2)),
resets its handlers, then writes one byte to its ready pipe.  The parent
waits for that byte before it unblocks: a signal it got meanwhile is
handled once, and a stop signal it forwards finds the worker set up
(pending, as STOP_SIGNALS stay blocked until ``start_worker`` unblocks them).

Each worker gets a pipe on which it writes one byte once its reactor runs.
A SIGHUP reload starts the replacement of one worker, waits for that byte,
then sends SIGTERM to the old worker (which drains) and goes on with the
next.  The listening sockets stay open throughout, so connections made
during a reload wait in the kernel's backlog rather than being refused.

Workers run in their own process group: a Ctrl-C in a terminal signals the
whole foreground group, and a worker would otherwise get SIGINT twice (from
the terminal and from the supervisor), which means "exit at once".  A worker
whose supervisor dies notices that its parent changed and drains.

Back-off: a worker that dies is restarted after ``RESTART_MIN`` seconds,
doubling on each quick death up to ``RESTART_MAX``; a worker that lived
``STABLE_AFTER`` seconds resets the delay (as supervisord's startsecs).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import selectors
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["Supervisor", "RESTART_MIN", "RESTART_MAX", "STABLE_AFTER", "STOP_SIGNALS"]

log = logging.getLogger("reactorsock.supervisor")

RESTART_MIN = 0.1
RESTART_MAX = 10.0
STABLE_AFTER = 10.0
#: Seconds past the grace period before the supervisor kills what is left.
KILL_MARGIN = 5.0
#: Seconds a replacement worker has to become ready during a reload.
READY_TIMEOUT = 30.0
#: Seconds the workers get after a second SIGINT before they are killed.
HURRY_TIMEOUT = 2.0

_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD)
#: The byte a new worker writes to its ready pipe once its set-up is done
#: (before the byte that says its reactor runs).
_SET_UP = b"s"
#: Blocked in a new worker until it can handle them (see ``_in_child``).
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@attrs.define
class _Slot:
    """A worker position (1..N): its current pid and restart back-off."""

    index: int
    pid: int | None = None
    delay: float = RESTART_MIN
    restart: Any = None  # the pending restart timer


@attrs.define
class _Proc:
    """A live worker process."""

    pid: int
    slot: int
    role: str  # "current", "replacement" (reload, not ready yet) or "retiring"
    started: float
    ready_fd: int | None
    ready: bool = False


@attrs.define
class _Timer:
    when: float
    func: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


def _noop(signum: int, frame: Any) -> None:
    """Catch a signal; the wakeup fd carries it to the loop."""


def _describe_exit(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Supervisor:
    """Forks count workers running ``start_worker(slot, ready_fd, fresh)`` and keeps them up.

    ``start_worker`` runs in the child and returns its exit status (the
    child then exits with it).  It starts with ``STOP_SIGNALS`` blocked and
    unblocks them once its own handlers are in place.  ``close_listeners`` is called once, when
    stopping starts, so that new connections are refused while the
    workers drain.  ``run()`` returns 0 after a clean stop, 1 if workers had
    to be killed, 130 after a second SIGINT.
    """

    def __init__(
        self,
        count: int,
        start_worker: Callable[[int, int, bool], int],
        grace: float,
        close_listeners: Callable[[], None],
    ) -> None:
        self.count = count
        self.start_worker = start_worker
        self.grace = grace
        self.close_listeners = close_listeners
        self.status = 0
        self.stopping = False
        self._slots = {i: _Slot(i) for i in range(1, count + 1)}
        self._procs: dict[int, _Proc] = {}
        self._timers: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()
        self._generation = 0
        self._reload: list[int] = []
        self._kill_timer: _Timer | None = None
        self._sel: selectors.BaseSelector | None = None
        self._wake_r = self._wake_w = -1
        self._old_handlers: dict[int, Any] = {}
        self._old_wakeup = -1

    # -- timers ------------------------------------------------------------------

    def _call_later(self, delay: float, func: Callable[[], None]) -> _Timer:
        timer = _Timer(time.monotonic() + delay, func)
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
        return timer

    def _timeout(self) -> float | None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - time.monotonic())

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            timer = heapq.heappop(self._timers)[2]
            if not timer.cancelled:
                timer.func()

    # -- set-up ----------------------------------------------------------------

    def _install(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for signum in _HANDLED:
            self._old_handlers[signum] = signal.signal(signum, _noop)

    def _uninstall(self) -> None:
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._old_handlers.clear()
        signal.set_wakeup_fd(self._old_wakeup)
        self._close_fds()

    def _close_fds(self) -> None:
        if self._sel is not None:
            for key in list(self._sel.get_map().values()):
                os.close(key.fd)
            self._sel.close()
            self._sel = None
        if self._wake_w >= 0:
            os.close(self._wake_w)
        self._wake_r = self._wake_w = -1

    def _in_child(self, old_mask: set[int], ready_w: int) -> None:
        """Drop the supervisor's signal set-up and descriptors in a new worker.

        Runs with the handled signals blocked (see ``_spawn``); tells the
        parent on ready_w when done.
        """
        # Out of the terminal's foreground group first: no more Ctrl-C from
        # there, only what the supervisor forwards.
        os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        for signum in _HANDLED:
            # What is pending came to the whole group before setpgid, and the
            # supervisor got it too: discard it (SIG_IGN does) rather than act twice.
            signal.signal(signum, signal.SIG_IGN)
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self._close_fds()
        # A stop signal forwarded before the worker has its handlers stays
        # pending rather than killing it; start_worker unblocks STOP_SIGNALS.
        signal.pthread_sigmask(signal.SIG_SETMASK, set(old_mask) | STOP_SIGNALS)
        os.write(ready_w, _SET_UP)

    # -- workers -----------------------------------------------------------------

    def _spawn(self, slot: _Slot, role: str = "current") -> int:
        fresh = self._generation > 0
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        sys.stdout.flush()
        sys.stderr.flush()
        # Blocked until the child is set up: see "Forking" in the module notes.
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            os.close(ready_r)
            os.close(ready_w)
            raise
        if pid == 0:  # the worker
            status = 1
            try:
                os.close(ready_r)
                self._in_child(old_mask, ready_w)
                status = self.start_worker(slot.index, ready_w, fresh)
            except SystemExit as e:
                status = e.code if isinstance(e.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(status)
        try:
            os.close(ready_w)
            # The set-up byte, or b"" if the child died first.  The wait is
            # short: the child's set-up makes a few syscalls and blocks on none.
            os.read(ready_r, len(_SET_UP))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.set_blocking(ready_r, False)
        self._sel.register(ready_r, selectors.EVENT_READ, pid)
        self._procs[pid] = _Proc(pid, slot.index, role, time.monotonic(), ready_r)
        if role == "current":
            slot.pid = pid
        print(f"reactorsock: worker {slot.index} started (pid {pid})", flush=True)
        return pid

    def _restart(self, slot: _Slot) -> None:
        slot.restart = None
        if not self.stopping and slot.pid is None:
            try:
                self._spawn(slot)
            except OSError as e:  # EAGAIN/ENOMEM from fork, EMFILE from pipe2
                delay = slot.delay
                slot.delay = min(slot.delay * 2, RESTART_MAX)
                log.error(
                    "could not start worker %d (%s); trying again in %.1fs", slot.index, e, delay
                )
                slot.restart = self._call_later(delay, lambda: self._restart(slot))

    def _signal_all(self, signum: int) -> None:
        for pid in list(self._procs):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def _close_ready(self, proc: _Proc) -> None:
        if proc.ready_fd is not None:
            self._sel.unregister(proc.ready_fd)
            os.close(proc.ready_fd)
            proc.ready_fd = None

    def _on_ready(self, pid: int) -> None:
        proc = self._procs.get(pid)
        if proc is None:
            return
        try:
            data = os.read(proc.ready_fd, 16)
        except BlockingIOError:
            return
        if data:
            proc.ready = True
            if proc.role == "replacement":
                self._promote(proc)
        self._close_ready(proc)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            proc = self._procs.pop(pid, None)
            if proc is not None:
                self._close_ready(proc)
                self._exited(proc, status)

    def _exited(self, proc: _Proc, status: int) -> None:
        how = _describe_exit(status)
        slot = self._slots[proc.slot]
        lived = time.monotonic() - proc.started
        if proc.role == "retiring":
            log.info("old worker %d (pid %d) %s", proc.slot, proc.pid, how)
            return
        if proc.role == "replacement":
            log.error(
                "reload: the new worker %d (pid %d) %s before it was ready; "
                "keeping the old workers",
                proc.slot,
                proc.pid,
                how,
            )
            self._reload.clear()
            return
        slot.pid = None
        if self.stopping:
            log.info("worker %d (pid %d) %s", proc.slot, proc.pid, how)
            return
        if lived >= STABLE_AFTER:
            slot.delay = RESTART_MIN
        delay = slot.delay
        slot.delay = min(slot.delay * 2, RESTART_MAX)
        log.warning(
            "worker %d (pid %d) %s after %.1fs; restarting it in %.1fs",
            proc.slot,
            proc.pid,
            how,
            lived,
            delay,
        )
        slot.restart = self._call_later(delay, lambda: self._restart(slot))

    # -- reload (SIGHUP) ---------------------------------------------------------

    def _start_reload(self) -> None:
        if self._reload:
            log.info("SIGHUP: a reload is already in progress")
            return
        self._generation += 1
        self._reload = list(self._slots)
        log.info("SIGHUP: replacing %d worker(s) one by one", len(self._reload))
        self._reload_next()

    def _reload_next(self) -> None:
        while self._reload:
            slot = self._slots[self._reload[0]]
            if slot.pid is None:  # being restarted anyway, with the new code
                self._reload.pop(0)
                continue
            try:
                pid = self._spawn(slot, "replacement")
            except OSError as e:
                log.error("reload: could not start a new worker (%s); keeping the old workers", e)
                self._reload.clear()
                return
            self._call_later(READY_TIMEOUT, lambda pid=pid: self._not_ready(pid))
            return
        log.info("reload done")

    def _not_ready(self, pid: int) -> None:
        proc = self._procs.get(pid)
        if proc is not None and proc.role == "replacement":
            log.error("reload: the new worker (pid %d) is not ready after %gs", pid, READY_TIMEOUT)
            os.kill(pid, signal.SIGKILL)

    def _promote(self, proc: _Proc) -> None:
        slot = self._slots[proc.slot]
        old = slot.pid
        if old is not None and old in self._procs:
            self._procs[old].role = "retiring"
            os.kill(old, signal.SIGTERM)
        if slot.restart is not None:
            slot.restart.cancel()
            slot.restart = None
        proc.role = "current"
        slot.pid = proc.pid
        if self._reload and self._reload[0] == proc.slot:
            self._reload.pop(0)
        self._reload_next()

    # -- stopping ----------------------------------------------------------------

    def _on_signal(self, signum: int) -> None:
        if signum == signal.SIGCHLD:
            return  # reaped after every wake-up
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:
            if not self.stopping:
                self._start_reload()
            return
        if not self.stopping:
            self.stopping = True
            self._reload.clear()
            for slot in self._slots.values():
                if slot.restart is not None:
                    slot.restart.cancel()
            log.info(
                "received %s: stopping %d worker(s), grace %gs", name, len(self._procs), self.grace
            )
            self.close_listeners()
            self._signal_all(signum)
            self._kill_timer = self._call_later(self.grace + KILL_MARGIN, self._kill_rest)
        elif signum == signal.SIGINT:
            log.warning("second interrupt: stopping the workers at once")
            self.status = 130
            self._signal_all(signal.SIGINT)
            if self._kill_timer is not None:
                self._kill_timer.cancel()
            self._kill_timer = self._call_later(HURRY_TIMEOUT, self._kill_rest)
        else:
            log.info("received %s again: still stopping", name)

    def _kill_rest(self) -> None:
        if self._procs:
            log.warning("killing %d worker(s) that did not stop in time", len(self._procs))
            self._signal_all(signal.SIGKILL)
            if self.status == 0:
                self.status = 1

    def _read_signals(self) -> None:
        try:
            data = os.read(self._wake_r, 512)
        except BlockingIOError:
            return
        for signum in data:
            self._on_signal(signum)

    def run(self, announce: Callable[[], None] | None = None) -> int:
        """Start the workers and supervise them until they have all stopped.

        announce runs once the signals are caught, before the first fork.
        """
        self._install()
        try:
            if announce is not None:
                announce()
            for slot in self._slots.values():
                self._spawn(slot)
            while self._procs or not self.stopping:
                for key, _ in self._sel.select(self._timeout()):
                    if key.data is None:
                        self._read_signals()
                    else:
                        self._on_ready(key.data)
                self._reap()
                self._run_timers()
            return self.status
        finally:
            if self._procs:  # an error in the loop: don't leave workers behind
                self._signal_all(signal.SIGKILL)
                for pid in list(self._procs):
                    try:
                        os.waitpid(pid, 0)
                    except ChildProcessError:
                        pass
            self._uninstall()
