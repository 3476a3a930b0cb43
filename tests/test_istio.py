"""Istio per cluster: Helm values with the charts' real keys, the dependency order (and what
`pulumi destroy` does with it). The load balancer controller and its NLBs: test_load_balancer.py."""

from __future__ import annotations

import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from tests.harness import Run, cached_run
from tests.helpers import mesh_config
from tests.impact import change_impact

RELEASE = "kubernetes:helm.sh/v3:Release"
# Istio's chart repository after December 2026 (istio.io blog "An update on our move to AWS").
ISTIO_REPO = "https://blob.istio.io/istio-release/charts"
HUB = {"hub": "docker.io/istio"}


def release(run: Run, cluster: str, role: str):
    return run.one(RELEASE, f"{cluster}-istio-{role}")


def test_releases_pin_the_official_charts_with_fixed_names(mesh_run):
    for i in range(len(mesh_run.of_type("eks:index:Cluster"))):
        for role, chart, name in (
            ("base", "base", "istio-base"),
            ("istiod", "istiod", "istiod"),
            ("eastwest", "gateway", "istio-eastwestgateway"),
        ):
            r = release(mesh_run, f"c{i}", role).inputs
            assert (r["chart"], r["name"], r["namespace"], r["version"]) == (chart, name, "istio-system", "1.31.1")
            assert r["repositoryOpts"] == {"repo": ISTIO_REPO}
            assert r["values"]["global"]["hub"] == "docker.io/istio"
        lbc = mesh_run.one(RELEASE, f"c{i}-lb-controller-release").inputs
        assert (lbc["chart"], lbc["name"], lbc["namespace"]) == (
            "aws-load-balancer-controller",
            "aws-load-balancer-controller",
            "kube-system",
        )
        assert lbc["repositoryOpts"] == {"repo": "https://aws.github.io/eks-charts"} and lbc["version"]


def test_istiod_values_name_mesh_cluster_and_network_with_the_charts_keys(mesh_run):
    for i in range(len(mesh_run.of_type("eks:index:Cluster"))):
        values = release(mesh_run, f"c{i}", "istiod").inputs["values"]
        assert values["global"] == {
            "meshID": "mesh1",
            "multiCluster": {"clusterName": f"c{i}"},
            "network": f"network-c{i}",
            **HUB,
        }
        assert set(values["podAnnotations"]) == {"istio-eks-mesh/ca-checksum"}
        assert release(mesh_run, f"c{i}", "base").inputs["values"] == {"global": HUB}


def test_a_new_intermediate_rolls_istiod_and_nothing_else_does(two_cluster_run):
    def checksum(run: Run, cluster: str) -> str:
        return release(run, cluster, "istiod").inputs["values"]["podAnnotations"]["istio-eks-mesh/ca-checksum"]

    # Each cluster has its own intermediate, so its own checksum.
    assert checksum(two_cluster_run, "c0") != checksum(two_cluster_run, "c1")
    # A change that leaves the CA alone leaves istiod alone (no restart).
    unrelated = change_impact(two_cluster_run, cached_run(mesh_config(2, eastWestAllowedCidrs=["198.51.100.0/24"])))
    assert unrelated[(RELEASE, "c0-istio-istiod")] == unrelated[(RELEASE, "c1-istio-istiod")] == "unchanged"
    assert unrelated[(RELEASE, "c0-istio-eastwest")] == "updated"
    # A new intermediate changes the checksum: istiod is upgraded in place and rolls.
    reissued = cached_run(mesh_config(2, pki={"intermediateValidityDays": 365}))
    impact = change_impact(two_cluster_run, reissued)
    for c in ("c0", "c1"):
        assert impact[(RELEASE, f"{c}-istio-istiod")] == "updated"
        assert checksum(reissued, c) != checksum(two_cluster_run, c)


@pytest.mark.parametrize("count", [2, 6])
def test_creation_order_is_in_the_graph(count):
    run = cached_run(mesh_config(count))
    assert run.error is None
    for i in range(count):
        c = f"c{i}"
        nodes = run.one("eks:index:ManagedNodeGroup", f"{c}-nodes")
        base, istiod, eastwest = (release(run, c, r) for r in ("base", "istiod", "eastwest"))
        controller = run.one(RELEASE, f"{c}-lb-controller-release")
        cacerts = run.one("kubernetes:core/v1:Secret", f"{c}-istio-cacerts")
        gateway_cr = run.one("kubernetes:networking.istio.io/v1:Gateway", f"{c}-istio-cross-network-gateway")
        for helm in (base, istiod, eastwest, controller):
            assert run.depends_on(helm, nodes), helm.name
        assert run.depends_on(istiod, cacerts) and run.depends_on(istiod, base)
        assert run.depends_on(eastwest, istiod)
        assert run.depends_on(eastwest, controller)
        assert run.depends_on(gateway_cr, base)
        # Each cluster's Istio talks to its own API server only.
        own = run.one("pulumi:providers:kubernetes", f"{c}-k8s").urn
        for r in (base, istiod, eastwest, controller, cacerts, gateway_cr):
            assert r.provider_urn == own


