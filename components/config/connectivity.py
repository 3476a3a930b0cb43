"""Validation of `connectivity` (public or private) and the keys that only private mode reads:
`operatorCidrs` (the networks operators and CI reach the private control planes from, routed to the
Transit Gateways) and `transitGateways` (an existing gateway per region). In private mode nothing is
reachable from the internet, so the keys that open public endpoints are refused there."""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from components.config.clusters import REGIONS
from components.config.validate import (
    VPC_RANGES,
    Problems,
    expect,
    indexed,
    key_path,
    listed,
    non_public_kind,
    parse_cidr_list,
    shown,
)
from components.model.spec import (
    IPAM_NETMASK_LENGTH,
    IPAM_POOL_ID,
    TRANSIT_GATEWAY_ATTACHMENT_ID,
    TRANSIT_GATEWAY_ID,
    TRANSIT_GATEWAY_ROUTE_TABLE_ID,
    ClusterSpec,
    Connectivity,
    IpamPool,
    MeshTopology,
    OperatorEntry,
    TransitGatewayFacts,
)
from components.plan.quotas import (
    EXISTING_CLUSTER_GROUP_RULES,
    MAX_PEERING_ATTACHMENTS,
    MAX_ROUTES_PER_TABLE,
    MAX_SECURITY_GROUP_RULES,
    cluster_group_rules,
    route_table_routes,
)

TOP_LEVEL_KEYS = (
    "connectivity",
    "operatorCidrs",
    "transitGateways",
    "transitGatewayRouting",
    "ipamPools",
    "serviceQuotas",
)
MODES = ("public", "private")
_TGW_ID, _ATTACHMENT_ID, _ROUTE_TABLE_ID = (
    TRANSIT_GATEWAY_ID,
    TRANSIT_GATEWAY_ATTACHMENT_ID,
    TRANSIT_GATEWAY_ROUTE_TABLE_ID,
)
ENTRY_KEYS = {"operatorAttachment": (_ATTACHMENT_ID, "tgw-attach-"), "returnRouteTable": (_ROUTE_TABLE_ID, "tgw-rtb-")}


def parse_connectivity(
    raw: Mapping[str, Any],
    clusters: Sequence[ClusterSpec],
    mesh_cidr: ipaddress.IPv4Network | None,
    problems: Problems,
    deployed: frozenset[str] = frozenset(),
) -> Connectivity:
    """`deployed`: the clusters the stack has already (a new private mesh needs a way in)."""
    mode = raw.get("connectivity", "public")
    if mode not in MODES:
        lower = mode.lower() if isinstance(mode, str) else None
        hint = f'; did you mean "{lower}"?' if lower in MODES else ""
        problems.add("connectivity", f"must be one of {', '.join(MODES)}, got {shown(mode)}{hint}")
        return Connectivity()
    if mode == "public":
        for key in ("operatorCidrs", "transitGateways", "transitGatewayRouting"):
            if key in raw:
                problems.add(key, "is read only with connectivity: private; remove it, or set connectivity: private")
        return Connectivity()
    for key, instead in (("apiAccessCidrs", "operatorCidrs (networks routed to the Transit Gateways)"),):
        if key in raw:
            problems.add(
                key, f"opens the EKS public endpoints, which connectivity: private turns off; list {instead} instead"
            )
    for i, c in indexed(clusters):
        if c.east_west_static_ips:
            problems.add(
                f"clusters[{i}].eastWestStaticIps",
                "gives an internet-facing NLB public addresses; with connectivity: private the NLB is internal:"
                " remove it",
            )
    gateways = _parse_gateways(raw, clusters, problems)
    if gateways and "meshCidr" not in raw:
        problems.add(
            "meshCidr",
            "is unset while transitGateways attaches the mesh to your network's gateways, whose other VPCs use"
            " addresses"
            f" of their own: the default {mesh_cidr} would be routed and admitted as the mesh's. Set meshCidr"
            " to the range"
            ' reserved for this mesh (e.g. "10.64.0.0/12"); every VPC takes its range from it',
        )
    if (
        clusters
        and not gateways
        and not deployed & {c.name for c in clusters}
        and not any(k.startswith("transitGateways") for k, _ in problems.items)
    ):
        problems.add(
            "transitGateways",
            "names no gateway on a new private mesh, so nothing could reach its private endpoints during the"
            " first `pulumi up`:"
            " the mesh's own gateways do not exist yet for your operators' network to attach to. Name, per region, the"
            " Transit Gateway your operators' network is attached to; or deploy the mesh public first and go private"
            " from a runner inside one of its VPCs (docs/operations/private-mode.md)",
        )
    operators = _parse_operators(raw, mesh_cidr, problems)
    return Connectivity(
        private=True,
        operator_cidrs=operators,
        transit_gateways=gateways,
        operator_entries=_parse_entries(raw, gateways, operators, problems),
    )


