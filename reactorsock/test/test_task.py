"""Tests for reactorsock.task: Clock, DelayedCall, LoopingCall, deferLater, react."""

from __future__ import annotations

import logging
import math

import pytest
from zope.interface.verify import verifyObject

from reactorsock import task
from reactorsock._clock import DelayedCall
from reactorsock.defer import CancelledError, Deferred, fail, succeed
from reactorsock.error import AlreadyCalled, AlreadyCancelled, ReactorNotRunning
from reactorsock.failure import Failure
from reactorsock.interfaces import IDelayedCall, IReactorTime
from reactorsock.task import Clock, LoopingCall, deferLater, react

# -- Clock and DelayedCall ----------------------------------------------------


def test_provides_interfaces():
    clock = Clock()
    assert verifyObject(IReactorTime, clock)
    assert verifyObject(IDelayedCall, clock.callLater(1, lambda: None))


def test_calls_fire_in_time_order_and_never_early():
    clock = Clock()
    fired = []
    clock.callLater(3, fired.append, "c")
    clock.callLater(1, fired.append, "a")
    clock.callLater(2, fired.append, "b")
    clock.advance(0.999)
    assert fired == []
    clock.advance(0.001)
    assert fired == ["a"]
    clock.advance(5)
    assert fired == ["a", "b", "c"]
    assert clock.seconds() == pytest.approx(6.0)


def test_equal_times_run_in_scheduling_order():
    clock = Clock()
    fired = []
    for i in range(20):
        clock.callLater(1, fired.append, i)
    clock.advance(1)
    assert fired == list(range(20))


def test_call_scheduled_during_advance_runs_if_due():
    clock = Clock()
    fired = []

    def first():
        fired.append("first")
        clock.callLater(0, fired.append, "now")
        clock.callLater(1, fired.append, "later")

    clock.callLater(1, first)
    clock.advance(1)
    assert fired == ["first", "now"]
    clock.advance(1)
    assert fired == ["first", "now", "later"]


def test_call_later_arguments_and_delay_checks():
    clock = Clock()
    seen = []
    dc = clock.callLater(0.5, lambda *a, **kw: seen.append((a, kw)), 1, 2, x=3)
    assert dc.getTime() == 0.5 and dc.args == (1, 2) and dc.kw == {"x": 3}
    clock.advance(0.5)
    assert seen == [((1, 2), {"x": 3})]
    for bad in (-1, math.inf, math.nan):
        with pytest.raises(ValueError):
            clock.callLater(bad, lambda: None)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_cancel_prevents_firing():
    clock = Clock()
    fired = []
    dc = clock.callLater(1, fired.append, "x")
    assert dc.active()
    dc.cancel()
    assert not dc.active() and dc.cancelled
    clock.advance(2)
    assert fired == [] and clock.getDelayedCalls() == []
    with pytest.raises(AlreadyCancelled):
        dc.cancel()


def test_already_called():
    clock = Clock()
    dc = clock.callLater(1, lambda: None)
    clock.advance(1)
    assert dc.called and not dc.active()
    with pytest.raises(AlreadyCalled):
        dc.cancel()
    with pytest.raises(AlreadyCalled):
        dc.reset(1)
    with pytest.raises(AlreadyCalled):
        dc.delay(1)


def test_reset_and_delay_move_calls():
    clock = Clock()
    fired = []
    a = clock.callLater(1, fired.append, "a")
    b = clock.callLater(2, fired.append, "b")
    a.delay(2)  # now due at 3
    assert a.getTime() == 3
    clock.advance(2)
    assert fired == ["b"]
    a.reset(5)  # 5 s after now (2): due at 7
    assert a.getTime() == 7
    clock.advance(4.5)
    assert fired == ["b"]
    a.reset(0.5)  # earlier again
    clock.advance(0.5)
    assert fired == ["b", "a"]
    assert b.called


def test_get_delayed_calls():
    clock = Clock()
    a = clock.callLater(2, lambda: None)
    b = clock.callLater(1, lambda: None)
    c = clock.callLater(3, lambda: None)
    assert clock.getDelayedCalls() == [b, a, c]
    b.cancel()
    clock.advance(2)
    assert clock.getDelayedCalls() == [c]


