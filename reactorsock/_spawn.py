"""Spawning a child: argument checks, the fd plan, and ``posix_spawn`` or fork + exec.

``Plan`` says what the child's fds should be and holds the parent's ends
of its pipes; ``start_child`` runs the child with that plan and returns its pid
(or raises ``OSError`` naming the step that failed).  This module starts a
child and nothing more: watching it, its pipes and its exit are the
``process.Process`` transport's, and ``reactor.spawnProcess``
(``process.spawn_process``) is the public entry point.

Design notes
------------
Spawning.  ``os.posix_spawn`` (vfork-like, no page-table copy) starts the
child when no working directory, uid or gid is asked for; otherwise
``os.fork`` + ``os.execve``, with the child's failure (errno and the step
that failed) sent back through a close-on-exec pipe, as Twisted and
``subprocess`` do.  Python 3.11's ``posix_spawn`` has no chdir action
(``POSIX_SPAWN_CHDIR`` needs 3.13's ``posix_spawn_file_actions_addchdir_np``).
Remove the fork path for ``path`` when 3.12 support ends.

Both paths run the same fd plan.  Every fd the child should get is first
duplicated in the parent, close-on-exec, *above* every target fd number; the
child then only ``dup2``s those copies onto their targets.  As no source is
also a target, the order of the ``dup2``s does not matter, so mappings such
as ``{1: 2, 2: 1}`` need no cycle breaking (Twisted's ``_setupChild`` sorts
them out by hand).  Inheritable fds the child did not ask for are closed
(listed from ``/proc/self/fd``), as Twisted closes every fd not in
``childFDs``; Python's own fds are close-on-exec anyway (PEP 446).
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
from collections.abc import Mapping
from typing import Any

from reactorsock import error
from reactorsock.channel import PipeChannel

__all__ = [
    "DEFAULT_CHILD_FDS",
    "Plan",
    "check_env",
    "check_str",
    "find_program",
    "start_child",
    "start_failure",
]

DEFAULT_CHILD_FDS = {0: "w", 1: "r", 2: "r"}

# Signals that can be set to SIG_IGN.  Ignored signals survive exec(2).
_SIGNALS = tuple(s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))


def _ignored_signals() -> list[int]:
    """The signals this process ignores, which the child gets back at their defaults.

    Python itself ignores SIGPIPE and SIGXFSZ, and a shell ignores SIGINT and
    SIGQUIT for a background job; a child should not inherit either (Twisted
    resets them too; subprocess's ``restore_signals`` does the first part).
    """
    getsignal, ignored = signal.getsignal, signal.SIG_IGN
    return [s for s in _SIGNALS if getsignal(s) == ignored]


def check_str(what: str, value: Any) -> str | bytes:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str | bytes):
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")
    if ("\0" if isinstance(value, str) else b"\0") in value:
        raise ValueError(f"{what} contains a NUL byte: {value!r}")
    return value


def check_env(env: Mapping | None) -> Mapping:
    if env is None:
        return os.environ
    if not isinstance(env, Mapping):
        raise TypeError(f"env must be a mapping or None, not {type(env).__name__}")
    checked = {}
    for key, value in env.items():
        key = check_str("an env name", key)
        if not key or ("=" if isinstance(key, str) else b"=") in key:
            raise ValueError(f"bad environment variable name {key!r}")
        checked[key] = check_str(f"env[{key!r}]", value)
    return checked


def find_program(executable: str | bytes, env: Mapping) -> str | bytes:
    """The program execvpe would run; FileNotFoundError if the PATH has none."""
    if (b"/" if isinstance(executable, bytes) else "/") in executable:
        return executable
    name = os.fsdecode(executable)
    for directory in os.get_exec_path(env):
        candidate = os.path.join(os.fsdecode(directory), name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)


def _inheritable_fds(keep: set[int]) -> list[int]:
    """The parent's fds that a child would inherit, other than keep."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:  # pragma: no cover - no /proc: the standard fds at least
        fds = [0, 1, 2]
    found = []
    for fd in fds:
        if fd in keep:
            continue
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFD)
        except OSError:  # the listing's own fd, closed by now
            continue
        if not flags & fcntl.FD_CLOEXEC:
            found.append(fd)
    return found


