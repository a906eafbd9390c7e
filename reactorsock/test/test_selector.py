"""Tests for ``reactorsock.selector``: every test runs on select, poll and epoll.

Besides the ``ISelector`` contract, these keep the stdlib ``test_selectors``
edge cases: an fd closed behind the selector's back, an fd closed and its
number reused, EINTR, and fds above FD_SETSIZE.
"""

from __future__ import annotations

import errno
import fcntl
import os
import resource
import signal
import socket
import threading
import time
import types

import pytest
from zope.interface.verify import verifyObject

import reactorsock.selector
from reactorsock.interfaces import ISelector
from reactorsock.selector import (
    BACKENDS,
    READ,
    WRITE,
    available,
    best_available,
    new_selector,
)

NAMES = [
    pytest.param(n, id=n, marks=pytest.mark.skipif(not available(n), reason=f"no {n}"))
    for n in ("select", "poll", "epoll")
]

#: Clock granularity allowed when checking that a timeout is never early.
SLACK = 0.001


@pytest.fixture(params=NAMES)
def sel(request):
    s = new_selector(request.param)
    yield s
    s.close()


@pytest.fixture
def pair():
    """A connected socketpair, closed after the test."""
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def pipe():
    """The (read, write) fds of a pipe; whichever the test leaves open is closed."""
    fds = os.pipe()
    yield fds
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def ready(sel, timeout: float = 1.0) -> dict[int, int]:
    """One poll, as {fd: mask}."""
    return dict(sel.poll(timeout))


def is_read(sel, mask: int) -> bool:
    return bool(mask & sel.READ_EVENTS)


def is_write(sel, mask: int) -> bool:
    return bool(mask & sel.WRITE_EVENTS)


def reuse_fd(fd: int) -> tuple[socket.socket, socket.socket, list[socket.socket]]:
    """A connected (socket numbered fd, peer) pair, and every socket to close.

    fd must be closed; the lowest free number usually is fd already (POSIX
    gives out the lowest), else ``dup2`` puts a duplicate there.
    """
    c, d = socket.socketpair()
    if d.fileno() == fd:
        c, d = d, c
    if c.fileno() == fd:
        return c, d, [c, d]
    os.dup2(c.fileno(), fd, inheritable=False)
    reused = socket.socket(fileno=fd)
    return reused, d, [reused, c, d]


# --------------------------------------------------------------------------
# Module functions


def test_available_and_best():
    assert available("select")
    assert not available("kqueue-nope")
    assert best_available() in BACKENDS
    assert available(best_available())
    assert new_selector().name == best_available()


def test_new_selector_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="'epoll', 'poll', 'select'"):
        new_selector("kqueue")


def test_new_selector_missing_backend(monkeypatch):
    """A backend the platform lacks gives a ValueError naming what is there."""
    monkeypatch.setattr(reactorsock.selector, "_select", types.SimpleNamespace())
    assert not available("epoll")
    assert best_available() == "select"
    with pytest.raises(ValueError, match="not available.*'select'"):
        new_selector("epoll")


# --------------------------------------------------------------------------
# register / modify / unregister


def test_provides_interface(sel):
    assert verifyObject(ISelector, sel)
    assert sel.name in BACKENDS
    for bits in (sel.READ_EVENTS, sel.WRITE_EVENTS, sel.INVALID_EVENTS):
        assert bits
    assert not sel.INVALID_EVENTS & (sel.READ_EVENTS | sel.WRITE_EVENTS)


@pytest.mark.parametrize("events", [0, 4, -1, READ | WRITE | 8])
def test_bad_events(sel, pair, events):
    fd = pair[0].fileno()
    with pytest.raises(ValueError, match="events"):
        sel.register(fd, events)
    assert fd not in sel
    sel.register(fd, READ)
    with pytest.raises(ValueError, match="events"):
        sel.modify(fd, events)


def test_negative_fd(sel):
    with pytest.raises(ValueError, match="-1"):
        sel.register(-1, READ)


def test_not_an_fd(sel):
    with pytest.raises(TypeError):
        sel.register(3.0, READ)


