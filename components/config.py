"""Stack configuration: read once, validated, turned into frozen typed objects.

`parse_mesh_spec` is a pure function of the raw config values, so every rule is testable without the
Pulumi engine. It collects every problem before it raises, and each message names the key path
(`clusters[1].vpcCidr`), what is wrong, and what would be right. `load_mesh_spec` reads the values
from the stack and is the only place that touches `pulumi.Config`.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import versions

PROJECT = "istio-eks-mesh"

# EKS only takes the control plane's subnets in these zones (AWS returns
# UnsupportedAvailabilityZoneException elsewhere), so they are never picked automatically.
EKS_UNSUPPORTED_ZONE_IDS = ("use1-az3", "usw1-az2", "cac1-az3")

MIN_AZS, MAX_AZS = 2, 6
# A /16 is the largest VPC AWS allows; /20 still leaves /23 private subnets (510 pod/node addresses
# each, the VPC CNI gives every pod a VPC address) and /26 public ones for NAT and load balancers.
LARGEST_VPC_PREFIX, SMALLEST_VPC_PREFIX = 16, 20
# EKS accepts at most this many CIDR blocks in publicAccessCidrs.
MAX_PUBLIC_ACCESS_CIDRS = 40
# The load balancer controller writes one security group rule per source CIDR and Service port;
# the east-west gateway has 4 ports and a security group holds 60 inbound rules by default.
MAX_EAST_WEST_CIDRS = 15
# Elastic IPs per region an AWS account gets by default.
DEFAULT_EIP_QUOTA = 5
# Names derived from a cluster name: the EKS cluster `<name>-<stack>` and IAM roles with a suffix and
# Pulumi's random 8 characters must fit IAM's 64-character limit for role names.
MAX_EKS_NAME = 38

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_ISTIO_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")

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
)
ROLES = ("primary", "remote")
NODE_GROUP_FIELDS = ("instanceTypes", "desiredSize", "minSize", "maxSize", "capacityType")
PKI_FIELDS = ("organization", "keyAlgorithm", "rootValidityDays", "intermediateValidityDays", "earlyRenewalDays")
ROOT_CA_FIELDS = ("certPem", "keyPem")
ISTIO_CHARTS = ("base", "istiod", "gateway")
TOP_LEVEL_KEYS = (
    "meshId",
    "istioVersion",
    "clusters",
    "apiAccessCidrs",
    "eastWestAllowedCidrs",
    "pki",
    "rootCa",
    "istioValues",
    "deploySamples",
)
KEY_ALGORITHMS = ("RSA", "ECDSA")

NAT_GATEWAY_MODES = ("single", "perAz")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")


class ConfigError(pulumi.RunError):
    """Invalid stack configuration. A RunError, so Pulumi prints the message without a traceback."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"  - {PROJECT}:{path}: {message}" for path, message in problems]
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(
            f"invalid stack configuration ({count}); nothing was created:\n"
            + "\n".join(lines)
            + "\nFix the keys with `pulumi config set --path '<key>' <value>` or edit"
            " Pulumi.<stack>.yaml (see the README's config reference)."
        )


@dataclass(frozen=True)
class NodeGroupSpec:
    instance_types: tuple[str, ...] = ("m6i.large",)
    desired_size: int = 2
    min_size: int = 2
    max_size: int = 4
    capacity_type: str = "ON_DEMAND"


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    region: str
    network: str
    vpc_cidr: ipaddress.IPv4Network
    # A count (zones picked from the region at deploy time) or explicit zone names.
    availability_zones: int | tuple[str, ...]
    kubernetes_version: str
    node_group: NodeGroupSpec
    nat_gateways: str
    # The EKS cluster's name in AWS; unique per stack so two stacks can share an account.
    eks_name: str
    # `primary` runs istiod; `remote` is served by the istiod of the cluster named in `primary`.
    role: str = "primary"
    primary: str | None = None
    # Elastic IPs for the east-west gateway's NLB, one per public subnet.
    east_west_static_ips: bool = False

    @property
    def az_count(self) -> int:
        zones = self.availability_zones
        return zones if isinstance(zones, int) else len(zones)

    @property
    def is_remote(self) -> bool:
        return self.role == "remote"


