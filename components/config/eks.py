"""Parsing of the EKS day-2 keys: per cluster `supportType` and `addonVersions`, mesh-wide
`clusterAdmins` and `kubeconfigRoleArn`; and the support-date warnings of `kubernetesVersion`.

Pure functions of the raw values, hooked into `parse.py` and `clusters.py`; every problem is
added to `Problems` with its key path, like the rest of the parser.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from components.config.validate import Problems, expect, given, indexed, shown, unknown_fields
from components.model import prices, versions
from components.model.spec import ClusterAccess, ClusterSpec, EksOptions
from components.plan.principals import same_principal

CLUSTER_FIELDS = (
    "supportType",
    "addonVersions",
    "protect",
    "deletionProtection",
    "controlPlaneLogs",
    "secretsKmsKeyArn",
    "vpcCniRole",
)
# vpc-cni's AWS rights (model/spec.py EksOptions.vpc_cni_role).
VPC_CNI_ROLES = ("podIdentity", "both", "nodeRole")
# A KMS key ARN (not an alias: an alias can be pointed at another key, which EKS cannot follow).
_KMS_KEY = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):kms:(?P<region>[a-z0-9-]{1,30}):[0-9]{12}:key/[A-Za-z0-9-]{1,64}",
    re.ASCII,
)
# The control-plane log types EKS can send to CloudWatch Logs (EKS user guide, control-plane-logs;
# the `enabled_cluster_log_types` enum, types.LogType, in terraform-provider-aws eks/cluster.go).
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
TOP_LEVEL_KEYS = ("clusterAdmins", "kubeconfigRoleArn", "protect")
# What `aws eks describe-addon-versions` lists, e.g. v1.20.4-eksbuild.2. Every pattern here is ASCII
# (re.ASCII: `\d` and `\w` would match other scripts' digits and letters, which AWS refuses later).
_ADDON_VERSION = re.compile(r"v\d{1,3}\.\d{1,3}\.\d{1,4}-eksbuild\.\d{1,4}", re.ASCII)
# IAM role or user ARN; paths allowed (EKS access entries take them), names as IAM allows.
_PRINCIPAL = re.compile(
    r"arn:(?P<partition>[^:]*):iam::(?P<account>[^:]*):(?P<kind>role|user)/(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
# Region prefix -> partition, longest prefix first (the partitions of botocore's endpoints.json /
# the AWS SDKs' partitions.json: aws-iso "us-iso-", aws-iso-b "us-isob-", aws-iso-f "us-isof-",
# aws-eusc "eusc-"); every other region is in `aws`.
_PARTITION_PREFIXES = (
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)
PARTITIONS = ("aws", *dict.fromkeys(p for _, p in _PARTITION_PREFIXES))
_EXAMPLE_ARN = "arn:aws:iam::111122223333:role/platform-admins"


def region_partition(region: str) -> str:
    return next((p for prefix, p in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")


def parse_protect(value: Any, path: str, default: bool, problems: Problems) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.add(path, f"must be true or false, got {given(value)}")
        return default
    return value


def deletion_protection_default(stack: str) -> bool:
    """On outside dev: a stack named `dev` or `dev-...` is the one meant to be torn down often."""
    slug = stack.lower()
    return not (slug == "dev" or slug.startswith(("dev-", "dev_")))


def parse_log_types(value: Any, path: str, problems: Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if not expect(value, list, path, problems, '["audit", "authenticator"]'):
        return ()
    found: list[str] = []
    for i, kind in enumerate(value):
        if kind not in LOG_TYPES:
            problems.add(
                f"{path}[{i}]", f"{given(kind)} is not an EKS control-plane log type; use {', '.join(LOG_TYPES)}"
            )
        elif kind in found:
            problems.add(f"{path}[{i}]", f"{kind} is listed twice")
        else:
            found.append(kind)
    return tuple(found)


def parse_cluster_eks(
    item: Mapping[str, Any],
    path: str,
    problems: Problems,
    protect: bool = False,
    deletion_protection: bool = False,
    region: str = "",
) -> EksOptions:
    """`clusters[i].supportType`, `.addonVersions`, `.protect` (defaulting to the mesh's `protect`),
    `.deletionProtection` (defaulting to `deletion_protection`) and `.controlPlaneLogs`."""
    defaults = EksOptions()
    support_type = item.get("supportType", defaults.support_type)
    if support_type not in versions.SUPPORT_TYPES:
        problems.add(
            f"{path}.supportType",
            f"{shown(support_type)} is not one of {', '.join(versions.SUPPORT_TYPES)} (STANDARD: EKS upgrades the"
            " cluster when standard support ends; EXTENDED: it stays, at the extended-support price)",
        )
        support_type = defaults.support_type
    pins: dict[str, str] = {}
    raw = item.get("addonVersions")
    if raw is not None and expect(raw, dict, f"{path}.addonVersions", problems, '{"coredns": "v1.12.1-eksbuild.2"}'):
        unknown_fields(raw, versions.MANAGED_ADDONS, f"{path}.addonVersions", problems)
        for addon in versions.MANAGED_ADDONS:
            if addon not in raw:
                continue
            value = raw[addon]
            if isinstance(value, str) and _ADDON_VERSION.fullmatch(value):
                pins[addon] = value
            else:
                problems.add(
                    f"{path}.addonVersions.{addon}",
                    f'{shown(value)} is not an EKS add-on version such as "v1.12.1-eksbuild.2" (see `aws eks'
                    f" describe-addon-versions --addon-name {addon}`); remove it to follow EKS's recommendation",
                )
    return EksOptions(
        support_type=support_type,
        addon_versions=pins,
        protect=parse_protect(item.get("protect"), f"{path}.protect", protect, problems),
        deletion_protection=parse_protect(
            item.get("deletionProtection"), f"{path}.deletionProtection", deletion_protection, problems
        ),
        log_types=parse_log_types(item.get("controlPlaneLogs"), f"{path}.controlPlaneLogs", problems),
        secrets_kms_key_arn=parse_kms_key(item.get("secretsKmsKeyArn"), region, f"{path}.secretsKmsKeyArn", problems),
        vpc_cni_role=_parse_vpc_cni_role(item.get("vpcCniRole"), f"{path}.vpcCniRole", problems),
    )


def _parse_vpc_cni_role(value: Any, path: str, problems: Problems) -> str | None:
    if value is None or value in VPC_CNI_ROLES:
        return value
    problems.add(path, f"{shown(value)} is not one of {', '.join(VPC_CNI_ROLES)}")
    return None


def parse_kms_key(value: Any, region: str, path: str, problems: Problems) -> str | None:
    """A symmetric KMS key in the cluster's own region (EKS user guide, enable-kms): checked for shape
    and region here; that it is symmetric and usable, AWS checks."""
    if value is None:
        return None
    example = '"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"'
    if not expect(value, str, path, problems, example):
        return None
    match = _KMS_KEY.fullmatch(value)
    if not match:
        problems.add(path, f"{shown(value)} is not a KMS key ARN (an alias is not accepted), e.g. {example}")
        return None
    if region and match["region"] != region:
        problems.add(
            path, f"the key is in {match['region']}, the cluster in {region}: EKS needs a key in the cluster's region"
        )
        return None
    return value


def parse_cluster_access(raw: Mapping[str, Any], clusters: Sequence[ClusterSpec], problems: Problems) -> ClusterAccess:
    """`clusterAdmins` (IAM role or user ARNs) and `kubeconfigRoleArn` (a role, made an admin too)."""
    partitions = {region_partition(c.region): c.name for c in clusters if c.region}
    admins: list[str] = []
    value = raw.get("clusterAdmins")
    if value is not None and expect(value, list, "clusterAdmins", problems, f'["{_EXAMPLE_ARN}"]'):
        for i, arn in enumerate(value):
            if _check_principal(arn, f"clusterAdmins[{i}]", partitions, problems):
                # IAM names are unique in an account whatever their path (principals.py): two ARNs
                # that differ only there name one principal.
                if any(same_principal(arn, a) for a in admins):
                    problems.add(
                        f"clusterAdmins[{i}]",
                        f"{arn} is listed twice (IAM names are unique whatever the path, so it names a principal"
                        " listed before); EKS allows one access entry per principal",
                    )
                else:
                    admins.append(arn)
    role = raw.get("kubeconfigRoleArn")
    if role is not None:
        if not _check_principal(role, "kubeconfigRoleArn", partitions, problems, roles_only=True):
            role = None
        elif not any(same_principal(role, a) for a in admins):
            # The kubeconfigs authenticate as this role: without an access entry they get Unauthorized.
            admins.append(role)
    return ClusterAccess(admins=tuple(admins), kubeconfig_role_arn=role)


def _check_principal(
    arn: Any, path: str, partitions: dict[str, str], problems: Problems, roles_only: bool = False
) -> bool:
    kinds = "role" if roles_only else "role or user"
    if not expect(arn, str, path, problems, f'"{_EXAMPLE_ARN}"'):
        return False
    if ":sts::" in arn or ":assumed-role/" in arn:
        problems.add(path, f'{shown(arn)} is a session, not an IAM {kinds}; use the role\'s ARN, e.g. "{_EXAMPLE_ARN}"')
        return False
    match = _PRINCIPAL.fullmatch(arn)
    if not match or (roles_only and match["kind"] != "role"):
        problems.add(
            path,
            f"{shown(arn)} is not an IAM {kinds} ARN"
            f' (arn:<partition>:iam::<account>:{kinds.replace(" or ", "|")}/<name>), e.g. "{_EXAMPLE_ARN}"',
        )
        return False
    if match["partition"] not in PARTITIONS:
        problems.add(path, f"partition {shown(match['partition'])} is not one of {', '.join(PARTITIONS)}")
        return False
    if not re.fullmatch(r"[0-9]{12}", match["account"]):
        problems.add(path, f"account {shown(match['account'])} is not a 12-digit AWS account ID")
        return False
    others = {p: name for p, name in partitions.items() if p != match["partition"]}
    if others:
        partition, cluster = next(iter(others.items()))
        problems.add(
            path,
            f"{shown(arn)} is in partition {match['partition']}, but cluster {cluster!r} is in {partition}; an"
            " IAM principal can only use clusters of its own partition",
        )
        return False
    return True


def _extra_cost() -> str:
    standard, extended = prices.EKS_STANDARD.usd, prices.EKS_EXTENDED.usd
    return (
        f"${extended:.2f} instead of ${standard:.2f} per cluster-hour,"
        f" about ${(extended - standard) * prices.HOURS_PER_MONTH:.0f} more a month"
    )


def _ends(table: Mapping[str, str], version: str) -> datetime.date | None:
    """A version's end date, or None for a version newer than the table (accepted only as the one a
    deployed cluster runs, see `clusters.py`), whose dates this release does not know."""
    return datetime.date.fromisoformat(table[version]) if version in table else None


def _in_standard_support(version: str, today: datetime.date) -> bool:
    ends = _ends(versions.STANDARD_SUPPORT_ENDS, version)
    return ends is None or today < ends


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def _upgrade_target(version: str, today: datetime.date) -> str | None:
    """The first listed version above `version` still in standard support on `today`."""
    return next(
        (
            v
            for v in versions.SUPPORTED_KUBERNETES_VERSIONS
            if _minor(v) > _minor(version) and _in_standard_support(v, today)
        ),
        None,
    )


def check_support(
    clusters: Sequence[ClusterSpec], today: datetime.date, problems: Problems, deployed: frozenset[str] = frozenset()
) -> None:
    """Versions EKS creates a new cluster on with its support policy on `today`: STANDARD only within
    standard support (a cluster in extended support cannot be STANDARD), nothing past extended support.
    A deployed cluster (`deployed`: the clusters the stack recorded) is never refused for a date: EKS
    keeps running or upgrades it whatever this program says, and refusing would lock the stack out of
    every preview and emergency change. `support_warnings` tells its owner what happens and what to do."""
    for i, c in indexed(clusters):
        version = c.kubernetes_version
        if c.name in deployed or version not in versions.STANDARD_SUPPORT_ENDS:
            continue
        target = _upgrade_target(version, today)
        ended = versions.EXTENDED_SUPPORT_ENDS[version]
        if today >= datetime.date.fromisoformat(ended):
            problems.add(
                f"clusters[{i}].kubernetesVersion",
                f"EKS offers Kubernetes {version} no more (extended support ended on {ended}), so a new cluster"
                f" cannot have it; set {target or versions.DEFAULT_KUBERNETES_VERSION}",
            )
        elif c.eks.support_type == "STANDARD" and not _in_standard_support(version, today):
            problems.add(
                f"clusters[{i}].supportType",
                f"Kubernetes {version} left EKS standard support on {versions.STANDARD_SUPPORT_ENDS[version]}, so a"
                f" new cluster on it needs supportType: EXTENDED ({_extra_cost()}); or set kubernetesVersion to"
                f" {target or versions.DEFAULT_KUBERNETES_VERSION}",
            )


def check_upgrade_steps(clusters: Sequence[ClusterSpec], recorded: Mapping[str, str], problems: Problems) -> None:
    """EKS upgrades a control plane one minor version per update (UpdateClusterVersion): a config
    more than one minor above what the stack last deployed (`recorded`: cluster -> version, from
    its `addonVersions` output) would fail half-way, after everything before the cluster."""
    for i, c in indexed(clusters):
        deployed = recorded.get(c.name)
        if not isinstance(deployed, str) or not re.fullmatch(r"1\.\d+", deployed):
            continue
        if _minor(c.kubernetes_version) < _minor(deployed):
            problems.add(
                f"clusters[{i}].kubernetesVersion",
                f"{c.kubernetes_version} is below {deployed}, which this stack last deployed: EKS does not"
                " downgrade a cluster"
                f" (its one-step rollback is a console or CLI action within 7 days of an upgrade); set {deployed}",
            )
            continue
        if _minor(c.kubernetes_version) <= _minor(deployed) + 1:
            continue
        step = f"1.{_minor(deployed) + 1}"
        problems.add(
            f"clusters[{i}].kubernetesVersion",
            f"{c.kubernetes_version} is more than one minor version above {deployed}, which this stack last"
            " deployed, and EKS"
            f" upgrades one minor version at a time: set {step}, `pulumi up`, then the next. If EKS upgraded"
            " the cluster"
            " itself, set the version it runs (`aws eks describe-cluster --query cluster.version`) first",
        )


# Clusters are told this long before their version leaves standard support: a STANDARD one that EKS
# will upgrade it, an EXTENDED one what it will cost.
STANDARD_END_NOTICE_DAYS = 60
_HOW = "docs/operations/eks-in-production.md"


def _runs(c: ClusterSpec) -> str:
    return f"`aws eks describe-cluster --name {c.eks_name} --query cluster.version`"


def support_warnings(
    clusters: Sequence[ClusterSpec], today: datetime.date, deployed: frozenset[str] = frozenset()
) -> list[str]:
    """Per cluster, what EKS does to it on `today` and what to do: soon out of standard support, in
    extended support (what it costs), upgraded by EKS (set the version it runs), or a version newer
    than this release knows. Never an error: see `check_support`."""
    warnings = []
    for c in clusters:
        warning = _support_warning(c, today, c.name in deployed)
        if warning:
            warnings.append(f"cluster {c.name!r}: Kubernetes {c.kubernetes_version} {warning}")
    return warnings


def _support_warning(c: ClusterSpec, today: datetime.date, deployed: bool) -> str | None:
    version, policy = c.kubernetes_version, c.eks.support_type
    standard, extended = (_ends(t, version) for t in (versions.STANDARD_SUPPORT_ENDS, versions.EXTENDED_SUPPORT_ENDS))
    if standard is None or extended is None:
        return (
            "is newer than this release of the program knows (it lists"
            f" {', '.join(versions.SUPPORTED_KUBERNETES_VERSIONS)}): accepted because EKS runs it on this cluster,"
            " but its support dates and Istio's support for it are unchecked. Upgrade istio-eks-mesh"
        )
    nxt = f"1.{_minor(version) + 1}"
    set_it = (
        f' When it runs {nxt} ({_runs(c)}), set kubernetesVersion: "{nxt}" and run `pulumi up --refresh`: the'
        " refresh reads the running version, so only its nodes and add-ons follow. Never refresh with the old"
        " version in config, which would ask EKS for a downgrade"
    )
    if today >= extended:
        happened = "EKS has upgraded it or is upgrading it" if deployed else "EKS upgrades it"
        return f"left EKS extended support on {extended}: {happened} itself.{set_it if deployed else ''} ({_HOW})"
    if today >= standard:
        if policy == "STANDARD":
            return (
                f"left EKS standard support on {standard}: with supportType STANDARD, EKS upgrades the control"
                f" plane to {nxt} itself, on its own schedule, leaving nodes and add-ons behind.{set_it} ({_HOW})"
            )
        return (
            f"left EKS standard support on {standard}; with supportType EXTENDED it costs the extended-support"
            f" price, {_extra_cost()}, until extended support ends on {extended}, when EKS upgrades it itself."
            f" Upgrade one minor version at a time towards {versions.DEFAULT_KUBERNETES_VERSION} ({_HOW})"
        )
    days = (standard - today).days
    if days > STANDARD_END_NOTICE_DAYS:
        return None
    then = (
        f"EKS then upgrades it to {nxt} itself, on its own schedule (supportType STANDARD)"
        if policy == "STANDARD"
        else f"it then costs the extended-support price, {_extra_cost()}"
    )
    when = "tomorrow" if days == 1 else f"in {days} days"
    return f"leaves EKS standard support on {standard} ({when}); {then}. Upgrade before ({_HOW})"
