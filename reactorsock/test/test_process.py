"""Tests for ``reactorsock.process``: real child processes on every backend."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import textwrap

import pytest
from zope.interface.verify import verifyObject

from reactorsock import error, process
from reactorsock.channel import PipeChannel
from reactorsock.defer import Deferred
from reactorsock.interfaces import IProcessTransport, IReactorProcess
from reactorsock.protocol import ProcessProtocol
from reactorsock.test._util import iterate_until, run_until

PY = sys.executable


class Recorder(ProcessProtocol):
    """Records every callback; ``ended`` fires (with the reason) at processEnded."""

    def __init__(self) -> None:
        self.data: dict[int, bytearray] = {}
        self.out = bytearray()
        self.err = bytearray()
        self.events: list = []
        self.exit_reason = None
        self.reason = None
        self.ended = Deferred()

    def connectionMade(self) -> None:
        self.events.append("made")

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.data.setdefault(childFD, bytearray()).extend(data)
        super().childDataReceived(childFD, data)

    def outReceived(self, data: bytes) -> None:
        self.out += data

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def childConnectionLost(self, childFD: int) -> None:
        self.events.append(("lost", childFD))
        super().childConnectionLost(childFD)

    def inConnectionLost(self) -> None:
        self.events.append("in lost")

    def processExited(self, reason) -> None:
        self.events.append("exited")
        self.exit_reason = reason

    def processEnded(self, reason) -> None:
        self.events.append("ended")
        self.reason = reason
        self.ended.callback(reason.value)


def spawn(reactor, args, proto=None, **kw):
    proto = Recorder() if proto is None else proto
    transport = reactor.spawnProcess(proto, args[0], args, **kw)
    return proto, transport


def wait_ended(reactor, proto, timeout: float = 10.0):
    """Run until processEnded; return the reason's exception."""
    return run_until(reactor, proto.ended, timeout)


def py(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def lost_fds(proto) -> list[int]:
    return sorted(e[1] for e in proto.events if isinstance(e, tuple))


# -- interfaces ----------------------------------------------------------------


def test_provides(reactor):
    assert verifyObject(IReactorProcess, reactor)
    proto, transport = spawn(reactor, ["/bin/true"])
    assert verifyObject(IProcessTransport, transport)
    assert proto.transport is transport and proto.events == ["made"]
    assert isinstance(transport.pid, int)
    wait_ended(reactor, proto)


# -- data ----------------------------------------------------------------------


def test_cat_round_trips_10_mb(reactor):
    payload = os.urandom(10 * 1024 * 1024)
    proto, transport = spawn(reactor, ["/bin/cat"])
    transport.write(payload)
    transport.closeStdin()
    reason = wait_ended(reactor, proto, timeout=20)
    assert isinstance(reason, error.ProcessDone)
    assert len(proto.out) == len(payload)
    assert proto.out == payload


def test_write_sequence_and_small_writes_keep_order(reactor):
    proto, transport = spawn(reactor, ["/bin/cat"])
    chunks = [b"%d," % i for i in range(2000)]
    transport.writeSequence(chunks[:1000])
    for chunk in chunks[1000:]:
        transport.write(chunk)
    transport.write(b"")
    transport.closeStdin()
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b"".join(chunks)


def test_write_rejects_str(reactor):
    proto, transport = spawn(reactor, ["/bin/cat"])
    with pytest.raises(TypeError):
        transport.write("text")
    transport.closeStdin()
    wait_ended(reactor, proto)


def test_stdout_and_stderr_told_apart(reactor):
    code = """
        import os
        os.write(1, b"to out")
        os.write(2, b"to err")
        os.write(1, b" more out")
    """
    proto, _ = spawn(reactor, py(code))
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b"to out more out"
    assert bytes(proto.err) == b"to err"


def test_close_stdin_makes_cat_exit(reactor):
    proto, transport = spawn(reactor, ["/bin/cat"])
    transport.write(b"abc")
    transport.closeStdin()
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone)
    assert bytes(proto.out) == b"abc"
    assert proto.events.count("in lost") == 1
    assert lost_fds(proto) == [0, 1, 2]


