"""Tests for reactorsock.failure."""

from __future__ import annotations

import io

import pytest

from reactorsock.failure import Failure, NoCurrentExceptionError


def _raised(exc: BaseException) -> Failure:
    try:
        raise exc
    except BaseException:
        return Failure()


def test_captures_current_exception():
    f = _raised(ValueError("boom"))
    assert f.type is ValueError
    assert isinstance(f.value, ValueError)
    assert f.tb is not None


def test_no_current_exception():
    with pytest.raises(NoCurrentExceptionError):
        Failure()


def test_from_instance_class_and_failure():
    exc = KeyError("k")
    f = Failure(exc)
    assert f.value is exc and f.type is KeyError and f.tb is None
    g = Failure(RuntimeError)
    assert isinstance(g.value, RuntimeError)
    h = Failure(f)
    assert h.value is exc and h.type is KeyError
    with pytest.raises(TypeError):
        Failure("not an exception")


def test_is_not_an_exception():
    assert not isinstance(Failure(ValueError()), BaseException)


def test_check():
    f = Failure(ConnectionRefusedError())
    assert f.check(KeyError) is None
    assert f.check(KeyError, OSError) is OSError
    assert f.check(ConnectionRefusedError) is ConnectionRefusedError
    assert f.check("builtins.OSError") == "builtins.OSError"
    assert "builtins.ConnectionError" in f.parents


def test_trap_returns_match_and_reraises_the_same_exception():
    f = _raised(ValueError("boom"))
    assert f.trap(ValueError) is ValueError
    with pytest.raises(ValueError) as info:
        f.trap(KeyError, TypeError)
    assert info.value is f.value


def test_get_error_message():
    assert Failure(ValueError("boom")).getErrorMessage() == "boom"

    class Broken(Exception):
        def __str__(self):
            raise RuntimeError

    assert "Broken" in Failure(Broken()).getErrorMessage()


def test_raise_exception_keeps_traceback():
    def inner():
        raise ValueError("deep")

    try:
        inner()
    except ValueError:
        f = Failure()
    with pytest.raises(ValueError) as info:
        f.raiseException()
    assert info.value is f.value
    names = [entry.name for entry in info.traceback]
    assert "inner" in names


def test_get_traceback_and_clean_failure():
    def inner():
        raise ValueError("deep")

    try:
        inner()
    except ValueError:
        f = Failure()
    text = f.getTraceback()
    assert text.startswith("Traceback (most recent call last):")
    assert "in inner" in text and text.rstrip().endswith("ValueError: deep")
    f.cleanFailure()
    assert f.tb is None and f.value.__traceback__ is None
    assert f.getTraceback() == text
    f.cleanFailure()  # idempotent


def test_get_traceback_without_frames():
    f = Failure(ValueError("boom"))
    assert f.getTraceback() == ("Traceback (failure with no frames): <class 'ValueError'>: boom\n")


def test_print_traceback():
    out = io.StringIO()
    _raised(KeyError("k")).printTraceback(file=out)
    assert "KeyError: 'k'" in out.getvalue()


def test_str_and_repr():
    f = Failure(ValueError("boom"))
    assert str(f) == "[Failure instance: Traceback: <class 'ValueError'>: boom]"
    assert repr(f) == "<reactorsock.failure.Failure builtins.ValueError: boom>"
    g = _raised(ValueError("boom"))
    assert str(g).startswith("[Failure instance: Traceback: <class 'ValueError'>: boom\n")
    assert ":_raised]" in str(g)
