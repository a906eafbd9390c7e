"""Sans-IO line framing: bytes in, lines out.

These parsers hold no transport, reactor or clock; ``protocols.basic`` wraps
them in ``Protocol`` shells.  They are not a general tokenizer: a line is
whatever lies between delimiters, and the delimiter is dropped.

Design notes
------------
Both parsers keep unconsumed input in one ``bytearray``.  Appending is
amortised O(1) and ``del buf[:n]`` only moves CPython's start offset, so
input of any size fed in chunks of any size costs linear time.  They also
remember where the last search for the delimiter stopped, so a long line that
arrives in many small chunks is not searched again from its start each time
(Twisted's ``LineReceiver`` re-splits the whole buffer on every call).

A line is too long when it has more than ``max_length`` bytes.  Without a
delimiter in sight, the buffer is only declared too long once it holds
``max_length + len(delimiter)`` bytes: a shorter buffer could still end with
the first bytes of a delimiter that closes a line of exactly ``max_length``
bytes.  The verdict therefore does not depend on how the input was chunked.
"""

from __future__ import annotations

__all__ = ["LineTooLong", "LineBuffer", "LineParser"]


class LineTooLong(Exception):
    """A line exceeded the limit; ``data`` is the input that was dropped with it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data))
        self.data = data


class LineBuffer:
    """A buffer that yields one line at a time, for callers that switch modes.

    The delimiter and limit are passed on each call because
    ``LineReceiver.lineReceived`` may change them (or switch to raw mode)
    between two lines.
    """

    __slots__ = ("_buf", "_scan", "_scan_delimiter")

    def __init__(self) -> None:
        self._buf = bytearray()
        # Offset from which the next delimiter search starts; only valid for
        # the delimiter it was computed with.
        self._scan = 0
        self._scan_delimiter = b""

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        """Append data to the buffer."""
        self._buf += data

    def next_line(self, delimiter: bytes, max_length: int) -> bytes | None:
        """Remove and return the next complete line, or None if there is none yet.

        Raises ``LineTooLong`` (with the buffer emptied into its ``data``)
        when the next line exceeds max_length bytes.
        """
        buf = self._buf
        start = self._scan if delimiter == self._scan_delimiter else 0
        end = buf.find(delimiter, start)
        if end < 0:
            if len(buf) >= max_length + len(delimiter):
                raise LineTooLong(self.take_all())
            # The delimiter may straddle this chunk and the next one.
            self._scan = max(0, len(buf) - len(delimiter) + 1)
            self._scan_delimiter = delimiter
            return None
        if end > max_length:
            raise LineTooLong(self.take_all())
        line = bytes(buf[:end])
        del buf[: end + len(delimiter)]
        self._scan = 0
        return line

    def take_all(self) -> bytes:
        """Remove and return everything buffered."""
        data = bytes(self._buf)
        self._buf.clear()
        self._scan = 0
        return data


class LineParser:
    """Splits a byte stream into lines; ``feed(data)`` returns the complete ones.

    After a line longer than ``max_length``, ``overflow`` holds the dropped
    input (the long line and everything after it; the caller may reset it to
    None once reported), ``broken`` is true and the parser returns no more
    lines.  ``delimiter`` and ``max_length`` may be changed between
    calls.
    """

    __slots__ = (
        "delimiter",
        "max_length",
        "overflow",
        "broken",
        "_buf",
        "_scan",
        "_scan_delimiter",
    )

    def __init__(self, delimiter: bytes = b"\r\n", max_length: int = 16384) -> None:
        self.delimiter = delimiter
        self.max_length = max_length
        self.overflow: bytes | None = None
        self.broken = False
        self._buf = bytearray()
        self._scan = 0
        self._scan_delimiter = delimiter

    def feed(self, data: bytes) -> list[bytes]:
        """Add data; return the lines it completed, in order."""
        if self.broken:
            return []
        buf = self._buf
        buf += data
        delimiter, max_length = self.delimiter, self.max_length
        dlen = len(delimiter)
        if delimiter != self._scan_delimiter:
            self._scan, self._scan_delimiter = 0, delimiter
        if buf.find(delimiter, self._scan) < 0:
            if len(buf) >= max_length + dlen:
                self.overflow, self.broken = bytes(buf), True
                buf.clear()
            else:
                # The delimiter may straddle this chunk and the next one.
                self._scan = max(0, len(buf) - dlen + 1)
            return []
        # At least one line is complete: let bytes.split do the work in C.
        # Only the tail after the last delimiter goes back into the buffer,
        # so every byte is copied a bounded number of times.
        lines = bytes(buf).split(delimiter)
        buf.clear()
        rest = lines.pop()
        if max(map(len, lines)) > max_length or len(rest) >= max_length + dlen:
            return self._overflowed(lines, rest)
        buf += rest
        self._scan = max(0, len(rest) - dlen + 1)
        return lines

    def _overflowed(self, lines: list[bytes], rest: bytes) -> list[bytes]:
        limit = self.max_length
        i = next((n for n, line in enumerate(lines) if len(line) > limit), len(lines))
        lines.append(rest)
        self.overflow, self.broken = self.delimiter.join(lines[i:]), True
        return lines[:i]

    def clear(self) -> bytes:
        """Remove and return the buffered partial line."""
        data = bytes(self._buf)
        self._buf.clear()
        self._scan = 0
        return data