def test_lose_connection_flushes_stdin_first(reactor, tmp_path):
    target = tmp_path / "out"
    payload = os.urandom(2 * 1024 * 1024)
    proto, transport = spawn(reactor, ["/bin/sh", "-c", f"cat > {target}"])
    transport.write(payload)
    transport.loseConnection()
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone)
    assert target.read_bytes() == payload


def test_child_closing_stdin_is_noticed_without_writing(reactor):
    proto, transport = spawn(reactor, ["/bin/sh", "-c", "exec 0<&-; read x; sleep 0.3"])
    iterate_until(reactor, lambda: "in lost" in proto.events)
    assert "exited" not in proto.events
    transport.write(b"dropped: the pipe is closed")  # neither raises nor resurrects it
    wait_ended(reactor, proto)
    assert proto.events.count("in lost") == 1


def test_writing_to_a_child_that_stopped_reading(reactor):
    """EPIPE on a write is reported as childConnectionLost(0), not raised."""
    proto, transport = spawn(reactor, ["/bin/sh", "-c", "exec 0<&-; sleep 0.2"])
    for _ in range(20):
        transport.write(b"x" * 65536)
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone)
    assert proto.events.count("in lost") == 1
    transport.write(b"after the end")


def test_write_to_unknown_child_fd_raises(reactor):
    proto, transport = spawn(reactor, ["/bin/cat"])
    with pytest.raises(KeyError):
        transport.writeToChild(1, b"fd 1 is read by the parent")
    with pytest.raises(KeyError):
        transport.writeToChild(7, b"no such pipe")
    transport.closeStdin()
    wait_ended(reactor, proto)
    transport.writeToChild(0, b"closed: dropped")


def test_write_without_stdin_pipe_is_dropped(reactor):
    proto, transport = spawn(reactor, ["/bin/sh", "-c", "echo out"], childFDs={1: "r"})
    transport.write(b"no stdin pipe: dropped, as in Twisted")
    transport.writeSequence([b"also dropped"])
    with pytest.raises(TypeError):
        transport.write("still not str")
    with pytest.raises(KeyError):
        transport.writeToChild(0, b"an explicit fd must exist")
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b"out\n"


def test_pause_and_resume_producing(reactor):
    proto, transport = spawn(reactor, ["/bin/sh", "-c", "echo one; read x; echo two"])
    iterate_until(reactor, lambda: proto.out == b"one\n")
    transport.pauseProducing()
    transport.write(b"go\n")
    iterate_until(reactor, lambda: "exited" in proto.events)
    for _ in range(5):
        reactor.iterate(0.01)
    assert proto.out == b"one\n"  # "two" waits in the pipe
    transport.resumeProducing()
    wait_ended(reactor, proto)
    assert proto.out == b"one\ntwo\n"


def test_error_in_connection_made_is_logged(reactor, caplog):
    class Broken(Recorder):
        def connectionMade(self) -> None:
            raise RuntimeError("boom in connectionMade")

    with caplog.at_level(logging.ERROR):
        proto, transport = spawn(reactor, ["/bin/sh", "-c", "exit 0"], proto=Broken())
        reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone)
    assert "boom in connectionMade" in caplog.text


# -- exit status and signals ------------------------------------------------------


def test_exit_zero_is_process_done(reactor):
    proto, transport = spawn(reactor, ["/bin/sh", "-c", "exit 0"])
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone)
    assert proto.exit_reason.value is reason
    assert reason.exitCode == 0 and reason.signal is None and reason.status == 0
    assert transport.pid is None and transport.status == 0


def test_exit_code_reported(reactor):
    proto, transport = spawn(reactor, ["/bin/sh", "-c", "exit 3"])
    reason = wait_ended(reactor, proto)
    assert proto.reason.check(error.ProcessTerminated)
    assert reason.exitCode == 3 and reason.signal is None
    assert os.WIFEXITED(reason.status) and os.WEXITSTATUS(reason.status) == 3
    assert isinstance(proto.exit_reason.value, error.ProcessTerminated)
    assert "exit code 3" in proto.reason.getErrorMessage()