def _parse_entries(
    raw: Mapping[str, Any], gateways: Mapping[str, str], operators: Sequence[str], problems: Problems
) -> dict[str, OperatorEntry]:
    """`transitGatewayRouting`: the one region where the operators' networks enter the mesh, on the
    network team's gateway there. The mesh writes into the network team's tables only what this names."""
    value = raw.get("transitGatewayRouting")
    if value is None:
        if gateways and operators:
            problems.add(
                "transitGatewayRouting",
                "is unset while operatorCidrs reach the mesh over the network team's gateways, whose route tables"
                " the mesh does not write into unasked: name the region, the operators' attachment and the table it"
                ' is associated with ({"us-east-1": {"operatorAttachment": "tgw-attach-...", "returnRouteTable":'
                ' "tgw-rtb-..."}}; docs/operations/private-mode.md)',
            )
        return {}
    if not expect(value, dict, "transitGatewayRouting", problems, '{"us-east-1": {"operatorAttachment": ...}}'):
        return {}
    if len(value) > 1:
        problems.add(
            "transitGatewayRouting",
            f"names {len(value)} regions; the operators enter at one gateway and every other region routes"
            " operatorCidrs over its own peering to that one, one hop (Transit Gateway peerings do not route"
            " transitively: docs.aws.amazon.com/vpc/latest/tgw/tgw-peering.html): keep one",
        )
    found: dict[str, OperatorEntry] = {}
    for region, item in value.items():
        path = key_path("transitGatewayRouting", region)
        if region not in gateways:
            problems.add(
                path,
                f"{shown(region)} has no transitGateways entry; the operators enter at a gateway of the"
                " network team's: add transitGateways for it, or name that region",
            )
            continue
        if not expect(item, dict, path, problems, '{"operatorAttachment": "tgw-attach-...", "returnRouteTable": ...}'):
            continue
        ids = {}
        for key in sorted(set(item) | set(ENTRY_KEYS)):
            if key not in ENTRY_KEYS:
                problems.add(key_path(path, key), f"unknown key; known keys: {', '.join(ENTRY_KEYS)}")
            elif not (isinstance(item.get(key), str) and ENTRY_KEYS[key][0].fullmatch(item[key])):
                problems.add(
                    key_path(path, key),
                    f"must be an ID ({ENTRY_KEYS[key][1]} and 8 or 17 hex digits), got {shown(item.get(key))}",
                )
            else:
                ids[key] = item[key]
        if len(ids) == len(ENTRY_KEYS):
            found[region] = OperatorEntry(ids["operatorAttachment"], ids["returnRouteTable"])
    return found if len(value) == 1 else {}


