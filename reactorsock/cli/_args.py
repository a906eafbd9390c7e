"""The argument parser of the ``reactorsock`` command: subcommands, options, help text.

This module only describes the command line; it opens no socket, imports no
app and starts no reactor.  ``build_parser()`` is what ``main(argv)`` parses
with, and what tests inspect.
"""

from __future__ import annotations

import argparse
import os

import reactorsock
from reactorsock.cli._apps import BUILTINS

__all__ = ["build_parser", "DEFAULT_LISTEN", "DEFAULT_GRACE", "LOG_LEVELS"]

#: Where ``reactorsock run`` listens when no ``--listen`` is given: loopback
#: only, so that trying the command exposes nothing to the network.
DEFAULT_LISTEN = "tcp:8000:interface=127.0.0.1"
#: Seconds open connections get to finish after SIGTERM/SIGINT.
DEFAULT_GRACE = 10.0
LOG_LEVELS = ("debug", "info", "warning", "error")

_RUN_EXAMPLES = """\
examples:
  reactorsock run
      echo on 127.0.0.1:8000; try it with: nc 127.0.0.1 8000
  reactorsock run chargen --listen tcp:1900:interface=127.0.0.1 --listen udp:1900
  reactorsock run daytime --listen tcp6:1300:interface=\\:\\:1 --listen unix:/tmp/day.sock
  reactorsock run myproject.server:factory --listen tcp:8080 --workers auto
  reactorsock run myproject.server:main        # main(reactor) returning a coroutine

APP is a built-in ({builtins}) or module:attribute, where the attribute is a
Factory instance, a Protocol subclass, a DatagramProtocol, or a callable
returning one of those (or, called with the reactor, a coroutine or Deferred).

Signals: SIGTERM or SIGINT stop accepting and give open connections --grace
seconds to finish; a second SIGINT exits at once.  With --workers, SIGHUP
replaces the workers one by one (re-importing the app module) without closing
the listening sockets.

Exit status: 0 after a clean stop, 1 when serving fails (port in use,
permission denied, an error in the app), 2 for a usage error (bad option,
endpoint or APP name), 130 after a second SIGINT.
"""


def _workers(text: str) -> int:
    if text == "auto":
        return os.cpu_count() or 1
    try:
        n = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', not {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {n}")
    return n


def _grace(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not 0 <= value < float("inf"):  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, not {text!r}")
    return value


def _add_run(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="serve an app (default: echo on 127.0.0.1:8000)",
        description="Serve an app on one or more endpoints.  With no APP, serves echo "
        "on 127.0.0.1:8000 and says how to try it.",
        epilog=_RUN_EXAMPLES.format(builtins=", ".join(BUILTINS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "app",
        nargs="?",
        default=None,
        metavar="APP",
        help="a built-in service or module:attribute (default: echo)",
    )
    run.add_argument(
        "--listen",
        action="append",
        default=[],
        metavar="ENDPOINT",
        help=f"endpoint description, repeatable: tcp:PORT, tcp6:PORT, unix:PATH, udp:PORT "
        f"(default: {DEFAULT_LISTEN}; port 0 picks a free port)",
    )
    run.add_argument(
        "--reactor",
        default=None,
        choices=["epoll", "poll", "select"],
        help="reactor backend (default: $REACTORSOCK_REACTOR or the best available)",
    )
    run.add_argument(
        "--workers",
        type=_workers,
        default=0,
        metavar="N|auto",
        help="fork N worker processes sharing the listening sockets (auto: one per CPU)",
    )
    run.add_argument(
        "--grace",
        type=_grace,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help=f"how long open connections may finish after SIGTERM (default: {DEFAULT_GRACE:g})",
    )
    run.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="default: info")
    run.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="text lines, or one JSON object per line (default: text)",
    )
    run.add_argument("--pidfile", default=None, metavar="PATH", help="write the server's pid here")


def _add_cert(sub: argparse._SubParsersAction) -> None:
    cert = sub.add_parser(
        "cert",
        help="write a development CA, and a certificate and key it signed",
        description="Write a private development CA (ca.pem) and a server certificate "
        "(cert.pem) and key (key.pem) signed by it, for the given host names. Clients "
        "trust ca.pem (e.g. curl --cacert ca.pem); never use these in production.",
        epilog="example:\n  reactorsock cert --host localhost --host 127.0.0.1 --out ./certs\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cert.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="NAME",
        help="host name or address the certificate is for, repeatable (default: localhost)",
    )
    cert.add_argument("--out", default=".", metavar="DIR", help="directory to write to")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``reactorsock``."""
    parser = argparse.ArgumentParser(
        prog="reactorsock",
        description="Event-driven networking: serve protocols from the command line.",
    )
    parser.add_argument(
        "--version", action="version", version=f"reactorsock {reactorsock.__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub)
    _add_cert(sub)
    return parser
