"""The stack config parser: raw config values in, a validated `MeshSpec` out.

`parse_mesh_spec` is a pure function of the raw values, so every rule is testable without the
Pulumi engine. It collects every problem before it raises, and each message names the key path
(`clusters[1].vpcCidr`), what is wrong, and what would be right.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Mapping

from . import versions
from .imported_root import parse_root_ca
from .parse_clusters import DNS_LABEL, parse_clusters
from .parse_revisions import parse_revisions
from .spec import ClusterSpec, MeshSpec, PkiSpec
from .validate import ConfigError, Problems, expect, parse_cidr_list, type_name, unknown_fields

# EKS accepts at most this many CIDR blocks in publicAccessCidrs.
MAX_PUBLIC_ACCESS_CIDRS = 40
# The load balancer controller writes one security group rule per source CIDR and Service port;
# the east-west gateway has 4 ports and a security group holds 60 inbound rules by default.
MAX_EAST_WEST_CIDRS = 15

_ISTIO_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
PKI_FIELDS = ("organization", "keyAlgorithm", "rootValidityDays", "intermediateValidityDays", "earlyRenewalDays")
KEY_ALGORITHMS = ("RSA", "ECDSA")
ISTIO_CHARTS = ("base", "istiod", "gateway")
TOP_LEVEL_KEYS = (
    "meshId",
    "istioVersion",
    "istioRevisions",
    "istioRevisionTags",
    "clusters",
    "apiAccessCidrs",
    "eastWestAllowedCidrs",
    "pki",
    "rootCa",
    "istioValues",
    "deploySamples",
)


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
    problems = Problems()
    _unknown_keys(raw, problems)
    mesh_id = _parse_mesh_id(raw.get("meshId", "mesh1"), problems)
    istio_version = _parse_istio_version(raw.get("istioVersion", versions.DEFAULT_ISTIO_VERSION), problems)
    revisions = parse_revisions(raw, istio_version, problems)

    api_access_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    if raw.get("apiAccessCidrs") is not None:
        api_access_cidrs = parse_cidr_list(raw["apiAccessCidrs"], "apiAccessCidrs", problems) or api_access_cidrs

    clusters_raw = raw.get("clusters")
    clusters: list[ClusterSpec] = []
    if clusters_raw is None or clusters_raw == []:
        problems.add("clusters", 'no clusters; list at least one, e.g. [{"name": "east", "region": "us-east-1"}]')
    elif expect(clusters_raw, list, "clusters", problems, '[{"name": "east"}]'):
        clusters = parse_clusters(clusters_raw, default_region, stack, problems)

    east_west = None
    if raw.get("eastWestAllowedCidrs") is not None:
        east_west = parse_cidr_list(raw["eastWestAllowedCidrs"], "eastWestAllowedCidrs", problems)

    deploy_samples = raw.get("deploySamples", False)
    if not isinstance(deploy_samples, bool):
        problems.add("deploySamples", f"must be true or false, got {type_name(deploy_samples)} {deploy_samples!r}")

    pki = _parse_pki(raw.get("pki"), problems)
    root_ca = None
    if raw.get("rootCa") is not None:
        root_ca = parse_root_ca(raw["rootCa"], "rootCa" in secret_keys, pki, now or datetime.datetime.now(datetime.timezone.utc), problems)

    _check_access_limits(clusters, api_access_cidrs, east_west, problems)
    istio_values = _parse_istio_values(raw.get("istioValues"), problems)
    if problems.items:
        raise ConfigError(problems.items)
    spec = MeshSpec(
        mesh_id=mesh_id,
        istio_version=istio_version,
        revisions=revisions,
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
        if cluster.east_west_static_ips and not spec.topology[cluster.name].east_west_gateway:
            problems.add(
                f"clusters[{index}].eastWestStaticIps",
                f"{cluster.name!r} has no east-west gateway in this topology (its network needs none, or its"
                " primary's gateway serves it), so the addresses would sit unused; remove the key",
            )
    if problems.items:
        raise ConfigError(problems.items)
    return spec


def _unknown_keys(raw: Mapping[str, Any], problems: Problems) -> None:
    lowered = {k.lower(): k for k in TOP_LEVEL_KEYS}
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            guess = lowered.get(key.lower())
            problems.add(key, f"unknown key; did you mean `{guess}`?" if guess else f"unknown key; known keys: {', '.join(TOP_LEVEL_KEYS)}")


def _parse_mesh_id(mesh_id: Any, problems: Problems) -> Any:
    if expect(mesh_id, str, "meshId", problems, '"mesh1"') and not (DNS_LABEL.match(mesh_id) and len(mesh_id) <= 63):
        problems.add("meshId", f"{mesh_id!r} must be a DNS label (lowercase letters, digits, '-'; at most 63), e.g. \"mesh1\"")
    return mesh_id


def _parse_istio_version(istio_version: Any, problems: Problems) -> Any:
    if expect(istio_version, str, "istioVersion", problems, f'"{versions.DEFAULT_ISTIO_VERSION}"'):
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
    return istio_version


def _parse_istio_values(extra: Any, problems: Problems) -> dict[str, dict[str, Any]]:
    istio_values: dict[str, dict[str, Any]] = {}
    if extra is not None and expect(extra, dict, "istioValues", problems, '{"istiod": {"pilot": {"resources": {}}}}'):
        unknown_fields(extra, ISTIO_CHARTS, "istioValues", problems)
        for chart in ISTIO_CHARTS:
            if chart in extra and expect(extra[chart], dict, f"istioValues.{chart}", problems, '{"autoscaleMin": 2}'):
                istio_values[chart] = extra[chart]
    return istio_values


def _check_access_limits(
    clusters: list[ClusterSpec], api_access_cidrs: tuple[str, ...], east_west: tuple[str, ...] | None, problems: Problems
) -> None:
    """AWS limits on who may reach the API endpoints and the east-west gateways."""
    nat_addresses = sum(c.nat_count for c in clusters)
    if len(api_access_cidrs) + nat_addresses > MAX_PUBLIC_ACCESS_CIDRS:
        problems.add(
            "apiAccessCidrs",
            f"{len(api_access_cidrs)} CIDRs plus {nat_addresses} NAT addresses of the mesh exceed the"
            f" {MAX_PUBLIC_ACCESS_CIDRS} EKS allows on a public endpoint; merge CIDRs or use"
            " natGateways: single",
        )
    east_west_count = len(east_west) if east_west is not None else nat_addresses
    if east_west_count > MAX_EAST_WEST_CIDRS:
        problems.add(
            "eastWestAllowedCidrs",
            f"{east_west_count} source CIDRs{'' if east_west is not None else ' (the NAT addresses of the mesh, the default)'}"
            f" would need {east_west_count * 4} security group rules on each east-west NLB (4 ports);"
            f" a security group holds 60, so use at most {MAX_EAST_WEST_CIDRS} (merge CIDRs, or use natGateways: single)",
        )


def _parse_pki(value: Any, problems: Problems) -> PkiSpec:
    defaults = PkiSpec()
    if value is None or not expect(value, dict, "pki", problems, '{"organization": "Example Corp"}'):
        return defaults
    unknown_fields(value, PKI_FIELDS, "pki", problems)
    organization = value.get("organization", defaults.organization)
    if expect(organization, str, "pki.organization", problems, '"Example Corp"') and not organization.strip():
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
        if expect(raw_days, int, f"pki.{key}", problems, str(default)):
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


def upgrade_notices(raw: Mapping[str, Any], spec: MeshSpec) -> list[str]:
    """Valid configs that a stack deployed by an earlier release of this program would read
    differently: what changes on the next `pulumi up`, and how to keep what it has."""
    notices = []
    clusters = raw.get("clusters") or []
    for index, cluster in enumerate(spec.clusters):
        if spec.topology[cluster.name].exposes_istiod and "eastWestStaticIps" not in clusters[index]:
            notices.append(
                f"clusters[{index}].eastWestStaticIps is unset on {cluster.name!r}, a primary with remotes: its east-west NLB"
                " has no Elastic IPs (remotes reach istiod by the NLB's DNS name). A stack deployed before"
                " that had them by default: set the key to true to keep its addresses (the NLB is otherwise"
                " recreated without them), or to false to confirm, which also silences this warning"
            )
    return notices