def _parse_operators(
    raw: Mapping[str, Any], mesh_cidr: ipaddress.IPv4Network | None, problems: Problems
) -> tuple[str, ...]:
    if raw.get("operatorCidrs") is None:
        return ()
    cidrs = parse_cidr_list(raw["operatorCidrs"], "operatorCidrs", problems) or ()
    check_private_sources(cidrs, "operatorCidrs", problems)
    for i, text in listed(cidrs):
        cidr = ipaddress.IPv4Network(text)
        if cidr.prefixlen and mesh_cidr is not None and cidr.overlaps(mesh_cidr):
            problems.add(
                f"operatorCidrs[{i}]",
                f"{cidr} overlaps meshCidr {mesh_cidr}: the VPCs route it to their own or a peer's range; use"
                " the operators' own network",
            )
    return cidrs


def check_private_sources(cidrs: Sequence[str], key: str, problems: Problems) -> None:
    """In private mode every source reaches the mesh over the Transit Gateways, and every VPC routes
    `operatorCidrs` there: only private address space can be such a source. A public range would
    send each VPC's traffic for it (AWS service endpoints, perhaps) to the Transit Gateway."""
    for i, text in listed(cidrs):
        cidr = ipaddress.IPv4Network(text)
        if cidr.prefixlen == 0:
            problems.add(
                f"{key}[{i}]",
                "is 0.0.0.0/0; list the networks operators really come from (a VPN range, a CI runner's VPC)",
            )
        elif not any(cidr.subnet_of(ipaddress.IPv4Network(block)) for block in VPC_RANGES):
            kind = non_public_kind(cidr)
            what = (
                f"{kind} address space, never a network's source address"
                if kind
                else "publicly routable, and nothing public reaches a private mesh"
            )
            problems.add(
                f"{key}[{i}]",
                f"{cidr} is {what}; with connectivity: private list the private ranges operators come from over"
                " the Transit"
                f" Gateways ({', '.join(VPC_RANGES)})",
            )


def check_peers_admitted(clusters: Sequence[ClusterSpec], east_west: Sequence[str], problems: Problems) -> None:
    """In private mode every cluster reaches the other networks' gateways (and a remote its
    primary's) from its VPC range: `eastWestAllowedCidrs` replaces meshCidr as their sources, so it
    must still hold every VPC of the mesh."""
    allowed = [ipaddress.IPv4Network(c) for c in east_west]
    for i, c in indexed(clusters):
        # A range still to come from an IPAM pool is checked with the pool, at run time.
        if c.vpc_cidr is not None and not any(c.vpc_cidr.subnet_of(a) for a in allowed):
            problems.add(
                "eastWestAllowedCidrs",
                f"leaves out clusters[{i}] ({c.name!r}, {c.vpc_cidr}), whose pods and istiod reach the"
                " east-west gateways"
                " from that range: list meshCidr, or a range holding every VPC of the mesh",
            )
            return


def parse_ipam_pools(raw: Mapping[str, Any], problems: Problems) -> dict[str, str]:
    """`ipamPools`: per region, the IPAM pool that clusters there without a `vpcCidr` take their
    VPC's range from (public and private mode alike)."""
    return _regional_ids(
        raw, "ipamPools", IPAM_POOL_ID, "an IPAM pool ID (ipam-pool- and 8 or 17 hex digits)", "an IPAM pool", problems
    )


def check_regions_have_clusters(
    ids: Mapping[str, str], key: str, clusters: Sequence[ClusterSpec], problems: Problems
) -> None:
    regions = {c.region for c in clusters}
    if any(path.startswith("clusters[") for path, _ in problems.items):
        return  # a refused cluster may be in that region: no second message for its mistake
    for region in ids:
        if regions and region not in regions:
            problems.add(
                key_path(key, region), f"no cluster is in {shown(region)}; the regions are {', '.join(sorted(regions))}"
            )


