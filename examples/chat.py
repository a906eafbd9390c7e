"""A line-based chat server: LineReceiver, per-connection state, broadcast.

python examples/chat.py [--port 8001]   # then, in two terminals: nc 127.0.0.1 8001
python examples/chat.py --demo          # two scripted clients chat, then it exits
"""

import argparse

from reactorsock import task
from reactorsock.defer import Deferred
from reactorsock.endpoints import clientFromString, connectProtocol
from reactorsock.protocol import Factory
from reactorsock.protocols.basic import LineReceiver
from reactorsock.reactor import new_reactor


class Chat(LineReceiver):
    delimiter, name = b"\n", None  # "\n" is what nc sends; a trailing "\r" is stripped

    def connectionMade(self):
        self.sendLine(b"What is your name?")

    def lineReceived(self, line):
        line = line.rstrip(b"\r")
        if self.name is None:  # the first line is the name
            self.name = line
            self.broadcast(b"* " + line + b" joined")
            self.factory.users.add(self)
            self.sendLine(b"Welcome, " + line + b"!")
        else:
            self.broadcast(b"<" + self.name + b"> " + line)

    def connectionLost(self, reason):
        if self in self.factory.users:
            self.factory.users.remove(self)
            self.broadcast(b"* " + self.name + b" left")

    def broadcast(self, line):
        for user in self.factory.users - {self}:
            user.sendLine(line)


class ChatFactory(Factory):
    protocol = Chat

    def __init__(self):
        self.users = set()


class Client(LineReceiver):
    """A scripted client for the demo: ``await client.next_line()``."""

    delimiter = b"\n"

    def connectionMade(self):
        self.lines, self.read = [Deferred()], 0  # lines[i] fires with the i-th line

    def lineReceived(self, line):
        self.lines.append(Deferred())
        self.lines[-2].callback(line.decode())

    def next_line(self):
        self.read += 1
        return self.lines[self.read - 1]


async def demo(reactor):
    port = reactor.listenTCP(0, ChatFactory(), interface="127.0.0.1")
    endpoint = clientFromString(reactor, f"tcp:127.0.0.1:{port.getHost().port}")
    alice = await connectProtocol(endpoint, Client())
    bob = await connectProtocol(endpoint, Client())
    for client, name in ((alice, "alice"), (bob, "bob")):
        await client.next_line()  # "What is your name?"
        client.sendLine(name.encode())
        print(f"{name} got:", await client.next_line())
    print("alice got:", await alice.next_line())
    alice.sendLine(b"hi bob")
    print("bob got:", await bob.next_line())
    bob.transport.loseConnection()
    print("alice got:", await alice.next_line())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
    if args.demo:
        task.react(demo)
    reactor = new_reactor()
    reactor.listenTCP(args.port, ChatFactory(), interface="127.0.0.1")
    print(f"chat server on 127.0.0.1:{args.port}")
    reactor.run()


if __name__ == "__main__":
    main()
