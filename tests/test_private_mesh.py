"""`connectivity: private`: no public endpoint, internal NLBs, the VPCs joined by Transit Gateways;
checked with a reachability model over the registered graph (subnet -> route table -> Transit
Gateway attachment -> its route table -> peering -> the other region's gateway -> the VPC)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json

import pytest

from components.config.connectivity import private_notices
from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.model.deployed import LastDeployment
from components.model.spec import OperatorAttachmentFacts, TransitGatewayFacts
from components.plan.istio_values import istiod_resources
from components.plan.mesh_plan import plan_mesh
from tests.harness import Run, cached_run, run_program
from tests.helpers import RAISED, mocks_with, recorded
from tests.impact import CREATED, DELETED, REPLACED, change_impact, of_kind
from tests.mocks import OPERATOR_TABLE

OPERATORS = "192.168.10.0/24"
EXISTING_GATEWAY = "aws:ec2transitgateway/getTransitGateway:getTransitGateway"
TGW = "aws:ec2transitgateway/"
MESH = "10.64.0.0/10"
GATEWAY = "tgw-0123456789abcdef0"
OPERATOR_ATTACHMENT = "tgw-attach-0123456789abcdef0"
ENTRY = {"operatorAttachment": OPERATOR_ATTACHMENT, "returnRouteTable": "tgw-rtb-0123456789abcdef0"}
# The operators' network is attached to the network team's gateway in us-east-1; the mesh makes the others.
PRIVATE = {
    "connectivity": "private",
    "meshCidr": MESH,
    "operatorCidrs": [OPERATORS],
    "transitGateways": {"us-east-1": GATEWAY},
    # Their VPN attachment there, and the network team's table it is associated with.
    "transitGatewayRouting": {
        "us-east-1": {"operatorAttachment": OPERATOR_ATTACHMENT, "returnRouteTable": OPERATOR_TABLE}
    },
}
MODELS = {
    "multi-primary-three-regions": {
        **PRIVATE,
        "clusters": [
            {"name": "a", "region": "us-east-1"},
            {"name": "b", "region": "us-west-2"},
            {"name": "c", "region": "eu-west-1"},
        ],
    },
    "primary-remote": {
        **PRIVATE,
        "clusters": [
            {"name": "p", "region": "us-east-1"},
            {"name": "r", "region": "us-west-2", "role": "remote", "primary": "p"},
        ],
    },
    "shared-network": {
        **PRIVATE,
        "clusters": [
            {"name": "a", "region": "us-east-1", "network": "n1"},
            {"name": "b", "region": "us-east-1", "network": "n1"},
            {"name": "c", "region": "eu-west-1", "network": "n1"},
            {"name": "d", "region": "eu-west-1", "network": "n2"},
        ],
    },
}


def model(name: str) -> Run:
    run = cached_run(MODELS[name])
    assert run.error is None, run.error
    return run


def by_id(run: Run, type_: str) -> dict[str, dict]:
    return {r.id: r.inputs | r.outputs for r in run.of_type(type_)}


def vpc_tables(run: Run) -> dict[str, list[list[dict]]]:
    """Per VPC ID, the routes of each route table its private subnets use."""
    routes = [r.inputs for r in run.of_type("aws:ec2/route:Route")]
    associated = {
        a.inputs["routeTableId"]
        for a in run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if "-private-" in a.name
    }
    tables: dict[str, list[list[dict]]] = {}
    for table in run.of_type("aws:ec2/routeTable:RouteTable"):
        if table.id in associated:
            tables.setdefault(table.inputs["vpcId"], []).append([r for r in routes if r["routeTableId"] == table.id])
    return tables


def longest_match(
    entries: list[dict], address: ipaddress.IPv4Address, key: str = "destinationCidrBlock"
) -> dict | None:
    matching = [e for e in entries if address in ipaddress.IPv4Network(e[key])]
    return max(matching, key=lambda e: ipaddress.IPv4Network(e[key]).prefixlen, default=None)


def route_domain(run: Run) -> tuple[dict, dict, dict]:
    """As AWS would route: (per (gateway, attachment), the table it is associated with; per table, its
    entries; per attachment, where it leads: a VPC, "operators", or a peering's two gateways)."""
    gateways = by_id(run, "aws:ec2transitgateway/transitGateway:TransitGateway")
    # Gateways of the network team's (`transitGateways`), as the program read them.
    existing = {found["id"]: found for token, found in run.invokes if token == EXISTING_GATEWAY}
    gateways |= existing
    operators = [a for t, a in run.invokes if t == "aws:ec2transitgateway/getAttachment:getAttachment"]
    vpcs = {v.id: v.inputs["cidrBlock"] for v in run.of_type("aws:ec2/vpc:Vpc")}
    leads: dict[str, object] = {a["id"]: "operators" for a in operators}
    table_of: dict[tuple[str, str], str] = {
        (a["transitGatewayId"], a["id"]): a["associationTransitGatewayRouteTableId"] for a in operators
    }
    gateway_of_table = {t.id: t.inputs["transitGatewayId"] for t in run.of_type(TGW + "routeTable:RouteTable")}
    gateway_of_table |= {g["associationDefaultRouteTableId"]: gid for gid, g in gateways.items()}
    gateway_of_table[OPERATOR_TABLE] = GATEWAY
    entries: dict[str, list[dict]] = {}
    for a in run.of_type(TGW + "vpcAttachment:VpcAttachment"):
        leads[a.id] = a.inputs["vpcId"]
        gateway = gateways[a.inputs["transitGatewayId"]]
        # Default association and propagation apply where the gateway and the attachment keep them on.
        if a.inputs.get("transitGatewayDefaultRouteTableAssociation", True) is not False:
            assert gateway["defaultRouteTableAssociation"] == "enable"
            table_of[(a.inputs["transitGatewayId"], a.id)] = gateway["associationDefaultRouteTableId"]
        if a.inputs.get("transitGatewayDefaultRouteTablePropagation", True) is not False:
            assert gateway["defaultRouteTablePropagation"] == "enable"
            entries.setdefault(gateway["propagationDefaultRouteTableId"], []).append(
                {"destinationCidrBlock": vpcs[a.inputs["vpcId"]], "to": a.id}
            )
    for p in run.of_type(TGW + "peeringAttachment:PeeringAttachment"):
        leads[p.id] = (p.inputs["transitGatewayId"], p.inputs["peerTransitGatewayId"])
        for gid in leads[p.id]:
            if gateways[gid]["defaultRouteTableAssociation"] == "enable":
                table_of[(gid, p.id)] = gateways[gid]["associationDefaultRouteTableId"]
    for r in run.of_type(TGW + "routeTableAssociation:RouteTableAssociation"):
        table = r.inputs["transitGatewayRouteTableId"]
        table_of[(gateway_of_table[table], r.inputs["transitGatewayAttachmentId"])] = table
    cidr_of = {**vpcs, **{a["id"]: OPERATORS for a in operators}}
    vpc_of = {a.id: a.inputs["vpcId"] for a in run.of_type(TGW + "vpcAttachment:VpcAttachment")}
    for r in run.of_type(TGW + "routeTablePropagation:RouteTablePropagation"):
        attachment = r.inputs["transitGatewayAttachmentId"]
        cidr = cidr_of.get(vpc_of.get(attachment, attachment))
        entries.setdefault(r.inputs["transitGatewayRouteTableId"], []).append(
            {"destinationCidrBlock": cidr, "to": attachment}
        )
    for r in run.of_type(TGW + "route:Route"):
        entries.setdefault(r.inputs["transitGatewayRouteTableId"], []).append(
            {"destinationCidrBlock": r.inputs["destinationCidrBlock"], "to": r.inputs["transitGatewayAttachmentId"]}
        )
    return table_of, entries, leads


def reaches_from(run: Run, gateway: str, attachment: str, address: ipaddress.IPv4Address) -> str | None:
    """Where a packet arriving at `gateway` through `attachment` ends: a VPC ID, "operators" or None."""
    table_of, entries, leads = route_domain(run)
    for _ in range(3):
        table = table_of.get((gateway, attachment))
        hit = longest_match(entries.get(table, []), address) if table else None
        if hit is None:
            return None
        lead = leads[hit["to"]]
        if isinstance(lead, str):
            return lead
        # Over a peering: routed on the other side by the table the peering is associated with there.
        gateway, attachment = (lead[1] if lead[0] == gateway else lead[0]), hit["to"]
    return None  # more than two peerings: AWS does not route transitively


def reaches(run: Run, source_vpc: str, address: ipaddress.IPv4Address) -> set[str]:
    """The VPCs a packet from `source_vpc` to `address` can end in, over every route table of the
    source's private subnets (each must deliver it; a table that drops it yields nothing)."""
    vpcs = {v.id: ipaddress.IPv4Network(v.inputs["cidrBlock"]) for v in run.of_type("aws:ec2/vpc:Vpc")}
    attachment_of = {a.inputs["vpcId"]: a.id for a in run.of_type(TGW + "vpcAttachment:VpcAttachment")}
    ends = set()
    for routes in vpc_tables(run)[source_vpc]:
        if address in vpcs[source_vpc]:
            ends.add(source_vpc)
            continue
        hit = longest_match(routes, address)
        if hit is None or "transitGatewayId" not in hit:
            return set()
        end = reaches_from(run, hit["transitGatewayId"], attachment_of[source_vpc], address)
        if end is None:
            return set()
        ends.add(end)
    return ends


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_mesh_vpc_reaches_every_other_vpcs_private_subnets(name):
    run = model(name)
    subnets = [s.inputs for s in run.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    vpc_ids = [v.id for v in run.of_type("aws:ec2/vpc:Vpc")]
    for source in vpc_ids:
        for subnet in subnets:
            target = ipaddress.IPv4Network(subnet["cidrBlock"])
            assert reaches(run, source, target.network_address + 10) == {subnet["vpcId"]}, (source, subnet["cidrBlock"])
        # Replies to the operators, from every region, find the gateway they are attached to.
        assert reaches(run, source, ipaddress.IPv4Network(OPERATORS).network_address + 10) == {"operators"}, source
    # And the operators reach every VPC, from the network team's table their attachment is associated with.
    for subnet in subnets:
        address = ipaddress.IPv4Network(subnet["cidrBlock"]).network_address + 10
        assert reaches_from(run, GATEWAY, OPERATOR_ATTACHMENT, address) == subnet["vpcId"], subnet["cidrBlock"]
    # And nothing outside the mesh's space goes to a Transit Gateway except the operators' networks.
    for routes in (r for tables in vpc_tables(run).values() for r in tables):
        to_tgw = {r["destinationCidrBlock"] for r in routes if "transitGatewayId" in r}
        assert to_tgw == {MESH, OPERATORS}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_nothing_is_public_and_no_nat_address_is_allowed_anywhere(name):
    run = model(name)
    nat_ips = {f"{e.outputs['publicIp']}/32" for e in run.of_type("aws:ec2/eip:Eip")}
    for cluster in run.of_type("eks:index:Cluster"):
        assert cluster.inputs["endpointPublicAccess"] is False and cluster.inputs["endpointPrivateAccess"] is True
        assert "publicAccessCidrs" not in cluster.inputs
    for release in (
        r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "istio-eastwestgateway"
    ):
        service = release.inputs["values"]["service"]
        assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
        assert service["loadBalancerSourceRanges"] == [MESH]
    for route in run.of_type("aws:ec2/route:Route"):
        if route.inputs["destinationCidrBlock"] == "0.0.0.0/0":
            assert set(route.inputs) & {"natGatewayId", "gatewayId"}, route.name
    everything = json.dumps([r.inputs for r in run.resources])
    assert not [ip for ip in nat_ips if ip in everything]
    rules = [r.inputs for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    assert all(r["cidrIpv4"] != "0.0.0.0/0" for r in rules)
    # The control planes admit the mesh and the operators on 443, a handful of rules per cluster.
    api = [r for r in rules if r.get("fromPort") == 443]
    assert {r["cidrIpv4"] for r in api} == {MESH, OPERATORS}
    assert not run.of_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")


def test_clusters_on_one_network_admit_each_other_without_vpc_peering():
    run = model("shared-network")
    vpcs = {v.name.removesuffix("-network-vpc"): v.inputs["cidrBlock"] for v in run.of_type("aws:ec2/vpc:Vpc")}
    admitted = {
        (r.name.split("-same-network-")[1].removesuffix("-ingress"), r.inputs["cidrIpv4"])
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if "-same-network-" in r.name
    }
    pairs = [("a", "b"), ("a", "c"), ("b", "c")]
    assert admitted == {(x, vpcs[y]) for p in pairs for x, y in (p, p[::-1])}


def test_the_kubernetes_provider_waits_for_the_path_operators_take():
    run = model("multi-primary-three-regions")
    provider = run.one("pulumi:providers:kubernetes", "a-k8s")
    attachment = run.one("aws:ec2transitgateway/vpcAttachment:VpcAttachment", "a-tgw-attachment")
    api_rules = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith("a-api-from-")
    ]
    assert run.depends_on(provider, attachment) and all(run.depends_on(provider, r) for r in api_rules)
    # The endpoint turns private (on a deployed cluster) only once its paths are there.
    assert run.depends_on(run.one("eks:index:Cluster", "a-eks"), attachment)
    # Routes to a gateway wait for the attachment; routes over a peering for its acceptance.
    attachment_of = {a.inputs["vpcId"]: a for a in run.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")}
    vpc_of_table = {t.id: t.inputs["vpcId"] for t in run.of_type("aws:ec2/routeTable:RouteTable")}
    for route in run.of_type("aws:ec2/route:Route"):
        if "transitGatewayId" in route.inputs:
            assert run.depends_on(route, attachment_of[vpc_of_table[route.inputs["routeTableId"]]]), route.name
    accepter_of = {
        a.inputs["transitGatewayAttachmentId"]: a
        for a in run.of_type("aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter")
    }
    for route in run.of_type("aws:ec2transitgateway/route:Route"):
        assert run.depends_on(route, accepter_of[route.inputs["transitGatewayAttachmentId"]]), route.name


def test_an_existing_transit_gateway_is_attached_to_not_made():
    run = run_program(
        MODELS["multi-primary-three-regions"], mock_factory=mocks_with(existing_gateways={"us-east-1": [GATEWAY]})
    )
    assert run.error is None, run.error
    assert sorted(g.name for g in run.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")) == [
        "tgw-eu-west-1",
        "tgw-us-west-2",
    ]
    attachment = run.one("aws:ec2transitgateway/vpcAttachment:VpcAttachment", "a-tgw-attachment")
    assert attachment.inputs["transitGatewayId"] == "tgw-0123456789abcdef0"
    vpcs = {v.id: ipaddress.IPv4Network(v.inputs["cidrBlock"]) for v in run.of_type("aws:ec2/vpc:Vpc")}
    for source in vpcs:
        for target, cidr in vpcs.items():
            assert reaches(run, source, cidr.network_address + 10) == {target}


def test_the_mesh_writes_into_the_network_teams_tables_only_what_transit_gateway_routing_names():
    run = model("multi-primary-three-regions")
    team = run.one(TGW + "routeTable:RouteTable", "tgw-rtb-us-east-1")
    assert team.inputs["transitGatewayId"] == GATEWAY
    # Its default table is neither associated with nor propagated into; only the operators' table gets
    # the mesh's ranges, and nothing but the mesh's VPC ranges.
    default = next(f for t, f in run.invokes if t == EXISTING_GATEWAY)["associationDefaultRouteTableId"]
    attachment = run.one(TGW + "vpcAttachment:VpcAttachment", "a-tgw-attachment")
    assert attachment.inputs["transitGatewayDefaultRouteTableAssociation"] is False
    assert attachment.inputs["transitGatewayDefaultRouteTablePropagation"] is False
    written = [
        r.inputs
        for r in run.resources
        if r.type.startswith(TGW) and r.inputs.get("transitGatewayRouteTableId") in (default, OPERATOR_TABLE)
    ]
    vpcs = {v.inputs["cidrBlock"] for v in run.of_type("aws:ec2/vpc:Vpc") if not v.name.startswith("a-")}
    assert {r["destinationCidrBlock"] for r in written if "destinationCidrBlock" in r} == vpcs
    assert all(r["transitGatewayRouteTableId"] == OPERATOR_TABLE for r in written)
    assert [r["transitGatewayAttachmentId"] for r in written if "destinationCidrBlock" not in r] == [attachment.id]
    # The operators' attachment propagates into the mesh's table, nowhere else.
    operators = [
        r.inputs["transitGatewayRouteTableId"]
        for r in run.of_type(TGW + "routeTablePropagation:RouteTablePropagation")
        if r.inputs["transitGatewayAttachmentId"] == OPERATOR_ATTACHMENT
    ]
    assert operators == [team.id]


def test_a_network_teams_gateway_with_defaults_off_or_split_serves_the_mesh():
    # The mesh relies on neither default: association and propagation off, or two default tables.
    options = {"defaultRouteTablePropagation": "disable", "propagationDefaultRouteTableId": "tgw-rtb-0aaaaaaaaaaaaaaaa"}
    run = run_program(MODELS["primary-remote"], mock_factory=mocks_with(gateway_options={GATEWAY: options}))
    assert run.error is None, run.error
    vpcs = {v.id: ipaddress.IPv4Network(v.inputs["cidrBlock"]) for v in run.of_type("aws:ec2/vpc:Vpc")}
    assert all(reaches(run, s, cidr.network_address + 10) == {t} for s in vpcs for t, cidr in vpcs.items())


@pytest.mark.parametrize(
    ("mocks", "says"),
    [
        # Not a gateway of that region.
        ({"existing_gateways": {"us-west-2": [GATEWAY]}}, "transitGateways.us-east-1: " + GATEWAY + " cannot be read"),
        # Shared through RAM from another account: only the owner writes its tables and accepts peerings.
        ({"gateway_options": {GATEWAY: {"ownerId": "210987654321"}}}, "transitGateways.us-east-1: " + GATEWAY),
        (
            {
                "attachments": {
                    OPERATOR_ATTACHMENT: {"associationTransitGatewayRouteTableId": "tgw-rtb-0bbbbbbbbbbbbbbbb"}
                }
            },
            "transitGatewayRouting.us-east-1.operatorAttachment: " + OPERATOR_ATTACHMENT + " is associated with"
            " tgw-rtb-0bbbbbbbbbbbbbbbb",
        ),
        (
            {"attachments": {OPERATOR_ATTACHMENT: {"transitGatewayId": "tgw-0ccccccccccccccccc"}}},
            "is an attachment of tgw-0ccccccccccccccccc",
        ),
        ({"attachments": {OPERATOR_ATTACHMENT: {"state": "pending"}}}, "is pending, not available"),
        # Only another attachment exists: this one is not found.
        (
            {"attachments": {"tgw-attach-0eeeeeeeeeeeeeeee": {}}},
            "operatorAttachment: " + OPERATOR_ATTACHMENT + " cannot be read",
        ),
        # A network inside meshCidr in the operators' table already: the mesh's ranges would clash with it.
        (
            {"team_routes": {OPERATOR_TABLE: ["10.66.4.0/24"]}},
            "returnRouteTable: " + OPERATOR_TABLE + " routes 10.66.4.0/24",
        ),
        ({"team_routes": {OPERATOR_TABLE: [MESH]}}, "routes " + MESH + " already"),
        (
            {"missing_tables": frozenset({OPERATOR_TABLE})},
            "returnRouteTable: " + OPERATOR_TABLE + " cannot be read in us-east-1 (",
        ),
        # The reads run before anything, through the default provider: without a region it cannot ask.
        ({"caller_unknown": True}, "give it aws:region"),
    ],
    ids=[
        "not-in-region",
        "ram-shared",
        "operators-elsewhere",
        "other-gateway",
        "pending",
        "not-found",
        "route-inside-mesh",
        "route-to-mesh",
        "no-return-table",
        "no-caller",
    ],
)
def test_what_aws_would_refuse_on_the_network_teams_gateway_stops_the_run_first(mocks, says):
    run = run_program(MODELS["multi-primary-three-regions"], mock_factory=mocks_with(**mocks))
    assert run.error is not None and says in str(run.error), run.error
    # Read and refused with the config's other problems, before any resource (a VPC included) exists.
    assert "invalid stack configuration" in str(run.error) and run.resources == []


def test_each_network_team_gateway_is_read_in_its_own_region():
    # Read before validation through the default provider: each read names its region.
    there = run_program(
        TEAM_IN_WEST, mock_factory=mocks_with(existing_gateways={"us-east-1": [GATEWAY], "us-west-2": [TEAM_WEST]})
    )
    assert there.error is None, there.error
    elsewhere = run_program(
        TEAM_IN_WEST, mock_factory=mocks_with(existing_gateways={"us-east-1": [GATEWAY, TEAM_WEST]})
    )
    assert f"transitGateways.us-west-2: {TEAM_WEST} cannot be read in us-west-2" in str(elsewhere.error)


def test_the_meshs_deployed_routes_in_the_operators_table_are_its_own():
    # A cluster being removed (or whose entry is refused this run) still has its range routed in the
    # operators' table from the last run: that route is the mesh's own, no conflict.
    facts = {
        "us-east-1": TransitGatewayFacts(
            GATEWAY,
            "123456789012",
            "123456789012",
            attachment=OperatorAttachmentFacts(GATEWAY, "available", OPERATOR_TABLE),
            return_routes=("10.0.0.0/8", "10.70.0.0/16"),
        )
    }
    last = LastDeployment(clusters=frozenset({"a", "b", "c", "gone"}), vpc_cidrs={"gone": "10.70.0.0/16"})
    config = {**OWN_WEST, **RAISED}
    assert parse_mesh_spec(config, default_region="us-east-1", stack="dev", gateways=facts, last=last)
    with pytest.raises(ConfigError) as refused:
        parse_mesh_spec(config, default_region="us-east-1", stack="dev", gateways=facts)
    assert "routes 10.70.0.0/16 already" in str(refused.value)


def test_wider_routes_and_the_meshs_own_leave_the_operators_table_usable():
    # A default route, the corporate aggregate holding meshCidr, another network, and a mesh VPC's own
    # range (from an earlier run) are no conflict.
    pinned = cached_run(OWN_WEST)
    routes = ["0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "10.65.0.0/16"]
    run = run_program(OWN_WEST, mock_factory=mocks_with(team_routes={OPERATOR_TABLE: routes}))
    assert run.error is None, run.error
    assert len(run.resources) == len(pinned.resources)


def parse(raw: dict):
    return parse_mesh_spec(raw, default_region="us-east-1", stack="dev")


def test_fifty_private_clusters_in_four_regions_with_defaulted_ranges_are_accepted():
    regions = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1")
    for role in ("primary", "remote"):
        clusters = [
            {"name": f"c{i}", "region": regions[i % 4], "nodeGroup": {"instanceTypes": ["m6i.xlarge"]}}
            for i in range(50)
        ]
        if role == "remote":
            clusters = [clusters[0], *({**c, "role": "remote", "primary": "c0"} for c in clusters[1:])]
        spec = parse({**PRIVATE, **RAISED, "clusters": clusters})
        ranges = [c.vpc_cidr for c in spec.clusters]
        assert len(ranges) == 50 and all(not a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
        assert all(r.subnet_of(ipaddress.IPv4Network(MESH)) for r in ranges)
        # Deployed (its ranges recorded), then changed: every remaining cluster keeps its range.
        deployed = LastDeployment(
            clusters=frozenset(c.name for c in spec.clusters),
            vpc_cidrs={c.name: str(c.vpc_cidr) for c in spec.clusters},
        )
        kept = {c.name: c.vpc_cidr for c in spec.clusters}
        added = [
            *clusters,
            {
                "name": "new",
                "region": regions[1],
                **({"role": "remote", "primary": "c0"} if role == "remote" else {}),
                "nodeGroup": {"instanceTypes": ["m6i.2xlarge"]},
            },
        ]
        for changed in (clusters[::-1], [clusters[0], *clusters[2:]], added):
            after = parse_mesh_spec(
                {**PRIVATE, **RAISED, "clusters": changed}, default_region="us-east-1", stack="dev", last=deployed
            )
            assert all(kept[c.name] == c.vpc_cidr for c in after.clusters if c.name in kept)
            assert len({c.vpc_cidr for c in after.clusters}) == len(after.clusters)
        # istiod is sized by what it watches: 2048Mi + 49 x 180Mi on the primaries (c0 only, with remotes).
        topology = plan_mesh(spec).topology
        assert [len(topology[c.name].discovers) for c in spec.clusters if not c.is_remote] == (
            [49] * 50 if role == "primary" else [49]
        )
        assert istiod_resources(49)["requests"] == {"cpu": "990m", "memory": "10868Mi"}


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"connectivity": "internal"}, "connectivity", "one of public, private"),
        ({"connectivity": True}, "connectivity", "one of public, private"),
        ({"operatorCidrs": [OPERATORS]}, "operatorCidrs", "only with connectivity: private"),
        (
            {"transitGateways": {"us-east-1": "tgw-0123456789abcdef0"}},
            "transitGateways",
            "only with connectivity: private",
        ),
        ({**PRIVATE, "apiAccessCidrs": ["203.0.113.0/24"]}, "apiAccessCidrs", "list operatorCidrs"),
        ({"transitGatewayRouting": {}}, "transitGatewayRouting", "only with connectivity: private"),
        (
            {k: v for k, v in PRIVATE.items() if k != "transitGatewayRouting"},
            "transitGatewayRouting",
            "is unset while operatorCidrs",
        ),
        ({**PRIVATE, "transitGatewayRouting": ["tgw-attach-0123456789abcdef0"]}, "transitGatewayRouting", "got a list"),
        (
            {**PRIVATE, "transitGatewayRouting": {"us-west-2": ENTRY}},
            "transitGatewayRouting.us-west-2",
            "no transitGateways",
        ),
        (
            {
                **PRIVATE,
                "transitGatewayRouting": {"us-east-1": {**ENTRY, "operatorAttachment": "tgw-0123456789abcdef0"}},
            },
            "transitGatewayRouting.us-east-1.operatorAttachment",
            "tgw-attach- and 8 or 17 hex digits",
        ),
        (
            {**PRIVATE, "transitGatewayRouting": {"us-east-1": {"operatorAttachment": OPERATOR_ATTACHMENT}}},
            "transitGatewayRouting.us-east-1.returnRouteTable",
            "got null",
        ),
        (
            {**PRIVATE, "transitGatewayRouting": {"us-east-1": {**ENTRY, "returnRouteTable": 7}}},
            "transitGatewayRouting.us-east-1.returnRouteTable",
            "got 7",
        ),
        (
            {**PRIVATE, "transitGatewayRouting": {"us-east-1": {**ENTRY, "table": OPERATOR_TABLE}}},
            "transitGatewayRouting.us-east-1.table",
            "unknown key",
        ),
        (
            {**PRIVATE, "transitGatewayRouting": {"us-east-1": "x" * 10_000}},
            "transitGatewayRouting.us-east-1",
            "must be",
        ),
        (
            {
                **PRIVATE,
                "clusters": [{"name": "a"}, {"name": "b", "region": "us-west-2"}],
                "transitGateways": {"us-east-1": GATEWAY, "us-west-2": "tgw-0fedcba9876543210"},
                "transitGatewayRouting": {"us-east-1": ENTRY, "us-west-2": ENTRY},
            },
            "transitGatewayRouting",
            "names 2 regions",
        ),
        ({**PRIVATE, "operatorCidrs": ["0.0.0.0/0"]}, "operatorCidrs[0]", "is 0.0.0.0/0"),
        ({**PRIVATE, "operatorCidrs": ["10.65.0.0/16"]}, "operatorCidrs[0]", "overlaps meshCidr"),
        # A new private mesh needs a way in, and a network team's gateway a range of the mesh's own.
        ({k: v for k, v in PRIVATE.items() if k != "transitGateways"}, "transitGateways", "new private mesh"),
        ({**PRIVATE, "transitGateways": {}}, "transitGateways", "new private mesh"),
        ({k: v for k, v in PRIVATE.items() if k != "meshCidr"}, "meshCidr", "reserved for this mesh"),
        ({**PRIVATE, "operatorCidrs": "192.168.10.0/24"}, "operatorCidrs", "got a string"),
        # Every VPC would send its traffic for a public range to the Transit Gateway.
        ({**PRIVATE, "operatorCidrs": [OPERATORS, "52.94.0.0/16"]}, "operatorCidrs[1]", "publicly routable"),
        ({**PRIVATE, "operatorCidrs": ["127.0.0.0/8"]}, "operatorCidrs[0]", "loopback"),
        (
            {**PRIVATE, "operatorCidrs": [f"192.168.{i}.0/24" for i in range(49)]},
            "operatorCidrs",
            "a route table holds 50",
        ),
        ({**PRIVATE, "eastWestAllowedCidrs": ["0.0.0.0/0"]}, "eastWestAllowedCidrs[0]", "is 0.0.0.0/0"),
        (
            {**PRIVATE, "eastWestAllowedCidrs": ["10.0.0.0/8", "198.51.100.0/24"]},
            "eastWestAllowedCidrs[1]",
            "publicly routable",
        ),
        # Replacing meshCidr as the gateways' sources, it must still hold every VPC that dials them.
        (
            {
                **PRIVATE,
                "clusters": [{"name": "a"}, {"name": "b", "network": "n2"}],
                "eastWestAllowedCidrs": [OPERATORS],
            },
            "eastWestAllowedCidrs",
            "leaves out clusters[0]",
        ),
        (
            {
                **PRIVATE,
                "clusters": [{"name": "a"}, {"name": "b", "region": "us-west-2"}],
                "transitGateways": {"us-east-1": "tgw-0123456789abcdef0", "us-west-2": "tgw-0123456789abcdef0"},
            },
            "transitGateways.us-west-2",
            "lives in one region",
        ),
        ({**PRIVATE, "transitGateways": {"us-east-1": "tgw-123"}}, "transitGateways.us-east-1", "Transit Gateway ID"),
        (
            {**PRIVATE, "transitGateways": {"eu-west-1": "tgw-0123456789abcdef0"}},
            "transitGateways.eu-west-1",
            "no cluster is in",
        ),
        ({**PRIVATE, "transitGateways": ["tgw-0123456789abcdef0"]}, "transitGateways", "got a list"),
        (
            {**PRIVATE, "clusters": [{"name": "a", "vpcCidr": "172.20.0.0/16"}]},
            "clusters[0].vpcCidr",
            "outside meshCidr",
        ),
        (
            {**PRIVATE, "clusters": [{"name": "a", "eastWestStaticIps": True}, {"name": "b", "network": "n2"}]},
            "clusters[0].eastWestStaticIps",
            "internal",
        ),
    ],
)
def test_bad_private_configs_are_refused_with_their_key(extra, key, says):
    with pytest.raises(ConfigError) as caught:
        parse({"clusters": [{"name": "a"}], **extra})
    problems = dict(caught.value.problems)
    assert says in problems.get(key, ""), problems


def test_a_deployed_mesh_may_go_private_on_gateways_of_its_own():
    # Its operators run from inside one of its VPCs (README, Private mesh: Going private).
    deployed = LastDeployment(clusters=frozenset({"a"}))
    spec = parse_mesh_spec(
        {"connectivity": "private", "clusters": [{"name": "a"}]}, default_region="us-east-1", stack="dev", last=deployed
    )
    assert spec.connectivity.private and spec.connectivity.transit_gateways == {}
    assert "only machines inside the mesh's own VPCs" in " ".join(private_notices(spec.connectivity))
    assert private_notices(parse(MODELS["primary-remote"]).connectivity) == []


def test_going_private_creates_the_transit_network_and_keeps_same_network_rules():
    public = {"clusters": MODELS["shared-network"]["clusters"], "apiAccessCidrs": ["203.0.113.0/24"], "meshCidr": MESH}
    impact = change_impact(cached_run(public), model("shared-network"))
    assert of_kind(impact, REPLACED) == set()
    # The security-group rules move under SameNetworkAccess by alias: a new identical rule would be
    # refused by EC2 before the old one is deleted.
    rules = {
        k
        for k, what in impact.items()
        if k[0] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" and what == "deleted"
    }
    assert rules == set()
    deleted = {k[0] for k, what in impact.items() if what == "deleted"}
    assert deleted == {
        "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
        "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter",
        "aws:ec2/route:Route",
    }
    updated = {k[0] for k, what in impact.items() if what == "updated"}
    assert {"eks:index:Cluster", "kubernetes:helm.sh/v3:Release"} <= updated
    # And back to public: the rules move back under their VpcPeering.
    back = change_impact(model("shared-network"), cached_run(public))
    rules = {
        k
        for k, what in back.items()
        if k[0] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" and what != "unchanged"
    }
    assert rules and all("-api-from-" in name and back[(t, name)] == DELETED for t, name in rules)


def test_reordering_regions_or_removing_an_operator_network_touches_only_what_changed():
    three = MODELS["multi-primary-three-regions"]
    # Reordered clusters (ranges pinned, as a deployed stack's record pins them): the same peerings,
    # requested from the same side; AWS holds one peering per pair of gateways.
    pinned = [{**c, "vpcCidr": f"10.{64 + i}.0.0/16"} for i, c in enumerate(three["clusters"])]
    before, after = cached_run({**three, "clusters": pinned}), cached_run({**three, "clusters": pinned[::-1]})
    impact = change_impact(before, after)
    assert {k: v for k, v in impact.items() if k[0].startswith("aws:ec2transitgateway/") and v != "unchanged"} == {}
    # One operator network removed from the middle: only its routes and rules go.
    operators = ["192.168.10.0/24", "192.168.20.0/24", "192.168.30.0/24"]
    both = cached_run({**three, "operatorCidrs": operators})
    one_less = cached_run({**three, "operatorCidrs": [operators[0], operators[2]]})
    impact = change_impact(both, one_less)
    changed = {k: v for k, v in impact.items() if v != "unchanged"}
    assert set(changed.values()) == {"deleted"}
    deleted = set(changed)
    gone = {
        r.name
        for r in both.resources
        if r.inputs.get("destinationCidrBlock") == operators[1] or r.inputs.get("cidrIpv4") == operators[1]
    }
    assert {name for _, name in deleted} == gone and len(gone) == 3 * (1 + 2) + 2
    # (per cluster: an API rule, a route in the public and in the single-NAT private table; in each of the
    # two regions whose gateway the mesh made, a static route over the peering to the operators' region)


@pytest.mark.parametrize("mode", [{}, PRIVATE], ids=["public", "private"])
def test_reordering_same_network_clusters_keeps_their_peering_and_rules(mode):
    config = {
        **mode,
        "clusters": [
            {"name": "a", "network": "n1"},
            {"name": "b", "network": "n1", "region": "us-west-2"},
            {"name": "c", "network": "n2"},
        ],
    }
    first = cached_run(config)
    reordered = {**config, "clusters": config["clusters"][::-1]}
    again = run_program(reordered, mock_factory=mocks_with(last_outputs=recorded(first)))
    assert again.error is None, again.error
    impact = change_impact(first, again)
    # The pair keeps its orientation (requester a), so nothing is made twice (AWS refuses a second
    # peering of two VPCs and a duplicate rule).
    assert of_kind(impact, CREATED) == of_kind(impact, DELETED) == of_kind(impact, REPLACED) == set()
    assert resolve_pairs(again) == [["a", "b"]]
    # A stack with no record orients a new pair in config order.
    assert resolve_pairs(cached_run(reordered)) == [["b", "a"]]


def resolve_pairs(run: Run) -> list:
    return recorded(run)["sameNetworkPairs"]


def test_the_operators_region_follows_transit_gateway_routing_not_the_alphabet():
    three = MODELS["multi-primary-three-regions"]
    # A network team's gateway in eu-west-1 too, sorting first: the operators still enter at us-east-1,
    # and eu-west-1's replies go there over its own peering (one hop), from the mesh's table there.
    moved = {**three, "transitGateways": {"us-east-1": GATEWAY, "eu-west-1": "tgw-0fedcba9876543210"}}
    impact = change_impact(model("multi-primary-three-regions"), cached_run(moved))
    routes = {name: what for (t, name), what in impact.items() if "-to-operators-" in name}
    assert routes == {
        "tgw-route-us-west-2-to-operators-192-168-10-0-24": "unchanged",
        "tgw-route-eu-west-1-to-operators-192-168-10-0-24": REPLACED,
    }
    assert of_kind(impact, "refused") == set()
    run = cached_run(moved)
    route = run.one(TGW + "route:Route", "tgw-route-eu-west-1-to-operators-192-168-10-0-24")
    table = run.one(TGW + "routeTable:RouteTable", "tgw-rtb-eu-west-1")
    assert route.inputs["transitGatewayRouteTableId"] == table.id


TEAM_WEST = "tgw-0fedcba9876543210"
PINNED = [
    {**c, "vpcCidr": f"10.{64 + i}.0.0/16"} for i, c in enumerate(MODELS["multi-primary-three-regions"]["clusters"])
]
OWN_WEST = {**MODELS["multi-primary-three-regions"], "clusters": PINNED}
TEAM_IN_WEST = {**OWN_WEST, "transitGateways": {"us-east-1": GATEWAY, "us-west-2": TEAM_WEST}}
TRANSIT_TYPES = ("aws:ec2transitgateway/", "aws:ec2/route:Route")
# b (us-west-2) moving between a gateway of the mesh's own and the network team's: its attachment and
# the two peerings of us-west-2 are made anew (their gateway is a replace-forcing input), the routes
# over those peerings are replaced delete-first (same table, same destination), and so is us-west-2's
# route to the operators (its mesh table moves to the other gateway); b's VPC routes follow the new
# gateway in place.
ASSOCIATION = TGW + "routeTableAssociation:RouteTableAssociation"
MOVED_WEST = {
    ("aws:ec2transitgateway/vpcAttachment:VpcAttachment", "b-tgw-attachment"): REPLACED,
    **{
        (f"aws:ec2transitgateway/{kind}", f"tgw-peering-{pair}{suffix}"): REPLACED
        for kind, suffix in (
            ("peeringAttachment:PeeringAttachment", ""),
            ("peeringAttachmentAccepter:PeeringAttachmentAccepter", "-accepter"),
        )
        for pair in ("eu-west-1-us-west-2", "us-east-1-us-west-2")
    },
    **{
        ("aws:ec2transitgateway/route:Route", f"tgw-route-{route}"): REPLACED
        for route in (
            "eu-west-1-to-b",
            "us-east-1-to-b",
            "us-east-1-return-to-b",
            "us-west-2-to-a",
            "us-west-2-to-c",
            "us-west-2-to-operators-192-168-10-0-24",
        )
    },
    # The operators' region (us-east-1, the network team's gateway) associates its new peering anew.
    (ASSOCIATION, "tgw-peering-us-east-1-us-west-2-us-east-1-association"): REPLACED,
    **{
        ("aws:ec2/route:Route", f"b-tgw-route-{i}-{cidr}"): "updated"
        for i in (0, 1)
        for cidr in ("10-64-0-0-10", "192-168-10-0-24")
    },
}
OWN_WEST_ONLY = {("aws:ec2transitgateway/transitGateway:TransitGateway", "tgw-us-west-2")}
# On the network team's gateway, the mesh's route table there, b's place in it, the peerings' associations.
TEAM_WEST_ONLY = {
    (TGW + "routeTable:RouteTable", "tgw-rtb-us-west-2"),
    (ASSOCIATION, "b-tgw-association"),
    (TGW + "routeTablePropagation:RouteTablePropagation", "b-tgw-propagation"),
    (ASSOCIATION, "tgw-peering-eu-west-1-us-west-2-us-west-2-association"),
    (ASSOCIATION, "tgw-peering-us-east-1-us-west-2-us-west-2-association"),
}
# c (eu-west-1, the mesh's own gateway there) added or removed: its gateway, attachment, VPC routes (to
# the gateway, the NAT and the internet gateway), the peerings of eu-west-1, the routes to c elsewhere
# and from eu-west-1 to a, b and the operators.
EU_WEST = {
    ("aws:ec2transitgateway/transitGateway:TransitGateway", "tgw-eu-west-1"),
    ("aws:ec2transitgateway/vpcAttachment:VpcAttachment", "c-tgw-attachment"),
    # The operators' side of the new peering, on the network team's gateway in us-east-1.
    (ASSOCIATION, "tgw-peering-eu-west-1-us-east-1-us-east-1-association"),
    ("aws:ec2/route:Route", "c-network-private-default-0"),
    ("aws:ec2/route:Route", "c-network-public-default"),
    *{
        ("aws:ec2/route:Route", f"c-tgw-route-{i}-{cidr}")
        for i in (0, 1)
        for cidr in ("10-64-0-0-10", "192-168-10-0-24")
    },
    *{
        ("aws:ec2transitgateway/peeringAttachment:PeeringAttachment", f"tgw-peering-eu-west-1-{r}")
        for r in ("us-east-1", "us-west-2")
    },
    *{
        (
            "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter",
            f"tgw-peering-eu-west-1-{r}-accepter",
        )
        for r in ("us-east-1", "us-west-2")
    },
    *{
        ("aws:ec2transitgateway/route:Route", f"tgw-route-{route}")
        for route in (
            "eu-west-1-to-a",
            "eu-west-1-to-b",
            "us-east-1-to-c",
            "us-east-1-return-to-c",
            "us-west-2-to-c",
            "eu-west-1-to-operators-192-168-10-0-24",
        )
    },
}
WITHOUT_EU_WEST = {**OWN_WEST, "clusters": PINNED[:2]}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            OWN_WEST,
            TEAM_IN_WEST,
            {**MOVED_WEST, **dict.fromkeys(OWN_WEST_ONLY, DELETED), **dict.fromkeys(TEAM_WEST_ONLY, CREATED)},
        ),
        (
            TEAM_IN_WEST,
            OWN_WEST,
            {**MOVED_WEST, **dict.fromkeys(OWN_WEST_ONLY, CREATED), **dict.fromkeys(TEAM_WEST_ONLY, DELETED)},
        ),
        (WITHOUT_EU_WEST, OWN_WEST, dict.fromkeys(EU_WEST, CREATED)),
        (OWN_WEST, WITHOUT_EU_WEST, dict.fromkeys(EU_WEST, DELETED)),
    ],
    ids=["own-to-team-gateway", "team-to-own-gateway", "region-added", "region-removed"],
)
def test_gateway_and_region_changes_complete_on_a_deployed_stack(before, after, expected):
    impact = change_impact(cached_run(before), cached_run(after))
    transit = {k: v for k, v in impact.items() if k[0].startswith(TRANSIT_TYPES) and v != "unchanged"}
    assert transit == expected
    # Nothing anywhere that AWS or the engine would refuse (a route replaced create-first in its table).
    assert of_kind(impact, "refused") == set()
    assert all(r.delete_before_replace for r in cached_run(after).of_type("aws:ec2transitgateway/route:Route"))