def test_delayed_call_repr_and_order():
    clock = Clock()

    def f(x, y=0):
        pass

    dc = clock.callLater(1.5, f, 1, y=2)
    text = repr(dc)
    assert "DelayedCall" in text and "1.5s" in text and "f(1, y=2)" in text
    dc.cancel()
    assert "cancelled" in repr(dc) and dc.func is None


def test_delayed_call_owner_contract():
    """The constructor the reactors use: the owner's callbacks see cancel and reset."""
    events = []
    now = [10.0]
    dc = DelayedCall(
        12.0,
        print,
        (),
        {},
        lambda c: events.append(("cancel", c.cancelled)),
        lambda c: events.append(("reset", c.time)),
        lambda: now[0],
    )
    other = DelayedCall(12.0, print, (), {}, None, None, None)
    dc._seq, other._seq = 1, 2
    assert dc < other and not other < dc
    dc.delay(1)
    dc.reset(5)
    dc.cancel()
    assert events == [("reset", 13.0), ("reset", 15.0), ("cancel", True)]


def test_pump():
    clock = Clock()
    fired = []
    clock.callLater(1, fired.append, 1)
    clock.callLater(2, fired.append, 2)
    clock.pump([0.5, 0.5, 1])
    assert fired == [1, 2] and clock.seconds() == 2


def test_exception_in_call_propagates_from_advance():
    clock = Clock()
    clock.callLater(1, lambda: 1 / 0)
    fired = []
    clock.callLater(1, fired.append, "next")
    with pytest.raises(ZeroDivisionError):
        clock.advance(1)
    clock.advance(0)
    assert fired == ["next"]


# -- LoopingCall --------------------------------------------------------------


def make_loop(f, *a, **kw):
    loop = LoopingCall(f, *a, **kw)
    loop.clock = Clock()
    return loop


def test_looping_call_intervals():
    times = []
    loop = make_loop(lambda: times.append(loop.clock.seconds()))
    d = loop.start(1.0)
    assert loop.running and times == [0.0]
    for _ in range(3):
        loop.clock.advance(1)
    assert times == [0.0, 1.0, 2.0, 3.0]
    loop.stop()
    assert not loop.running
    assert d.called and d.result is loop
    loop.clock.advance(10)
    assert len(times) == 4


def test_looping_call_not_now_and_args():
    seen = []
    loop = make_loop(seen.append, "tick")
    loop.start(2, now=False)
    assert seen == []
    loop.clock.advance(2)
    assert seen == ["tick"]
    loop.stop()


def test_looping_call_skips_missed_intervals():
    times = []
    loop = make_loop(lambda: times.append(loop.clock.seconds()))
    loop.start(1.0)
    loop.clock.advance(3.5)  # one late call, not a burst of three
    assert times == [0.0, 3.5]
    loop.clock.advance(0.5)  # back on the grid
    assert times == [0.0, 3.5, 4.0]
    loop.stop()


def test_looping_call_waits_for_returned_deferred():
    pending = []

    def f():
        d = Deferred()
        pending.append(d)
        return d

    loop = make_loop(f)
    loop.start(1)
    loop.clock.advance(2.5)
    assert len(pending) == 1  # no new call while the first one is running
    pending[0].callback(None)
    loop.clock.advance(0.5)  # next grid point is 3
    assert len(pending) == 2
    loop.stop()  # stopping while f's Deferred is pending
    assert loop.deferred is not None
    pending[1].callback(None)
    assert loop.deferred is None


def test_looping_call_exception_errbacks_and_stops():
    count = []

    def f():
        count.append(1)
        if len(count) == 2:
            raise ValueError("boom")

    loop = make_loop(f)
    d = loop.start(1)
    loop.clock.advance(1)
    assert not loop.running
    failures = []
    d.addErrback(failures.append)
    assert failures[0].check(ValueError)
    loop.clock.advance(5)
    assert len(count) == 2


def test_looping_call_failed_deferred_errbacks():
    loop = make_loop(lambda: fail(KeyError("k")))
    failures = []
    loop.start(1).addErrback(failures.append)
    assert failures[0].check(KeyError) and not loop.running


def test_looping_call_misuse():
    loop = make_loop(lambda: None)
    with pytest.raises(RuntimeError):
        loop.stop()
    with pytest.raises(ValueError):
        loop.start(-1)
    loop.start(1)
    with pytest.raises(RuntimeError):
        loop.start(1)
    loop.stop()


