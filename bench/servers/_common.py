"""Shared command line of the bench echo servers (not a server itself).

Every server listens on 127.0.0.1, on ``--port`` .. ``--port + --nports - 1``
(several ports let one run go past the ~28k ephemeral ports of one
(source, destination) pair), plus ``--tls-port`` with ``--cert``/``--key``
when given; prints ``READY`` on stdout once listening; and exits 0 on
SIGTERM.  With ``--cprofile PATH`` it runs under cProfile and dumps the
stats to PATH on exit.
"""

from __future__ import annotations

import argparse
import resource

BACKLOG = 4096  # net.core.somaxconn here; 10k connects must not overflow the queue


def parse_args(extra=None):
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--nports", type=int, default=1)
    p.add_argument("--tls-port", type=int, default=0)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--cprofile")
    if extra:
        extra(p)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return args


def ports(args):
    return range(args.port, args.port + args.nports)


def ready():
    print("READY", flush=True)


def profiled(args, run):
    """Call run(), under cProfile if asked."""
    if not args.cprofile:
        return run()
    import cProfile

    prof = cProfile.Profile()
    try:
        prof.runcall(run)
    finally:
        prof.dump_stats(args.cprofile)
