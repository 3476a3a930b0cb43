"""Mesh-wide traffic defaults (`trafficPolicy`): the parsed config, the istiod mesh config and the
DestinationRules per primary, the samples' subsets, turning each option off, and what the change
does to a deployed stack."""

from __future__ import annotations

import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.istio.traffic import sample_rule_spec
from tests.harness import Run, cached_run, resolve
from tests.helpers import PRIMARY_REMOTE, mesh_config
from tests.impact import CREATED, REPLACED, UNCHANGED, UPDATED, change_impact
from verify.cli import targets_from_outputs

RELEASE = "kubernetes:helm.sh/v3:Release"
RULE = "kubernetes:networking.istio.io/v1:DestinationRule"
OFF = {"dnsProxy": False, "localityLoadBalancing": False}


def problems_of(traffic, regions=("us-east-1", "us-west-2")) -> dict[str, str]:
    raw = {"clusters": [{"name": f"c{i}", "region": r} for i, r in enumerate(regions)], "trafficPolicy": traffic}
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec(raw, default_region="us-east-1", stack="dev")
    return dict(caught.value.problems)


def mesh_config_of(run: Run, cluster: str) -> dict | None:
    """The traffic part of an istiod's mesh config (without the cluster-local istiod settings,
    tests/test_topologies.py)."""
    mesh = run.one(RELEASE, f"{cluster}-istio-istiod").inputs["values"].get("meshConfig")
    return {k: v for k, v in mesh.items() if k != "serviceSettings"} if mesh is not None else None


def rules(run: Run) -> dict[str, dict]:
    return {r.name: r for r in run.of_type(RULE)}


def test_defaults_are_dns_proxy_and_locality_failover_without_an_order():
    spec = parse_mesh_spec({"clusters": [{"name": "a"}]}, default_region="us-east-1", stack="dev")
    assert (spec.traffic.dns_proxy, spec.traffic.locality_load_balancing, spec.traffic.failover) == (True, True, ())


@pytest.mark.parametrize(
    ("traffic", "path", "words"),
    [
        ("on", "trafficPolicy", "must be an object"),
        ({"dnsproxy": True}, "trafficPolicy.dnsproxy", "did you mean `dnsProxy`"),
        ({"dnsProxy": "true"}, "trafficPolicy.dnsProxy", "true or false"),
        ({"localityLoadBalancing": 1}, "trafficPolicy.localityLoadBalancing", "true or false"),
        ({"failover": {"from": "us-east-1", "to": "us-west-2"}}, "trafficPolicy.failover", "must be a list"),
        ({"failover": ["us-east-1"]}, "trafficPolicy.failover[0]", "must be an object"),
        (
            {"failover": [{"from": "us-east-1"}]},
            "trafficPolicy.failover[0].to",
            "is required; one of the mesh's regions: us-east-1, us-west-2",
        ),
        (
            {"failover": [{"from": "us-east-1", "to": "eu-west-1"}]},
            "trafficPolicy.failover[0].to",
            '"eu-west-1" is not the region of any cluster',
        ),
        (
            {"failover": [{"from": "us-east-1\n", "to": "us-west-2"}]},
            "trafficPolicy.failover[0].from",
            "not the region of any cluster",
        ),
        (
            {"failover": [{"from": "us-east-1/us-east-1a", "to": "us-west-2"}]},
            "trafficPolicy.failover[0].from",
            "not the region",
        ),
        ({"failover": [{"from": 1, "to": "us-west-2"}]}, "trafficPolicy.failover[0].from", "must be a string"),
        ({"failover": [{"from": "us-east-1", "to": "us-east-1"}]}, "trafficPolicy.failover[0]", "over to itself"),
        (
            {"failover": [{"from": "us-east-1", "to": "us-west-2", "weight": 1}]},
            "trafficPolicy.failover[0].weight",
            "unknown field",
        ),
        (
            {"failover": [{"from": "us-east-1", "to": "us-west-2"}, {"from": "us-east-1", "to": "us-west-2"}]},
            "trafficPolicy.failover[1].from",
            "already fails over in failover[0]",
        ),
        # Valid alone, not together: failover is a step of locality load balancing.
        (
            {"localityLoadBalancing": False, "failover": [{"from": "us-east-1", "to": "us-west-2"}]},
            "trafficPolicy.failover",
            "no effect",
        ),
    ],
)
def test_bad_traffic_policies_name_the_key_and_the_fix(traffic, path, words):
    problems = problems_of(traffic)
    assert path in problems, problems
    assert words in problems[path]


def test_every_problem_is_reported_at_once():
    problems = problems_of({"dnsProxy": None, "failover": [{"from": "mars", "to": "us-west-2"}, {"to": 3}]})
    assert set(problems) == {
        "trafficPolicy.dnsProxy",
        "trafficPolicy.failover[0].from",
        "trafficPolicy.failover[1].from",
        "trafficPolicy.failover[1].to",
    }


