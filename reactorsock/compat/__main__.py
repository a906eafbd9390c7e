"""``python -m reactorsock.compat``: run an existing program on the compat modules.

``python -m reactorsock.compat script.py [args]`` and ``python -m
reactorsock.compat -m module [args]`` call ``reactorsock.compat.install()``
and then run the program as ``python script.py [args]`` or ``python -m
module [args]`` would: as ``__main__``, with the same ``sys.argv`` and
``sys.path[0]``, and the same exit status.  The program is not changed; its
``import socket`` (``select``, ``selectors``, ``ssl``) gets the compat module.

This is not the ``reactorsock`` runner (``python -m reactorsock run``), which
serves Protocols on a reactor.
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
import zipfile

__all__ = ["main", "USAGE"]

USAGE = """\
usage: python -m reactorsock.compat script.py [args ...]
       python -m reactorsock.compat -m module [args ...]

Run a Python program with reactorsock.compat's socket, select, selectors
(and ssl) modules installed in place of the standard library's."""


def _usage_error(message: str) -> int:
    print(f"{USAGE}\n\nerror: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Install the compat modules and run the program named by argv.

    argv defaults to ``sys.argv[1:]``.  Returns 0 when the program ends
    normally; its ``SystemExit`` (hence ``sys.exit(n)``) and any other
    exception propagate, so the interpreter reports them as it would for the
    program run directly.  Returns 2 after printing the usage for bad
    arguments, 0 for ``-h``/``--help``.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        return _usage_error("no script or module given")
    first = args[0]
    if first in ("-h", "--help"):
        print(USAGE)
        return 0
    if first == "-m":
        if len(args) < 2 or not args[1] or args[1].startswith("-"):
            return _usage_error("-m needs a module name")
        return _run_module(args[1], args[2:])
    if first.startswith("-") and first != "-":
        return _usage_error(f"unknown option {first!r}")
    if not os.path.exists(first):
        return _usage_error(f"can't open file {first!r}: no such file")
    return _run_script(first, args[1:])


def _run_script(path: str, args: list[str]) -> int:
    """Run path as ``python path args`` would, on the compat modules."""
    from reactorsock.compat import install

    install()
    sys.argv = [path, *args]
    # Python puts the script's directory first on sys.path; runpy.run_path
    # does that itself only for a directory or a zip file.
    if not (os.path.isdir(path) or zipfile.is_zipfile(path)):
        sys.path[0] = os.path.dirname(os.path.abspath(path))
    runpy.run_path(path, run_name="__main__")
    return 0


def _run_module(name: str, args: list[str]) -> int:
    """Run module name as ``python -m name args`` would, on the compat modules."""
    from reactorsock.compat import install

    install()  # first: find_spec imports the parent packages
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # a parent package is missing
        spec = None
    if spec is None:
        print(f"{sys.executable}: No module named {name}", file=sys.stderr)
        return 1
    # run_module(alter_sys=True) replaces sys.argv[0] with the module's file.
    sys.argv = [name, *args]
    runpy.run_module(name, run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
