"""The harness's lean SDK functions (tests/harness.py) against the SDK's own: the same program
gives the same graph, the same stack outputs and the same failure either way; what no run shows (the
URN the SDK computes and drops, the pending outputs) is compared directly."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc

import pytest
from pulumi.output import Output, Unknown, _OutputData
from pulumi.runtime import rpc, settings
from pulumi.runtime.sync_await import _sync_await

from tests import harness
from tests.harness import Run, resolve, run_program
from tests.helpers import MIXED, PRIMARY_REMOTE, mocks_with


@contextlib.contextmanager
def stock_sdk():
    """Within, runs use the SDK's own functions; yields the resources its `transfer_properties` was called for."""
    calls = []
    transfer = harness.STOCK_SDK[rpc, "transfer_properties"]

    def stock_transfer(*args):
        calls.append(args[0]._name)
        return transfer(*args)

    harness.use_sdk({**harness.STOCK_SDK, (rpc, "transfer_properties"): stock_transfer})
    try:
        yield calls
    finally:
        harness.use_sdk(harness.LEAN_SDK)


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
def test_the_lean_sdk_functions_give_what_the_sdks_own_give(case):
    kwargs = CASES[case]
    lean = run_program(**kwargs)
    with stock_sdk() as calls:
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


def pending_outputs_seen(functions: dict) -> list[list[bool]]:
    """Whether the SDK's set of pending outputs, which the end of a program awaits and reports the
    failures of, holds an Output that will succeed and one that will fail: while pending, then done."""
    harness.use_sdk(functions)
    try:
        loop = asyncio.get_event_loop()
        succeeding, failing = loop.create_future(), loop.create_future()
        outputs = [Output._from_data(succeeding), Output._from_data(failing)]
        seen = [[o._data in settings.SETTINGS.outputs for o in outputs]]
        succeeding.set_result(_OutputData(resources=set(), value="v", is_known=True, is_secret=False))
        failing.set_exception(ValueError("failed"))
        loop.run_until_complete(asyncio.sleep(0))  # the done callbacks
        seen.append([o._data in settings.SETTINGS.outputs for o in outputs])
    finally:
        harness.use_sdk(harness.LEAN_SDK)
        settings.SETTINGS.outputs.discard(failing)
        failing.exception()
    return seen


def test_lean_outputs_stay_pending_as_the_sdks_own_do():
    expected = [[True, True], [False, True]]  # a failed output stays, for the program's end to report
    assert pending_outputs_seen(harness.STOCK_SDK) == expected
    assert pending_outputs_seen(harness.LEAN_SDK) == expected


URN_CASES = {
    "top level": (("vpc", "aws:ec2/vpc:Vpc", None, None, None), "urn:pulumi:<stack>::<project>::aws:ec2/vpc:Vpc::vpc"),
    "another project and stack": (
        ("vpc", "aws:ec2/vpc:Vpc", None, "other", "prod"),
        "urn:pulumi:prod::other::aws:ec2/vpc:Vpc::vpc",
    ),
    "a child": (
        ("east-eks", "eks:index:Cluster", "urn:pulumi:dev::istio-eks-mesh::mesh:Cluster::east", None, None),
        "urn:pulumi:dev::istio-eks-mesh::mesh:Cluster$eks:index:Cluster::east-eks",
    ),
}


@pytest.mark.parametrize("case", URN_CASES)
def test_lean_urns_are_the_sdks_own(case):
    """A registration's URN is computed but, with a monitor, dropped: no run shows it, so compare here."""
    args, urn = URN_CASES[case]
    # Unset, the project and stack are the settings' (those of the worker's last run, or the SDK's default).
    urn = urn.replace("<stack>", settings.get_stack()).replace("<project>", settings.get_project())
    stock, lean = harness.STOCK_SDK[harness.sdk_resource, "create_urn"](*args), harness.lean_create_urn(*args)
    assert resolve(stock) == resolve(lean) == (urn, False)
    assert _sync_await(lean.resources()) == _sync_await(stock.resources()) == set()
