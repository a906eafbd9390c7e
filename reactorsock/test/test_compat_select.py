"""Differential tests of ``reactorsock.compat.select`` and ``.selectors``.

Each test body runs on the stdlib modules and on the compat ones, and where
sockets are involved on stdlib sockets and on ``reactorsock.compat.socket``
sockets (whose ``fileno()`` is a channel) -- mixed with pipes, channels and
files in one call, which Jython's select could not do.  Tests of what only
compat does (refusing closed channels) run on compat alone.
"""

from __future__ import annotations

import os
import select as std_select
import selectors as std_selectors
import socket as std_socket

import pytest

from reactorsock.channel import Channel, PipeChannel, SocketChannel
from reactorsock.channel import socketpair as channel_socketpair
from reactorsock.compat import select as compat_select
from reactorsock.compat import selectors as compat_selectors
from reactorsock.compat import socket as compat_socket

__all__: list[str] = []

SELECT_MODULES = [
    pytest.param(std_select, id="stdlib-select"),
    pytest.param(compat_select, id="compat-select"),
]
SELECTORS_MODULES = [
    pytest.param(std_selectors, id="stdlib-selectors"),
    pytest.param(compat_selectors, id="compat-selectors"),
]
SOCKET_MODULES = [
    pytest.param(std_socket, id="stdlib-socket"),
    pytest.param(compat_socket, id="compat-socket"),
]
SELECTOR_CLASSES = [
    name
    for name in ("DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector")
    if hasattr(std_selectors, name)
]
WAIT = 5.0  # seconds: every wait for readiness that should come is bounded by this


@pytest.fixture
def closing():
    """Collect objects to close (sockets, channels, files, int fds) after the test."""
    things: list = []
    yield things
    for thing in reversed(things):
        if isinstance(thing, int) and not isinstance(thing, Channel):
            try:
                os.close(thing)
            except OSError:
                pass
        else:
            thing.close()


def _endpoints(sockmod, closing, tmp_path):
    """Return ``[(reader, writer_fn)]``: one readable-when-written object per fd kind.

    A socket of sockmod, a plain ``os.pipe()`` int, a ``PipeChannel``, a
    ``SocketChannel``; writer_fn makes the reader readable.
    """
    a, b = sockmod.socketpair()
    r, w = os.pipe()
    pr, pw = PipeChannel.pipe()
    ca, cb = channel_socketpair()
    closing.extend([a, b, r, w, pr, pw, ca, cb])
    return [
        (a, lambda: b.sendall(b"x")),
        (r, lambda: os.write(w, b"x")),
        (pr, lambda: pw.write(b"x")),
        (ca, lambda: cb.write(b"x")),
    ]


# -- select() -----------------------------------------------------------------


@pytest.mark.parametrize("sockmod", SOCKET_MODULES)
@pytest.mark.parametrize("selmod", SELECT_MODULES)
def test_select_returns_the_objects_passed(selmod, sockmod, closing, tmp_path):
    """Sockets, pipes and channels mix in one call; the result holds the same objects, in order."""
    endpoints = _endpoints(sockmod, closing, tmp_path)
    readers = [reader for reader, _ in endpoints]
    assert selmod.select(readers, [], [], 0) == ([], [], [])
    for _, write in endpoints[1:]:
        write()
    r, w, x = selmod.select(readers, [], [], WAIT)
    assert [id(o) for o in r] == [id(o) for o in readers[1:]]
    assert (w, x) == ([], [])
    endpoints[0][1]()
    r, _, _ = selmod.select(readers, [], [], WAIT)
    assert [id(o) for o in r] == [id(o) for o in readers]


