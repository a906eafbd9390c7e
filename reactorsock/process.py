"""Child processes: the transport that ``reactor.spawnProcess`` returns.

A ``Process`` owns one child and one pipe channel per child fd that the
parent reads or writes.  Each pipe is a small reader/writer descriptor in the
reactor; a pidfd (``os.pidfd_open``) tells the loop when the child exits, and
the child is reaped with ``waitpid(pid, WNOHANG)`` then.  It is not a
subprocess replacement: there is no blocking ``wait()`` and no shell.

Call order: ``spawnProcess -> makeConnection -> connectionMade ->
childDataReceived* -> childConnectionLost* -> processExited ->
processEnded``.  ``processExited`` comes when the child is reaped (possibly
before some pipes close, e.g. when a grandchild still holds stdout);
``processEnded`` comes once the child is reaped *and* every pipe is closed.
Their reason is ``Failure(ProcessDone)`` for exit status 0, else
``Failure(ProcessTerminated(exitCode, signal, status))``.

Design notes
------------
Spawning (``posix_spawn``, or fork + exec when a working directory, uid
or gid is asked for) and the fd plan the child gets are in ``_spawn``.

Failing to start.  A missing or non-executable program is not raised from
``spawnProcess``: the transport is built as usual, its pipes see EOF at
once, and ``processEnded`` gets ``ProcessTerminated`` with exit code 127
(not found) or 126 (found but not runnable), the shell's convention, a
message naming the program and the OS error, and the ``OSError`` as
``__cause__``.  Bad arguments (non-str args, NUL bytes, bad ``childFDs``)
raise ``TypeError``/``ValueError`` at once, as in Twisted.

Reaping.  A pidfd becomes readable when its process exits (``pidfd_open(2)``,
Linux 5.3), so there is no SIGCHLD handler and no race with other code's
children.  Without ``pidfd_open`` the child is checked on SIGCHLD (when the
loop runs in the main thread) and on a backstop timer.  Children still
running when the reactor shuts down are left running; their pipes close.

Writes to the child use the TCP transport's pattern: try the pipe at once
when nothing is queued, queue the rest and ask for writability only then.
A producer registered for stdin (``registerProducer``) gets the TCP
transport's flow control over that queue.
A write-only pipe is also watched for reading: the kernel reports it readable
(``POLLERR``) once the child closes its end, which is how
``inConnectionLost`` is noticed without writing.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs
from zope.interface import implementer

from reactorsock import error
from reactorsock._spawn import (
    DEFAULT_CHILD_FDS,
    Plan,
    check_env,
    check_str,
    find_program,
    start_child,
    start_failure,
)
from reactorsock.channel import PipeChannel
from reactorsock.failure import Failure
from reactorsock.interfaces import IAddress, IConsumer, IProcessTransport

__all__ = ["Process", "spawn_process"]

log = logging.getLogger("reactorsock.process")

#: Bytes asked for per read: a Linux pipe's default capacity (pipe(7)).
READ_SIZE = 65536

_pidfd_open = getattr(os, "pidfd_open", None)
_pidfd_send_signal = getattr(signal, "pidfd_send_signal", None)


@implementer(IAddress)
@attrs.frozen
class _ProcessAddress:
    """The address of either end of a process transport: there is none."""


_PROCESS_ADDRESS = _ProcessAddress()


def spawn_process(
    reactor: Any,
    processProtocol: Any,
    executable: Any,
    args: Any = (),
    env: Mapping | None = None,
    path: Any = None,
    uid: int | None = None,
    gid: int | None = None,
    usePTY: bool = False,
    childFDs: Mapping[int, Any] | None = None,
) -> Process:
    """Start executable as a child of reactor's process; see ``IReactorProcess.spawnProcess``.

    Args:
        executable: the program; a name without ``/`` is looked up in the
            child environment's ``PATH`` (``os.get_exec_path(env)``), as
            ``execvpe`` does.  A relative path is relative to ``path``.
        args: the whole argv, ``args[0]`` being the program's name for
            itself; empty means ``[executable]``.  str or bytes items.
        env: the child's whole environment.  ``None`` (the default here)
            passes ``os.environ`` as it is at the call, as Twisted does for
            ``None`` on POSIX; ``{}`` (Twisted's default) an empty one.
        path: the child's working directory (None: the parent's).
        uid, gid: switch the child to these ids before exec (needs root).
            With a uid as root, the supplementary groups become the user's.
        usePTY: give the child a new pseudo-terminal as fds 0, 1 and 2 and
            make it its controlling terminal (in a new session).  Output
            arrives as ``childDataReceived(1, data)``; ``write`` goes to it;
            ``childFDs`` must then be None.
        childFDs: child fd -> ``"r"`` (the parent reads what the child
            writes), ``"w"`` (the parent writes, the child reads) or an int
            (a parent fd the child gets as this fd).  Default
            ``{0: "w", 1: "r", 2: "r"}``.  Child fds not listed are closed.

    Raises ``TypeError``/``ValueError`` for bad arguments.  A program that
    cannot be started is reported through ``processEnded``, not raised.
    """
    return Process(
        reactor, processProtocol, executable, args, env, path, uid, gid, usePTY, childFDs
    )


# ---------------------------------------------------------------------------
# Exit status


def _exit_reason(status: int | None) -> BaseException:
    if status is None:
        reason = error.ProcessTerminated()
        reason.args = ("exit status unknown: something else reaped the child",)
        return reason
    if os.WIFSIGNALED(status):
        return error.ProcessTerminated(signal=os.WTERMSIG(status), status=status)
    code = os.WEXITSTATUS(status)
    if code == 0:
        return error.ProcessDone(status)
    return error.ProcessTerminated(exitCode=code, status=status)


# ---------------------------------------------------------------------------
# Descriptors


class _Pipe:
    """The parent's end of one pipe to the child (or of the pty): a reader and/or writer."""

    __slots__ = (
        "process",
        "channel",
        "child_fd",
        "lost_fds",
        "reads",
        "closed",
        "_deliver",
        "_buffer",
        "_buffered",
        "_closing",
        "_error",
        "_writing",
        "producer",
        "_streaming",
        "_producer_paused",
    )

    def __init__(
        self, process: Process, channel: PipeChannel, child_fd: int, reads: bool, lost_fds
    ) -> None:
        self.process = process
        self.channel = channel
        self.child_fd = child_fd
        self.lost_fds = lost_fds
        self.reads = reads
        self.closed = False
        self._deliver = process.proto.childDataReceived
        self._buffer: deque[Any] = deque()
        self._buffered = 0
        self._closing = False
        self._error: OSError | None = None
        self._writing = False
        self.producer: Any = None
        self._streaming = False
        self._producer_paused = False

    def __repr__(self) -> str:
        return f"<_Pipe child fd {self.child_fd} of {self.process!r}>"

    def fileno(self) -> int:
        """The parent's fd (-1 once closed)."""
        return -1 if self.closed else self.channel

    def logPrefix(self) -> str:
        """The protocol's class name and the child fd."""
        return f"{type(self.process.proto).__name__},fd {self.child_fd}"

    def doRead(self) -> Any:
        """See ``IReadDescriptor.doRead``; for a write-only pipe, the child closed its end."""
        if not self.reads:
            return error.ConnectionDone("the child closed its end of the pipe")
        try:
            data = self.channel.read(READ_SIZE)
        except OSError as e:
            if e.errno == errno.EIO:  # a pty master once the child side hung up (pty(7))
                return error.ConnectionDone()
            return error.ConnectionLost(e)
        if data:
            self._deliver(self.child_fd, data)
            return None
        if data is None:
            return None
        return error.ConnectionDone()

    def write(self, data: Any) -> None:
        """Write data to the child, queueing what the pipe will not take now."""
        if isinstance(data, str):
            raise TypeError("write() takes bytes, not str")
        if self.closed or self._error is not None or not data:
            return
        if self._closing and self.producer is None:  # closeStdin: later writes dropped
            return
        if self._buffered or self._writing:
            # Queued behind what is there; a pull producer's write from
            # doWrite goes out on the next doWrite.
            self._buffer.append(data)
            self._buffered += len(data)
            self._check_high_water()
            return
        try:
            sent = self.channel.write(data)
        except OSError as e:
            # Report through the reactor: childConnectionLost must not run inside write().
            self._error = e
            self._start_writing()
            return
        if sent < len(data):
            self._buffer.append(memoryview(data)[sent:] if sent else data)
            self._buffered += len(data) - sent
            self._start_writing()
            self._check_high_water()

    def _check_high_water(self) -> None:
        if (
            self._buffered > self.process.highWaterMark
            and self.producer is not None
            and self._streaming
            and not self._producer_paused
        ):
            self._producer_paused = True
            self.producer.pauseProducing()

    def register_producer(self, producer: Any, streaming: bool) -> None:
        """See ``Process.registerProducer``."""
        if self.producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}: {self.producer!r} is registered"
            )
        if self.closed:
            producer.stopProducing()
            return
        self.producer = producer
        self._streaming = streaming
        self._producer_paused = False
        if not streaming:
            self._start_writing()
            producer.resumeProducing()
        elif self._buffered > self.process.highWaterMark:
            self._producer_paused = True
            producer.pauseProducing()

    def unregister_producer(self) -> None:
        """See ``Process.unregisterProducer``; a pending close then completes."""
        self.producer = None
        self._producer_paused = False
        if self._closing and not self.closed:
            self._start_writing()

    def _start_writing(self) -> None:
        if not self._writing and not self.closed:
            self._writing = True
            self.process.reactor.addWriter(self)

    def doWrite(self) -> Any:
        """See ``IWriteDescriptor.doWrite``: flush the queue, then finish a close."""
        if self._error is not None:
            return error.ConnectionLost(self._error)
        buffer, write = self._buffer, self.channel.write
        while buffer:
            chunk = buffer[0]
            try:
                sent = write(chunk)
            except OSError as e:
                return error.ConnectionLost(e)
            self._buffered -= sent
            if sent < len(chunk):
                if sent:
                    buffer[0] = memoryview(chunk)[sent:]
                if self._producer_paused and self._buffered < self.process.lowWaterMark:
                    self._producer_paused = False
                    self.producer.resumeProducing()
                return None
            buffer.popleft()
        # Everything is sent.  A producer asked for more now writes into the
        # queue (still ``_writing``), which the next call sends.
        producer = self.producer
        if producer is not None and (not self._streaming or self._producer_paused):
            self._producer_paused = False
            producer.resumeProducing()
            if self._buffered or self._error is not None:
                return None
        self._writing = False
        self.process.reactor.removeWriter(self)
        if self._closing and self.producer is None:
            return error.ConnectionDone()
        return None

    def lose(self) -> None:
        """Close after the queue is flushed (a reader: now); childConnectionLost follows."""
        if self.closed or self._closing:
            return
        self._closing = True
        if self._error is None and (self._buffered or self.producer is not None):
            # doWrite returns ConnectionDone once the queue is empty and the
            # producer unregistered (as tcp.Connection.loseConnection waits).
            self._start_writing()
            return
        reactor = self.process.reactor
        reactor.removeReader(self)
        reactor.removeWriter(self)
        reactor.callLater(0, self.connectionLost, Failure(error.ConnectionDone()))

    def connectionLost(self, reason: Failure) -> None:
        """Close the channel and tell the process (once)."""
        if self.closed:
            return
        reactor = self.process.reactor
        reactor.removeReader(self)
        reactor.removeWriter(self)
        self.closed = True
        self._buffer.clear()
        self._buffered = 0
        self.channel.close()
        producer, self.producer = self.producer, None
        if producer is not None:
            try:
                producer.stopProducing()
            except BaseException:
                log.exception("Error in stopProducing of %r", producer)
        self.process._pipe_lost(self)


