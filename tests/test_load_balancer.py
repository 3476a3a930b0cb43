"""The AWS Load Balancer Controller and what it exposes: its IAM role (only its service account
assumes it) and policy (scoped to its own cluster), the east-west NLBs it makes for the gateways,
open only to mesh peers, and nothing open to the internet unless the config says so."""

from __future__ import annotations

import json

from tests.harness import Run, cached_run
from tests.helpers import OPERATOR_CIDR, mesh_config, without_ha
from tests.impact import REPLACED, UPDATED, change_impact, of_kind

RELEASE = "kubernetes:helm.sh/v3:Release"
HUB = {"hub": "docker.io/istio"}


def gateway_release(run: Run, cluster: str):
    return run.one(RELEASE, f"{cluster}-istio-eastwest")


def nat_cidrs(run: Run) -> list[str]:
    return sorted(f"{e.outputs['publicIp']}/32" for e in run.of_type("aws:ec2/eip:Eip"))


def test_east_west_gateway_is_an_nlb_open_only_to_mesh_peers(mesh_run):
    peers = nat_cidrs(mesh_run)
    for i in range(len(mesh_run.of_type("eks:index:Cluster"))):
        values = without_ha(gateway_release(mesh_run, f"c{i}").inputs["values"])
        assert values == {
            "global": HUB,
            "labels": {"topology.istio.io/network": f"network-c{i}"},
            "env": {"ISTIO_META_REQUESTED_NETWORK_VIEW": f"network-c{i}"},
            "service": {
                "type": "LoadBalancer",
                "annotations": {
                    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                    "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
                    # Every target group checks Envoy's readiness, which a Ready pod always passes.
                    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "15021",
                    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "http",
                    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": "/healthz/ready",
                    # The deregistration the pods' preStop covers (tests/test_chart_render.py, drains).
                    "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": (
                        "deregistration_delay.timeout_seconds=120,deregistration_delay.connection_termination.enabled=true"
                    ),
                },
                "loadBalancerSourceRanges": peers,
                # Multi-primary: cross-network mTLS only, no istiod, no webhook, no status listener.
                "ports": [{"name": "tls", "port": 15443, "targetPort": 15443, "protocol": "TCP"}],
            },
            "terminationGracePeriodSeconds": 150,
            "lifecycle": {"preStop": {"sleep": {"seconds": 135}}},
        }
        gateway = mesh_run.one("kubernetes:networking.istio.io/v1:Gateway", f"c{i}-istio-cross-network-gateway").inputs
        assert gateway["metadata"] == {"name": "cross-network-gateway", "namespace": "istio-system"}
        assert gateway["spec"] == {
            "selector": {"istio": "eastwestgateway"},
            "servers": [
                {
                    "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                    "tls": {"mode": "AUTO_PASSTHROUGH"},
                    "hosts": ["*.local"],
                }
            ],
        }


def test_nothing_is_open_to_the_internet_unless_configured(mesh_run):
    for cluster in mesh_run.of_type("eks:index:Cluster"):
        assert "0.0.0.0/0" not in cluster.inputs["publicAccessCidrs"]
    for r in mesh_run.of_type(RELEASE):
        assert "0.0.0.0/0" not in json.dumps(r.inputs.get("values", {}))

    opened = cached_run(mesh_config(2, eastWestAllowedCidrs=["0.0.0.0/0"]))
    assert opened.error is None
    assert gateway_release(opened, "c0").inputs["values"]["service"]["loadBalancerSourceRanges"] == ["0.0.0.0/0"]
    assert OPERATOR_CIDR in opened.one("eks:index:Cluster", "c0-eks").inputs["publicAccessCidrs"]


def test_controller_runs_with_a_role_only_its_service_account_can_assume(two_cluster_run):
    run = two_cluster_run
    eks = run.one("eks:index:Cluster", "c0-eks")
    role = run.one("aws:iam/role:Role", "c0-lb-controller-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Federated": eks.outputs["oidcProviderArn"]}
    issuer = eks.outputs["oidcProviderUrl"].removeprefix("https://")
    assert trust["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:kube-system:aws-load-balancer-controller",
        f"{issuer}:aud": "sts.amazonaws.com",
    }
    values = run.one(RELEASE, "c0-lb-controller-release").inputs["values"]
    assert values["serviceAccount"] == {
        "create": True,
        "name": "aws-load-balancer-controller",
        "annotations": {"eks.amazonaws.com/role-arn": role.outputs["arn"]},
    }
    assert (values["clusterName"], values["region"]) == ("c0-dev", "us-east-1")
    assert values["vpcId"] == run.one("aws:ec2/vpc:Vpc", "c0-network-vpc").id
    policy = json.loads(run.one("aws:iam/policy:Policy", "c0-lb-controller-policy").inputs["policy"])

    def conditions_of(action: str) -> list:
        return [st.get("Condition") for st in policy["Statement"] if action in st["Action"]]

    own = {"StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "c0-dev"}}
    # Only what this cluster's controller tagged can be changed or deleted, never a peer's.
    for action in (
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteTargetGroup",
        "ec2:DeleteSecurityGroup",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:DeleteListener",
    ):
        assert conditions_of(action) == [own], action
    assert conditions_of("elasticloadbalancing:CreateLoadBalancer") == [
        {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": "c0-dev"}}
    ]
    vpc_arn = run.one("aws:ec2/vpc:Vpc", "c0-network-vpc").outputs["arn"]
    assert conditions_of("ec2:AuthorizeSecurityGroupIngress") == [{"ArnEquals": {"ec2:Vpc": vpc_arn}}]
    assert all(not a.endswith(":*") for st in policy["Statement"] for a in st["Action"])
    other = run.one("aws:iam/policy:Policy", "c1-lb-controller-policy").inputs["policy"]
    assert "c0-dev" not in other and "c1-dev" in other


def test_controller_makes_no_shield_or_waf_calls(mesh_run):
    releases = [
        r
        for r in mesh_run.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["chart"] == "aws-load-balancer-controller"
    ]
    assert len(releases) == len(mesh_run.of_type("eks:index:Cluster"))
    for release in releases:
        values = release.inputs["values"]
        # Booleans: the chart passes the flags only `if kindIs "bool"` (v3.5.0 templates/deployment.yaml).
        assert values["enableShield"] is False and values["enableWaf"] is False and values["enableWafv2"] is False


def test_the_stacks_tags_reach_what_the_controller_creates():
    # The AWS provider's default tags reach only what Pulumi creates; the NLBs, target groups,
    # listeners and security groups come from the controller, which adds its `--default-tags`.
    run = cached_run({**mesh_config(2), "aws:defaultTags": {"tags": {"team": "platform", "costCenter": 1234}}})
    assert run.error is None, run.error
    for c in ("c0", "c1"):
        release = run.one(RELEASE, f"{c}-lb-controller-release")
        provider = run.one("pulumi:providers:aws", f"aws-{'us-east-1' if c == 'c0' else 'us-west-2'}")
        assert release.inputs["values"]["defaultTags"] == json.loads(provider.inputs["defaultTags"])["tags"]
        assert release.inputs["values"]["defaultTags"] == {
            "team": "platform",
            "costCenter": "1234",
            "istio-eks-mesh/mesh": "mesh1",
            "istio-eks-mesh/stack": "dev",
        }
    # Tags added to a deployed stack: the providers and the controllers' releases update in place.
    impact = change_impact(cached_run(mesh_config(2)), run)
    assert of_kind(impact, REPLACED) == set()
    assert {(RELEASE, "c0-lb-controller-release"), (RELEASE, "c1-lb-controller-release")} <= of_kind(impact, UPDATED)
