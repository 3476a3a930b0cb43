"""The URN snapshot: the contract with every deployed stack.

A URN (type, name, the types of all parents) is how Pulumi matches the program to the resources a
stack already has. A URN that disappears is deleted on the next `pulumi up`, one that appears is
created: a refactor that renames a VPC or an EKS cluster replaces it. So the URNs of a few
reference configs are committed under `tests/urns/`, and any difference fails here unless the
moved resource carries an alias to its old URN (`components/migrations.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
import pytest

from components import migrations
from tests.harness import Run, cached_run, run_program
from tests.helpers import MIXED, PRIMARY_REMOTE, mesh_config

SNAPSHOTS = Path(__file__).parent / "urns"
UPDATE = "UPDATE_URN_SNAPSHOT"

REFERENCE_CONFIGS = {
    "two-regions": mesh_config(2),
    "six-clusters": mesh_config(6),
    "primary-remote-two-networks": PRIMARY_REMOTE,
    "mixed": MIXED,
}


def _key(urn: str) -> str:
    # Drop "urn:pulumi:<stack>::<project>::": what is left is the type chain and the name.
    return urn.split("::", 2)[2]


def urn_differences(snapshot: set[str], run: Run) -> tuple[list[str], list[str]]:
    """(URNs of the snapshot a deployed stack would lose, URNs it would gain), with aliases
    counted as the old URN they keep."""
    current = {_key(r.urn) for r in run.resources}
    kept_by_alias = {_key(a) for r in run.resources for a in r.alias_urns} & snapshot
    aliased_now = {_key(r.urn) for r in run.resources if {_key(a) for a in r.alias_urns} & snapshot}
    lost = sorted(snapshot - current - kept_by_alias)
    gained = sorted(current - snapshot - aliased_now)
    return lost, gained


def _explain(name: str, lost: list[str], gained: list[str]) -> str:
    lines = [
        f"The resource URNs of reference config {name!r} differ from tests/urns/{name}.txt.",
        "On a deployed stack a lost URN is deleted and a gained one created: a rename replaces the resource.",
        *(f"  - lost:   {u}" for u in lost),
        *(f"  + gained: {u}" for u in gained),
        "A rename: add its old name to components/migrations.py (the test then passes).",
        f"Resources added or removed on purpose: `{UPDATE}=1 ./scripts/test.sh tests/test_urn_snapshot.py`,",
        "and say in the commit what a deployed stack will create or delete.",
    ]
    return "\n".join(lines)


@pytest.mark.parametrize("name", sorted(REFERENCE_CONFIGS))
def test_urns_match_the_snapshot(name):
    run = cached_run(REFERENCE_CONFIGS[name])
    assert run.error is None, run.error
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get(UPDATE):
        path.write_text("".join(f"{u}\n" for u in sorted(_key(r.urn) for r in run.resources)))
    snapshot = set(path.read_text().splitlines())
    lost, gained = urn_differences(snapshot, run)
    assert not lost and not gained, _explain(name, lost, gained)


def test_a_rename_fails_the_snapshot_unless_aliased(monkeypatch):
    config = mesh_config(1)
    run = cached_run(config)
    vpc = next(r for r in run.resources if r.name == "c0-network-vpc")
    # The snapshot of a stack deployed when the VPC was still called "c0-vpc".
    old = _key(vpc.urn).replace("::c0-network-vpc", "::c0-vpc")
    snapshot = {_key(r.urn) for r in run.resources} - {_key(vpc.urn)} | {old}
    assert urn_differences(snapshot, run) == ([old], [_key(vpc.urn)])

    monkeypatch.setitem(migrations.RENAMED, ("aws:ec2/vpc:Vpc", "c0-network-vpc"), [pulumi.Alias(name="c0-vpc")])
    aliased = run_program(config)
    assert aliased.error is None, aliased.error
    assert urn_differences(snapshot, aliased) == ([], [])


def test_the_gateway_children_keep_the_urns_they_had_under_the_control_plane():
    run = cached_run(REFERENCE_CONFIGS["primary-remote-two-networks"])
    aliases = {_key(a) for r in run.resources for a in r.alias_urns}
    # As a stack deployed before the gateway was a component of its own holds them.
    before = "istio-eks-mesh:mesh:IstioMesh$istio-eks-mesh:istio:IstioControlPlane$"
    assert {
        before + "kubernetes:helm.sh/v3:Release::p-istio-eastwest",
        before + "kubernetes:helm.sh/v3:Release::r-istio-eastwest",
        before + "kubernetes:networking.istio.io/v1:Gateway::p-istio-cross-network-gateway",
        before + "kubernetes:networking.istio.io/v1:Gateway::p-istio-istiod-gateway",
        before + "kubernetes:networking.istio.io/v1:VirtualService::p-istio-istiod-vs",
    } <= aliases
