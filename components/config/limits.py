"""AWS limits the mesh runs into, counted from what the topology really creates.

Every cluster's public EKS endpoint admits `apiAccessCidrs` plus the NAT addresses of every VPC of
the mesh (each istiod calls the other clusters' API servers from its VPC's NAT). Every east-west
gateway admits `eastWestAllowedCidrs`, by default those same NAT addresses. Each message names the
key whose change fixes it.
"""

from __future__ import annotations

from components.config.validate import Problems, indexed
from components.model.spec import ClusterSpec, MeshTopology
from components.plan import quotas
from components.plan.quotas import MAX_PUBLIC_ACCESS_CIDRS, MAX_SECURITY_GROUP_RULES

PRIVATE_CONNECTIVITY = (
    "for more, set connectivity: private (docs/operations/private-mode.md), where a handful of rules admit the"
    " whole mesh"
)


def check_access_limits(
    clusters: list[ClusterSpec],
    topology: MeshTopology,
    api_access_cidrs: tuple[str, ...],
    api_access_set: bool,
    east_west: tuple[str, ...] | None,
    problems: Problems,
) -> None:
    if clusters:
        _check_api_endpoints(clusters, api_access_cidrs, api_access_set, problems)
        check_east_west_rules(clusters, topology, east_west, problems)


def _nat_fix(clusters: list[ClusterSpec], room: int) -> str | None:
    """`natGateways: single` on the perAz clusters, if that brings the NAT addresses within `room`."""
    per_az = [f"clusters[{i}]" for i, c in indexed(clusters) if c.nat_gateways != "single"]
    if per_az and len(clusters) <= room:
        return f"set natGateways: single on {', '.join(per_az)} (one NAT address per VPC instead of one per zone)"
    return None


def _first_per_az(clusters: list[ClusterSpec]) -> str:
    return next(f"clusters[{i}].natGateways" for i, c in indexed(clusters) if c.nat_gateways != "single")


def _check_api_endpoints(clusters: list[ClusterSpec], api: tuple[str, ...], api_set: bool, problems: Problems) -> None:
    nat = quotas.nat_addresses(clusters)
    if len(api) + nat <= MAX_PUBLIC_ACCESS_CIDRS:
        return
    facts = (
        f"{len(api)} apiAccessCidrs plus {nat} NAT addresses of the mesh's VPCs make {len(api) + nat} CIDRs on"
        f" every cluster's public endpoint; EKS allows {MAX_PUBLIC_ACCESS_CIDRS}"
    )
    nat_fix = _nat_fix(clusters, MAX_PUBLIC_ACCESS_CIDRS - len(api))
    if nat_fix:
        problems.add(_first_per_az(clusters), f"{facts}: {nat_fix}")
    elif api_set and len(api) > 1 and nat < MAX_PUBLIC_ACCESS_CIDRS:
        problems.add("apiAccessCidrs", f"{facts}: merge them into at most {MAX_PUBLIC_ACCESS_CIDRS - nat} wider CIDRs")
    else:
        most = MAX_PUBLIC_ACCESS_CIDRS - 1
        problems.add(
            "clusters",
            f"{facts}: a mesh holds at most {most} clusters with natGateways: single and one apiAccessCidrs"
            f" entry; {PRIVATE_CONNECTIVITY}",
        )


def check_east_west_rules(
    clusters: list[ClusterSpec], topology: MeshTopology, east_west: tuple[str, ...] | None, problems: Problems
) -> None:
    ports = quotas.gateway_ports(clusters, topology)
    if not ports:
        return  # one network, no remotes: nothing listens for other networks
    widest = max(ports.values())
    most = MAX_SECURITY_GROUP_RULES // widest
    sources = quotas.east_west_sources(clusters, east_west, private=False)
    if sources <= most:
        return
    gateways = [name for name, count in ports.items() if count == widest]
    what = (
        "eastWestAllowedCidrs"
        if east_west is not None
        else "the NAT addresses of the mesh's VPCs, eastWestAllowedCidrs being unset"
    )
    facts = (
        f"{sources} source CIDRs ({what}) on the east-west gateways of"
        f" {', '.join(gateways[:5])}{', ...' if len(gateways) > 5 else ''}"
        f" ({widest} port{'s' if widest > 1 else ''} each) need {sources * widest} rules in each NLB's security"
        " group, one per CIDR"
        f" and port; it holds {MAX_SECURITY_GROUP_RULES}, so at most {most} CIDRs fit"
    )
    nat_fix = _nat_fix(clusters, most)
    if east_west is not None:
        problems.add("eastWestAllowedCidrs", f"{facts}: merge them into at most {most} wider CIDRs")
    elif nat_fix:
        problems.add(_first_per_az(clusters), f"{facts}: {nat_fix}")
    else:
        problems.add(
            "clusters",
            f"{facts}: such a mesh holds at most {most} clusters with natGateways: single; put the clusters on one"
            f" network (VPC peering, no gateway) or use fewer; {PRIVATE_CONNECTIVITY}",
        )
