"""reactorsock echo server on one backend (``--backend epoll|poll|select``)."""

from __future__ import annotations

import signal

from _common import BACKLOG, parse_args, ports, profiled, ready

from reactorsock.protocol import Factory, Protocol
from reactorsock.reactor import new_reactor


class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


def main():
    def extra(p):
        p.add_argument("--backend", default="epoll")
        p.add_argument(
            "--patch",
            action="append",
            default=[],
            help="a Python file run first (bench/experiments/: monkeypatches)",
        )

    args = parse_args(extra)
    for path in args.patch:
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), {"__name__": "bench_patch", "__file__": path})
    reactor = new_reactor(args.backend)
    factory = Factory.forProtocol(Echo)
    for port in ports(args):
        reactor.listenTCP(port, factory, backlog=BACKLOG, interface="127.0.0.1")
    if args.tls_port:
        from OpenSSL import crypto

        from reactorsock.tls import CertificateOptions

        with open(args.key, "rb") as f:
            key = crypto.load_privatekey(crypto.FILETYPE_PEM, f.read())
        with open(args.cert, "rb") as f:
            cert = crypto.load_certificate(crypto.FILETYPE_PEM, f.read())
        options = CertificateOptions(privateKey=key, certificate=cert)
        reactor.listenSSL(args.tls_port, factory, options, backlog=BACKLOG, interface="127.0.0.1")
    signal.signal(signal.SIGTERM, lambda *a: reactor.callFromThread(reactor.stop))
    reactor.callWhenRunning(ready)
    profiled(args, lambda: reactor.run(installSignalHandlers=False))


if __name__ == "__main__":
    main()
