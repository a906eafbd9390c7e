"""Tests of ``reactorsock.compat.install()`` and ``python -m reactorsock.compat``.

In-process tests swap ``sys.modules`` and always put it back.  The
end-to-end tests run unchanged stdlib programs -- ``http.server`` fetched with
``urllib.request``, ``socketserver`` TCP and UDP servers, a classic
``select()`` loop over many sockets -- in child processes under ``python -m
reactorsock.compat``, and each child checks that ``socket.socket`` really is
the compat class.
"""

from __future__ import annotations

import os
import re
import select as std_select
import selectors as std_selectors
import signal
import socket as std_socket
import subprocess
import sys
import textwrap
import time
import types
import urllib.request

import pytest

import reactorsock.compat
from reactorsock._certs import make_ca, make_certificate, save_pem
from reactorsock.compat import _install
from reactorsock.compat import select as compat_select
from reactorsock.compat import selectors as compat_selectors
from reactorsock.compat import socket as compat_socket
from reactorsock.compat.__main__ import main

__all__: list[str] = []

CHILD_TIMEOUT = 30.0  # seconds for any child process to finish
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def restore_modules():
    """Leave sys.modules' socket-family entries as they were, whatever the test does."""
    saved = {name: sys.modules.get(name) for name in _install.MODULES}
    yield
    _install.uninstall()
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


# -- install() / uninstall() --------------------------------------------------


def test_install_replaces_and_uninstall_restores(restore_modules):
    import ssl as std_ssl

    has_compat_ssl = _install._load_compat("ssl") is not None
    names = reactorsock.compat.install()
    assert names[:3] == ["socket", "select", "selectors"]
    assert ("ssl" in names) == has_compat_ssl
    assert _install.installed()
    import select
    import selectors
    import socket

    assert socket is compat_socket and select is compat_select and selectors is compat_selectors
    s = socket.socket()
    s.close()
    assert type(s) is compat_socket.socket
    if not has_compat_ssl:
        assert sys.modules["ssl"] is std_ssl  # the stdlib ssl stays bound to the stdlib socket
    assert reactorsock.compat.uninstall() == names
    assert not _install.installed()
    assert sys.modules["socket"] is std_socket
    assert sys.modules["select"] is std_select
    assert sys.modules["selectors"] is std_selectors
    assert sys.modules["ssl"] is std_ssl


def test_install_and_uninstall_are_idempotent(restore_modules):
    first = reactorsock.compat.install()
    assert reactorsock.compat.install() == first
    assert sys.modules["socket"] is compat_socket
    reactorsock.compat.uninstall()
    assert reactorsock.compat.uninstall() == []
    assert sys.modules["socket"] is std_socket


def test_installed_modules_context_manager(restore_modules):
    with reactorsock.compat.installed_modules() as names:
        assert names[:3] == ["socket", "select", "selectors"]
        assert sys.modules["socket"] is compat_socket
    assert not _install.installed()
    assert sys.modules["socket"] is std_socket


def test_installed_modules_leaves_an_earlier_install_in_place(restore_modules):
    reactorsock.compat.install()
    with reactorsock.compat.installed_modules():
        assert sys.modules["socket"] is compat_socket
    assert _install.installed() and sys.modules["socket"] is compat_socket


def test_installed_modules_restores_after_an_exception(restore_modules):
    with pytest.raises(ZeroDivisionError), reactorsock.compat.installed_modules():
        1 / 0
    assert sys.modules["socket"] is std_socket


def test_uninstall_removes_entries_that_were_absent(restore_modules, monkeypatch):
    monkeypatch.delitem(sys.modules, "selectors")
    reactorsock.compat.install()
    assert sys.modules["selectors"] is compat_selectors
    reactorsock.compat.uninstall()
    assert "selectors" not in sys.modules


def test_install_without_compat_ssl_leaves_ssl(restore_modules, monkeypatch):
    """While reactorsock.compat.ssl does not exist, ssl is not replaced."""
    monkeypatch.setitem(sys.modules, "reactorsock.compat.ssl", None)  # import raises
    before = sys.modules.get("ssl")
    assert reactorsock.compat.install() == ["socket", "select", "selectors"]
    assert sys.modules.get("ssl") is before


def test_install_with_compat_ssl_replaces_ssl(restore_modules, monkeypatch):
    fake = types.ModuleType("reactorsock.compat.ssl")
    monkeypatch.setitem(sys.modules, "reactorsock.compat.ssl", fake)
    before = sys.modules.get("ssl")
    assert reactorsock.compat.install() == ["socket", "select", "selectors", "ssl"]
    assert sys.modules["ssl"] is fake
    reactorsock.compat.uninstall()
    assert sys.modules.get("ssl") is before


