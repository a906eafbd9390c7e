"""Run CPython's own socket/select tests, plain or on the compat modules.

``python -m reactorsock.test._cpython_conformance [--compat] [--per-test-timeout S]
[--exclude ID]... --out FILE TARGET...`` runs the unittest TARGETs (``test.test_socket`` or
``test.test_socket.GeneralModuleTests``) from the interpreter's ``test``
package and writes one JSON line per test to FILE: ``{"id": ..., "outcome":
...}`` with outcome ``passed``, ``failed``, ``error``, ``skipped``,
``xfail`` or ``xpass``.  With ``--compat`` it calls
``reactorsock.compat.install()`` first, so ``import socket`` in the tests
gets ``reactorsock.compat.socket``.

Lines are flushed as tests end, so a run killed by its parent's timeout
still reports what it did.  A test running longer than the per-test timeout
is interrupted by ``SIGALRM`` and recorded as ``error`` (``timeout``): one
stuck test does not cost the rest of the run.

Also: ``parse_allowed(text)``, the test ids that ``docs/compat.md`` allows to
fail on compat, and ``compare(plain, compat, allowed)``.  Used by
``test_conformance_cpython.py``; this module is not a test module itself.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
import unittest
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = [
    "OUTCOMES",
    "ALLOWED_HEADING",
    "RecordingResult",
    "TestTimeout",
    "parse_allowed",
    "compare",
    "counts",
    "read_results",
    "main",
]

OUTCOMES = ("passed", "failed", "error", "skipped", "xfail", "xpass")

#: The docs/compat.md section that lists the allowed failures.
ALLOWED_HEADING = "## CPython test suite: allowed failures"
# "- `test.test_socket.GeneralModuleTests.test_xxx`: reason" in that section.
_ALLOWED_LINE = re.compile(r"^\s*[-*]\s+`(test\.[\w.]+)`")
_HEADING = re.compile(r"^#+\s")


class TestTimeout(Exception):
    """A test ran past the per-test timeout."""


def _alarm(signum: int, frame: Any) -> None:
    raise TestTimeout("test ran past the per-test timeout")


class RecordingResult(unittest.TestResult):
    """A ``TestResult`` that writes each test's outcome as a JSON line.

    With a per-test timeout it arms ``SIGALRM`` around each test (set-up
    and tear-down included).
    """

    def __init__(self, out: TextIO, per_test_timeout: float = 0) -> None:
        super().__init__()
        self._out = out
        self._timeout = per_test_timeout
        self._outcome: dict[str, tuple[str, str]] = {}
        self._started = time.monotonic()

    def _start_test(self, test: unittest.TestCase) -> None:
        """Arm the per-test alarm."""
        super().startTest(test)
        self._started = time.monotonic()
        if self._timeout:
            signal.setitimer(signal.ITIMER_REAL, self._timeout)

    def _stop_test(self, test: unittest.TestCase) -> None:
        """Disarm the alarm and write the test's outcome line."""
        if self._timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
        super().stopTest(test)
        outcome, detail = self._outcome.pop(test.id(), ("passed", ""))
        seconds = round(time.monotonic() - self._started, 3)
        line = {"id": test.id(), "outcome": outcome, "seconds": seconds, "detail": detail[-2000:]}
        self._out.write(json.dumps(line) + "\n")
        self._out.flush()

    def _record(self, test: Any, outcome: str, detail: str = "") -> None:
        # Only the first bad outcome counts: an error in tearDown after a
        # failure keeps "failed".
        key = test.id()
        if key not in self._outcome or self._outcome[key][0] == "passed":
            self._outcome[key] = (outcome, detail)

    def _add_error(self, test: Any, err: Any) -> None:
        """Record an error (a ``TestTimeout`` among them)."""
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self._record(test, "error", self._exc_info_to_string(err, test))
        else:  # setUpClass/setUpModule failure: a _ErrorHolder, reported once
            self._write_holder(test, "error", self._exc_info_to_string(err, test))

    def _add_failure(self, test: Any, err: Any) -> None:
        """Record a failure."""
        super().addFailure(test, err)
        self._record(test, "failed", self._exc_info_to_string(err, test))

    def _add_skip(self, test: Any, reason: str) -> None:
        """Record a skip."""
        super().addSkip(test, reason)
        if isinstance(test, unittest.TestCase):
            self._record(test, "skipped", reason)
        else:  # a class skipped in setUpClass
            self._write_holder(test, "skipped", reason)

    def _add_expected_failure(self, test: Any, err: Any) -> None:
        """Record an expected failure."""
        super().addExpectedFailure(test, err)
        self._record(test, "xfail")

    def _add_unexpected_success(self, test: Any) -> None:
        """Record an unexpected success."""
        super().addUnexpectedSuccess(test)
        self._record(test, "xpass")

    def _add_sub_test(self, test: Any, subtest: Any, err: Any) -> None:
        """Record a failing subtest as its test's outcome."""
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "failed" if issubclass(err[0], test.failureException) else "error"
            self._record(test, kind, self._exc_info_to_string(err, test))

    def _write_holder(self, holder: Any, outcome: str, detail: str) -> None:
        line = {"id": holder.id(), "outcome": outcome, "detail": detail[-2000:]}
        self._out.write(json.dumps(line) + "\n")
        self._out.flush()

    # unittest's hook names are API (STYLE.md section 2: the caller decides the
    # spelling); bound to snake_case defs, since test_naming keeps camelCase defs
    # to Twisted's names.
    startTest = _start_test  # noqa: N815
    stopTest = _stop_test  # noqa: N815
    addError = _add_error  # noqa: N815
    addFailure = _add_failure  # noqa: N815
    addSkip = _add_skip  # noqa: N815
    addExpectedFailure = _add_expected_failure  # noqa: N815
    addUnexpectedSuccess = _add_unexpected_success  # noqa: N815
    addSubTest = _add_sub_test  # noqa: N815