@pytest.mark.parametrize("count", [2, 6])
def test_destroy_removes_the_gateway_before_the_controller_nodes_and_vpc(count):
    run = cached_run(mesh_config(count))
    order = run.destroy_order()
    for i in range(count):
        c = f"c{i}"
        chain = {
            "gateway": release(run, c, "eastwest"),
            "controller": run.one(RELEASE, f"{c}-lb-controller-release"),
            "controller-role": run.one(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{c}-lb-controller-policy"
            ),
            "nodes": run.one("eks:index:ManagedNodeGroup", f"{c}-nodes"),
            "nat-route": run.one("aws:ec2/route:Route", f"{c}-network-private-default-0"),
            "vpc": run.one("aws:ec2/vpc:Vpc", f"{c}-network-vpc"),
        }
        # Pulumi guarantees an order only along edges of the graph: each step must be one.
        for later, earlier in (
            ("gateway", "controller"),
            ("controller", "nodes"),
            ("nodes", "nat-route"),
            ("nat-route", "vpc"),
            ("controller", "controller-role"),
        ):
            assert run.depends_on(chain[later], chain[earlier]), (later, earlier)
        position = {name: order.index(r.urn) for name, r in chain.items()}
        assert (
            position["gateway"] < position["controller"] < position["nodes"] < position["nat-route"] < position["vpc"]
        )
        # The controller keeps its AWS permissions until it is gone.
        assert position["controller"] < position["controller-role"]


def test_extra_values_merge_over_ours():
    run = cached_run(
        mesh_config(
            1,
            istioValues={
                "istiod": {"global": {"logAsJson": True}, "autoscaleMin": 2},
                "gateway": {"service": {"annotations": {"example.com/team": "mesh"}}},
            },
        )
    )
    assert run.error is None
    istiod = release(run, "c0", "istiod").inputs["values"]
    assert istiod["global"] == {
        "meshID": "mesh1",
        "multiCluster": {"clusterName": "c0"},
        "network": "network-c0",
        "logAsJson": True,
        **HUB,
    }
    assert istiod["autoscaleMin"] == 2
    annotations = release(run, "c0", "eastwest").inputs["values"]["service"]["annotations"]
    assert annotations["example.com/team"] == "mesh"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"


def test_extra_values_from_an_encrypted_key_stay_secret():
    from tests.harness import run_program

    run = run_program(
        mesh_config(1, istioValues={"istiod": {"meshConfig": {"accessLogFile": "/dev/stdout"}}}),
        secret_keys=["istioValues"],
    )
    assert run.error is None
    for role in ("base", "istiod", "eastwest"):
        assert release(run, "c0", role).is_secret("values")
    assert not cached_run(mesh_config(1)).one(RELEASE, "c0-istio-istiod").is_secret("values")


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        ({"istioValues": ["istiod"]}, "istioValues", "must be an object"),
        ({"istioValues": {"istiod": "pilot.env=x"}}, "istioValues.istiod", "must be an object"),
        ({"istioValues": {"pilot": {}}}, "istioValues.pilot", "known fields"),
        ({"eastWestAllowedCidrs": "0.0.0.0/0"}, "eastWestAllowedCidrs", "must be a list"),
        ({"eastWestAllowedCidrs": ["10.0.0.0/33"]}, "eastWestAllowedCidrs[0]", "not an IPv4 CIDR"),
        ({"eastWestAllowedCidrs": []}, "eastWestAllowedCidrs", "is empty"),
        ({"istioVersion": "1.30"}, "istioVersion", "MAJOR.MINOR.PATCH"),
        ({"eastWestAllowedCidrs": [f"198.51.100.{i}/32" for i in range(61)]}, "eastWestAllowedCidrs", "60"),
    ],
)
def test_bad_istio_settings_name_the_key(extra, key, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec({"clusters": [{"name": "a"}], **extra}, default_region="us-east-1", stack="dev")
    assert fragment in dict(caught.value.problems)[key]