def test_register_twice(sel, pair):
    fd = pair[0].fileno()
    sel.register(fd, READ)
    with pytest.raises(KeyError):
        sel.register(fd, WRITE)
    assert len(sel) == 1


def test_unknown_fd(sel, pair):
    fd = pair[0].fileno()
    with pytest.raises(KeyError):
        sel.modify(fd, READ)
    with pytest.raises(KeyError):
        sel.unregister(fd)
    sel.register(fd, READ)
    sel.unregister(fd)
    with pytest.raises(KeyError):
        sel.unregister(fd)
    assert len(sel) == 0


def test_int_subclass_fd(sel, pair):
    """Channels are int subclasses; poll returns the kernel's plain ints."""

    class Channel(int):
        pass

    a, b = pair
    chan = Channel(a.fileno())
    sel.register(chan, READ | WRITE)
    events = sel.poll(1)
    assert events == [(a.fileno(), events[0][1])]
    assert type(events[0][0]) is int
    sel.modify(chan, READ)
    sel.unregister(chan)


def test_close_idempotent(sel, pair):
    sel.register(pair[0].fileno(), READ)
    sel.close()
    sel.close()
    assert len(sel) == 0


def test_context_manager(sel):
    with sel as s:
        assert s is sel


# --------------------------------------------------------------------------
# Readiness


def test_socket_readable_writable(sel, pair):
    a, b = pair
    fd = a.fileno()
    sel.register(fd, READ | WRITE)
    got = ready(sel)
    assert list(got) == [fd]
    assert is_write(sel, got[fd]) and not is_read(sel, got[fd])

    b.send(b"x")
    got = ready(sel)
    assert is_write(sel, got[fd]) and is_read(sel, got[fd])

    sel.modify(fd, READ)
    got = ready(sel)
    assert is_read(sel, got[fd]) and not is_write(sel, got[fd])

    a.recv(1)
    assert sel.poll(0) == []
    sel.modify(fd, WRITE)
    assert is_write(sel, ready(sel)[fd])


def test_pipe(sel, pipe):
    r, w = pipe
    sel.register(r, READ)
    sel.register(w, WRITE)
    got = ready(sel)
    assert list(got) == [w]
    os.write(w, b"x")
    got = ready(sel)
    assert is_read(sel, got[r]) and not is_write(sel, got[r])
    assert is_write(sel, got[w])


def test_pipe_eof_wakes_reader(sel, pipe):
    """Hang-up is in READ_EVENTS: a reader learns of EOF by reading."""
    r, w = pipe
    sel.register(r, READ)
    assert sel.poll(0) == []
    os.close(w)
    assert is_read(sel, ready(sel)[r])
    assert os.read(r, 1) == b""


def test_pipe_error_wakes_writer_only_fd(sel, pipe):
    """An fd registered only for WRITE learns that its reader has gone."""
    r, w = pipe
    sel.register(w, WRITE)
    fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
    while True:  # fill the pipe, so only the error can wake the writer
        try:
            os.write(w, b"x" * 65536)
        except BlockingIOError:
            break
    assert sel.poll(0) == []
    os.close(r)
    assert is_write(sel, ready(sel)[w])
    with pytest.raises(BrokenPipeError):
        os.write(w, b"x")


def test_many_fds(sel):
    pairs = [socket.socketpair() for _ in range(200)]
    try:
        for a, _b in pairs:
            sel.register(a.fileno(), READ)
        assert sel.poll(0) == []
        for _a, b in pairs[::2]:
            b.send(b"x")
        expected = {a.fileno() for a, _b in pairs[::2]}
        got = ready(sel)
        assert set(got) == expected
        assert all(is_read(sel, m) for m in got.values())
    finally:
        for a, b in pairs:
            a.close()
            b.close()


# --------------------------------------------------------------------------
# Timeouts and signals


def test_timeout_never_early(sel, pair):
    sel.register(pair[0].fileno(), READ)
    for timeout in (0.05, 0.0003, 0.0101):
        start = time.monotonic()
        assert sel.poll(timeout) == []
        assert time.monotonic() - start >= timeout - SLACK


