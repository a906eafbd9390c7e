"""``python -m reactorsock`` runs the command-line interface."""

from __future__ import annotations

import sys

from reactorsock.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