def test_default_mesh_config_on_every_primary_and_only_there():
    run = cached_run(PRIMARY_REMOTE)
    assert run.error is None, run.error
    mesh = mesh_config_of(run, "p")
    # DNS capture is a proxy default; locality LB keeps Istio's default setting (enabled, no order).
    assert mesh == {"defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}}
    # Not the deprecated agent-side allocator, and no istiod env: auto-allocation v2 is on by default.
    values = run.one(RELEASE, "p-istio-istiod").inputs["values"]
    assert "ISTIO_META_DNS_AUTO_ALLOCATE" not in str(values) and "PILOT_ENABLE_IP_AUTOALLOCATE" not in str(values)
    # The remote's local injector puts the proxy defaults into its pods; the primary's istiod
    # does their load balancing, so nothing else belongs there.
    assert mesh_config_of(run, "r") == {"defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}}
    assert set(rules(run)) == {"p-traffic-locality-failover", "p-samples-helloworld-rule"}


def envoy_outlier_detection(outlier: dict) -> dict:
    """What Envoy enforces for an Istio `outlierDetection`, as istiod translates it
    (pilot/pkg/networking/core/cluster_traffic_policy.go@1.31.1, applyOutlierDetection) over Envoy's
    defaults (envoy/config/cluster/v3/outlier_detection.proto: consecutive_5xx 5, enforced at 100 %;
    gateway failures counted but not enforced)."""
    envoy = {
        "consecutive_5xx": 5,
        "enforcing_consecutive_5xx": 100,
        "consecutive_gateway_failure": 5,
        "enforcing_consecutive_gateway_failure": 0,
    }
    if "consecutiveGatewayErrors" in outlier:
        errors = outlier["consecutiveGatewayErrors"]
        envoy.update(consecutive_gateway_failure=errors, enforcing_consecutive_gateway_failure=100 if errors > 0 else 0)
    if "consecutive5xxErrors" in outlier:
        errors = outlier["consecutive5xxErrors"]
        envoy.update(consecutive_5xx=errors, enforcing_consecutive_5xx=100 if errors > 0 else 0)
    return envoy


def test_the_outlier_model_keeps_envoys_5xx_default_when_istio_is_not_told():
    # The defect of the first mesh-wide rule: gateway errors alone leave any five 500s ejecting.
    assert envoy_outlier_detection({"consecutiveGatewayErrors": 5})["enforcing_consecutive_5xx"] == 100


def test_the_mesh_wide_rule_is_the_root_namespace_default_for_every_host(mesh_run):
    clusters = [c.name for c in mesh_run.of_type("eks:index:Cluster")]
    found = rules(mesh_run)
    assert len(found) == len(clusters)
    for i in range(len(clusters)):
        rule = found[f"c{i}-traffic-locality-failover"]
        assert rule.inputs["metadata"]["namespace"] == "istio-system"
        spec = rule.inputs["spec"]
        assert spec["host"] == "*.local" and spec["exportTo"] == ["*"]
        outlier = spec["trafficPolicy"]["outlierDetection"]
        # A whole locality may be ejected, or a failing zone keeps most of its traffic.
        assert outlier["maxEjectionPercent"] == 100 and outlier["consecutiveGatewayErrors"] >= 1
        # An application's own 500s must not eject endpoints mesh-wide: Envoy enforces only gateway errors.
        envoy = envoy_outlier_detection(outlier)
        assert envoy["enforcing_consecutive_5xx"] == 0
        assert (
            envoy["consecutive_gateway_failure"] == outlier["consecutiveGatewayErrors"]
            and envoy["enforcing_consecutive_gateway_failure"] == 100
        )
        # No TLS settings: Istio's automatic mTLS stays in charge.
        assert "tls" not in spec["trafficPolicy"]
        # In the cluster itself, after istiod (its CRD and validating webhook).
        assert rule.provider_urn == mesh_run.one("pulumi:providers:kubernetes", f"c{i}-k8s").urn
        assert mesh_run.depends_on(rule, mesh_run.one(RELEASE, f"c{i}-istio-istiod"))


def test_an_explicit_failover_order_goes_into_every_primarys_mesh_config():
    order = [{"from": "us-east-1", "to": "us-west-2"}, {"from": "us-west-2", "to": "us-east-1"}]
    run = cached_run(mesh_config(2, trafficPolicy={"failover": order}))
    assert run.error is None, run.error
    for c in ("c0", "c1"):
        # It replaces Istio's default setting as a whole, so `enabled` must be there.
        assert mesh_config_of(run, c)["localityLbSetting"] == {"enabled": True, "failover": order}
        assert mesh_config_of(run, c)["defaultConfig"] == {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}
        assert "outlierDetection" in rules(run)[f"{c}-traffic-locality-failover"].inputs["spec"]["trafficPolicy"]


def test_istio_values_may_not_override_the_traffic_policy():
    for override, key in (
        ({"defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "false"}}}, "trafficPolicy.dnsProxy"),
        ({"localityLbSetting": {"enabled": True, "distribute": []}}, "trafficPolicy.failover"),
        ({"serviceSettings": []}, "cluster-local istiod hosts"),
    ):
        run = cached_run(mesh_config(2, istioValues={"istiod": {"meshConfig": override}}))
        assert isinstance(run.error, ConfigError) and run.resources == []
        assert key in str(run.error), str(run.error)
    # Other proxy defaults stay the user's.
    run = cached_run(
        mesh_config(2, istioValues={"istiod": {"meshConfig": {"defaultConfig": {"proxyMetadata": {"EXAMPLE": "1"}}}}})
    )
    assert run.error is None, run.error
    assert mesh_config_of(run, "c0")["defaultConfig"]["proxyMetadata"] == {
        "ISTIO_META_DNS_CAPTURE": "true",
        "EXAMPLE": "1",
    }


@pytest.mark.parametrize(
    ("traffic", "dns", "rule"),
    [({"dnsProxy": False}, False, True), ({"localityLoadBalancing": False}, True, False), (OFF, False, False)],
)
def test_each_option_turns_off_alone(traffic, dns, rule):
    run = cached_run({**PRIMARY_REMOTE, "trafficPolicy": traffic})
    assert run.error is None, run.error
    mesh = mesh_config_of(run, "p") or {}
    assert ("defaultConfig" in mesh) is dns and "localityLbSetting" not in mesh
    assert ("p-traffic-locality-failover" in rules(run)) is rule
    assert run.of_type("istio-eks-mesh:traffic:MeshTraffic") == (
        [run.one("istio-eks-mesh:traffic:MeshTraffic", "p-traffic")] if rule else []
    )
    sample = rules(run)["p-samples-helloworld-rule"].inputs["spec"]
    # The samples' rule replaces the mesh-wide one for helloworld, so it carries the same policy.
    assert ("trafficPolicy" in sample) is rule
    # `verify` learns from the outputs whether callers stay local.
    targets = targets_from_outputs({"clusters": resolve(run.exports["clusters"])[0]})
    assert [t.local_first for t in targets] == [rule, rule]


def test_samples_rule_has_a_subset_per_cluster_and_network_with_istios_endpoint_labels():
    run = cached_run(PRIMARY_REMOTE)
    rule = rules(run)["p-samples-helloworld-rule"]
    assert rule.inputs["metadata"] == {"name": "helloworld", "namespace": "sample"}
    spec = rule.inputs["spec"]
    assert spec["host"] == "helloworld.sample.svc.cluster.local"
    assert {s["name"]: s["labels"] for s in spec["subsets"]} == {
        "cluster-p": {"topology.istio.io/cluster": "p"},
        "cluster-r": {"topology.istio.io/cluster": "r"},
        "network-n1": {"topology.istio.io/network": "n1"},
        "network-n2": {"topology.istio.io/network": "n2"},
    }
    # Istio reads config from the primary only: a rule in the remote would be dead weight.
    assert not any(r.name.startswith("r-") for r in run.of_type(RULE))
    assert spec["trafficPolicy"] == rules(run)["p-traffic-locality-failover"].inputs["spec"]["trafficPolicy"]


def test_network_names_that_are_not_dns_labels_get_no_subset():
    raw = {
        **PRIMARY_REMOTE,
        "clusters": [{**PRIMARY_REMOTE["clusters"][0], "network": "Net_1"}, PRIMARY_REMOTE["clusters"][1]],
    }
    spec = parse_mesh_spec(raw, default_region="us-east-1", stack="dev")
    names = [s["name"] for s in sample_rule_spec(spec, "helloworld.sample.svc.cluster.local")["subsets"]]
    assert names == ["cluster-p", "cluster-r", "network-n2"]


@pytest.mark.parametrize(
    "config", [mesh_config(2, deploySamples=True), PRIMARY_REMOTE], ids=["multi-primary", "primary-remote"]
)
def test_turning_the_defaults_on_for_a_deployed_stack_updates_istiod_and_replaces_nothing(config):
    # From both options off to the defaults: istiod's values, and the samples' rule gains the policy.
    impact = change_impact(cached_run({**config, "trafficPolicy": OFF}), cached_run(config))
    changed = {key: what for key, what in impact.items() if what != UNCHANGED}
    primaries = [c["name"] for c in config["clusters"] if c.get("role") != "remote"]
    assert REPLACED not in changed.values()
    assert {key for key, what in changed.items() if what == UPDATED} == {
        # Every istiod: a remote's local injector gets the DNS proxy default too.
        *((RELEASE, f"{c['name']}-istio-istiod") for c in config["clusters"]),
        *((RULE, f"{c}-samples-helloworld-rule") for c in primaries),
    }
    assert {key for key, what in changed.items() if what == CREATED} == {
        (RULE, f"{c}-traffic-locality-failover") for c in primaries
    }
