"""The stack config parser: raw config values in, a validated `MeshSpec` out.

`parse_mesh_spec` is a pure function of the raw values, so every rule is testable without the
Pulumi engine. It collects every problem before it raises, and each message names the key path
(`clusters[1].vpcCidr`), what is wrong, and what would be right.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from components.config import clock
from components.config import eks as parse_eks
from components.config.clusters import SMALLEST_VPC_PREFIX, parse_clusters, stack_slug
from components.config.connectivity import (
    check_existing_gateways,
    check_ipam_pools,
    check_peers_admitted,
    check_private_limits,
    check_private_sources,
    check_regions_have_clusters,
    parse_connectivity,
    parse_ipam_pools,
)
from components.config.credentials import parse_reader_tokens
from components.config.image_cache import parse_image_cache
from components.config.istio_values import parse_istio_values
from components.config.limits import check_access_limits, check_east_west_rules
from components.config.metrics import parse_metrics
from components.config.mtls import parse_mtls
from components.config.node_group import check_istiod_fits
from components.config.pki import parse_pki
from components.config.quotas import check_quotas, parse_service_quotas
from components.config.revisions import parse_revisions
from components.config.schema import TOP_LEVEL_KEYS
from components.config.sources import parse_sources
from components.config.traffic import parse_traffic
from components.config.validate import (
    ConfigError,
    Problems,
    expect,
    expect_name,
    indexed,
    key_path,
    listed,
    non_public_kind,
    parse_cidr,
    parse_cidr_list,
    shown,
    vpc_range_problem,
)
from components.model import versions
from components.model.deployed import LastDeployment
from components.model.revisions import revision_name
from components.model.spec import DNS_LABEL, ClusterSpec, IpamPool, MeshSpec, MeshTopology, TransitGatewayFacts
from components.plan import names
from components.plan.addon_versions import RECORD_VERSION_KEY
from components.plan.ranges import DEFAULT_MESH_CIDR
from components.plan.topology import plan_topology

# Released versions only: no prefix, no suffix, no leading zeros (Helm would not find "1.030.3").
_ISTIO_VERSION = re.compile(r"(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})", re.ASCII)


def parse_mesh_spec(
    raw: Mapping[str, Any],
    *,
    default_region: str | None,
    stack: str,
    secret_keys: frozenset[str] = frozenset(),
    now: datetime.datetime | None = None,
    last: LastDeployment = LastDeployment(),
    ipam: Mapping[str, IpamPool] | None = None,
    gateways: Mapping[str, TransitGatewayFacts] | None = None,
) -> MeshSpec:
    """Validates raw stack config (key -> already JSON-decoded value) and returns the MeshSpec.

    `ipam`: what AWS said of the pools `ipamPools` names (pool ID -> IpamPool), read before; a
    pool not in it is taken as unread (`python -m check`): its ranges are not avoided or checked.
    `gateways`: what AWS said of the gateways `transitGateways` names (region -> facts), read before;
    None (offline): not checked against AWS.

    `secret_keys` are the top-level keys stored encrypted; `last` is what the stack last deployed
    (the VPC ranges it keeps). Raises ConfigError listing every problem.
    """
    problems = Problems(secret_keys, raw)
    _unknown_keys(raw, problems)
    mesh_id = _parse_mesh_id(raw.get("meshId", "mesh1"), problems)
    istio_version = _parse_istio_version(raw.get("istioVersion", versions.DEFAULT_ISTIO_VERSION), problems)
    revisions = parse_revisions(raw, istio_version, problems)

    api_access_cidrs = _parse_api_access_cidrs(raw, problems)
    mesh_cidr = _parse_mesh_cidr(raw, problems)
    clusters = _parse_cluster_list(raw, default_region, stack, mesh_cidr, last, ipam or {}, problems)
    connectivity = parse_connectivity(raw, clusters, mesh_cidr, problems, last.clusters)
    if clusters and mesh_cidr is not None and ("meshCidr" in raw or connectivity.private):
        # In private mode the VPCs route meshCidr to the Transit Gateway: a VPC outside it is unreachable.
        _check_inside_mesh_cidr(clusters, mesh_cidr, problems)
    if mesh_cidr is not None:
        # The mesh's routes in the operators' table, from earlier runs: of the clusters here, and of
        # those deployed (a cluster being removed, or one whose entry was refused, still has its route).
        ranges = [*(str(c.vpc_cidr) for c in clusters if c.vpc_cidr is not None), *last.vpc_cidrs.values()]
        check_existing_gateways(connectivity, gateways, str(mesh_cidr), ranges, problems)

    east_west = _parse_east_west(raw, connectivity.private, problems)
    check_ipam_pools(
        clusters,
        ipam or {},
        mesh_cidr if connectivity.private else None,
        east_west if connectivity.private else None,
        problems,
    )
    now = now or clock.now()
    parse_eks.check_support(clusters, now.date(), problems, last.clusters)
    recorded = {name: v.get(RECORD_VERSION_KEY) for name, v in last.addon_versions.items()}
    parse_eks.check_upgrade_steps(clusters, recorded, problems)

    # The checks below run against the topology the plan makes (plan/mesh_plan.py), of the clusters that parsed.
    topology = plan_topology(tuple(clusters), last.same_network_pairs)
    _check_limits(raw, clusters, topology, connectivity, api_access_cidrs, east_west, mesh_cidr, problems)
    _check_derived_names(clusters, topology, problems)
    _check_static_ips(clusters, topology, problems)
    istio_values = parse_istio_values(raw.get("istioValues"), problems)
    check_istiod_fits(clusters, topology, istio_values, problems)
    service_quotas = parse_service_quotas(raw, problems)
    others = _parse_other_keys(raw, clusters, secret_keys, now, last, problems)
    check_quotas(clusters, connectivity, service_quotas, problems, collectors=others["metrics"].enabled)
    if problems.items:
        raise ConfigError(problems.items)
    return MeshSpec(
        mesh_id=mesh_id,
        istio_version=istio_version,
        revisions=revisions,
        clusters=tuple(clusters),
        api_access_cidrs=api_access_cidrs,
        mesh_cidr=str(mesh_cidr),
        connectivity=connectivity,
        east_west_allowed_cidrs=east_west,
        istio_values=istio_values,
        istio_values_secret="istioValues" in secret_keys,
        service_quotas=service_quotas,
        **others,
    )


def _parse_other_keys(
    raw: Mapping[str, Any],
    clusters: list[ClusterSpec],
    secret_keys: frozenset[str],
    now: datetime.datetime,
    last: LastDeployment,
    problems: Problems,
) -> dict[str, Any]:
    """The keys no check of the clusters' topology needs: MeshSpec fields by name."""
    deploy_samples = raw.get("deploySamples", False)
    if not expect(deploy_samples, bool, "deploySamples", problems, "true"):
        deploy_samples = False
    # Failover regions are checked against the mesh's only when every cluster parsed.
    complete = isinstance(raw.get("clusters"), list) and len(clusters) == len(raw["clusters"])
    return {
        "deploy_samples": deploy_samples,
        "pki": parse_pki(raw, secret_keys, now, problems),
        "access": parse_eks.parse_cluster_access(raw, clusters, problems),
        "traffic": parse_traffic(raw.get("trafficPolicy"), clusters if complete else [], problems),
        "sources": parse_sources(raw, problems),
        "reader_tokens": parse_reader_tokens(raw, [c.name for c in clusters], last, now, problems),
        "mtls": parse_mtls(raw, last, problems),
        "image_cache": parse_image_cache(raw, clusters, problems),
        "metrics": parse_metrics(raw, clusters, problems),
    }


