"""Tests for the ``reactorsock`` command: in-process argument handling, one real subprocess."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys

import pytest

import reactorsock
from reactorsock.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert reactorsock.__version__ in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "run" in capsys.readouterr().out


def test_bad_reactor_is_an_error(capsys):
    assert main(["run", "--reactor", "kqueue"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_port_in_use_is_one_clear_line(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["run", "--port", str(port)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"127.0.0.1:{port}" in err[0]


@pytest.mark.parametrize("backend", ["epoll", "poll", "select"])
def test_run_serves_echo_and_stops_on_sigterm(backend):
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactorsock", "run", "--port", "0", "--reactor", backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"tcp 127\.0\.0\.1:(\d+) \((\w+) reactor\); try: nc ", line)
        assert match, line
        assert match.group(2) == backend
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as c:
            c.sendall(b"hello reactorsock\n")
            got = b""
            while len(got) < 18:
                chunk = c.recv(100)
                assert chunk, "server closed early"
                got += chunk
        assert got == b"hello reactorsock\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped" in out
