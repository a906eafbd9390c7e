"""The CPython 3 ``selectors`` module API over fds, sockets and channels.

``DefaultSelector``, ``SelectSelector``, ``PollSelector``, ``EpollSelector``
(and ``DevpollSelector``/``KqueueSelector`` where the platform has them)
register what the stdlib's do -- ints and objects with a ``fileno()`` -- so
stdlib sockets, ``reactorsock.compat.socket`` sockets, channels, pipe ends
and files mix in one selector.  ``SelectorKey.fileobj`` is the registered
object, and ``get_key``/``get_map``/``select`` hand it back.

This is not the reactor's selector layer (``reactorsock.selector``), which
takes fds only and returns the kernel's list untranslated.

Design notes
------------
The stdlib module works as it is: ``selectors._fileobj_to_fd`` takes an
``int`` subclass as an fd, and a compat socket's ``fileno()`` is a channel,
an ``int`` subclass.  Each selector class here is a subclass of the stdlib
one (``isinstance(sel, selectors.BaseSelector)`` holds with either module)
that adds one check to ``register``/``modify``: a closed channel raises
``ValueError``, as a closed socket or file does in CPython.  A closed
channel's int value is its old fd number, which the OS may have reused; the
stdlib would register whatever holds that number now.  ``unregister`` of a
closed object works, as in CPython, by the stdlib's search of its map.
"""

from __future__ import annotations

import selectors as _std
from selectors import (  # noqa: F401 - stdlib module namespace, for code that reaches in
    EVENT_READ,
    EVENT_WRITE,
    BaseSelector,
    SelectorKey,
    _BaseSelectorImpl,
    _fileobj_to_fd,
    _SelectorMapping,
)
from typing import Any

from reactorsock.channel import Channel

_SELECTORS = [
    name
    for name in (
        "SelectSelector",
        "PollSelector",
        "EpollSelector",
        "DevpollSelector",
        "KqueueSelector",
    )
    if hasattr(_std, name)
]
__all__ = [
    "EVENT_READ",
    "EVENT_WRITE",
    "SelectorKey",
    "BaseSelector",
    "DefaultSelector",
    *_SELECTORS,
]


def _check_open(fileobj: Any) -> None:
    """Raise ``ValueError`` if fileobj is a closed channel."""
    if isinstance(fileobj, Channel) and fileobj.closed:
        raise ValueError(f"Invalid file object: {fileobj!r}")


def _compat_subclass(base: type) -> type:
    """Return the subclass of the stdlib selector class base that refuses closed channels."""

    def register(self: Any, fileobj: Any, events: int, data: Any = None) -> SelectorKey:
        """Register a file object; see ``selectors.BaseSelector.register``."""
        _check_open(fileobj)
        return super(cls, self).register(fileobj, events, data)

    def modify(self: Any, fileobj: Any, events: int, data: Any = None) -> SelectorKey:
        """Change a registered file object's events or data; see ``BaseSelector.modify``."""
        _check_open(fileobj)
        return super(cls, self).modify(fileobj, events, data)

    namespace = {
        "__doc__": f"``selectors.{base.__name__}`` that refuses closed channels.",
        "__module__": __name__,
        "__qualname__": base.__name__,
        "register": register,
        "modify": modify,
    }
    cls = type(base.__name__, (base,), namespace)
    return cls


# One subclass per selector the platform has, under the stdlib's names.
for _name in _SELECTORS:
    globals()[_name] = _compat_subclass(getattr(_std, _name))
del _name

DefaultSelector = globals()[_std.DefaultSelector.__name__]