class _PidfdWatcher:
    """Readable when the child has exited (pidfd_open(2)); the process then reaps it."""

    __slots__ = ("process", "fd")

    def __init__(self, process: Process, fd: int) -> None:
        self.process = process
        self.fd = fd

    def fileno(self) -> int:
        """The pidfd (-1 once closed)."""
        return self.fd

    def logPrefix(self) -> str:
        """The protocol's class name."""
        return f"{type(self.process.proto).__name__},pidfd"

    def doRead(self) -> None:
        """The child exited: reap it."""
        self.process._reap()

    def stop(self) -> None:
        if self.fd >= 0:
            self.process.reactor.removeReader(self)
            os.close(self.fd)
            self.fd = -1

    def send_signal(self, signum: int) -> None:
        if self.fd >= 0 and _pidfd_send_signal is not None:
            _pidfd_send_signal(self.fd, signum)
        else:
            os.kill(self.process.pid, signum)

    def connectionLost(self, reason: Failure) -> None:
        """Shutdown (or an error): stop watching; reap now if the child is gone."""
        self.stop()
        self.process._reap()


class _PollingWatcher:
    """The fallback without pidfd_open: reap on SIGCHLD, and on a backstop timer.

    The timer covers a loop that is not in the main thread (no handler) and a
    signal delivered to another thread while the main thread sleeps in poll.
    """

    __slots__ = ("process", "_call", "_delay")

    _watched: set[_PollingWatcher] = set()
    _handler_installed = False
    _previous_handler: Any = None

    def __init__(self, process: Process) -> None:
        self.process = process
        self._delay = 0.005
        self._call = process.reactor.callLater(0, self._check)
        self._watched.add(self)
        cls = _PollingWatcher
        if not cls._handler_installed and threading.current_thread() is threading.main_thread():
            cls._previous_handler = signal.signal(signal.SIGCHLD, _on_sigchld)
            cls._handler_installed = True

    def _check(self) -> None:
        self._call = None
        self.process._reap()
        if self.process.pid is not None and self in self._watched:
            self._delay = min(self._delay * 2, 0.5)
            self._call = self.process.reactor.callLater(self._delay, self._check)

    def stop(self) -> None:
        self._watched.discard(self)
        if self._call is not None:
            self._call.cancel()
            self._call = None
        cls = _PollingWatcher
        if (
            not cls._watched
            and cls._handler_installed
            and threading.current_thread() is threading.main_thread()
        ):
            # None: the handler was not set from Python; SIG_DFL is the best guess.
            previous = cls._previous_handler
            signal.signal(signal.SIGCHLD, signal.SIG_DFL if previous is None else previous)
            cls._handler_installed = False
            cls._previous_handler = None

    def send_signal(self, signum: int) -> None:
        os.kill(self.process.pid, signum)