def _regional_ids(
    raw: Mapping[str, Any], key: str, pattern: re.Pattern, what: str, one: str, problems: Problems
) -> dict[str, str]:
    value = raw.get(key)
    if value is None or not expect(value, dict, key, problems, '{"us-east-1": "..."}'):
        return {}
    found: dict[str, str] = {}
    for region, item in value.items():
        path = key_path(key, region)
        if region not in REGIONS:
            # Named whatever the clusters are, so a refused cluster never hides the typo.
            guess = difflib.get_close_matches(str(region)[:40], REGIONS, n=1)
            problems.add(
                path, f"{shown(region)} is not an AWS region" + (f"; did you mean {guess[0]!r}?" if guess else "")
            )
        elif not (isinstance(item, str) and pattern.fullmatch(item)):
            problems.add(path, f"must be {what}, got {shown(item)}")
        elif item in found.values():
            other = next(r for r, g in found.items() if g == item)
            problems.add(path, f"{item} is given for {other} too; {one} lives in one region: give each region its own")
        else:
            found[region] = item
    return found


def _parse_gateways(raw: Mapping[str, Any], clusters: Sequence[ClusterSpec], problems: Problems) -> dict[str, str]:
    gateways = _regional_ids(
        raw,
        "transitGateways",
        _TGW_ID,
        "a Transit Gateway ID (tgw- and 8 or 17 hex digits)",
        "a Transit Gateway",
        problems,
    )
    check_regions_have_clusters(gateways, "transitGateways", clusters, problems)
    return {region: gateway for region, gateway in gateways.items() if region in {c.region for c in clusters}}


def check_private_limits(
    clusters: Sequence[ClusterSpec], topology: MeshTopology, connectivity: Connectivity, problems: Problems
) -> None:
    regions = {c.region for c in clusters}
    if len(regions) - 1 > MAX_PEERING_ATTACHMENTS:
        problems.add(
            "clusters",
            f"spans {len(regions)} regions: each region's Transit Gateway peers with every other, and holds"
            f" {MAX_PEERING_ATTACHMENTS} peerings",
        )
    operators = len(connectivity.operator_cidrs)
    if route_table_routes(connectivity) > MAX_ROUTES_PER_TABLE:
        problems.add(
            "operatorCidrs",
            f"lists {operators} networks: each is a route in every route table of every VPC, beside the default route"
            f" and meshCidr, and a route table holds {MAX_ROUTES_PER_TABLE}: merge them into at most"
            f" {MAX_ROUTES_PER_TABLE - 2} wider CIDRs",
        )
    for i, c in indexed(clusters):
        rules = cluster_group_rules(c, topology, connectivity)
        if rules > MAX_SECURITY_GROUP_RULES:
            problems.add(
                f"clusters[{i}].network",
                f"{c.name!r} would need {rules} inbound rules on its cluster security group (EKS's and the load"
                f" balancer controller's {EXISTING_CLUSTER_GROUP_RULES},"
                f" {len(topology[c.name].peered_with)} clusters on its network); it holds"
                f" {MAX_SECURITY_GROUP_RULES}: split the network",
            )


def private_notices(connectivity: Connectivity) -> list[str]:
    if connectivity.private and not connectivity.operator_cidrs:
        return [
            "operatorCidrs is unset: only machines inside the mesh's own VPCs (meshCidr) reach the private EKS"
            " endpoints,"
            " so `pulumi up`, `verify` and kubectl must run there (docs/operations/private-mode.md)"
        ]
    return []


