"""Which version of each managed add-on a cluster runs: explicit inputs that move only with the
config or the cluster's Kubernetes version, never because AWS published a build.

Per add-on (vpc-cni, kube-proxy, coredns), the first that applies:

1. the pin in `clusters[i].addonVersions`;
2. the version the last update recorded (`addonVersions` output) for this Kubernetes version;
3. a cluster the last update had but did not record (deployed by an earlier release, whose
   pulumi-eks took the newest vpc-cni and kube-proxy on every run, and the default CoreDNS): asked
   of EKS once more the same way, so this run changes nothing, and recorded from then on;
4. otherwise (a new cluster, or its Kubernetes version moved): EKS's default version for that
   Kubernetes version (`aws.eks.getAddonVersion`, mostRecent false: what EKS recommends, not its
   newest build). After an upgrade, never lower than the version recorded before it: EKS moves
   vpc-cni at most one minor version per update, up or down (UpdateAddon's
   "Updating VPC-CNI can only go up or down 1 minor version at a time"), and its default may lag
   what a cluster runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from components.model.deployed import LastDeployment
from components.model.versions import MANAGED_ADDONS

# The Kubernetes version a record was made for, beside the add-on names.
RECORD_VERSION_KEY = "kubernetesVersion"


@dataclass(frozen=True)
class AskEks:
    """A version to ask EKS for; not lower than `floor`."""

    most_recent: bool = False
    floor: str | None = None


def plan_addon_versions(
    cluster: str, kubernetes_version: str, pins: Mapping[str, str], last: LastDeployment
) -> dict[str, str | AskEks]:
    recorded = last.addon_versions.get(cluster) or {}
    recorded_for = recorded.get(RECORD_VERSION_KEY)
    upgraded = isinstance(recorded_for, str) and _minor(recorded_for) < _minor(kubernetes_version)
    plan: dict[str, str | AskEks] = {}
    for addon in MANAGED_ADDONS:
        kept = recorded.get(addon) if isinstance(recorded.get(addon), str) else None
        if addon in pins:
            plan[addon] = pins[addon]
        elif kept and recorded_for == kubernetes_version:
            plan[addon] = kept
        elif cluster in last.clusters and (not recorded or recorded_for == kubernetes_version):
            # Deployed, and nothing recorded for it (or a record without this add-on): never below
            # what runs.
            plan[addon] = AskEks(most_recent=addon != "coredns")
        else:
            plan[addon] = AskEks(floor=kept if upgraded else None)
    return plan


def newer(a: str, b: str | None) -> str:
    """The later of two add-on versions (`v1.20.4-eksbuild.2`), by their numbers."""
    return a if b is None or _numbers(a) >= _numbers(b) else b


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _minor(kubernetes_version: str) -> tuple[int, ...]:
    return _numbers(kubernetes_version)[:2]
