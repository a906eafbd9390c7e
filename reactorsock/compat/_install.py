"""``install()``/``uninstall()``: the compat modules in place of the stdlib ones.

``install()`` puts ``reactorsock.compat.socket``, ``.select``,
``.selectors`` (and ``.ssl`` once it exists) into ``sys.modules`` under the
names ``socket``, ``select``, ``selectors`` (and ``ssl``), so that every
``import socket`` that runs afterwards gets the compat module.
``uninstall()`` puts back exactly what was there before.  Both are
idempotent.

This module does not patch modules that are already imported: one that ran
``import socket`` (or ``from socket import socket``) before ``install()``
keeps the stdlib objects it bound.  Call ``install()`` first, before
importing the program that should run on reactorsock; ``python -m
reactorsock.compat script.py`` does exactly that.

Design notes
------------
The compat modules are imported *before* ``sys.modules`` changes, so that
each binds the stdlib module it is built on (``compat.socket`` imports the
stdlib ``socket``, ``select``, ``selectors`` and ``ssl``).  While
``compat.ssl`` does not exist, the stdlib ``ssl`` stays in place: it was
imported by then, bound to the stdlib ``socket``, and its ``SSLSocket``
subclasses the stdlib socket class -- a stdlib ``ssl`` imported after the
swap would subclass the compat class instead and break.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

__all__ = ["install", "uninstall", "installed", "installed_modules", "MODULES"]

#: The stdlib module names replaced, in import order (``ssl`` needs ``socket``).
MODULES = ("socket", "select", "selectors", "ssl")

_lock = threading.Lock()
# name -> the sys.modules entry install() replaced (None: there was none).
# Empty while not installed.
_saved: dict[str, ModuleType | None] = {}


def _load_compat(name: str) -> ModuleType | None:
    """Import ``reactorsock.compat.<name>``; None if that module does not exist."""
    qualified = f"reactorsock.compat.{name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as e:
        if e.name != qualified:  # a missing dependency is a real error
            raise
        return None


def install() -> list[str]:
    """Put the compat modules in ``sys.modules`` in place of the stdlib ones.

    Returns the names replaced (``["socket", "select", "selectors"]``, plus
    ``"ssl"`` when ``reactorsock.compat.ssl`` exists).  Calling it again
    while installed changes nothing and returns the same list.
    """
    with _lock:
        if not _saved:
            compat = {}
            for name in MODULES:
                module = _load_compat(name)
                if module is not None:
                    compat[name] = module
            for name, module in compat.items():
                _saved[name] = sys.modules.get(name)
                sys.modules[name] = module
        return list(_saved)


def uninstall() -> list[str]:
    """Put back the modules ``install()`` replaced; a no-op when not installed.

    Returns the names restored.  Modules imported while the compat modules
    were installed keep the compat objects they bound.
    """
    with _lock:
        restored = list(_saved)
        for name, module in _saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        _saved.clear()
        return restored


def installed() -> bool:
    """Return True while the compat modules are installed."""
    return bool(_saved)


@contextlib.contextmanager
def installed_modules() -> Iterator[list[str]]:
    """Install the compat modules for the ``with`` block, then restore the stdlib ones.

    Yields the names replaced.  If the modules were already installed when
    the block began, they stay installed after it.
    """
    was_installed = installed()
    names = install()
    try:
        yield names
    finally:
        if not was_installed:
            uninstall()
