"""Tests for the ``reactorsock`` command in-process: ``main(argv) -> int``, apps, errors.

The real command as a subprocess, with signals and workers, is tested in
``test_cli_run.py``.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import struct
import sys
import time
import types

import pytest

import reactorsock
from reactorsock.cli import _apps, _run, main
from reactorsock.cli._args import DEFAULT_LISTEN
from reactorsock.testing import StringTransport

__all__: list[str] = []

APPS = "reactorsock.test._apps_for_cli"
LOCAL = "tcp:0:interface=127.0.0.1"


def error_lines(capsys) -> list[str]:
    """The captured stderr, as lines."""
    return capsys.readouterr().err.strip().splitlines()


# -- arguments -------------------------------------------------------------------


def test_version(capsys):
    assert main(["--version"]) == 0
    assert reactorsock.__version__ in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "run" in out and "cert" in out


def test_run_help_has_examples(capsys):
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "reactorsock run chargen --listen" in out
    for name in _apps.BUILTINS:
        assert name in out


def test_default_listen_is_echo_on_loopback_8000():
    assert DEFAULT_LISTEN == "tcp:8000:interface=127.0.0.1"
    app = _apps.load_app(None)
    assert app.name == "echo" and app.builtin
    args = types.SimpleNamespace(listen=[])
    assert _run._listens(app, args) == [DEFAULT_LISTEN]
    udp_only = _apps.load_app(f"{APPS}:PidDatagram")
    assert _run._listens(udp_only, args) == ["udp:8000:interface=127.0.0.1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--reactor", "kqueue"], "invalid choice"),
        (["run", "--workers", "many"], "expected a number or 'auto'"),
        (["run", "--grace", "-1"], "must be a finite number >= 0"),
        (["run", "--log-format", "xml"], "invalid choice"),
    ],
)
def test_bad_option_is_a_usage_error(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_workers_auto_is_the_cpu_count():
    from reactorsock.cli._args import build_parser

    args = build_parser().parse_args(["run", "--workers", "auto"])
    assert args.workers >= 1


# -- errors: one line, a status ----------------------------------------------------


def test_port_in_use_is_one_clear_line(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["run", "--listen", f"tcp:{port}:interface=127.0.0.1"]) == 1
    err = error_lines(capsys)
    assert len(err) == 1, err
    assert f"127.0.0.1:{port}" in err[0] and "address already in use" in err[0]
    assert err[0].startswith("reactorsock: error: cannot listen on")


def test_port_in_use_with_debug_shows_the_traceback(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        argv = ["run", "--listen", f"tcp:{port}:interface=127.0.0.1", "--log-level", "debug"]
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "address already in use" in err


def test_permission_denied_on_a_low_port(capsys, monkeypatch):
    """Simulated: the tests run as root, which may bind port 1."""
    from reactorsock.tcp import Port

    def denied(self):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Port, "_make_channel", denied)
    assert main(["run", "--listen", "tcp:1:interface=127.0.0.1"]) == 1
    err = error_lines(capsys)
    assert len(err) == 1, err
    assert "permission denied" in err[0] and "below 1024" in err[0]


def test_a_failed_endpoint_closes_the_ones_already_bound(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with socket.socket() as probe:  # find a free port, then let the runner take it
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        argv = ["run", "--listen", f"tcp:{free}:interface=127.0.0.1"]
        argv += ["--listen", f"tcp:{busy}:interface=127.0.0.1"]
        assert main(argv) == 1
    with socket.socket() as again:
        again.bind(("127.0.0.1", free))  # free again: the first port was closed


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("tcp:http", "bad --listen endpoint: bad port 'http'"),
        ("carrier-pigeon:1", "unknown server endpoint type 'carrier-pigeon'"),
        ("8000", "did you mean 'tcp:8000'"),
    ],
)
def test_bad_endpoint_is_one_line(capsys, listen, message):
    assert main(["run", "--listen", listen]) == 2
    err = error_lines(capsys)
    assert len(err) == 1 and message in err[0], err


def test_missing_tls_key_file_is_one_line(capsys, tmp_path):
    """serverFromString reads the key file: its OSError is a bad endpoint, not a traceback."""
    missing = tmp_path / "missing.pem"
    assert main(["run", "--listen", f"ssl:0:privateKey={missing}:interface=127.0.0.1"]) == 2
    err = error_lines(capsys)
    assert len(err) == 1, err
    assert err[0].startswith("reactorsock: error: bad --listen endpoint"), err
    assert str(missing) in err[0] and "no such file" in err[0].lower(), err


def test_udp_interface_that_is_not_an_address_is_one_line(capsys):
    """udp ports refuse a host name with InvalidAddressError (a ValueError) from listen."""
    assert main(["run", "echo", "--listen", "udp:0:interface=nosuchhost.invalid"]) == 2
    err = error_lines(capsys)
    assert len(err) == 1, err
    assert err[0].startswith("reactorsock: error: bad --listen endpoint"), err
    assert "nosuchhost.invalid" in err[0], err


def test_listen_error_keeps_an_acronym_at_the_start(capsys, tmp_path):
    """The reason's first letter is lowered for the sentence, but not AF_UNIX's."""
    path = tmp_path / ("a" * 200)
    assert main(["run", "--listen", f"unix:{path}"]) == 1
    err = error_lines(capsys)
    assert len(err) == 1, err
    assert err[0].endswith(": AF_UNIX path too long"), err


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("ehco", "unknown app 'ehco': not a built-in (echo, discard"),
        ("no_such_module_here:app", "cannot import app module 'no_such_module_here'"),
        (f"{APPS}:nothing", f"app module '{APPS}' has no attribute 'nothing'"),
        (f"{APPS}:not_servable", "is a int, not a Factory"),
        (":x", "bad app ':x': expected module:attribute"),
    ],
)
def test_bad_app_is_one_line(capsys, app, message):
    assert main(["run", app, "--listen", LOCAL]) == 2
    err = error_lines(capsys)
    assert len(err) == 1 and message in err[0], err


def test_error_inside_the_app_module_shows_its_traceback(capsys, tmp_path, monkeypatch):
    (tmp_path / "cli_dep_app.py").write_text("import not_installed_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", "cli_dep_app:factory", "--listen", LOCAL]) == 1
    err = capsys.readouterr().err
    assert "error while importing app module 'cli_dep_app'" in err
    assert "Traceback" in err and "not_installed_dependency_xyz" in err
    sys.modules.pop("cli_dep_app", None)


def test_stream_app_on_a_udp_endpoint_is_refused(capsys):
    assert main(["run", f"{APPS}:pid_factory", "--listen", "udp:0:interface=127.0.0.1"]) == 2
    assert "has no UDP variant" in capsys.readouterr().err


def test_datagram_app_on_a_tcp_endpoint_is_refused(capsys):
    assert main(["run", f"{APPS}:PidDatagram", "--listen", LOCAL]) == 2
    assert "serves udp: endpoints" in capsys.readouterr().err


def test_workers_refuse_a_main_reactor_app(capsys):
    assert main(["run", f"{APPS}:main", "--workers", "2"]) == 2
    assert "main(reactor)-style" in capsys.readouterr().err


def test_main_app_takes_no_listen(capsys):
    assert main(["run", f"{APPS}:main", "--listen", LOCAL]) == 2
    assert "takes no --listen" in capsys.readouterr().err


# -- main(reactor) apps run in-process ------------------------------------------------


def test_main_reactor_app_runs_and_its_end_stops_the_runner(capsys):
    started = time.monotonic()
    assert main(["run", f"{APPS}:main", "--reactor", "select"]) == 0
    assert time.monotonic() - started < 5
    assert "stopped" in capsys.readouterr().out


def test_failing_main_app_exits_one_with_its_traceback(capsys):
    assert main(["run", f"{APPS}:failing_main"]) == 1
    err = capsys.readouterr().err
    assert "the app failed" in err and "RuntimeError: the app gave up" in err


# -- apps: what each kind of attribute becomes ----------------------------------------


@pytest.mark.parametrize(
    "attr", ["pid_factory", "PidEcho", "make_pid_factory"], ids=["instance", "class", "callable"]
)
def test_stream_apps_classify_as_factories(attr):
    app = _apps.load_app(f"{APPS}:{attr}")
    assert app.factory is not None and app.datagram is None
    proto = app.factory.buildProtocol(None)
    assert type(proto).__name__ == "PidEcho"


def test_main_reactor_app_needs_the_reactor():
    loaded = _apps.load_app(f"{APPS}:main")
    assert isinstance(loaded, _apps.ReactorCall)


def test_a_datagram_instance_serves_one_endpoint():
    from reactorsock.protocol import DatagramProtocol

    proto = DatagramProtocol()
    app = _apps.classify(proto, "m:proto")
    assert app.datagram() is proto
    with pytest.raises(_apps.AppError, match="serves one udp endpoint"):
        app.datagram()


# -- built-in services ---------------------------------------------------------------


def _serve(protocol_class, data: bytes = b"") -> StringTransport:
    from reactorsock.protocol import Factory

    proto = Factory.forProtocol(protocol_class).buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    if data:
        proto.dataReceived(data)
    return transport


def test_echo_and_discard():
    assert _serve(_apps.Echo, b"abc").value() == b"abc"
    assert _serve(_apps.Discard, b"abc").value() == b""


def test_chargen_lines_follow_rfc_864():
    lines = _apps._chargen_lines(0, 96).split(b"\r\n")[:-1]
    assert len(lines) == 96 and all(len(line) == 72 for line in lines)
    assert lines[0] == bytes(range(32, 104))
    assert lines[1] == bytes(range(33, 105))
    assert lines[95] == lines[0]  # the pattern repeats after 95 lines


def test_chargen_writes_when_the_transport_asks():
    transport = _serve(_apps.Chargen, b"ignored")
    assert transport.producer is not None and not transport.streaming
    transport.producer.resumeProducing()
    assert transport.value().startswith(bytes(range(32, 104)) + b"\r\n")


def test_qotd_daytime_and_time_say_one_thing_and_close():
    for cls in (_apps.QOTD, _apps.Daytime):
        transport = _serve(cls)
        assert transport.value().endswith(b"\r\n") and len(transport.value()) < 512
        assert transport.disconnecting
    transport = _serve(_apps.Time)
    (since_1900,) = struct.unpack("!I", transport.value())
    assert abs(since_1900 - 2208988800 - time.time()) < 60
    assert transport.disconnecting


def test_udp_variants_reply_to_the_sender():
    class Port:
        def __init__(self):
            self.sent = []

        def write(self, data, addr):
            self.sent.append((data, addr))

    for cls, check in [
        (_apps.EchoDatagram, lambda d: d == b"hi"),
        (_apps.ChargenDatagram, lambda d: len(d) <= 512),
        (_apps.QOTDDatagram, lambda d: d.endswith(b"\r\n")),
        (_apps.DaytimeDatagram, lambda d: d.endswith(b"\r\n")),
        (_apps.TimeDatagram, lambda d: len(d) == 4),
    ]:
        proto, port = cls(), Port()
        proto.transport = port
        proto.datagramReceived(b"hi", ("127.0.0.1", 9))
        assert len(port.sent) == 1 and port.sent[0][1] == ("127.0.0.1", 9)
        assert check(port.sent[0][0]), cls
    discard, port = _apps.DiscardDatagram(), Port()
    discard.transport = port
    discard.datagramReceived(b"hi", ("127.0.0.1", 9))
    assert port.sent == []


# -- logging ---------------------------------------------------------------------------


def test_json_formatter_writes_one_object_per_line():
    import json
    import logging

    record = logging.LogRecord(
        "reactorsock.cli", logging.INFO, __file__, 1, "hello %s", ("x",), None
    )
    entry = json.loads(_run.JSONFormatter().format(record))
    assert entry["message"] == "hello x" and entry["level"] == "INFO"
    assert entry["logger"] == "reactorsock.cli" and "time" in entry


def test_tracker_counts_without_touching_data_received():
    from reactorsock.failure import Failure
    from reactorsock.protocol import Factory

    tracker = _run.ConnectionTracker()
    emptied = []
    tracker.on_empty = lambda: emptied.append(True)
    factory = tracker.wrap(Factory.forProtocol(_apps.Echo))
    assert type(factory).__name__ == "Factory"  # tcp.Port's log prefix stays meaningful
    proto = factory.buildProtocol(None)
    assert "dataReceived" not in vars(proto)
    assert tracker.open == {proto}
    proto.connectionLost(Failure(ConnectionError("gone")))
    assert tracker.open == set() and emptied == [True]
    assert "connectionLost" not in vars(proto)


# -- cert ----------------------------------------------------------------------------


def test_cert_without_tls_support_says_so(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "reactorsock.tls", None)  # import fails as if missing
    assert main(["cert", "--host", "localhost", "--out", "x"]) == 1
    assert "TLS support" in capsys.readouterr().err


def test_cert_calls_the_tls_module(capsys, monkeypatch, tmp_path):
    import attrs

    @attrs.frozen
    class Written:  # the shape of reactorsock.tls's DevCertificatePaths
        certificate: str
        private_key: str

    calls = []

    def write_dev_certificates(out, hosts):
        calls.append((out, hosts))
        return Written(f"{out}/cert.pem", f"{out}/key.pem")

    fake = types.ModuleType("reactorsock.tls")
    fake.write_dev_certificates = write_dev_certificates
    monkeypatch.setitem(sys.modules, "reactorsock.tls", fake)
    out = str(tmp_path)
    assert main(["cert", "--host", "localhost", "--host", "::1", "--out", out]) == 0
    assert calls == [(out, ["localhost", "::1"])]
    printed = capsys.readouterr().out
    assert f"certificate: {out}/cert.pem" in printed and f"private key: {out}/key.pem" in printed


@pytest.mark.parametrize("workers", ["0", "2"])
def test_pidfile_of_a_running_process_is_refused(capsys, tmp_path, workers):
    pidfile = tmp_path / "rs.pid"
    pidfile.write_text("1\n")  # init: always running
    argv = ["run", "--listen", LOCAL, "--pidfile", str(pidfile), "--workers", workers]
    assert main(argv) == 1
    err = error_lines(capsys)
    assert len(err) == 1 and "names running process 1" in err[0], err
    assert pidfile.read_text() == "1\n"


def test_workers_pidfile_appears_only_once_signals_are_caught(monkeypatch, tmp_path):
    """A SIGTERM sent as soon as the pidfile exists must not find the default action."""
    from reactorsock.cli import _workers

    pidfile = tmp_path / "rs.pid"
    seen = []

    class FakeSupervisor:
        def __init__(self, count, start_worker, grace, close_listeners):
            pass

        def run(self, announce=None):
            seen.append(("before install", pidfile.exists()))
            old = signal.signal(signal.SIGTERM, lambda *a: None)  # as Supervisor._install
            try:
                announce()
                seen.append(("after install", pidfile.read_text().strip()))
            finally:
                signal.signal(signal.SIGTERM, old)
            return 0

    monkeypatch.setattr(_workers, "Supervisor", FakeSupervisor)
    argv = ["run", "--listen", LOCAL, "--pidfile", str(pidfile), "--workers", "2"]
    assert main(argv) == 0
    assert seen == [("before install", False), ("after install", str(os.getpid()))]
    assert not pidfile.exists()


# -- the worker supervisor's fork window --------------------------------------------


def blocked_signals() -> set[int]:
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, []))


@pytest.fixture
def supervisor():
    """A Supervisor with its signal set-up installed (in this process), uninstalled after."""
    from reactorsock.cli import _workers

    made = []

    def make(start_worker=lambda slot, ready_fd, fresh: 0):
        sup = _workers.Supervisor(1, start_worker, grace=1.0, close_listeners=lambda: None)
        sup._install()
        made.append(sup)
        return sup

    yield make
    for sup in made:
        for pid in list(sup._procs):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        sup._uninstall()


def wait_for_exit(pid: int, timeout: float = 10.0) -> int:
    """waitpid(pid) bounded by timeout; the child is killed (and the test fails) past it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"worker {pid} did not exit within {timeout}s")