def _parse_east_west(raw: Mapping[str, Any], private: bool, problems: Problems) -> tuple[str, ...] | None:
    if raw.get("eastWestAllowedCidrs") is None:
        return None
    east_west = parse_cidr_list(raw["eastWestAllowedCidrs"], "eastWestAllowedCidrs", problems)
    if east_west and private:
        check_private_sources(east_west, "eastWestAllowedCidrs", problems)
    return east_west


def _parse_cluster_list(
    raw: Mapping[str, Any],
    default_region: str | None,
    stack: str,
    mesh_cidr: ipaddress.IPv4Network | None,
    last: LastDeployment,
    ipam: Mapping[str, IpamPool],
    problems: Problems,
) -> list[ClusterSpec]:
    """The clusters that parsed (a refused one is left out of the checks that follow)."""
    clusters_raw = raw.get("clusters")
    if clusters_raw is None or clusters_raw == []:
        problems.add("clusters", 'no clusters; list at least one, e.g. [{"name": "east", "region": "us-east-1"}]')
        return []
    if not expect(clusters_raw, list, "clusters", problems, '[{"name": "east"}]'):
        return []
    protect = parse_eks.parse_protect(raw.get("protect"), "protect", False, problems)
    ipam_pools = parse_ipam_pools(raw, problems)
    pool_space = [
        ipaddress.ip_network(c)
        for pool in ipam.values()
        for c in pool.provisioned
        if ipaddress.ip_network(c).version == 4
    ]
    # A refused meshCidr was named; the ranges are allocated as by default, and nothing is checked against it.
    clusters = parse_clusters(
        clusters_raw,
        default_region,
        stack,
        problems,
        protect,
        mesh_cidr or DEFAULT_MESH_CIDR,
        last,
        ipam_pools,
        pool_space,
    )
    check_regions_have_clusters(ipam_pools, "ipamPools", clusters, problems)
    return clusters