def test_zero_and_negative_timeout_return_at_once(sel, pair):
    sel.register(pair[0].fileno(), READ)
    start = time.monotonic()
    for _ in range(10):
        assert sel.poll(0) == []
        assert sel.poll(-1) == []
    assert time.monotonic() - start < 0.5


def test_none_timeout_waits_for_io(sel, pair):
    a, b = pair
    sel.register(a.fileno(), READ)
    timer = threading.Timer(0.05, b.send, (b"x",))
    timer.start()
    try:
        assert list(ready(sel, None)) == [a.fileno()]
    finally:
        timer.join()


@pytest.fixture
def sigusr1():
    """Install a SIGUSR1 handler; yield a function that signals the main thread."""
    old = signal.getsignal(signal.SIGUSR1)
    main = threading.get_ident()

    def install(handler, delay):
        signal.signal(signal.SIGUSR1, handler)
        timer = threading.Timer(delay, signal.pthread_kill, (main, signal.SIGUSR1))
        timer.start()
        return timer

    yield install
    signal.signal(signal.SIGUSR1, old)


def test_eintr_keeps_waiting(sel, pair, sigusr1):
    """A signal whose handler returns does not break the wait (PEP 475)."""
    a, b = pair
    sel.register(a.fileno(), READ)
    seen = []
    sig_timer = sigusr1(lambda *args: seen.append(args[0]), 0.02)
    io_timer = threading.Timer(0.15, b.send, (b"x",))
    io_timer.start()
    try:
        start = time.monotonic()
        got = sel.poll(2)
        while not got and time.monotonic() - start < 2:
            got = sel.poll(2)  # [] on EINTR is allowed: the caller polls again
        assert list(dict(got)) == [a.fileno()]
        assert seen == [signal.SIGUSR1]
    finally:
        sig_timer.join()
        io_timer.join()


def test_signal_handler_exception_propagates(sel, pair, sigusr1):
    class Stop(Exception):
        pass

    def handler(*args):
        raise Stop

    sel.register(pair[0].fileno(), READ)
    timer = sigusr1(handler, 0.02)
    try:
        start = time.monotonic()
        with pytest.raises(Stop):
            sel.poll(2)
        assert time.monotonic() - start < 1.5
    finally:
        timer.join()


# --------------------------------------------------------------------------
# Fds closed behind the selector's back


def test_closed_fd_reported_at_most_once(sel, pair):
    """No exception and no spin; select and poll report it once, epoll never."""
    a, b = pair
    fd = a.fileno()
    sel.register(fd, READ)
    a.close()
    reports = []
    start = time.monotonic()
    for _ in range(5):
        for got_fd, mask in sel.poll(0.02):
            assert got_fd == fd
            assert mask & sel.INVALID_EVENTS
            reports.append(mask)
    elapsed = time.monotonic() - start
    assert elapsed >= 4 * 0.02 - SLACK  # at most one poll returned at once
    if sel.name == "epoll":
        # The kernel drops the closed description silently; the map still has
        # the number until the owner unregisters it, which still works.
        assert reports == []
        sel.unregister(fd)
    else:
        assert len(reports) == 1
        assert fd not in sel  # already forgotten
    with pytest.raises(KeyError):
        sel.unregister(fd)
    assert sel.poll(0) == []


def test_closed_fd_other_fds_still_served(sel, pair):
    a, b = pair
    c, d = socket.socketpair()
    try:
        sel.register(a.fileno(), READ)
        sel.register(c.fileno(), READ)
        a.close()
        d.send(b"x")
        seen = {}
        for _ in range(3):
            for fd, mask in sel.poll(0.02):
                seen[fd] = seen.get(fd, 0) | mask
        assert is_read(sel, seen[c.fileno()])
        assert c.fileno() in sel
    finally:
        c.close()
        d.close()


def test_unregister_closed_fd_then_reuse_number(sel, pair):
    """stdlib test_selectors' case: unregister a closed fd, register its reused number."""
    a, b = pair
    fd = a.fileno()
    sel.register(fd, READ)
    a.close()
    sel.unregister(fd)  # must not raise although fd is closed
    reused, peer, sockets = reuse_fd(fd)
    try:
        sel.register(reused.fileno(), READ)
        assert sel.poll(0) == []
        peer.send(b"x")
        got = ready(sel)
        assert list(got) == [fd] and is_read(sel, got[fd])
    finally:
        for s in sockets:
            s.close()


