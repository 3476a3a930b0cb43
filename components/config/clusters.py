"""Validation of `clusters`: each cluster's fields, the roles and primaries between them, and the
VPC ranges (explicit ones checked for overlap, defaults allocated from `meshCidr` so that they
never collide and never move)."""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_aws import _enums as aws_enums

from components.config import eks as parse_eks
from components.config.cni_identity import resolve_vpc_cni_role
from components.config.deployed_changes import check_deployed
from components.config.node_ami import keep_deployed_ami_types
from components.config.node_group import parse_choice, parse_node_groups
from components.config.node_release import check_no_rollback
from components.config.node_template import deployed_groups, keep_deployed_launch_templates
from components.config.validate import (
    Problems,
    expect,
    expect_name,
    given,
    parse_cidr,
    shown,
    unknown_fields,
    vpc_range_problem,
)
from components.model import versions
from components.model.deployed import LastDeployment
from components.model.spec import DNS_LABEL, ROLES, ClusterSpec
from components.plan.addon_versions import RECORD_VERSION_KEY
from components.plan.ranges import (
    DEFAULT_MESH_CIDR,
    DEFAULT_VPC_PREFIX,
    RangePlan,
    RangeRequest,
    legacy_default_cidrs,
    lowest_free,
    plan_vpc_ranges,
    recorded_cidr,
)

MIN_AZS, MAX_AZS = 2, 6
# Zones EKS can use per region, where that is not 3: the region's zones less those EKS refuses
# (spec.EKS_UNSUPPORTED_ZONE_IDS). An upper bound: some accounts see fewer (network.py checks the
# real list at deploy time).
EKS_ZONES = {"us-east-1": 5, "us-west-1": 2, "us-west-2": 4, "ap-northeast-1": 4, "ap-northeast-2": 4}
# A /16 is the largest VPC AWS allows; /20 still leaves /23 private subnets (510 pod/node addresses
# each, the VPC CNI gives every pod a VPC address) and /26 public ones for NAT and load balancers.
LARGEST_VPC_PREFIX, SMALLEST_VPC_PREFIX = 16, 20
# Names derived from a cluster name: the EKS cluster `<name>-<stack>` and IAM roles with a suffix and
# Pulumi's random 8 characters must fit IAM's 64-character limit for role names.
MAX_EKS_NAME = 38

_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
# Beyond any mesh the limits allow (limits.py); refused before the per-cluster checks, which
# compare clusters pairwise.
MAX_CLUSTERS = 256

CLUSTER_FIELDS = (
    "name",
    "region",
    "network",
    "vpcCidr",
    "availabilityZones",
    "kubernetesVersion",
    "nodeGroup",
    "nodeGroups",
    "natGateways",
    "role",
    "primary",
    "eastWestStaticIps",
    *parse_eks.CLUSTER_FIELDS,
)
# The regions of the pinned pulumi-aws; the provider skips region validation, so a typo would
# otherwise fail only when the first AWS call cannot resolve its endpoint.
REGIONS = tuple(r.value for r in aws_enums.Region)
NAT_GATEWAY_MODES = ("single", "perAz")


def _parse_zones(value: Any, region: str, path: str, problems: Problems) -> int | tuple[str, ...]:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        count = 3 if value is None else value
        if not MIN_AZS <= count <= MAX_AZS:
            problems.add(path, f"is {shown(count)}; use between {MIN_AZS} and {MAX_AZS} zones (EKS needs at least two)")
        elif region and count > EKS_ZONES.get(region, 3):
            most = EKS_ZONES.get(region, 3)
            problems.add(
                path,
                f"{'the default ' if value is None else ''}{count} zones, but {region} has at most {most} that EKS"
                f" can use; set availabilityZones to {most} or fewer",
            )
        return count
    if isinstance(value, list):
        if not MIN_AZS <= len(value) <= MAX_AZS:
            problems.add(path, f"lists {len(value)} zones; list between {MIN_AZS} and {MAX_AZS}")
        for i, zone in enumerate(value):
            # Without a valid region (refused already) only the type can be checked.
            if not isinstance(zone, str) or (region and not re.fullmatch(re.escape(region) + r"[a-z]", zone)):
                example = region or "us-east-1"
                problems.add(f"{path}[{i}]", f'{given(zone)} is not a zone of region {example}, e.g. "{example}a"')
        if len(set(map(str, value))) != len(value):
            problems.add(path, "lists a zone twice; each subnet pair needs its own zone")
        return tuple(map(str, value))
    problems.add(path, f"must be a zone count or a list of zone names, got {given(value)}; e.g. 3")
    return 3