def test_the_impact_model_refuses_a_new_route_to_a_destination_an_old_one_still_holds():
    # A route renamed (a new URN, no alias): the engine creates the new one before it deletes the old,
    # and the table still holds the destination.
    run = model("multi-primary-three-regions")
    route = next(r for r in run.of_type("aws:ec2transitgateway/route:Route") if r.name == "tgw-route-us-east-1-to-b")
    renamed = dataclasses.replace(route, urn=route.urn + "-renamed", name=route.name + "-renamed")
    after = dataclasses.replace(run, resources=[r for r in run.resources if r is not route] + [renamed])
    impact = change_impact(run, after)
    assert impact[(renamed.type, renamed.name)] == "refused"
    assert impact[(route.type, route.name)] == DELETED


def before_the_route_domain(run: Run, default_table: str) -> Run:
    """The stack as the program deployed it before the route domain: in the network team's region
    (us-east-1), the attachments kept the gateway's defaults and the static routes lived in its default
    table; there was no table, association or propagation of the mesh's, nor a route back to the operators."""
    domain = ("routeTable:RouteTable", "routeTableAssociation:", "routeTablePropagation:")
    kept = []
    for r in run.resources:
        if r.type.startswith(TGW) and r.type.removeprefix(TGW).startswith(domain) or "-return-to-" in r.name:
            continue
        raw = dict(r.raw_inputs)
        if r.type == TGW + "vpcAttachment:VpcAttachment":
            raw.pop("transitGatewayDefaultRouteTableAssociation", None)
            raw.pop("transitGatewayDefaultRouteTablePropagation", None)
        if r.name.startswith("tgw-route-us-east-1-"):
            raw["transitGatewayRouteTableId"] = default_table
        kept.append(dataclasses.replace(r, raw_inputs=raw))
    return dataclasses.replace(run, resources=kept)


