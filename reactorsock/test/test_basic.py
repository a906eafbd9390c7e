"""Tests for reactorsock.protocols.basic and its parsers.

Every parser is fed each input whole, one byte at a time, and split at every
offset (``feed_all_ways``); the result must not depend on the chunking.
"""

from __future__ import annotations

import struct
import time

import pytest

from reactorsock.protocols import basic
from reactorsock.protocols._lines import LineBuffer, LineParser, LineTooLong
from reactorsock.test._feed import delivery_patterns, feed_all_ways
from reactorsock.testing import StringTransport


def maker(cls, **attrs):
    def make():
        p = cls()
        for name, value in attrs.items():
            setattr(p, name, value)
        p.makeConnection(StringTransport())
        return p

    return make


def test_delivery_patterns_cover_whole_bytewise_and_every_split():
    labels = [label for label, _ in delivery_patterns(b"abc")]
    assert labels == ["whole", "bytewise", "split@1", "split@2"]
    for _, chunks in delivery_patterns(b"abc"):
        assert b"".join(chunks) == b"abc"
    assert [label for label, _ in delivery_patterns(b"a")] == ["whole"]


# --------------------------------------------------------------------------
# LineReceiver


class LineTester(basic.LineReceiver):
    """Records lines; ``len N`` switches to raw mode for N bytes; ``delim=X`` sets the delimiter.

    ``quit`` closes the connection; ``max=N`` sets MAX_LENGTH.
    """

    def connectionMade(self):
        self.lines = []
        self.raw = []
        self.exceeded = []
        self.raw_left = 0

    def lineReceived(self, line):
        self.lines.append(line)
        if line.startswith(b"len "):
            self.raw_left = int(line[4:])
            self.setRawMode()
        elif line.startswith(b"delim="):
            self.delimiter = line[6:]
        elif line.startswith(b"max="):
            self.MAX_LENGTH = int(line[4:])
        elif line == b"quit":
            self.transport.loseConnection()

    def rawDataReceived(self, data):
        data, rest = data[: self.raw_left], data[self.raw_left :]
        self.raw_left -= len(data)
        self.raw.append(data)
        if self.raw_left == 0:
            self.setLineMode(rest)

    def lineLengthExceeded(self, line):
        self.exceeded.append(line)
        return super().lineLengthExceeded(line)


def lines_all_ways(data, **attrs):
    return list(feed_all_ways(maker(LineTester, **attrs), data))


def test_line_receiver_lines():
    for p in lines_all_ways(b"foo\r\nbar\r\n\r\nbaz"):
        assert p.lines == [b"foo", b"bar", b""], p.feed_pattern
        assert p.clearLineBuffer() == b"baz", p.feed_pattern
        assert p.clearLineBuffer() == b""


def test_line_receiver_raw_mode_mid_data():
    data = b"a\r\nlen 5\r\n12345b\r\nlen 3\r\nxyzc\r\n"
    for p in lines_all_ways(data):
        assert p.lines == [b"a", b"len 5", b"b", b"len 3", b"c"], p.feed_pattern
        assert b"".join(p.raw) == b"12345xyz", p.feed_pattern
        assert p.line_mode


def test_line_receiver_raw_bytes_that_look_like_lines():
    data = b"len 4\r\n\r\n\r\nend\r\n"
    for p in lines_all_ways(data):
        assert p.lines == [b"len 4", b"end"], p.feed_pattern
        assert b"".join(p.raw) == b"\r\n\r\n"


def test_line_receiver_delimiter_change_mid_data():
    data = b"a\r\ndelim=|\r\nb|c\r\n|delim=\n|d\ne\n"
    for p in lines_all_ways(data):
        assert p.lines == [b"a", b"delim=|", b"b", b"c\r\n", b"delim=\n", b"d", b"e"], (
            p.feed_pattern
        )