def test_looping_call_zero_interval():
    """With interval 0 every advance() runs f again and again until it stops the loop."""
    counts = []

    def f(n):
        counts.append(n)
        if len(counts) == 5:
            loop.stop()

    loop = LoopingCall.withCount(f)
    loop.clock = Clock()
    d = loop.start(0, now=False)
    loop.clock.advance(0)
    assert counts == [1] * 5 and d.result is loop


def test_looping_call_reset():
    times = []
    loop = make_loop(lambda: times.append(loop.clock.seconds()))
    loop.start(1)
    loop.clock.advance(0.5)
    loop.reset()
    loop.clock.advance(0.9)
    assert times == [0.0]
    loop.clock.advance(0.1)
    assert times == [0.0, 1.5]
    loop.stop()


def test_looping_call_with_count():
    counts = []
    loop = LoopingCall.withCount(counts.append)
    loop.clock = Clock()
    loop.start(1)
    loop.clock.advance(1)
    loop.clock.advance(3)
    assert counts == [1, 1, 3]
    loop.stop()


# -- deferLater ---------------------------------------------------------------


def test_defer_later():
    clock = Clock()
    d = deferLater(clock, 2, lambda x: x * 2, 21)
    clock.advance(1.9)
    assert not d.called
    clock.advance(0.1)
    assert d.result == 42
    d = deferLater(clock, 1)
    clock.advance(1)
    assert d.called and d.result is None


def test_defer_later_error():
    clock = Clock()
    d = deferLater(clock, 1, lambda: 1 / 0)
    clock.advance(1)
    failures = []
    d.addErrback(failures.append)
    assert failures[0].check(ZeroDivisionError)


def test_defer_later_cancel():
    clock = Clock()
    called = []
    d = deferLater(clock, 1, called.append, "x")
    d.cancel()
    assert clock.getDelayedCalls() == []
    failures = []
    d.addErrback(failures.append)
    assert failures[0].check(CancelledError)
    clock.advance(2)
    assert called == []


# -- react --------------------------------------------------------------------


class FakeReactor:
    """Just the IReactorCore calls react() makes, plus a Clock."""

    def __init__(self):
        self.clock = Clock()
        self.callLater = self.clock.callLater
        self.running = False
        self.stopped = False
        self.triggers = []
        self.when_running = []

    def addSystemEventTrigger(self, phase, event, f, *args):
        self.triggers.append((phase, event, f, args))

    def callWhenRunning(self, f, *args):
        if self.running:
            f(*args)
        else:
            self.when_running.append((f, args))

    def run(self):
        self.running = True
        for f, args in self.when_running:
            f(*args)
        while self.running and self.clock.getDelayedCalls():
            self.clock.advance(self.clock.getDelayedCalls()[0].getTime() - self.clock.seconds())
        for phase, event, f, args in self.triggers:
            if (phase, event) == ("before", "shutdown"):
                f(*args)

    def stop(self):
        if not self.running:
            raise ReactorNotRunning()
        self.running = False
        self.stopped = True


def run_react(main, argv=()):
    reactor = FakeReactor()
    with pytest.raises(SystemExit) as info:
        react(main, argv, _reactor=reactor)
    return info.value.code, reactor


def test_react_success():
    def main(reactor, delay):
        return deferLater(reactor, delay, lambda: None)

    code, reactor = run_react(main, [1.5])
    assert code == 0 and reactor.stopped and reactor.clock.seconds() == 1.5


def test_react_coroutine_and_immediate_result():
    async def main(reactor):
        await deferLater(reactor, 1)

    assert run_react(main)[0] == 0
    code, reactor = run_react(lambda reactor: succeed(None))
    assert code == 0 and reactor.stopped


def test_react_failure_logs_and_exits_1(caplog):
    def main(reactor):
        return fail(ValueError("main broke"))

    code, _ = run_react(main)
    assert code == 1
    assert "main function encountered error" in caplog.text and "main broke" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_react_system_exit_code():
    def main(reactor):
        raise SystemExit(3)

    assert run_react(main)[0] == 3


def test_task_exports():
    assert set(task.__all__) >= {"Clock", "LoopingCall", "deferLater", "react"}
    assert isinstance(Failure(ValueError()), Failure)
