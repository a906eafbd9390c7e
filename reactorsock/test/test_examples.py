"""The scripts in ``examples/`` run, as real subprocesses, and print what they promise.

Each example has a ``--demo`` mode that starts its server on port 0 and its
client in one process, exchanges messages over loopback and exits; the
tests run it with ``sys.executable`` and check the exit status and the
output lines.  ``docs/guide.md`` links these scripts, so a broken example
is a broken document.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

__all__: list[str] = []

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT = 20

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="no examples/ directory")


def run(*argv: str, compat: bool = False) -> subprocess.CompletedProcess[str]:
    """Run an example with ``sys.executable`` (under ``-m reactorsock.compat`` if compat)."""
    prefix = [sys.executable, "-m", "reactorsock.compat"] if compat else [sys.executable]
    return subprocess.run(
        [*prefix, str(EXAMPLES / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=EXAMPLES.parent,
    )


def lines_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stdout's lines, after checking that the example exited 0."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout.splitlines()


def test_echo_demo():
    lines = lines_of(run("echo.py", "--demo"))
    assert re.fullmatch(r"echo server on port \d+", lines[0])
    assert lines[1:] == ["client received: hello, echo"]


def test_echo_server_and_client_processes():
    """The server and the client modes, in two processes, with the port passed along."""
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "echo.py"), "server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = re.fullmatch(r"echo server on port (\d+)\n", server.stdout.readline()).group(1)
        args = ("client", "--host", "127.0.0.1", "--port", port, "--message", "two processes")
        assert lines_of(run("echo.py", *args)) == ["client received: two processes"]
    finally:
        server.kill()
        server.communicate(timeout=TIMEOUT)


def test_echo_client_reports_refused_connection():
    server = subprocess.run(  # a free port, closed again: nothing listens there
        [sys.executable, "-c", "import socket; s = socket.create_server(('127.0.0.1', 0));"
         "print(s.getsockname()[1])"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    result = run("echo.py", "client", "--port", server.stdout.strip())
    assert result.returncode == 1
    assert "connection failed: Connection was refused" in result.stderr


def test_chat_demo():
    assert lines_of(run("chat.py", "--demo")) == [
        "alice got: Welcome, alice!",
        "bob got: Welcome, bob!",
        "alice got: * bob joined",
        "bob got: <alice> hi bob",
        "alice got: * bob left",
    ]


def test_async_client_demo():
    lines = lines_of(run("async_client.py", "--demo", "one", "two"))
    assert lines == ["reply: one", "reply: two"]


def test_tls_echo_demo():
    lines = lines_of(run("tls_echo.py", "--demo"))
    assert re.fullmatch(r"TLS echo on port \d+; clients trust .*ca\.pem", lines[0])
    assert lines[1] == "client received: hello over TLS"
    assert lines[2].startswith("untrusted server refused: certificate verify failed")
    assert len(lines) == 3


def test_udp_echo_demo():
    lines = lines_of(run("udp_echo.py", "--demo"))
    assert re.fullmatch(r"UDP echo on port \d+", lines[0])
    assert lines[1:] == ["client received 'hello, udp' from 127.0.0.1"]


def test_spawn_process_demo():
    assert lines_of(run("spawn_process.py", "--demo")) == [
        "stdout: HELLO FROM THE PARENT",
        "stderr: bye",
        "exit code: 3",
        "reason: Connection to the other side was lost: process ended with exit code 3",
    ]


@pytest.mark.parametrize("compat", [False, True], ids=["stdlib", "compat"])
def test_blocking_echo_demo(compat):
    """The same unchanged script on the stdlib's socket module and on reactorsock.compat."""
    lines = lines_of(run("blocking_echo.py", "--demo", compat=compat))
    module = "reactorsock.compat.socket" if compat else "socket"
    assert lines[0] == f"socket module: {module}"
    assert re.fullmatch(r"echo server on port \d+", lines[1])
    assert lines[2:] == ["client received: hello, blocking world"]


def test_unit_testing_demo():
    result = run("unit_testing.py", "--demo")
    assert result.returncode == 0, result.stderr
    assert "Ran 4 tests" in result.stderr
    assert result.stderr.rstrip().endswith("OK")
    assert result.stderr.count(" ... ok") == 4