def test_line_receiver_line_of_max_length_is_accepted():
    for p in lines_all_ways(b"12345\r\n123\r\n", MAX_LENGTH=5):
        assert p.lines == [b"12345", b"123"], p.feed_pattern
        assert p.exceeded == []
        assert not p.transport.disconnecting


def test_line_receiver_line_too_long():
    for p in lines_all_ways(b"abc\r\n123456\r\nxyz\r\n", MAX_LENGTH=5):
        assert p.lines == [b"abc"], p.feed_pattern
        assert len(p.exceeded) == 1, p.feed_pattern
        assert p.exceeded[0].startswith(b"123456"), p.feed_pattern
        assert p.transport.disconnecting


def test_line_receiver_too_long_without_delimiter():
    for p in lines_all_ways(b"x\r\n1234567", MAX_LENGTH=5):
        assert p.lines == [b"x"], p.feed_pattern
        assert p.exceeded == [b"1234567"], p.feed_pattern
    # One byte short of max + len(delimiter): could still be a 5-byte line.
    for p in lines_all_ways(b"123456", MAX_LENGTH=5):
        assert p.exceeded == [], p.feed_pattern


def test_line_receiver_max_length_change_mid_data():
    for p in lines_all_ways(b"max=3\r\nabcd\r\n", MAX_LENGTH=10):
        assert p.lines == [b"max=3"], p.feed_pattern
        assert len(p.exceeded) == 1


def test_line_receiver_stops_after_lose_connection():
    for p in lines_all_ways(b"a\r\nquit\r\nb\r\n"):
        assert p.lines == [b"a", b"quit"], p.feed_pattern


def test_line_receiver_raw_mode_from_the_start():
    class Raw(LineTester):
        def connectionMade(self):
            super().connectionMade()
            self.raw_left = 10**9
            self.setRawMode()

    for p in feed_all_ways(maker(Raw), b"no\r\nlines\r\n"):
        assert b"".join(p.raw) == b"no\r\nlines\r\n"
        assert p.lines == []


def test_line_receiver_empty_data_in_raw_mode_is_not_delivered():
    """As in Twisted, dataReceived(b"") (what resumeProducing sends) calls no rawDataReceived."""
    p = maker(LineTester)()
    p.setRawMode()
    p.raw_left = 10**9
    p.dataReceived(b"")
    assert p.raw == []


def test_line_receiver_set_line_mode_extra_outside_callbacks():
    p = maker(LineTester)()
    p.setRawMode()
    p.raw_left = 10**9
    p.dataReceived(b"raw")
    p.setLineMode(b"x\r\ny")
    assert p.raw == [b"raw"]
    assert p.lines == [b"x"]
    p.dataReceived(b"\r\n")
    assert p.lines == [b"x", b"y"]


def test_line_receiver_send_line():
    p = maker(LineTester)()
    p.sendLine(b"hello")
    p.delimiter = b"\n"
    p.sendLine(b"world")
    assert p.transport.value() == b"hello\r\nworld\n"


def test_line_receiver_defaults():
    p = basic.LineReceiver()
    assert (p.delimiter, p.MAX_LENGTH, p.line_mode) == (b"\r\n", 16384, 1)
    p.makeConnection(StringTransport())
    assert p.clearLineBuffer() == b""
    with pytest.raises(NotImplementedError):
        p.dataReceived(b"x\r\n")
    p = basic.LineReceiver()
    p.makeConnection(StringTransport())
    p.lineLengthExceeded(b"x")
    assert p.transport.disconnecting


class PausingLineTester(LineTester):
    """``pause`` pauses the protocol; ``bounce`` pauses and resumes it at once."""

    def lineReceived(self, line):
        super().lineReceived(line)
        if line == b"pause":
            self.pauseProducing()
        elif line == b"bounce":
            self.pauseProducing()
            self.resumeProducing()


