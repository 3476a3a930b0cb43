"""The stack outputs the next `pulumi up` reads back (components/config/stack.py,
`last_deployment_from_outputs`), which keep a deployed stack stable: renaming one loses the record
on every deployed stack, so these names are a contract. docs/reference/config.md describes each."""

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