@dataclass(frozen=True)
class PkiSpec:
    organization: str = "Istio"
    # RSA 4096 (what Istio's own tools make) or ECDSA P-256.
    key_algorithm: str = "RSA"
    root_validity_days: int = 3650
    intermediate_validity_days: int = 730
    # An intermediate is re-issued on the first `pulumi up` this many days before it expires.
    early_renewal_days: int = 30


@dataclass(frozen=True)
class ImportedRootCa:
    """A root CA brought from elsewhere (e.g. a vault), already checked to be usable."""

    cert_pem: str
    key_pem: str = field(repr=False)


@dataclass(frozen=True)
class MeshSpec:
    mesh_id: str
    istio_version: str
    clusters: tuple[ClusterSpec, ...]
    # CIDRs of operators allowed to reach the EKS public endpoints (the NAT addresses of every VPC
    # in the mesh are added to them).
    api_access_cidrs: tuple[str, ...]
    pki: PkiSpec = PkiSpec()
    root_ca: ImportedRootCa | None = field(default=None, repr=False)
    # Who may reach the east-west gateways (15443 and friends); None means the NAT addresses of
    # every VPC in the mesh, i.e. only mesh peers.
    east_west_allowed_cidrs: tuple[str, ...] | None = None
    # Extra Helm values per Istio chart, merged over the program's own.
    istio_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Deploy helloworld and a curl client in every cluster, for `python -m verify`.
    deploy_samples: bool = False
    # `istioValues` was stored encrypted: the Helm values that carry it stay secret.
    istio_values_secret: bool = False

    @property
    def api_open_to_internet(self) -> bool:
        return "0.0.0.0/0" in self.api_access_cidrs

    def cluster(self, name: str) -> ClusterSpec:
        return next(c for c in self.clusters if c.name == name)

    def remotes_of(self, name: str) -> list[ClusterSpec]:
        return [c for c in self.clusters if c.primary == name]

    @property
    def single_network(self) -> bool:
        """Several clusters, all on one network: no traffic crosses networks. (A lone cluster
        keeps its cross-network gateway, ready for the clusters added next.)"""
        return len(self.clusters) > 1 and len({c.network for c in self.clusters}) == 1

    def has_east_west_gateway(self, cluster: ClusterSpec) -> bool:
        """A network needs a gateway for traffic from other networks, and a primary with remotes
        exposes istiod through one; a remote on its primary's network is reached through the
        primary's gateway."""
        if cluster.is_remote:
            return not self.single_network and cluster.network != self.cluster(cluster.primary).network
        return not self.single_network or bool(self.remotes_of(cluster.name))

    def discovers(self, local: ClusterSpec, peer: ClusterSpec) -> bool:
        """Whether `local`'s istiod needs a remote secret for `peer`: every primary watches every
        other cluster (its remotes and the other primaries with theirs); remotes run no istiod."""
        return not local.is_remote and local.name != peer.name

    def elastic_ips_by_region(self) -> dict[str, int]:
        """Elastic IPs the mesh allocates per region: NAT gateways and static gateway addresses."""
        counts: dict[str, int] = {}
        for c in self.clusters:
            nats = 1 if c.nat_gateways == "single" else c.az_count
            counts[c.region] = counts.get(c.region, 0) + nats + (c.az_count if c.east_west_static_ips else 0)
        return counts

    def peered_pairs(self) -> list[tuple[ClusterSpec, ClusterSpec]]:
        """Clusters on one network reach each other's pods directly: their VPCs are peered."""
        return [
            (a, b)
            for i, a in enumerate(self.clusters)
            for b in self.clusters[i + 1 :]
            if a.network == b.network
        ]


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))


def _type_name(value: Any) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _expect(value: Any, kind: type, path: str, problems: _Problems, example: str) -> bool:
    # bool is an int in Python; a YAML `true` must not pass for a node count.
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        problems.add(path, f"must be {_type_name(kind())}, got {_type_name(value)} {value!r}; e.g. {example}")
    return ok


def _unknown_fields(obj: Mapping[str, Any], known: tuple[str, ...], path: str, problems: _Problems) -> None:
    lowered = {k.lower(): k for k in known}
    for key in obj:
        if key not in known:
            guess = lowered.get(str(key).lower())
            hint = f"did you mean `{guess}`?" if guess else f"known fields: {', '.join(known)}"
            problems.add(f"{path}.{key}", f"unknown field; {hint}")