@pytest.mark.parametrize(
    ("how", "signum"),
    [
        ("KILL", signal.SIGKILL),
        ("TERM", signal.SIGTERM),
        ("INT", signal.SIGINT),
        ("HUP", signal.SIGHUP),
        ("SIGUSR1", signal.SIGUSR1),
        (signal.SIGKILL.value, signal.SIGKILL),
    ],
)
def test_killed_by_signal_reported(reactor, how, signum):
    proto, transport = spawn(reactor, ["/bin/sleep", "30"])
    transport.signalProcess(how)
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessTerminated)
    assert reason.signal == signum and reason.exitCode is None
    assert os.WIFSIGNALED(reason.status) and os.WTERMSIG(reason.status) == signum
    assert transport.pid is None
    with pytest.raises(error.ProcessExitedAlready):
        transport.signalProcess("KILL")


@pytest.mark.parametrize("fork", [False, True], ids=["posix_spawn", "fork"])
def test_child_does_not_inherit_ignored_signals(reactor, fork, tmp_path):
    """A parent that ignores SIGINT (a background job) still gets a killable child."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        kw = {"path": str(tmp_path)} if fork else {}
        proto, transport = spawn(reactor, ["/bin/sleep", "30"], **kw)
    finally:
        signal.signal(signal.SIGINT, old)
    transport.signalProcess("INT")
    assert wait_ended(reactor, proto).signal == signal.SIGINT


def test_signal_process_rejects_bad_signals(reactor):
    proto, transport = spawn(reactor, ["/bin/sleep", "30"])
    with pytest.raises(ValueError):
        transport.signalProcess("NOSUCHSIGNAL")
    with pytest.raises(ValueError):
        transport.signalProcess("BLOCK")  # signal.SIG_BLOCK is an int, not a signal
    with pytest.raises(TypeError):
        transport.signalProcess(1.5)
    transport.signalProcess("KILL")
    wait_ended(reactor, proto)


def test_killing_a_child_mid_write_leaks_no_fds(reactor):
    before = open_fds()
    proto = Recorder()
    killed = []

    def out_received(data: bytes) -> None:
        proto.out += data
        if not killed:
            killed.append(True)
            transport.signalProcess("KILL")

    proto.outReceived = out_received
    transport = reactor.spawnProcess(proto, "/bin/cat", ["cat"])
    transport.write(os.urandom(10 * 1024 * 1024))
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessTerminated) and reason.signal == signal.SIGKILL
    assert len(proto.out) < 10 * 1024 * 1024
    assert lost_fds(proto) == [0, 1, 2]
    assert open_fds() == before


def test_100_concurrent_children_all_reaped(reactor):
    before = open_fds()
    children = [spawn(reactor, ["/bin/sh", "-c", f"exit {i % 5}"]) for i in range(100)]
    pids = [t.pid for _, t in children]
    assert len(set(pids)) == 100
    iterate_until(reactor, lambda: all(p.reason is not None for p, _ in children), timeout=20)
    for i, (proto, transport) in enumerate(children):
        assert proto.reason.value.exitCode == i % 5
        assert transport.pid is None
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        # The pid was reused by some other process: it must not be our zombie.
        assert int(fields[1]) != os.getpid() or fields[0] != "Z"
    assert open_fds() == before


def test_exit_seen_before_a_grandchild_closes_stdout(reactor):
    """processExited comes at reaping; processEnded waits for the pipes."""
    proto, _ = spawn(reactor, ["/bin/sh", "-c", "(sleep 0.3; echo late) & exit 0"])
    iterate_until(reactor, lambda: "exited" in proto.events)
    assert ("lost", 1) not in proto.events
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b"late\n"
    assert proto.events.index("exited") < proto.events.index(("lost", 1))
    assert proto.events[-1] == "ended"


def test_callback_order(reactor):
    proto, transport = spawn(reactor, ["/bin/cat"])
    transport.write(b"x")
    transport.closeStdin()
    wait_ended(reactor, proto)
    events = proto.events
    assert events[0] == "made" and events[-1] == "ended"
    assert events.count("ended") == 1 and events.count("exited") == 1
    assert lost_fds(proto) == [0, 1, 2]
    assert events.index(("lost", 0)) < events.index("ended")


def test_errors_in_callbacks_are_logged_and_the_process_still_ends(reactor, caplog):
    class Broken(Recorder):
        def processExited(self, reason) -> None:
            super().processExited(reason)
            raise RuntimeError("boom in processExited")

        def childConnectionLost(self, childFD: int) -> None:
            super().childConnectionLost(childFD)
            raise RuntimeError("boom in childConnectionLost")

    proto, _ = spawn(reactor, ["/bin/sh", "-c", "exit 4"], proto=Broken())
    with caplog.at_level(logging.ERROR):
        reason = wait_ended(reactor, proto)
    assert reason.exitCode == 4
    assert "boom in processExited" in caplog.text
    assert "boom in childConnectionLost" in caplog.text


# -- environment, working directory, ids -------------------------------------------


def test_env_is_the_whole_environment(reactor):
    proto, _ = spawn(reactor, ["/usr/bin/env"], env={"FOO": "bar", b"RAW": b"bytes"})
    wait_ended(reactor, proto)
    assert sorted(bytes(proto.out).splitlines()) == [b"FOO=bar", b"RAW=bytes"]


def test_empty_env_is_empty(reactor):
    proto, _ = spawn(reactor, ["/usr/bin/env"], env={})
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b""


def test_env_none_inherits_os_environ(reactor, monkeypatch):
    monkeypatch.setenv("REACTORSOCK_PROCESS_TEST", "inherited")
    proto, _ = spawn(reactor, ["/usr/bin/env"])
    wait_ended(reactor, proto)
    assert b"REACTORSOCK_PROCESS_TEST=inherited\n" in proto.out


def test_program_found_on_the_child_environments_path(reactor, tmp_path):
    prog = tmp_path / "reactorsock-test-prog"
    prog.write_text("#!/bin/sh\necho found $0\n")
    prog.chmod(0o755)
    proto = Recorder()
    reactor.spawnProcess(proto, prog.name, [prog.name], env={"PATH": str(tmp_path)})
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone)
    assert bytes(proto.out) == f"found {prog}\n".encode()


def test_cwd_honoured(reactor, tmp_path):
    proto, _ = spawn(reactor, ["/bin/pwd", "-P"], path=tmp_path)
    wait_ended(reactor, proto)
    assert bytes(proto.out).decode().strip() == os.path.realpath(tmp_path)


def test_relative_executable_is_relative_to_cwd(reactor, tmp_path):
    (tmp_path / "prog").write_text("#!/bin/sh\necho relative\n")
    (tmp_path / "prog").chmod(0o755)
    proto, _ = spawn(reactor, ["./prog"], path=str(tmp_path))
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b"relative\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="switching uid/gid needs root")
def test_uid_and_gid(reactor):
    code = "import os; print(os.getuid(), os.geteuid(), os.getgid(), os.getgroups())"
    proto, _ = spawn(reactor, py(code), uid=65534, gid=65534)
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone), bytes(proto.err)
    assert bytes(proto.out) == b"65534 65534 65534 [65534]\n"


# -- programs that cannot start ------------------------------------------------------


@pytest.mark.parametrize("fork", [False, True], ids=["posix_spawn", "fork"])
def test_nonexistent_executable_ends_the_process(reactor, fork, tmp_path):
    before = open_fds()
    kw = {"path": str(tmp_path)} if fork else {}
    proto, transport = spawn(reactor, ["/nonexistent/prog", "arg"], **kw)
    assert proto.events == ["made"]  # no exception, nothing delivered yet
    assert transport.pid is None
    with pytest.raises(error.ProcessExitedAlready):
        transport.signalProcess("TERM")
    transport.write(b"goes nowhere")
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessTerminated)
    assert reason.exitCode == 127
    message = proto.reason.getErrorMessage()
    assert "/nonexistent/prog" in message and "No such file or directory" in message
    assert isinstance(reason.__cause__, OSError) and reason.__cause__.errno == errno.ENOENT
    assert proto.exit_reason.value is reason
    assert lost_fds(proto) == [0, 1, 2]
    assert open_fds() == before


def test_program_not_on_path(reactor):
    proto, _ = spawn(reactor, ["reactorsock-no-such-program"], env={"PATH": "/nonexistent"})
    reason = wait_ended(reactor, proto)
    assert reason.exitCode == 127
    assert "reactorsock-no-such-program" in proto.reason.getErrorMessage()


@pytest.mark.parametrize("fork", [False, True], ids=["posix_spawn", "fork"])
def test_directory_is_not_executable(reactor, fork, tmp_path):
    kw = {"path": "/"} if fork else {}
    proto, _ = spawn(reactor, [str(tmp_path)], **kw)
    reason = wait_ended(reactor, proto)
    assert reason.exitCode == 126
    assert "Permission denied" in proto.reason.getErrorMessage()


def test_nonexistent_cwd_ends_the_process(reactor, tmp_path):
    proto, _ = spawn(reactor, ["/bin/true"], path=str(tmp_path / "missing"))
    reason = wait_ended(reactor, proto)
    assert reason.exitCode == 127
    assert "chdir" in proto.reason.getErrorMessage()


@pytest.mark.parametrize(
    ("kw", "exc"),
    [
        ({"args": ["/bin/true", 1]}, TypeError),
        ({"args": "/bin/true -x"}, TypeError),
        ({"childFDs": {1: 987654}}, OSError),  # not an open fd
        ({"args": ["/bin/true", "a\0b"]}, ValueError),
        ({"executable": None}, TypeError),
        ({"env": {"A": 1}}, TypeError),
        ({"env": {"A=B": "x"}}, ValueError),
        ({"env": ["A=B"]}, TypeError),
        ({"childFDs": {0: "x"}}, ValueError),
        ({"childFDs": {-1: "r"}}, ValueError),
        ({"childFDs": {1: "r"}, "usePTY": True}, ValueError),
        ({"uid": "root"}, TypeError),
    ],
)
def test_bad_arguments_raise_at_once(reactor, kw, exc):
    before = open_fds()
    call = {"executable": "/bin/true", "args": ["/bin/true"], **kw}
    with pytest.raises(exc):
        reactor.spawnProcess(Recorder(), **call)
    assert open_fds() == before


def test_empty_args_mean_the_executable(reactor):
    proto = Recorder()
    reactor.spawnProcess(proto, "/bin/sh", (), env={})
    proto.transport.write(b"echo $0\n")
    proto.transport.closeStdin()
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b"/bin/sh\n"


# -- childFDs ------------------------------------------------------------------------


def test_extra_child_fd_3_read(reactor):
    code = """
        import os
        os.write(3, b"on three")
        os.write(1, b"on one")
    """
    proto, transport = spawn(reactor, py(code), childFDs={0: "w", 1: "r", 2: "r", 3: "r"})
    wait_ended(reactor, proto)
    assert bytes(proto.data[3]) == b"on three"
    assert bytes(proto.out) == b"on one"
    assert lost_fds(proto) == [0, 1, 2, 3]


def test_extra_child_fd_3_write(reactor):
    proto, transport = spawn(reactor, ["/bin/sh", "-c", "cat <&3"], childFDs={1: "r", 3: "w"})
    transport.writeToChild(3, b"via fd 3")
    transport.closeChildFD(3)
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone)
    assert bytes(proto.out) == b"via fd 3"


def test_unlisted_child_fds_are_closed(reactor):
    code = """
        import os
        for fd in (0, 2, 3):
            try:
                os.fstat(fd)
                os.write(1, b"open ")
            except OSError:
                os.write(1, b"closed ")
    """
    proto, _ = spawn(reactor, py(code), childFDs={1: "r"})
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b"closed closed closed "


@pytest.mark.parametrize("fork", [False, True], ids=["posix_spawn", "fork"])
def test_inheritable_parent_fds_are_not_inherited(reactor, fork, tmp_path):
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        os.set_inheritable(fd, True)
        code = f"""
            import os
            try:
                os.fstat({fd})
                print("inherited")
            except OSError:
                print("closed")
        """
        kw = {"path": str(tmp_path)} if fork else {}
        proto, _ = spawn(reactor, py(code), **kw)
        wait_ended(reactor, proto)
    finally:
        os.close(fd)
    assert bytes(proto.out) == b"closed\n"


def test_parent_fd_passed_through(reactor):
    r, w = os.pipe()
    try:
        proto, _ = spawn(reactor, ["/bin/sh", "-c", "echo passed"], childFDs={1: w, 2: "r"})
        os.close(w)
        w = -1
        wait_ended(reactor, proto)
        assert os.read(r, 100) == b"passed\n"
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def _free_fd_pair() -> int:
    for n in range(60, 1000, 2):
        if all(_closed(fd) for fd in (n, n + 1)):
            return n
    raise AssertionError("no free fd pair")


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def test_child_fds_may_swap_numbers(reactor):
    """{n: n + 1, n + 1: n}: each source is also the other's target."""
    n = _free_fd_pair()
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    try:
        os.dup2(a_w, n + 1)  # child fd n gets parent fd n + 1: pipe a
        os.dup2(b_w, n)  # child fd n + 1 gets parent fd n: pipe b
        code = f"import os; os.write({n}, b'to a'); os.write({n + 1}, b'to b')"
        proto, _ = spawn(reactor, py(code), childFDs={1: "r", 2: "r", n: n + 1, n + 1: n})
        for fd in (a_w, b_w, n, n + 1):
            os.close(fd)
        wait_ended(reactor, proto)
        assert bytes(proto.err) == b""
        assert os.read(a_r, 100) == b"to a"
        assert os.read(b_r, 100) == b"to b"
    finally:
        os.close(a_r)
        os.close(b_r)


