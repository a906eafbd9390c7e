"""TLS echo server and verifying client, with certificates made by reactorsock.tls.

python examples/tls_echo.py server [--port 8443] [--certs DIR]   # writes DIR/ca.pem
python examples/tls_echo.py client [--host localhost] [--port 8443] --ca DIR/ca.pem
python examples/tls_echo.py --demo   # both, plus a client that must refuse the server
"""

import argparse
import tempfile

from reactorsock import task, tls
from reactorsock.defer import Deferred
from reactorsock.endpoints import clientFromString, connectProtocol
from reactorsock.error import ConnectionDone
from reactorsock.protocol import Factory, Protocol


class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Client(Protocol):
    """Sends one message; ``done`` fires with the echo, or fails with the TLS error."""

    message = b"hello over TLS"

    def __init__(self):
        self.received, self.done = b"", Deferred()

    def connectionMade(self):  # before the handshake: the write waits for it
        self.transport.write(self.message)

    def dataReceived(self, data):
        self.received += data
        if len(self.received) >= len(self.message):
            self.transport.loseConnection()  # sends close_notify

    def connectionLost(self, reason):
        if reason.check(ConnectionDone):
            self.done.callback(self.received)
        else:
            self.done.errback(reason)


def serve(reactor, port, certs_dir):
    paths = tls.write_dev_certificates(certs_dir, ["localhost", "127.0.0.1"])
    options = tls.CertificateOptions(privateKey=paths.private_key, certificate=paths.certificate)
    listening = reactor.listenSSL(port, Factory.forProtocol(Echo), options, interface="127.0.0.1")
    print(f"TLS echo on port {listening.getHost().port}; clients trust {paths.ca_certificate}")
    return listening.getHost().port, paths.ca_certificate


async def talk(reactor, host, port, trust_root):
    options = tls.optionsForClientTLS(host, trustRoot=trust_root)  # checks chain and name
    endpoint = tls.wrapClientTLS(options, clientFromString(reactor, f"tcp:{host}:{port}"))
    client = await connectProtocol(endpoint, Client())
    return (await client.done).decode()


async def main(reactor, args):
    if args.mode == "client":
        print("client received:", await talk(reactor, args.host, args.port, args.ca))
    elif args.demo:
        with tempfile.TemporaryDirectory() as certs:
            port, ca = serve(reactor, 0, certs)
            print("client received:", await talk(reactor, "localhost", port, ca))
            try:  # a client that trusts another CA must refuse this server
                await talk(reactor, "localhost", port, tls.make_ca().certificate)
            except tls.TLSError as e:
                print("untrusted server refused:", e)
    else:
        serve(reactor, args.port, args.certs or tempfile.mkdtemp())
        await Deferred()  # serve until Ctrl-C


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["server", "client"], default="server")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--certs", help="directory for the server's new certificates")
    parser.add_argument("--ca", help="the CA certificate the client trusts")
    parser.add_argument("--demo", action="store_true")
    task.react(main, [parser.parse_args()])