def _parse_cidr(value: Any, path: str, problems: _Problems) -> ipaddress.IPv4Network | None:
    if not _expect(value, str, path, problems, '"10.0.0.0/16"'):
        return None
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        try:
            fixed = ipaddress.IPv4Network(value, strict=False)
            problems.add(path, f"{value!r} has host bits set; did you mean {str(fixed)!r}?")
        except ValueError:
            problems.add(path, f"{value!r} is not an IPv4 CIDR ({err}); e.g. \"10.0.0.0/16\"")
        return None


def parse_cidr_list(value: Any, path: str, problems: _Problems) -> tuple[str, ...] | None:
    if not _expect(value, list, path, problems, '["203.0.113.10/32"]'):
        return None
    if not value:
        problems.add(path, "is empty; list at least one CIDR, or remove the key")
        return None
    cidrs = [_parse_cidr(item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
    if any(c is None for c in cidrs):
        return None
    return tuple(dict.fromkeys(str(c) for c in cidrs))


def _parse_node_group(value: Any, path: str, problems: _Problems) -> NodeGroupSpec:
    defaults = NodeGroupSpec()
    if value is None:
        return defaults
    if not _expect(value, dict, path, problems, '{"instanceTypes": ["m6i.large"], "desiredSize": 2}'):
        return defaults
    _unknown_fields(value, NODE_GROUP_FIELDS, path, problems)

    instance_types = defaults.instance_types
    raw_types = value.get("instanceTypes")
    if raw_types is not None and _expect(raw_types, list, f"{path}.instanceTypes", problems, '["m6i.large"]'):
        if not raw_types:
            problems.add(f"{path}.instanceTypes", 'is empty; list at least one EC2 instance type, e.g. ["m6i.large"]')
        for i, item in enumerate(raw_types):
            if not isinstance(item, str) or not _INSTANCE_TYPE.match(item):
                problems.add(f"{path}.instanceTypes[{i}]", f"{item!r} is not an EC2 instance type such as \"m6i.large\"")
        instance_types = tuple(raw_types)

    sizes = {}
    for key, default in (("desiredSize", defaults.desired_size), ("minSize", defaults.min_size), ("maxSize", defaults.max_size)):
        raw = value.get(key, default)
        if _expect(raw, int, f"{path}.{key}", problems, str(default)) and raw >= 0:
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


def _parse_zones(value: Any, region: str, path: str, problems: _Problems) -> int | tuple[str, ...]:
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
    problems.add(path, f"must be a zone count or a list of zone names, got {_type_name(value)} {value!r}; e.g. 3")
    return 3


def _stack_slug(stack: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-") or "stack"


def _default_cidr(name: str, taken: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """A 10.x.0.0/16 chosen from the cluster's name, so adding or reordering clusters does not move
    (and so replace) the VPCs of the others."""
    start = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 256
    for step in range(256):
        candidate = ipaddress.IPv4Network(f"10.{(start + step) % 256}.0.0/16")
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise ConfigError([("clusters", "no free 10.x.0.0/16 left for a default vpcCidr; set vpcCidr explicitly")])


def parse_mesh_spec(
    raw: Mapping[str, Any],
    *,
    default_region: str | None,
    stack: str,
    secret_keys: frozenset[str] = frozenset(),
    now: datetime.datetime | None = None,
) -> MeshSpec:
    """Validates raw stack config (key -> already JSON-decoded value) and returns the MeshSpec.

    `secret_keys` are the top-level keys stored encrypted. Raises ConfigError listing every problem.
    """
    problems = _Problems()
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            lowered = {k.lower(): k for k in TOP_LEVEL_KEYS}
            guess = lowered.get(key.lower())
            problems.add(key, f"unknown key; did you mean `{guess}`?" if guess else f"unknown key; known keys: {', '.join(TOP_LEVEL_KEYS)}")

    mesh_id = raw.get("meshId", "mesh1")
    if _expect(mesh_id, str, "meshId", problems, '"mesh1"') and not (_DNS_LABEL.match(mesh_id) and len(mesh_id) <= 63):
        problems.add("meshId", f"{mesh_id!r} must be a DNS label (lowercase letters, digits, '-'; at most 63), e.g. \"mesh1\"")

    istio_version = raw.get("istioVersion", versions.DEFAULT_ISTIO_VERSION)
    if _expect(istio_version, str, "istioVersion", problems, f'"{versions.DEFAULT_ISTIO_VERSION}"'):
        match = _ISTIO_VERSION.match(istio_version)
        minimum = ".".join(map(str, versions.MIN_ISTIO_VERSION))
        if not match:
            problems.add(
                "istioVersion",
                f"{istio_version!r} is not a released Istio version (MAJOR.MINOR.PATCH, no prefix or"
                f" pre-release suffix); e.g. \"{versions.DEFAULT_ISTIO_VERSION}\"",
            )
        elif tuple(map(int, match.groups())) < versions.MIN_ISTIO_VERSION:
            problems.add("istioVersion", f"{istio_version} is older than {minimum}, the oldest release this program's Helm values fit")

    api_access_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    if raw.get("apiAccessCidrs") is not None:
        api_access_cidrs = parse_cidr_list(raw["apiAccessCidrs"], "apiAccessCidrs", problems) or api_access_cidrs

    clusters_raw = raw.get("clusters")
    clusters: list[ClusterSpec] = []
    if clusters_raw is None or clusters_raw == []:
        problems.add("clusters", 'no clusters; list at least one, e.g. [{"name": "east", "region": "us-east-1"}]')
    elif _expect(clusters_raw, list, "clusters", problems, '[{"name": "east"}]'):
        clusters = _parse_clusters(clusters_raw, default_region, stack, problems)

    nat_addresses = sum(1 if c.nat_gateways == "single" else c.az_count for c in clusters)
    if len(api_access_cidrs) + nat_addresses > MAX_PUBLIC_ACCESS_CIDRS:
        problems.add(
            "apiAccessCidrs",
            f"{len(api_access_cidrs)} CIDRs plus {nat_addresses} NAT addresses of the mesh exceed the"
            f" {MAX_PUBLIC_ACCESS_CIDRS} EKS allows on a public endpoint; merge CIDRs or use"
            " natGateways: single",
        )

    east_west = None
    if raw.get("eastWestAllowedCidrs") is not None:
        east_west = parse_cidr_list(raw["eastWestAllowedCidrs"], "eastWestAllowedCidrs", problems)

    istio_values: dict[str, dict[str, Any]] = {}
    extra = raw.get("istioValues")
    if extra is not None and _expect(extra, dict, "istioValues", problems, '{"istiod": {"pilot": {"resources": {}}}}'):
        _unknown_fields(extra, ISTIO_CHARTS, "istioValues", problems)
        for chart in ISTIO_CHARTS:
            if chart in extra and _expect(extra[chart], dict, f"istioValues.{chart}", problems, '{"autoscaleMin": 2}'):
                istio_values[chart] = extra[chart]

    deploy_samples = raw.get("deploySamples", False)
    if not isinstance(deploy_samples, bool):
        problems.add("deploySamples", f"must be true or false, got {_type_name(deploy_samples)} {deploy_samples!r}")

    pki = _parse_pki(raw.get("pki"), problems)
    root_ca = None
    if raw.get("rootCa") is not None:
        root_ca = _parse_root_ca(raw["rootCa"], "rootCa" in secret_keys, pki, now or datetime.datetime.now(datetime.timezone.utc), problems)

    east_west_count = len(east_west) if east_west is not None else nat_addresses
    if east_west_count > MAX_EAST_WEST_CIDRS:
        key = "eastWestAllowedCidrs"
        problems.add(
            key,
            f"{east_west_count} source CIDRs{'' if east_west is not None else ' (the NAT addresses of the mesh, the default)'}"
            f" would need {east_west_count * 4} security group rules on each east-west NLB (4 ports);"
            f" a security group holds 60, so use at most {MAX_EAST_WEST_CIDRS} (merge CIDRs, or use natGateways: single)",
        )

    if problems.items:
        raise ConfigError(problems.items)
    spec = MeshSpec(
        mesh_id=mesh_id,
        istio_version=istio_version,
        clusters=tuple(clusters),
        api_access_cidrs=api_access_cidrs,
        pki=pki,
        root_ca=root_ca,
        east_west_allowed_cidrs=east_west,
        istio_values=istio_values,
        deploy_samples=deploy_samples,
        istio_values_secret="istioValues" in secret_keys,
    )
    for index, cluster in enumerate(spec.clusters):
        if cluster.east_west_static_ips and not spec.has_east_west_gateway(cluster):
            problems.add(
                f"clusters[{index}].eastWestStaticIps",
                f"{cluster.name!r} has no east-west gateway in this topology (its network needs none, or its"
                " primary's gateway serves it), so the addresses would sit unused; remove the key",
            )
    if problems.items:
        raise ConfigError(problems.items)
    return spec


def _parse_pki(value: Any, problems: _Problems) -> PkiSpec:
    defaults = PkiSpec()
    if value is None or not _expect(value, dict, "pki", problems, '{"organization": "Example Corp"}'):
        return defaults
    _unknown_fields(value, PKI_FIELDS, "pki", problems)
    organization = value.get("organization", defaults.organization)
    if _expect(organization, str, "pki.organization", problems, '"Example Corp"') and not organization.strip():
        problems.add("pki.organization", "is empty; name the organization that owns the mesh's CA")
    algorithm = value.get("keyAlgorithm", defaults.key_algorithm)
    if algorithm not in KEY_ALGORITHMS:
        problems.add("pki.keyAlgorithm", f"{algorithm!r} is not one of {', '.join(KEY_ALGORITHMS)} (ECDSA means P-256)")
    days = {}
    for key, default in (
        ("rootValidityDays", defaults.root_validity_days),
        ("intermediateValidityDays", defaults.intermediate_validity_days),
        ("earlyRenewalDays", defaults.early_renewal_days),
    ):
        raw_days = value.get(key, default)
        if _expect(raw_days, int, f"pki.{key}", problems, str(default)):
            if raw_days < 1:
                problems.add(f"pki.{key}", f"is {raw_days}; use a positive number of days")
            else:
                days[key] = raw_days
    if len(days) == 3:
        if days["intermediateValidityDays"] >= days["rootValidityDays"]:
            problems.add(
                "pki.intermediateValidityDays",
                f"{days['intermediateValidityDays']} days would outlive the root ({days['rootValidityDays']});"
                " an intermediate must expire before the root that signs it",
            )
        if days["earlyRenewalDays"] >= days["intermediateValidityDays"]:
            problems.add(
                "pki.earlyRenewalDays",
                f"{days['earlyRenewalDays']} days is not less than the intermediate's validity"
                f" ({days['intermediateValidityDays']}); every run would re-issue it",
            )
    return PkiSpec(
        organization=organization if isinstance(organization, str) else defaults.organization,
        key_algorithm=algorithm if algorithm in KEY_ALGORITHMS else defaults.key_algorithm,
        root_validity_days=days.get("rootValidityDays", defaults.root_validity_days),
        intermediate_validity_days=days.get("intermediateValidityDays", defaults.intermediate_validity_days),
        early_renewal_days=days.get("earlyRenewalDays", defaults.early_renewal_days),
    )


def _parse_root_ca(value: Any, is_secret: bool, pki: PkiSpec, now: datetime.datetime, problems: _Problems) -> ImportedRootCa | None:
    """Checks an imported root the way istiod will use it. Messages never quote the PEM text."""
    how = "pulumi config set --secret --path rootCa.certPem \"$(cat root-cert.pem)\" (and rootCa.keyPem likewise)"
    if not isinstance(value, dict):
        problems.add("rootCa", f"must be an object with certPem and keyPem, got {_type_name(value)}; set it with {how}")
        return None
    if not is_secret:
        problems.add("rootCa", f"holds a private key in plain text; store it encrypted: {how}")
    _unknown_fields(value, ROOT_CA_FIELDS, "rootCa", problems)
    missing = [k for k in ROOT_CA_FIELDS if not isinstance(value.get(k), str) or not value.get(k).strip()]
    for key in missing:
        problems.add(f"rootCa.{key}", f"is missing; an imported root needs both certPem and keyPem ({how})")
    if missing:
        return None

    try:
        cert = x509.load_pem_x509_certificate(value["certPem"].encode())
    except ValueError:
        problems.add("rootCa.certPem", "is not a PEM X.509 certificate (expected -----BEGIN CERTIFICATE-----)")
        cert = None
    try:
        key = serialization.load_pem_private_key(value["keyPem"].encode(), password=None)
    except (ValueError, TypeError):
        problems.add("rootCa.keyPem", "is not an unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8)")
        key = None
    if cert is None:
        return None

    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        problems.add("rootCa.certPem", "is not a CA certificate (basicConstraints CA:TRUE is missing); import the root, not a leaf")
    try:
        if not cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign:
            problems.add("rootCa.certPem", "may not sign certificates (keyUsage lacks keyCertSign)")
    except x509.ExtensionNotFound:
        pass
    if cert.not_valid_after_utc <= now:
        problems.add("rootCa.certPem", f"expired on {cert.not_valid_after_utc:%Y-%m-%d}; import a valid root")
    elif cert.not_valid_before_utc > now:
        problems.add("rootCa.certPem", f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    elif cert.not_valid_after_utc < now + datetime.timedelta(days=pki.intermediate_validity_days):
        problems.add(
            "rootCa.certPem",
            f"expires on {cert.not_valid_after_utc:%Y-%m-%d}, before an intermediate valid for"
            f" {pki.intermediate_validity_days} days would; renew the root or lower pki.intermediateValidityDays",
        )
    if key is not None and cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        problems.add("rootCa.keyPem", "does not match rootCa.certPem (their public keys differ)")
    return ImportedRootCa(cert_pem=value["certPem"], key_pem=value["keyPem"])


def _parse_clusters(items: list, default_region: str | None, stack: str, problems: _Problems) -> list[ClusterSpec]:
    slug = _stack_slug(stack)
    explicit_cidrs: dict[int, ipaddress.IPv4Network] = {}
    parsed: list[dict[str, Any]] = []

    for i, item in enumerate(items):
        path = f"clusters[{i}]"
        if not _expect(item, dict, path, problems, '{"name": "east"}'):
            continue
        _unknown_fields(item, CLUSTER_FIELDS, path, problems)

        name = item.get("name")
        if name is None:
            problems.add(f"{path}.name", 'is required, e.g. "east"')
        elif _expect(name, str, f"{path}.name", problems, '"east"'):
            eks_name = f"{name}-{slug}"
            if not _DNS_LABEL.match(name):
                problems.add(
                    f"{path}.name",
                    f"{name!r} is not a DNS-1123 label: use lowercase letters, digits and '-',"
                    " starting with a letter, e.g. \"east\"",
                )
            elif len(eks_name) > MAX_EKS_NAME:
                problems.add(
                    f"{path}.name",
                    f"{name!r} is too long: the EKS cluster name {eks_name!r} (<name>-<stack>) has"
                    f" {len(eks_name)} characters, at most {MAX_EKS_NAME} fit the IAM role names derived"
                    " from it; shorten the cluster name",
                )

        region = item.get("region", default_region)
        if region is None:
            problems.add(f"{path}.region", "no region: set it here or set aws:region for the stack")
            region = ""
        elif not (isinstance(region, str) and _REGION.match(region)):
            problems.add(f"{path}.region", f"{region!r} is not an AWS region name such as \"us-east-1\"")
            region = ""

        network = item.get("network", f"network-{name}" if isinstance(name, str) else None)
        if network is not None and _expect(network, str, f"{path}.network", problems, '"network1"'):
            if not (_LABEL_VALUE.match(network) and len(network) <= 63):
                problems.add(
                    f"{path}.network",
                    f"{network!r} is not a valid Kubernetes label value (letters, digits, '-', '_',"
                    " '.', at most 63, alphanumeric at both ends), e.g. \"network1\"",
                )

        if "vpcCidr" in item:
            cidr = _parse_cidr(item["vpcCidr"], f"{path}.vpcCidr", problems)
            if cidr is not None:
                if not LARGEST_VPC_PREFIX <= cidr.prefixlen <= SMALLEST_VPC_PREFIX:
                    problems.add(
                        f"{path}.vpcCidr",
                        f"{cidr} is a /{cidr.prefixlen}; use a /{LARGEST_VPC_PREFIX} to /{SMALLEST_VPC_PREFIX}"
                        " (AWS allows at most /16; smaller than /20 leaves too few addresses for"
                        " pods and load balancers)",
                    )
                explicit_cidrs[i] = cidr

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

        parsed.append(
            dict(
                index=i,
                name=name,
                eks_name=f"{name}-{slug}",
                region=region,
                network=network,
                availability_zones=_parse_zones(item.get("availabilityZones"), region, f"{path}.availabilityZones", problems),
                kubernetes_version=version,
                node_group=_parse_node_group(item.get("nodeGroup"), f"{path}.nodeGroup", problems),
                nat_gateways=nat,
                role=item.get("role", "primary"),
                primary=item.get("primary"),
                east_west_static_ips=item.get("eastWestStaticIps"),
            )
        )

    _check_unique(parsed, "name", "cluster names must be unique: they name the Istio cluster and its remote secrets", problems)
    _check_topology(items, parsed, problems)

    ordered = sorted(explicit_cidrs.items())
    for a, (i, first) in enumerate(ordered):
        for j, second in ordered[a + 1 :]:
            if first.overlaps(second):
                problems.add(
                    f"clusters[{j}].vpcCidr",
                    f"{second} overlaps clusters[{i}].vpcCidr ({first}); give every cluster a distinct range",
                )

    taken = list(explicit_cidrs.values())
    defaults: dict[int, ipaddress.IPv4Network] = {}
    for entry in sorted(parsed, key=lambda e: str(e["name"])):
        if entry["index"] not in explicit_cidrs:
            defaults[entry["index"]] = _default_cidr(str(entry["name"]), taken)
            taken.append(defaults[entry["index"]])
    specs = []
    for entry in parsed:
        cidr = explicit_cidrs.get(entry["index"]) or defaults[entry["index"]]
        if problems.items:
            continue
        specs.append(
            ClusterSpec(
                name=entry["name"],
                region=entry["region"],
                network=entry["network"],
                vpc_cidr=cidr,
                availability_zones=entry["availability_zones"],
                kubernetes_version=entry["kubernetes_version"],
                node_group=entry["node_group"],
                nat_gateways=entry["nat_gateways"],
                eks_name=entry["eks_name"],
                role=entry["role"],
                primary=entry["primary"],
                east_west_static_ips=entry["east_west_static_ips"],
            )
        )
    return specs


def _check_topology(items: list, parsed: list[dict[str, Any]], problems: _Problems) -> None:
    """Roles and primaries; fills in each cluster's eastWestStaticIps default."""
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

    served = {e["primary"] for e in parsed if e["role"] == "remote"}
    for entry in parsed:
        path = f"clusters[{entry['index']}].eastWestStaticIps"
        needed = entry["role"] == "primary" and entry["name"] in served
        value = entry["east_west_static_ips"]
        if value is None:
            entry["east_west_static_ips"] = needed
        elif not isinstance(value, bool):
            problems.add(path, f"must be true or false, got {_type_name(value)} {value!r}")
            entry["east_west_static_ips"] = needed
        elif needed and not value:
            problems.add(
                path,
                f"is false, but {entry['name']!r} has remotes, whose istiod address must be a static IP"
                " of this gateway (a hostname cannot map the webhook port); remove the key or set it true",
            )


def _check_unique(entries: list[dict[str, Any]], field: str, why: str, problems: _Problems) -> None:
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


def _decode(value: str) -> Any:
    # Pulumi hands structured config over as JSON text and plain strings as they are; a string where
    # a list belongs must reach validation as a string, not fail here.
    try:
        return json.loads(value)
    except ValueError:
        return value


def _project_config_keys() -> dict[str, str]:
    values = dict(pulumi.runtime.config.get_config_env())
    values.update(pulumi.runtime.config.CONFIG.get())
    prefix = f"{PROJECT}:"
    return {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}


def load_mesh_spec() -> MeshSpec:
    """Reads the stack's config and validates it. Call before creating any resource."""
    config = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in dict.fromkeys([*_project_config_keys(), *TOP_LEVEL_KEYS]):
        value = config.get(key)
        if value is not None:
            raw[key] = value if key in ("meshId", "istioVersion") else _decode(value)
    secret_keys = frozenset(k for k in raw if pulumi.runtime.config.is_config_secret(f"{PROJECT}:{k}"))
    spec = parse_mesh_spec(
        raw, default_region=pulumi.Config("aws").get("region"), stack=pulumi.get_stack(), secret_keys=secret_keys
    )
    for region, count in spec.elastic_ips_by_region().items():
        if count > DEFAULT_EIP_QUOTA:
            pulumi.log.warn(
                f"the mesh allocates {count} Elastic IPs in {region} (NAT gateways and static gateway"
                f" addresses); the default quota is {DEFAULT_EIP_QUOTA} per region: raise it (Service Quotas,"
                " EC2 'EC2-VPC Elastic IPs') before `pulumi up`, or allocation fails half-way"
            )
    if spec.api_open_to_internet:
        why = "is not set" if "apiAccessCidrs" not in raw else "contains 0.0.0.0/0"
        pulumi.log.warn(
            f"{PROJECT}:apiAccessCidrs {why}, so the EKS API endpoints accept connections from"
            " 0.0.0.0/0. Set it to the CIDRs you run Pulumi and kubectl from."
        )
    return spec