def check_ipam_pools(
    clusters: Sequence[ClusterSpec],
    ipam: Mapping[str, IpamPool],
    mesh_cidr: ipaddress.IPv4Network | None,
    east_west: Sequence[str] | None,
    problems: Problems,
) -> None:
    """Each pool a new VPC is to take its range from (a cluster whose `vpc_cidr` is still None), as
    AWS described it: in the cluster's region, IPv4, allocating /16s, with no tags an allocation
    must carry, something provisioned, and, in private mode, inside `meshCidr` (the VPCs route only
    that to the Transit Gateways) and inside `eastWestAllowedCidrs` when set (the gateways' sources).
    No pool may overlap another, nor a cluster's own range: IPAM would allocate those addresses again.
    Pools that only deployed VPCs came from are not checked again: nothing is allocated from them."""
    # Known ranges, with the pool each came from (None: from outside IPAM).
    fixed = [(c.name, c.vpc_cidr, c.ipam_pool) for c in clusters if c.vpc_cidr is not None]
    taken: list[tuple[str, ipaddress.IPv4Network]] = []
    for c in clusters:
        pool_id = c.ipam_pool
        if c.vpc_cidr is not None or pool_id is None or pool_id not in ipam or any(p == pool_id for p, _ in taken):
            continue
        pool = ipam[pool_id]
        cidrs = [n for n in (ipaddress.ip_network(x) for x in pool.provisioned) if n.version == 4]
        problem = _pool_problem(c, pool, IPAM_NETMASK_LENGTH) or (
            None
            if cidrs
            else "has no provisioned IPv4 CIDR to allocate VPC ranges from; provision one, or name another pool"
        )
        for cidr in cidrs:
            if problem:
                break
            clash = next((name for name, other, source in fixed if source != pool_id and cidr.overlaps(other)), None)
            other = next((p for p, t in taken if cidr.overlaps(t)), None)
            if mesh_cidr is not None and not cidr.subnet_of(mesh_cidr):
                problem = (
                    f"holds {cidr}, outside meshCidr {mesh_cidr}, which the VPCs route to the Transit Gateways:"
                    " widen meshCidr or use a pool inside it"
                )
            elif east_west and not any(cidr.subnet_of(ipaddress.IPv4Network(a)) for a in east_west):
                problem = f"holds {cidr}, outside eastWestAllowedCidrs, the east-west gateways' sources: add it there"
            elif clash:
                problem = (
                    f"holds {cidr}, which overlaps the VPC range of {clash!r};"
                    " IPAM could allocate those addresses again: give that cluster a range outside the pool"
                )
            elif other:
                problem = f"holds {cidr}, which overlaps {other}; the regions' pools must not overlap"
        if problem:
            problems.add(f"ipamPools.{c.region}", f"{pool_id} {problem}")
        taken += [(pool_id, cidr) for cidr in cidrs]


def _pool_problem(cluster: ClusterSpec, pool: IpamPool, netmask: int) -> str | None:
    if pool.locale != cluster.region:
        return f"allocates in {pool.locale or 'no region'}, not in {cluster.region}, where {cluster.name!r} is"
    if pool.address_family != "ipv4":
        return f"is an {pool.address_family} pool; VPC ranges need an IPv4 one"
    if not pool.min_netmask <= netmask <= pool.max_netmask:
        return f"allocates /{pool.min_netmask} to /{pool.max_netmask}, and each VPC takes a /{netmask}"
    if pool.required_tags:
        return (
            f"requires its allocations to carry tags ({', '.join(sorted(pool.required_tags))}),"
            " which the mesh's VPCs do not; use a pool without"
        )
    return None


def check_existing_gateways(
    connectivity: Connectivity,
    facts: Mapping[str, TransitGatewayFacts] | None,
    mesh_cidr: str,
    mesh_ranges: Sequence[str],
    problems: Problems,
) -> None:
    """What AWS would refuse on the network team's gateways, from what it said of them before
    anything exists (`facts`; None: not read, as offline in `python -m check`). `mesh_ranges`: every
    VPC range of the mesh, the deployed ones included, whose routes there are the mesh's own."""
    for region, gateway in connectivity.transit_gateways.items():
        found = (facts or {}).get(region)
        if found is None:
            continue
        key = f"transitGateways.{region}"
        if found.unreadable is not None:
            problems.add(key, f"{gateway} cannot be read in {region} ({found.unreadable}): name a gateway there")
            continue
        if found.owner_id != found.caller_account:
            problems.add(key, _shared_gateway(gateway, found))
            continue
        entry = connectivity.operator_entries.get(region)
        if entry is None:
            continue
        _check_operator_entry(region, gateway, entry, found, problems)
        if found.return_routes_unreadable is not None:
            problems.add(
                f"transitGatewayRouting.{region}.returnRouteTable",
                f"{entry.return_route_table} cannot be read in {region} ({found.return_routes_unreadable}): name the"
                f" network team's route table of {gateway} that the operators' attachment is associated with",
            )
        else:
            _check_return_table(region, entry, mesh_cidr, mesh_ranges, found.return_routes, problems)


