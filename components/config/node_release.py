"""A node group's AMI release (`releaseVersion`): the monthly roll of the nodes' AMI, moved only
when the config moves it.

EKS versions its optimized Amazon Linux AMIs as `<k8s major>.<minor>.<patch>-<release date>`, e.g.
`1.35.0-20251120` (docs.aws.amazon.com/eks/latest/userguide/eks-linux-ami-versions.html). Unset, a
group keeps the release it has until its Kubernetes version changes (`release_version` is
Optional+Computed and not ForceNew in terraform-provider-aws internal/service/eks/node_group.go):
nodes never get a month's patches. Set, a change is an UpdateNodegroupVersion, which EKS rolls onto
the nodes in place, a few at a time, respecting PodDisruptionBudgets (node_group.go; EKS user
guide, update-managed-node-group.html); removing it again leaves the nodes where they are.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from components.config.validate import Problems, expect, shown
from components.model.spec import ClusterSpec, NodeGroupSpec

RELEASE_VERSION = re.compile(r"(?P<minor>[1-9]\d{0,2}\.\d{1,3})\.\d{1,4}-(?P<date>\d{8})", re.ASCII)
# A pinned release older than this is warned on every run: AWS publishes AMI releases every few
# weeks (awslabs/amazon-eks-ami CHANGELOG), so a monthly roll never sees it.
ROLL_WARNING_DAYS = 45
EXAMPLE = '"1.35.0-20251120"'


def parse_release_version(value: Any, kubernetes_version: Any, path: str, problems: Problems) -> str | None:
    """`releaseVersion`: the format and the cluster's Kubernetes minor (EKS refuses an AMI of another
    minor than the group's version, which follows the cluster's)."""
    if value is None:
        return None
    if not expect(value, str, path, problems, EXAMPLE):
        return None
    match = RELEASE_VERSION.fullmatch(value)
    date = _date(match["date"]) if match else None
    if match is None or date is None:
        problems.add(
            path,
            f"{shown(value)} is not an EKS AMI release version (<kubernetes version>-<YYYYMMDD>, e.g. {EXAMPLE});"
            " list them with `aws ssm get-parameter --name /aws/service/eks/optimized-ami/<version>/"
            "amazon-linux-2023/x86_64/standard/recommended/release_version`",
        )
        return None
    if isinstance(kubernetes_version, str) and match["minor"] != kubernetes_version:
        problems.add(
            path,
            f"{value} is an AMI for Kubernetes {match['minor']}, the cluster runs {kubernetes_version}: set a"
            f" {kubernetes_version} release (change both together on an upgrade), or remove it",
        )
        return None
    return value


def group_key(cluster_index: int, groups: Sequence[NodeGroupSpec], i: int, field: str) -> str:
    """The config key of `field` of the i-th group: `nodeGroup.<field>` for a lone default group."""
    where = "nodeGroup" if len(groups) == 1 and groups[0].name == "default" else f"nodeGroups[{i}]"
    return f"clusters[{cluster_index}].{where}.{field}"


def check_no_rollback(
    cluster_index: int, groups: Sequence[NodeGroupSpec], recorded: Mapping[str, str] | None, problems: Problems
) -> None:
    """A pinned release older than the one the stack recorded for the group: EKS cannot go back ("You
    cannot roll back a node group to an earlier Kubernetes version or AMI version", EKS API
    reference, UpdateNodegroupVersion), so the update would fail."""
    for i, g in enumerate(groups):
        was = RELEASE_VERSION.fullmatch((recorded or {}).get(g.name) or "")
        now = RELEASE_VERSION.fullmatch(g.release_version or "")
        if was and now and was["minor"] == now["minor"] and now["date"] < was["date"]:
            problems.add(
                group_key(cluster_index, groups, i, "releaseVersion"),
                f"{g.release_version} is older than {was.group(0)}, which the group runs: EKS cannot roll a node"
                " group back to an earlier AMI; keep it, or move to a newer release",
            )


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def release_age_warnings(clusters: Sequence[ClusterSpec], today: datetime.date) -> list[str]:
    """Pinned AMI releases older than ROLL_WARNING_DAYS: the nodes miss their patches."""
    warnings = []
    for c in clusters:
        for g in c.node_groups:
            match = RELEASE_VERSION.fullmatch(g.release_version or "")
            released = _date(match["date"]) if match else None
            if released is None or (today - released).days <= ROLL_WARNING_DAYS:
                continue
            warnings.append(
                f"cluster {c.name!r}, node group {g.name!r}: AMI release {g.release_version} is"
                f" {(today - released).days} days old; set its releaseVersion to the newest"
                f" {c.kubernetes_version} release (`aws ssm get-parameter --name /aws/service/eks/optimized-ami/"
                f"{c.kubernetes_version}/amazon-linux-2023/x86_64/standard/recommended/release_version`): EKS rolls the"
                " nodes in place (docs/operations/eks-in-production.md#ami-releases)"
            )
    return warnings