@pytest.mark.parametrize("sockmod", SOCKET_MODULES)
@pytest.mark.parametrize("selmod", SELECT_MODULES)
def test_select_writable_and_files(selmod, sockmod, closing, tmp_path):
    """Writable sockets and pipe sinks, and a regular file (always ready), come back as passed."""
    a, b = sockmod.socketpair()
    r, w = os.pipe()
    f = open(tmp_path / "f", "w+b")  # noqa: SIM115 - closed by the fixture
    closing.extend([a, b, r, w, f])
    rl, wl, xl = selmod.select([f], [a, w, f], [], WAIT)
    assert rl == [f] and rl[0] is f
    assert [id(o) for o in wl] == [id(a), id(w), id(f)]
    assert xl == []


@pytest.mark.parametrize("selmod", SELECT_MODULES)
def test_select_mixes_stdlib_and_compat_sockets(selmod, closing):
    sa, sb = std_socket.socketpair()
    ca, cb = compat_socket.socketpair()
    closing.extend([sa, sb, ca, cb])
    sb.sendall(b"1")
    cb.sendall(b"2")
    r, _, _ = selmod.select([ca, sa], [], [], WAIT)
    assert r[0] is ca and r[1] is sa and len(r) == 2


@pytest.mark.parametrize("sockmod", SOCKET_MODULES)
@pytest.mark.parametrize("selmod", SELECT_MODULES)
def test_select_closed_socket_raises_value_error(selmod, sockmod):
    """A closed socket's fileno() is -1: CPython's ValueError, not EBADF."""
    s = sockmod.socket()
    s.close()
    assert s.fileno() == -1
    with pytest.raises(ValueError, match="file descriptor cannot be a negative integer"):
        selmod.select([s], [], [], 0)
    with pytest.raises(ValueError, match="negative"):
        selmod.select([], [s], [], 0)


@pytest.mark.parametrize("selmod", SELECT_MODULES)
def test_select_timeout_and_bad_arguments(selmod):
    """Nothing ready: empty lists after the timeout; bad arguments raise as in CPython."""
    assert selmod.select([], [], [], 0.01) == ([], [], [])
    with pytest.raises(TypeError):
        selmod.select(1, [], [])
    with pytest.raises(TypeError):
        selmod.select([object()], [], [], 0)
    with pytest.raises(ValueError):
        selmod.select([], [], [], -1)
    with pytest.raises(TypeError):
        selmod.select([], [], [], "1")


@pytest.mark.parametrize("selmod", SELECT_MODULES)
def test_select_accepts_any_iterable(selmod, closing):
    """A generator or a set of objects works and is consumed once, as in CPython."""
    a, b = compat_socket.socketpair()
    closing.extend([a, b])
    b.sendall(b"x")
    r, _, _ = selmod.select((s for s in [a, b]), [], [], WAIT)
    assert r == [a] and r[0] is a
    r, _, _ = selmod.select({a, b}, [], [], WAIT)
    assert r == [a]


def test_compat_select_refuses_closed_channel():
    """A closed channel's int is a stale fd: compat refuses it (the stdlib cannot tell)."""
    r, w = PipeChannel.pipe()
    r.close()
    w.close()
    with pytest.raises(ValueError, match="closed PipeChannel"):
        compat_select.select([r], [], [], 0)
    with pytest.raises(ValueError, match="closed PipeChannel"):
        compat_select.select((), (w,), [], 0)


def test_compat_select_module_has_the_stdlib_api():
    """Every public name of the stdlib module is there, constants equal; error is OSError."""
    public = {n for n in dir(std_select) if not n.startswith("_")}
    assert public <= set(compat_select.__all__)
    for name in public - {"select"}:
        assert getattr(compat_select, name) is getattr(std_select, name), name
    assert compat_select.error is OSError


# -- poll() and epoll() ---------------------------------------------------------


POLLERS = [
    pytest.param(
        lambda mod: mod.poll(),
        (std_select.POLLIN, std_select.POLLOUT) if hasattr(std_select, "poll") else None,
        id="poll",
    ),
]
if hasattr(std_select, "epoll"):
    POLLERS.append(
        pytest.param(
            lambda mod: mod.epoll(), (std_select.EPOLLIN, std_select.EPOLLOUT), id="epoll"
        )
    )