def test_spawn_blocks_the_handled_signals_across_fork_and_restores_the_mask(
    supervisor, monkeypatch
):
    """fork() runs with the supervisor's signals blocked; the mask is restored if it fails."""
    from reactorsock.cli import _workers

    sup = supervisor()
    before = blocked_signals()
    at_fork = []

    def failing_fork():
        at_fork.append(blocked_signals())
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", failing_fork)
    fds_before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError):
        sup._spawn(sup._slots[1])
    assert set(_workers._HANDLED) <= at_fork[0]
    assert blocked_signals() == before
    assert set(os.listdir("/proc/self/fd")) == fds_before  # the ready pipe was closed
    assert sup._procs == {} and sup._slots[1].pid is None


def test_a_signal_in_the_fork_window_is_neither_lost_nor_counted_twice(supervisor, monkeypatch):
    """A group signal the child gets before its set-up stays out of the supervisor's pipe.

    The child sends itself SIGHUP and SIGINT right after fork(), as a terminal
    would to the whole process group.  The supervisor receives (and forwards)
    its own copy; the child must neither write them into the supervisor's
    wakeup pipe nor keep them pending, nor die of SIGHUP.
    """
    from reactorsock.cli import _workers

    report_r, report_w = os.pipe()

    def start_worker(slot, ready_fd, fresh):
        state = {
            "blocked": sorted(int(n) for n in blocked_signals()),
            "pending": sorted(int(n) for n in signal.sigpending()),
            "wakeup": signal.set_wakeup_fd(-1),
            "hup": signal.getsignal(signal.SIGHUP) == signal.SIG_DFL,
            "int": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
        }
        os.write(report_w, json.dumps(state).encode())
        return 0

    sup = supervisor(start_worker)
    real_fork = os.fork

    def fork_then_signal():
        pid = real_fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGHUP)
            os.kill(os.getpid(), signal.SIGINT)
        return pid

    monkeypatch.setattr(os, "fork", fork_then_signal)
    before = blocked_signals()
    try:
        pid = sup._spawn(sup._slots[1])
    finally:
        monkeypatch.setattr(os, "fork", real_fork)
    os.close(report_w)
    assert blocked_signals() == before  # unblocked again in the parent
    status = wait_for_exit(pid)
    assert os.waitstatus_to_exitcode(status) == 0, "the worker died of a signal from the window"
    sup._procs.pop(pid)
    with os.fdopen(report_r, "rb") as f:
        state = json.loads(f.read())
    stop = {int(s) for s in _workers.STOP_SIGNALS}
    # The child unblocked what it does not handle itself; STOP_SIGNALS wait for start_worker.
    assert set(state["blocked"]) & set(map(int, _workers._HANDLED)) == stop
    assert state["pending"] == [], "a signal from before the set-up is still pending"
    assert state["wakeup"] == -1 and state["hup"] and state["int"]
    try:
        in_pipe = os.read(sup._wake_r, 512)
    except BlockingIOError:
        in_pipe = b""
    assert signal.SIGHUP not in in_pipe and signal.SIGINT not in in_pipe, (
        "the child wrote its signals into the supervisor's wakeup pipe"
    )


