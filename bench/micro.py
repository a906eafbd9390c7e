"""Loop micro-benchmarks, one (framework, benchmark) per process; prints JSON.

usage: micro.py FRAMEWORK BENCH [--n N]
  FRAMEWORK  reactorsock | twisted | asyncio
  BENCH      calllater_cancel   schedule a call 10 s ahead and cancel it
             callfromthread     a second thread posts N calls; time until the
                                loop has run the last one, per call
             deferred_chain     a Deferred with 10 callbacks fired synchronously
                                (asyncio: a Future with 10 done-callbacks,
                                set_result, run by the loop)
Reports ns per operation: the best of 5 timed batches (timeit's rule: the
minimum is the least disturbed).
"""

from __future__ import annotations

import argparse
import json
import threading
import time

CHAIN = 10


def _noop(*a):
    return a[0] if a else None


def bench_reactorsock(name, n):
    if name == "deferred_chain":
        from reactorsock.defer import Deferred

        return _deferred(Deferred, n)
    from reactorsock.reactor import new_reactor

    if name == "callfromthread":
        return lambda: _reactor(new_reactor("epoll"), name, n)()  # a reactor runs once
    return _reactor(new_reactor("epoll"), name, n)


def bench_twisted(name, n):
    if name == "deferred_chain":
        from twisted.internet.defer import Deferred

        return _deferred(Deferred, n)
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import reactor

    return _reactor(reactor, name, n)


def _deferred(deferred_class, n):
    def batch():
        t = time.perf_counter()
        for _ in range(n):
            d = deferred_class()
            for _ in range(CHAIN):
                d.addCallback(_noop)
            d.callback(1)
        return time.perf_counter() - t

    return batch


def _reactor(reactor, name, n):
    if name == "calllater_cancel":

        def batch():
            cl = reactor.callLater
            t = time.perf_counter()
            for _ in range(n):
                cl(10, _noop).cancel()
            return time.perf_counter() - t

        return batch
    if name == "callfromthread":

        def batch():
            done = []

            def post():
                cft = reactor.callFromThread
                for _ in range(n - 1):
                    cft(_noop)
                cft(finish)

            def finish():
                done.append(time.perf_counter())
                reactor.stop()

            def start():
                threading.Thread(target=post).start()

            t = time.perf_counter()
            reactor.callWhenRunning(start)
            reactor.run(installSignalHandlers=False)
            return done[0] - t

        return batch
    raise SystemExit(f"unknown benchmark {name}")


def bench_asyncio(name, n):
    import asyncio

    loop = asyncio.new_event_loop()
    if name == "calllater_cancel":

        def batch():
            cl = loop.call_later
            t = time.perf_counter()
            for _ in range(n):
                cl(10, _noop).cancel()
            return time.perf_counter() - t

        return batch
    if name == "callfromthread":

        def batch():
            fut = loop.create_future()

            def post():
                cst = loop.call_soon_threadsafe
                for _ in range(n - 1):
                    cst(_noop)
                cst(fut.set_result, None)

            t = time.perf_counter()
            loop.call_soon(lambda: threading.Thread(target=post).start())
            loop.run_until_complete(fut)
            return time.perf_counter() - t

        return batch
    if name == "deferred_chain":

        async def tick():
            pass

        def batch():
            t = time.perf_counter()
            for _ in range(n // 100):
                for _ in range(100):
                    f = loop.create_future()
                    for _ in range(CHAIN):
                        f.add_done_callback(_noop)
                    f.set_result(1)
                loop.run_until_complete(tick())  # runs the queued done-callbacks
            return time.perf_counter() - t

        return batch
    raise SystemExit(f"unknown benchmark {name}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("framework", choices=["reactorsock", "twisted", "asyncio"])
    p.add_argument("bench", choices=["calllater_cancel", "callfromthread", "deferred_chain"])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--batches", type=int, default=5)
    a = p.parse_args()
    batch = globals()[f"bench_{a.framework}"](a.bench, a.n)
    if a.bench == "callfromthread" and a.framework == "twisted":
        a.batches = 1  # Twisted's global reactor cannot be restarted
    times = [batch() for _ in range(a.batches)]
    print(json.dumps({"ns_per_op": min(times) / a.n * 1e9, "n": a.n, "batches": a.batches}))


if __name__ == "__main__":
    main()
