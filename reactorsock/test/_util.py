"""Helpers for tests that drive a real reactor."""

from __future__ import annotations

import time

import pytest

from reactorsock.failure import Failure


def requires(*ifaces):
    """Mark a reactor test as needing the reactor to provide ifaces."""
    # with_args: a bare mark(IFoo) would take the lone interface as its target.
    return pytest.mark.requires.with_args(*ifaces)


def run_until(reactor, d, timeout: float = 5.0):
    """Iterate reactor until Deferred d fires; return its result or raise its failure.

    Fails the test after timeout seconds rather than hanging the run.
    """
    box: list = []
    d.addBoth(box.append)
    deadline = time.monotonic() + timeout
    while not box:
        left = deadline - time.monotonic()
        if left <= 0:
            d.cancel() if not d.called else None
            pytest.fail(f"timed out after {timeout}s waiting for {d!r}")
        reactor.iterate(min(left, 0.05))
    result = box[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


def iterate_until(reactor, predicate, timeout: float = 5.0) -> None:
    """Iterate reactor until predicate() is true; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"timed out after {timeout}s waiting for {predicate!r}")
        reactor.iterate(min(left, 0.05))
