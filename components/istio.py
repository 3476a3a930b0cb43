"""Istio in one cluster: the `istio-system` namespace and the `cacerts` Secret of its intermediate CA.

istiod reads a plugged-in CA only when it starts, so the Secret exists before istiod (and anything
that installs istiod depends on `cacerts`); otherwise istiod makes a self-signed root of its own
and cross-cluster mTLS fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from .config import ClusterSpec
from .pki import IntermediateCa

NAMESPACE = "istio-system"


@dataclass
class IstioControlPlaneArgs:
    cluster: ClusterSpec
    ca: IntermediateCa


class IstioControlPlane(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    cacerts: k8s.core.v1.Secret

    def __init__(self, name: str, args: IstioControlPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:istio:IstioControlPlane", name, None, opts)
        spec = args.cluster
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                # Tells istiod which network this cluster's workloads are on.
                labels={"topology.istio.io/network": spec.network},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cacerts = k8s.core.v1.Secret(
            f"{name}-cacerts",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="cacerts", namespace=self.namespace.metadata.name),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value) for key, value in args.ca.cacerts_data().items()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
