"""Experiment: read up to 256 KiB per recv (as asyncio does) instead of 64 KiB.

Loaded by ``servers/rs_echo.py --patch``.  Fewer recv/send calls per byte
for bulk transfers; the cost is a larger allocation per read, which glibc
serves with mmap above its (dynamic) mmap threshold -- asyncio's 64 B
ping-pong pays mmap+mremap+munmap per message for exactly that reason
(see the strace table), so this is measured on small messages too.
"""

from __future__ import annotations

from reactorsock import tcp

tcp.READ_SIZE = 262144