# -- pty ---------------------------------------------------------------------------


def test_use_pty_gives_a_controlling_terminal(reactor):
    code = """
        import os
        print(os.isatty(0), os.isatty(1), os.isatty(2), os.getsid(0) == os.getpid())
        print(os.tcgetpgrp(0) == os.getpgrp())
    """
    proto, _ = spawn(reactor, py(code), usePTY=True)
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessDone)
    assert bytes(proto.out) == b"True True True True\r\nTrue\r\n"
    assert lost_fds(proto) == [0, 1, 2]


def test_use_pty_round_trip_and_hang_up(reactor):
    proto, transport = spawn(reactor, ["/bin/cat"], usePTY=True)
    transport.write(b"ping\n")
    # The terminal echoes the line, then cat writes it back.
    iterate_until(reactor, lambda: proto.out.count(b"ping") >= 2)
    transport.closeStdin()  # no-op on a pty, as in Twisted
    transport.loseConnection()
    reason = wait_ended(reactor, proto)
    assert isinstance(reason, error.ProcessTerminated)
    assert reason.signal == signal.SIGHUP or reason.exitCode


# -- reaping without pidfd_open ------------------------------------------------------------


def test_reaping_without_pidfd(reactor, monkeypatch):
    monkeypatch.setattr(process, "_pidfd_open", None)
    handler = signal.getsignal(signal.SIGCHLD)
    children = [spawn(reactor, ["/bin/sh", "-c", f"exit {i}"]) for i in range(10)]
    sleeper, transport = spawn(reactor, ["/bin/sleep", "30"])
    assert isinstance(transport._watcher, process._PollingWatcher)
    assert signal.getsignal(signal.SIGCHLD) is not handler
    transport.signalProcess("TERM")
    iterate_until(reactor, lambda: all(p.reason is not None for p, _ in children))
    assert [p.reason.value.exitCode for p, _ in children] == list(range(10))
    assert wait_ended(reactor, sleeper).signal == signal.SIGTERM
    for _, t in children:
        assert t.pid is None
    assert signal.getsignal(signal.SIGCHLD) == handler


