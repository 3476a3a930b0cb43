"""The quota use the plan predicts (components/plan/quotas.py) is what the program registers."""

from __future__ import annotations

import datetime
import json
from collections import Counter

import pytest

from components.config.whole import check_stack_config
from tests.harness import cached_run, resolve
from tests.helpers import RAISED, mesh_config

NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
CONFIGS = {
    "2-clusters": mesh_config(2),
    "6-clusters": mesh_config(6),
    "primary-remote, perAz, static addresses": {
        "clusters": [
            {"name": "hub", "region": "us-east-1", "natGateways": "perAz", "eastWestStaticIps": True},
            {"name": "spoke", "region": "us-west-2", "role": "remote", "primary": "hub"},
            {"name": "edge", "region": "us-east-1", "availabilityZones": 2, "natGateways": "perAz"},
        ],
        "apiAccessCidrs": ["203.0.113.0/24", "198.51.100.0/24"],
        # us-east-1 holds 3 + 3 + 2 Elastic IPs, past AWS's default 5.
        "serviceQuotas": {"elasticIpsPerRegion": 10},
    },
}


def plan_of(config: dict):
    project = {k: v for k, v in config.items() if ":" not in k}
    aws = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("aws:")}
    return check_stack_config(project, {"region": "us-east-1", **aws}, stack="dev", now=NOW).plan


def _values(release) -> dict:
    values = resolve(release.inputs["values"])[0] if not isinstance(release.inputs["values"], dict) else None
    values = values if values is not None else release.inputs["values"]
    return json.loads(values) if isinstance(values, str) else values


@pytest.mark.parametrize("name", CONFIGS)
def test_the_planned_quota_use_is_what_the_program_registers(name):
    config = CONFIGS[name]
    run = cached_run(config)
    assert run.error is None, run.error
    plan = plan_of(config)

    endpoints = {
        r.name.removesuffix("-eks"): len(r.inputs["publicAccessCidrs"]) for r in run.of_type("eks:index:Cluster")
    }
    assert endpoints == plan.endpoint_cidrs

    rules = {}
    for release in run.of_type("kubernetes:helm.sh/v3:Release"):
        if release.name.endswith("-istio-eastwest"):
            service = _values(release)["service"]
            rules[release.name.removesuffix("-istio-eastwest")] = len(service["loadBalancerSourceRanges"]) * len(
                service["ports"]
            )
    assert rules == plan.east_west_rules

    def region(resource) -> str:
        return resource.provider.split("::aws-")[1].rsplit("::", 1)[0]

    def per_region(kind: str) -> dict[str, int]:
        return dict(Counter(region(r) for r in run.of_type(kind)))

    use = plan.quota_use
    assert per_region("aws:ec2/eip:Eip") == {r: u["elasticIpsPerRegion"] for r, u in use.items()}
    assert per_region("aws:ec2/vpc:Vpc") == {r: u["vpcsPerRegion"] for r, u in use.items()}
    assert per_region("aws:ec2/internetGateway:InternetGateway") == {
        r: u["internetGatewaysPerRegion"] for r, u in use.items()
    }
    subnets = {r.id: r for r in run.of_type("aws:ec2/subnet:Subnet")}
    zones = Counter(
        (region(n), subnets[n.inputs["subnetId"]].inputs["availabilityZone"])
        for n in run.of_type("aws:ec2/natGateway:NatGateway")
    )
    busiest = {r: max(count for (where, _), count in zones.items() if where == r) for r in use}
    assert busiest == {r: u["natGatewaysPerAz"] for r, u in use.items()}
    # The subnets `check` prints are the ones built.
    for c in plan.clusters:
        public, private = c.subnets
        assert sorted(s.inputs["cidrBlock"] for s in subnets.values() if s.name.startswith(f"{c.name}-network-")) == (
            sorted([*public, *private])
        )


# The operators' network is attached to the network team's gateway in us-east-1.
PRIVATE = {
    "connectivity": "private",
    "meshCidr": "10.0.0.0/12",
    "operatorCidrs": ["192.168.0.0/24"],
    "transitGateways": {"us-east-1": "tgw-0123456789abcdef0"},
    "transitGatewayRouting": {
        "us-east-1": {
            "operatorAttachment": "tgw-attach-0123456789abcdef0",
            "returnRouteTable": "tgw-rtb-0123456789abcdef0",
        }
    },
    "clusters": [{"name": "a", "region": "us-east-1"}, {"name": "b", "region": "us-west-2"}],
}


