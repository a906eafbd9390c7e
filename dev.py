#!/usr/bin/env python3
"""One entry point for developers: set up a virtualenv, then run, test or lint.

Usage::

    python3 dev.py run [ARGS...]    # set up .venv, then `reactorsock run ARGS...`
    python3 dev.py test [ARGS...]   # set up .venv, then ruff + the whole pytest suite
    python3 dev.py lint             # ruff check + ruff format --check only

Only python3 (3.11+) is needed: the script makes ``.venv`` beside itself with
the standard ``venv`` module and installs reactorsock there in editable mode,
with its test extras.  The install is redone only when ``setup.cfg`` or
``pyproject.toml`` change (a stamp file in ``.venv`` records their hash).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".reactorsock-installed"


def _say(msg: str) -> None:
    print(f"dev.py: {msg}", file=sys.stderr, flush=True)


def _wanted_stamp() -> str:
    digest = hashlib.sha256()
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create ``.venv`` and install reactorsock[test] into it when needed."""
    if sys.version_info < (3, 11):
        sys.exit(f"dev.py: reactorsock needs Python 3.11+, this is {sys.version.split()[0]}")
    wanted = _wanted_stamp()
    if STAMP.exists() and STAMP.read_text() == wanted and (BIN / "python").exists():
        return
    if not (BIN / "python").exists():
        _say(f"creating virtualenv {VENV}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    _say("installing reactorsock and its test tools (pip install -e .[test])")
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def lint() -> int:
    """Run ruff's checks and its formatting check; return the first failure's code."""
    ruff = str(BIN / "ruff")
    paths = ["reactorsock", "examples", "bench"]
    for cmd in ([ruff, "check", *paths], [ruff, "format", "--check", *paths]):
        _say(" ".join(cmd[1:]))
        rc = subprocess.run(cmd, cwd=ROOT).returncode
        if rc:
            return rc
    return 0


def main(argv: list[str]) -> int:
    """Dispatch ``run``, ``test`` or ``lint``; return the exit status."""
    if not argv or argv[0] not in ("run", "test", "lint"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv()
    if command == "run":
        os.execv(str(BIN / "reactorsock"), [str(BIN / "reactorsock"), "run", *rest])
    rc = lint()
    if command == "lint" or rc:
        return rc
    return subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