# -- shutdown --------------------------------------------------------------------------


def test_reactor_shutdown_closes_pipes_and_leaves_the_child(reactor):
    proto = Recorder()
    box = []

    def start() -> None:
        box.append(reactor.spawnProcess(proto, "/bin/sleep", ["sleep", "30"]))
        reactor.callLater(0.05, reactor.stop)

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    transport = box[0]
    try:
        assert lost_fds(proto) == [0, 1, 2]
        assert "ended" not in proto.events
        assert transport.pid is not None
    finally:
        pid = transport.pid
        transport.signalProcess("KILL")
        os.waitpid(pid, 0)


# -- a user's own pipes in the reactor ----------------------------------------------------


class PipeReader:
    def __init__(self, channel) -> None:
        self.channel = channel
        self.data = bytearray()
        self.reason = None

    def fileno(self):
        return self.channel

    def logPrefix(self) -> str:
        return "PipeReader"

    def doRead(self):
        data = self.channel.read(65536)
        if data:
            self.data += data
            return None
        return None if data is None else error.ConnectionDone()

    def connectionLost(self, reason) -> None:
        self.reason = reason
        self.channel.close()


class PipeWriter:
    def __init__(self, channel, payload: bytes) -> None:
        self.channel = channel
        self.left = memoryview(payload)
        self.writes = 0

    def fileno(self):
        return self.channel

    def logPrefix(self) -> str:
        return "PipeWriter"

    def doWrite(self):
        self.writes += 1
        sent = self.channel.write(self.left[:65536])
        self.left = self.left[sent:]
        if not self.left:
            return error.ConnectionDone()
        return None

    def connectionLost(self, reason) -> None:
        self.channel.close()