def _check_limits(
    raw: Mapping[str, Any],
    clusters: list[ClusterSpec],
    topology: MeshTopology,
    connectivity: Any,
    api_access_cidrs: tuple[str, ...],
    east_west: tuple[str, ...] | None,
    mesh_cidr: ipaddress.IPv4Network | None,
    problems: Problems,
) -> None:
    """AWS's quotas on what the mesh makes: endpoint CIDRs, security-group rules, routes."""
    if connectivity.private:
        check_private_limits(clusters, topology, connectivity, problems)
        sources = east_west or (str(mesh_cidr or DEFAULT_MESH_CIDR),)
        check_east_west_rules(clusters, topology, sources, problems)
        if east_west and any(topology[c.name].east_west_gateway for c in clusters):
            check_peers_admitted(clusters, east_west, problems)
    else:
        check_access_limits(clusters, topology, api_access_cidrs, "apiAccessCidrs" in raw, east_west, problems)


def _check_derived_names(clusters: list[ClusterSpec], topology: MeshTopology, problems: Problems) -> None:
    """Resources named after two clusters (`<a>-<b>-peering`, `<a>-remote-secret-<b>`) must not
    share a name: clusters `a` + `b-c` and `a-b` + `c` would both make `a-b-c-peering`."""
    index = {c.name: i for i, c in indexed(clusters)}
    named: dict[str, tuple[str, str]] = {}
    pairs = [(names.peering(a, b), a, b) for a, b in topology.peerings]
    pairs += [(names.remote_secret(a, b), a, b) for a, b in topology.discovery]
    for name, a, b in pairs:
        if name in named and named[name] != (a, b):
            first = named[name]
            problems.add(
                f"clusters[{index[b]}].name",
                f"{a!r} with {b!r} and {first[0]!r} with {first[1]!r} would both name a resource"
                f" {name!r}; rename one of these clusters",
            )
        named.setdefault(name, (a, b))


def _check_static_ips(clusters: list[ClusterSpec], topology: MeshTopology, problems: Problems) -> None:
    for index, cluster in indexed(clusters):
        if cluster.east_west_static_ips and not topology[cluster.name].east_west_gateway:
            problems.add(
                f"clusters[{index}].eastWestStaticIps",
                f"{cluster.name!r} has no east-west gateway in this topology (its network needs none, or its"
                " primary's gateway serves it), so the addresses would sit unused; remove the key",
            )


def _unknown_keys(raw: Mapping[str, Any], problems: Problems) -> None:
    lowered = {k.lower(): k for k in TOP_LEVEL_KEYS}
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            guess = lowered.get(key.lower())
            problems.add(
                key_path("", key),
                f"unknown key; did you mean `{guess}`?"
                if guess
                else f"unknown key; known keys: {', '.join(TOP_LEVEL_KEYS)}",
            )


def _parse_mesh_id(mesh_id: Any, problems: Problems) -> Any:
    expect_name(mesh_id, DNS_LABEL, 63, "meshId", problems, "a DNS label (lowercase letters, digits, '-')", '"mesh1"')
    return mesh_id


def _parse_istio_version(istio_version: Any, problems: Problems) -> Any:
    if expect(istio_version, str, "istioVersion", problems, f'"{versions.DEFAULT_ISTIO_VERSION}"'):
        match = _ISTIO_VERSION.fullmatch(istio_version)
        minimum = ".".join(map(str, versions.MIN_ISTIO_VERSION))
        if not match:
            problems.add(
                "istioVersion",
                f"{shown(istio_version)} is not a released Istio version (MAJOR.MINOR.PATCH, no prefix,"
                f' pre-release suffix or leading zeros); e.g. "{versions.DEFAULT_ISTIO_VERSION}"',
            )
        elif tuple(map(int, match.groups())) < versions.MIN_ISTIO_VERSION:
            problems.add(
                "istioVersion",
                f"{istio_version} is older than {minimum}, the oldest release this program's Helm values fit",
            )
    return istio_version


