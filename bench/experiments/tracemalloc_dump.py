"""Diagnostic: trace Python allocations; SIGUSR1 writes a snapshot, the second one a diff.

Loaded by ``servers/rs_echo.py --patch``; prints to $TRACEMALLOC_OUT
(default bench/results/tracemalloc.txt) the allocation sites that grew
between the first and second SIGUSR1, largest first.
"""

from __future__ import annotations

import os
import signal
import tracemalloc

tracemalloc.start(1)
_snaps = []


def _dump(*_):
    _snaps.append(tracemalloc.take_snapshot())
    if len(_snaps) < 2:
        return
    out = os.environ.get("TRACEMALLOC_OUT", "tracemalloc.txt")
    stats = _snaps[-1].compare_to(_snaps[0], "lineno")
    with open(out, "w") as f:
        for s in stats[:30]:
            f.write(f"{s}\n")


signal.signal(signal.SIGUSR1, _dump)