# Only the owner of a gateway may change its route tables (terraform-provider-aws
# internal/service/ec2/transitgateway_vpc_attachment.go: "We cannot modify Transit Gateway Route Tables
# for Resource Access Manager shared Transit Gateways"), and a gateway shared with the caller is not
# available for peering (docs.aws.amazon.com/vpc/latest/tgw/tgw-peering-create.html: "Transit gateways
# that are shared with you are not available for peering"). AWS offers no flow for it but the owner's
# own: the stack must run in the gateway's account.
def _shared_gateway(gateway: str, found: TransitGatewayFacts) -> str:
    return (
        f"{gateway} belongs to account {found.owner_id}, not to {found.caller_account} that runs `pulumi up` (shared"
        " with it through RAM): only its owner can accept the mesh's peerings and write its route tables. Run the"
        " stack in the gateway's account, or leave transitGateways unset for this region to get a gateway of the"
        " mesh's own"
    )


def _check_operator_entry(
    region: str, gateway: str, entry: OperatorEntry, found: TransitGatewayFacts, problems: Problems
) -> None:
    """The operators' attachment is on that gateway, available, and associated with the table the
    mesh writes its ranges into: their traffic is routed by the table it is associated with."""
    attachment = found.attachment
    if attachment is None:
        problem = (
            f"cannot be read in {region} ({found.attachment_unreadable}): name the operators' attachment to {gateway}"
        )
    elif attachment.transit_gateway_id != gateway:
        problem = f"is an attachment of {attachment.transit_gateway_id}, not of {gateway} (transitGateways.{region})"
    elif attachment.state != "available":
        problem = f"is {attachment.state}, not available"
    elif attachment.associated_table != entry.return_route_table:
        where = attachment.associated_table or "no route table"
        problem = (
            f"is associated with {where}, not with returnRouteTable {entry.return_route_table}: the operators'"
            f" traffic is routed by {where}; name it as returnRouteTable"
        )
    else:
        return
    problems.add(f"transitGatewayRouting.{region}.operatorAttachment", f"{entry.operator_attachment} {problem}")


def _check_return_table(
    region: str,
    entry: OperatorEntry,
    mesh_cidr: str,
    mesh_ranges: Sequence[str],
    destinations: Sequence[str],
    problems: Problems,
) -> None:
    """The mesh's VPC ranges go into the network team's table: a route already there inside `meshCidr`
    (or overlapping it, but for a wider one holding all of it, of which the mesh's routes carve out
    their ranges) would lose to or shadow them; static routes win over propagated ones
    (docs.aws.amazon.com/vpc/latest/tgw/how-transit-gateways-work.html, route evaluation order).
    A route to exactly a mesh VPC's range is the mesh's own, from an earlier run."""
    mesh = ipaddress.IPv4Network(mesh_cidr)
    for text in destinations:
        if not text:
            continue  # a prefix-list route
        cidr = ipaddress.IPv4Network(text)
        if cidr.overlaps(mesh) and not (mesh.subnet_of(cidr) and cidr != mesh) and text not in mesh_ranges:
            problems.add(
                f"transitGatewayRouting.{region}.returnRouteTable",
                f"{entry.return_route_table} routes {text} already, which overlaps meshCidr {mesh_cidr}: the mesh would"
                " route its VPC ranges there too. Free that range (ask the network team) or choose a meshCidr"
                " outside it",
            )
            return
