"""Failure: an exception, its type and its traceback, carried as a value.

A :class:`Failure` is what flows down a Deferred's errback chain and what
``connectionLost`` receives.  Like Twisted's ``twisted.python.failure.Failure``
it is *not* an exception: it wraps one.  ``trap`` and ``raiseException``
raise the wrapped exception itself.

Design notes
------------
A traceback keeps every frame of the stack alive, and through the frames'
locals often the Deferred holding the Failure: a reference cycle that delays
collection (and so the report of an unhandled error) until the cyclic GC runs.
:meth:`Failure.cleanFailure` breaks it: it keeps a line-free summary of the
frames (``traceback.TracebackException``, source lines looked up only when
formatted) and drops the traceback.  Deferreds call it when a chain ends on a
Failure, as Twisted's do.
"""

from __future__ import annotations

import sys
import traceback
from typing import IO, Any

__all__ = ["Failure", "NoCurrentExceptionError"]


class NoCurrentExceptionError(Exception):
    """``Failure()`` was called with no arguments outside an ``except`` block."""


def _qual(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class Failure:
    """An exception with its type and traceback, to be passed around as a value.

    ``Failure()`` captures the exception being handled (``sys.exc_info()``),
    or raises :class:`NoCurrentExceptionError` if there is none.
    ``Failure(exc)`` wraps an exception instance (its ``__traceback__`` is
    used when *exc_tb* is not given); ``Failure(ExcClass)`` instantiates the
    class; ``Failure(failure)`` copies another Failure.

    Attributes: ``value`` (the exception), ``type`` (its class) and ``tb``
    (the traceback, or None once :meth:`cleanFailure` has run or when the
    exception was never raised).
    """

    def __init__(
        self,
        exc_value: BaseException | type[BaseException] | Failure | None = None,
        exc_type: type[BaseException] | None = None,
        exc_tb: Any = None,
    ) -> None:
        self._summary: traceback.TracebackException | None = None
        if exc_value is None and exc_type is None:
            exc_type, exc_value, current_tb = sys.exc_info()
            if exc_value is None:
                raise NoCurrentExceptionError("Failure() outside an except block")
            if exc_tb is None:
                exc_tb = current_tb
        elif isinstance(exc_value, Failure):
            self.value, self.type, self.tb = exc_value.value, exc_value.type, exc_value.tb
            self._summary = exc_value._summary
            return
        elif isinstance(exc_value, BaseException):
            if exc_type is None:
                exc_type = type(exc_value)
            if exc_tb is None:
                exc_tb = exc_value.__traceback__
        elif isinstance(exc_value, type) and issubclass(exc_value, BaseException):
            exc_type, exc_value = exc_value, exc_value()
        elif exc_type is not None:
            exc_value = exc_type() if exc_value is None else exc_type(exc_value)
        else:
            raise TypeError(f"Failure needs an exception, not {exc_value!r}")
        self.value: BaseException = exc_value
        self.type: type[BaseException] = exc_type
        self.tb = exc_tb

    # -- matching ------------------------------------------------------

    @property
    def parents(self) -> list[str]:
        """The qualified names (``module.Class``) of ``type`` and its bases."""
        return [_qual(c) for c in self.type.__mro__]

    def check(self, *errorTypes: type[BaseException] | str) -> type[BaseException] | str | None:
        """Return the first of *errorTypes* that ``type`` is (a subclass of), else None.

        A type may also be given as its qualified name, e.g. ``"builtins.ValueError"``.
        """
        for error in errorTypes:
            if isinstance(error, str):
                if error in self.parents:
                    return error
            elif issubclass(self.type, error):
                return error
        return None

    def trap(self, *errorTypes: type[BaseException] | str) -> type[BaseException] | str:
        """Return the matching type like :meth:`check`, or re-raise the wrapped exception.

        Used in errbacks: ``failure.trap(ConnectionDone)`` handles that error
        and lets any other one go on down the errback chain (the next errback
        sees a Failure wrapping the same exception object).
        """
        error = self.check(*errorTypes)
        if error is None:
            self.raiseException()
        return error

    # -- raising and reporting ----------------------------------------

    def raiseException(self) -> None:
        """Raise the wrapped exception with its traceback (when it still has one)."""
        raise self.value.with_traceback(self.tb)

    def getErrorMessage(self) -> str:
        """``str(value)``, or a placeholder if that raises."""
        try:
            return str(self.value)
        except Exception:
            return f"<{self.type.__name__} instance with a broken __str__>"

    def cleanFailure(self) -> None:  # noqa: N802 -- Twisted's name
        """Drop the traceback (and ``value.__traceback__``), keeping a summary for reports.

        Breaks the reference cycles that a traceback's frames make; idempotent.
        :meth:`getTraceback` still works afterwards; :meth:`raiseException`
        then raises without the original frames.
        """
        tb = self.tb
        if tb is None:
            return
        self._summary = traceback.TracebackException(self.type, self.value, tb, lookup_lines=False)
        self.tb = None
        if self.value.__traceback__ is not None:
            self.value.__traceback__ = None

    def _traceback_exception(self) -> traceback.TracebackException | None:
        if self.tb is not None:
            return traceback.TracebackException(self.type, self.value, self.tb)
        return self._summary

    def getTraceback(self, elideFrameworkCode: bool = False, detail: str = "default") -> str:
        """The formatted traceback, as ``traceback.format_exception`` writes it.

        A Failure without frames (its exception was never raised) gives
        ``"Traceback (failure with no frames): <class 'ValueError'>: boom\\n"``.
        *elideFrameworkCode* and *detail* are accepted for Twisted
        compatibility and ignored.
        """
        tbe = self._traceback_exception()
        if tbe is None:
            return f"Traceback (failure with no frames): {self.type!r}: {self.getErrorMessage()}\n"
        return "".join(tbe.format())

    def printTraceback(
        self,
        file: IO[str] | None = None,
        elideFrameworkCode: bool = False,
        detail: str = "default",
    ) -> None:
        """Write :meth:`getTraceback` to *file* (default: ``sys.stderr``)."""
        (sys.stderr if file is None else file).write(self.getTraceback())

    def _brief(self) -> str:
        tbe = self._traceback_exception()
        lines = [f"Traceback: {self.type!r}: {self.getErrorMessage()}"]
        if tbe is not None:
            lines.extend(f"{f.filename}:{f.lineno}:{f.name}" for f in tbe.stack)
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"[Failure instance: {self._brief()}]"

    def __repr__(self) -> str:
        return f"<{_qual(type(self))} {_qual(self.type)}: {self.getErrorMessage()}>"
