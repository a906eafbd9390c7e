"""The ``reactorsock`` command line (placeholder until the runner lands)."""

from __future__ import annotations

import sys

__all__ = ["main", "console_main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line with argv (default ``sys.argv[1:]``); return the exit status."""
    return 0


def console_main() -> None:
    """Entry point of the ``reactorsock`` console script."""
    sys.exit(main())
