"""The compatibility adapter: CPython's socket-family modules over channels.

``reactorsock.compat.socket``, ``.select``, ``.selectors`` and ``.ssl`` give
the CPython 3 APIs of the stdlib modules of the same names, built on
reactorsock channels; ``docs/compat.md`` lists every difference.
``install()``/``uninstall()`` (or ``with installed_modules():``) put them in
place of the stdlib modules, and
``python -m reactorsock.compat script.py`` runs a program on them.

This package imports none of its submodules: ``install`` and ``uninstall``
load ``reactorsock.compat._install`` on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["install", "uninstall", "installed_modules"]


def install(*args: Any, **kwargs: Any) -> Any:
    """Put the compat modules in place of the stdlib ones (see ``_install.install``)."""
    from reactorsock.compat._install import install as _install

    return _install(*args, **kwargs)


def uninstall(*args: Any, **kwargs: Any) -> Any:
    """Restore the stdlib modules (see ``_install.uninstall``)."""
    from reactorsock.compat._install import uninstall as _uninstall

    return _uninstall(*args, **kwargs)


def installed_modules(*args: Any, **kwargs: Any) -> Any:
    """Context manager: the compat modules installed for a ``with`` block."""
    from reactorsock.compat._install import installed_modules as _installed_modules

    return _installed_modules(*args, **kwargs)
