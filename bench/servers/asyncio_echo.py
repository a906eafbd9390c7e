"""asyncio (``--loop asyncio``) or uvloop (``--loop uvloop``) Protocol echo server."""

from __future__ import annotations

import asyncio
import signal
import ssl

from _common import BACKLOG, parse_args, ports, profiled, ready


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(args):
    loop = asyncio.get_running_loop()
    for port in ports(args):
        await loop.create_server(Echo, "127.0.0.1", port, backlog=BACKLOG)
    if args.tls_port:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        await loop.create_server(Echo, "127.0.0.1", args.tls_port, backlog=BACKLOG, ssl=ctx)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    ready()
    await stop


def main():
    args = parse_args(lambda p: p.add_argument("--loop", default="asyncio"))
    if args.loop == "uvloop":
        import uvloop

        run = lambda: uvloop.run(serve(args))  # noqa: E731
    else:
        run = lambda: asyncio.run(serve(args))  # noqa: E731
    profiled(args, run)


if __name__ == "__main__":
    main()
