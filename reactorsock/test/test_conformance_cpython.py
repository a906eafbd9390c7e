"""CPython's own ``test_socket`` and ``test_select``, on the stdlib and on compat.

Two child processes run the interpreter's ``test.test_socket`` and
``test.test_select`` at the same time through
``reactorsock.test._cpython_conformance``: one plain, one after
``reactorsock.compat.install()``.  Every test that passes on the stdlib must
pass on compat too, unless ``docs/compat.md`` lists it (or its class) in its
section "CPython test suite: allowed failures", as a line
``- `test.test_socket.Class.test_name`: reason``.  That is Jython's
test plan (CPython's test_socket/test_select run against the new module),
kept.

Both suites run whole, except ``ThreadedVSOCKSocketStreamTest``: where the
kernel has ``AF_VSOCK`` but no vsock transport (containers), its client's
``connect`` never returns and the stdlib run hangs as well.  Each test has
a per-test timeout (``SIGALRM``), each child an overall one; a test that did
not finish counts as not passed.  The counts of both runs are printed
(``pytest -s``) and are in the failure message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

import pytest

from reactorsock.test import _cpython_conformance as conf

__all__: list[str] = []

TARGETS = ["test.test_socket", "test.test_select"]
EXCLUDE = ["test.test_socket.ThreadedVSOCKSocketStreamTest"]
PER_TEST_TIMEOUT = 8.0  # the slowest stdlib test_socket test takes about 3 s
RUN_TIMEOUT = 180.0  # both runs together take about 60 s
COMPAT_MD = Path(__file__).resolve().parents[2] / "docs" / "compat.md"


def _start(out: Path, compat: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "reactorsock.test._cpython_conformance", "--out", str(out)]
    args += ["--per-test-timeout", str(PER_TEST_TIMEOUT)]
    args += [f"--exclude={x}" for x in EXCLUDE]
    args += ["--compat"] if compat else []
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [*args, *TARGETS],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=out.parent,
    )


def _finish(proc: subprocess.Popen, deadline: float) -> str:
    """Wait for proc until deadline; kill it past that.  Returns the output's tail."""
    try:
        output, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        output += b"\n[killed: past the run timeout]"
    return output.decode(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run the suites plain and on compat, in parallel: ``{"plain": ..., "compat": ...}``."""
    tmp = tmp_path_factory.mktemp("cpython")
    outs = {"plain": tmp / "plain.jsonl", "compat": tmp / "compat.jsonl"}
    started = time.monotonic()
    procs = {name: _start(out, name == "compat") for name, out in outs.items()}
    deadline = started + RUN_TIMEOUT
    tails = {name: _finish(proc, deadline) for name, proc in procs.items()}
    elapsed = time.monotonic() - started
    results = {}
    for name, out in outs.items():
        results[name] = conf.read_results(str(out)) if out.exists() else {}
        results[name + "_tail"] = tails[name]
        print(f"\n[{name}] {conf.counts(results[name])}")
        for target in TARGETS:
            part = {k: v for k, v in results[name].items() if k.startswith(target + ".")}
            print(f"[{name}] {target}: {conf.counts(part)}")
    print(f"[both runs] {elapsed:.1f} s")
    return results


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_stdlib_run_is_complete(runs):
    """The plain run ran both suites to the end: the comparison has a baseline.

    Tests the stdlib fails here (the host's kernel or network) are printed,
    not failed on: the comparison ignores them.
    """
    plain = runs["plain"]
    c = conf.counts(plain)
    assert c["passed"] > 500, f"plain run too small: {c}\n{runs['plain_tail']}"
    for target in TARGETS:
        assert any(k.startswith(target + ".") for k in plain), f"{target} did not run"
    assert "[killed" not in runs["plain_tail"], runs["plain_tail"]
    broken = sorted(k for k, v in plain.items() if v["outcome"] in ("failed", "error"))
    if broken:
        print(f"[plain] failing on the stdlib here, not compared: {broken}")


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_no_regressions_on_compat(runs):
    """Every test passing on the stdlib passes on compat, or docs/compat.md lists it."""
    plain, compat = runs["plain"], runs["compat"]
    allowed = conf.parse_allowed(COMPAT_MD.read_text(encoding="utf-8"))
    regressions, tolerated = conf.compare(plain, compat, allowed)
    stale = sorted(k for k in allowed if compat.get(k, {}).get("outcome") == "passed")
    if tolerated or stale:
        print(f"[compat] allowed by docs/compat.md: {tolerated}; listed but passing: {stale}")
    details = "\n".join(
        f"  {k}: {compat.get(k, {}).get('outcome', 'did not run')}"
        f" -- {compat.get(k, {}).get('detail', '').strip().splitlines()[-1:]}"
        for k in regressions
    )
    assert not regressions, (
        f"{len(regressions)} tests pass on the stdlib but not on reactorsock.compat\n"
        f"plain: {conf.counts(plain)}\ncompat: {conf.counts(compat)}\n{details}\n"
        f"compat run output tail:\n{runs['compat_tail'][-1500:]}"
    )


# -- the runner itself: it must be able to fail --------------------------------


class _Sample(unittest.TestCase):
    __test__ = False  # for unittest inside the runner, not for pytest

    def test_pass(self):
        pass

    def test_fail(self):
        self.fail("no")

    def test_error(self):
        raise RuntimeError("boom")

    @unittest.skip("because")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_xfail(self):
        self.fail("expected")

    def test_subtest(self):
        for i in range(2):
            with self.subTest(i=i):
                self.assertEqual(i, 0)

    def test_hang(self):
        time.sleep(5)


def test_recording_result_records_every_outcome(tmp_path):
    """Each unittest outcome becomes one JSON line; a hung test ends as an error."""
    out = tmp_path / "r.jsonl"
    with out.open("w") as f:
        conf.run([f"{__name__}._Sample"], f, compat=False, per_test_timeout=0.5)
    results = conf.read_results(str(out))
    outcomes = {k.rsplit(".", 1)[1]: v["outcome"] for k, v in results.items()}
    assert outcomes == {
        "test_pass": "passed",
        "test_fail": "failed",
        "test_error": "error",
        "test_skip": "skipped",
        "test_xfail": "xfail",
        "test_subtest": "failed",
        "test_hang": "error",
    }
    assert "TestTimeout" in results[f"{__name__}._Sample.test_hang"]["detail"]


def test_exclude_drops_a_class_or_a_test(tmp_path):
    out = tmp_path / "r.jsonl"
    with out.open("w") as f:
        conf.run(
            [f"{__name__}._Sample"],
            f,
            compat=False,
            per_test_timeout=0,
            exclude=[f"{__name__}._Sample.test_hang", f"{__name__}._Sample.test_fai"],
        )
    names = {k.rsplit(".", 1)[1] for k in conf.read_results(str(out))}
    assert "test_hang" not in names
    assert "test_fail" in names  # a prefix of a name is not an id


def test_compare_flags_regressions_and_honours_allowed():
    def line(outcome):
        return {"outcome": outcome}

    plain = {
        "test.m.A.t1": line("passed"),
        "test.m.A.t2": line("passed"),
        "test.m.B.t3": line("passed"),
        "test.m.B.t4": line("skipped"),
        "test.m.C.t5": line("passed"),
    }
    compat = {
        "test.m.A.t1": line("passed"),
        "test.m.A.t2": line("failed"),
        "test.m.B.t3": line("error"),
        "test.m.B.t4": line("failed"),
    }
    allowed = conf.parse_allowed(
        "## Differences\n\n- `test.m.A.t1`: not in the section\n\n"
        f"{conf.ALLOWED_HEADING}\n\n- `test.m.B`: the whole class\n"
        "text `test.m.A.t2` not a list item\n\n## Next\n\n- `test.m.C.t5`: after it\n"
    )
    assert allowed == {"test.m.B": "- `test.m.B`: the whole class"}
    regressions, tolerated = conf.compare(plain, compat, allowed)
    assert regressions == ["test.m.A.t2", "test.m.C.t5"]  # C.t5 never ran on compat
    assert tolerated == ["test.m.B.t3"]


def test_parse_allowed_reads_the_real_compat_md():
    """docs/compat.md parses; each entry names a CPython test and a listed difference.

    An entry's reason starts with the label of a line of the page's
    "Differences" section (the text before its first ": ").
    """
    text = COMPAT_MD.read_text(encoding="utf-8")
    allowed = conf.parse_allowed(text)
    assert allowed
    assert all(k.startswith("test.test_") for k in allowed), allowed
    differences = text.split("\n## Differences\n", 1)[1].split("\n## ", 1)[0]
    labels = [line[2:].split(": ", 1)[0] for line in differences.splitlines() if line[:2] == "- "]
    for test_id, line in allowed.items():
        reason = line.split("`: ", 1)[1]
        assert any(reason.startswith(label + ": ") for label in labels), (test_id, reason)
