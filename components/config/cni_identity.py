"""Which AWS rights vpc-cni runs with (`vpcCniRole`), from the config and what the stack recorded.

A new cluster gives vpc-cni its own role through EKS Pod Identity (components/aws/cni_identity.py)
and the node role none of the ENI rights, so nothing else on a node holds them. A deployed cluster
keeps what it has: its aws-node pods got their credentials when they started, from the node role
(through IMDS; they run on the host network), and would keep using it after a switch until they
restart, so removing the node role's policy in the same step would stop pod networking. Moving one
is two steps: `both` (the role beside the node role's policy), restart aws-node, `podIdentity`.
The EKS Pod Identity Agent's version in the `addonVersions` record marks a cluster that has the
role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from components.config.validate import Problems
from components.model.deployed import LastDeployment
from components.model.spec import ClusterSpec, EksOptions
from components.model.versions import POD_IDENTITY_AGENT_ADDON
from components.plan.addon_versions import RECORD_VERSION_KEY

RESTART = "kubectl -n kube-system rollout restart daemonset aws-node"


def resolve_vpc_cni_role(
    name: str, eks: EksOptions, kubernetes_version: str, last: LastDeployment, path: str, problems: Problems
) -> EksOptions:
    """The cluster's `vpc_cni_role` (unset: `podIdentity` for a new cluster or one that has it, else
    `nodeRole`) and the agent version to keep."""
    recorded = last.addon_versions.get(name) or {}
    agent = recorded.get(POD_IDENTITY_AGENT_ADDON)
    agent = agent if isinstance(agent, str) else None
    role = eks.vpc_cni_role
    if role is None:
        role = "podIdentity" if name not in last.clusters or agent else "nodeRole"
    elif role == "nodeRole" and agent:
        problems.add(
            path,
            "is nodeRole, but vpc-cni runs with its own role here: removing it would leave the running aws-node pods"
            " without credentials. Set both (the node role gets the rights back), run pulumi up, then"
            f" `{RESTART}`; stay on both",
        )
    keep = agent if recorded.get(RECORD_VERSION_KEY) == kubernetes_version else None
    return replace(eks, vpc_cni_role=role, pod_identity_agent_version=keep if role != "nodeRole" else None)


def vpc_cni_warnings(clusters: Sequence[ClusterSpec]) -> list[str]:
    """Clusters where the node role still holds vpc-cni's ENI rights."""
    warnings = []
    for c in clusters:
        key = f"clusters[{c.config_index}].vpcCniRole"
        if c.eks.vpc_cni_role == "nodeRole":
            warnings.append(
                f"cluster {c.name!r}: vpc-cni uses the node role, so whatever reaches the node's IMDS holds its ENI"
                f" rights (AmazonEKS_CNI_Policy). To give it its own role: `{key}: both`, pulumi up, `{RESTART}`,"
                f" then `{key}: podIdentity` and pulumi up; nothing is replaced"
                " (docs/operations/eks-in-production.md#vpc-cni-on-its-own-role)"
            )
        elif c.eks.vpc_cni_role == "both":
            warnings.append(
                f"cluster {c.name!r}: vpc-cni has its own role and the node role still holds its rights; after"
                f" `{RESTART}` (the pods then use the role), set `{key}: podIdentity` and pulumi up"
            )
    return warnings
