"""Stack configs per environment: every committed `Pulumi.<stack>.yaml` builds and has the shape it
promises, and two environments share an AWS account without colliding."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml

from components.model.spec import PROJECT
from tests.harness import ROOT, Registered, Run, cached_run
from tests.helpers import mesh_config

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
# The documentation ranges (RFC 5737), and for a private mesh (whose operators must come from
# private space) the benchmarking range (RFC 2544): placeholders that pass validation and reach no one.
DOCUMENTATION = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15")
]


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def stack_run(path: Path, as_stack: str | None = None) -> Run:
    stack = yaml.safe_load(path.read_text())["config"]
    prefix = f"{PROJECT}:"
    config = {k[len(prefix) :]: v for k, v in stack.items() if k.startswith(prefix)}
    run = cached_run(config, stack=as_stack or stack_name(path), aws_region=stack.get("aws:region"))
    assert run.error is None, f"{path.name}: {run.error}"
    return run


def shape(run: Run) -> dict:
    vpcs = run.of_type("aws:ec2/vpc:Vpc")
    clusters = [c.name for c in run.of_type("istio-eks-mesh:cluster:EksCluster")]

    def count(type_: str, cluster: str, part: str) -> int:
        return len([r for r in run.of_type(type_) if r.name.startswith(f"{cluster}-network-{part}")])

    # Per VPC: one NAT gateway per zone (a private subnet each), or one.
    nat_per_zone = [
        count("aws:ec2/natGateway:NatGateway", c, "nat-") == count("aws:ec2/subnet:Subnet", c, "private-")
        for c in clusters
    ]
    # Who reaches the control planes: the public endpoints' list, or in private mode the rules on
    # the cluster security groups (less the mesh's own range).
    api = {cidr for c in run.of_type("eks:index:Cluster") for cidr in c.inputs.get("publicAccessCidrs", [])}
    ranges = [ipaddress.ip_network(v.inputs["cidrBlock"]) for v in vpcs]
    rules = {
        r.inputs["cidrIpv4"]
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if "-api-from-" in r.name
    }
    api |= {cidr for cidr in rules if not all(v.subnet_of(ipaddress.ip_network(cidr)) for v in ranges)}
    nat_ips = {f"{e.outputs['publicIp']}/32" for e in run.of_type("aws:ec2/eip:Eip") if "-nat-" in e.name}
    return {
        "clusters": len(run.of_type("eks:index:Cluster")),
        "regions": len(run.of_type("pulumi:providers:aws")),
        "nat per zone": all(nat_per_zone),
        "single nat": not any(nat_per_zone),
        "samples": bool(run.of_type("istio-eks-mesh:samples:SampleWorkloads")),
        "operator cidrs": api - nat_ips,
        "vpc cidrs": ranges,
    }


# What each committed environment promises (the README's Environments section).
PROMISES = {
    "dev": lambda s: s["clusters"] == 2 and s["regions"] == 2 and s["single nat"] and s["samples"],
    "staging": lambda s: s["clusters"] >= 2 and s["regions"] >= 2 and s["nat per zone"] and s["samples"],
    "prod": lambda s: s["clusters"] >= 3 and s["regions"] >= 2 and s["nat per zone"] and not s["samples"],
}


def test_the_three_environments_are_committed():
    assert {"dev", "staging", "prod"} <= {stack_name(p) for p in STACK_FILES}


@pytest.mark.parametrize("path", STACK_FILES, ids=stack_name)
def test_every_stack_config_builds_with_the_shape_it_promises(path):
    run = stack_run(path)
    found = shape(run)
    vpcs = found["vpc cidrs"]
    assert all(not a.overlaps(b) for i, a in enumerate(vpcs) for b in vpcs[i + 1 :])
    promise = PROMISES.get(stack_name(path))
    if promise is not None:
        assert promise(found), f"{path.name} does not have the shape it promises: {found}"


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_production_shaped_stacks_are_locked_down_with_marked_placeholders(name):
    path = ROOT / f"Pulumi.{name}.yaml"
    run = stack_run(path)
    operators = shape(run)["operator cidrs"]
    # Only the operators' placeholders and the mesh's NAT addresses reach the API endpoints.
    assert operators and "0.0.0.0/0" not in operators
    # Until replaced, the placeholders are marked and come from the documentation ranges.
    if "REPLACE" in path.read_text():
        assert all(any(ipaddress.ip_network(c).subnet_of(d) for d in DOCUMENTATION) for c in operators)
    # Explicit VPC ranges, pinned versions, and EXTENDED: nothing depends on this program's defaults,
    # and EKS never upgrades a control plane ahead of its nodes and add-ons on its own schedule.
    config = yaml.safe_load(path.read_text())["config"]
    assert all(
        "vpcCidr" in c and "kubernetesVersion" in c and c.get("supportType") == "EXTENDED"
        for c in config[f"{PROJECT}:clusters"]
    )
    # Local-first routing with failover, on every primary (a mesh-wide DestinationRule each).
    rules = [
        r
        for r in run.resources
        if r.type == "kubernetes:networking.istio.io/v1:DestinationRule"
        and r.inputs["metadata"]["namespace"] == "istio-system"
    ]
    assert len(rules) == shape(run)["clusters"] and all(
        "outlierDetection" in r.inputs["spec"]["trafficPolicy"] for r in rules
    )
    # The team's admins on every cluster, as access entries.
    admins = config[f"{PROJECT}:clusterAdmins"]
    entries = {
        (e.inputs["principalArn"], e.inputs["clusterName"]) for e in run.of_type("aws:eks/accessEntry:AccessEntry")
    }
    clusters = {c.inputs["name"] for c in run.of_type("eks:index:Cluster")}
    assert {(a, c) for a in admins for c in clusters} <= entries
    assert not [w for w in run.warnings if "0.0.0.0/0" in w]
    # Production keeps its networks and clusters from being replaced or deleted by mistake.
    protected = {r.type for r in run.resources if r.protect}
    assert (name == "prod") == (
        protected == {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "eks:index:Cluster", "eks:index:ManagedNodeGroup"}
    )


def physical_names(run: Run) -> dict[str, set[str]]:
    """What must be unique in one account and region: explicit AWS names, the names the load
    balancer controller derives its load balancers and ownership tags from, and the cluster tags
    on subnets. Auto-named resources get a random suffix from Pulumi and cannot collide."""
    found: dict[str, set[str]] = {
        "names": set(),
        "controller clusters": set(),
        "cluster tags": set(),
        "Name tags": set(),
    }
    for r in run.resources:
        if r.type.startswith(("aws:", "eks:")) and isinstance(r.inputs.get("name"), str):
            found["names"].add(f"{r.type}:{r.inputs['name']}")
        for key, value in (r.inputs.get("tags") or {}).items():
            if key.startswith("kubernetes.io/cluster/"):
                found["cluster tags"].add(key)
            if key == "Name":
                found["Name tags"].add(value)
        if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["chart"] == "aws-load-balancer-controller":
            found["controller clusters"].add(r.inputs["values"]["clusterName"])
    return found


def controller_policies(run: Run) -> list[Registered]:
    return run.of_type("aws:iam/policy:Policy")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("staging", None), ("prod", None)),
        # One config deployed twice, as two stacks (e.g. a team copies staging for a test).
        (("staging", None), ("staging", "staging2")),
    ],
)
def test_two_environments_in_one_account_do_not_collide(first, second):
    a = stack_run(ROOT / f"Pulumi.{first[0]}.yaml", first[1])
    b = stack_run(ROOT / f"Pulumi.{second[0]}.yaml", second[1])
    # Same cluster names, same account: nothing physical is shared.
    assert {c.name for c in a.of_type("eks:index:Cluster")} & {c.name for c in b.of_type("eks:index:Cluster")}
    names_a, names_b = physical_names(a), physical_names(b)
    for kind in names_a:
        assert names_a[kind] and not names_a[kind] & names_b[kind], kind
    # Each controller may change only load balancers tagged with its own cluster.
    for run, own, other in ((a, names_a, names_b), (b, names_b, names_a)):
        for policy in controller_policies(run):
            statements = json.loads(policy.inputs["policy"])["Statement"]
            for action in (
                "CreateListener",
                "RegisterTargets",
                "DeregisterTargets",
                "DeleteLoadBalancer",
                "DeleteTargetGroup",
            ):
                conditions = [
                    st.get("Condition") for st in statements if f"elasticloadbalancing:{action}" in st["Action"]
                ]
                owners = [
                    c["StringEquals"]["aws:ResourceTag/elbv2.k8s.aws/cluster"]
                    for c in conditions
                    if c and "StringEquals" in c
                ]
                assert conditions and len(owners) == len(conditions) and set(owners) <= own["controller clusters"], (
                    action
                )
            document = json.dumps(json.loads(policy.inputs["policy"]))
            assert not any(f'"{name}"' in document for name in other["controller clusters"])
            assert any(f'"{name}"' in document for name in own["controller clusters"])


def test_a_stack_name_that_aws_names_cannot_carry_is_warned_about():
    run = cached_run(mesh_config(1), stack="Staging_2")
    assert run.error is None, run.error
    assert [w for w in run.warnings if "'staging-2'" in w and "must not share this AWS account" in w]
    assert not [w for w in stack_run(ROOT / "Pulumi.staging.yaml").warnings if "must not share" in w]


def test_eks_guard_rails_are_on_outside_dev_and_production_keeps_audit_logs():
    prod = {c.name: c.inputs for c in stack_run(ROOT / "Pulumi.prod.yaml").of_type("eks:index:Cluster")}
    assert prod and all(c["deletionProtection"] is True for c in prod.values())
    assert all({"audit", "authenticator"} <= set(c["enabledClusterLogTypes"]) for c in prod.values())
    dev = stack_run(ROOT / "Pulumi.dev.yaml").of_type("eks:index:Cluster")
    assert dev and all(c.inputs["deletionProtection"] is False for c in dev)
    assert all("enabledClusterLogTypes" not in c.inputs for c in dev)
