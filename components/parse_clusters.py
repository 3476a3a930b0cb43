"""Validation of `clusters`: each cluster's fields, the roles and primaries between them, and the
VPC ranges (explicit ones checked for overlap, defaults picked so they never move)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from . import parse_eks, versions
from .spec import ROLES, ClusterSpec, NodeGroupSpec
from .validate import Problems, expect, parse_cidr, type_name, unknown_fields

MIN_AZS, MAX_AZS = 2, 6
# A /16 is the largest VPC AWS allows; /20 still leaves /23 private subnets (510 pod/node addresses
# each, the VPC CNI gives every pod a VPC address) and /26 public ones for NAT and load balancers.
LARGEST_VPC_PREFIX, SMALLEST_VPC_PREFIX = 16, 20
# Names derived from a cluster name: the EKS cluster `<name>-<stack>` and IAM roles with a suffix and
# Pulumi's random 8 characters must fit IAM's 64-character limit for role names.
MAX_EKS_NAME = 38

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")

CLUSTER_FIELDS = (
    "name",
    "region",
    "network",
    "vpcCidr",
    "availabilityZones",
    "kubernetesVersion",
    "nodeGroup",
    "natGateways",
    "role",
    "primary",
    "eastWestStaticIps",
    *parse_eks.CLUSTER_FIELDS,
)
NODE_GROUP_FIELDS = ("instanceTypes", "desiredSize", "minSize", "maxSize", "capacityType")
NAT_GATEWAY_MODES = ("single", "perAz")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")


def _parse_node_group(value: Any, path: str, problems: Problems) -> NodeGroupSpec:
    defaults = NodeGroupSpec()
    if value is None:
        return defaults
    if not expect(value, dict, path, problems, '{"instanceTypes": ["m6i.large"], "desiredSize": 2}'):
        return defaults
    unknown_fields(value, NODE_GROUP_FIELDS, path, problems)

    instance_types = defaults.instance_types
    raw_types = value.get("instanceTypes")
    if raw_types is not None and expect(raw_types, list, f"{path}.instanceTypes", problems, '["m6i.large"]'):
        if not raw_types:
            problems.add(f"{path}.instanceTypes", 'is empty; list at least one EC2 instance type, e.g. ["m6i.large"]')
        for i, item in enumerate(raw_types):
            if not isinstance(item, str) or not _INSTANCE_TYPE.match(item):
                problems.add(f"{path}.instanceTypes[{i}]", f"{item!r} is not an EC2 instance type such as \"m6i.large\"")
        instance_types = tuple(raw_types)

    sizes = {}
    for key, default in (("desiredSize", defaults.desired_size), ("minSize", defaults.min_size), ("maxSize", defaults.max_size)):
        raw = value.get(key, default)
        if expect(raw, int, f"{path}.{key}", problems, str(default)) and raw >= 0:
            sizes[key] = raw
        elif isinstance(raw, int) and not isinstance(raw, bool):
            problems.add(f"{path}.{key}", f"is {raw}; node counts cannot be negative")
    if len(sizes) == 3:
        lo, want, hi = sizes["minSize"], sizes["desiredSize"], sizes["maxSize"]
        if hi < 1:
            problems.add(f"{path}.maxSize", "must be at least 1: Istio needs nodes to run on")
        if not lo <= want <= hi:
            problems.add(
                f"{path}.desiredSize",
                f"sizes out of order (minSize {lo}, desiredSize {want}, maxSize {hi});"
                " they must satisfy minSize <= desiredSize <= maxSize",
            )

    capacity_type = value.get("capacityType", defaults.capacity_type)
    if capacity_type not in CAPACITY_TYPES:
        problems.add(f"{path}.capacityType", f"{capacity_type!r} is not one of {', '.join(CAPACITY_TYPES)}")

    return NodeGroupSpec(
        instance_types=instance_types,
        desired_size=sizes.get("desiredSize", defaults.desired_size),
        min_size=sizes.get("minSize", defaults.min_size),
        max_size=sizes.get("maxSize", defaults.max_size),
        capacity_type=capacity_type if capacity_type in CAPACITY_TYPES else defaults.capacity_type,
    )


def _parse_zones(value: Any, region: str, path: str, problems: Problems) -> int | tuple[str, ...]:
    if value is None:
        return 3
    if isinstance(value, int) and not isinstance(value, bool):
        if not MIN_AZS <= value <= MAX_AZS:
            problems.add(path, f"is {value}; use between {MIN_AZS} and {MAX_AZS} zones (EKS needs at least two)")
        return value
    if isinstance(value, list):
        if not MIN_AZS <= len(value) <= MAX_AZS:
            problems.add(path, f"lists {len(value)} zones; list between {MIN_AZS} and {MAX_AZS}")
        for i, zone in enumerate(value):
            if not isinstance(zone, str) or not re.fullmatch(re.escape(region) + r"[a-z]", zone):
                problems.add(f"{path}[{i}]", f"{zone!r} is not a zone of region {region}, e.g. \"{region}a\"")
        if len(set(map(str, value))) != len(value):
            problems.add(path, "lists a zone twice; each subnet pair needs its own zone")
        return tuple(map(str, value))
    problems.add(path, f"must be a zone count or a list of zone names, got {type_name(value)} {value!r}; e.g. 3")
    return 3


def _stack_slug(stack: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-") or "stack"


def default_vpc_cidr(name: str) -> ipaddress.IPv4Network:
    """The 10.x.0.0/16 of a cluster without `vpcCidr`: a function of its name alone, so adding,
    removing or reordering other clusters never moves (and so replaces) its VPC."""
    return ipaddress.IPv4Network(f"10.{_name_slot(name)}.0.0/16")


def _name_slot(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 256


def _legacy_default_cidrs(parsed: list[dict[str, Any]], explicit: list[ipaddress.IPv4Network]) -> dict[int, ipaddress.IPv4Network]:
    """What releases before defaults were pinned gave each defaulted cluster: in name order, the
    first free slot from its own. Only used to tell the owner of such a stack what it has."""
    taken, found = list(explicit), {}
    for entry in sorted((e for e in parsed if not e["explicit_cidr"]), key=lambda e: str(e["name"])):
        start = _name_slot(str(entry["name"]))
        for step in range(256):
            candidate = ipaddress.IPv4Network(f"10.{(start + step) % 256}.0.0/16")
            if not any(candidate.overlaps(t) for t in taken):
                found[entry["index"]] = candidate
                taken.append(candidate)
                break
    return found


def _free_range_near(cidr: ipaddress.IPv4Network, taken: list[ipaddress.IPv4Network]) -> str | None:
    second = int(cidr.network_address) >> 16 & 0xFF
    for step in range(1, 256):
        candidate = ipaddress.IPv4Network(f"10.{(second + step) % 256}.0.0/16")
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    return None


def parse_clusters(items: list, default_region: str | None, stack: str, problems: Problems) -> list[ClusterSpec]:
    slug = _stack_slug(stack)
    parsed = [
        entry
        for i, item in enumerate(items)
        if (entry := _parse_cluster(i, item, default_region, slug, problems)) is not None
    ]
    _check_unique(parsed, "name", "cluster names must be unique: they name the Istio cluster and its remote secrets", problems)
    _check_topology(items, parsed, problems)
    cidrs = _vpc_cidrs(parsed, problems)
    if problems.items:
        return []
    return [
        ClusterSpec(
            name=entry["name"],
            region=entry["region"],
            network=entry["network"],
            vpc_cidr=cidrs[entry["index"]],
            availability_zones=entry["availability_zones"],
            kubernetes_version=entry["kubernetes_version"],
            node_group=entry["node_group"],
            nat_gateways=entry["nat_gateways"],
            eks_name=entry["eks_name"],
            role=entry["role"],
            primary=entry["primary"],
            east_west_static_ips=entry["east_west_static_ips"],
            eks=entry["eks"],
        )
        for entry in parsed
    ]


def _parse_cluster(i: int, item: Any, default_region: str | None, slug: str, problems: Problems) -> dict[str, Any] | None:
    """One entry of `clusters`, checked field by field; the checks between clusters come later."""
    path = f"clusters[{i}]"
    if not expect(item, dict, path, problems, '{"name": "east"}'):
        return None
    unknown_fields(item, CLUSTER_FIELDS, path, problems)
    name = _parse_name(item.get("name"), f"{path}.name", slug, problems)

    region = item.get("region", default_region)
    if region is None:
        problems.add(f"{path}.region", "no region: set it here or set aws:region for the stack")
        region = ""
    elif not (isinstance(region, str) and _REGION.match(region)):
        problems.add(f"{path}.region", f"{region!r} is not an AWS region name such as \"us-east-1\"")
        region = ""

    network = item.get("network", f"network-{name}" if isinstance(name, str) else None)
    if network is not None and expect(network, str, f"{path}.network", problems, '"network1"'):
        if not (_LABEL_VALUE.match(network) and len(network) <= 63):
            problems.add(
                f"{path}.network",
                f"{network!r} is not a valid Kubernetes label value (letters, digits, '-', '_',"
                " '.', at most 63, alphanumeric at both ends), e.g. \"network1\"",
            )

    cidr = None
    if "vpcCidr" in item:
        cidr = parse_cidr(item["vpcCidr"], f"{path}.vpcCidr", problems)
        if cidr is not None and not LARGEST_VPC_PREFIX <= cidr.prefixlen <= SMALLEST_VPC_PREFIX:
            problems.add(
                f"{path}.vpcCidr",
                f"{cidr} is a /{cidr.prefixlen}; use a /{LARGEST_VPC_PREFIX} to /{SMALLEST_VPC_PREFIX}"
                " (AWS allows at most /16; smaller than /20 leaves too few addresses for"
                " pods and load balancers)",
            )

    version = item.get("kubernetesVersion", versions.DEFAULT_KUBERNETES_VERSION)
    if version not in versions.SUPPORTED_KUBERNETES_VERSIONS:
        problems.add(
            f"{path}.kubernetesVersion",
            f"{version!r} is not supported; use one of {', '.join(versions.SUPPORTED_KUBERNETES_VERSIONS)}"
            " (a string, quoted in YAML)",
        )

    nat = item.get("natGateways", "single")
    if nat not in NAT_GATEWAY_MODES:
        problems.add(f"{path}.natGateways", f"{nat!r} is not one of {', '.join(NAT_GATEWAY_MODES)}")

    return dict(
        index=i,
        name=name,
        eks_name=f"{name}-{slug}",
        region=region,
        network=network,
        vpc_cidr=cidr,
        explicit_cidr="vpcCidr" in item,
        availability_zones=_parse_zones(item.get("availabilityZones"), region, f"{path}.availabilityZones", problems),
        kubernetes_version=version,
        node_group=_parse_node_group(item.get("nodeGroup"), f"{path}.nodeGroup", problems),
        nat_gateways=nat,
        role=item.get("role", "primary"),
        primary=item.get("primary"),
        east_west_static_ips=item.get("eastWestStaticIps"),
        eks=parse_eks.parse_cluster_eks(item, path, problems),
    )


def _parse_name(name: Any, path: str, slug: str, problems: Problems) -> Any:
    if name is None:
        problems.add(path, 'is required, e.g. "east"')
    elif expect(name, str, path, problems, '"east"'):
        eks_name = f"{name}-{slug}"
        if not DNS_LABEL.match(name):
            problems.add(
                path,
                f"{name!r} is not a DNS-1123 label: use lowercase letters, digits and '-',"
                " starting with a letter, e.g. \"east\"",
            )
        elif len(eks_name) > MAX_EKS_NAME:
            problems.add(
                path,
                f"{name!r} is too long: the EKS cluster name {eks_name!r} (<name>-<stack>) has"
                f" {len(eks_name)} characters, at most {MAX_EKS_NAME} fit the IAM role names derived"
                " from it; shorten the cluster name",
            )
    return name


def _vpc_cidrs(parsed: list[dict[str, Any]], problems: Problems) -> dict[int, ipaddress.IPv4Network]:
    """Every cluster's VPC range: explicit, or the default its name gives it. Ranges must not
    overlap; a clash is reported on the later cluster in config order (the one most likely just
    added), and nothing is moved to make room."""
    cidrs = {e["index"]: e["vpc_cidr"] if e["explicit_cidr"] else default_vpc_cidr(str(e["name"])) for e in parsed}
    cidrs = {i: c for i, c in cidrs.items() if c is not None}
    names = {e["index"]: e["name"] for e in parsed}
    defaulted = {e["index"] for e in parsed if not e["explicit_cidr"]}
    legacy = _legacy_default_cidrs(parsed, [cidrs[i] for i in cidrs if i not in defaulted])
    ordered = sorted(cidrs.items())
    for a, (i, first) in enumerate(ordered):
        for j, second in ordered[a + 1 :]:
            if not first.overlaps(second):
                continue
            other = f"clusters[{i}].vpcCidr ({first}{', its default' if i in defaulted else ''})"
            if j in defaulted:
                message = (
                    f"{names[j]!r} has no vpcCidr, and its default {second} (picked from its name, so that"
                    f" it never moves) overlaps {other}; set clusters[{j}].vpcCidr to a free range"
                )
            else:
                message = f"{second} overlaps {other}; give every cluster a distinct range"
            free = _free_range_near(second, list(cidrs.values()))
            if free:
                message += f', e.g. "{free}"'
            # A stack deployed before defaults were pinned may hold a moved default: say which.
            moved = [k for k in (i, j) if k in legacy and legacy[k] != cidrs[k]]
            message += "".join(f"; if {names[k]!r} is deployed already, its VPC is {legacy[k]}: set that" for k in moved)
            problems.add(f"clusters[{j}].vpcCidr", message)
    return cidrs


def _check_topology(items: list, parsed: list[dict[str, Any]], problems: Problems) -> None:
    """Roles and primaries; fills in each cluster's eastWestStaticIps default (false)."""
    by_name = {e["name"]: e for e in parsed if isinstance(e["name"], str)}
    for entry in parsed:
        path = f"clusters[{entry['index']}]"
        role, primary = entry["role"], entry["primary"]
        if role not in ROLES:
            problems.add(f"{path}.role", f"{role!r} is not one of {', '.join(ROLES)}")
            continue
        if role == "primary" and primary is not None:
            problems.add(f"{path}.primary", "only a remote names a primary; set role: remote, or remove primary")
        if role == "remote":
            if primary is None:
                problems.add(f"{path}.primary", "a remote must name the primary cluster whose istiod serves it")
            elif primary not in by_name:
                problems.add(f"{path}.primary", f"{primary!r} is not a cluster of this mesh; known: {', '.join(by_name)}")
            elif primary == entry["name"]:
                problems.add(f"{path}.primary", "a cluster cannot be its own primary")
            elif by_name[primary]["role"] != "primary":
                problems.add(f"{path}.primary", f"{primary!r} is a remote itself; a primary cannot be remote, so name a primary")
    if parsed and all(e["role"] == "remote" for e in parsed):
        problems.add("clusters", "every cluster is a remote; at least one must be a primary (role: primary) to run istiod")

    for entry in parsed:
        value = entry["east_west_static_ips"]
        if value is None:
            # Static addresses are for allow-lists only; remotes reach istiod by the NLB's name.
            entry["east_west_static_ips"] = False
        elif not isinstance(value, bool):
            problems.add(f"clusters[{entry['index']}].eastWestStaticIps", f"must be true or false, got {type_name(value)} {value!r}")
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

