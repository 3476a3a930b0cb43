"""The EKS managed add-ons of one cluster: vpc-cni, kube-proxy and coredns, unless pinned in
`addonVersions`. coredns is at the version EKS recommends (its default version) for the cluster's
Kubernetes version; vpc-cni and kube-proxy are resolved by pulumi-eks itself, which takes the newest
version EKS lists for it.

pulumi-eks (4.x) already makes vpc-cni and kube-proxy managed add-ons inside `eks.Cluster`, before
any node group (which depends on the whole cluster component), and resolves their versions from
the cluster's version; `cluster_addon_options` only passes the pins on. It makes coredns a
managed add-on only with its default node group or Fargate, so with this program's own node group
CoreDNS stayed the self-managed bootstrap Deployment that no version bump touched. `ClusterAddons`
makes it a managed add-on after the node group: its pods need nodes, and EKS marks the add-on
DEGRADED (and Pulumi times out) until they run.

Adopting the bootstrap CoreDNS: `resolve_conflicts_on_create = OVERWRITE` lets EKS take over the
running Deployment (a rolling update, no DNS gap). Updates also OVERWRITE, as pulumi-eks does for
its own add-ons: the add-on's settings belong to the program, so a hand edit is reverted rather than
made to block a Kubernetes upgrade (NONE fails on a conflict; PRESERVE keeps the edit). `preserve`
keeps CoreDNS running should the add-on resource ever be deleted before the cluster (what resolves
names for the load balancer controller while it deletes its NLBs on destroy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

# Add-on conflict resolution on create and on update (see the module docstring).
RESOLVE_CONFLICTS = "OVERWRITE"


def cluster_addon_options(pins: Mapping[str, str]) -> dict[str, Any]:
    """eks.Cluster arguments pinning the add-ons pulumi-eks manages; none when nothing is pinned,
    so an unpinned cluster keeps exactly the inputs it was deployed with."""
    options: dict[str, Any] = {}
    if "vpc-cni" in pins:
        options["vpc_cni_options"] = eks.VpcCniOptionsArgs(addon_version=pins["vpc-cni"])
    if "kube-proxy" in pins:
        options["kube_proxy_addon_options"] = eks.KubeProxyAddonOptionsArgs(version=pins["kube-proxy"])
    return options


@dataclass
class ClusterAddonsArgs:
    cluster_name: pulumi.Input[str]
    # The control plane's actual version (an output of the cluster), so the recommended version is
    # resolved, and the add-on updated, only after a control plane upgrade.
    kubernetes_version: pulumi.Input[str]
    pins: Mapping[str, str]
    # CoreDNS pods need nodes.
    node_group: pulumi.Resource


class ClusterAddons(pulumi.ComponentResource):
    """The CoreDNS managed add-on (vpc-cni and kube-proxy come with eks.Cluster)."""

    coredns: aws.eks.Addon

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:addons:ClusterAddons", name, None, opts)
        version = args.pins.get("coredns") or aws.eks.get_addon_version_output(
            addon_name="coredns",
            kubernetes_version=args.kubernetes_version,
            # The default version: the one EKS recommends, not merely the newest build.
            most_recent=False,
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).version
        self.coredns = aws.eks.Addon(
            f"{name}-coredns",
            cluster_name=args.cluster_name,
            addon_name="coredns",
            addon_version=version,
            resolve_conflicts_on_create=RESOLVE_CONFLICTS,
            resolve_conflicts_on_update=RESOLVE_CONFLICTS,
            preserve=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node_group]),
        )
        self.register_outputs({"corednsVersion": self.coredns.addon_version})
