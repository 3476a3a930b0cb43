"""The harness's lean output resolver (tests/harness.py) against the SDK's own: the same program
gives the same graph, the same stack outputs and the same failure either way."""

from __future__ import annotations

import contextlib
import dataclasses
import gc

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from tests import harness
from tests.harness import Run, resolve, run_program
from tests.helpers import MIXED, PRIMARY_REMOTE, mocks_with


@contextlib.contextmanager
def sdk_resolver():
    """Within, runs use the SDK's own `transfer_properties`; yields the resources it was called for."""
    calls = []

    def stock(*args):
        calls.append(args[0]._name)
        return harness.STOCK_TRANSFER_PROPERTIES(*args)

    rpc.transfer_properties = stock
    try:
        yield calls
    finally:
        rpc.transfer_properties = harness.lean_transfer_properties


def canonical(value):
    """`value` with unknowns as one marker and dependency lists (sets, in the SDK) in order."""
    if isinstance(value, Unknown):
        return "<unknown>"
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def captured(run: Run) -> dict:
    exports = {name: canonical(resolve(value)) for name, value in run.exports.items()} if run.error is None else {}
    return {
        # By URN: the order of registrations follows the event loop, not the graph.
        "resources": {
            r.urn: {
                **canonical(dataclasses.asdict(r)),
                "dependencies": sorted(r.dependencies),
                "property_dependencies": {k: sorted(v) for k, v in r.property_dependencies.items()},
            }
            for r in run.resources
        },
        "exports": exports,
        "error": repr(run.error),
        "warnings": run.warnings,
        "invokes": sorted(map(repr, run.invokes)),
    }


# A preview of a deployed stack on which the remote's VPC, node role, reader token and gateway are
# about to be made: their IDs and outputs are unknown, and so is all that is made of them.
PREVIEW_CREATING = {"r-network-vpc", "r-node-role", "r-reader-token-secret", "r-istio-eastwest"}


CASES = {
    "update": {"config": MIXED},
    "preview": {"config": PRIMARY_REMOTE, "preview_creating": PREVIEW_CREATING},
    # The east-west gateway's Service has no NLB: the program fails in an apply of a read's outputs.
    "failure": {"config": PRIMARY_REMOTE, "mock_factory": mocks_with(unaddressed=frozenset({"p"}))},
}


@pytest.mark.parametrize("case", CASES)
def test_the_lean_resolver_gives_what_the_sdks_own_gives(case):
    kwargs = CASES[case]
    lean = run_program(**kwargs)
    with sdk_resolver() as calls:
        stock = run_program(**kwargs)
    assert len(calls) >= len(stock.resources), "the SDK's resolver did not run"
    assert (lean.error is None) == (case != "failure"), lean.error
    expected = captured(stock)
    # A failed run leaves the SDK's never-awaited futures (known, secret) holding the error; collected
    # here, asyncio's report of them stays in this test's captured log.
    del stock
    gc.collect()
    assert captured(lean) == expected
    if case == "preview":
        assert "<unknown>" in repr(expected["resources"]), "the preview made nothing unknown"