def test_line_receiver_pause_producing_holds_lines():
    """Lines after pauseProducing() wait for resumeProducing(), as in Twisted's LineReceiver."""
    data = b"a\r\npause\r\nb\r\nlen 3\r\nxyzc\r\npart"
    for p in feed_all_ways(maker(PausingLineTester), data):
        assert p.paused, p.feed_pattern
        assert p.lines == [b"a", b"pause"], p.feed_pattern
        assert p.raw == [], p.feed_pattern
        assert p.transport.producerState == "paused"
        p.resumeProducing()
        assert not p.paused
        assert p.transport.producerState == "producing"
        assert p.lines == [b"a", b"pause", b"b", b"len 3", b"c"], p.feed_pattern
        assert b"".join(p.raw) == b"xyz", p.feed_pattern
        assert p.clearLineBuffer() == b"part", p.feed_pattern


def test_line_receiver_pause_and_resume_inside_line_received():
    for p in feed_all_ways(maker(PausingLineTester), b"a\r\nbounce\r\nb\r\n"):
        assert p.lines == [b"a", b"bounce", b"b"], p.feed_pattern
        assert not p.paused


def test_line_receiver_paused_in_raw_mode_buffers_raw_data():
    class RawPauser(LineTester):
        def rawDataReceived(self, data):
            super().rawDataReceived(data)
            self.pauseProducing()

    p = maker(RawPauser)()
    p.dataReceived(b"len 6\r\nab")
    assert p.raw == [b"ab"] and p.paused
    p.dataReceived(b"cd")
    p.dataReceived(b"ef")
    assert p.raw == [b"ab"]
    p.resumeProducing()
    assert p.raw == [b"ab", b"cdef"]
    p.resumeProducing()  # nothing buffered: no empty rawDataReceived call
    assert p.raw == [b"ab", b"cdef"]


def test_line_receiver_stop_producing_delivers_nothing_more():
    p = maker(LineTester)()
    p.dataReceived(b"a\r\n")
    p.stopProducing()
    p.dataReceived(b"b\r\n")
    assert p.lines == [b"a"]
    assert p.transport.producerState == "stopped"


def test_line_receiver_large_input_is_linear():
    """A 4 MB line in 1 KB chunks, then 100k short lines: no quadratic rescans or copies."""

    class Big(basic.LineReceiver):
        MAX_LENGTH = 1 << 23

        def connectionMade(self):
            self.lengths = []

        def lineReceived(self, line):
            self.lengths.append(len(line))

    p = maker(Big)()
    chunk = b"x" * 1024
    start = time.perf_counter()
    for _ in range(4096):
        p.dataReceived(chunk)
    p.dataReceived(b"\r\n")
    lines = b"abcdefgh\r\n" * 100_000
    for i in range(0, len(lines), 4096):
        p.dataReceived(lines[i : i + 4096])
    elapsed = time.perf_counter() - start
    assert p.lengths[0] == 4 << 20
    assert len(p.lengths) == 100_001
    assert elapsed < 2.0  # quadratic handling takes tens of seconds here


# --------------------------------------------------------------------------
# LineOnlyReceiver


class LineOnlyTester(basic.LineOnlyReceiver):
    def connectionMade(self):
        self.lines = []
        self.exceeded = []

    def lineReceived(self, line):
        self.lines.append(line)
        if line == b"quit":
            self.transport.loseConnection()

    def lineLengthExceeded(self, line):
        self.exceeded.append(line)
        return super().lineLengthExceeded(line)


def line_only_all_ways(data, **attrs):
    return list(feed_all_ways(maker(LineOnlyTester, **attrs), data))


def test_line_only_receiver_lines():
    for p in line_only_all_ways(b"foo\r\nbar\r\n\r\nbaz"):
        assert p.lines == [b"foo", b"bar", b""], p.feed_pattern


def test_line_only_receiver_other_delimiter():
    for p in line_only_all_ways(b"a\0bb\0\0c", delimiter=b"\0"):
        assert p.lines == [b"a", b"bb", b""], p.feed_pattern


