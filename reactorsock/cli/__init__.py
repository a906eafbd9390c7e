"""The ``reactorsock`` command line: ``run`` serves an app, ``cert`` writes a certificate.

``main(argv)`` is pure: it parses argv, does the command and returns the
exit status; it never calls ``sys.exit`` (``console_main`` does), so tests
drive it in-process.  The parts live in private modules: ``_args`` (the
parser), ``_apps`` (built-in services and app loading), ``_run`` (binding,
serving, draining) and ``_workers`` (the pre-fork supervisor).  See
docs/runner.md for the user's guide.
"""

from __future__ import annotations

import argparse
import sys

import attrs

from reactorsock.cli._args import build_parser

__all__ = ["main", "console_main", "build_parser"]


def _cert(args: argparse.Namespace) -> int:
    """Write a development certificate with ``reactorsock.tls``, if it is there."""
    try:
        from reactorsock.tls import write_dev_certificates
    except ModuleNotFoundError as e:
        if e.name in ("reactorsock.tls", "reactorsock"):
            message = "TLS support not installed yet: reactorsock.tls is missing"
        else:
            message = f"TLS support is unavailable: {e}"
        print(f"reactorsock: error: {message}", file=sys.stderr)
        return 1
    except ImportError as e:
        if "write_dev_certificates" in str(e):
            message = "TLS support not installed yet: no reactorsock.tls.write_dev_certificates"
        else:
            message = f"TLS support is unavailable: {e}"
        print(f"reactorsock: error: {message}", file=sys.stderr)
        return 1
    hosts = args.host or ["localhost"]
    try:
        written = write_dev_certificates(args.out, hosts)
    except (OSError, ValueError) as e:
        print(f"reactorsock: error: cannot write the certificate: {e}", file=sys.stderr)
        return 1
    print(f"reactorsock: wrote a development certificate for {', '.join(hosts)} to {args.out}")
    if attrs.has(type(written)):  # e.g. DevCertificatePaths(ca_certificate=..., ...)
        for what, path in attrs.asdict(written, recurse=False).items():
            print(f"reactorsock:   {what.replace('_', ' ')}: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line with argv (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits on --help, --version and usage errors
        return e.code if isinstance(e.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "cert":
        return _cert(args)
    from reactorsock.cli._run import run_command

    return run_command(args)


def console_main() -> None:
    """Entry point of the ``reactorsock`` console script."""
    sys.exit(main())
