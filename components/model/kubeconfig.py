"""The shape of a kubeconfig with one cluster, context and user: the EKS kubeconfigs (`aws eks
get-token`) and the remote secrets (a reader token) share it."""

from __future__ import annotations


def kubeconfig_document(name: str, server: str, ca_data: str, user: dict) -> dict:
    """A kubeconfig with one cluster, context and user, all called `name`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": user}],
    }
