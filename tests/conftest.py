"""Shared fixtures: stack configs for 1, 2 and 6 clusters, and a cache of program runs.

A run of the whole program under mocks is deterministic, so one run per config serves every test
that only reads it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

import pytest

from tests.harness import Run, cached_run

OPERATOR_CIDR = "203.0.113.0/24"


def mesh_config(count: int, **extra) -> dict:
    """`count` clusters alternating between two regions, the way a user would write them."""
    regions = ["us-east-1", "us-west-2"]
    clusters = [{"name": f"c{i}", "region": regions[i % 2]} for i in range(count)]
    return {"clusters": clusters, "apiAccessCidrs": [OPERATOR_CIDR], **extra}


# Reference models, shared by the URN snapshot and the lifecycle tests (one program run each).
PRIMARY_REMOTE = {
    "clusters": [
        {"name": "p", "region": "us-east-1", "network": "n1"},
        {"name": "r", "region": "us-west-2", "network": "n2", "role": "remote", "primary": "p"},
    ],
    "apiAccessCidrs": [OPERATOR_CIDR],
    "deploySamples": True,
}
MIXED = {
    "clusters": [
        {"name": "p1", "region": "us-east-1", "network": "n1"},
        {"name": "r1", "region": "us-east-1", "network": "n1", "role": "remote", "primary": "p1"},
        {"name": "p2", "region": "us-west-2", "network": "n2"},
    ],
    "apiAccessCidrs": [OPERATOR_CIDR],
}


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


@contextmanager
def loopback_server(handler):
    """An HTTP server on 127.0.0.1 with `handler`, for as long as the block runs; yields its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