class Plan:
    """What the child's fds should be, and the parent's ends of its pipes.

    ``actions`` holds ``("close", fd)``, ``("dup2", src, fd)`` and
    ``("open", fd, path)`` steps, run in order by ``posix_spawn``'s file
    actions or by the forked child.  ``child_side`` are parent fds to close
    once the child has started.
    """

    def __init__(self) -> None:
        self.actions: list[tuple] = []
        self.setsid = False
        self.parent: list[tuple[int, PipeChannel, bool]] = []  # (child fd, channel, reads)
        self.child_side: list[int] = []

    @classmethod
    def pipes(cls, child_fds: Mapping[int, Any]) -> Plan:
        plan = cls()
        for fd, how in child_fds.items():
            if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
                raise ValueError(f"childFDs keys must be fd numbers >= 0, not {fd!r}")
            if how not in ("r", "w") and (isinstance(how, bool) or not isinstance(how, int)):
                raise ValueError(f"childFDs[{fd}] must be 'r', 'w' or a parent fd, not {how!r}")
        base = max(3, max(child_fds, default=0) + 1)
        closes = [("close", fd) for fd in _inheritable_fds(set(child_fds))]
        try:
            for fd, how in child_fds.items():
                if how == "r" or how == "w":
                    source, sink = PipeChannel.pipe()
                    ours, theirs = (source, sink) if how == "r" else (sink, source)
                    plan.parent.append((fd, ours, how == "r"))
                    plan.child_side.append(theirs)
                    # The child's end must be blocking: most programs expect that.
                    os.set_blocking(theirs, True)
                    src = theirs
                else:
                    src = how
                high = fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, base)
                plan.child_side.append(high)
                plan.actions.append(("dup2", high, fd))
        except BaseException:
            plan.close_parent_side()
            plan.close_child_side()
            raise
        # Closes last: an fd listed above and closed since by another thread
        # may have come back as one of the copies, which must be dup2'd first.
        plan.actions += closes
        return plan

    @classmethod
    def pty(cls) -> Plan:
        plan = cls()
        master, slave = os.openpty()
        try:
            name = os.ttyname(slave)
            plan.parent.append((1, PipeChannel.from_fd(master), True))
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        plan.child_side.append(slave)
        plan.setsid = True
        # Opened (not dup2'd) in the new session, so it becomes the child's
        # controlling terminal (credentials(7), "controlling terminal").
        plan.actions = [("open", 0, name), ("dup2", 0, 1), ("dup2", 0, 2)]
        plan.actions += [("close", fd) for fd in _inheritable_fds({0, 1, 2})]
        return plan

    def spawn_actions(self) -> list[tuple]:
        out = []
        for action in self.actions:
            if action[0] == "close":
                out.append((os.POSIX_SPAWN_CLOSE, action[1]))
            elif action[0] == "dup2":
                out.append((os.POSIX_SPAWN_DUP2, action[1], action[2]))
            else:
                out.append((os.POSIX_SPAWN_OPEN, action[1], action[2], os.O_RDWR, 0))
        return out

    def run_in_child(self) -> None:
        for action in self.actions:
            if action[0] == "close":
                try:
                    os.close(action[1])
                except OSError:
                    pass
            elif action[0] == "dup2":
                os.dup2(action[1], action[2])
            else:
                fd = os.open(action[2], os.O_RDWR)
                if fd != action[1]:
                    os.dup2(fd, action[1])
                    os.close(fd)
                else:
                    os.set_inheritable(fd, True)

    def close_child_side(self) -> None:
        fds, self.child_side = self.child_side, []
        for fd in fds:
            if isinstance(fd, PipeChannel):
                fd.close()
            else:
                os.close(fd)

    def close_parent_side(self) -> None:
        parent, self.parent = self.parent, []
        for _, channel, _ in parent:
            channel.close()


# ---------------------------------------------------------------------------
# Starting the child


def start_child(exe, argv, env, plan: Plan, path, uid, gid) -> int:
    """Start the child; its pid, or OSError (with the failed step) if it did not run."""
    sigdef = _ignored_signals()
    if path is None and uid is None and gid is None:
        return os.posix_spawn(
            exe,
            argv,
            env,
            file_actions=plan.spawn_actions(),
            setsid=plan.setsid,
            setsigmask=(),
            setsigdef=sigdef,
        )
    groups = None
    if uid is not None and os.geteuid() == 0:
        # Computed here: a forked child of a threaded parent should not use NSS.
        import pwd

        try:
            pw = pwd.getpwuid(uid)
            groups = os.getgrouplist(pw.pw_name, gid if gid is not None else pw.pw_gid)
        except KeyError:
            groups = [gid if gid is not None else os.getegid()]
    return _fork_exec(exe, argv, env, plan, path, uid, gid, groups, sigdef)


def _fork_exec(exe, argv, env, plan, path, uid, gid, groups, sigdef) -> int:
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which execs or exits
            _child(exe, argv, env, plan, path, uid, gid, groups, sigdef, report_w)
        os.close(report_w)
        report_w = -1
        report = b""
        while chunk := os.read(report_r, 256):  # EOF: exec closed the close-on-exec end
            report += chunk
    finally:
        os.close(report_r)
        if report_w >= 0:
            os.close(report_w)
    if not report:
        return pid
    os.waitpid(pid, 0)  # the child is in _exit(127) already
    code, _, step = report.decode("ascii", "replace").partition(":")
    code = int(code) if code.isdigit() else errno.EINVAL
    raise OSError(code, f"{step} failed: {os.strerror(code)}")


def _child(
    exe, argv, env, plan, path, uid, gid, groups, sigdef, report_w
) -> None:  # pragma: no cover
    """The forked child: set up, exec; on failure report ``errno:step`` and exit 127."""
    step = "setup"
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        for signum in sigdef:
            signal.signal(signum, signal.SIG_DFL)
        if plan.setsid:
            os.setsid()
        plan.run_in_child()
        if path is not None:
            step = "chdir"
            os.chdir(path)
        if groups is not None:
            step = "setgroups"
            os.setgroups(groups)
        if gid is not None:
            step = "setgid"
            os.setgid(gid)
        if uid is not None:
            step = "setuid"
            os.setuid(uid)
        step = "exec"
        os.execve(exe, argv, env)
    except BaseException as e:
        code = getattr(e, "errno", None) or errno.EINVAL
        try:
            os.write(report_w, f"{code}:{step}".encode())
        except BaseException:
            pass
    finally:
        os._exit(127)


def start_failure(executable: Any, exc: OSError) -> error.ProcessTerminated:
    code = 127 if exc.errno in (errno.ENOENT, errno.ENOTDIR) else 126
    reason = error.ProcessTerminated(exitCode=code)
    detail = f"[Errno {exc.errno}] {exc.strerror}"
    reason.args = (f"could not start {os.fsdecode(executable)!r}: {detail}",)
    reason.__cause__ = exc
    return reason
