"""Framing protocols: lines, length-prefixed strings and netstrings.

Each ``Protocol`` here is a thin shell over a sans-IO parser (bytes in,
messages out) that holds no transport; the line parsers live in
:mod:`reactorsock.protocols._lines`, the string parsers below.  Names and
behaviour follow Twisted's ``twisted.protocols.basic``; differences are noted
on each class.  Parsing cost is linear in the input however it is chunked.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from reactorsock.protocol import Protocol
from reactorsock.protocols._lines import LineBuffer, LineParser, LineTooLong

__all__ = [
    "LineReceiver",
    "LineOnlyReceiver",
    "IntNStringReceiver",
    "Int8StringReceiver",
    "Int16StringReceiver",
    "Int32StringReceiver",
    "NetstringReceiver",
    "StringTooLongError",
]


class StringTooLongError(AssertionError):
    """``sendString`` was given a string too long for the length prefix (Twisted's type)."""


# --------------------------------------------------------------------------
# Lines


class _PauseableProtocol(Protocol):
    """A protocol that is a push producer of the messages it parses (Twisted's mixin).

    ``pauseProducing()`` (typically from inside a message callback) pauses
    the transport and holds back the messages already received, including
    the rest of the current chunk, until ``resumeProducing()``.  Pausing
    only the transport (``self.transport.pauseProducing()``) stops further
    reads but not the delivery of what was already read, as in Twisted.
    """

    paused = False

    def pauseProducing(self) -> None:
        """Hold back messages and pause the transport."""
        self.paused = True
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        """Resume the transport and deliver the messages held back."""
        self.paused = False
        self.transport.resumeProducing()
        self.dataReceived(b"")

    def stopProducing(self) -> None:
        """Deliver no more messages and stop the transport."""
        self.paused = True
        self.transport.stopProducing()


class LineReceiver(_PauseableProtocol):
    """Delivers ``delimiter``-separated lines to ``lineReceived``, or raw data.

    In line mode (the default) each line, without its delimiter, goes to
    ``lineReceived``; after ``setRawMode()`` bytes go to ``rawDataReceived``
    as they arrive.  Either callback may switch modes, change ``delimiter``
    or ``MAX_LENGTH``; the bytes already received after the current line are
    then parsed under the new settings.  A line of more than ``MAX_LENGTH``
    bytes goes to ``lineLengthExceeded`` instead, with the rest of the buffer.
    Between ``pauseProducing()`` and ``resumeProducing()`` nothing is
    delivered, in either mode.

    No line is delivered once the transport is disconnecting (Twisted checks
    only after each ``lineReceived``; real transports stop reading then, so
    this only makes fakes behave like them).
    """

    delimiter = b"\r\n"
    MAX_LENGTH = 16384
    line_mode = 1
    _buffer: LineBuffer | None = None
    _busy = False

    def dataReceived(self, data: bytes) -> Any:
        """See ``IProtocol.dataReceived``: split data into lines or pass it on raw."""
        buf = self._buffer
        if buf is None:
            buf = self._buffer = LineBuffer()
        if self._busy:
            # Re-entered from a callback (e.g. setLineMode(extra)): the
            # running loop below picks these bytes up in order.
            buf.feed(data)
            return None
        self._busy = True
        try:
            if self.line_mode or len(buf) or self.paused:
                buf.feed(data)
            elif data:
                # Raw mode with nothing buffered: hand data on without a copy.
                why = self.rawDataReceived(data)
                if why:
                    return why
            return self._drain(buf)
        finally:
            self._busy = False

    def _drain(self, buf: LineBuffer) -> Any:
        while len(buf) and not self.paused:
            if self.line_mode:
                transport = self.transport
                if transport is not None and transport.disconnecting:
                    return None
                try:
                    line = buf.next_line(self.delimiter, self.MAX_LENGTH)
                except LineTooLong as exc:
                    return self.lineLengthExceeded(exc.data)
                if line is None:
                    return None
                why = self.lineReceived(line)
            else:
                why = self.rawDataReceived(buf.take_all())
            if why:
                return why
        return None

    def setLineMode(self, extra: bytes = b"") -> Any:
        """Switch to line mode and parse extra, the unused end of a ``rawDataReceived`` chunk.

        extra is appended to whatever is still buffered, so (as in Twisted)
        do not pass it from inside ``lineReceived``.
        """
        self.line_mode = 1
        if extra:
            return self.dataReceived(extra)
        return None

    def setRawMode(self) -> None:
        """Switch to raw mode: bytes go to ``rawDataReceived`` as they arrive."""
        self.line_mode = 0

    def clearLineBuffer(self) -> bytes:  # noqa: N802 - Twisted API
        """Remove and return the bytes buffered and not yet delivered."""
        if self._buffer is None:
            return b""
        return self._buffer.take_all()

    def lineReceived(self, line: bytes) -> Any:
        """One line arrived, without its delimiter; override this."""
        raise NotImplementedError

    def rawDataReceived(self, data: bytes) -> Any:
        """Bytes arrived in raw mode; override this if you use raw mode."""
        raise NotImplementedError

    def sendLine(self, line: bytes) -> None:
        """Write line followed by ``delimiter``."""
        self.transport.write(line + self.delimiter)

    def lineLengthExceeded(self, line: bytes) -> Any:
        """A line was longer than ``MAX_LENGTH``; closes the connection by default.

        line is everything that was buffered, starting with the long line.
        """
        return self.transport.loseConnection()


class LineOnlyReceiver(Protocol):
    """A faster ``LineReceiver`` without raw mode.

    ``delimiter`` and ``MAX_LENGTH`` are read on each ``dataReceived``, not
    between two lines of one chunk.  After ``lineLengthExceeded`` no more
    lines are delivered.
    """

    delimiter = b"\r\n"
    MAX_LENGTH = 16384
    _parser: LineParser | None = None

    def dataReceived(self, data: bytes) -> Any:
        """See ``IProtocol.dataReceived``: deliver the complete lines."""
        parser = self._parser
        if parser is None:
            parser = self._parser = LineParser()
        parser.delimiter = self.delimiter
        parser.max_length = self.MAX_LENGTH
        transport = self.transport
        for line in parser.feed(data):
            if transport.disconnecting:
                return None
            self.lineReceived(line)
        overflow = parser.overflow
        if overflow is not None and not transport.disconnecting:
            parser.overflow = None  # the parser stays broken; report once
            return self.lineLengthExceeded(overflow)
        return None

    def lineReceived(self, line: bytes) -> Any:
        """One line arrived, without its delimiter; override this."""
        raise NotImplementedError

    def sendLine(self, line: bytes) -> None:
        """Write line followed by ``delimiter``."""
        self.transport.writeSequence((line, self.delimiter))

    def lineLengthExceeded(self, line: bytes) -> Any:
        """A line was longer than ``MAX_LENGTH``; closes the connection by default."""
        return self.transport.loseConnection()


# --------------------------------------------------------------------------
# Length-prefixed strings


class _PrefixedStringParser:
    """Sans-IO parser of strings behind a fixed-size big-endian length prefix.

    ``feed(data)`` returns the complete strings.  Once a prefix announces more
    than ``max_length`` bytes, ``exceeded`` holds that length and the parser
    returns nothing more (``broken``): the stream cannot be resynchronised.
    The caller may reset ``exceeded`` to None once reported.
    """

    __slots__ = ("max_length", "exceeded", "broken", "_buf", "_prefix", "_need")

    def __init__(self, struct_format: str, max_length: int) -> None:
        self.max_length = max_length
        self.exceeded: int | None = None
        self.broken = False
        self._buf = bytearray()
        self._prefix = struct.Struct(struct_format)
        # Bytes the buffer must hold before parsing can progress; spares a
        # large string arriving in many chunks from being looked at each time.
        self._need = self._prefix.size

    def feed(self, data: bytes) -> list[bytes]:
        if self.broken:
            return []
        buf = self._buf
        buf += data
        n = len(buf)
        if n < self._need:
            return []
        prefix, max_length = self._prefix, self.max_length
        unpack_from, plen = prefix.unpack_from, prefix.size
        strings = []
        pos = 0
        need = plen
        while n - pos >= plen:
            (length,) = unpack_from(buf, pos)
            if length > max_length:
                self.exceeded, self.broken = length, True
                buf.clear()
                return strings
            end = pos + plen + length
            if end > n:
                need = end - pos
                break
            strings.append(bytes(buf[pos + plen : end]))
            pos = end
        if pos:
            del buf[:pos]
        self._need = need
        return strings


class IntNStringReceiver(_PauseableProtocol):
    """Delivers strings framed by a length prefix to ``stringReceived``.

    Subclasses set ``structFormat`` (a ``struct`` format for an unsigned
    big-endian integer) and ``prefixLength``.  A prefix above ``MAX_LENGTH``
    goes to ``lengthLimitExceeded``, after the strings before it; no string
    is delivered after that (in Twisted each later ``dataReceived`` reports
    it again).  Between ``pauseProducing()`` and ``resumeProducing()``
    strings are held back.  If ``stringReceived`` raises, the strings after
    that one are kept for the next ``dataReceived`` (Twisted delivers the
    earlier ones again).
    """

    structFormat: str  # noqa: N815 - Twisted API
    prefixLength: int  # noqa: N815 - Twisted API
    MAX_LENGTH = 99999
    _parser: _PrefixedStringParser | None = None
    # Strings parsed but not yet delivered: the parser returns a whole
    # chunk's worth at once, and delivery may pause, raise or re-enter.
    _pending: deque[bytes] | None = None
    _busy = False

    def dataReceived(self, data: bytes) -> Any:
        """See ``IProtocol.dataReceived``: deliver the complete strings."""
        parser = self._parser
        if parser is None:
            parser = self._parser = _PrefixedStringParser(self.structFormat, self.MAX_LENGTH)
        else:
            parser.max_length = self.MAX_LENGTH
        pending = self._pending
        if pending is None:
            pending = self._pending = deque()
        pending.extend(parser.feed(data))
        if self._busy:
            # Re-entered from stringReceived (e.g. resumeProducing): the
            # running loop below delivers these after the earlier ones.
            return None
        self._busy = True
        try:
            popleft = pending.popleft
            while pending and not self.paused:
                self.stringReceived(popleft())
        finally:
            self._busy = False
        if pending or self.paused:
            return None
        length = parser.exceeded
        if length is not None:
            parser.exceeded = None  # the parser stays broken; report once
            return self.lengthLimitExceeded(length)
        return None

    def stringReceived(self, string: bytes) -> Any:
        """One string arrived; override this."""
        raise NotImplementedError

    def sendString(self, string: bytes) -> None:
        """Write string behind its length prefix.

        Raises ``StringTooLongError`` if the prefix cannot hold its length.
        """
        if len(string) >= 2 ** (8 * self.prefixLength):
            raise StringTooLongError(
                f"a {self.prefixLength}-byte prefix cannot hold a length of {len(string)}"
            )
        self.transport.write(struct.pack(self.structFormat, len(string)) + string)

    def lengthLimitExceeded(self, length: int) -> Any:
        """A prefix announced more than ``MAX_LENGTH`` bytes; closes the connection by default."""
        return self.transport.loseConnection()


class Int8StringReceiver(IntNStringReceiver):
    """Strings behind a 1-byte length."""

    structFormat = "!B"  # noqa: N815 - Twisted API
    prefixLength = 1  # noqa: N815 - Twisted API


class Int16StringReceiver(IntNStringReceiver):
    """Strings behind a 2-byte big-endian length."""

    structFormat = "!H"  # noqa: N815 - Twisted API
    prefixLength = 2  # noqa: N815 - Twisted API


class Int32StringReceiver(IntNStringReceiver):
    """Strings behind a 4-byte big-endian length."""

    structFormat = "!I"  # noqa: N815 - Twisted API
    prefixLength = 4  # noqa: N815 - Twisted API


# --------------------------------------------------------------------------
# Netstrings


class _NetstringParser:
    """Sans-IO parser of netstrings: ``<decimal length>:<bytes>,``.

    Follows D. J. Bernstein's spec (https://cr.yp.to/proto/netstrings.txt):
    the length is ASCII digits with no sign, spaces or leading zero (``0``
    itself is allowed).  ``feed(data)`` returns the complete strings; on
    malformed input ``error`` says why and the parser returns nothing more.
    Errors are found as soon as the offending byte arrives, so chunking does
    not change the verdict.
    """

    __slots__ = ("max_length", "error", "_buf", "_need")

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length
        self.error: str | None = None
        self._buf = bytearray()
        self._need = 1

    def _check_digits(self, digits: bytes, complete: bool) -> str | None:
        if not digits:
            return "empty length" if complete else None
        if not digits.isdigit():
            return f"non-digit in length {digits[:20]!r}"
        if len(digits) > 1 and digits[0] == 0x30:
            return "length with a leading zero"
        if int(digits) > self.max_length:
            return f"length exceeds MAX_LENGTH {self.max_length}"
        return None

    def _fail(self, why: str) -> None:
        self.error = why
        self._buf.clear()

    def feed(self, data: bytes) -> list[bytes]:
        if self.error is not None:
            return []
        buf = self._buf
        buf += data
        n = len(buf)
        if n < self._need:
            return []
        # A length longer than this many digits is over max_length anyway.
        max_digits = len(str(self.max_length))
        strings = []
        pos = 0
        need = 1
        while pos < n:
            colon = buf.find(b":", pos, pos + max_digits + 1)
            if colon < 0:
                why = self._check_digits(bytes(buf[pos : pos + max_digits + 1]), False)
                if why is None and n - pos > max_digits:
                    why = f"length exceeds MAX_LENGTH {self.max_length}"
                if why is not None:
                    self._fail(why)
                    return strings
                need = n - pos + 1
                break
            why = self._check_digits(bytes(buf[pos:colon]), True)
            if why is not None:
                self._fail(why)
                return strings
            end = colon + 1 + int(buf[pos:colon])
            if end >= n:
                need = end + 1 - pos
                break
            if buf[end] != 0x2C:  # ","
                self._fail("missing comma after the string")
                return strings
            strings.append(bytes(buf[colon + 1 : end]))
            pos = end + 1
        if pos:
            del buf[:pos]
        self._need = need
        return strings


class NetstringReceiver(Protocol):
    """Delivers netstrings to ``stringReceived``.

    On malformed input (a bad length, a length over ``MAX_LENGTH`` or a
    missing comma) it sets ``brokenPeer`` to 1, calls
    ``transport.loseConnection()`` and delivers nothing more, including
    strings that follow in the same chunk.
    """

    MAX_LENGTH = 99999
    brokenPeer = 0  # noqa: N815 - Twisted API
    _parser: _NetstringParser | None = None

    def dataReceived(self, data: bytes) -> Any:
        """See ``IProtocol.dataReceived``: deliver the complete netstrings."""
        if self.brokenPeer:
            return None
        parser = self._parser
        if parser is None:
            parser = self._parser = _NetstringParser(self.MAX_LENGTH)
        else:
            parser.max_length = self.MAX_LENGTH
        for string in parser.feed(data):
            self.stringReceived(string)
        if parser.error is not None:
            self.brokenPeer = 1
            self.transport.loseConnection()
        return None

    def stringReceived(self, string: bytes) -> Any:
        """One string arrived; override this."""
        raise NotImplementedError

    def sendString(self, string: bytes) -> None:
        """Write string as a netstring."""
        self.transport.write(b"%d:%s," % (len(string), string))