@pytest.mark.parametrize(("make", "flags"), POLLERS)
@pytest.mark.parametrize("sockmod", SOCKET_MODULES)
@pytest.mark.parametrize("selmod", SELECT_MODULES)
def test_poll_reports_plain_int_fds(selmod, sockmod, make, flags, closing, tmp_path):
    """Register objects of every kind; poll() reports (int fd, events) as CPython does."""
    pollin, _ = flags
    poller = make(selmod)
    if hasattr(poller, "close"):
        closing.append(poller)
    endpoints = _endpoints(sockmod, closing, tmp_path)
    for reader, _ in endpoints:
        poller.register(reader, pollin)
    assert poller.poll(0) == []
    for _, write in endpoints:
        write()
    fds = _poll_all(poller, len(endpoints))
    assert all(type(fd) is int for fd, _ in fds)
    assert sorted(fd for fd, _ in fds) == sorted(_fd(reader) for reader, _ in endpoints)
    assert all(events & pollin for _, events in fds)
    for reader, _ in endpoints:
        poller.unregister(reader)


def _fd(obj):
    return obj if isinstance(obj, int) else obj.fileno()


def _poll_all(poller, n):
    """Poll (with timeouts in the poller's unit) until n fds are reported, within WAIT."""
    timeout = WAIT if isinstance(poller, std_select.epoll) else WAIT * 1000
    seen = {}
    for _ in range(n):
        for fd, events in poller.poll(timeout):
            seen[fd] = (fd, events)
        if len(seen) == n:
            break
    return list(seen.values())


@pytest.mark.parametrize(("make", "flags"), POLLERS)
@pytest.mark.parametrize("sockmod", SOCKET_MODULES)
@pytest.mark.parametrize("selmod", SELECT_MODULES)
def test_poll_register_closed_socket_raises(selmod, sockmod, make, flags, closing):
    poller = make(selmod)
    if hasattr(poller, "close"):
        closing.append(poller)
    s = sockmod.socket()
    s.close()
    with pytest.raises(ValueError, match="negative"):
        poller.register(s)


# -- selectors --------------------------------------------------------------------


@pytest.mark.parametrize("cls_name", SELECTOR_CLASSES)
@pytest.mark.parametrize("sockmod", SOCKET_MODULES)
@pytest.mark.parametrize("selmod", SELECTORS_MODULES)
def test_selector_hands_back_the_registered_objects(selmod, sockmod, cls_name, closing, tmp_path):
    """get_key, get_map and select() give the very object registered, of every kind."""
    sel = getattr(selmod, cls_name)()
    closing.append(sel)
    endpoints = _endpoints(sockmod, closing, tmp_path)
    for i, (reader, _) in enumerate(endpoints):
        key = sel.register(reader, selmod.EVENT_READ, data=i)
        assert key.fileobj is reader and key.fd == _fd(reader)
    assert sel.select(0) == []
    for _, write in endpoints:
        write()
    ready = {}
    for _ in range(len(endpoints)):
        for key, events in sel.select(WAIT):
            ready[key.data] = (key, events)
        if len(ready) == len(endpoints):
            break
    assert sorted(ready) == list(range(len(endpoints)))
    for i, (reader, _) in enumerate(endpoints):
        key, events = ready[i]
        assert key.fileobj is reader and events == selmod.EVENT_READ
        assert sel.get_key(reader) is key
        assert sel.get_map()[reader] is key
        assert sel.get_map()[_fd(reader)] is key
    assert len(sel.get_map()) == len(endpoints)