def test_users_pipe_channels_with_add_reader_and_add_writer(reactor):
    source, sink = PipeChannel.pipe()
    payload = os.urandom(1024 * 1024)
    reader, writer = PipeReader(source), PipeWriter(sink, payload)
    reactor.addReader(reader)
    reactor.addWriter(writer)
    iterate_until(reactor, lambda: reader.reason is not None)
    assert bytes(reader.data) == payload
    assert writer.writes > 1  # the pipe filled up and the reactor waited for room
    assert reader.reason.check(error.ConnectionDone)
    assert reactor.getReaders() == [] and reactor.getWriters() == []


def test_users_raw_pipe_fd_with_add_reader(reactor):
    r, w = os.pipe()
    reader = PipeReader(PipeChannel.from_fd(r))
    reactor.addReader(reader)
    try:
        os.write(w, b"raw fd")
        iterate_until(reactor, lambda: reader.data == b"raw fd")
    finally:
        os.close(w)
    iterate_until(reactor, lambda: reader.reason is not None)
    assert reactor.getReaders() == []


# -- stdin as an IConsumer ------------------------------------------------------------


class StreamingProducer:
    """Pushes payload to stdin, several chunks per reactor turn, until paused."""

    def __init__(self, reactor, transport, payload: bytes, chunk: int = 65536) -> None:
        self.reactor = reactor
        self.transport = transport
        self.left = memoryview(payload)
        self.chunk = chunk
        self.paused = False
        self.pauses = 0
        self.stopped = False
        self.most_queued = 0
        self._call = None

    def start(self) -> None:
        self.transport.registerProducer(self, True)
        self._schedule()

    def _schedule(self) -> None:
        if self._call is None and not self.paused and not self.stopped:
            self._call = self.reactor.callLater(0, self._tick)

    def _tick(self) -> None:
        self._call = None
        for _ in range(4):  # more than the pipe holds: the queue must grow
            if self.paused or self.stopped or not self.left:
                break
            self.transport.write(bytes(self.left[: self.chunk]))
            self.left = self.left[self.chunk :]
            pipe = self.transport.pipes.get(0)
            if pipe is not None:
                self.most_queued = max(self.most_queued, pipe._buffered)
        if not self.left and not self.stopped:
            self.stopped = True
            self.transport.closeStdin()  # waits for unregisterProducer
            self.transport.unregisterProducer()
            return
        self._schedule()

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1

    def resumeProducing(self) -> None:
        self.paused = False
        self._schedule()

    def stopProducing(self) -> None:
        self.stopped = True


