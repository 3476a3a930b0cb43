"""What the mesh uses of each AWS limit it runs into, counted once from the spec and its topology:
validation refuses a config over a limit (config/limits.py), `python -m check` prints the headroom,
and tests/test_quotas.py holds the counts against what the program registers.

Public mode: every cluster's public EKS endpoint admits `apiAccessCidrs` plus the NAT addresses of
every VPC of the mesh (each istiod calls the other clusters' API servers from its VPC's NAT); every
east-west NLB's security group gets one inbound rule per source CIDR and listener port
(aws-load-balancer-controller pkg/service/model_build_managed_sg.go@v3.5.0), its sources being
`eastWestAllowedCidrs`, by default those same NAT addresses. Elastic IPs count per region: one per
NAT gateway, and one per zone of an east-west NLB with `eastWestStaticIps`.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.model.spec import ClusterSpec, MeshSpec, MeshTopology


def nat_addresses(clusters: Sequence[ClusterSpec]) -> int:
    return sum(c.nat_count for c in clusters)


def endpoint_cidrs(spec: MeshSpec) -> dict[str, int]:
    """Per cluster, the CIDRs on its public EKS endpoint (public mode; none in private mode)."""
    if spec.connectivity.private:
        return {}
    used = len(spec.api_access_cidrs) + nat_addresses(spec.clusters)
    return {c.name: used for c in spec.clusters}


def east_west_sources(clusters: Sequence[ClusterSpec], east_west: Sequence[str] | None, private: bool) -> int:
    """The source CIDRs every east-west NLB admits: `eastWestAllowedCidrs`, else meshCidr in private
    mode, else every VPC's NAT addresses."""
    if east_west is not None:
        return len(east_west)
    return 1 if private else nat_addresses(clusters)


def gateway_ports(clusters: Sequence[ClusterSpec], topology: MeshTopology) -> dict[str, int]:
    """Per cluster with an east-west gateway, its NLB's listener ports."""
    return {c.name: len(topology[c.name].east_west_ports) for c in clusters if topology[c.name].east_west_gateway}


def east_west_rules(spec: MeshSpec) -> dict[str, int]:
    """Per cluster with an east-west gateway, the inbound rules of its NLB's security group."""
    sources = east_west_sources(spec.clusters, spec.east_west_allowed_cidrs, spec.connectivity.private)
    return {name: sources * ports for name, ports in gateway_ports(spec.clusters, spec.topology).items()}


def elastic_ips(spec: MeshSpec) -> dict[str, int]:
    """Per region, the Elastic IPs the mesh allocates."""
    return dict(spec.elastic_ips_by_region())
