"""Shared fixtures: the ``reactor`` fixture runs a test on every backend."""

from __future__ import annotations

import pytest

from reactorsock.reactor import new_reactor
from reactorsock.selector import BACKENDS as _NAMES
from reactorsock.selector import available

BACKENDS = [
    pytest.param(n, marks=pytest.mark.skipif(not available(n), reason=f"no {n} here"))
    for n in _NAMES
]


@pytest.fixture(params=BACKENDS)
def reactor(request):
    """A fresh reactor on each backend: select, poll and epoll.

    A test marked ``@requires(IFoo)`` is skipped on a backend whose reactor
    does not provide IFoo.  The test must leave no reader or writer behind.
    """
    r = new_reactor(request.param)
    for iface in getattr(request.node.get_closest_marker("requires"), "args", ()):
        if not iface.providedBy(r):
            pytest.skip(f"{request.param} lacks {iface.__name__}")
    yield r
    leaked = r.removeAll()
    r._stop_thread_pool()
    r.close()
    assert not leaked, f"test leaked readers/writers: {leaked}"
