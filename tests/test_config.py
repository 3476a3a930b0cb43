"""Validation of the stack config: a pure function, tested without the Pulumi engine."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pulumi
import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.model import versions
from components.model.deployed import LastDeployment
from components.plan.mesh_plan import plan_mesh
from tests.helpers import RAISED


def parse(raw: dict, region: str | None = "us-east-1", stack: str = "dev", last: LastDeployment = LastDeployment()):
    return parse_mesh_spec(raw, default_region=region, stack=stack, last=last)


def problems_of(raw: dict, **kwargs) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, **kwargs)
    return dict(caught.value.problems)


def one_cluster(**fields) -> dict:
    return {"clusters": [{"name": "east", **fields}]}


def test_defaults_fill_a_minimal_config():
    spec = parse({"clusters": [{"name": "east"}, {"name": "west", "region": "eu-west-1"}]})
    east, west = spec.clusters
    assert spec.mesh_id == "mesh1"
    assert spec.istio_version == versions.DEFAULT_ISTIO_VERSION
    assert spec.api_open_to_internet
    assert (east.region, west.region) == ("us-east-1", "eu-west-1")
    assert east.network != west.network
    assert not east.vpc_cidr.overlaps(west.vpc_cidr)
    assert east.availability_zones == 3 and east.nat_gateways == "single"
    assert east.kubernetes_version in versions.SUPPORTED_KUBERNETES_VERSIONS
    assert east.node_group.min_size <= east.node_group.desired_size <= east.node_group.max_size
    assert east.eks_name == "east-dev"


def test_topology_is_decided_once_from_roles_and_networks():
    spec = parse(
        {
            **RAISED,
            "clusters": [
                {"name": "p1", "network": "n1"},
                {"name": "r1", "role": "remote", "primary": "p1", "network": "n1"},
                {"name": "p2", "network": "n2"},
                {"name": "p3", "network": "n2", "eastWestStaticIps": True},
                {"name": "r2", "role": "remote", "primary": "p2", "network": "n3"},
            ],
        }
    )
    # Static gateway addresses only where asked for: remotes reach istiod by the NLB's name.
    assert {c.name: c.east_west_static_ips for c in spec.clusters} == {
        "p1": False,
        "r1": False,
        "p2": False,
        "p3": True,
        "r2": False,
    }
    table = {
        name: (
            t.role,
            t.control_plane,
            t.remotes,
            t.east_west_gateway,
            t.cross_network,
            t.exposes_istiod,
            t.peered_with,
            t.discovers,
        )
        for name, t in plan_mesh(spec).topology.items()
    }
    everyone = ("p1", "r1", "p2", "p3", "r2")
    others = lambda me: tuple(n for n in everyone if n != me)  # noqa: E731
    assert table == {
        # role, served by, remotes, gateway, cross-network, exposes istiod, peered with, discovers
        "p1": ("primary", "p1", ("r1",), True, True, True, ("r1",), others("p1")),
        # On its primary's network: reached through the primary's gateway.
        "r1": ("remote", "p1", (), False, False, False, ("p1",), ()),
        "p2": ("primary", "p2", ("r2",), True, True, True, ("p3",), others("p2")),
        "p3": ("primary", "p3", (), True, True, False, ("p2",), others("p3")),
        # On a network of its own: its own gateway for traffic from the others.
        "r2": ("remote", "p2", (), True, True, False, (), ()),
    }
    assert plan_mesh(spec).topology.peerings == (("p1", "r1"), ("p2", "p3"))
    assert [step.cluster for step in plan_mesh(spec).topology.build_steps] == ["p1", "p2", "p3", "r1", "r2"]


def test_one_network_needs_no_gateway_unless_a_primary_serves_remotes():
    spec = parse(
        {
            "clusters": [
                {"name": "a", "network": "n"},
                {"name": "b", "network": "n"},
                {"name": "r", "network": "n", "role": "remote", "primary": "a"},
            ]
        }
    )
    assert {n: (t.east_west_gateway, t.cross_network) for n, t in plan_mesh(spec).topology.items()} == {
        "a": (True, False),
        "b": (False, False),
        "r": (False, False),
    }
    # A lone cluster keeps its cross-network gateway, ready for the clusters added next.
    lone = plan_mesh(parse({"clusters": [{"name": "a"}]})).topology["a"]
    assert (lone.east_west_gateway, lone.cross_network) == (True, True)


def test_default_cidrs_avoid_explicit_ones():
    spec = parse({"clusters": [{"name": "a"}, {"name": "b", "vpcCidr": "10.0.0.0/16"}, {"name": "c"}]})
    cidrs = [c.vpc_cidr for c in spec.clusters]
    assert cidrs[1] == ipaddress.IPv4Network("10.0.0.0/16")
    assert all(not x.overlaps(y) for i, x in enumerate(cidrs) for y in cidrs[i + 1 :])


def ranges(spec) -> dict[str, ipaddress.IPv4Network]:
    return {c.name: c.vpc_cidr for c in spec.clusters}


def deployed(spec) -> LastDeployment:
    """What the stack records after deploying `spec` (its `clusters` and `vpcCidrs` outputs)."""
    return LastDeployment(clusters=frozenset(ranges(spec)), vpc_cidrs={n: str(c) for n, c in ranges(spec).items()})


def test_many_clusters_with_defaulted_ranges_get_disjoint_ranges_inside_mesh_cidr():
    # Names that a hash of the name made collide (c0..c9 did at the eighth) are all accepted.
    for mesh in (None, "10.64.0.0/10"):
        clusters = [
            {
                "name": f"c{i}",
                "natGateways": "single",
                "nodeGroup": {"instanceTypes": ["m6i.xlarge"]},
                "region": ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1")[i % 4],
            }
            for i in range(39)
        ]
        config = {"clusters": clusters}
        spec = parse({**RAISED, **config, **({"meshCidr": mesh} if mesh else {})})
        got = list(ranges(spec).values())
        assert len(got) == 39 and all(not a.overlaps(b) for i, a in enumerate(got) for b in got[i + 1 :])
        assert all(c.subnet_of(ipaddress.IPv4Network(mesh or "10.0.0.0/8")) for c in got)


@pytest.mark.parametrize(
    "change",
    [
        lambda names: ["new", *names],  # added first
        lambda names: names[::-1],  # reordered
        lambda names: names[1:],  # the first removed
        lambda names: [names[0], "x", "y", *names[2:]],  # one removed, two added in its place
    ],
)
def test_a_deployed_range_never_moves_when_others_are_added_removed_or_reordered(change):
    names = [f"c{i}" for i in range(8)]
    first = parse({**RAISED, "clusters": [{"name": n} for n in names]})
    after = parse({**RAISED, "clusters": [{"name": n} for n in change(names)]}, last=deployed(first))
    for name, cidr in ranges(after).items():
        if name in ranges(first):
            assert cidr == ranges(first)[name], name
    got = list(ranges(after).values())
    assert all(not a.overlaps(b) for i, a in enumerate(got) for b in got[i + 1 :])
    # Without the record the same config gives the same ranges (a first `pulumi up` that failed
    # before saving its outputs and is run again).
    assert ranges(parse({**RAISED, "clusters": [{"name": n} for n in names]})) == ranges(first)


def test_a_cluster_deployed_before_the_record_keeps_the_range_its_name_gave_it():
    # Releases before the record picked 10.x.0.0/16 from a hash of the name: "c6" got 10.133.0.0/16.
    last = LastDeployment(clusters=frozenset({"c6"}))
    spec = parse({"clusters": [{"name": "c6"}, {"name": "c7"}]}, last=last)
    assert ranges(spec)["c6"] == ipaddress.IPv4Network("10.133.0.0/16")
    # A new cluster is allocated around it (the hash gave "c7" the same range; it was refused then).
    assert ranges(spec)["c7"] == ipaddress.IPv4Network("10.0.0.0/16")


def test_an_explicit_range_may_not_claim_a_deployed_one():
    first = parse({"clusters": [{"name": "east"}]})
    taken = ranges(first)["east"]
    problems = problems_of(
        {"clusters": [{"name": "east"}, {"name": "west", "vpcCidr": str(taken)}]}, last=deployed(first)
    )
    assert set(problems) == {"clusters[1].vpcCidr"}
    assert f"overlaps clusters[0].vpcCidr ({taken}, as deployed)" in problems["clusters[1].vpcCidr"]
    # Listed first, the new explicit range is still the one to change.
    problems = problems_of(
        {"clusters": [{"name": "west", "vpcCidr": str(taken)}, {"name": "east"}]}, last=deployed(first)
    )
    assert set(problems) == {"clusters[0].vpcCidr"} and "its deployed VPC" in problems["clusters[0].vpcCidr"]


@pytest.mark.parametrize(
    ("config", "key", "says"),
    [
        ({"meshCidr": "8.0.0.0/8"}, "meshCidr", "publicly routable"),
        ({"meshCidr": "10.0.0.0/24"}, "meshCidr", "cannot hold a VPC"),
        ({"meshCidr": "10.0.0.0/8\n"}, "meshCidr", "not an IPv4 CIDR"),
        ({"meshCidr": ["10.0.0.0/8"]}, "meshCidr", "got a list"),
        (
            {"meshCidr": "10.0.0.0/15", "clusters": [{"name": f"c{i}"} for i in range(3)]},
            "clusters[2].vpcCidr",
            "no free /16 left",
        ),
        (
            {"meshCidr": "10.0.0.0/12", "clusters": [{"name": "a", "vpcCidr": "172.20.0.0/16"}]},
            "clusters[0].vpcCidr",
            "outside meshCidr",
        ),
    ],
)
def test_bad_mesh_cidrs_are_refused_with_their_key(config, key, says):
    problems = problems_of({"clusters": [{"name": "a"}], **config})
    assert says in problems[key], problems


def test_default_nat_addresses_must_fit_the_gateway_security_group():
    # A primary serving 10 remotes on other networks listens on 15443 and 15012: 11 VPCs x 3 zones
    # = 33 NAT addresses, 2 rules each, 66 rules on a 60-rule security group.
    per_az = [
        {"name": "p", "natGateways": "perAz", "vpcCidr": "10.0.0.0/16"},
        *(
            {"name": f"r{i}", "role": "remote", "primary": "p", "natGateways": "perAz", "vpcCidr": f"10.{i + 1}.0.0/16"}
            for i in range(10)
        ),
    ]
    message = problems_of({**RAISED, "clusters": per_az})["clusters[0].natGateways"]
    assert (
        "33 source CIDRs" in message
        and "66 rules" in message
        and "natGateways: single on clusters[0], clusters[1]" in message
    )
    assert parse({**RAISED, "clusters": [{**c, "natGateways": "single"} for c in per_az]})
    # Without remotes each gateway listens on 15443 alone: 18 rules for 6 such VPCs.
    assert parse({**RAISED, "clusters": [{"name": f"c{i}", "natGateways": "perAz"} for i in range(6)]})


def test_instance_types_aws_cannot_have_are_refused():
    for bad in ("m5.0xlarge", "m5.01xlarge", "m5.metal-0xl", "m5.xlarge\n", "M5.large"):
        assert "instanceTypes[0]" in " ".join(problems_of(one_cluster(nodeGroup={"instanceTypes": [bad]})))


def test_instance_types_of_every_shape_aws_names_are_accepted():
    for types in (
        ["m7i-flex.large", "c6i.32xlarge", "m5.metal"],
        ["u7i-12tb.224xlarge"],
        ["c7gn.16xlarge", "t4g.medium", "m7g.metal"],
        ["a1.large", "r8gd.xlarge"],
    ):
        assert parse(one_cluster(nodeGroup={"instanceTypes": types})).clusters[0].node_group.instance_types == tuple(
            types
        )


def test_istiod_must_fit_on_its_smallest_node():
    # 12 primaries: each istiod watches 11 clusters, 2048Mi + 11 x 180Mi = 4028Mi, which fits in 75 % of
    # an 8 GiB m6i.large (6144Mi) but not of a 4 GiB c6i.large (3072Mi) nor of a t3.medium (3072Mi).
    twelve = [{"name": f"c{i}", "network": f"n{i}", "natGateways": "single"} for i in range(12)]
    assert parse({**RAISED, "clusters": twelve})
    small = [{**twelve[0], "nodeGroup": {"instanceTypes": ["m6i.xlarge", "c6i.large"]}}, *twelve[1:]]
    message = problems_of({**RAISED, "clusters": small})["clusters[0].nodeGroup.instanceTypes"]
    assert (
        "4028Mi" in message
        and "c6i.large" in message
        and "m6i.large" in message
        and "istioValues.istiod.resources" in message
    )
    # A remote runs no istiod; a family whose memory its name does not say is not judged.
    remotes = [
        {"name": "p", "nodeGroup": {"instanceTypes": ["x2idn.16xlarge"]}},
        *(
            {"name": f"r{i}", "role": "remote", "primary": "p", "nodeGroup": {"instanceTypes": ["t3.medium"]}}
            for i in range(11)
        ),
    ]
    assert parse({**RAISED, "clusters": remotes})
    # The user's own size is what must fit; a `resources` without a memory request needs no room.
    assert parse(
        {**RAISED, "clusters": small, "istioValues": {"istiod": {"resources": {"requests": {"memory": "2Gi"}}}}}
    )
    assert parse({**RAISED, "clusters": small, "istioValues": {"istiod": {"resources": {"requests": {"cpu": "1"}}}}})
    # The chart fills in its own request (2048Mi, 500m) under a user's `resources`: a limit below it is refused.
    below = problems_of(
        {**RAISED, "clusters": twelve, "istioValues": {"istiod": {"resources": {"limits": {"memory": "1Gi"}}}}}
    )
    assert "2048Mi (the chart's default" in below["istioValues.istiod.resources.limits.memory"]
    assert parse(
        {
            **RAISED,
            "clusters": twelve,
            "istioValues": {
                "istiod": {
                    "resources": {
                        "requests": {"memory": "512Mi", "cpu": "100m"},
                        "limits": {"memory": "1Gi", "cpu": "1"},
                    }
                }
            },
        }
    )
    big = problems_of(
        {**RAISED, "clusters": twelve, "istioValues": {"istiod": {"resources": {"requests": {"memory": "7Gi"}}}}}
    )
    assert (
        "7168Mi" in big["clusters[0].nodeGroup.instanceTypes"]
        and "m6i.xlarge" in big["clusters[0].nodeGroup.instanceTypes"]
    )


def test_explicit_values_are_kept():
    spec = parse(
        {
            "meshId": "prod-mesh",
            "istioVersion": "1.30.3",
            "apiAccessCidrs": ["198.51.100.7/32", "203.0.113.0/24"],
            "clusters": [
                {
                    "name": "east",
                    "region": "us-east-2",
                    "network": "net-a",
                    "vpcCidr": "172.20.0.0/18",
                    "availabilityZones": ["us-east-2a", "us-east-2c"],
                    "kubernetesVersion": "1.33",
                    "supportType": "EXTENDED",
                    "natGateways": "perAz",
                    "nodeGroup": {
                        "instanceTypes": ["m7i.xlarge"],
                        "desiredSize": 3,
                        "minSize": 1,
                        "maxSize": 5,
                        "capacityType": "SPOT",
                    },
                }
            ],
        }
    )
    c = spec.clusters[0]
    assert spec.api_access_cidrs == ("198.51.100.7/32", "203.0.113.0/24") and not spec.api_open_to_internet
    assert (c.region, c.network, str(c.vpc_cidr), c.az_count) == ("us-east-2", "net-a", "172.20.0.0/18", 2)
    assert c.node_group.instance_types == ("m7i.xlarge",) and c.node_group.capacity_type == "SPOT"
    assert (c.node_group.min_size, c.node_group.desired_size, c.node_group.max_size) == (1, 3, 5)


BAD_CONFIGS = [
    # (raw config, key path the error must name, a fragment of the message)
    ({}, "clusters", "no clusters"),
    ({"clusters": []}, "clusters", "no clusters"),
    ({"clusters": "east"}, "clusters", "must be a list"),
    ({"clusters": ["east"]}, "clusters[0]", "must be an object"),
    ({"clusters": [{"region": "us-east-1"}]}, "clusters[0].name", "required"),
    ({"clusters": [{"name": "East_1"}]}, "clusters[0].name", "DNS-1123"),
    ({"clusters": [{"name": "a" * 40}]}, "clusters[0].name", "too long"),
    ({"clusters": [{"name": "east"}, {"name": "east"}]}, "clusters[1].name", "already used"),
    ({"clusters": [{"name": "a", "role": "secondary"}]}, "clusters[0].role", "primary, remote"),
    ({"clusters": [{"name": "a"}, {"name": "b", "role": "remote"}]}, "clusters[1].primary", "must name the primary"),
    (
        {"clusters": [{"name": "a"}, {"name": "b", "role": "remote", "primary": "z"}]},
        "clusters[1].primary",
        "not a cluster of this mesh",
    ),
    (
        {"clusters": [{"name": "a"}, {"name": "b", "role": "remote", "primary": "b"}]},
        "clusters[1].primary",
        "its own primary",
    ),
    (
        {
            "clusters": [
                {"name": "a"},
                {"name": "b", "role": "remote", "primary": "a"},
                {"name": "c", "role": "remote", "primary": "b"},
            ]
        },
        "clusters[2].primary",
        "a primary cannot be remote",
    ),
    (
        {"clusters": [{"name": "a", "primary": "b"}, {"name": "b"}]},
        "clusters[0].primary",
        "only a remote names a primary",
    ),
    (
        {
            "clusters": [
                {"name": "a", "role": "remote", "primary": "b"},
                {"name": "b", "role": "remote", "primary": "a"},
            ]
        },
        "clusters",
        "at least one must be a primary",
    ),
    (one_cluster(eastWestStaticIps="yes"), "clusters[0].eastWestStaticIps", "true or false"),
    (one_cluster(network="net work"), "clusters[0].network", "label value"),
    (one_cluster(vpcCidr="10.0.0.0/33"), "clusters[0].vpcCidr", "not an IPv4 CIDR"),
    (one_cluster(vpcCidr="10.0.0.1/16"), "clusters[0].vpcCidr", "did you mean '10.0.0.0/16'"),
    (one_cluster(vpcCidr="10.0.0.0/24"), "clusters[0].vpcCidr", "/16 to /20"),
    (one_cluster(vpcCidr="10.0.0.0/8"), "clusters[0].vpcCidr", "/16 to /20"),
    (
        {"clusters": [{"name": "a", "vpcCidr": "10.0.0.0/16"}, {"name": "b", "vpcCidr": "10.0.128.0/17"}]},
        "clusters[1].vpcCidr",
        "overlaps clusters[0].vpcCidr",
    ),
    (one_cluster(vpcCIDR="10.0.0.0/16"), "clusters[0].vpcCIDR", "did you mean `vpcCidr`"),
    (one_cluster(nodegroup={}), "clusters[0].nodegroup", "did you mean `nodeGroup`"),
    (one_cluster(nodeGroup={"desiredsize": 3}), "clusters[0].nodeGroup.desiredsize", "did you mean `desiredSize`"),
    (one_cluster(region="US-East-1"), "clusters[0].region", "not an AWS region"),
    (one_cluster(availabilityZones=1), "clusters[0].availabilityZones", "between 2 and 6"),
    (one_cluster(availabilityZones=7), "clusters[0].availabilityZones", "between 2 and 6"),
    (one_cluster(availabilityZones=6), "clusters[0].availabilityZones", "us-east-1 has at most 5 that EKS can use"),
    (one_cluster(availabilityZones=4, region="eu-west-1"), "clusters[0].availabilityZones", "at most 3"),
    # The default 3 is more than us-west-1 has: the key to set is named.
    (one_cluster(region="us-west-1"), "clusters[0].availabilityZones", "set availabilityZones to 2 or fewer"),
    (one_cluster(availabilityZones="3"), "clusters[0].availabilityZones", "zone count or a list"),
    (
        one_cluster(availabilityZones=["us-west-2a", "us-east-1b"]),
        "clusters[0].availabilityZones[0]",
        "not a zone of region us-east-1",
    ),
    (one_cluster(availabilityZones=["us-east-1a", "us-east-1a"]), "clusters[0].availabilityZones", "twice"),
    (one_cluster(kubernetesVersion="1.20"), "clusters[0].kubernetesVersion", "not supported"),
    (one_cluster(kubernetesVersion=1.34), "clusters[0].kubernetesVersion", "quoted"),
    (
        one_cluster(nodeGroup={"minSize": 3, "desiredSize": 2, "maxSize": 4}),
        "clusters[0].nodeGroup.desiredSize",
        "minSize <= desiredSize <= maxSize",
    ),
    (
        one_cluster(nodeGroup={"minSize": 0, "desiredSize": 0, "maxSize": 0}),
        "clusters[0].nodeGroup.maxSize",
        "at least 1",
    ),
    (
        one_cluster(nodeGroup={"desiredSize": "2"}),
        "clusters[0].nodeGroup.desiredSize",
        'must be a whole number, got a string "2"',
    ),
    (
        one_cluster(nodeGroup={"desiredSize": True}),
        "clusters[0].nodeGroup.desiredSize",
        "must be a whole number, got true/false",
    ),
    (one_cluster(nodeGroup={"minSize": -1}), "clusters[0].nodeGroup.minSize", "negative"),
    (one_cluster(nodeGroup={"instanceTypes": "m6i.large"}), "clusters[0].nodeGroup.instanceTypes", "must be a list"),
    (one_cluster(nodeGroup={"instanceTypes": []}), "clusters[0].nodeGroup.instanceTypes", "is empty"),
    (one_cluster(nodeGroup={"instanceTypes": ["large"]}), "clusters[0].nodeGroup.instanceTypes[0]", "instance type"),
    (one_cluster(nodeGroup={"capacityType": "spot"}), "clusters[0].nodeGroup.capacityType", "ON_DEMAND, SPOT"),
    (one_cluster(natGateways="each"), "clusters[0].natGateways", "single, perAz"),
    ({**one_cluster(), "istioVersion": "v1.30.3"}, "istioVersion", "not a released Istio version"),
    ({**one_cluster(), "istioVersion": "1.31.0-rc.0"}, "istioVersion", "pre-release"),
    ({**one_cluster(), "istioVersion": "1.22.0"}, "istioVersion", "older than"),
    ({**one_cluster(), "istioVersion": 1.3}, "istioVersion", "must be a string"),
    ({**one_cluster(), "meshId": "Mesh 1"}, "meshId", "DNS label"),
    ({**one_cluster(), "apiAccessCidrs": "203.0.113.0/24"}, "apiAccessCidrs", "must be a list"),
    ({**one_cluster(), "apiAccessCidrs": []}, "apiAccessCidrs", "is empty"),
    ({**one_cluster(), "apiAccessCidrs": ["office"]}, "apiAccessCidrs[0]", "not an IPv4 CIDR"),
    ({**one_cluster(), "apiAccessCidrs": ["2001:db8::/32"]}, "apiAccessCidrs[0]", "IPv4"),
    ({**one_cluster(), "apiAccesCidrs": ["203.0.113.0/24"]}, "apiAccesCidrs", "unknown key"),
    ({**one_cluster(), "meshid": "m"}, "meshid", "did you mean `meshId`"),
    *[
        # A YAML block scalar (`key: |`) ends in a newline: no name, range or version may keep one.
        (raw, path, "")
        for raw, path in [
            ({**one_cluster(), "meshId": "mesh1\n"}, "meshId"),
            ({**one_cluster(), "istioVersion": "1.30.3\n"}, "istioVersion"),
            ({"clusters": [{"name": "east\n"}]}, "clusters[0].name"),
            (one_cluster(network="n1\n"), "clusters[0].network"),
            (one_cluster(region="us-east-1\n"), "clusters[0].region"),
            (one_cluster(vpcCidr="10.0.0.0/16\n"), "clusters[0].vpcCidr"),
            (one_cluster(kubernetesVersion="1.34\n"), "clusters[0].kubernetesVersion"),
            (one_cluster(natGateways="single\n"), "clusters[0].natGateways"),
            (one_cluster(availabilityZones=["us-east-1a\n", "us-east-1b"]), "clusters[0].availabilityZones[0]"),
            (one_cluster(nodeGroup={"instanceTypes": ["m6i.large\n"]}), "clusters[0].nodeGroup.instanceTypes[0]"),
            (one_cluster(nodeGroup={"capacityType": "SPOT\n"}), "clusters[0].nodeGroup.capacityType"),
            ({**one_cluster(), "apiAccessCidrs": ["203.0.113.0/24\n"]}, "apiAccessCidrs[0]"),
            ({**one_cluster(), "eastWestAllowedCidrs": ["203.0.113.0/24\n"]}, "eastWestAllowedCidrs[0]"),
        ]
    ],
    # Types in words, at every level.
    ({"clusters": {"name": "east"}}, "clusters", "must be a list, got an object"),
    ({"clusters": [None]}, "clusters[0]", "must be an object, got null"),
    ({"clusters": [{"name": 5}]}, "clusters[0].name", "must be a string, got a number 5"),
    ({"clusters": [{"name": True}]}, "clusters[0].name", "got true/false"),
    ({"clusters": [{"name": ["east"]}]}, "clusters[0].name", "got a list"),
    (one_cluster(network=None), "clusters[0].network", "must be a string, got null"),
    (one_cluster(network=7), "clusters[0].network", "got a number 7"),
    (one_cluster(region=None), "clusters[0].region", "got null"),
    (one_cluster(region=["us-east-1"]), "clusters[0].region", "got a list"),
    (one_cluster(vpcCidr=None), "clusters[0].vpcCidr", "got null"),
    (one_cluster(vpcCidr={"cidr": "10.0.0.0/16"}), "clusters[0].vpcCidr", "got an object"),
    (one_cluster(availabilityZones=2.0), "clusters[0].availabilityZones", "got a decimal number 2.0"),
    (one_cluster(availabilityZones=True), "clusters[0].availabilityZones", "got true/false"),
    (one_cluster(availabilityZones=[1, 2]), "clusters[0].availabilityZones[0]", "a number 1 is not a zone"),
    (one_cluster(kubernetesVersion=None), "clusters[0].kubernetesVersion", "null is not supported"),
    (one_cluster(natGateways=["single"]), "clusters[0].natGateways", 'a list ["single"] is not one of'),
    (one_cluster(role={"primary": True}), "clusters[0].role", "an object"),
    (one_cluster(nodeGroup=[]), "clusters[0].nodeGroup", "must be an object, got a list"),
    (
        one_cluster(nodeGroup={"desiredSize": 2.5}),
        "clusters[0].nodeGroup.desiredSize",
        "must be a whole number, got a decimal number 2.5",
    ),
    (one_cluster(nodeGroup={"maxSize": None}), "clusters[0].nodeGroup.maxSize", "got null"),
    (one_cluster(nodeGroup={"instanceTypes": [None]}), "clusters[0].nodeGroup.instanceTypes[0]", "got null"),
    (
        one_cluster(nodeGroup={"capacityType": None}),
        "clusters[0].nodeGroup.capacityType",
        "null is not one of ON_DEMAND",
    ),
    (
        one_cluster(nodeGroup={"capacityType": "spot"}),
        "clusters[0].nodeGroup.capacityType",
        'a string "spot" is not one of',
    ),
    (one_cluster(eastWestStaticIps="yes"), "clusters[0].eastWestStaticIps", 'got a string "yes"'),
    (
        {"clusters": [{"name": "a"}, {"name": "b", "role": "remote", "primary": ["a"]}]},
        "clusters[1].primary",
        "got a list",
    ),
    (
        {"clusters": [{"name": "a"}, {"name": "b", "role": "remote", "primary": {"name": "a"}}]},
        "clusters[1].primary",
        "got an object",
    ),
    (
        {"clusters": [{"name": "a"}, {"name": "b", "role": "remote", "primary": 1}]},
        "clusters[1].primary",
        "got a number 1",
    ),
    ({**one_cluster(), "meshId": None}, "meshId", "got null"),
    ({**one_cluster(), "meshId": 12}, "meshId", "got a number 12"),
    ({**one_cluster(), "istioVersion": None}, "istioVersion", "got null"),
    ({**one_cluster(), "deploySamples": "yes"}, "deploySamples", 'must be true or false, got a string "yes"'),
    ({**one_cluster(), "deploySamples": 1}, "deploySamples", "got a number 1"),
    ({**one_cluster(), "apiAccessCidrs": [None]}, "apiAccessCidrs[0]", "got null"),
    (
        {**one_cluster(), "apiAccessCidrs": {"office": "203.0.113.0/24"}},
        "apiAccessCidrs",
        "must be a list, got an object",
    ),
    (
        {**one_cluster(), "eastWestAllowedCidrs": "203.0.113.0/24"},
        "eastWestAllowedCidrs",
        "must be a list, got a string",
    ),
    ({**one_cluster(), "istioValues": "x"}, "istioValues", "must be an object, got a string"),
    ({**one_cluster(), "istioValues": {"istiod": []}}, "istioValues.istiod", "must be an object, got a list"),
    ({**one_cluster(), "istioValues": {"pilot": {}}}, "istioValues.pilot", "unknown field"),
    # Names, versions and ranges, in full.
    ({**one_cluster(), "istioVersion": "01.30.3"}, "istioVersion", "leading zeros"),
    ({**one_cluster(), "istioVersion": "1.030.3"}, "istioVersion", "leading zeros"),
    ({**one_cluster(), "istioVersion": "1.30.03"}, "istioVersion", "leading zeros"),
    ({**one_cluster(), "istioVersion": "1.30"}, "istioVersion", "MAJOR.MINOR.PATCH"),
    ({**one_cluster(), "meshId": "a" * 64}, "meshId", "at most 63"),
    ({**one_cluster(), "meshId": "-mesh"}, "meshId", "DNS label"),
    (one_cluster(network="a" * 64), "clusters[0].network", "at most 63"),
    (one_cluster(network="-n1"), "clusters[0].network", "alphanumeric at both ends"),
    (one_cluster(region="eu-wset-1"), "clusters[0].region", "did you mean 'eu-west-1'"),
    (one_cluster(region="us-east-9"), "clusters[0].region", "not an AWS region"),
    (one_cluster(vpcCidr="10.0.0.0/016"), "clusters[0].vpcCidr", "not an IPv4 CIDR"),
    (one_cluster(vpcCidr="10.0.0.0/255.255.0.0"), "clusters[0].vpcCidr", "not an IPv4 CIDR"),
    (one_cluster(vpcCidr=" 10.0.0.0/16"), "clusters[0].vpcCidr", "not an IPv4 CIDR"),
    (one_cluster(vpcCidr="127.0.0.0/16"), "clusters[0].vpcCidr", "loopback"),
    (one_cluster(vpcCidr="224.0.0.0/16"), "clusters[0].vpcCidr", "multicast"),
    (one_cluster(vpcCidr="240.0.0.0/16"), "clusters[0].vpcCidr", "reserved"),
    (one_cluster(vpcCidr="169.254.0.0/16"), "clusters[0].vpcCidr", "link-local"),
    (one_cluster(vpcCidr="0.0.0.0/16"), "clusters[0].vpcCidr", "'this network'"),
    (one_cluster(vpcCidr="8.8.0.0/16"), "clusters[0].vpcCidr", "publicly routable"),
    ({**one_cluster(), "apiAccessCidrs": ["10.0.0.0/8"]}, "apiAccessCidrs[0]", "private (RFC 1918)"),
    (
        {**one_cluster(), "apiAccessCidrs": ["203.0.113.0/24", "192.168.1.0/24"]},
        "apiAccessCidrs[1]",
        "only public addresses",
    ),
    ({**one_cluster(), "apiAccessCidrs": ["127.0.0.1"]}, "apiAccessCidrs[0]", "loopback"),
    ({**one_cluster(), "apiAccessCidrs": ["100.64.0.0/10"]}, "apiAccessCidrs[0]", "carrier-grade NAT"),
    ({**one_cluster(), "apiAccessCidrs": ["224.0.0.1/32"]}, "apiAccessCidrs[0]", "multicast"),
    ({**one_cluster(), "apiAccessCidrs": ["169.254.169.254/32"]}, "apiAccessCidrs[0]", "link-local"),
    # ASCII where AWS, EKS and Helm are: other scripts' digits and letters, and real bounds.
    ({**one_cluster(), "istioVersion": "1.3\u0661.0"}, "istioVersion", "MAJOR.MINOR.PATCH"),
    ({**one_cluster(), "istioRevisions": ["1.30.5", "1.3\u0661.0"]}, "istioRevisions[1]", ""),
    (
        {
            **one_cluster(),
            "clusterAdmins": [
                "arn:aws:iam::\u0661\u0661\u0661\u0661\u0662\u0662\u0662\u0662\u0663\u0663\u0663\u0663:role/x"
            ],
        },
        "clusterAdmins[0]",
        "12-digit",
    ),
    (
        {**one_cluster(), "clusterAdmins": ["arn:aws:iam::111122223333:role/pl\u0430tform"]},
        "clusterAdmins[0]",
        "not an IAM role or user ARN",
    ),
    (
        one_cluster(nodeGroup={"instanceTypes": ["m6i.\uff12xlarge"]}),
        "clusters[0].nodeGroup.instanceTypes[0]",
        "EC2 instance type",
    ),
    (
        one_cluster(
            nodeGroup={
                "instanceTypes": [f"m6i.{n}xlarge" for n in (2, 4, 8, 12, 16, 24, 32)]
                + [f"c6i.{n}xlarge" for n in (2, 4, 8, 12, 16, 24, 32)]
                + [f"r6i.{n}xlarge" for n in (2, 4, 8, 12, 16, 24, 32)]
            }
        ),
        "clusters[0].nodeGroup.instanceTypes",
        "at most 20",
    ),
    (
        one_cluster(addonVersions={"coredns": "v1.\u0661\u0662.1-eksbuild.1"}),
        "clusters[0].addonVersions.coredns",
        "EKS add-on version",
    ),
    (
        one_cluster(addonVersions={"coredns": "v1.12.1-eksbuild." + "9" * 10000}),
        "clusters[0].addonVersions.coredns",
        "EKS add-on version",
    ),
    (one_cluster(vpcCidr="\u0661\u0660.0.0.0/16"), "clusters[0].vpcCidr", "not an IPv4 CIDR"),
    ({**one_cluster(), "apiAccessCidrs": ["203.0.113.\u0661/32"]}, "apiAccessCidrs[0]", "not an IPv4 CIDR"),
    # Node groups that can run Istio, within EKS's limits, of one architecture.
    (
        one_cluster(nodeGroup={"minSize": 0, "desiredSize": 0, "maxSize": 3}),
        "clusters[0].nodeGroup.desiredSize",
        "no cluster autoscaler",
    ),
    (one_cluster(nodeGroup={"desiredSize": 2, "maxSize": 100000}), "clusters[0].nodeGroup.maxSize", "at most 450"),
    (one_cluster(nodeGroup={"desiredSize": 10**30}), "clusters[0].nodeGroup.desiredSize", "at most 450"),
    (
        one_cluster(nodeGroup={"instanceTypes": ["m6i.large", "m7g.large"]}),
        "clusters[0].nodeGroup.instanceTypes",
        "Graviton (arm64: m7g.large) and x86 (m6i.large)",
    ),
    (
        one_cluster(nodeGroup={"instanceTypes": ["t4g.medium", "c5.large", "c7gn.xlarge"]}),
        "clusters[0].nodeGroup.instanceTypes",
        "one CPU architecture",
    ),
    (
        one_cluster(nodeGroup={"instanceTypes": ["m6i.large", "m6i.large"]}),
        "clusters[0].nodeGroup.instanceTypes",
        "twice",
    ),
    (
        one_cluster(nodeGroup={"instanceTypes": ["m6i.huge"]}),
        "clusters[0].nodeGroup.instanceTypes[0]",
        "not an EC2 instance type",
    ),
    (
        one_cluster(nodeGroup={"instanceTypes": ["m6i.large", "t3.micro"]}),
        "clusters[0].nodeGroup.instanceTypes[1]",
        "use .medium or larger",
    ),
    # Identity keys the program sets, refused with the key path.
    (
        {**one_cluster(), "istioValues": {"istiod": {"global": {"meshID": "x"}}}},
        "istioValues.istiod.global.meshID",
        "from meshId",
    ),
    # The wiring of revisions, remotes and the gateway's NLB is the program's too.
    ({**one_cluster(), "istioValues": {"istiod": {"revision": "x"}}}, "istioValues.istiod.revision", "istioRevisions"),
    ({**one_cluster(), "istioValues": {"istiod": {"env": None}}}, "istioValues.istiod.env", "ISTIOD_CUSTOM_HOST"),
    ({**one_cluster(), "istioValues": {"gateway": {"name": "gw"}}}, "istioValues.gateway.name", "remove it"),
    (
        {**one_cluster(), "istioValues": {"gateway": {"service": None}}},
        "istioValues.gateway.service",
        "must be an object, got null",
    ),
    (
        {**one_cluster(), "istioValues": {"base": {"defaultRevision": "x"}}},
        "istioValues.base.defaultRevision",
        "istioRevisionTags",
    ),
    (
        {**one_cluster(), "istioValues": {"istiod": {"global": {"multiCluster": {"clusterName": "x"}}}}},
        "istioValues.istiod.global.multiCluster.clusterName",
        "set by this program from each cluster's name",
    ),
    (
        {**one_cluster(), "istioValues": {"istiod": {"global": {"network": "n"}}}},
        "istioValues.istiod.global.network",
        "each cluster's network",
    ),
    (
        {**one_cluster(), "istioValues": {"gateway": {"networkGateway": "n"}}},
        "istioValues.gateway.networkGateway",
        "ports each cluster's gateway serves",
    ),
    (
        {**one_cluster(), "istioValues": {"gateway": {"service": {"ports": [{"port": 15017}]}}}},
        "istioValues.gateway.service.ports",
        "ports each cluster's gateway serves",
    ),
    (
        {**one_cluster(), "istioValues": {"gateway": {"labels": {"topology.istio.io/network": "other"}}}},
        "istioValues.gateway.labels.topology.istio.io/network",
        "network",
    ),
    (
        {**one_cluster(), "istioValues": {"istiod": {"global": None}}},
        "istioValues.istiod.global",
        "must be an object, got null",
    ),
    (
        {**one_cluster(), "istioValues": {"istiod": {"global": {"multiCluster": "on"}}}},
        "istioValues.istiod.global.multiCluster",
        "replace the whole `multiCluster`",
    ),
    (
        {**one_cluster(), "istioValues": {"istiod": {"global": {"multiCluster": {"ClusterName": "x"}}}}},
        "istioValues.istiod.global.multiCluster.ClusterName",
        "case-sensitive",
    ),
    (
        {**one_cluster(), "istioValues": {"istiod": {"profile": "remote"}}},
        "istioValues.istiod.profile",
        "each cluster's role",
    ),
]


def test_the_gateways_health_checks_are_not_overridden():
    for key in ("port", "protocol", "path"):
        annotation = f"service.beta.kubernetes.io/aws-load-balancer-healthcheck-{key}"
        [(path, message)] = problems_of(
            {**one_cluster(), "istioValues": {"gateway": {"service": {"annotations": {annotation: "x"}}}}}
        ).items()
        assert path.startswith("istioValues.gateway.service.annotations.") and "health checks" in message
    # Other annotations remain the user's.
    assert parse(
        {**one_cluster(), "istioValues": {"gateway": {"service": {"annotations": {"example.com/team": "mesh"}}}}}
    )


def test_limits_count_what_the_topology_creates():
    def clusters(count: int, **fields) -> list[dict]:
        return [
            {"name": f"c{i}", "vpcCidr": f"10.{i}.0.0/16", "nodeGroup": {"instanceTypes": ["m6i.xlarge"]}, **fields}
            for i in range(count)
        ]

    def remotes(count: int, **fields) -> list[dict]:
        return [
            {"name": f"r{i}", "role": "remote", "primary": "p", "vpcCidr": f"10.{i + 1}.0.0/16", **fields}
            for i in range(count)
        ]

    # One network, no remotes: no east-west gateway, so no source rule at all.
    assert not any(
        t.east_west_gateway
        for t in plan_mesh(parse({**RAISED, "clusters": clusters(16, network="n")})).topology.values()
    )
    assert parse(
        {
            **RAISED,
            "clusters": clusters(16, network="n"),
            "eastWestAllowedCidrs": [f"198.51.100.{i}/32" for i in range(20)],
        }
    )
    # Multi-primary, multi-network: every gateway listens on 15443 alone, one rule per NAT address;
    # the 40 CIDRs of each EKS endpoint (39 NAT addresses and the operators') come first.
    assert len(parse({**RAISED, "clusters": clusters(39)}).clusters) == 39
    assert "at most 39 clusters" in problems_of({**RAISED, "clusters": clusters(40)})["clusters"]
    # Primary-remote, one network: the primary's gateway listens on 15012 alone.
    assert [
        n
        for n, t in plan_mesh(
            parse(
                {
                    **RAISED,
                    "clusters": [
                        {"name": "p", "network": "n", "nodeGroup": {"instanceTypes": ["m6i.xlarge"]}},
                        *remotes(38, network="n"),
                    ],
                }
            )
        ).topology.items()
        if t.east_west_gateway
    ] == ["p"]
    # Primary-remote, multi-network: the primary listens on 15443 and 15012, two rules per source.
    spread = [{"name": "p", "vpcCidr": "10.0.0.0/16", "nodeGroup": {"instanceTypes": ["m6i.xlarge"]}}, *remotes(29)]
    assert plan_mesh(parse({**RAISED, "clusters": spread})).topology["p"].east_west_ports == (15443, 15012)
    message = problems_of({**RAISED, "clusters": [*spread, *remotes(30)[29:]]})["clusters"]
    assert (
        "31 source CIDRs" in message
        and "62 rules" in message
        and "at most 30" in message
        and "set connectivity: private" in message
    )
    # Explicit sources: the key that has them is named, with the cap of the widest gateway.
    assert (
        "merge them into at most 60"
        in problems_of(
            {
                **RAISED,
                "clusters": clusters(2),
                "eastWestAllowedCidrs": [f"198.51.{i // 250}.{i % 250}/32" for i in range(61)],
            }
        )["eastWestAllowedCidrs"]
    )
    assert parse({**RAISED, "clusters": clusters(2), "eastWestAllowedCidrs": [f"198.51.100.{i}/32" for i in range(60)]})
    many = [f"198.51.100.{i}/32" for i in range(31)]
    assert (
        "merge them into at most 30"
        in problems_of({**RAISED, "clusters": spread[:2], "eastWestAllowedCidrs": many})["eastWestAllowedCidrs"]
    )


def test_api_endpoint_limit_names_the_key_that_fixes_it():
    operators = [f"198.51.100.{i}/32" for i in range(30)]
    # 30 operator CIDRs + 12 NAT addresses (one network, so no gateway cap) > 40: merge the CIDRs.
    problems = problems_of(
        {
            **RAISED,
            "clusters": [{"name": f"c{i}", "network": "n", "vpcCidr": f"10.{i}.0.0/16"} for i in range(12)],
            "apiAccessCidrs": operators,
        }
    )
    assert "42 CIDRs" in problems["apiAccessCidrs"] and "at most 28" in problems["apiAccessCidrs"]
    # perAz NAT gateways are what overflows: switching them is the fix, and named.
    per_az = [
        {"name": "a", "network": "n", "natGateways": "perAz", "availabilityZones": 5},
        *({"name": f"c{i}", "network": "n", "vpcCidr": f"10.{i}.0.0/16"} for i in range(5)),
    ]
    problems = problems_of({**RAISED, "clusters": per_az, "apiAccessCidrs": [*operators, "198.51.100.200/32"]})
    assert "natGateways: single on clusters[0]" in problems["clusters[0].natGateways"]
    # 40 clusters: even one NAT address each and the default 0.0.0.0/0 do not fit.
    assert (
        "at most 39 clusters"
        in problems_of(
            {"clusters": [{"name": f"c{i}", "network": "n", "vpcCidr": f"10.{i}.0.0/16"} for i in range(40)]}
        )["clusters"]
    )
    assert parse(
        {
            **RAISED,
            "clusters": [
                {
                    "name": f"c{i}",
                    "network": "n",
                    "vpcCidr": f"10.{i}.0.0/16",
                    "nodeGroup": {"instanceTypes": ["m6i.xlarge"]},
                }
                for i in range(39)
            ],
        }
    )


def test_a_typo_in_aws_region_is_named_as_aws_region_once():
    problems = problems_of(
        {"clusters": [{"name": "a"}, {"name": "b"}, {"name": "c", "region": "eu-west-1"}]}, region="us-east-l"
    )
    assert list(problems) == ["aws:region"] and "did you mean 'us-east-" in problems["aws:region"]
    # Printed as the key it is, not under the project's namespace.
    with pytest.raises(ConfigError) as caught:
        parse(one_cluster(), region="us-east-l")
    assert "  - aws:region: " in str(caught.value)
    # Unused (every cluster names its region): not a problem of this program.
    assert parse(one_cluster(region="eu-west-1"), region="nowhere")


def test_a_bad_vpc_cidr_hides_no_other_problem():
    problems = problems_of(
        {"istioVersion": "x", "clusters": [{"name": "a", "vpcCidr": "10.0.0.0/8"}, {"name": "b", "natGateways": "x"}]}
    )
    assert {"istioVersion", "clusters[0].vpcCidr", "clusters[1].natGateways"} <= set(problems)
    assert not any("no free" in m for m in problems.values())
    # A mesh far beyond any limit is refused before its clusters are compared pairwise.
    problems = problems_of({"istioVersion": "x", "clusters": [{"name": f"c{i}"} for i in range(10_000)]})
    assert "istioVersion" in problems and "at most 256" in problems["clusters"]


def test_names_made_of_two_cluster_names_must_not_collide():
    # a + b-c and a-b + c would both be peered as `a-b-c-peering`.
    problems = problems_of({"clusters": [{"name": n, "network": "n"} for n in ("a", "b-c", "a-b", "c")]})
    assert "a-b-c-peering" in problems["clusters[3].name"]
    secrets = problems_of(
        {"clusters": [{"name": "x"}, {"name": "y-remote-secret-z"}, {"name": "x-remote-secret-y"}, {"name": "z"}]}
    )
    assert "'x-remote-secret-y-remote-secret-z'" in next(iter(secrets.values()))


HUGE = "x" * 10_000


@pytest.mark.parametrize(
    "raw",
    [
        {**one_cluster(), "meshId": HUGE},
        {**one_cluster(), "istioVersion": HUGE},
        {"clusters": [{"name": HUGE}]},
        one_cluster(network=HUGE),
        one_cluster(region=HUGE),
        one_cluster(vpcCidr=HUGE),
        one_cluster(natGateways=HUGE),
        one_cluster(role=HUGE),
        one_cluster(kubernetesVersion=HUGE),
        one_cluster(availabilityZones=[HUGE, HUGE]),
        one_cluster(
            nodeGroup={"instanceTypes": [HUGE], "capacityType": HUGE, "maxSize": 10**5000, "minSize": -(10**5000)}
        ),
        {"clusters": [{"name": "a"}, {"name": "b", "role": "remote", "primary": HUGE}]},
        {**one_cluster(), "apiAccessCidrs": [HUGE]},
        {**one_cluster(), "deploySamples": HUGE},
        {**one_cluster(), HUGE: 1},
        one_cluster(**{HUGE: 1}),
        {**one_cluster(), "istioValues": {"istiod": {"global": HUGE}}},
    ],
)
def test_messages_never_echo_a_huge_value(raw):
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    assert all(len(message) < 500 for _, message in caught.value.problems)
    assert "x" * 100 not in str(caught.value)


@pytest.mark.parametrize(
    "config",
    [
        {"clusters": [{"name": "east\n"}], "apiAccessCidrs": ["203.0.113.0/24"]},
        {"clusters": [{"name": "east", "network": None}]},
        {
            "clusters": [{"name": "east", "vpcCidr": "127.0.0.0/16"}],
            "istioValues": {"istiod": {"global": {"meshID": "m"}}},
        },
        {"clusters": [{"name": "a"}, {"name": "b", "role": "remote", "primary": ["a"]}]},
        {"clusters": [{"name": f"c{i}", "vpcCidr": f"10.{i}.0.0/16"} for i in range(40)]},
    ],
    ids=["newline", "null-network", "loopback-and-identity", "list-primary", "40-networks"],
)
def test_a_bad_config_registers_nothing(config):
    from tests.harness import run_program

    run = run_program(config)
    assert isinstance(run.error, ConfigError), run.error
    assert run.resources == []
    assert "nothing was created" in str(run.error) and "Traceback" not in str(run.error)


@pytest.mark.parametrize(("raw", "path", "fragment"), BAD_CONFIGS, ids=[c[1] + ":" + str(c[2]) for c in BAD_CONFIGS])
def test_bad_config_names_the_key(raw, path, fragment):
    problems = problems_of(raw)
    assert path in problems, f"expected a problem at {path}, got {problems}"
    assert fragment in problems[path]


def test_all_problems_are_reported_together():
    problems = problems_of(
        {
            "istioVersion": "latest",
            "clusters": [
                {"name": "east", "vpcCidr": "10.0.0.0/16", "natGateways": "many"},
                {"name": "east", "vpcCidr": "10.0.0.0/16", "nodeGroup": {"minSize": 5, "maxSize": 1}},
            ],
        }
    )
    assert {
        "istioVersion",
        "clusters[0].natGateways",
        "clusters[1].name",
        "clusters[1].vpcCidr",
        "clusters[1].nodeGroup.desiredSize",
    } <= set(problems)


def test_error_is_a_run_error_with_a_readable_message():
    # Pulumi prints a RunError's message without a Python traceback.
    with pytest.raises(pulumi.RunError) as caught:
        parse(one_cluster(vpcCIDR="10.0.0.0/16"))
    message = str(caught.value)
    assert "istio-eks-mesh:clusters[0].vpcCIDR: unknown field; did you mean `vpcCidr`?" in message
    assert "nothing was created" in message


def test_region_comes_from_aws_region_or_must_be_set():
    assert parse(one_cluster(), region="eu-central-1").clusters[0].region == "eu-central-1"
    assert "aws:region" in problems_of(one_cluster(), region=None)["clusters[0].region"]


def test_a_bare_address_is_a_host_cidr():
    assert parse({**one_cluster(), "apiAccessCidrs": ["203.0.113.5"]}).api_access_cidrs == ("203.0.113.5/32",)


def test_long_stack_names_shorten_allowed_cluster_names():
    assert parse(one_cluster(), stack="dev").clusters[0].eks_name == "east-dev"
    problems = problems_of(one_cluster(), stack="production-" + "x" * 30)
    assert "too long" in problems["clusters[0].name"]


def _documented_defaults() -> dict[str, str]:
    """The default column of the config reference tables, by key or field."""
    reference = (Path(__file__).parent.parent / "docs/reference/config.md").read_text()
    section = reference.split("## Config", 1)[1].split("\n## Outputs", 1)[0]
    defaults = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            defaults[cells[0]] = cells[2]
    return defaults


def test_the_documented_defaults_are_the_ones_applied():
    documented = _documented_defaults()
    spec = parse({"clusters": [{"name": "east"}]})
    east, ng, pki = spec.clusters[0], spec.clusters[0].node_group, spec.pki

    def code(text: str) -> list[str]:
        return [part.strip("`") for part in text.split(" / ")]

    assert code(documented["`meshId`"]) == [spec.mesh_id]
    assert code(documented["`istioVersion`"]) == [spec.istio_version]
    assert code(documented["`kubernetesVersion`"]) == [east.kubernetes_version]
    assert code(documented["`natGateways`"]) == [east.nat_gateways]
    assert code(documented["`availabilityZones`"]) == [str(east.availability_zones)]
    assert code(documented["`role`"]) == [east.role]
    assert documented["`nodeGroup.instanceTypes`"] == f"`{json.dumps(list(ng.instance_types))}`"
    assert code(documented["`nodeGroup.desiredSize` / `minSize` / `maxSize`"]) == [
        str(ng.desired_size),
        str(ng.min_size),
        str(ng.max_size),
    ]
    assert code(documented["`nodeGroup.capacityType`"]) == [ng.capacity_type]
    assert code(documented["`network`"]) == ["network-<name>"] and east.network == "network-east"
    for key, value in (
        ("organization", pki.organization),
        ("keyAlgorithm", pki.key_algorithm),
        ("rootValidityDays", pki.root_validity_days),
        ("intermediateValidityDays", pki.intermediate_validity_days),
        ("earlyRenewalDays", pki.early_renewal_days),
    ):
        assert code(documented[f"`pki.{key}`"]) == [str(value)], key


def test_quotas_are_counted_as_aws_counts_them_and_refused_past_the_defaults_naming_the_key():
    # p: 3 NAT + 3 static gateway addresses, r: 1 NAT, all in us-east-1 (7 Elastic IPs); w alone in us-west-2.
    clusters = [
        {"name": "p", "natGateways": "perAz", "eastWestStaticIps": True},
        {"name": "r", "role": "remote", "primary": "p"},
        {"name": "w", "region": "us-west-2"},
    ]
    problems = problems_of({"clusters": clusters})
    assert set(problems) == {"serviceQuotas.elasticIpsPerRegion"}
    assert "needs 7 in us-east-1" in problems["serviceQuotas.elasticIpsPerRegion"]
    assert "AWS's default 5" in problems["serviceQuotas.elasticIpsPerRegion"]
    assert (
        parse({"clusters": clusters, "serviceQuotas": {"elasticIpsPerRegion": 7}}).service_quotas["elasticIpsPerRegion"]
        == 7
    )
    # Six single-NAT clusters in one region: six VPCs and internet gateways, six NAT gateways in its first zone.
    six = {"clusters": [{"name": f"c{i}", "vpcCidr": f"10.{i}.0.0/16"} for i in range(6)]}
    problems = problems_of(six)
    assert set(problems) == {
        "serviceQuotas.vpcsPerRegion",
        "serviceQuotas.internetGatewaysPerRegion",
        "serviceQuotas.natGatewaysPerAz",
        "serviceQuotas.elasticIpsPerRegion",
    }
    assert "needs 6 in one zone of us-east-1" in problems["serviceQuotas.natGatewaysPerAz"]
    raised = {"vpcsPerRegion": 6, "internetGatewaysPerRegion": 6, "natGatewaysPerAz": 6, "elasticIpsPerRegion": 5}
    assert set(problems_of({**six, "serviceQuotas": raised})) == {"serviceQuotas.elasticIpsPerRegion"}
    # Spread over zones (perAz), two clusters use 2 NAT gateways per zone, 6 Elastic IPs.
    two = {"clusters": [{"name": f"c{i}", "natGateways": "perAz"} for i in range(2)]}
    assert set(problems_of(two)) == {"serviceQuotas.elasticIpsPerRegion"}
    assert parse({**two, "serviceQuotas": {"elasticIpsPerRegion": 6}}).clusters


@pytest.mark.parametrize(
    ("quotas", "key", "says"),
    [
        (["vpcsPerRegion"], "serviceQuotas", "must be an object"),
        ({"vpcs": 5}, "serviceQuotas.vpcs", "unknown key"),
        ({"vpcsPerRegion": 0}, "serviceQuotas.vpcsPerRegion", "from 1 to"),
        ({"vpcsPerRegion": True}, "serviceQuotas.vpcsPerRegion", "got true"),
        ({"vpcsPerRegion": "20"}, "serviceQuotas.vpcsPerRegion", 'got "20"'),
        ({"vpcsPerRegion": 10**400}, "serviceQuotas.vpcsPerRegion", "too long to show"),
        ({"natGatewaysPerAz": 2.5}, "serviceQuotas.natGatewaysPerAz", "got 2.5"),
    ],
)
def test_bad_service_quotas_are_refused_with_their_key(quotas, key, says):
    problems = problems_of({"clusters": [{"name": "a"}], "serviceQuotas": quotas})
    assert says in problems.get(key, ""), problems


def test_a_refused_region_adds_no_problem_to_the_zones_that_follow_it():
    problems = problems_of(one_cluster(region="us-east-1\n", availabilityZones=["us-east-1a", "us-east-1b"]))
    assert list(problems) == ["clusters[0].region"]


# --- messages ------------------------------------------------------------------------------------


def message_of(raw: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    return str(caught.value)


def test_a_thousand_bad_entries_give_a_handful_of_lines():
    message = message_of({**one_cluster(), "apiAccessCidrs": [f"10.0.{i // 250}.{i % 250}/99" for i in range(1000)]})
    lines = [line for line in message.splitlines() if "apiAccessCidrs" in line]
    assert len(lines) == 4 and "apiAccessCidrs[*]: and 997 more like these" in lines[-1]
    assert max(len(line) for line in message.splitlines()) <= 600


def test_every_problem_is_one_line_in_yaml_words():
    raw = {
        **one_cluster(),
        "deploySamples": None,
        "meshId": True,
        "istioVersion": "1.30.3\n",
        "unknown\nkey": 1,
        "pki": {"keyAlgorithm": ["RSA"]},
        "x" * 5000: 1,
    }
    message = message_of(raw)
    problems = message.splitlines()[1:-1]
    assert len(problems) == 6 and all(line.startswith("  - istio-eks-mesh:") for line in problems), message
    # null, true and "strings", as the stack file spells them; never Python's None, True or 'x'.
    assert "got null" in message and "got true/false true" in message and '"1.30.3\\n"' in message
    assert not any(word in message for word in ("None", "True", "False", "['"))


def test_a_mistake_in_clusters_is_not_reported_again_by_the_keys_that_use_them():
    raw = {
        "clusters": [{"name": "East", "region": "us-east-1"}, {"name": "west", "region": "us-west-2"}],
        "trafficPolicy": {"failover": [{"from": "us-east-1", "to": "us-west-2"}]},
    }
    assert list(problems_of(raw)) == ["clusters[0].name"]


def test_different_problems_of_list_items_are_all_shown():
    clusters = [
        {"name": "a", "natGateways": "x"},
        {"name": "b", "role": "x"},
        {"name": "c", "nodeGroup": []},
        {"name": "d", "vpcCidr": "x"},
    ]
    message = message_of({"clusters": clusters})
    assert "more like these" not in message
    assert all(f"clusters[{i}]" in message for i in range(4))


# Every problem in one run: a refused value is named once and feeds no later check.
NOW = __import__("datetime").datetime(2026, 12, 7, tzinfo=__import__("datetime").UTC)


def all_problems(raw: dict, **kwargs) -> tuple[list[tuple[str, str]], str]:
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec(raw, default_region="us-east-1", stack="dev", now=NOW, **kwargs)
    return caught.value.problems, str(caught.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # A refused cluster hides no check of another: the support policy of the second is still checked.
        (
            {
                "clusters": [
                    {"name": "East"},
                    {"name": "west", "region": "us-west-2", "kubernetesVersion": "1.32", "supportType": "STANDARD"},
                ]
            },
            ["clusters[0].name", "clusters[1].supportType"],
        ),
        # A remote whose primary was refused is not reported again.
        (
            {
                "clusters": [
                    {"name": "hub", "nodeGroup": {"minSize": -1}},
                    {"name": "r", "role": "remote", "primary": "hub"},
                ]
            },
            ["clusters[0].nodeGroup.minSize"],
        ),
        # A meshCidr too small for a VPC is the one problem: no "no free /16" for the clusters.
        ({"meshCidr": "10.0.0.0/29", "clusters": [{"name": "a"}, {"name": "b"}]}, ["meshCidr"]),
        # A refused meshCidr is not the default 10.0.0.0/8 that operator networks would overlap.
        (
            {
                "meshCidr": "10.0.0.0/33",
                "connectivity": "private",
                "operatorCidrs": ["10.200.0.0/16"],
                "transitGateways": {"us-east-1": "tgw-0123456789abcdef0"},
                "transitGatewayRouting": {
                    "us-east-1": {
                        "operatorAttachment": "tgw-attach-0123456789abcdef0",
                        "returnRouteTable": "tgw-rtb-0123456789abcdef0",
                    }
                },
                "clusters": [{"name": "a"}],
            },
            ["meshCidr"],
        ),
        # One stack, one partition.
        (
            {
                "clusters": [
                    {"name": "a"},
                    {"name": "b", "region": "cn-north-1"},
                    {"name": "c", "region": "us-gov-west-1"},
                ]
            },
            ["clusters[1].region", "clusters[2].region"],
        ),
    ],
)
def test_each_problem_is_reported_once_and_none_is_hidden(raw, expected):
    found, _ = all_problems(raw)
    assert sorted(path for path, _ in found) == expected


def test_clusters_of_one_partition_are_accepted_wherever_it_is():
    spec = parse({"clusters": [{"name": "a", "region": "cn-north-1"}, {"name": "b", "region": "cn-northwest-1"}]})
    assert [c.region for c in spec.clusters] == ["cn-north-1", "cn-northwest-1"]


def test_a_map_of_thousands_of_bad_entries_reads_in_a_few_lines():
    found, message = all_problems({"clusters": [{"name": "a"}], "ipamPools": {f"r{i}": 5 for i in range(3000)}})
    assert len(found) == 3000
    lines = message.splitlines()
    assert len(lines) <= 10 and "ipamPools.*: and 2997 more like these" in message


def test_a_config_wrong_everywhere_still_reads_in_a_screen():
    clusters = [{"name": f"c{i}", "region": f"nowhere-{i}", "vpcCidr": i, "nodeGroup": i} for i in range(200)]
    _, message = all_problems({"clusters": clusters, "meshId": 5, "istioVersion": "x"})
    assert len(message.splitlines()) <= 43  # 40 problem lines, the heading and the fix line


def test_a_secret_value_never_appears_in_a_message():
    secret = "https://deploy:hunter2-token@charts.example.com/istio?sig=abc123"
    _, message = all_problems(
        {"clusters": [{"name": "a"}], "istioChartRepository": secret}, secret_keys=frozenset({"istioChartRepository"})
    )
    assert "istioChartRepository" in message
    assert "hunter2" not in message and "abc123" not in message and "deploy:" not in message


@pytest.mark.parametrize("quantity", ["2 GB", "2GB", "lots", "-1Gi", "1.5.2", True, -2, "", "Gi"])
def test_istio_resources_take_only_kubernetes_quantities(quantity):
    raw = {"clusters": [{"name": "a"}], "istioValues": {"gateway": {"resources": {"limits": {"memory": quantity}}}}}
    found, _ = all_problems(raw)
    assert [path for path, _ in found] == ["istioValues.gateway.resources.limits.memory"]


@pytest.mark.parametrize("quantity", ["2Gi", "500m", "1.5", 2, 0.5, "1e3", "128M", ".5"])
def test_kubernetes_quantities_pass(quantity):
    raw = {
        "clusters": [{"name": "a"}],
        "istioValues": {"istiod": {"global": {"proxy": {"resources": {"requests": {"cpu": quantity}}}}}},
    }
    spec = parse_mesh_spec(raw, default_region="us-east-1", stack="dev", now=NOW)
    assert spec.istio_values["istiod"]["global"]["proxy"]["resources"]["requests"]["cpu"] == quantity


def test_a_resources_object_has_the_shape_kubernetes_reads():
    raw = {
        "clusters": [{"name": "a"}],
        "istioValues": {"istiod": {"resources": {"request": {"cpu": "1"}, "limits": "2Gi"}}},
    }
    found, _ = all_problems(raw)
    assert sorted(path for path, _ in found) == [
        "istioValues.istiod.resources.limits",
        "istioValues.istiod.resources.request",
    ]


def test_project_keys_aws_settings_and_upgrade_steps_are_reported_in_one_error():
    from components.config.whole import check_stack_config

    raw = {"clusters": [{"name": "East"}, {"name": "west", "kubernetesVersion": "1.35"}]}
    last = LastDeployment(clusters=frozenset({"west"}), addon_versions={"west": {"kubernetesVersion": "1.33"}})
    aws = {"region": "us-east-1", "profile": '["dev", "prod"]', "defaultTags": {"tag": {"team": "mesh"}}}
    with pytest.raises(ConfigError) as caught:
        check_stack_config(raw, aws, stack="dev", now=NOW, last=last)
    assert sorted(p for p, _ in caught.value.problems) == [
        "aws:defaultTags.tag",
        "aws:profile",
        "clusters[0].name",
        "clusters[1].kubernetesVersion",
    ]
    assert "not a list" in dict(caught.value.problems)["aws:profile"]


def test_thousands_of_unknown_keys_collapse_into_one_line():
    found, message = all_problems({"clusters": [{"name": "a"}], **{f"k{i}": 1 for i in range(5000)}})
    assert len(found) == 5000 and len(message.splitlines()) <= 6
    assert "istio-eks-mesh:*: and 4997 more like these" in message


def test_an_aws_region_of_the_wrong_type_is_named_as_such():
    from components.config.whole import check_stack_config

    with pytest.raises(ConfigError) as caught:
        check_stack_config({"clusters": [{"name": "a"}]}, {"region": 5}, stack="dev", now=NOW)
    assert [path for path, _ in caught.value.problems] == ["aws:region"]


# Found by a hostile review: each row failed before its fix.
def _one_error(raw: dict, aws: dict | None = None, **kwargs) -> ConfigError:
    from components.config.whole import check_stack_config

    with pytest.raises(ConfigError) as caught:
        check_stack_config(raw, {"region": "us-east-1", **(aws or {})}, stack="dev", now=NOW, **kwargs)
    return caught.value


def test_a_number_too_long_to_print_is_reported_not_raised():
    error = _one_error({"clusters": [{"name": 10**5000}], "pki": {"rootValidityDays": -(10**5000)}})
    assert {p for p, _ in error.problems} == {"clusters[0].name", "pki.rootValidityDays"}
    assert len(str(error)) < 5000


def test_secret_aws_settings_numbers_and_long_strings_are_withheld():
    long_role = "arn:aws-cn:iam::123456789012:role/" + "TopSecretRoleName" * 4
    error = _one_error(
        {"clusters": [{"name": "a"}], "clusterAdmins": [long_role, 123456789012]},
        {"profile": " my-secret-profile "},
        secret_keys=frozenset({"clusterAdmins"}),
        aws_secret_keys=frozenset({"profile"}),
    )
    message = str(error)
    assert {p for p, _ in error.problems} >= {"aws:profile", "clusterAdmins[0]", "clusterAdmins[1]"}
    assert "my-secret-profile" not in message and "123456789012" not in message and "TopSecret" not in message


def test_a_refused_project_key_invents_no_aws_problem():
    role = {"roleArn": "arn:aws:iam::111122223333:role/a"}
    chain = [role, {"roleArn": "arn:aws:iam::111122223333:role/b"}]
    kubeconfig = "arn:aws:iam::111122223333:role/kube"
    error = _one_error(
        {"meshId": "Bad", "kubeconfigRoleArn": kubeconfig, "clusters": [{"name": "a"}]}, {"assumeRoles": chain}
    )
    assert [p for p, _ in error.problems] == ["meshId"]
    # Clusters in two partitions are named once, on the cluster, not again on the role's partition.
    error = _one_error({"clusters": [{"name": "a"}, {"name": "b", "region": "us-gov-west-1"}]}, {"assumeRoles": [role]})
    assert [p for p, _ in error.problems] == ["clusters[1].region"]


def test_messages_name_a_listed_cidr_by_its_place_in_the_list():
    error = _one_error(
        {"clusters": [{"name": "a"}], "apiAccessCidrs": ["203.0.113.0/24", "203.0.113.0/24", "10.0.0.0/8"]}
    )
    assert [p for p, _ in error.problems] == ["apiAccessCidrs[2]"]


def test_typos_in_region_keys_show_beside_a_refused_cluster():
    error = _one_error(
        {
            "clusters": [{"name": "a"}, {"name": "b", "region": "us-west-2", "nodeGroup": {"maxSize": "x"}}],
            "ipamPools": {"us-eats-1": "ipam-pool-0123456789abcdef0"},
            "trafficPolicy": {"failover": [{"from": "us-eats-1", "to": "us-west-2"}]},
        }
    )
    paths = {p for p, _ in error.problems}
    assert paths >= {"clusters[1].nodeGroup.maxSize", "ipamPools.us-eats-1", "trafficPolicy.failover[0].from"}
    assert "did you mean 'us-east-1'" in dict(error.problems)["ipamPools.us-eats-1"]


def test_private_mode_refuses_api_access_once_and_suggests_the_case():
    error = _one_error({"clusters": [{"name": "a"}], "connectivity": "Private"})
    assert 'did you mean "private"' in dict(error.problems)["connectivity"]
    private = {
        "clusters": [{"name": "a"}],
        "connectivity": "private",
        "meshCidr": "10.0.0.0/8",
        "transitGateways": {"us-east-1": "tgw-0123456789abcdef0"},
        "apiAccessCidrs": ["10.0.0.0/8"],
    }
    assert [p for p, _ in _one_error(private).problems] == ["apiAccessCidrs"]


@pytest.mark.parametrize(
    ("resources", "path"),
    [
        ({"requests": {"memory": "4Gi"}, "limits": {"memory": "1e3"}}, "istioValues.gateway.resources.limits.memory"),
        ({"limits": {"cpu": float("inf")}}, "istioValues.gateway.resources.limits.cpu"),
    ],
)
def test_resource_amounts_kubernetes_would_refuse_are_refused(resources, path):
    error = _one_error({"clusters": [{"name": "a"}], "istioValues": {"gateway": {"resources": resources}}})
    assert [p for p, _ in error.problems] == [path]


def test_an_exponent_quantity_still_has_to_fit_on_the_nodes():
    error = _one_error(
        {"clusters": [{"name": "a"}], "istioValues": {"istiod": {"resources": {"requests": {"memory": "1e12"}}}}}
    )
    assert [p for p, _ in error.problems] == ["clusters[0].nodeGroup.instanceTypes"]


def test_different_keys_alike_are_each_named():
    clusters = [{"name": f"c{i}", "protect": 3, "eastWestStaticIps": 4} for i in range(4)]
    message = str(_one_error({"clusters": clusters}))
    assert "clusters[*].protect: and 1 more" in message and "clusters[*].eastWestStaticIps: and 1 more" in message


def test_sixty_thousand_bad_entries_are_checked_in_seconds():
    import time

    start = time.monotonic()
    _one_error({"clusters": [{"name": "a"}], "apiAccessCidrs": [f"x{i}" for i in range(60_000)]})
    assert time.monotonic() - start < 10


def test_two_arns_of_one_role_are_one_access_entry():
    role, same = "arn:aws:iam::111122223333:role/x", "arn:aws:iam::111122223333:role/team/x"
    error = _one_error({"clusters": [{"name": "a"}], "clusterAdmins": [role, same]})
    assert [p for p, _ in error.problems] == ["clusterAdmins[1]"]
    spec = parse({"clusters": [{"name": "a"}], "clusterAdmins": [same], "kubeconfigRoleArn": role})
    assert spec.access.admins == (same,)
