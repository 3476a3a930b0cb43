"""The EKS managed add-ons of one cluster: vpc-cni, kube-proxy and coredns, each at the version its
plan says (components/plan/addon_versions.py: a pin, the recorded version, or one asked of EKS).

pulumi-eks (4.x) already makes vpc-cni and kube-proxy managed add-ons inside `eks.Cluster`, before
any node group (which depends on the whole cluster component); unless given a version it resolves
the newest one EKS lists on every run (nodejs/eks/addons/cni-addon.ts and cluster/cluster.ts,
mostRecent true), so `cluster_addon_options` always gives it one. It makes coredns a managed add-on
only with its default node group or Fargate, so with this program's own node group CoreDNS stayed
the self-managed bootstrap Deployment that no version bump touched. `ClusterAddons` makes it a
managed add-on after the node group: its pods need nodes, and EKS marks the add-on DEGRADED (and
Pulumi times out) until they run. A changed version updates an add-on in place (`addon_version` is
not ForceNew: terraform-provider-aws internal/service/eks/addon.go).

Adopting the bootstrap CoreDNS: `resolve_conflicts_on_create = OVERWRITE` lets EKS take over the
running Deployment (a rolling update, no DNS gap). Updates also OVERWRITE, as pulumi-eks does for
its own add-ons: the add-on's settings belong to the program, so a hand edit is reverted rather than
made to block a Kubernetes upgrade (NONE fails on a conflict; PRESERVE keeps the edit). `preserve`
keeps CoreDNS running should the add-on resource ever be deleted before the cluster (what resolves
names for the load balancer controller while it deletes its NLBs on destroy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from components.plan.addon_versions import AskEks, newer

# Add-on conflict resolution on create and on update (see the module docstring).
RESOLVE_CONFLICTS = "OVERWRITE"


def resolve_addon_versions(
    plan: Mapping[str, str | AskEks], kubernetes_version: str, parent: pulumi.Resource
) -> dict[str, pulumi.Input[str]]:
    """Each add-on's version: the plan's, or EKS's answer (through the parent's AWS provider)."""
    versions: dict[str, pulumi.Input[str]] = {}
    for addon, planned in plan.items():
        if isinstance(planned, str):
            versions[addon] = planned
            continue
        asked = aws.eks.get_addon_version_output(
            addon_name=addon,
            kubernetes_version=kubernetes_version,
            most_recent=planned.most_recent,
            opts=pulumi.InvokeOutputOptions(parent=parent),
        ).version
        versions[addon] = (
            asked.apply(lambda version, floor=planned.floor: newer(version, floor)) if planned.floor else asked
        )
    return versions


def cluster_addon_options(versions: Mapping[str, pulumi.Input[str]]) -> dict[str, Any]:
    """eks.Cluster arguments for the add-ons pulumi-eks makes, always with a version."""
    return {
        "vpc_cni_options": eks.VpcCniOptionsArgs(addon_version=versions["vpc-cni"]),
        "kube_proxy_addon_options": eks.KubeProxyAddonOptionsArgs(version=versions["kube-proxy"]),
    }


@dataclass
class ClusterAddonsArgs:
    cluster_name: pulumi.Input[str]
    coredns_version: pulumi.Input[str]
    # CoreDNS pods need nodes.
    node_group: pulumi.Resource


class ClusterAddons(pulumi.ComponentResource):
    """The CoreDNS managed add-on (vpc-cni and kube-proxy come with eks.Cluster)."""

    coredns: aws.eks.Addon

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:addons:ClusterAddons", name, None, opts)
        self.coredns = aws.eks.Addon(
            f"{name}-coredns",
            cluster_name=args.cluster_name,
            addon_name="coredns",
            addon_version=args.coredns_version,
            resolve_conflicts_on_create=RESOLVE_CONFLICTS,
            resolve_conflicts_on_update=RESOLVE_CONFLICTS,
            preserve=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node_group]),
        )
        self.register_outputs({"corednsVersion": self.coredns.addon_version})
