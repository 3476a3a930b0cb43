"""The plan of a validated mesh (plan/mesh_plan.py), as text: per cluster what it gets, who reaches
what, the pairs between clusters, the headroom against each limit the mesh runs into, and a
monthly cost estimate at each region's prices (components/plan/cost.py). Pure: a MeshPlan in, lines
out."""

from __future__ import annotations

import datetime

from components.config.quotas import default_quotas, quota_lines
from components.model.spec import MeshSpec
from components.plan.cost import cost_lines
from components.plan.mesh_plan import EndpointSources, MeshPlan
from components.plan.quotas import (
    MAX_PEERING_ATTACHMENTS,
    MAX_PUBLIC_ACCESS_CIDRS,
    MAX_ROUTES_PER_TABLE,
    MAX_SECURITY_GROUP_RULES,
    cluster_group_rules,
    route_table_routes,
)


def cluster_lines(plan: MeshPlan) -> list[str]:
    lines = []
    for c in plan.spec.clusters:
        t = plan[c.name].topology
        ng = c.node_group
        zones = c.availability_zones if isinstance(c.availability_zones, int) else ", ".join(c.availability_zones)
        gateway = (
            f"east-west gateway on {', '.join(map(str, t.east_west_ports))}"
            if t.east_west_gateway
            else "no east-west gateway"
        )
        served = f"served by {t.control_plane}" if t.is_remote else f"discovers {', '.join(t.discovers) or 'nothing'}"
        lines += [
            f"{c.name}: {c.role} in {c.region}, network {c.network}, Kubernetes {c.kubernetes_version}"
            f" ({c.eks.support_type})",
            f"  VPC {c.vpc_cidr or f'/16 from IPAM pool {c.ipam_pool}'}"
            f"{f' (IPAM pool {c.ipam_pool})' if c.ipam_pool and c.vpc_cidr else ''}, zones {zones},"
            f" NAT {c.nat_gateways};"
            f" nodes {ng.desired_size} ({ng.min_size}-{ng.max_size})"
            f" x {', '.join(ng.instance_types)} {ng.capacity_type} {ng.architecture}",
            f"  {gateway}; {served}",
            f"  {_subnets(plan[c.name].subnets)}",
        ]
    return lines


def headroom_lines(plan: MeshPlan) -> list[str]:
    spec = plan.spec
    if spec.connectivity.private:
        regions = len(plan.regions)
        widest = max(cluster_group_rules(c, plan.topology, spec.connectivity) for c in spec.clusters)
        return [
            f"Transit Gateway peering attachments per gateway: {regions - 1} of {MAX_PEERING_ATTACHMENTS}",
            "security group rules (the cluster group: EKS's, the controller's, same-network VPCs; the control"
            f" plane's: meshCidr, operatorCidrs): at most {widest} of {MAX_SECURITY_GROUP_RULES}",
            "routes per VPC route table (default, meshCidr, operatorCidrs):"
            f" {route_table_routes(spec.connectivity)} of {MAX_ROUTES_PER_TABLE}",
        ]
    api = max(plan.endpoint_cidrs.values(), default=0)
    lines = [
        f"EKS public endpoint CIDRs: {api} of {MAX_PUBLIC_ACCESS_CIDRS} (apiAccessCidrs plus every VPC's NAT address)"
    ]
    rules = plan.east_west_rules
    if rules:
        sources = plan.access.east_west.count(plan.nat_addresses)
        widest = max(plan.gateway_ports.values())
        lines.append(
            f"east-west NLB security group rules: {max(rules.values())} of {MAX_SECURITY_GROUP_RULES} ({sources}"
            f" sources x {widest} port{'s' if widest > 1 else ''})"
        )
    return lines


def mesh_lines(spec: MeshSpec) -> list[str]:
    """What holds for the whole mesh: how it is reached, its address space, who operates it."""
    c = spec.connectivity
    if not c.private:
        api = ", ".join(spec.api_access_cidrs)
        return [
            f"connectivity: public (EKS endpoints public, from {api}; internet-facing east-west NLBs)",
            f"meshCidr: {spec.mesh_cidr}",
        ]
    regions = sorted({cl.region for cl in spec.clusters})
    gateways = [
        f"{r}: {c.transit_gateways[r]} (yours)" if r in c.transit_gateways else f"{r}: the mesh's own" for r in regions
    ]
    return [
        "connectivity: private (EKS endpoints private only; internal east-west NLBs; Transit Gateways)",
        f"meshCidr: {spec.mesh_cidr}",
        f"operatorCidrs: {', '.join(c.operator_cidrs) or '(none: only the mesh VPCs reach the endpoints)'}",
        f"Transit Gateways: {'; '.join(gateways)}",
    ]


def metrics_lines(spec: MeshSpec) -> list[str]:
    """`metrics: amp`: where each region's collectors write."""
    if not spec.metrics.enabled:
        return []
    regions = dict.fromkeys(c.region for c in spec.clusters)
    where = [
        f"{r}: {spec.metrics.workspaces[r]} (yours)" if r in spec.metrics.workspaces else f"{r}: the mesh's own"
        for r in regions
    ]
    return [
        f"metrics: amp, a collector per cluster every 60 s; workspaces: {'; '.join(where)}"
        " (its cost: in the estimate below)"
    ]


def _subnets(subnets: tuple[list[str], list[str]] | None) -> str:
    if subnets is None:
        return "subnets: carved from the range the IPAM pool allocates, one public and one private per zone"
    public, private = subnets
    return f"subnets: private {', '.join(private)}; public {', '.join(public)}"


def _sources(sources: EndpointSources) -> str:
    named = [*sources.cidrs, *(["every VPC's NAT addresses"] if sources.nat_addresses else [])]
    return ", ".join(named) or "nobody"


def access_lines(plan: MeshPlan) -> list[str]:
    """Who reaches which endpoint from where (plan/mesh_plan.py `AccessPlan`)."""
    a = plan.access
    api = (
        f"EKS API endpoints: public, from {_sources(a.public_api)}"
        if a.public_api is not None
        else f"EKS API endpoints: private only, 443 from {', '.join(a.private_api)} (the control plane's own group)"
    )
    kind = "internal" if a.internal_load_balancers else "internet-facing"
    return [api, f"east-west gateways: {kind} NLBs, from {_sources(a.east_west)}"]


def pair_lines(plan: MeshPlan) -> list[str]:
    """The resources made per pair of clusters, in the order they are built."""
    lines = [
        f"{p.requester} <-> {p.accepter}: "
        + ("same network over the Transit Gateways (security-group rules)" if p.over_transit else "VPC peering")
        for p in plan.peerings
    ]
    for c in plan.clusters:
        if c.remote_secrets:
            lines.append(
                f"after {c.name}: remote secrets " + ", ".join(f"{s.local} watches {s.peer}" for s in c.remote_secrets)
            )
    return lines


def plan_text(plan: MeshPlan, today: datetime.date) -> str:
    spec = plan.spec
    sections = [
        ("mesh", mesh_lines(spec) + metrics_lines(spec)),
        ("access", access_lines(plan)),
        ("clusters", cluster_lines(plan)),
        ("pairs, in build order", pair_lines(plan)),
        ("limits", headroom_lines(plan)),
        (
            "service quotas per region (AWS's defaults unless serviceQuotas raises them; the account's other resources"
            " count too)",
            quota_lines(plan.quota_use, spec.service_quotas or default_quotas()),
        ),
        ("monthly cost estimate", cost_lines(plan, today)),
    ]
    return "\n".join(f"{title}:\n" + "\n".join(f"  {line}" for line in lines) for title, lines in sections)