def test_install_propagates_a_broken_compat_module(restore_modules, monkeypatch):
    """A compat module that fails to import is an error, not a silent skip."""

    def broken(name):
        raise ModuleNotFoundError("No module named 'idna'", name="idna")

    monkeypatch.setattr(_install.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="idna"):
        reactorsock.compat.install()
    assert sys.modules["socket"] is std_socket
    assert not _install.installed()


def test_install_in_a_fresh_interpreter():
    """Imports after install() get the compat modules; earlier bindings stay (documented)."""
    code = textwrap.dedent(
        """
        import socket as early
        from reactorsock.compat import install
        install()
        import socket, select, selectors, http.client
        print(early.__name__, socket.__name__, select.__name__, selectors.__name__)
        print(http.client.socket.__name__, type(socket.socket()).__module__)
        """
    )
    out = _run([sys.executable, "-c", code])
    assert out.stdout.split() == [
        "socket",
        "reactorsock.compat.socket",
        "reactorsock.compat.select",
        "reactorsock.compat.selectors",
        "reactorsock.compat.socket",
        "reactorsock.compat.socket",
    ]


# -- main(): argument handling, in process ---------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no script or module given"),
        (["-m"], "-m needs a module name"),
        (["-m", "-x"], "-m needs a module name"),
        (["-x", "script.py"], "unknown option '-x'"),
        (["/nonexistent/script.py"], "can't open file"),
    ],
)
def test_main_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m reactorsock.compat script.py")
    assert message in err
    assert not _install.installed()


def test_main_help(capsys):
    assert main(["--help"]) == 0
    assert "python -m reactorsock.compat -m module" in capsys.readouterr().out


# -- python -m reactorsock.compat: real child processes ---------------------------


def _run(args, cwd=None, timeout=CHILD_TIMEOUT):
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=ENV, timeout=timeout)


def _compat(*args, cwd=None, timeout=CHILD_TIMEOUT):
    return _run([sys.executable, "-m", "reactorsock.compat", *args], cwd=cwd, timeout=timeout)


CHECK_COMPAT = """\
import socket, sys
_s = socket.socket(); _s.close()
assert type(_s).__module__ == "reactorsock.compat.socket", type(_s)
print("socket-class", type(_s).__module__)
"""


def test_script_gets_argv_path_and_exit_code(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        CHECK_COMPAT
        + "print('argv', sys.argv)\nprint('path0', sys.path[0])\n"
        + "print('name', __name__)\nsys.exit(int(sys.argv[1]))\n"
    )
    out = _compat(str(script), "7", "--flag")
    assert out.returncode == 7, out.stderr
    assert "socket-class reactorsock.compat.socket" in out.stdout
    assert f"argv [{str(script)!r}, '7', '--flag']" in out.stdout
    assert f"path0 {tmp_path}" in out.stdout
    assert "name __main__" in out.stdout


def test_module_gets_argv_and_runs_as_main(tmp_path):
    (tmp_path / "mymod.py").write_text(
        CHECK_COMPAT + "print('argv', sys.argv[1:], sys.argv[0].endswith('mymod.py'))\n"
        "print('name', __name__)\n"
    )
    out = _compat("-m", "mymod", "a", "-b", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "socket-class reactorsock.compat.socket" in out.stdout
    assert "argv ['a', '-b'] True" in out.stdout
    assert "name __main__" in out.stdout


def test_uncaught_exception_exits_1_with_traceback(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise RuntimeError('boom')\n")
    out = _compat(str(script))
    assert out.returncode == 1
    assert "RuntimeError: boom" in out.stderr


def test_missing_module_and_bad_arguments(tmp_path):
    out = _compat("-m", "no_such_module_xyz", cwd=tmp_path)
    assert out.returncode == 1
    assert "No module named no_such_module_xyz" in out.stderr
    out = _compat()
    assert out.returncode == 2 and out.stderr.startswith("usage:")


# -- end to end: unchanged stdlib programs ---------------------------------------


def test_http_server_module_serves_urllib(tmp_path):
    """``python -m reactorsock.compat -m http.server`` serves; urllib fetches, on compat too."""
    (tmp_path / "hello.txt").write_bytes(b"hello over compat\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactorsock.compat", "-m", "http.server", "0"]
        + ["--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        text=True,
    )
    try:
        port = _read_port(proc, r"port (\d+)")
        # Fetched from this process (stdlib) and from a compat child.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=10) as r:
            assert r.read() == b"hello over compat\n"
        client = tmp_path / "client.py"
        client.write_text(
            CHECK_COMPAT + "import urllib.request\n"
            f"r = urllib.request.urlopen('http://127.0.0.1:{port}/hello.txt', timeout=10)\n"
            "print('body', r.read())\n"
        )
        out = _compat(str(client))
        assert out.returncode == 0, out.stderr
        assert "body b'hello over compat\\n'" in out.stdout
        assert "socket-class reactorsock.compat.socket" in out.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("http.server did not stop on SIGINT")


def _read_port(proc, pattern, timeout=CHILD_TIMEOUT):
    """Read proc's stdout lines until pattern matches; return the port it captured."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = std_select.select([proc.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return int(m.group(1))
    proc.kill()
    pytest.fail(f"no port line from the server: {proc.communicate()}")


HTTP_IN_ONE = """\
import http.server, threading, urllib.request, functools, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/hello.txt" % server.server_address[1]
print("body", urllib.request.urlopen(url, timeout=10).read())
server.shutdown(); server.server_close()
"""

HTTPS_IN_ONE = """\
import http.server, threading, urllib.request, functools, ssl, sys, os
d = sys.argv[1]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=d)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "server.pem"))
server.socket = ctx.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
url = "https://localhost:%d/hello.txt" % server.server_address[1]
print("body", urllib.request.urlopen(url, timeout=10, context=client).read())
try:
    urllib.request.urlopen(url, timeout=10, context=ssl.create_default_context())
