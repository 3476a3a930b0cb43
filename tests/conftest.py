"""Shared fixtures: program runs of 2 and 6 clusters, and the fake Kubernetes API server.

A run of the whole program under mocks is deterministic, so one run per config serves every test
that only reads it. Plain helpers (configs, fakes) live in tests/helpers.py.
"""

from __future__ import annotations

import gc

import pytest

import tests.fake_clock  # noqa: F401 first: with MESH_FAKE_TODAY set, every later import sees that day
from components.config import clock
from tests.harness import Run, cached_run
from tests.helpers import NOW, FakeApiServer, loopback_server, mesh_config

# No test depends on the day it runs: the program's one clock reads the suite's pinned moment. A
# test about dates passes its own (`parse_mesh_spec(now=...)`, `support_warnings(..., today)`).
clock.now = lambda: NOW

# A program run allocates some hundred thousand short-lived objects (outputs, futures, tasks), and
# the cached runs keep many alive: with CPython's default thresholds the collector walks them over
# and over, a third of the suite's time. Collect less often; the memory is there.
gc.set_threshold(100_000, 50, 100)


@pytest.fixture(params=[2, 6], ids=lambda n: f"{n}-clusters")
def mesh_run(request) -> Run:
    run = cached_run(mesh_config(request.param))
    assert run.error is None, run.error
    return run


@pytest.fixture
def two_cluster_run() -> Run:
    run = cached_run(mesh_config(2))
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="module")
def api_server():
    """A `FakeApiServer` on loopback for the module's tests; yields its URL."""
    with loopback_server(FakeApiServer) as url:
        yield url
