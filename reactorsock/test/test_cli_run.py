"""Tests for ``reactorsock run`` as a real command: subprocesses, signals, real sockets.

Every server listens on port 0 of a loopback address and the test reads the
real port from its startup line, so runs never collide.  Every wait is
bounded, and every child is killed in a ``finally``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

__all__: list[str] = []

APPS = "reactorsock.test._apps_for_cli"
LOCAL = "tcp:0:interface=127.0.0.1"
WAIT = 10.0


class Runner:
    """A ``python -m reactorsock`` child whose output lines are read by threads."""

    def __init__(self, *args: str, cwd: str | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reactorsock", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )
        self.out: queue.Queue[str | None] = queue.Queue()
        self.err_lines: list[str] = []
        self.seen: list[str] = []
        self._out_thread = threading.Thread(
            target=self._pump, args=(self.proc.stdout, self.out), daemon=True
        )
        self._out_thread.start()
        self._err_thread = threading.Thread(target=self._collect_err, daemon=True)
        self._err_thread.start()

    @staticmethod
    def _pump(stream, q) -> None:
        for line in stream:
            q.put(line)
        q.put(None)

    def _collect_err(self) -> None:
        for line in self.proc.stderr:
            self.err_lines.append(line)

    def expect(self, pattern: str, timeout: float = WAIT) -> re.Match:
        """Read stdout lines until one matches pattern; fail after timeout seconds."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no line matching {pattern!r} in {timeout}s; got {self.seen}")
            try:
                line = self.out.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"exited before {pattern!r}; out {self.seen}; err {self.err()}")
            self.seen.append(line)
            m = rx.search(line)
            if m:
                return m

    def port(self, kind: str = "tcp", host: str = r"127\.0\.0\.1") -> int:
        """The real port of the next ``serving ... on KIND:HOST:PORT`` line."""
        return int(self.expect(rf"serving \S+ on {kind}:{host}:(\d+)$").group(1))

    def signal(self, signum: int) -> None:
        """Send signum to the child."""
        self.proc.send_signal(signum)

    def wait(self, timeout: float = WAIT) -> int:
        """Wait for the child to exit; return its status."""
        status = self.proc.wait(timeout=timeout)
        self._err_thread.join(timeout=2)
        return status

    def drain(self) -> list[str]:
        """After exit: every stdout line, including those no ``expect`` read."""
        self._out_thread.join(timeout=WAIT)
        while True:
            try:
                line = self.out.get_nowait()
            except queue.Empty:
                return self.seen
            if line is not None:
                self.seen.append(line)

    def err(self) -> str:
        """Everything the child wrote to stderr so far."""
        return "".join(self.err_lines)

    def kill(self) -> None:
        """Kill the child if it still runs, and close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        self._out_thread.join(timeout=2)
        self._err_thread.join(timeout=2)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def run():
    """Start ``reactorsock`` children; kill whatever is left at the end."""
    started: list[Runner] = []
    worker_pids: list[int] = []

    def start(*args: str, **kw) -> Runner:
        r = Runner(*args, **kw)
        r.worker_pids = worker_pids
        started.append(r)
        return r

    yield start
    for r in started:
        r.kill()
    for pid in worker_pids:  # workers run in their own process group
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def recv_line(conn: socket.socket) -> bytes:
    """Read up to and including the next newline (bounded by the socket timeout)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A connected client socket with a timeout."""
    return socket.create_connection((host, port), timeout=WAIT)


def echo_roundtrip(port: int, host: str = "127.0.0.1", family=socket.AF_INET) -> bytes:
    """Send a line to the echo server at port and return what comes back."""
    with socket.socket(family, socket.SOCK_STREAM) as c:
        c.settimeout(WAIT)
        c.connect((host, port))
        c.sendall(b"hello reactorsock\n")
        return recv_line(c)


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["epoll", "poll", "select"])
def test_default_app_is_echo_and_stops_on_sigterm(run, backend):
    r = run("run", "--listen", LOCAL, "--reactor", backend)
    port = r.port()
    r.expect(rf"{backend} reactor, 1 process")
    r.expect(rf"try it: nc 127\.0\.0\.1 {port}$")
    assert echo_roundtrip(port) == b"hello reactorsock\n"
    r.signal(signal.SIGTERM)
    assert r.wait() == 0, r.err()
    r.expect("stopped")


def test_several_endpoints_at_once(run, tmp_path):
    path = str(tmp_path / "echo.sock")
    r = run(
        "run", "echo", "--listen", LOCAL, "--listen", "tcp6:0:interface=\\:\\:1",
        "--listen", f"unix:{path}", "--listen", "udp:0:interface=127.0.0.1",
    )  # fmt: skip
    tcp = r.port()
    tcp6 = int(r.expect(r"serving echo on tcp6:\[::1\]:(\d+)$").group(1))
    r.expect(rf"serving echo on unix:{re.escape(path)}$")
    udp = r.port("udp")
    assert echo_roundtrip(tcp) == b"hello reactorsock\n"
    assert echo_roundtrip(tcp6, "::1", socket.AF_INET6) == b"hello reactorsock\n"
    with socket.socket(socket.AF_UNIX) as c:
        c.settimeout(WAIT)
        c.connect(path)
        c.sendall(b"over unix\n")
        assert recv_line(c) == b"over unix\n"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(WAIT)
        u.sendto(b"datagram", ("127.0.0.1", udp))
        assert u.recvfrom(100)[0] == b"datagram"
    r.signal(signal.SIGTERM)
    assert r.wait() == 0, r.err()
    assert not os.path.exists(path), "the socket file was left behind"


def test_time_and_daytime_builtins(run):
    r = run("run", "time", "--listen", LOCAL, "--listen", "udp:0:interface=127.0.0.1")
    tcp, udp = r.port(), r.port("udp")
    with connect(tcp) as c:
        data = b""
        while chunk := c.recv(10):
            data += chunk
    assert len(data) == 4
    since_1900 = int.from_bytes(data, "big")
    assert abs(since_1900 - 2208988800 - time.time()) < 60
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(WAIT)
        u.sendto(b"", ("127.0.0.1", udp))
        assert len(u.recvfrom(100)[0]) == 4
    r.signal(signal.SIGTERM)
    assert r.wait() == 0, r.err()


def test_user_factory_serves(run):
    r = run("run", f"{APPS}:pid_factory", "--listen", LOCAL)
    port = r.port()
    with connect(port) as c:
        assert recv_line(c) == f"pid {r.proc.pid}\n".encode()
        c.sendall(b"and echo\n")
        assert recv_line(c) == b"and echo\n"
    r.signal(signal.SIGINT)
    assert r.wait() == 0, r.err()


def test_user_datagram_protocol_defaults_to_udp(run):
    r = run("run", f"{APPS}:PidDatagram", "--listen", "udp:0:interface=127.0.0.1")
    udp = r.port("udp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(WAIT)
        u.sendto(b"who", ("127.0.0.1", udp))
        assert u.recvfrom(100)[0] == f"pid {r.proc.pid}".encode()
    r.signal(signal.SIGTERM)
    assert r.wait() == 0, r.err()


def test_sigterm_lets_a_slow_connection_finish(run):
    r = run("run", f"{APPS}:slow_factory", "--listen", LOCAL, "--grace", "5")
    port = r.port()
    with connect(port) as c:
        assert recv_line(c) == b"ready\n"
        c.sendall(b"wait 0.5\n")
        time.sleep(0.1)  # let the request arrive before the signal
        started = time.monotonic()
        r.signal(signal.SIGTERM)
        assert recv_line(c) == b"done\n"
        assert c.recv(10) == b""
    assert r.wait() == 0, r.err()
    assert time.monotonic() - started < 4
    # Listening stopped at the signal: new connections are refused.
    with pytest.raises(OSError):
        connect(port).close()
    assert "1 connection(s) get 5s to finish" in r.err()
    assert "all connections closed" in r.err()


def test_grace_period_over_aborts_and_exits_zero(run):
    r = run("run", "--listen", LOCAL, "--grace", "0.3", "--log-format", "json")
    port = r.port()
    with connect(port) as c:
        c.sendall(b"x\n")
        assert recv_line(c) == b"x\n"
        r.signal(signal.SIGTERM)
        assert r.wait() == 0, r.err()
        with pytest.raises(OSError):  # reset, or at least closed
            if c.recv(10) == b"":
                raise ConnectionResetError
    records = [json.loads(line) for line in r.err().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any("aborted 1 connection" in rec["message"] for rec in records)


def test_second_sigint_exits_at_once(run):
    r = run("run", "--listen", LOCAL, "--grace", "30")
    port = r.port()
    with connect(port):
        time.sleep(0.2)
        r.signal(signal.SIGINT)
        time.sleep(0.3)
        assert r.proc.poll() is None, "the first SIGINT should wait for the connection"
        r.signal(signal.SIGINT)
        assert r.wait(timeout=5) == 130, r.err()


def test_pidfile_and_sighup_without_workers(run, tmp_path):
    pidfile = tmp_path / "rs.pid"
    r = run("run", "--listen", LOCAL, "--pidfile", str(pidfile))
    r.port()
    assert pidfile.read_text().strip() == str(r.proc.pid)
    r.signal(signal.SIGHUP)  # without --workers: logged and ignored
    time.sleep(0.3)
    assert r.proc.poll() is None
    r.signal(signal.SIGTERM)
    assert r.wait() == 0, r.err()
    assert not pidfile.exists()
    assert "SIGHUP ignored" in r.err()
    assert "received SIGTERM: stopping" in r.err()


def test_import_error_in_app_shows_the_traceback(run, tmp_path):
    (tmp_path / "brokenapp.py").write_text("import os\n\nraise ValueError('boom in module')\n")
    r = run("run", "brokenapp:factory", "--listen", LOCAL, cwd=str(tmp_path))
    assert r.wait() == 1
    err = r.err()
    assert "reactorsock: error: error while importing app module 'brokenapp'" in err
    assert "Traceback" in err and "ValueError: boom in module" in err


# ---------------------------------------------------------------------------
# Workers


def _pids_seen(port: int, want: set[int], timeout: float = WAIT) -> set[int]:
    """Connect repeatedly until every pid in want answered; return all pids seen."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while not want <= seen:
        assert time.monotonic() < deadline, f"saw {seen}, wanted {want}"
        with connect(port) as c:
            seen.add(int(recv_line(c).split()[1]))
    return seen