@pytest.mark.parametrize(
    "config", [CONFIGS["primary-remote, perAz, static addresses"], PRIVATE], ids=["public", "private"]
)
def test_the_planned_access_is_what_the_program_registers(config):
    # Who reaches which endpoint from where is decided in the plan; the wiring only fills in the NAT
    # addresses once the VPCs exist.
    run = cached_run(config)
    assert run.error is None, run.error
    access = plan_of(config).access
    nats = sorted(
        f"{resolve(e.outputs['publicIp'])[0]}/32" for e in run.of_type("aws:ec2/eip:Eip") if "-nat-" in e.name
    )

    def filled(sources) -> list[str]:
        return [*sources.cidrs, *(nats if sources.nat_addresses else [])]

    for cluster in run.of_type("eks:index:Cluster"):
        if access.public_api is None:
            assert "publicAccessCidrs" not in cluster.inputs
        else:
            assert resolve(cluster.inputs["publicAccessCidrs"])[0] == filled(access.public_api)
    api_rules = sorted(
        r.inputs["cidrIpv4"] for r in run.resources if "-api-from-" in r.name and r.inputs.get("fromPort") == 443
    )
    assert api_rules == sorted(list(access.private_api or ()) * len(run.of_type("eks:index:Cluster")))
    for release in run.of_type("kubernetes:helm.sh/v3:Release"):
        if release.name.endswith("-istio-eastwest"):
            service = _values(release)["service"]
            assert service["loadBalancerSourceRanges"] == filled(access.east_west)
            internal = service.get("annotations", {}).get("service.beta.kubernetes.io/aws-load-balancer-scheme")
            assert (internal == "internal") == access.internal_load_balancers


def _problems(config: dict) -> dict[str, str]:
    from components.config.parse import parse_mesh_spec
    from components.config.validate import ConfigError

    try:
        parse_mesh_spec(config, default_region="us-east-1", stack="dev", now=NOW)
    except ConfigError as err:
        return dict(err.problems)
    return {}


def test_more_collectors_in_a_region_than_amps_quota_are_refused_naming_it():
    # Eleven clusters in us-east-1 (the network quotas raised): eleven managed collectors, one over AWS's 10.
    eleven = {
        "clusters": [{"name": f"c{i}", "vpcCidr": f"10.{i}.0.0/16"} for i in range(11)],
        "metrics": "amp",
        **RAISED,
    }
    problems = _problems(eleven)
    assert list(problems) == ["serviceQuotas.ampCollectorsPerRegion"], problems
    message = problems["serviceQuotas.ampCollectorsPerRegion"]
    assert "needs 11 in us-east-1" in message and "AWS's default 10" in message
    assert "'Amazon Managed Service for Prometheus scrapers per Region'" in message
    # Without metrics nothing is collected; with the raised quota declared, the mesh is accepted.
    assert _problems({**eleven, "metrics": "none"}) == {}
    raised = {**eleven, "serviceQuotas": {**RAISED["serviceQuotas"], "ampCollectorsPerRegion": 11}}
    assert _problems(raised) == {}
    # Ten fit; the other region's collectors do not count against this one's.
    ten = {**eleven, "clusters": [*eleven["clusters"][:10], {"name": "w", "region": "us-west-2"}]}
    assert _problems(ten) == {}


def test_the_planned_collectors_are_the_collectors_the_program_registers():
    config = mesh_config(2, metrics="amp")  # the run tests/test_metrics.py makes too
    run = cached_run(config)
    assert run.error is None, run.error
    scrapers = Counter(r.provider.split("::aws-")[1].rsplit("::", 1)[0] for r in run.of_type("aws:amp/scraper:Scraper"))
    use = plan_of(config).quota_use
    assert (
        dict(scrapers) == {r: u["ampCollectorsPerRegion"] for r, u in use.items()} == {"us-east-1": 1, "us-west-2": 1}
    )
    assert all(u["ampCollectorsPerRegion"] == 0 for u in plan_of(mesh_config(2)).quota_use.values())
