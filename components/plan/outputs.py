"""The stack outputs the next `pulumi up` reads back (components/config/stack.py,
`last_deployment_from_outputs`), which keep a deployed stack stable: renaming one loses the record
on every deployed stack, so these names are a contract. docs/reference/config.md describes each."""

from __future__ import annotations

from components.model.spec import ClusterSpec

RECORDED = (
    "clusters",
    "clusterCreators",
    "addonVersions",
    "vpcCidrs",
    "vpcIpamPools",
    "sameNetworkPairs",
    "readerTokens",
    "mtls",
)


def node_group_records(cluster: ClusterSpec) -> dict[str, dict[str, object]]:
    """What a cluster's entry of the `clusters` output records of its node groups, read back by the
    next run (components/config/stack.py): each group's AMI type ("" for EKS's default) and whether
    it has the program's launch template, which a deployed group keeps (changing either replaces it);
    and, for operators, the AMI release each is pinned to."""
    return {
        "nodeGroupAmiTypes": {g.name: g.ami_type or "" for g in cluster.node_groups},
        "nodeGroupLaunchTemplates": {g.name: bool(g.launch_template) for g in cluster.node_groups},
        # The AMI release each group is pinned to ("": EKS's latest when it was created or upgraded).
        "nodeGroupReleaseVersions": {g.name: g.release_version or "" for g in cluster.node_groups},
    }