class PullProducer:
    """Writes one chunk to stdin each time it is asked."""

    def __init__(self, transport, payload: bytes, chunk: int = 100_000) -> None:
        self.transport = transport
        self.left = memoryview(payload)
        self.chunk = chunk
        self.asked = 0
        self.stopped = False

    def resumeProducing(self) -> None:
        self.asked += 1
        if not self.left:
            self.transport.unregisterProducer()
            self.transport.closeStdin()
            return
        self.transport.write(bytes(self.left[: self.chunk]))
        self.left = self.left[self.chunk :]

    def stopProducing(self) -> None:
        self.stopped = True


def test_streaming_producer_through_cat_is_flow_controlled(reactor):
    payload = os.urandom(8 * 1024 * 1024)
    proto, transport = spawn(reactor, ["/bin/cat"])
    producer = StreamingProducer(reactor, transport, payload)
    producer.start()
    reason = wait_ended(reactor, proto, timeout=30)
    assert isinstance(reason, error.ProcessDone)
    assert len(proto.out) == len(payload)
    assert proto.out == payload
    assert producer.pauses > 0  # the queue passed the high-water mark ...
    # ... and the producer stopped there: one turn's writes past the mark at most.
    assert producer.most_queued <= transport.highWaterMark + 4 * producer.chunk


