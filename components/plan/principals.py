"""Who created each cluster, so that the `clusterAdmins` entry of that identity is never made.

EKS gives the identity that creates a cluster an admin access entry of its own
(bootstrapClusterCreatorAdminPermissions, set by pulumi-eks in nodejs/eks/cluster/cluster.ts); a
second CreateAccessEntry for the same principal fails with ResourceInUseException. Which identity
that was is fixed when the cluster is created and cannot be asked of EKS later, and the identity
running `pulumi up` changes (a person today, CI tomorrow), so the stack records it:
`clusterCreators`, one of its outputs, read back on every run (`LastDeployment`).

- A cluster the last update recorded keeps its recorded creator, whoever runs now.
- A cluster the last update had but did not record (deployed before the record existed) gets the
  rule those releases used: the last role of `aws:assumeRoles`, else unknown.
- A new cluster is created by whoever runs now: the caller, an assumed-role session mapped to its
  role (EKS makes the role admin, not the session).

Principals compare by partition, account, kind and name: a role's path is not in its session's
ARN, and IAM names are unique per account whatever their path.
"""

from __future__ import annotations

import re

from components.model.deployed import LastDeployment

# An unknown creator (recorded as such): no `clusterAdmins` entry is left out.
UNKNOWN = ""

_IAM = re.compile(
    r"arn:(?P<partition>[^:]+):iam::(?P<account>\d{12}):(?P<kind>role|user)/(?:[^/]+/)*(?P<name>[^/]+)", re.ASCII
)
_SESSION = re.compile(r"arn:(?P<partition>[^:]+):sts::(?P<account>\d{12}):assumed-role/(?P<name>[^/]+)/[^/]+", re.ASCII)


def principal_key(arn: str) -> tuple[str, str, str, str] | None:
    """(partition, account, kind, name) of an IAM role or user ARN, or of an assumed-role session
    (as its role); None for anything else (root, a federated user), which matches no entry."""
    if match := _IAM.fullmatch(arn):
        return match["partition"], match["account"], match["kind"], match["name"]
    if match := _SESSION.fullmatch(arn):
        return match["partition"], match["account"], "role", match["name"]
    return None


def caller_principal(arn: str) -> str:
    """The IAM principal EKS makes admin for a caller: a session's role (without the path the
    session does not show), else the caller's own ARN."""
    if match := _SESSION.fullmatch(arn):
        return f"arn:{match['partition']}:iam::{match['account']}:role/{match['name']}"
    return arn


def same_principal(a: str, b: str) -> bool:
    key = principal_key(a)
    return key is not None and key == principal_key(b)


def recorded_creator(cluster: str, last: LastDeployment, legacy: str | None) -> str | None:
    """A cluster's creator as far as the stack knows it (see the module docstring): the recorded one,
    else for a cluster deployed before the record the rule of those releases; None for a new
    cluster, whose creator is whoever runs now (`caller_principal` of the caller)."""
    if isinstance(last.creators.get(cluster), str):
        return last.creators[cluster]
    if cluster in last.clusters:
        return legacy or UNKNOWN
    return None
