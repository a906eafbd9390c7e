"""Twisted echo server on its epoll reactor (TLS through ``twisted.internet.ssl``)."""

from __future__ import annotations

import signal

from twisted.internet import epollreactor

epollreactor.install()

from _common import BACKLOG, parse_args, ports, profiled, ready  # noqa: E402
from twisted.internet import reactor  # noqa: E402
from twisted.internet.protocol import Factory, Protocol  # noqa: E402


class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


def main():
    args = parse_args()
    factory = Factory.forProtocol(Echo)
    for port in ports(args):
        reactor.listenTCP(port, factory, backlog=BACKLOG, interface="127.0.0.1")
    if args.tls_port:
        from OpenSSL import crypto
        from twisted.internet import ssl

        with open(args.key, "rb") as f:
            key = crypto.load_privatekey(crypto.FILETYPE_PEM, f.read())
        with open(args.cert, "rb") as f:
            cert = crypto.load_certificate(crypto.FILETYPE_PEM, f.read())
        options = ssl.CertificateOptions(privateKey=key, certificate=cert)
        reactor.listenSSL(args.tls_port, factory, options, backlog=BACKLOG, interface="127.0.0.1")
    signal.signal(signal.SIGTERM, lambda *a: reactor.callFromThread(reactor.stop))
    reactor.callWhenRunning(ready)
    profiled(args, lambda: reactor.run(installSignalHandlers=False))


if __name__ == "__main__":
    main()