def test_line_only_receiver_max_length():
    for p in line_only_all_ways(b"12345\r\nabc\r\n", MAX_LENGTH=5):
        assert p.lines == [b"12345", b"abc"], p.feed_pattern
        assert p.exceeded == []
    for p in line_only_all_ways(b"abc\r\n123456\r\nxyz\r\n", MAX_LENGTH=5):
        assert p.lines == [b"abc"], p.feed_pattern
        assert len(p.exceeded) == 1, p.feed_pattern
        assert p.exceeded[0].startswith(b"123456"), p.feed_pattern
        assert p.transport.disconnecting
    for p in line_only_all_ways(b"1234567", MAX_LENGTH=5):
        assert p.exceeded == [b"1234567"], p.feed_pattern


def test_line_only_receiver_stops_after_lose_connection():
    for p in line_only_all_ways(b"a\r\nquit\r\nb\r\n"):
        assert p.lines == [b"a", b"quit"], p.feed_pattern


def test_line_only_receiver_send_line():
    p = maker(LineOnlyTester)()
    p.sendLine(b"hi")
    assert p.transport.value() == b"hi\r\n"


def test_line_parser_sans_io():
    parser = LineParser(b"\n", 4)
    assert parser.feed(b"a\nbc") == [b"a"]
    assert parser.feed(b"\n\n") == [b"bc", b""]
    assert parser.feed(b"abcd") == []
    assert parser.feed(b"e") == []
    assert parser.overflow == b"abcde"
    assert parser.broken
    assert parser.feed(b"\nok\n") == []
    parser = LineParser(b"\r\n", 3)
    assert parser.feed(b"ab\r\ncdef\r\ngh\r\n") == [b"ab"]
    assert parser.overflow == b"cdef\r\ngh\r\n"
    parser = LineParser()
    parser.feed(b"part")
    assert parser.clear() == b"part"


def test_line_buffer_sans_io():
    buf = LineBuffer()
    buf.feed(b"a\r\nb\nc")
    assert buf.next_line(b"\r\n", 10) == b"a"
    assert buf.next_line(b"\r\n", 10) is None
    assert buf.next_line(b"\n", 10) == b"b"
    assert len(buf) == 1
    buf.feed(b"12345678")
    with pytest.raises(LineTooLong) as info:
        buf.next_line(b"\n", 5)
    assert info.value.data == b"c12345678"
    assert len(buf) == 0


# --------------------------------------------------------------------------
# IntNStringReceiver


class IntNTester:
    def connectionMade(self):
        self.strings = []
        self.exceeded = []

    def stringReceived(self, string):
        self.strings.append(string)

    def lengthLimitExceeded(self, length):
        self.exceeded.append(length)
        return super().lengthLimitExceeded(length)


INT_CLASSES = [
    type(f"{base.__name__}Tester", (IntNTester, base), {})
    for base in (basic.Int8StringReceiver, basic.Int16StringReceiver, basic.Int32StringReceiver)
]


def frame(cls, string):
    return struct.pack(cls.structFormat, len(string)) + string


@pytest.mark.parametrize("cls", INT_CLASSES, ids=lambda c: c.__name__)
def test_int_n_strings(cls):
    strings = [b"hello", b"", b"x" * 200, b"\0\1\2"]
    data = b"".join(frame(cls, s) for s in strings) + frame(cls, b"partial")[:-1]
    for p in feed_all_ways(maker(cls), data):
        assert p.strings == strings, p.feed_pattern
        assert p.exceeded == []


@pytest.mark.parametrize("cls", INT_CLASSES, ids=lambda c: c.__name__)
def test_int_n_length_limit(cls):
    data = frame(cls, b"ab") + frame(cls, b"0123456789") + frame(cls, b"cd")
    for p in feed_all_ways(maker(cls, MAX_LENGTH=5), data):
        assert p.strings == [b"ab"], p.feed_pattern
        assert p.exceeded == [10], p.feed_pattern
        assert p.transport.disconnecting


