"""vpc-cni on its own IAM role through EKS Pod Identity (`vpcCniRole`): on new clusters, and moved
on deployed ones in two steps that replace nothing."""

from __future__ import annotations

import json

import pytest

from components.config.cni_identity import vpc_cni_warnings
from components.config.parse import parse_mesh_spec
from components.config.stack import last_deployment_from_outputs
from components.config.validate import ConfigError
from tests.harness import Run, cached_run, resolve, run_program
from tests.helpers import mesh_config, mocks_with, recorded
from tests.impact import UNCHANGED, change_impact

ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"
AGENT = "eks-pod-identity-agent"


def ok(run: Run) -> Run:
    assert run.error is None, run.error
    return run


def on(last: dict, **cluster_fields) -> Run:
    config = mesh_config(2)
    config["clusters"][0] = {**config["clusters"][0], **cluster_fields}
    return ok(run_program(config, mock_factory=mocks_with(last_outputs=last)))


def changes(before: Run, after: Run) -> dict:
    return {k: what for k, what in change_impact(before, after).items() if what != UNCHANGED}


def test_a_new_cluster_gives_vpc_cni_its_own_role_and_the_nodes_none_of_its_rights():
    run = ok(cached_run(mesh_config(2)))
    role = run.one(ROLE, "c0-vpc-cni-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ]
    cni_policies = [
        a for a in run.of_type(ATTACHMENT) if str(a.inputs.get("policyArn")).endswith("/AmazonEKS_CNI_Policy")
    ]
    assert {a.name for a in cni_policies} == {"c0-vpc-cni-policy", "c1-vpc-cni-policy"}
    association = run.one(ASSOCIATION, "c0-vpc-cni-association")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("kube-system", "aws-node")
    assert association.inputs["clusterName"] == run.one("eks:index:Cluster", "c0-eks").inputs["name"]
    assert run.depends_on(association, role) and run.depends_on(association, cni_policies[0])
    # Each aws-node pod is given the role when its node joins: the nodes come after.
    nodes = run.one("eks:index:ManagedNodeGroup", "c0-nodes")
    assert run.depends_on(nodes, association) and run.depends_on(nodes, run.one(ADDON, "c0-vpc-cni-agent"))
    # The agent's version is recorded with the other add-ons': the next run keeps all as they are.
    agent = run.one(ADDON, "c0-vpc-cni-agent").inputs
    assert agent["addonName"] == AGENT
    assert resolve(run.exports["addonVersions"])[0]["c0"][AGENT] == agent["addonVersion"]
    assert changes(run, on(recorded(run))) == {}
    assert vpc_cni_warnings(parse_mesh_spec(mesh_config(2), default_region="us-east-1", stack="dev").clusters) == []


def test_a_deployed_cluster_keeps_the_node_role_then_moves_in_two_steps_replacing_nothing():
    legacy = recorded(cached_run(mesh_config(2)))
    for versions in legacy["addonVersions"].values():
        del versions[AGENT]
    before = on(legacy)
    assert not before.of_type(ASSOCIATION) and not before.of_type("istio-eks-mesh:cni:VpcCniIdentity")
    assert before.one(ATTACHMENT, "c0-node-AmazonEKS_CNI_Policy")
    spec = parse_mesh_spec(
        mesh_config(2), default_region="us-east-1", stack="dev", last=last_deployment_from_outputs(legacy)
    )
    [first, _] = vpc_cni_warnings(spec.clusters)
    assert "`clusters[0].vpcCniRole: both`" in first and "rollout restart daemonset aws-node" in first
    # Step 1: the role beside the node role's policy; only new resources.
    both = on(legacy, vpcCniRole="both")
    step1 = changes(before, both)
    assert set(step1.values()) == {"created"}
    assert {name for _, name in step1} == {
        "c0-vpc-cni-role",
        "c0-vpc-cni-policy",
        "c0-vpc-cni-agent",
        "c0-vpc-cni-association",
    }
    # Step 3 (after restarting aws-node): the node role's policy goes, nothing else moves.
    after = on(recorded(both), vpcCniRole="podIdentity")
    assert changes(both, after) == {(ATTACHMENT, "c0-node-AmazonEKS_CNI_Policy"): "deleted"}
    # Unset from then on is podIdentity (the agent is recorded): nothing changes.
    assert changes(after, on(recorded(after))) == {}


def problems_of(cluster: dict, last: dict | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec(
            {"clusters": [{"name": "c0", "region": "us-east-1", **cluster}]},
            default_region="us-east-1",
            stack="dev",
            last=last_deployment_from_outputs(last or {}),
        )
    return dict(caught.value.problems)


@pytest.mark.parametrize("value", ["irsa", "PodIdentity", 1, True, ["both"], {"role": "both"}])
def test_bad_vpc_cni_roles_are_refused_with_their_key(value):
    assert "clusters[0].vpcCniRole" in problems_of({"vpcCniRole": value})


def test_back_to_the_node_role_is_refused_once_vpc_cni_has_its_own():
    last = recorded(cached_run(mesh_config(2)))
    problem = problems_of({"vpcCniRole": "nodeRole"}, last)["clusters[0].vpcCniRole"]
    assert "Set both" in problem