def test_workers_share_the_port_and_are_restarted(run):
    r = run("run", f"{APPS}:pid_factory", "--listen", LOCAL, "--workers", "2", "--grace", "2")
    port = r.port()
    workers = {}
    for _ in range(2):
        m = r.expect(r"worker (\d) started \(pid (\d+)\)")
        workers[int(m.group(1))] = int(m.group(2))
    r.worker_pids.extend(workers.values())
    assert r.proc.pid not in workers.values()
    assert _pids_seen(port, set(workers.values())) == set(workers.values())

    os.kill(workers[1], signal.SIGKILL)
    m = r.expect(r"worker 1 started \(pid (\d+)\)")
    new = int(m.group(1))
    r.worker_pids.append(new)
    _pids_seen(port, {new, workers[2]})
    assert "killed by SIGKILL" in r.err()

    # SIGHUP replaces both workers, one by one, without closing the port.
    r.signal(signal.SIGHUP)
    replaced = {}
    for _ in range(2):
        m = r.expect(r"worker (\d) started \(pid (\d+)\)")
        replaced[int(m.group(1))] = int(m.group(2))
    r.worker_pids.extend(replaced.values())
    _pids_seen(port, set(replaced.values()))

    r.signal(signal.SIGTERM)
    assert r.wait() == 0, r.err()
    for pid in [*workers.values(), new, *replaced.values()]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_worker_drains_on_sigterm(run):
    r = run("run", f"{APPS}:slow_factory", "--listen", LOCAL, "--workers", "1", "--grace", "5")
    port = r.port()
    r.worker_pids.append(int(r.expect(r"worker 1 started \(pid (\d+)\)").group(1)))
    with connect(port) as c:
        assert recv_line(c) == b"ready\n"
        c.sendall(b"wait 0.5\n")
        time.sleep(0.1)
        r.signal(signal.SIGTERM)
        assert recv_line(c) == b"done\n"
    assert r.wait() == 0, r.err()


