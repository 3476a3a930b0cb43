"""The stack's outputs, named once: `__main__` exports these names, `mesh.py` fills them, and
docs/reference/config.md describes each. The ones in `RECORDED` the next `pulumi up` reads back
(components/config/stack.py, `last_deployment_from_outputs`), which keep a deployed stack stable:
renaming one loses the record on every deployed stack, so these names are a contract."""

from __future__ import annotations

from components.model.spec import ClusterSpec

EXPORTED = (
    # Per cluster: region, network, endpoint, kubeconfig (secret), role, east-west address, ...
    "clusters",
    # Every root the clusters trust (one, or two during a rotation), and the one that signs.
    "rootCertPem",
    "signingRootCertPem",
    # The identity that has EKS's own admin entry on each cluster.
    "clusterCreators",
    # The add-on versions chosen for each cluster's Kubernetes version.
    "addonVersions",
    # Each VPC's range, and the IPAM pool it came from.
    "vpcCidrs",
    "vpcIpamPools",
    # Which of two same-network clusters requests their peering.
    "sameNetworkPairs",
    # When each cluster's reader token was made, and its generation.
    "readerTokens",
    # The mesh-wide mTLS mode.
    "mtls",
    # Per region, the Prometheus endpoint of its metrics workspace (`metrics: amp`).
    "metricsEndpoints",
)


# What the next run reads back: every output but the roots and the metrics endpoints, which it
# derives again.
RECORDED = tuple(name for name in EXPORTED if name not in ("rootCertPem", "signingRootCertPem", "metricsEndpoints"))


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
