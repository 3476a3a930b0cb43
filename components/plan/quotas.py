"""What the mesh uses of each AWS limit it runs into, counted once from the spec and its topology:
the plan holds the counts (plan/mesh_plan.py), validation refuses a config over a limit
(config/limits.py; service quotas: config/quotas.py), `python -m check` prints the headroom, and
tests/test_quotas.py holds the counts against what the program registers.

Public mode: every cluster's public EKS endpoint admits `apiAccessCidrs` plus the NAT addresses of
every VPC of the mesh (each istiod calls the other clusters' API servers from its VPC's NAT); every
east-west NLB's security group gets one inbound rule per source CIDR and listener port
(aws-load-balancer-controller pkg/service/model_build_managed_sg.go@v3.5.0), its sources being
`eastWestAllowedCidrs`, by default those same NAT addresses. Elastic IPs count per region: one per
NAT gateway, and one per zone of an east-west NLB with `eastWestStaticIps`.

Service quotas (per account and region unless said otherwise; `serviceQuotas` declares raised ones,
config/quotas.py): VPCs per region 5, internet gateways per region 5 (one per VPC; AWS ties the two
quotas together), NAT gateways per availability zone 5, Elastic IP addresses per region 5
(docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html); Transit Gateways per region 5,
peering attachments per Transit Gateway 50 (docs.aws.amazon.com/vpc/latest/tgw/transit-gateway-quotas.html);
Amazon Managed Service for Prometheus managed collectors (scrapers) per region 10, one per cluster
with `metrics: amp` (docs.aws.amazon.com/prometheus/latest/userguide/AMP-collector-how-to.html,
"Scraper limitations": "a maximum of 10 ... scrapers per region per account", raised by a quota request).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.model.spec import ClusterSpec, Connectivity, MeshTopology

# EKS accepts at most this many CIDR blocks in a cluster's publicAccessCidrs.
MAX_PUBLIC_ACCESS_CIDRS = 40
# Inbound rules per security group (VPC quotas, docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html),
# the one figure for every group the mesh writes into:
# - each east-west NLB's group, where the load balancer controller writes one rule per source CIDR
#   (`loadBalancerSourceRanges`) and listener port (aws-load-balancer-controller
#   pkg/service/model_build_managed_sg.go@v3.5.0); health checks reach the pods from the NLB, not
#   from those sources;
# - private mode's cluster security group (EKS's, on the nodes too), which admits each other VPC of
#   its Istio network, beside the two rules already there: EKS's own rule admitting the group
#   itself (EKS user guide, sec-group-reqs) and the load balancer controller's one rule for its
#   backend security group (pkg/networking/networking_manager.go@v3.5.0 merges a source group's
#   ports into one range);
# - private mode's control-plane group (components/aws/cluster.py): pulumi-eks's rule admitting its
#   node security group (nodejs/eks/nodes/securitygroup.ts@v4.3.0), meshCidr and each operator network on 443.
MAX_SECURITY_GROUP_RULES = 60
EXISTING_CLUSTER_GROUP_RULES = 2
# Routes per route table (VPC quotas, non-propagated): each route table of a VPC holds its default
# route (NAT or internet gateway), meshCidr and one route per operatorCidrs entry.
MAX_ROUTES_PER_TABLE = 50
# Peering attachments per Transit Gateway (Transit Gateway quotas,
# docs.aws.amazon.com/vpc/latest/tgw/transit-gateway-quotas.html): every region peers with every other.
MAX_PEERING_ATTACHMENTS = 50

# Key -> (what AWS calls it, default, what it counts per).
QUOTAS: dict[str, tuple[str, int, str]] = {
    "vpcsPerRegion": ("VPCs per Region", 5, "region"),
    "internetGatewaysPerRegion": ("Internet gateways per Region", 5, "region"),
    "natGatewaysPerAz": ("NAT gateways per Availability Zone", 5, "zone"),
    "elasticIpsPerRegion": ("EC2-VPC Elastic IPs", 5, "region"),
    "transitGatewaysPerRegion": ("Transit gateways per account", 5, "region"),
    "peeringAttachmentsPerTransitGateway": ("Peering attachments per transit gateway", 50, "gateway"),
    "ampCollectorsPerRegion": ("Amazon Managed Service for Prometheus scrapers per Region", 10, "region"),
}


def nat_addresses(clusters: Sequence[ClusterSpec]) -> int:
    return sum(c.nat_count for c in clusters)


def east_west_sources(clusters: Sequence[ClusterSpec], east_west: Sequence[str] | None, private: bool) -> int:
    """The source CIDRs every east-west NLB admits: `eastWestAllowedCidrs`, else meshCidr in private
    mode, else every VPC's NAT addresses."""
    if east_west is not None:
        return len(east_west)
    return 1 if private else nat_addresses(clusters)


def cluster_group_rules(cluster: ClusterSpec, topology: MeshTopology, connectivity: Connectivity) -> int:
    """Inbound rules on the busier of a cluster's two security groups in private mode: EKS's cluster
    security group, or the control plane's own (pulumi-eks's rule, meshCidr, each operator network)."""
    return max(
        EXISTING_CLUSTER_GROUP_RULES + len(topology[cluster.name].peered_with), 2 + len(connectivity.operator_cidrs)
    )


def route_table_routes(connectivity: Connectivity) -> int:
    """Routes in each route table of a VPC in private mode: the default route, meshCidr, each operator network."""
    return 2 + len(connectivity.operator_cidrs)


def gateway_ports(clusters: Sequence[ClusterSpec], topology: MeshTopology) -> dict[str, int]:
    """Per cluster with an east-west gateway, its NLB's listener ports."""
    return {c.name: len(topology[c.name].east_west_ports) for c in clusters if topology[c.name].east_west_gateway}


def quota_use(
    clusters: Sequence[ClusterSpec], connectivity: Connectivity, collectors: bool = False
) -> dict[str, dict[str, int]]:
    """Per region, per quota key, what the mesh uses: for a quota per zone or per gateway, its busiest.
    `collectors`: every cluster has a managed Prometheus collector (`metrics: amp`)."""
    use: dict[str, dict[str, int]] = {}
    zones: dict[tuple[str, Any], int] = {}
    regions = list(dict.fromkeys(c.region for c in clusters))
    for c in clusters:
        here = use.setdefault(c.region, dict.fromkeys(QUOTAS, 0))
        here["vpcsPerRegion"] += 1
        here["ampCollectorsPerRegion"] += 1 if collectors else 0
        here["internetGatewaysPerRegion"] += 1
        here["elasticIpsPerRegion"] += c.nat_count + (c.az_count if c.east_west_static_ips else 0)
        # Zones are picked in order from a count, or named; a single NAT gateway is in the first zone.
        names = list(c.availability_zones) if isinstance(c.availability_zones, tuple) else list(range(c.az_count))
        for zone in names[: c.nat_count]:
            zones[(c.region, zone)] = zones.get((c.region, zone), 0) + 1
    for (region, _), count in zones.items():
        use[region]["natGatewaysPerAz"] = max(use[region]["natGatewaysPerAz"], count)
    if connectivity.private:
        for region in regions:
            use[region]["transitGatewaysPerRegion"] = 0 if region in connectivity.transit_gateways else 1
            use[region]["peeringAttachmentsPerTransitGateway"] = len(regions) - 1
    return use
