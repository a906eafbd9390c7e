"""UDP echo server and client with DatagramProtocol.

python examples/udp_echo.py server [--port 8002]
python examples/udp_echo.py client [--host 127.0.0.1] [--port 8002] [--message hi]
python examples/udp_echo.py --demo     # server on port 0 and a client, in one process
"""

import argparse
import sys

from reactorsock.protocol import DatagramProtocol
from reactorsock.reactor import new_reactor


class Echo(DatagramProtocol):
    def datagramReceived(self, datagram, addr):
        self.transport.write(datagram, addr)  # one datagram back to its sender


class Client(DatagramProtocol):
    """Sends one datagram and waits (at most 5 s: UDP may lose it) for the echo."""

    def __init__(self, reactor, server, message):
        self.reactor, self.server, self.message, self.ok = reactor, server, message, False

    def startProtocol(self):  # listening: self.transport is set
        self.transport.write(self.message, self.server)  # host must be an IP literal
        self.timeout = self.reactor.callLater(5, self.give_up)

    def datagramReceived(self, datagram, addr):
        print(f"client received {datagram.decode()!r} from {addr[0]}")
        self.ok = True
        self.timeout.cancel()
        self.reactor.stop()

    def give_up(self):
        print("no answer within 5 seconds", file=sys.stderr)
        self.reactor.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["server", "client"], default="server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--message", default="hello, udp")
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
    reactor, client = new_reactor(), None
    if args.demo or args.mode == "server":
        port = reactor.listenUDP(0 if args.demo else args.port, Echo(), interface="127.0.0.1")
        args.port = port.getHost().port
        print("UDP echo on port", args.port, flush=True)
    if args.demo or args.mode == "client":
        client = Client(reactor, (args.host, args.port), args.message.encode())
        reactor.listenUDP(0, client, interface="127.0.0.1")  # any free port
    reactor.run()
    return 1 if client is not None and not client.ok else 0


if __name__ == "__main__":
    sys.exit(main())
