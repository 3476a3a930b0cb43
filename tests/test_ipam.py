"""`ipamPools`: clusters of a region take their VPC's range from the organisation's IPAM pool. The
range is known once the VPC exists; the stack records it with its pool, and later runs give the VPC
the same inputs (pool and netmask, which would replace it if they changed)."""

from __future__ import annotations

import ipaddress

import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.model.deployed import LastDeployment
from components.model.spec import IpamPool
from tests.harness import Run, run_program
from tests.helpers import mocks_with, recorded
from tests.impact import UNCHANGED, change_impact

POOL = "ipam-pool-0123456789abcdef0"
OTHER_POOL = "ipam-pool-0fedcba9876543210"
CONFIG = {
    "connectivity": "private",
    "meshCidr": "10.64.0.0/10",
    "operatorCidrs": ["192.168.10.0/24"],
    "transitGateways": {"us-east-1": "tgw-0123456789abcdef0"},
    "transitGatewayRouting": {
        "us-east-1": {
            "operatorAttachment": "tgw-attach-0123456789abcdef0",
            "returnRouteTable": "tgw-rtb-0123456789abcdef0",
        }
    },
    "ipamPools": {"us-west-2": POOL},
    "clusters": [
        {"name": "a", "region": "us-east-1"},
        {"name": "b", "region": "us-west-2"},
        {"name": "c", "region": "us-west-2", "vpcCidr": "10.65.0.0/16"},
    ],
}


def run_with(pool_cidr: str, config: dict = CONFIG, pool: dict | None = None, **mocks) -> Run:
    pools = {POOL: {"cidrs": [pool_cidr], **(pool or {})}, OTHER_POOL: {"cidrs": ["10.112.0.0/12"]}}
    return run_program(config, mock_factory=mocks_with(ipam_pools=pools, **mocks))


def test_a_cluster_in_a_pools_region_takes_its_range_from_the_pool_and_keeps_it():
    first = run_with("10.96.0.0/12")
    assert first.error is None, first.error
    vpc = first.one("aws:ec2/vpc:Vpc", "b-network-vpc")
    assert (
        vpc.inputs["ipv4IpamPoolId"] == POOL and vpc.inputs["ipv4NetmaskLength"] == 16 and "cidrBlock" not in vpc.inputs
    )
    allocated = ipaddress.ip_network(vpc.outputs["cidrBlock"])
    assert allocated.subnet_of(ipaddress.ip_network("10.96.0.0/12"))
    # Its subnets are cut from what IPAM gave; the other clusters keep the mesh's own allocation.
    subnets = [s.inputs["cidrBlock"] for s in first.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("b-network-")]
    assert subnets and all(ipaddress.ip_network(s).subnet_of(allocated) for s in subnets)
    assert first.one("aws:ec2/vpc:Vpc", "a-network-vpc").inputs["cidrBlock"] == "10.64.0.0/16"
    # Other regions' gateways route to it, and it is recorded with its pool.
    routes = {r.inputs["destinationCidrBlock"] for r in first.of_type("aws:ec2transitgateway/route:Route")}
    assert str(allocated) in routes
    record = recorded(first)
    assert record["vpcCidrs"]["b"] == str(allocated) and record["vpcIpamPools"] == {"b": POOL}
    # The next run, with the pool since renamed in config: nothing changes.
    moved = {**CONFIG, "ipamPools": {"us-west-2": OTHER_POOL}}
    second = run_with("10.96.0.0/12", moved, last_outputs=record)
    assert second.error is None, second.error
    assert {k: v for k, v in change_impact(first, second).items() if v != UNCHANGED} == {}


@pytest.mark.parametrize(
    ("pool_cidr", "extra", "pool", "says"),
    [
        ("172.16.0.0/12", {}, {}, "outside meshCidr 10.64.0.0/10"),
        ("10.64.0.0/12", {}, {}, "overlaps the VPC range of 'c'"),
        ("10.112.0.0/13", {"ipamPools": {"us-west-2": POOL, "us-east-1": OTHER_POOL}}, {}, f"overlaps {OTHER_POOL}"),
        ("10.96.0.0/12", {"eastWestAllowedCidrs": ["10.64.0.0/12"]}, {}, "outside eastWestAllowedCidrs"),
        ("10.96.0.0/12", {}, {"locale": "eu-west-1"}, "allocates in eu-west-1, not in us-west-2"),
        ("10.96.0.0/12", {}, {"min": 20}, "allocates /20 to /32"),
        ("10.96.0.0/12", {}, {"family": "ipv6"}, "ipv6 pool"),
        ("10.96.0.0/12", {}, {"tags": {"team": "net"}}, "requires its allocations to carry tags (team)"),
        ("10.96.0.0/12", {}, {"cidrs": []}, "no provisioned IPv4 CIDR"),
    ],
)
def test_a_pool_that_cannot_serve_the_mesh_is_refused_before_anything_exists(pool_cidr, extra, pool, says):
    run = run_with(pool_cidr, {**CONFIG, **extra}, pool)
    assert isinstance(run.error, ConfigError), run.error
    assert any(key.startswith("ipamPools.") and says in message for key, message in run.error.problems), (
        run.error.problems
    )
    assert not run.resources


