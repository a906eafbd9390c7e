"""``feed_all_ways``: deliver the same bytes to fresh protocols in every chunking.

A parser must give the same result however the stream is cut into
``dataReceived`` calls (h11's ``tr()``; Twisted's advice on ``dataReceived``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["feed_all_ways", "delivery_patterns"]


def delivery_patterns(data: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """Yield ``(label, chunks)``: whole, one byte at a time, and split at every offset."""
    yield "whole", [data]
    if len(data) > 1:
        yield "bytewise", [data[i : i + 1] for i in range(len(data))]
        for i in range(1, len(data)):
            yield f"split@{i}", [data[:i], data[i:]]


def feed_all_ways(make_proto: Callable[[], Any], data: bytes) -> Iterator[Any]:
    """For each delivery pattern, build a protocol, feed it data, and yield it.

    make_proto returns a connected protocol (e.g. with a ``StringTransport``).
    Every chunk is delivered, even after the protocol closed its transport,
    so parsers are also checked for ignoring input once they gave up.  The
    pattern's label is left in the protocol's ``feed_pattern`` attribute for
    assertion messages.
    """
    for label, chunks in delivery_patterns(data):
        proto = make_proto()
        proto.feed_pattern = label
        for chunk in chunks:
            proto.dataReceived(chunk)
        yield proto