@pytest.mark.parametrize("cls", INT_CLASSES, ids=lambda c: c.__name__)
def test_int_n_string_of_max_length_is_accepted(cls):
    for p in feed_all_ways(maker(cls, MAX_LENGTH=5), frame(cls, b"12345")):
        assert p.strings == [b"12345"], p.feed_pattern
        assert p.exceeded == []


@pytest.mark.parametrize("cls", INT_CLASSES, ids=lambda c: c.__name__)
def test_int_n_send_string(cls):
    p = maker(cls)()
    p.sendString(b"abc")
    assert p.transport.value() == frame(cls, b"abc")


def test_int_n_prefix_layout():
    assert (basic.Int8StringReceiver.structFormat, basic.Int8StringReceiver.prefixLength) == (
        "!B",
        1,
    )
    assert basic.Int16StringReceiver.prefixLength == 2
    assert basic.Int32StringReceiver.prefixLength == 4
    assert basic.Int32StringReceiver.MAX_LENGTH == 99999
    p = maker(INT_CLASSES[1])()
    p.sendString(b"x" * 258)
    assert p.transport.value()[:2] == b"\x01\x02"


def test_int8_send_string_too_long():
    p = maker(INT_CLASSES[0])()
    p.sendString(b"x" * 255)
    with pytest.raises(basic.StringTooLongError):
        p.sendString(b"x" * 256)


class PausingIntN(IntNTester):
    """``pause`` pauses the protocol; ``bounce`` pauses and resumes it at once."""

    def stringReceived(self, string):
        super().stringReceived(string)
        if string == b"pause":
            self.pauseProducing()
        elif string == b"bounce":
            self.pauseProducing()
            self.resumeProducing()
        elif string == b"boom":
            raise ValueError(string)


PAUSING_INT_CLASSES = [
    type(f"Pausing{base.__name__}", (PausingIntN, base), {})
    for base in (basic.Int8StringReceiver, basic.Int16StringReceiver, basic.Int32StringReceiver)
]


@pytest.mark.parametrize("cls", PAUSING_INT_CLASSES, ids=lambda c: c.__name__)
def test_int_n_pause_producing_holds_strings(cls):
    """Strings after pauseProducing() wait for resumeProducing(), as in Twisted."""
    strings = [b"a", b"pause", b"b", b"bounce", b"c"]
    data = b"".join(frame(cls, s) for s in strings) + frame(cls, b"partial")[:-1]
    for p in feed_all_ways(maker(cls), data):
        assert p.paused, p.feed_pattern
        assert p.strings == [b"a", b"pause"], p.feed_pattern
        assert p.transport.producerState == "paused"
        p.resumeProducing()
        assert p.strings == strings, p.feed_pattern
        assert not p.paused
        assert p.transport.producerState == "producing"
        p.dataReceived(b"l")
        assert p.strings == [*strings, b"partial"], p.feed_pattern


@pytest.mark.parametrize("cls", PAUSING_INT_CLASSES, ids=lambda c: c.__name__)
def test_int_n_length_limit_reported_after_the_held_strings(cls):
    data = frame(cls, b"pause") + frame(cls, b"ab") + frame(cls, b"0123456789")
    for p in feed_all_ways(maker(cls, MAX_LENGTH=5), data):
        assert p.strings == [b"pause"], p.feed_pattern
        assert p.exceeded == [], p.feed_pattern
        p.resumeProducing()
        assert p.strings == [b"pause", b"ab"], p.feed_pattern
        assert p.exceeded == [10], p.feed_pattern


@pytest.mark.parametrize("cls", PAUSING_INT_CLASSES, ids=lambda c: c.__name__)
def test_int_n_strings_after_a_raising_string_received_are_kept(cls):
    """An exception from stringReceived loses neither the strings after it nor their order."""
    p = maker(cls)()
    with pytest.raises(ValueError):
        p.dataReceived(frame(cls, b"a") + frame(cls, b"boom") + frame(cls, b"c"))
    p.dataReceived(frame(cls, b"d"))
    assert p.strings == [b"a", b"boom", b"c", b"d"]