@pytest.mark.parametrize("cls_name", SELECTOR_CLASSES)
@pytest.mark.parametrize("sockmod", SOCKET_MODULES)
@pytest.mark.parametrize("selmod", SELECTORS_MODULES)
def test_selector_modify_and_unregister_after_close(selmod, sockmod, cls_name, closing):
    """modify() keeps the object; a socket closed while registered still unregisters."""
    sel = getattr(selmod, cls_name)()
    closing.append(sel)
    a, b = sockmod.socketpair()
    closing.extend([a, b])
    sel.register(a, selmod.EVENT_READ)
    key = sel.modify(a, selmod.EVENT_WRITE, data="w")
    assert key.fileobj is a and key.data == "w"
    assert [k.fileobj for k, _ in sel.select(WAIT)] == [a]
    a.close()  # fileno() is now -1: unregister finds the key by the object
    assert sel.unregister(a) is key
    assert not sel.get_map()
    with pytest.raises(ValueError, match="Invalid file descriptor: -1"):
        sel.get_key(a)  # neither fd nor registered object: CPython's ValueError


@pytest.mark.parametrize("cls_name", SELECTOR_CLASSES)
@pytest.mark.parametrize("sockmod", SOCKET_MODULES)
@pytest.mark.parametrize("selmod", SELECTORS_MODULES)
def test_selector_register_errors(selmod, sockmod, cls_name, closing):
    sel = getattr(selmod, cls_name)()
    closing.append(sel)
    s = sockmod.socket()
    closing.append(s)
    sel.register(s, selmod.EVENT_READ)
    with pytest.raises(KeyError):
        sel.register(s, selmod.EVENT_READ)
    with pytest.raises(ValueError):
        sel.register(sockmod.socket(), 0)  # closed by the GC: no events given
    closed = sockmod.socket()
    closed.close()
    with pytest.raises(ValueError):
        sel.register(closed, selmod.EVENT_READ)


@pytest.mark.parametrize("cls_name", SELECTOR_CLASSES)
def test_compat_selector_refuses_closed_channel(cls_name):
    """A closed channel is refused at register(), like a closed socket."""
    sel = getattr(compat_selectors, cls_name)()
    ch = SocketChannel.open()
    ch.close()
    try:
        with pytest.raises(ValueError, match="Invalid file object"):
            sel.register(ch, compat_selectors.EVENT_READ)
        with pytest.raises(ValueError, match="Invalid file object"):
            sel.modify(ch, compat_selectors.EVENT_READ)  # as for a closed socket
    finally:
        sel.close()


def test_compat_selectors_classes_are_stdlib_subclasses():
    for name in SELECTOR_CLASSES:
        cls = getattr(compat_selectors, name)
        assert issubclass(cls, getattr(std_selectors, name)), name
        assert issubclass(cls, std_selectors.BaseSelector)
    assert compat_selectors.DefaultSelector.__name__ == std_selectors.DefaultSelector.__name__
    assert compat_selectors.SelectorKey is std_selectors.SelectorKey
    assert (compat_selectors.EVENT_READ, compat_selectors.EVENT_WRITE) == (1, 2)


@pytest.mark.parametrize("selmod", SELECTORS_MODULES)
def test_selector_accept_loop_over_compat_listener(selmod, closing):
    """A compat listening socket in a selector: accept() when it is readable, echo back."""
    srv = compat_socket.create_server(("127.0.0.1", 0))
    srv.setblocking(False)
    sel = selmod.DefaultSelector()
    closing.extend([srv, sel])
    sel.register(srv, selmod.EVENT_READ)
    clients = [compat_socket.create_connection(srv.getsockname(), timeout=WAIT) for _ in range(3)]
    closing.extend(clients)
    for i, c in enumerate(clients):
        c.sendall(b"%d" % i)
    echoed = 0
    while echoed < len(clients):
        events = sel.select(WAIT)
        assert events, "timed out waiting for readiness"
        for key, _ in events:
            if key.fileobj is srv:
                conn, _ = srv.accept()
                closing.append(conn)
                sel.register(conn, selmod.EVENT_READ)
            else:
                data = key.fileobj.recv(10)
                key.fileobj.sendall(data.upper() + b"!")
                sel.unregister(key.fileobj)
                echoed += 1
    assert sorted(c.recv(10) for c in clients) == [b"0!", b"1!", b"2!"]
