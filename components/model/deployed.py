"""What the stack's last update exported, as far as the program reads it back to keep later runs
stable: who created each cluster (principals.py), which add-on versions it runs
(addon_versions.py) and each VPC's range (config/clusters.py). Read by `components/config/stack.py` (`load_last_deployment`); empty for a
stack never deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class LastDeployment:
    # The clusters it had (the keys of its `clusters` output).
    clusters: frozenset[str] = frozenset()
    # Its `clusterCreators` output: cluster -> creator ARN ("" unknown).
    creators: Mapping[str, str] = field(default_factory=dict)
    # Its `addonVersions` output: cluster -> {"kubernetesVersion": ..., add-on name: version}.
    addon_versions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Its `vpcCidrs` output: cluster -> the VPC's range.
    vpc_cidrs: Mapping[str, str] = field(default_factory=dict)
