"""Scheduling helpers with Twisted's ``twisted.internet.task`` names.

:class:`Clock` (a deterministic ``IReactorTime`` for tests) and
:class:`LoopingCall` live in private modules and are re-exported here;
:func:`deferLater` and :func:`react` are defined here.  This module does not
run a reactor except in :func:`react`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from reactorsock._clock import Clock, DelayedCall
from reactorsock._looping import LoopingCall
from reactorsock.defer import Deferred, maybeDeferred
from reactorsock.error import ReactorNotRunning
from reactorsock.failure import Failure

__all__ = ["Clock", "DelayedCall", "LoopingCall", "deferLater", "react"]

_log = logging.getLogger("reactorsock.task")


def deferLater(
    clock: Any, delay: float, callable: Callable[..., Any] | None = None, *args: Any, **kw: Any
) -> Deferred:
    """Return a Deferred firing with ``callable(*args, **kw)`` *delay* seconds from now.

    With no *callable* it fires with None.  *clock* is any ``IReactorTime``.
    Cancelling the Deferred cancels the timed call (and errbacks with
    ``CancelledError``).
    """

    def cancel(d: Deferred) -> None:
        delayed_call.cancel()

    def call(_: None) -> Any:
        return None if callable is None else callable(*args, **kw)

    d = Deferred(cancel)
    d.addCallback(call)
    delayed_call = clock.callLater(delay, d.callback, None)
    return d


def react(main: Callable[..., Any], argv: Sequence[Any] = (), _reactor: Any = None) -> NoReturn:
    """Run ``main(reactor, *argv)`` on a reactor until its result fires, then exit.

    *main* returns a Deferred, a coroutine or a plain value.  When that
    outcome is known the reactor is stopped and the process exits with
    ``sys.exit``: code 0 on success; the code of a ``SystemExit`` failure;
    otherwise 1, after logging the failure at ERROR on the
    ``reactorsock.task`` logger.  The reactor is
    ``reactorsock.reactor.get_reactor()`` unless *_reactor* is given.
    """
    if _reactor is None:
        from reactorsock.reactor import get_reactor

        _reactor = get_reactor()
    code = 0
    stopping: list[bool] = []
    _reactor.addSystemEventTrigger("before", "shutdown", stopping.append, True)

    def stop(result: Any, stop_reactor: bool) -> None:
        nonlocal code
        if stop_reactor:
            try:
                _reactor.stop()
            except ReactorNotRunning:
                pass
        if isinstance(result, Failure):
            if result.check(SystemExit):
                code = result.value.code
            else:
                _log.error("main function encountered error\n%s", result.getTraceback().rstrip())
                code = 1

    def finished(result: Any) -> None:
        if stopping:
            # The reactor is already shutting down (someone else stopped it).
            stop(result, False)
        else:
            _reactor.callWhenRunning(stop, result, True)

    maybeDeferred(main, _reactor, *argv).addBoth(finished)
    _reactor.run()
    sys.exit(code)