def stack_slug(stack: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-") or "stack"


def parse_clusters(
    items: list,
    default_region: str | None,
    stack: str,
    problems: Problems,
    protect: bool = False,
    mesh_cidr: ipaddress.IPv4Network = DEFAULT_MESH_CIDR,
    last: LastDeployment = LastDeployment(),
    ipam_pools: Mapping[str, str] | None = None,
    pool_space: Sequence[ipaddress.IPv4Network] = (),
) -> list[ClusterSpec]:
    """`ipam_pools`: region -> pool (`ipamPools`); `pool_space`: the CIDRs those pools hold, which
    the mesh's own allocation steps over."""
    if len(items) > MAX_CLUSTERS:
        problems.add(
            "clusters",
            f"lists {len(items)} clusters; this program takes at most {MAX_CLUSTERS} (see"
            " docs/concepts/models.md#mesh-size)",
        )
        return []
    start = len(problems.items)
    slug = stack_slug(stack)
    deletion_protection = parse_eks.deletion_protection_default(stack)
    region_ok = _check_default_region(items, default_region, problems)
    # The Kubernetes version each deployed cluster was last deployed with (its `addonVersions` record).
    recorded = {name: record.get(RECORD_VERSION_KEY) for name, record in last.addon_versions.items()}
    parsed = [
        entry
        for i, item in enumerate(items)
        if (
            entry := _parse_cluster(
                i, item, default_region if region_ok else "", slug, problems, (protect, deletion_protection), recorded
            )
        )
        is not None
    ]
    _check_unique(
        parsed, "name", "cluster names must be unique: they name the Istio cluster and its remote secrets", problems
    )
    _check_topology(items, parsed, problems)
    _check_one_partition(items, parsed, problems)
    check_deployed(parsed, last, problems)
    cidrs, pools = _vpc_cidrs(parsed, mesh_cidr, last, problems, ipam_pools or {}, pool_space)
    for entry in parsed:
        if isinstance(entry["name"], str):
            _keep_deployed(entry, last, problems)
    return [
        ClusterSpec(
            name=entry["name"],
            region=entry["region"],
            network=entry["network"],
            vpc_cidr=cidrs[entry["index"]],
            availability_zones=entry["availability_zones"],
            kubernetes_version=entry["kubernetes_version"],
            node_group=entry["node_groups"][0],
            more_node_groups=entry["node_groups"][1:],
            nat_gateways=entry["nat_gateways"],
            eks_name=entry["eks_name"],
            role=entry["role"],
            primary=entry["primary"],
            east_west_static_ips=entry["east_west_static_ips"],
            eks=entry["eks"],
            ipam_pool=pools.get(entry["index"]),
            config_index=entry["index"],
        )
        for entry in _accepted(parsed, problems.items[start:])
    ]


def _accepted(parsed: list[dict[str, Any]], found: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The entries that parsed without a problem, for the checks that need whole clusters: a refused
    entry is left out (its problem is named once), and so is a remote whose primary was. A problem
    of the list as a whole (`clusters`) leaves nothing to check."""
    paths = [path for path, _ in found]
    if "clusters" in paths:
        return []
    refused = {e["index"] for e in parsed if not e["region"]}
    refused |= {int(m[1]) for path in paths if (m := re.match(r"clusters\[(\d+)\]", path))}
    accepted = [e for e in parsed if e["index"] not in refused]
    primaries = {e["name"] for e in accepted if e["role"] == "primary"}
    return [e for e in accepted if e["role"] != "remote" or e["primary"] in primaries]


def _check_one_partition(items: list, parsed: list[dict[str, Any]], problems: Problems) -> None:
    """A stack's clusters share one AWS partition: IAM identities, credentials, Transit Gateway
    peering and VPC peering never cross partitions (docs.aws.amazon.com/whitepapers/latest/
    aws-fault-isolation-boundaries/partitions.html), so a mesh across them would fail mid-deploy."""
    regions = [(e["index"], e["region"]) for e in parsed if e["region"]]
    if not regions:
        return
    first_index, first_region = regions[0]
    first = parse_eks.region_partition(first_region)
    for index, region in regions[1:]:
        partition = parse_eks.region_partition(region)
        if partition != first:
            where = "region" if isinstance(items[index], dict) and "region" in items[index] else "region (aws:region)"
            problems.add(
                f"clusters[{index}].region",
                f"{region} is in partition {partition}, but clusters[{first_index}] ({first_region}) is in {first};"
                f" a stack's clusters share one partition (IAM, credentials and peering do not cross them):"
                f" move this cluster's {where} into {first}, or give it a stack of its own",
            )


def _check_default_region(items: list, default_region: str | None, problems: Problems) -> bool:
    """`aws:region`, checked once and named as such, when a cluster takes its region from it."""
    if default_region is None or not any(isinstance(i, dict) and "region" not in i for i in items):
        return True
    return _check_region(default_region, "aws:region", problems)


def _check_region(region: Any, path: str, problems: Problems) -> bool:
    if not expect(region, str, path, problems, '"us-east-1"'):
        return False
    if region not in REGIONS:
        guess = difflib.get_close_matches(region[:40], REGIONS, n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else 'e.g. "us-east-1"'
        problems.add(path, f"{shown(region)} is not an AWS region; {hint}")
        return False
    return True


def _keep_deployed(entry: dict[str, Any], last: LastDeployment, problems: Problems) -> None:
    """What a deployed cluster keeps of what it has, where a newer default would replace or break it:
    its node groups' AMI types and launch templates, and vpc-cni's role."""
    name, deployed = entry["name"], entry["name"] in last.clusters
    recorded_ami_types = last.node_ami_types.get(name)
    groups = keep_deployed_ami_types(entry["node_groups"], recorded_ami_types, deployed)
    entry["node_groups"] = keep_deployed_launch_templates(
        groups, deployed_groups(recorded_ami_types, deployed), last.node_launch_templates.get(name)
    )
    check_no_rollback(entry["index"], entry["node_groups"], last.node_release_versions.get(name), problems)
    path = f"clusters[{entry['index']}].vpcCniRole"
    entry["eks"] = resolve_vpc_cni_role(name, entry["eks"], entry["kubernetes_version"], last, path, problems)


def _parse_cluster(
    i: int,
    item: Any,
    default_region: str | None,
    slug: str,
    problems: Problems,
    protect: tuple[bool, bool],
    recorded_version: Mapping[str, Any],
) -> dict[str, Any] | None:
    """One entry of `clusters`, checked field by field; the checks between clusters come later.
    `default_region` is `aws:region`, "" if that was refused already, None if unset; `protect` the
    mesh's `protect` and the stack's default EKS deletion protection."""
    path = f"clusters[{i}]"
    if not expect(item, dict, path, problems, '{"name": "east"}'):
        return None
    unknown_fields(item, CLUSTER_FIELDS, path, problems)
    name = _parse_name(item.get("name"), f"{path}.name", slug, problems)
    region = _parse_region(item, default_region, f"{path}.region", problems)
    cidr = _parse_vpc_cidr(item, f"{path}.vpcCidr", problems)
    kubernetes_version = _parse_kubernetes_version(
        item, f"{path}.kubernetesVersion", recorded_version.get(name) if isinstance(name, str) else None, problems
    )
    return {
        "index": i,
        "name": name,
        "eks_name": f"{name}-{slug}",
        "region": region,
        "network": _parse_network(item, name, f"{path}.network", problems),
        "vpc_cidr": cidr,
        "explicit_cidr": "vpcCidr" in item,
        "availability_zones": _parse_zones(
            item.get("availabilityZones"), region, f"{path}.availabilityZones", problems
        ),
        "kubernetes_version": kubernetes_version,
        "node_groups": parse_node_groups(item, path, problems, kubernetes_version),
        "nat_gateways": parse_choice(item, "natGateways", "single", NAT_GATEWAY_MODES, path, problems),
        "role": parse_choice(item, "role", "primary", ROLES, path, problems),
        "primary": item.get("primary"),
        "east_west_static_ips": item.get("eastWestStaticIps"),
        "eks": parse_eks.parse_cluster_eks(item, path, problems, *protect, region=region),
    }


def _parse_name(name: Any, path: str, slug: str, problems: Problems) -> Any:
    if name is None:
        problems.add(path, 'is required, e.g. "east"')
    elif expect_name(
        name,
        DNS_LABEL,
        63,
        path,
        problems,
        "a DNS-1123 label: lowercase letters, digits and '-', starting with a letter",
        '"east"',
    ):
        eks_name = f"{name}-{slug}"
        if len(eks_name) > MAX_EKS_NAME:
            problems.add(
                path,
                f"{name!r} is too long: the EKS cluster name {shown(eks_name)} (<name>-<stack>) has"
                f" {len(eks_name)} characters, at most {MAX_EKS_NAME} fit the IAM role names derived"
                " from it; shorten the cluster name",
            )
    return name


def _parse_region(item: dict, default_region: str | None, path: str, problems: Problems) -> str:
    if "region" in item:
        return item["region"] if _check_region(item["region"], path, problems) else ""
    if default_region is None:
        problems.add(path, "no region: set it here or set aws:region for the stack")
    return default_region or ""


def _parse_network(item: dict, name: Any, path: str, problems: Problems) -> Any:
    if "network" not in item:
        return f"network-{name}" if isinstance(name, str) else None
    network = item["network"]
    expect_name(
        network,
        _LABEL_VALUE,
        63,
        path,
        problems,
        "a Kubernetes label value (letters, digits, '-', '_', '.', alphanumeric at both ends)",
        '"network1"',
    )
    return network


def _parse_vpc_cidr(item: dict, path: str, problems: Problems) -> Any:
    """An explicit `vpcCidr`, or None (also when refused, so no default is fitted around it)."""
    if "vpcCidr" not in item:
        return None
    cidr = parse_cidr(item["vpcCidr"], path, problems)
    if cidr is None:
        return None
    if not LARGEST_VPC_PREFIX <= cidr.prefixlen <= SMALLEST_VPC_PREFIX:
        problems.add(
            path,
            f"{cidr} is a /{cidr.prefixlen}; use a /{LARGEST_VPC_PREFIX} to /{SMALLEST_VPC_PREFIX}"
            " (AWS allows at most /16; smaller than /20 leaves too few addresses for"
            " pods and load balancers)",
        )
        return None
    reserved = vpc_range_problem(cidr)
    if reserved:
        problems.add(path, reserved)
        return None
    return cidr


def _parse_kubernetes_version(item: dict, path: str, recorded: Any, problems: Problems) -> Any:
    """`kubernetesVersion`: a listed version; unset, the version the stack recorded for a deployed
    cluster (a newer default must not upgrade it), else the default. Past the list, the next minor
    after a recorded newest listed version: the one EKS upgrades such a cluster to itself when its
    support ends, which a deployed stack must be able to name (support_warnings says what is unknown)."""
    listed = versions.SUPPORTED_KUBERNETES_VERSIONS
    newest = listed[-1]
    beyond = f"1.{int(newest.split('.')[1]) + 1}"
    if "kubernetesVersion" not in item:
        return recorded if recorded in (*listed, beyond) else versions.DEFAULT_KUBERNETES_VERSION
    version = item["kubernetesVersion"]
    if version in listed or (version == beyond and recorded in (newest, beyond)):
        return version
    quoted = " (a string, quoted in YAML)" if not isinstance(version, str) else ""
    problems.add(path, f"{given(version)} is not supported; use one of {', '.join(listed)}{quoted}")
    return version


def _vpc_cidrs(
    parsed: list[dict[str, Any]],
    mesh_cidr: ipaddress.IPv4Network,
    last: LastDeployment,
    problems: Problems,
    ipam_pools: Mapping[str, str],
    pool_space: Sequence[ipaddress.IPv4Network] = (),
) -> tuple[dict[int, ipaddress.IPv4Network | None], dict[int, str]]:
    """Every cluster's VPC range, and the IPAM pool of those whose range comes from one, as the
    plan places them (plan/ranges.py); what it could not place is a problem here."""
    requests = [
        RangeRequest(e["index"], str(e["name"]), e["region"], e["explicit_cidr"], e["vpc_cidr"]) for e in parsed
    ]
    plan = plan_vpc_ranges(requests, last, mesh_cidr, ipam_pools, pool_space)
    names = {r.index: r.name for r in requests}
    for index, recorded, pool in plan.pool_mismatches:
        problems.add(
            f"clusters[{index}].vpcCidr",
            f"{plan.cidrs[index]} is not the range IPAM pool {pool} gave {names[index]!r}'s VPC, {recorded}, which it"
            " keeps for good: remove vpcCidr or set it to that",
        )
    # The ranges that are VPCs already: recorded by the stack (listed again or not), or the name-hash
    # default of a cluster deployed before that record. No hint may ask to move one.
    kept = {
        r.index: "recorded" if recorded_cidr(last.vpc_cidrs.get(r.name)) == plan.cidrs[r.index] else "by name"
        for r in requests
        if plan.cidrs.get(r.index) is not None and plan.how.get(r.index) != "free" and r.name in last.clusters
    }
    _report_overlaps(requests, plan, kept, mesh_cidr, problems)
    for index in plan.exhausted:
        problems.add(
            f"clusters[{index}].vpcCidr",
            f"{names[index]!r} has no vpcCidr and meshCidr {mesh_cidr} has no free /{DEFAULT_VPC_PREFIX} left;"
            " set a larger meshCidr, or a smaller vpcCidr (up to /20) on some clusters",
        )
    return plan.cidrs, plan.pools


def _report_overlaps(
    requests: list[RangeRequest],
    plan: RangePlan,
    kept: dict[int, str],
    mesh_cidr: ipaddress.IPv4Network,
    problems: Problems,
) -> None:
    """Each overlap once, on the cluster that has to move: the later in config order, unless only
    the earlier is free to (the other is a deployed VPC, `kept`). A hint never suggests moving a
    deployed VPC, and names a recorded range as the stack recorded it."""
    cidrs, how = plan.cidrs, plan.how
    names = {r.index: r.name for r in requests}
    fixed = [c for i, c in cidrs.items() if c is not None and how.get(i) != "free"]
    legacy = legacy_default_cidrs(requests, [cidrs[i] for i in cidrs if how.get(i) == "explicit"])
    for i, j in plan.overlaps:
        first, second = cidrs[i], cidrs[j]
        if j in kept and i not in kept:
            i, j, first, second = j, i, second, first  # the new one moves, whatever its place
        if i in kept:
            recorded = ", as the stack recorded it" if kept[i] == "recorded" else ""
            other = f"the deployed VPC of {names[i]!r} (clusters[{i}], {first}{recorded})"
        else:
            other = f"clusters[{i}].vpcCidr ({first})"
        if j in kept:
            problems.add(f"clusters[{j}].vpcCidr", _both_deployed(i, j, names, cidrs, kept, legacy))
            continue
        message = f"{second} overlaps {other}; give {names[j]!r} a range of its own"
        free = lowest_free(mesh_cidr, DEFAULT_VPC_PREFIX, fixed)
        if free:
            message += f', e.g. "{free}"'
        # A stack deployed before defaults were pinned, and before it recorded its ranges, may hold
        # a moved default: say which. A recorded range is what the VPC has, and is named above.
        if kept.get(i) == "by name" and i in legacy and legacy[i] != first:
            message += f"; if {names[i]!r}'s VPC is {legacy[i]} rather, set its vpcCidr to that"
        problems.add(f"clusters[{j}].vpcCidr", message)


def _both_deployed(
    i: int,
    j: int,
    names: dict[int, Any],
    cidrs: dict[int, ipaddress.IPv4Network | None],
    kept: dict[int, str],
    legacy: dict[int, ipaddress.IPv4Network],
) -> str:
    """Two deployed VPCs the program takes to overlap: a range it could only guess (a cluster deployed
    before the stack recorded ranges) is the one to correct; two recorded ones cannot move."""
    said = f"{names[j]!r}'s deployed VPC {cidrs[j]} overlaps {names[i]!r}'s, {cidrs[i]}"
    guessed = next((k for k in (j, i) if kept[k] == "by name"), None)
    if guessed is None:
        return f"{said}: neither can move (a VPC's range is fixed); remove one of the two clusters"
    likely = f", likely {legacy[guessed]}" if guessed in legacy and legacy[guessed] != cidrs[guessed] else ""
    return (
        f"{said}, both deployed before the stack recorded its ranges: set clusters[{guessed}].vpcCidr to the"
        f" range {names[guessed]!r}'s VPC has (aws ec2 describe-vpcs){likely}"
    )


def _check_topology(items: list, parsed: list[dict[str, Any]], problems: Problems) -> None:
    """Roles and primaries; fills in each cluster's eastWestStaticIps default (false)."""
    by_name = {e["name"]: e for e in parsed if isinstance(e["name"], str)}
    for entry in parsed:
        path = f"clusters[{entry['index']}].primary"
        role, primary = entry["role"], entry["primary"]
        if role not in ROLES:
            continue  # refused with the cluster's fields
        if role == "primary" and primary is not None:
            problems.add(path, "only a remote names a primary; set role: remote, or remove primary")
        elif role == "remote":
            if primary is None:
                problems.add(path, "a remote must name the primary cluster whose istiod serves it")
            elif not isinstance(primary, str):
                problems.add(path, f"must be the name of a primary cluster, got {given(primary)}")
            elif primary not in by_name:
                problems.add(path, f"{shown(primary)} is not a cluster of this mesh; known: {', '.join(by_name)}")
            elif primary == entry["name"]:
                problems.add(path, "a cluster cannot be its own primary")
            elif by_name[primary]["role"] != "primary":
                problems.add(path, f"{primary!r} is a remote itself; a primary cannot be remote, so name a primary")
    if parsed and all(e["role"] == "remote" for e in parsed):
        problems.add(
            "clusters", "every cluster is a remote; at least one must be a primary (role: primary) to run istiod"
        )

    for entry in parsed:
        value = entry["east_west_static_ips"]
        if value is None:
            # Static addresses are for allow-lists only; remotes reach istiod by the NLB's name.
            entry["east_west_static_ips"] = False
        elif not isinstance(value, bool):
            problems.add(f"clusters[{entry['index']}].eastWestStaticIps", f"must be true or false, got {given(value)}")
            entry["east_west_static_ips"] = False


def _check_unique(entries: list[dict[str, Any]], field: str, why: str, problems: Problems) -> None:
    seen: dict[str, int] = {}
    for entry in entries:
        value = entry[field]
        if not isinstance(value, str):
            continue
        if value in seen:
            problems.add(
                f"clusters[{entry['index']}].{field}",
                f"{value!r} is already used by clusters[{seen[value]}]; {why}",
            )
        else:
            seen[value] = entry["index"]
