"""The mesh-wide mTLS mode: a PeerAuthentication `default` in `istio-system` (Istio's root
namespace, where a policy without a selector applies to the whole mesh) of a primary, whose istiod
configures its own and its remotes' sidecars with it.

`STRICT`: sidecars accept only mTLS from a mesh identity. Behind the east-west gateway's 15443
pass-through, which admits every NAT address of the mesh, a process without a mesh certificate then
reaches no TLS-speaking port of a meshed workload. `PERMISSIVE` is Istio's default (plain text
accepted too), made explicit. (istio.io docs: reference/config/security/peer_authentication;
tasks/security/authentication/mtls-migration. The schema is the base chart's
`peerauthentications.security.istio.io` CRD, `security.istio.io/v1`, checked by
tests/test_chart_render.py.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.model.spec import ISTIO_NAMESPACE

# The name Istio's docs give the mesh-wide policy; a second mesh-wide policy (another name) would be
# ignored in favour of the oldest, so a user's own `default` makes the creation fail loudly instead.
POLICY_NAME = "default"


@dataclass
class MeshMtlsArgs:
    mode: str
    # The primary's injector: the CRD (base) exists and istiod's validating webhook answers.
    istiod: pulumi.Resource


class MeshMtls(pulumi.ComponentResource):
    """The mesh-wide PeerAuthentication of one primary."""

    def __init__(self, name: str, args: MeshMtlsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:mtls:MeshMtls", name, None, opts)
        k8s.apiextensions.CustomResource(
            f"{name}-peer-authentication",
            api_version="security.istio.io/v1",
            kind="PeerAuthentication",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=POLICY_NAME, namespace=ISTIO_NAMESPACE),
            spec={"mtls": {"mode": args.mode}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.istiod]),
        )
        self.register_outputs({})
