"""The ``reactorsock`` command line: ``reactorsock run`` serves an app.

This first version serves the built-in echo service (RFC 862) on TCP;
apps, workers, several endpoints and graceful drain are the runner issue's
work.  ``main(argv)`` is pure (it returns the exit status, never calls
``sys.exit``) so that tests can drive it in-process.
"""

from __future__ import annotations

import argparse
import logging
import sys

import reactorsock

__all__ = ["main", "console_main", "build_parser"]

log = logging.getLogger("reactorsock.cli")

DEFAULT_INTERFACE = "127.0.0.1"
DEFAULT_PORT = 8000


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``reactorsock``."""
    parser = argparse.ArgumentParser(
        prog="reactorsock",
        description="Event-driven networking: serve protocols from the command line.",
    )
    parser.add_argument(
        "--version", action="version", version=f"reactorsock {reactorsock.__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="serve an app (default: echo on 127.0.0.1:8000)",
        description="Serve an app.  With no APP, serves echo on 127.0.0.1:8000.",
        epilog="examples:\n  reactorsock run\n  reactorsock run echo --port 9000\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("app", nargs="?", default="echo", choices=["echo"], help="what to serve")
    run.add_argument("--interface", default=DEFAULT_INTERFACE, help="address to listen on")
    run.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (0: any free port)")
    run.add_argument("--reactor", default=None, choices=["epoll", "poll", "select"])
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def _serve(args: argparse.Namespace) -> int:
    from reactorsock import error
    from reactorsock.protocol import Factory, Protocol
    from reactorsock.reactor import new_reactor

    class Echo(Protocol):
        """RFC 862: send back whatever arrives."""

        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    reactor = new_reactor(args.reactor)
    try:
        port = reactor.listenTCP(args.port, Factory.forProtocol(Echo), interface=args.interface)
    except error.CannotListenError as e:
        print(f"reactorsock: {e}", file=sys.stderr)
        return 1
    host = port.getHost()
    print(
        f"reactorsock: serving {args.app} on tcp {host.host}:{host.port} "
        f"({reactor.backend} reactor); try: nc {host.host} {host.port}",
        flush=True,
    )
    reactor.run()
    print("reactorsock: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line with argv (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits on --help, --version and errors
        return int(e.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return _serve(args)


def console_main() -> None:
    """Entry point of the ``reactorsock`` console script."""
    sys.exit(main())
