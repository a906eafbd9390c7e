"""An async/await client: task.react, endpoint strings, connectProtocol, awaiting Deferreds.

reactorsock run                                   # an echo server on 127.0.0.1:8000
python examples/async_client.py [--host 127.0.0.1] [--port 8000] [words ...]
python examples/async_client.py --demo            # starts its own echo server on port 0
"""

import argparse

from reactorsock import task
from reactorsock.defer import Deferred
from reactorsock.endpoints import clientFromString, connectProtocol, serverFromString
from reactorsock.error import ConnectError
from reactorsock.protocol import Factory, Protocol


class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Asker(Protocol):
    """Sends a request; ``ask()`` returns a Deferred that fires with the reply."""

    def ask(self, data):
        self.expected, self.buffer, self.reply = len(data), b"", Deferred()
        self.transport.write(data)
        return self.reply

    def dataReceived(self, data):
        self.buffer += data
        if len(self.buffer) >= self.expected:
            self.reply.callback(self.buffer)


async def main(reactor, args):
    if args.demo:  # an echo server of our own, on any free port
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            Factory.forProtocol(Echo)
        )
        args.port = port.getHost().port
    endpoint = clientFromString(reactor, f"tcp:{args.host}:{args.port}:timeout=5")
    try:
        proto = await connectProtocol(endpoint, Asker())  # fires after connectionMade
    except ConnectError as e:
        raise SystemExit(f"cannot connect: {e}")  # task.react exits with it
    for word in args.words:
        reply = await proto.ask(word.encode()).addTimeout(5, reactor)
        print("reply:", reply.decode())
    await task.deferLater(reactor, 0.1)  # a pause, the Deferred way: like asyncio.sleep
    proto.transport.loseConnection()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("words", nargs="*", default=["hello", "async", "world"])
    task.react(main, [parser.parse_args()])