def _parse_mesh_cidr(raw: Mapping[str, Any], problems: Problems) -> ipaddress.IPv4Network | None:
    """The address space every VPC of the mesh takes its range from (and, in private mode, what the
    route tables send to the Transit Gateway and the security groups admit). None when refused:
    no later check measures anything against a range the user did not mean."""
    if "meshCidr" not in raw:
        return DEFAULT_MESH_CIDR
    cidr = parse_cidr(raw["meshCidr"], "meshCidr", problems, str(DEFAULT_MESH_CIDR))
    if cidr is None:
        return None
    problem = vpc_range_problem(cidr)
    if problem:
        problems.add("meshCidr", problem)
        return None
    if cidr.prefixlen > SMALLEST_VPC_PREFIX:
        problems.add(
            "meshCidr",
            f'{cidr} cannot hold a VPC (a /{SMALLEST_VPC_PREFIX} at the smallest); e.g. "{DEFAULT_MESH_CIDR}"',
        )
        return None
    return cidr


def _check_inside_mesh_cidr(clusters: list[ClusterSpec], mesh_cidr: ipaddress.IPv4Network, problems: Problems) -> None:
    for i, c in indexed(clusters):
        # A range from IPAM is checked against meshCidr once the pool's CIDRs are read (mesh.py).
        if c.vpc_cidr is not None and not c.vpc_cidr.subnet_of(mesh_cidr):
            problems.add(
                f"clusters[{i}].vpcCidr",
                f"{c.vpc_cidr} is outside meshCidr {mesh_cidr}; pick a range inside it, or widen meshCidr to include it"
                " (a deployed VPC cannot change its range)",
            )


def _parse_api_access_cidrs(raw: Mapping[str, Any], problems: Problems) -> tuple[str, ...]:
    """Who may reach the EKS public endpoints. EKS refuses non-public ranges there."""
    if raw.get("apiAccessCidrs") is None:
        return ("0.0.0.0/0",)
    cidrs = parse_cidr_list(raw["apiAccessCidrs"], "apiAccessCidrs", problems)
    if raw.get("connectivity") == "private":
        return cidrs or ("0.0.0.0/0",)  # refused whole there: private mode has no public endpoint
    for i, cidr in listed(cidrs or ()):
        kind = non_public_kind(ipaddress.IPv4Network(cidr))
        if kind:
            problems.add(
                f"apiAccessCidrs[{i}]",
                f"{cidr} is {kind} address space; EKS accepts only public addresses for its public endpoint"
                " (the mesh's own VPCs reach it through their NAT addresses, added for you); give the public"
                ' address you run pulumi and kubectl from, e.g. "203.0.113.10/32"',
            )
    return cidrs or ("0.0.0.0/0",)


def stack_name_notices(stack: str) -> list[str]:
    """A stack name that AWS names cannot carry as it is: two such stacks may end up with the same
    EKS cluster names (and so the same load balancer ownership tags) in one account."""
    slug = stack_slug(stack)
    if slug == stack:
        return []
    return [
        f"the stack name {shown(stack)} appears as {slug!r} in AWS names (EKS clusters `<cluster>-{slug}`);"
        f" another stack whose name also becomes {slug!r} (case, '_' or '.' aside) must not share this AWS account"
    ]


def upgrade_notices(raw: Mapping[str, Any], spec: MeshSpec, topology: MeshTopology) -> list[str]:
    """Valid configs that a stack deployed by an earlier release of this program would read
    differently: what changes on the next `pulumi up`, and how to keep what it has."""
    notices = []
    clusters = raw.get("clusters") or []
    for index, cluster in enumerate(spec.clusters):
        if topology[cluster.name].exposes_istiod and "eastWestStaticIps" not in clusters[index]:
            notices.append(
                f"clusters[{index}].eastWestStaticIps is unset on {cluster.name!r}, a primary with remotes: its"
                " east-west NLB"
                " has no Elastic IPs (remotes reach istiod by the NLB's DNS name). A stack deployed before"
                " that had them by default: set the key to true to keep its addresses (the NLB is otherwise"
                " recreated without them), or to false to confirm, which also silences this warning"
            )
    if "istioRevisions" in raw and "istioVersion" not in raw:
        for version in sorted(
            {r.version for r in spec.revisions.revisions} & set(versions.FORMER_PROJECT_DEFAULT_ISTIO_VERSIONS)
        ):
            notices.append(
                f"istioRevisions lists {version} and istioVersion is unset, so {version} runs as the revision"
                f" istiod-{revision_name(version)}. A stack deployed with this config by a release of this program"
                f" before 2026-12-03 runs {version} as the unrevisioned `istiod` (Pulumi.yaml's default named it):"
                f" set istioVersion {version} to keep that release, or the preview shows it deleted and"
                f" istiod-{revision_name(version)} created"
            )
    return notices