def test_ssl_endpoint_with_a_worker(run, tmp_path):
    """``reactorsock cert`` output serves an ``ssl:`` endpoint through a worker."""
    if importlib.util.find_spec("reactorsock.tls") is None:
        pytest.skip("reactorsock.tls (TLS support) is not in this tree yet")
    certs = tmp_path / "certs"
    c = run("cert", "--host", "127.0.0.1", "--out", str(certs))
    assert c.wait() == 0, c.err()
    listen = f"ssl:0:privateKey={certs}/key.pem:certKey={certs}/cert.pem:interface=127.0.0.1"
    r = run("run", "--listen", listen, "--workers", "1", "--grace", "2")
    port = r.port("ssl")
    r.expect(rf"try it: openssl s_client -quiet -connect 127\.0\.0\.1:{port}$")
    r.worker_pids.append(int(r.expect(r"worker 1 started \(pid (\d+)\)").group(1)))
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    with connect(port) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"over tls\n")
        assert recv_line(tls) == b"over tls\n"
    r.signal(signal.SIGTERM)
    assert r.wait() == 0, r.err()


def test_a_crashing_worker_is_restarted_with_back_off(run):
    r = run("run", f"{APPS}:crashing_factory", "--listen", LOCAL, "--workers", "1")
    r.port()
    started = time.monotonic()
    r.expect(r"worker 1 started")
    time.sleep(1.2)  # back-off 0.1 + 0.2 + 0.4 (+ 0.8): about four restarts, not hundreds
    r.signal(signal.SIGTERM)
    assert r.wait() == 0, r.err()
    restarts = sum("worker 1 started" in line for line in r.drain())
    assert 2 <= restarts <= 6, (restarts, time.monotonic() - started)
    assert "RuntimeError: this worker cannot start" in r.err()
    assert "restarting it in 0.4s" in r.err()