except urllib.error.URLError as e:
    print("untrusted", type(e.reason).__name__)
print("ssl-module", ssl.__name__)
server.shutdown(); server.server_close()
"""

SOCKETSERVER_TCP_UDP = """\
import socket, socketserver, threading

class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())

class DatagramEcho(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data.upper(), self.client_address)

with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo) as tcp, \\
        socketserver.UDPServer(("127.0.0.1", 0), DatagramEcho) as udp:
    for server in (tcp, udp):
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    with socket.create_connection(tcp.server_address, timeout=10) as c, c.makefile("rwb") as f:
        for word in (b"one", b"two"):
            f.write(word + b"\\n"); f.flush()
            print("tcp", f.readline())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(10)
        u.sendto(b"datagram", udp.server_address)
        data, addr = u.recvfrom(100)
        print("udp", data, addr == udp.server_address)
    tcp.shutdown(); udp.shutdown()
"""

SELECT_LOOP = """\
import select, socket
N = 40
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0)); server.listen(N); server.setblocking(False)
clients = []
for i in range(N):
    c = socket.socket(); c.setblocking(False)
    c.connect_ex(server.getsockname())
    clients.append(c)
pending = {c: b"msg%d" % i for i, c in enumerate(clients)}  # client -> message to send
conns, replies = [], {}
while len(replies) < N:
    rlist = [server] + conns + [c for c in clients if c not in pending and c not in replies]
    wlist = list(pending)
    r, w, _ = select.select(rlist, wlist, [], 10)
    assert r or w, "select timed out"
    assert all(any(o is x for x in rlist + wlist) for o in r + w)  # the very objects passed
    for s in w:
        s.send(pending.pop(s))
    for s in r:
        if s is server:
            conn, _ = server.accept(); conn.setblocking(False); conns.append(conn)
        elif s in conns:
            data = s.recv(100)
            if data:
                s.send(data.upper())
            else:
                conns.remove(s); s.close()
        else:
            replies[s] = s.recv(100)
print("replies", sorted(replies.values()) == sorted(b"MSG%d" % i for i in range(N)))
for s in clients + conns + [server]:
    s.close()
"""


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        pytest.param(HTTP_IN_ONE, ["body b'hello over compat\\n'"], id="http-server-and-urllib"),
        pytest.param(
            SOCKETSERVER_TCP_UDP,
            ["tcp b'ONE\\n'", "tcp b'TWO\\n'", "udp b'DATAGRAM' True"],
            id="socketserver-tcp-udp",
        ),
        pytest.param(SELECT_LOOP, ["replies True"], id="select-loop-40-sockets"),
        pytest.param(
            HTTPS_IN_ONE,
            ["body b'hello over compat\\n'", "untrusted SSLCertVerificationError"],
            id="https-server-and-urllib",
        ),
    ],
)
@pytest.mark.parametrize("runner", ["compat", "plain"])
def test_stdlib_program_runs_unchanged(program, expected, runner, tmp_path):
    """The program gives the same output on the stdlib and under ``-m reactorsock.compat``."""
    (tmp_path / "hello.txt").write_bytes(b"hello over compat\n")
    ca = make_ca()
    save_pem(tmp_path / "ca.pem", ca.certificate)
    save_pem(tmp_path / "server.pem", make_certificate(ca, ["localhost", "127.0.0.1"]))
    script = tmp_path / "prog.py"
    script.write_text(program)
    if runner == "compat":
        script.write_text(CHECK_COMPAT + program)
        out = _compat(str(script), str(tmp_path))
    else:
        out = _run([sys.executable, str(script), str(tmp_path)])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for line in expected:
        assert line in lines, (line, out.stdout, out.stderr)
    if runner == "compat":
        assert "socket-class reactorsock.compat.socket" in lines
        if "ssl-module" in out.stdout:
            assert "ssl-module reactorsock.compat.ssl" in lines