def test_a_deployed_stack_moves_into_the_route_domain_without_a_refusal():
    # The worst case: the operators' table is the network team's default table, which held the mesh's
    # static routes before.
    table = {"associationDefaultRouteTableId": OPERATOR_TABLE, "propagationDefaultRouteTableId": OPERATOR_TABLE}
    after = run_program(
        MODELS["multi-primary-three-regions"], mock_factory=mocks_with(gateway_options={GATEWAY: table})
    )
    assert after.error is None, after.error
    impact = change_impact(before_the_route_domain(after, OPERATOR_TABLE), after)
    assert of_kind(impact, "refused") == set()
    changed = {k: v for k, v in impact.items() if k[0].startswith(TGW) and v != "unchanged"}
    # The attachment leaves the defaults in place; the routes move to the mesh's table delete-first;
    # the operators' routes back are made once those are replaced.
    assert changed[(TGW + "vpcAttachment:VpcAttachment", "a-tgw-attachment")] == "updated"
    assert {n for (t, n), v in changed.items() if v == REPLACED} == {
        "tgw-route-us-east-1-to-b",
        "tgw-route-us-east-1-to-c",
    }
    assert {
        v
        for k, v in changed.items()
        if k[1] not in ("a-tgw-attachment", "tgw-route-us-east-1-to-b", "tgw-route-us-east-1-to-c")
    } == {CREATED}
    assert not of_kind(impact, DELETED) and not of_kind(impact, REPLACED) - {
        (TGW + "route:Route", "tgw-route-us-east-1-to-b"),
        (TGW + "route:Route", "tgw-route-us-east-1-to-c"),
    }