def test_a_failed_fork_on_restart_backs_off_instead_of_raising(supervisor, monkeypatch, caplog):
    from reactorsock.cli import _workers

    sup = supervisor()
    slot = sup._slots[1]

    def failing_fork():
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", failing_fork)
    delay = slot.delay
    with caplog.at_level("ERROR", logger="reactorsock.supervisor"):
        sup._restart(slot)  # raised OSError out of the supervisor's loop before
    assert "Resource temporarily unavailable" in caplog.text
    assert slot.pid is None and slot.restart is not None and not slot.restart.cancelled
    assert slot.restart.when >= time.monotonic() + delay * 0.5
    assert slot.delay == min(delay * 2, _workers.RESTART_MAX)  # backs off further next time
    monkeypatch.undo()
    # A stop that comes meanwhile cancels the retry, as for any restart.
    sup._on_signal(signal.SIGTERM)
    assert slot.restart.cancelled


def test_a_failed_fork_during_reload_keeps_the_old_workers(supervisor, monkeypatch, caplog):
    sup = supervisor()
    sup._slots[1].pid = 12345  # a live worker, as far as the reload is concerned

    def failing_fork():
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", failing_fork)
    with caplog.at_level("ERROR", logger="reactorsock.supervisor"):
        sup._start_reload()
    assert "Resource temporarily unavailable" in caplog.text
    assert sup._reload == [] and sup._slots[1].pid == 12345