def test_modify_closed_fd_whose_number_was_reused(sel, pair):
    a, b = pair
    fd = a.fileno()
    sel.register(fd, READ)
    a.close()
    reused, peer, sockets = reuse_fd(fd)
    try:
        sel.modify(reused.fileno(), READ | WRITE)
        got = ready(sel)
        assert list(got) == [fd] and is_write(sel, got[fd])
        with pytest.raises(KeyError):  # the owner must unregister before closing
            sel.register(fd, READ)
    finally:
        for s in sockets:
            s.close()


def test_unregister_closed_fd_with_live_duplicate(sel, pair):
    """epoll watches descriptions: a dup must not keep reporting the old number."""
    a, b = pair
    fd = a.fileno()
    dup = a.dup()
    try:
        sel.register(fd, READ)
        a.close()
        sel.unregister(fd)
        b.send(b"x")
        for _ in range(3):
            assert sel.poll(0.01) == []
    finally:
        dup.close()


def test_register_number_reused_by_same_description(sel, pair):
    """Closed, unregistered, then dup2'd back: epoll's kernel entry still exists."""
    a, b = pair
    fd = a.fileno()
    dup = a.dup()
    sel.register(fd, READ)
    a.close()
    sel.unregister(fd)
    os.dup2(dup.fileno(), fd, inheritable=False)
    back = socket.socket(fileno=fd)
    try:
        sel.register(fd, WRITE)  # epoll: ADD fails with EEXIST, so MOD
        got = ready(sel)
        assert list(got) == [fd] and is_write(sel, got[fd])
        assert not is_read(sel, got[fd])
    finally:
        back.close()
        dup.close()


# --------------------------------------------------------------------------
# FD_SETSIZE


@pytest.fixture
def high_fd(pair):
    """An fd numbered >= 1024 (a dup of pair[0]), and the pair."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1100
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {want}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    try:
        fd = fcntl.fcntl(pair[0].fileno(), fcntl.F_DUPFD_CLOEXEC, 1024)
        try:
            yield fd, pair
        finally:
            os.close(fd)
    finally:
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_fd_above_fd_setsize(sel, high_fd):
    fd, (a, b) = high_fd
    assert fd >= 1024
    if sel.name == "select":
        with pytest.raises(ValueError, match=r"FD_SETSIZE.*1024.*poll or epoll"):
            sel.register(fd, READ)
        assert fd not in sel
        return
    sel.register(fd, READ)
    assert sel.poll(0) == []
    b.send(b"x")
    got = ready(sel)
    assert list(got) == [fd] and is_read(sel, got[fd])


# --------------------------------------------------------------------------
# Backend specifics


@pytest.mark.skipif(not available("epoll"), reason="no epoll")
def test_epoll_register_closed_fd_leaves_map_unchanged(pair):
    sel = new_selector("epoll")
    try:
        fd = pair[0].fileno()
        pair[0].close()
        with pytest.raises(OSError) as info:
            sel.register(fd, READ)
        assert info.value.errno == errno.EBADF
        assert fd not in sel
    finally:
        sel.close()


@pytest.mark.skipif(not available("epoll"), reason="no epoll")
def test_epoll_rebuild_reports_other_closed_fds(pair):
    """After an unregister hits EBADF, the rebuild finds fds closed unnoticed."""
    sel = new_selector("epoll")
    c, d = socket.socketpair()
    try:
        sel.register(pair[0].fileno(), READ)
        sel.register(c.fileno(), READ)
        fd_a, fd_c = pair[0].fileno(), c.fileno()
        pair[0].close()
        c.close()
        sel.unregister(fd_a)
        assert sel.poll(0) == [(fd_c, sel.INVALID_EVENTS)]
        assert fd_c not in sel
        assert sel.poll(0) == []
    finally:
        sel.close()
        d.close()
