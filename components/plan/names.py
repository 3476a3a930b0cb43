"""Names of the resources made for a pair of clusters, in one place: the wiring names them, and
validation refuses two pairs whose names would be one (`a` + `b-c` and `a-b` + `c`)."""

from __future__ import annotations


def peering(a: str, b: str) -> str:
    """The VPC peering of two clusters on one network (requester first)."""
    return f"{a}-{b}-peering"


def same_network(a: str, b: str) -> str:
    """Private mode's security-group rules between two clusters on one network."""
    return f"{a}-{b}-same-network"


def remote_secret(local: str, peer: str) -> str:
    """The remote secret in `local` through which its istiod discovers `peer`."""
    return f"{local}-remote-secret-{peer}"