def _without(suite: unittest.TestSuite, exclude: Sequence[str]) -> unittest.TestSuite:
    """Return suite minus the tests whose id is, or starts with, an id in exclude + "."."""
    kept = unittest.TestSuite()
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            kept.addTest(_without(item, exclude))
        elif not any(item.id() == x or item.id().startswith(x + ".") for x in exclude):
            kept.addTest(item)
    return kept


def run(
    targets: list[str],
    out: TextIO,
    *,
    compat: bool,
    per_test_timeout: float,
    exclude: Sequence[str] = (),
) -> None:
    """Import and run the unittest targets but exclude, writing outcome lines to out."""
    if compat:
        from reactorsock.compat import install

        install()  # before the tests import socket
    suite = unittest.defaultTestLoader.loadTestsFromNames(targets)
    if exclude:
        suite = _without(suite, exclude)
    previous = signal.signal(signal.SIGALRM, _alarm) if per_test_timeout else None
    try:
        suite.run(RecordingResult(out, per_test_timeout))
    finally:
        if previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def parse_allowed(text: str) -> dict[str, str]:
    """Return ``{test id: reason}`` for the allowed failures listed in docs/compat.md.

    Entries are the list items of the section ``ALLOWED_HEADING`` whose
    text starts with a back-quoted CPython test id:
    ``- `test.test_socket.GeneralModuleTests.test_xxx`: reason``; items
    elsewhere on the page do not count.  A class id
    (``test.test_socket.SomeTests``) allows every test in it.
    """
    allowed = {}
    in_section = False
    for line in text.splitlines():
        if _HEADING.match(line):
            in_section = line.strip() == ALLOWED_HEADING
            continue
        m = _ALLOWED_LINE.match(line) if in_section else None
        if m:
            allowed[m.group(1)] = line.strip()
    return allowed


def _is_allowed(test_id: str, allowed: dict[str, str]) -> bool:
    parts = test_id.split(".")
    return any(".".join(parts[:n]) in allowed for n in range(2, len(parts) + 1))


def read_results(path: str) -> dict[str, dict[str, str]]:
    """Read the JSON lines a run wrote: ``{test id: line}``."""
    results = {}
    with open(path, encoding="utf-8") as f:
        for text in f:
            if text.strip():
                line = json.loads(text)
                results[line["id"]] = line
    return results


def counts(results: dict[str, dict[str, str]]) -> dict[str, int]:
    """Return the number of tests per outcome (every outcome present, 0 included)."""
    c = Counter(line["outcome"] for line in results.values())
    return {outcome: c.get(outcome, 0) for outcome in OUTCOMES}


def compare(
    plain: dict[str, dict[str, str]],
    compat: dict[str, dict[str, str]],
    allowed: dict[str, str],
) -> tuple[list[str], list[str]]:
    """Return (regressions, allowed_regressions): tests passing plain but not on compat.

    A test that passed on the stdlib and failed, erred, was skipped or did
    not run at all on compat is a regression unless ``allowed`` lists it or
    its class.
    """
    regressions, tolerated = [], []
    for test_id, line in sorted(plain.items()):
        if line["outcome"] != "passed":
            continue
        if compat.get(test_id, {}).get("outcome") == "passed":
            continue
        (tolerated if _is_allowed(test_id, allowed) else regressions).append(test_id)
    return regressions, tolerated


def main(argv: list[str] | None = None) -> int:
    """Command line: run targets and write outcome lines to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m reactorsock.test._cpython_conformance")
    parser.add_argument("targets", nargs="+", help="unittest names, e.g. test.test_socket")
    parser.add_argument("--out", required=True, help="file for the JSON outcome lines")
    parser.add_argument("--compat", action="store_true", help="install reactorsock.compat first")
    parser.add_argument("--per-test-timeout", type=float, default=30.0, metavar="S")
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="ID", help="test or class id to skip"
    )
    args = parser.parse_args(argv)
    with open(args.out, "w", encoding="utf-8") as out:
        run(
            args.targets,
            out,
            compat=args.compat,
            per_test_timeout=args.per_test_timeout,
            exclude=args.exclude,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