def test_the_api_rule_is_on_the_control_planes_group_not_the_one_nodes_share():
    run = model("multi-primary-three-regions")
    rules = run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    for name in ("a", "b", "c"):
        # pulumi-eks's control-plane group (its `clusterSecurityGroupId` output), not the cluster
        # security group EKS made and puts on the managed nodes too.
        control_plane = run.one("eks:index:Cluster", f"{name}-eks").outputs["clusterSecurityGroupId"]
        shared = run.inner[f"{name}-eks-eksCluster"]["vpcConfig"]["clusterSecurityGroupId"]
        api = {r.inputs["securityGroupId"] for r in rules if r.name.startswith(f"{name}-api-from-")}
        assert api == {control_plane} and control_plane != shared
    # Deployed clusters keep everything: only the rules move (to another group, so no duplicate).
    assert all(r.inputs["fromPort"] != 443 for r in rules if "-api-from-" not in r.name and "fromPort" in r.inputs)


def test_moving_the_operators_region_moves_their_routes_delete_first():
    west_table = "tgw-rtb-0dddddddddddddddd"
    moved = {
        **TEAM_IN_WEST,
        "transitGatewayRouting": {
            "us-west-2": {"operatorAttachment": OPERATOR_ATTACHMENT, "returnRouteTable": west_table}
        },
    }
    at_west = {
        OPERATOR_ATTACHMENT: {"transitGatewayId": TEAM_WEST, "associationTransitGatewayRouteTableId": west_table}
    }
    after = run_program(moved, mock_factory=mocks_with(attachments=at_west))
    assert after.error is None, after.error
    impact = change_impact(cached_run(TEAM_IN_WEST), after)
    assert of_kind(impact, "refused") == set()
    operators = {n: v for (t, n), v in impact.items() if "-to-operators-" in n and v != "unchanged"}
    assert operators == {
        "tgw-route-eu-west-1-to-operators-192-168-10-0-24": REPLACED,  # now over the peering to us-west-2
        "tgw-route-us-east-1-to-operators-192-168-10-0-24": CREATED,
        "tgw-route-us-west-2-to-operators-192-168-10-0-24": DELETED,
    }
    assert all(r.delete_before_replace for r in after.of_type(TGW + "route:Route"))
    # The mesh's ranges leave the old operators' table and go into the new one.
    returns = {n: v for (t, n), v in impact.items() if "-return-" in n}
    assert set(returns.values()) == {CREATED, DELETED}
    assert {n for n, v in returns.items() if v == CREATED} == {
        "tgw-route-us-west-2-return-to-a",
        "tgw-route-us-west-2-return-to-c",
        "b-tgw-return-propagation",
    }