@pytest.mark.parametrize("cls", PAUSING_INT_CLASSES, ids=lambda c: c.__name__)
def test_int_n_stop_producing_delivers_nothing_more(cls):
    p = maker(cls)()
    p.dataReceived(frame(cls, b"a"))
    p.stopProducing()
    p.dataReceived(frame(cls, b"b"))
    assert p.strings == [b"a"]
    assert p.transport.producerState == "stopped"


def test_int32_large_string_in_small_chunks_is_linear():
    cls = INT_CLASSES[2]
    p = maker(cls, MAX_LENGTH=1 << 23)()
    data = frame(cls, b"y" * (4 << 20)) + frame(cls, b"z")
    start = time.perf_counter()
    for i in range(0, len(data), 1024):
        p.dataReceived(data[i : i + 1024])
    assert time.perf_counter() - start < 2.0
    assert [len(s) for s in p.strings] == [4 << 20, 1]


# --------------------------------------------------------------------------
# NetstringReceiver


class NetstringTester(basic.NetstringReceiver):
    def connectionMade(self):
        self.strings = []

    def stringReceived(self, string):
        self.strings.append(string)


def netstrings_all_ways(data, **attrs):
    return list(feed_all_ways(maker(NetstringTester, **attrs), data))


def test_netstrings_valid():
    data = b"3:abc,0:,5:he,lo,12:hello world!,2:a"
    for p in netstrings_all_ways(data):
        assert p.strings == [b"abc", b"", b"he,lo", b"hello world!"], p.feed_pattern
        assert not p.brokenPeer
        assert not p.transport.disconnecting


@pytest.mark.parametrize(
    ("data", "good"),
    [
        (b"3:abc,x:", [b"abc"]),  # non-digit length
        (b"03:abc,", []),  # leading zero
        (b"00:,", []),  # leading zero on 0
        (b"3:abcd,", []),  # missing comma
        (b"1:a;1:b,", []),  # wrong terminator
        (b":abc,", []),  # empty length
        (b"-1:a,", []),  # sign
        (b" 1:a,", []),  # space
        (b"1 :a,", []),  # space
        (b"+1:a,", []),  # sign
        (b"1_0:0123456789,", []),  # int() would accept this
        (b"2:ab,100000:", [b"ab"]),  # over MAX_LENGTH
        (b"1000000", []),  # too many digits, no colon yet
    ],
)
def test_netstrings_malformed(data, good):
    for p in netstrings_all_ways(data + b"1:z,"):
        assert p.strings == good, p.feed_pattern
        assert p.brokenPeer == 1, p.feed_pattern
        assert p.transport.disconnecting
        p.dataReceived(b"1:q,")
        assert p.strings == good


def test_netstrings_max_length():
    for p in netstrings_all_ways(b"3:abc,", MAX_LENGTH=3):
        assert p.strings == [b"abc"], p.feed_pattern
    for p in netstrings_all_ways(b"1:a,4:abcd,", MAX_LENGTH=3):
        assert p.strings == [b"a"], p.feed_pattern
        assert p.brokenPeer


def test_netstring_send_string():
    p = maker(NetstringTester)()
    p.sendString(b"hello")
    p.sendString(b"")
    assert p.transport.value() == b"5:hello,0:,"
    assert basic.NetstringReceiver.MAX_LENGTH == 99999


def test_netstring_round_trip_through_send_string():
    sender = maker(NetstringTester)()
    strings = [b"", b"a", b"," * 11, b":" * 100, bytes(range(256))]
    for s in strings:
        sender.sendString(s)
    for p in netstrings_all_ways(sender.transport.value()[:400]):
        assert p.strings == strings[: len(p.strings)]
    receiver = maker(NetstringTester)()
    receiver.dataReceived(sender.transport.value())
    assert receiver.strings == strings