def _on_sigchld(signum: int, frame: Any) -> None:
    # Runs between bytecodes of the main thread: only queue the checks.
    for watcher in list(_PollingWatcher._watched):
        watcher.process.reactor.callFromThread(watcher.process._reap)
    previous = _PollingWatcher._previous_handler
    if callable(previous):
        previous(signum, frame)


# ---------------------------------------------------------------------------
# The transport


@implementer(IProcessTransport, IConsumer)
class Process:
    """A child process and the pipes to it; see ``IProcessTransport``.

    Attributes: ``pid`` (None once reaped), ``status`` (the raw wait status
    once reaped, else None), ``proto`` (the protocol), ``pipes`` (child fd ->
    the parent's end of each pipe still open).  ``highWaterMark`` and
    ``lowWaterMark`` (bytes of queued stdin) bound the flow control of a
    producer registered for stdin, as on ``tcp.Connection``.
    """

    highWaterMark = 64 * 1024
    lowWaterMark = 16 * 1024

    def __init__(
        self,
        reactor: Any,
        proto: Any,
        executable: Any,
        args: Any,
        env: Mapping | None,
        path: Any,
        uid: int | None,
        gid: int | None,
        usePTY: bool,
        childFDs: Mapping[int, Any] | None,
    ) -> None:
        executable = check_str("executable", executable)
        if isinstance(args, str | bytes):
            raise TypeError("args must be a sequence of str or bytes, not one string")
        argv = [check_str(f"args[{i}]", a) for i, a in enumerate(args)] or [executable]
        environ = check_env(env)
        if path is not None:
            path = check_str("path", path)
        for name, value in (("uid", uid), ("gid", gid)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be an int or None, not {value!r}")
        if usePTY:
            if childFDs is not None:
                raise ValueError("childFDs cannot be combined with usePTY")
            plan = Plan.pty()
        else:
            plan = Plan.pipes(DEFAULT_CHILD_FDS if childFDs is None else childFDs)

        self.reactor = reactor
        self.proto = proto
        self.pid: int | None = None
        self.status: int | None = None
        self.pipes: dict[int, _Pipe] = {}
        self._inputs: dict[int, _Pipe] = {}  # child fd -> the pipe the parent writes it through
        self._input_fds: frozenset[int] = frozenset()
        self._reason: BaseException | None = None
        self._exit_reported = False
        self._ended = False
        self._watcher: _PidfdWatcher | _PollingWatcher | None = None
        self._executable = executable

        failure = None
        try:
            self.pid = start_child(
                find_program(executable, environ), argv, environ, plan, path, uid, gid
            )
        except OSError as e:
            failure = start_failure(executable, e)
        except BaseException:
            plan.close_parent_side()
            raise
        finally:
            plan.close_child_side()

        lost = (0, 1, 2) if usePTY else None
        for child_fd, channel, reads in plan.parent:
            pipe = _Pipe(self, channel, child_fd, reads, lost or (child_fd,))
            self.pipes[child_fd] = pipe
            reactor.addReader(pipe)
            if usePTY:
                self._inputs[0] = pipe
            elif not reads:
                self._inputs[child_fd] = pipe
        self._input_fds = frozenset(self._inputs)
        if failure is None:
            self._watch()
        else:
            reactor.callLater(0, self._exited, None, failure)
        try:
            proto.makeConnection(self)
        except BaseException:
            # The child runs and its pipes are watched: the process still ends normally.
            log.exception("Error in makeConnection of %r", proto)

    def __repr__(self) -> str:
        return f"<Process pid={self.pid} {os.fsdecode(self._executable)!r}>"

    def _watch(self) -> None:
        fd = -1
        if _pidfd_open is not None:
            try:
                fd = _pidfd_open(self.pid)
            except OSError as e:
                if e.errno == errno.ESRCH:  # reaped already (SIGCHLD set to SIG_IGN?)
                    self.reactor.callLater(0, self._reap)
                    return
        if fd >= 0:
            self._watcher = _PidfdWatcher(self, fd)
            self.reactor.addReader(self._watcher)
        else:
            self._watcher = _PollingWatcher(self)

    # -- lifecycle -------------------------------------------------------------

    def _reap(self) -> None:
        pid = self.pid
        if pid is None:
            return
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            got, status = pid, None
        if got == 0:
            return
        self._exited(status)

    def _exited(self, status: int | None, reason: BaseException | None = None) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        self.pid = None
        self.status = status
        self._reason = reason if reason is not None else _exit_reason(status)
        self._exit_reported = True
        try:
            self.proto.processExited(Failure(self._reason))
        except BaseException:
            log.exception("Error in processExited of %r", self.proto)
        self._maybe_end()

    def _pipe_lost(self, pipe: _Pipe) -> None:
        if self.pipes.get(pipe.child_fd) is pipe:
            del self.pipes[pipe.child_fd]
        for fd, p in list(self._inputs.items()):
            if p is pipe:
                del self._inputs[fd]
        for fd in pipe.lost_fds:
            try:
                self.proto.childConnectionLost(fd)
            except BaseException:
                log.exception("Error in childConnectionLost of %r", self.proto)
        self._maybe_end()

    def _maybe_end(self) -> None:
        if self._ended or self.pipes or not self._exit_reported:
            return
        self._ended = True
        try:
            self.proto.processEnded(Failure(self._reason))
        except BaseException:
            log.exception("Error in processEnded of %r", self.proto)

    # -- IProcessTransport -------------------------------------------------------

    def write(self, data: bytes) -> None:
        """See ``ITransport.write``: to the child's stdin; dropped if it has none (Twisted)."""
        pipe = self._inputs.get(0)
        if pipe is not None:
            pipe.write(data)
        elif isinstance(data, str):
            raise TypeError("write() takes bytes, not str")

    def writeSequence(self, seq: Any) -> None:
        """See ``ITransport.writeSequence``: to the child's stdin."""
        for data in seq:
            self.write(data)

    def writeToChild(self, childFD: int, data: bytes) -> None:
        """See ``IProcessTransport.writeToChild``.

        ``KeyError`` if childFD was never a pipe the parent writes; data
        written after that pipe closed is dropped, as on a closed connection.
        """
        pipe = self._inputs.get(childFD)
        if pipe is not None:
            pipe.write(data)
        elif childFD not in self._input_fds:
            raise KeyError(f"child fd {childFD} is not a pipe the parent writes to")
        elif isinstance(data, str):
            raise TypeError("write() takes bytes, not str")

    def closeChildFD(self, childFD: int) -> None:
        """See ``IProcessTransport.closeChildFD``: a pipe the parent writes is flushed first.

        With ``usePTY`` it does nothing: the pty's fds close together
        (``loseConnection``), as in Twisted.
        """
        pipe = self.pipes.get(childFD)
        if pipe is not None and pipe.lost_fds == (childFD,):
            pipe.lose()

    def closeStdin(self) -> None:
        """See ``IProcessTransport.closeStdin``: close fd 0 once what was written is sent."""
        self.closeChildFD(0)

    def closeStdout(self) -> None:
        """Stop reading the child's fd 1 and close the pipe."""
        self.closeChildFD(1)

    def closeStderr(self) -> None:
        """Stop reading the child's fd 2 and close the pipe."""
        self.closeChildFD(2)

    def loseConnection(self) -> None:
        """See ``ITransport.loseConnection``: close fds 0, 1 and 2 (fd 0 after flushing).

        Other child fds stay open, as in Twisted.  With ``usePTY`` the pty
        closes once flushed, which hangs up the child's terminal.
        """
        for fd in (0, 1, 2):
            pipe = self.pipes.get(fd)
            if pipe is not None:
                pipe.lose()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """See ``IConsumer.registerProducer``: a producer for the child's stdin.

        A streaming producer is paused while more than ``highWaterMark``
        bytes wait for the pipe and resumed below ``lowWaterMark``; a pull
        producer (``streaming`` false) is asked for data at once and again
        each time the queue drains.  Without a stdin pipe (or once it is
        closed) the producer is stopped at once, as in Twisted; when the
        pipe closes it is stopped too.  ``closeStdin``/``loseConnection``
        wait for ``unregisterProducer`` before closing stdin.
        ``RuntimeError`` if a producer is registered already.
        """
        pipe = self._inputs.get(0)
        if pipe is None:
            producer.stopProducing()
        else:
            pipe.register_producer(producer, streaming)

    def unregisterProducer(self) -> None:
        """See ``IConsumer.unregisterProducer``; a pending ``closeStdin`` then completes."""
        pipe = self._inputs.get(0)
        if pipe is not None:
            pipe.unregister_producer()

    def pauseProducing(self) -> None:
        """Stop reading the child's output (the pipes fill up and the child blocks)."""
        for pipe in self.pipes.values():
            if pipe.reads and not pipe.closed and not pipe._closing:
                self.reactor.removeReader(pipe)

    def resumeProducing(self) -> None:
        """Read the child's output again after ``pauseProducing``."""
        for pipe in self.pipes.values():
            if pipe.reads and not pipe.closed and not pipe._closing:
                self.reactor.addReader(pipe)

    def signalProcess(self, signalID: str | int) -> None:
        """See ``IProcessTransport.signalProcess``: ``'TERM'``, ``'SIGKILL'``, 9 ...

        ``ValueError`` for an unknown signal name, ``ProcessExitedAlready``
        once the child has been reaped.  The signal goes through the pidfd
        where there is one, so a reused pid is never hit.
        """
        if isinstance(signalID, str):
            name = signalID.upper()
            signum = getattr(signal, name if name.startswith("SIG") else "SIG" + name, None)
            if not isinstance(signum, signal.Signals):
                raise ValueError(f"unknown signal {signalID!r}")
        elif isinstance(signalID, int) and not isinstance(signalID, bool):
            signum = signalID
        else:
            raise TypeError(f"signalID must be a signal name or number, not {signalID!r}")
        if self.pid is None:
            raise error.ProcessExitedAlready()
        try:
            if self._watcher is not None:
                self._watcher.send_signal(signum)
            else:
                os.kill(self.pid, signum)
        except ProcessLookupError:
            raise error.ProcessExitedAlready() from None

    def getHost(self) -> _ProcessAddress:
        """See ``ITransport.getHost``: a process has no address."""
        return _PROCESS_ADDRESS

    def getPeer(self) -> _ProcessAddress:
        """See ``ITransport.getPeer``: a process has no address."""
        return _PROCESS_ADDRESS
