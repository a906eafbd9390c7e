"""Blocking 64 B ping-pong through a socket module; prints JSON (us per round trip).

usage: compat_pingpong.py stdlib|compat PORT [--n N] [--size 64]
The echo server (bench/servers/echo_c.c) runs pinned to the other core.  One
connection, ``sendall`` then ``recv`` until the whole message is back;
best of 5 batches of N round trips.
"""

from __future__ import annotations

import argparse
import json
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("impl", choices=["stdlib", "compat"])
    p.add_argument("port", type=int)
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batches", type=int, default=5)
    a = p.parse_args()
    if a.impl == "compat":
        from reactorsock.compat import socket as socketmod
    else:
        import socket as socketmod
    s = socketmod.create_connection(("127.0.0.1", a.port))
    s.setsockopt(socketmod.IPPROTO_TCP, socketmod.TCP_NODELAY, 1)
    msg = bytes(range(a.size % 256)) * (a.size // 256) + bytes(range(a.size % 256))
    msg = (msg * (a.size // max(len(msg), 1) + 1))[: a.size]
    errors = 0
    best = None
    for _ in range(a.batches):
        t = time.perf_counter()
        for _ in range(a.n):
            s.sendall(msg)
            got = s.recv(65536)
            while len(got) < a.size:
                more = s.recv(65536)
                if not more:
                    raise SystemExit("server closed")
                got += more
            if got != msg:
                errors += 1
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    s.close()
    print(json.dumps({"us_per_rt": best / a.n * 1e6, "n": a.n, "errors": errors}))


if __name__ == "__main__":
    main()
