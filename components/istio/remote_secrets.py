"""Cross-cluster discovery: remote secrets, built declaratively instead of `istioctl create-remote-secret`.

Each cluster gets a token for `istio-reader-service-account` (the ServiceAccount comes from the base
chart, its read-only RBAC from the istiod chart). For every ordered pair (A, B), A ≠ B, A's
istio-system holds `istio-remote-secret-<B>`: a kubeconfig for B's API server with that token, from
which A's istiod watches B's services and endpoints. N clusters give N tokens and N·(N−1) secrets.

istiod rejects kubeconfigs with `exec`, auth providers, client keys or token files, so the EKS
`aws eks get-token` kubeconfig cannot serve; since Kubernetes 1.24 a long-lived token exists only
as a `kubernetes.io/service-account-token` Secret, which the Kubernetes provider waits on until
the token controller has filled it.

Rotation (`readerTokenGeneration`, components/model/credentials.py): a new generation renames the
token Secret, which the Kubernetes provider cannot do in place (`metadata.name` replaces). Pulumi
replaces create-first by default (docs: concepts/options/deletebeforereplace): the new token is
made, every remote secret that reads it (a dependent) is updated with it, and only then, at the end
of the update, the old Secret is deleted, which ends the old token (an update that fails before
leaves the old one in place). The first generation keeps the name every stack had.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.istio.control_plane import NAMESPACE
from components.model.credentials import FIRST_GENERATION, READER_SERVICE_ACCOUNT, token_secret_name
from components.model.kubeconfig import kubeconfig_document


def remote_kubeconfig(cluster: str, server: str, ca_data: str, token: str) -> str:
    """The kubeconfig istiod reads from a remote secret: cluster, context and user all named
    after the peer, a bearer token and nothing else for authentication."""
    return yaml.safe_dump(kubeconfig_document(cluster, server, ca_data, {"token": token}), sort_keys=False)


@dataclass
class ReaderTokenArgs:
    # What creates the ServiceAccount the token is for (the base chart's release).
    reader_account: pulumi.Resource
    # `readerTokenGeneration`: which token Secret this is.
    generation: int = FIRST_GENERATION


class ReaderToken(pulumi.ComponentResource):
    """A long-lived token of `istio-reader-service-account`, for the other clusters' istiod."""

    # The token (a secret Output); reading it waits until the token controller has filled it.
    token: pulumi.Output[str]

    def __init__(self, name: str, args: ReaderTokenArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:remote_secrets:ReaderToken", name, None, opts)
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=token_secret_name(args.generation),
                namespace=NAMESPACE,
                annotations={"kubernetes.io/service-account.name": READER_SERVICE_ACCOUNT},
            ),
            type="kubernetes.io/service-account-token",
            # Never delete-first: the remote secrets would point at a deleted token until updated.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.reader_account], delete_before_replace=False),
        )
        self.token = pulumi.Output.secret(secret.data.apply(lambda data: base64.b64decode(data["token"]).decode()))
        self.register_outputs({})


@dataclass
class RemoteSecretArgs:
    # The peer cluster (B) this secret lets the local istiod (A) discover.
    peer_name: str
    peer_endpoint: pulumi.Input[str]
    peer_certificate_authority: pulumi.Input[str]
    peer_token: pulumi.Input[str]
    # The local istio-system namespace (its name, an Output of the namespace resource).
    namespace: pulumi.Input[str]


class RemoteSecret(pulumi.ComponentResource):
    """`istio-remote-secret-<peer>` in the local cluster's istio-system. What needs the local istiod
    to know the peer (a remote's workloads) depends on this component."""

    def __init__(self, name: str, args: RemoteSecretArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:remote_secrets:RemoteSecret", name, None, opts)
        peer = args.peer_name
        kubeconfig = pulumi.Output.all(args.peer_endpoint, args.peer_certificate_authority, args.peer_token).apply(
            lambda v: remote_kubeconfig(peer, v[0], v[1], v[2])
        )
        k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"istio-remote-secret-{peer}",
                namespace=args.namespace,
                labels={"istio/multiCluster": "true"},
                annotations={"networking.istio.io/cluster": peer},
            ),
            type="Opaque",
            string_data={peer: pulumi.Output.secret(kubeconfig)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
