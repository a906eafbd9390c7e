"""Unit-testing a protocol without sockets: StringTransport, and task.Clock for time.

python examples/unit_testing.py           # runs the tests with unittest
python examples/unit_testing.py --demo    # the same, one line per test
python -m pytest examples/unit_testing.py
"""

import sys
import unittest

from reactorsock import task
from reactorsock.protocol import Factory
from reactorsock.protocols.basic import LineReceiver
from reactorsock.protocols.policies import TimeoutMixin
from reactorsock.testing import StringTransport


class Greeter(LineReceiver, TimeoutMixin):
    """``HELLO name`` -> ``Hi, name!``; ``QUIT`` or 30 idle seconds close the connection."""

    def connectionMade(self):
        self.setTimeout(30)

    def callLater(self, delay, f):  # TimeoutMixin's timer, on the factory's clock
        return self.factory.clock.callLater(delay, f)

    def lineReceived(self, line):
        self.resetTimeout()
        command, _, arg = line.partition(b" ")
        if command == b"HELLO":
            self.sendLine(b"Hi, " + arg + b"!")
        elif command == b"QUIT":
            self.transport.loseConnection()
        else:
            self.sendLine(b"ERROR unknown command")


class GreeterFactory(Factory):
    protocol = Greeter

    def __init__(self, clock):  # the reactor in real use, a task.Clock in tests
        self.clock = clock


class GreeterTests(unittest.TestCase):
    def connect(self):
        self.clock, self.transport = task.Clock(), StringTransport()
        proto = GreeterFactory(self.clock).buildProtocol(None)
        proto.makeConnection(self.transport)  # what a real transport does first
        return proto

    def test_hello(self):
        self.connect().dataReceived(b"HELLO bob\r\n")
        self.assertEqual(self.transport.value(), b"Hi, bob!\r\n")

    def test_line_split_across_reads(self):
        proto = self.connect()
        for chunk in (b"HEL", b"LO a", b"lice\r\nBOGUS\r", b"\n"):
            proto.dataReceived(chunk)
        self.assertEqual(self.transport.value(), b"Hi, alice!\r\nERROR unknown command\r\n")

    def test_quit_closes(self):
        self.connect().dataReceived(b"QUIT\r\n")
        self.assertTrue(self.transport.disconnecting)

    def test_idle_timeout(self):
        proto = self.connect()
        self.clock.advance(29)
        proto.dataReceived(b"HELLO x\r\n")  # activity restarts the 30 s countdown
        self.clock.advance(29)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)


if __name__ == "__main__":
    verbosity = 2 if "--demo" in sys.argv else 1
    unittest.main(argv=[sys.argv[0]], verbosity=verbosity)
