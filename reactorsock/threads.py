"""Running blocking code in threads, and calling into the loop from threads.

Twisted's ``twisted.internet.threads`` names: ``deferToThread`` runs a
function in the reactor's pool and returns a Deferred;
``blockingCallFromThread`` runs a function in the loop and waits for it from
a worker thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from reactorsock.defer import Deferred, maybeDeferred
from reactorsock.error import ReactorNotRunning
from reactorsock.failure import Failure

__all__ = ["deferToThread", "deferToThreadPool", "blockingCallFromThread"]


def deferToThreadPool(reactor: Any, threadpool: Any, f: Callable, *args: Any, **kw: Any):
    """Run ``f(*args, **kw)`` in threadpool; the Deferred fires in reactor's loop."""
    d = Deferred()

    def on_result(ok: bool, result: object) -> None:
        reactor.callFromThread(d.callback if ok else d.errback, result)

    threadpool.callInThreadWithCallback(on_result, f, *args, **kw)
    return d


def deferToThread(f: Callable, *args: Any, **kw: Any) -> Deferred:
    """Run ``f(*args, **kw)`` in the default reactor's thread pool; return a Deferred."""
    from reactorsock.reactor import get_reactor

    reactor = get_reactor()
    return deferToThreadPool(reactor, reactor.getThreadPool(), f, *args, **kw)


def blockingCallFromThread(reactor: Any, f: Callable, *args: Any, **kw: Any) -> Any:
    """Run ``f(*args, **kw)`` in reactor's loop and wait for its (Deferred's) result.

    Call it from a thread other than the loop's: in the loop thread it would
    wait forever, so it raises ``RuntimeError`` there.  A failure is raised
    in the calling thread.  Once the reactor has shut down (its "during
    shutdown" phase, before the thread pool is joined) a waiting call, or a
    new one, raises ``error.ReactorNotRunning`` instead of waiting forever.
    """
    if getattr(reactor, "_loop_thread", None) is threading.current_thread():
        raise RuntimeError("blockingCallFromThread called from the reactor's own thread")
    box: queue.SimpleQueue[object] = queue.SimpleQueue()

    def in_loop() -> None:
        d = maybeDeferred(f, *args, **kw)
        d.addBoth(box.put)

    add = getattr(reactor, "_add_blocked_thread", None)  # not on fakes such as MemoryReactor
    if add is not None and not add(box):
        raise ReactorNotRunning("the reactor has shut down; it runs no calls from threads")
    try:
        reactor.callFromThread(in_loop)
        result = box.get()
    finally:
        if add is not None:
            reactor._remove_blocked_thread(box)
    if isinstance(result, Failure):
        result.raiseException()
    return result
