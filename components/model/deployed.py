"""What the stack's last update exported, as far as the program reads it back to keep later runs
stable and to refuse what a deployed cluster cannot become (its region, zones and range): who
created each cluster (plan/principals.py), which add-on versions it runs (plan/addon_versions.py),
each VPC's range (config/clusters.py), which of two same-network clusters requests their peering
(plan/topology.py, `plan_topology`) and when each cluster's reader token was made
(model/credentials.py). Read by `components/config/stack.py` (`load_last_deployment`); empty for a
stack never deployed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.model.credentials import TokenRecord


@dataclass(frozen=True)
class LastDeployment:
    # The clusters it had (the keys of its `clusters` output).
    clusters: frozenset[str] = frozenset()
    # The region of each (its `clusters` output's `region`).
    regions: Mapping[str, str] = field(default_factory=dict)
    # Its `clusterCreators` output: cluster -> creator ARN ("" unknown).
    creators: Mapping[str, str] = field(default_factory=dict)
    # Its `addonVersions` output: cluster -> {"kubernetesVersion": ..., add-on name: version}.
    addon_versions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The zones of each cluster's subnets (its `clusters` output's `availabilityZones`; absent for a
    # stack whose last update predates that record).
    zones: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The KMS key each cluster's Secrets are encrypted with (its `clusters` output's `secretsKmsKeyArn`).
    kms_keys: Mapping[str, str] = field(default_factory=dict)
    # The AMI type of each node group (its `clusters` output's `nodeGroupAmiTypes`; "" for EKS's
    # default), absent for a stack deployed before that record.
    node_ami_types: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Whether each node group has the program's launch template (its `clusters` output's
    # `nodeGroupLaunchTemplates`), absent for a stack deployed before that record (no group had one).
    node_launch_templates: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)
    # The AMI release each node group was pinned to (`nodeGroupReleaseVersions`; "" for none).
    node_release_versions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Its `vpcCidrs` output: cluster -> the VPC's range.
    vpc_cidrs: Mapping[str, str] = field(default_factory=dict)
    # Its `vpcIpamPools` output: cluster -> the IPAM pool its VPC's range came from.
    vpc_ipam_pools: Mapping[str, str] = field(default_factory=dict)
    # Its `sameNetworkPairs` output: each pair of clusters on one Istio network, as it oriented it.
    same_network_pairs: frozenset[tuple[str, str]] = frozenset()
    # Its `readerTokens` output: cluster -> the generation of its reader token and when it was made.
    reader_tokens: Mapping[str, TokenRecord] = field(default_factory=dict)
    # Its `mtls` output: the mesh-wide mTLS mode it runs (None: deployed before it was recorded).
    mtls: str | None = None
