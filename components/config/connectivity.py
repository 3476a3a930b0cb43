"""Validation of `connectivity` (public or private) and the keys that only private mode reads:
`operatorCidrs` (the networks operators and CI reach the private control planes from, routed to the
Transit Gateways) and `transitGateways` (an existing gateway per region). In private mode nothing is
reachable from the internet, so the keys that open public endpoints are refused there."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Mapping, Sequence

from components.config.validate import Problems, expect, key_path, parse_cidr_list, shown
from components.model.spec import ClusterSpec, Connectivity, MeshTopology

TOP_LEVEL_KEYS = ("connectivity", "operatorCidrs", "transitGateways")
MODES = ("public", "private")
_TGW_ID = re.compile(r"tgw-[0-9a-f]{8}([0-9a-f]{9})?", re.ASCII)


def parse_connectivity(raw: Mapping[str, Any], clusters: Sequence[ClusterSpec], mesh_cidr: ipaddress.IPv4Network, problems: Problems) -> Connectivity:
    mode = raw.get("connectivity", "public")
    if mode not in MODES:
        problems.add("connectivity", f"must be one of {', '.join(MODES)}, got {shown(mode)}")
        return Connectivity()
    if mode == "public":
        for key in ("operatorCidrs", "transitGateways"):
            if key in raw:
                problems.add(key, "is read only with connectivity: private; remove it, or set connectivity: private")
        return Connectivity()
    for key, instead in (("apiAccessCidrs", "operatorCidrs (networks routed to the Transit Gateways)"),):
        if key in raw:
            problems.add(key, f"opens the EKS public endpoints, which connectivity: private turns off; list {instead} instead")
    for i, c in enumerate(clusters):
        if c.east_west_static_ips:
            problems.add(f"clusters[{i}].eastWestStaticIps", "gives an internet-facing NLB public addresses; with connectivity: private the NLB is internal: remove it")
    return Connectivity(
        private=True,
        operator_cidrs=_parse_operators(raw, mesh_cidr, problems),
        transit_gateways=_parse_gateways(raw, {c.region for c in clusters}, problems),
    )


def _parse_operators(raw: Mapping[str, Any], mesh_cidr: ipaddress.IPv4Network, problems: Problems) -> tuple[str, ...]:
    if raw.get("operatorCidrs") is None:
        return ()
    cidrs = parse_cidr_list(raw["operatorCidrs"], "operatorCidrs", problems) or ()
    for i, text in enumerate(cidrs):
        cidr = ipaddress.IPv4Network(text)
        if cidr.prefixlen == 0:
            problems.add(f"operatorCidrs[{i}]", "is 0.0.0.0/0; list the networks operators really come from (a VPN range, a CI runner's VPC)")
        elif cidr.overlaps(mesh_cidr):
            problems.add(f"operatorCidrs[{i}]", f"{cidr} overlaps meshCidr {mesh_cidr}: the VPCs route it to their own or a peer's range; use the operators' own network")
    return cidrs


def _parse_gateways(raw: Mapping[str, Any], regions: set[str], problems: Problems) -> dict[str, str]:
    value = raw.get("transitGateways")
    if value is None or not expect(value, dict, "transitGateways", problems, '{"us-east-1": "tgw-0123456789abcdef0"}'):
        return {}
    gateways = {}
    for region, gateway in value.items():
        path = key_path("transitGateways", region)
        if region not in regions:
            problems.add(path, f"no cluster is in {shown(region)}; the regions are {', '.join(sorted(regions))}")
        elif not (isinstance(gateway, str) and _TGW_ID.fullmatch(gateway)):
            problems.add(path, f"must be a Transit Gateway ID (tgw- and 8 or 17 hex digits), got {shown(gateway)}")
        else:
            gateways[region] = gateway
    return gateways


# Peering attachments per Transit Gateway (Transit Gateway quotas, docs.aws.amazon.com/vpc/latest/tgw/transit-gateway-quotas.html):
# every region peers with every other.
MAX_PEERING_ATTACHMENTS = 50
# Inbound rules per security group (VPC quotas): the cluster security group admits meshCidr and
# each operator network on 443, and each other VPC of its Istio network for pod-to-pod traffic.
MAX_SECURITY_GROUP_RULES = 60


def check_private_limits(clusters: Sequence[ClusterSpec], topology: MeshTopology, connectivity: Connectivity, problems: Problems) -> None:
    regions = {c.region for c in clusters}
    if len(regions) - 1 > MAX_PEERING_ATTACHMENTS:
        problems.add("clusters", f"spans {len(regions)} regions: each region's Transit Gateway peers with every other, and holds {MAX_PEERING_ATTACHMENTS} peerings")
    for i, c in enumerate(clusters):
        rules = 1 + len(connectivity.operator_cidrs) + len(topology[c.name].peered_with)
        if rules > MAX_SECURITY_GROUP_RULES:
            problems.add(
                f"clusters[{i}].network",
                f"{c.name!r} would need {rules} inbound rules on its cluster security group (meshCidr, {len(connectivity.operator_cidrs)}"
                f" operatorCidrs, {len(topology[c.name].peered_with)} clusters on its network); it holds {MAX_SECURITY_GROUP_RULES}:"
                " split the network or merge operatorCidrs",
            )
