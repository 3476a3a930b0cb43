"""The stack's outputs, named once: `__main__` exports these names, `mesh.py` fills them, and
docs/reference/config.md describes each. The ones in `RECORDED` the next `pulumi up` reads back
(components/config/stack.py, `last_deployment_from_outputs`), which keep a deployed stack stable:
renaming one loses the record on every deployed stack, so these names are a contract."""

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
