"""Meta-test for STYLE.md's naming rule: camelCase only for Twisted's API names.

Every camelCase ``def`` and class-level attribute in the package must be a
name listed in pyproject.toml's ``extend-ignore-names`` (the Twisted names
reactorsock keeps as API); everything else is snake_case.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import tomllib
from pathlib import Path

import reactorsock

PACKAGE = Path(reactorsock.__file__).parent
CAMEL = re.compile(r"^_*[a-z]+[a-z0-9]*[A-Z]\w*$")


def _allowed() -> list[str]:
    pyproject = PACKAGE.parent / "pyproject.toml"
    config = tomllib.loads(pyproject.read_text())
    return config["tool"]["ruff"]["lint"]["pep8-naming"]["extend-ignore-names"]


def _camel_defs():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = node.name
                if CAMEL.match(name):
                    yield path.relative_to(PACKAGE.parent), node.lineno, name


def test_every_camelcase_def_is_a_listed_twisted_name():
    allowed = _allowed()
    stray = [
        f"{path}:{line}: {name}"
        for path, line, name in _camel_defs()
        if not any(fnmatch.fnmatchcase(name.lstrip("_"), pat) for pat in allowed)
    ]
    assert not stray, "camelCase names not in extend-ignore-names:\n" + "\n".join(stray)


def test_the_check_can_fail():
    """The pattern really matches camelCase and leaves snake_case alone."""
    assert CAMEL.match("dataReceived") and CAMEL.match("_doRead")
    assert not CAMEL.match("data_received") and not CAMEL.match("IProtocol")
