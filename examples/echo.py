"""TCP echo server and client: Protocol, Factory and ClientFactory.

python examples/echo.py server [--port 8000]      # then: nc 127.0.0.1 8000
python examples/echo.py client [--host 127.0.0.1] [--port 8000] [--message hi]
python examples/echo.py --demo     # server on port 0 and a client, in one process
"""

import argparse
import sys

from reactorsock.protocol import ClientFactory, Factory, Protocol
from reactorsock.reactor import new_reactor


class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class EchoClient(Protocol):
    def connectionMade(self):
        self.transport.write(self.factory.message)

    def dataReceived(self, data):
        self.factory.received += data
        if len(self.factory.received) >= len(self.factory.message):
            print("client received:", self.factory.received.decode())
            self.transport.loseConnection()


class EchoClientFactory(ClientFactory):
    protocol = EchoClient

    def __init__(self, reactor, message):
        self.reactor, self.message, self.received, self.failed = reactor, message, b"", False

    def clientConnectionFailed(self, connector, reason):
        print("connection failed:", reason.getErrorMessage(), file=sys.stderr)
        self.failed = True
        self.reactor.stop()

    def clientConnectionLost(self, connector, reason):
        self.reactor.stop()  # one exchange, then the program ends


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["server", "client"], default="server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--message", default="hello, echo")
    parser.add_argument("--demo", action="store_true", help="server + client on port 0")
    args = parser.parse_args()
    reactor = new_reactor()
    if args.demo or args.mode == "server":
        factory = Factory.forProtocol(Echo)  # one Echo per connection
        port = reactor.listenTCP(0 if args.demo else args.port, factory, interface="127.0.0.1")
        args.port = port.getHost().port  # the real one, when asked for port 0
        print("echo server on port", args.port, flush=True)
    client = EchoClientFactory(reactor, args.message.encode())
    if args.demo or args.mode == "client":
        reactor.connectTCP(args.host, args.port, client)
    reactor.run()
    return 1 if client.failed else 0


if __name__ == "__main__":
    sys.exit(main())