def test_the_mesh_allocates_its_own_ranges_around_the_pools():
    # The pool sits at the bottom of meshCidr: a defaulted cluster elsewhere steps over it (and c).
    config = {**CONFIG, "clusters": [*CONFIG["clusters"][:2], {**CONFIG["clusters"][2], "vpcCidr": "10.80.0.0/16"}]}
    run = run_with("10.64.0.0/12", config)
    assert run.error is None, run.error
    assert run.one("aws:ec2/vpc:Vpc", "a-network-vpc").inputs["cidrBlock"] == "10.81.0.0/16"
    # A pool that cannot be read stops the run in one line naming it.
    missing = run_program(CONFIG, mock_factory=mocks_with(ipam_pools={}))
    assert (
        "ipamPools.us-west-2: cannot read ipam-pool-0123456789abcdef0" in str(missing.error) and not missing.resources
    )


def parse(raw: dict, last: LastDeployment = LastDeployment(), ipam: dict | None = None):
    return parse_mesh_spec(raw, default_region="us-east-1", stack="dev", last=last, ipam=ipam)


def deployed(b_pool: str = POOL, b_region: str = "us-west-2") -> LastDeployment:
    """CONFIG as deployed: b's range from an IPAM pool, in `b_region`."""
    return LastDeployment(
        clusters=frozenset({"a", "b", "c"}),
        regions={"a": "us-east-1", "b": b_region, "c": "us-west-2"},
        vpc_cidrs={"a": "10.64.0.0/16", "b": "10.96.0.0/16", "c": "10.65.0.0/16"},
        vpc_ipam_pools={"b": b_pool},
    )


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"ipamPools": {"us-west-2": "pool-123"}}, "ipamPools.us-west-2", "IPAM pool ID"),
        ({"ipamPools": {"eu-west-1": POOL}}, "ipamPools.eu-west-1", "no cluster is in"),
        ({"ipamPools": {"us-west-2": POOL, "us-east-1": POOL}}, "ipamPools.us-east-1", "lives in one region"),
        ({"ipamPools": [POOL]}, "ipamPools", "got a list"),
    ],
)
def test_bad_ipam_pools_are_refused_with_their_key(extra, key, says):
    with pytest.raises(ConfigError) as caught:
        parse({**CONFIG, **extra})
    assert says in dict(caught.value.problems).get(key, ""), caught.value.problems


def test_a_range_from_a_pool_cannot_be_set_to_another():
    last = deployed()
    clusters = [*CONFIG["clusters"][:1], {**CONFIG["clusters"][1], "vpcCidr": "10.97.0.0/16"}, CONFIG["clusters"][2]]
    with pytest.raises(ConfigError) as caught:
        parse({**CONFIG, "clusters": clusters}, last)
    assert "10.96.0.0/16, which it keeps" in dict(caught.value.problems)["clusters[1].vpcCidr"]
    # Set to what it is, it stays with its pool.
    same = [*clusters[:1], {**clusters[1], "vpcCidr": "10.96.0.0/16"}, clusters[2]]
    assert parse({**CONFIG, "clusters": same}, last).clusters[1].ipam_pool == POOL


def test_public_meshes_take_ranges_from_a_pool_too():
    config = {"ipamPools": {"us-east-1": POOL}, "clusters": [{"name": "a"}, {"name": "b", "region": "us-west-2"}]}
    run = run_with("172.20.0.0/14", config, {"locale": "us-east-1"})
    assert run.error is None, run.error
    assert ipaddress.ip_network(run.one("aws:ec2/vpc:Vpc", "a-network-vpc").outputs["cidrBlock"]).subnet_of(
        ipaddress.ip_network("172.20.0.0/14")
    )
    assert run.one("aws:ec2/vpc:Vpc", "b-network-vpc").inputs["cidrBlock"] == "10.0.0.0/16"


def test_a_cluster_moved_to_another_region_is_refused_and_one_that_stays_keeps_its_pool():
    with pytest.raises(ConfigError) as caught:
        parse(CONFIG, deployed(b_pool=OTHER_POOL, b_region="eu-west-1"))
    assert [key for key, _ in caught.value.problems] == ["clusters[1].region"]
    # Where it stays, it keeps its range and its pool.
    kept = parse(CONFIG, deployed(b_pool=OTHER_POOL)).clusters[1]
    assert (kept.ipam_pool, str(kept.vpc_cidr)) == (OTHER_POOL, "10.96.0.0/16")


def test_a_new_cluster_joins_a_pool_that_deployed_ones_came_from():
    pool = IpamPool(
        locale="us-west-2",
        address_family="ipv4",
        min_netmask=0,
        max_netmask=32,
        required_tags={},
        provisioned=("10.96.0.0/12",),
    )
    grown = {**CONFIG, "clusters": [*CONFIG["clusters"], {"name": "d", "region": "us-west-2"}]}
    d = parse(grown, deployed(), ipam={POOL: pool}).clusters[3]
    assert (d.ipam_pool, d.vpc_cidr) == (POOL, None)