def test_pull_producer_through_cat(reactor):
    payload = os.urandom(3 * 1024 * 1024)
    proto, transport = spawn(reactor, ["/bin/cat"])
    producer = PullProducer(transport, payload)
    transport.registerProducer(producer, False)
    reason = wait_ended(reactor, proto, timeout=30)
    assert isinstance(reason, error.ProcessDone)
    assert proto.out == payload
    assert producer.asked == len(payload) // producer.chunk + 2  # + the last chunk, + "done"
    assert not producer.stopped


def test_close_stdin_waits_for_the_producer_to_unregister(reactor):
    proto, transport = spawn(reactor, ["/bin/cat"])
    producer = PullProducer(transport, b"", chunk=1)
    producer.resumeProducing = lambda: None  # an idle producer
    transport.registerProducer(producer, True)
    transport.write(b"before")
    transport.closeStdin()
    transport.write(b" and while closing")  # the producer's writes still go out
    for _ in range(5):
        reactor.iterate(0.01)
    assert "in lost" not in proto.events
    with pytest.raises(RuntimeError):
        transport.registerProducer(PullProducer(transport, b""), False)
    transport.unregisterProducer()
    wait_ended(reactor, proto)
    assert bytes(proto.out) == b"before and while closing"
    assert proto.events.count("in lost") == 1


def test_producer_without_stdin_is_stopped(reactor):
    proto, transport = spawn(reactor, ["/bin/true"], childFDs={1: "r", 2: "r"})
    producer = PullProducer(transport, b"data")
    transport.registerProducer(producer, False)
    assert producer.stopped and producer.asked == 0
    transport.unregisterProducer()  # nothing registered: no error
    wait_ended(reactor, proto)


def test_producer_stopped_when_the_child_closes_stdin(reactor):
    proto, transport = spawn(reactor, ["/bin/sh", "-c", "exec 0<&-; sleep 0.2"])
    producer = StreamingProducer(reactor, transport, b"x" * (1 << 30))
    transport.registerProducer(producer, True)  # never writes: it waits to be resumed
    wait_ended(reactor, proto)
    assert producer.stopped
    assert proto.events.count("in lost") == 1
