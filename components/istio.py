"""Istio in one cluster, from the official Helm charts: namespace, `cacerts`, base, istiod, and the
east-west gateway on an internet-facing NLB with the cross-network Gateway.

Order lives in the dependency graph:
- every release waits for the node group (pods need nodes);
- istiod waits for `cacerts` and `base`: istiod reads a plugged-in CA only when it starts, and
  without it makes a self-signed root of its own (cross-cluster mTLS then fails);
- the gateway waits for istiod, and for the load balancer controller, so that `pulumi destroy`
  removes the gateway first and waits until its Service, and with it the NLB (the controller's
  finalizer), is gone before the controller, the nodes and the VPC go;
- the cross-network Gateway waits for base (its CRD) and istiod (its validating webhook).

Helm silently ignores misspelt values keys; the keys below are those of the charts' values.yaml
(1.30): `global.meshID`, `global.multiCluster.clusterName`, `global.network`, `podAnnotations`,
`networkGateway`, `service.annotations`, `service.loadBalancerSourceRanges`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

import pulumi
import pulumi_kubernetes as k8s

from . import versions
from .config import ClusterSpec
from .pki import IntermediateCa

NAMESPACE = "istio-system"
EAST_WEST_RELEASE = "istio-eastwestgateway"
# The gateway chart labels pods `istio: <release name without the istio- prefix>`.
EAST_WEST_SELECTOR = {"istio": "eastwestgateway"}
CA_CHECKSUM_ANNOTATION = "istio-eks-mesh/ca-checksum"
NLB_ANNOTATIONS = {
    # Handled by the AWS Load Balancer Controller, not the legacy in-tree cloud provider.
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    # Targets are pod IPs: no extra hop through a NodePort.
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    # Each zone's gateway pods serve traffic arriving in any zone.
    "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
}


def merge_values(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merges `theirs` over `ours` (mappings merge, everything else is replaced).

    `ours` may hold Outputs, which cannot be deep-copied; only the plain user values are."""
    merged = dict(ours)
    for key, value in theirs.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def istiod_values(mesh_id: str, cluster: ClusterSpec, ca_checksum: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "global": {
            "meshID": mesh_id,
            "multiCluster": {"clusterName": cluster.name},
            "network": cluster.network,
        },
        # A new intermediate (renewal, new root) changes this annotation and so rolls istiod,
        # which reads `cacerts` only at start-up.
        "podAnnotations": {CA_CHECKSUM_ANNOTATION: ca_checksum},
    }


def east_west_gateway_values(cluster: ClusterSpec, allowed_cidrs: pulumi.Input[list[str]]) -> dict[str, Any]:
    return {
        # Sets the network label and env var, and the ports 15021/15443/15012/15017.
        "networkGateway": cluster.network,
        "service": {
            "type": "LoadBalancer",
            "annotations": dict(NLB_ANNOTATIONS),
            # The controller turns these into the NLB's security group rules.
            "loadBalancerSourceRanges": allowed_cidrs,
        },
    }


def cross_network_gateway_spec() -> dict[str, Any]:
    return {
        "selector": dict(EAST_WEST_SELECTOR),
        "servers": [
            {
                "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                "tls": {"mode": "AUTO_PASSTHROUGH"},
                "hosts": ["*.local"],
            }
        ],
    }


@dataclass
class IstioControlPlaneArgs:
    cluster: ClusterSpec
    mesh_id: str
    istio_version: str
    ca: IntermediateCa
    node_group: pulumi.Resource
    load_balancer_controller: pulumi.Resource
    east_west_allowed_cidrs: pulumi.Input[list[str]]
    # Extra values per chart (`base`, `istiod`, `gateway`), merged over ours.
    extra_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


class IstioControlPlane(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    cacerts: k8s.core.v1.Secret
    base: k8s.helm.v3.Release
    istiod: k8s.helm.v3.Release
    east_west_gateway: k8s.helm.v3.Release
    east_west_address: pulumi.Output[str]

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

        def release(role: str, chart: str, release_name: str, values: dict, depends_on: list, timeout: int = 600):
            return k8s.helm.v3.Release(
                f"{name}-{role}",
                name=release_name,
                chart=chart,
                version=args.istio_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.ISTIO_CHART_REPO),
                namespace=self.namespace.metadata.name,
                values=merge_values(values, args.extra_values.get(chart, {})),
                timeout=timeout,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node_group, *depends_on]),
            )

        self.base = release("base", "base", "istio-base", {}, [self.namespace])
        self.istiod = release(
            "istiod", "istiod", "istiod", istiod_values(args.mesh_id, spec, args.ca.checksum), [self.base, self.cacerts]
        )
        self.east_west_gateway = release(
            "eastwest",
            "gateway",
            EAST_WEST_RELEASE,
            east_west_gateway_values(spec, args.east_west_allowed_cidrs),
            [self.istiod, args.load_balancer_controller],
            # The NLB must be provisioned before the Service reports an address.
            timeout=900,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-cross-network-gateway",
            api_version="networking.istio.io/v1",
            kind="Gateway",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="cross-network-gateway", namespace=NAMESPACE),
            spec=cross_network_gateway_spec(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.base, self.istiod]),
        )

        # Read back the gateway Service for the NLB's DNS name once the release has made it.
        service = k8s.core.v1.Service.get(
            f"{name}-eastwest-service",
            f"{NAMESPACE}/{EAST_WEST_RELEASE}",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.east_west_gateway]),
        )
        self.east_west_address = service.status.apply(_load_balancer_address)
        self.register_outputs({"eastWestAddress": self.east_west_address})


def _load_balancer_address(status: Any) -> str:
    ingress = (status.load_balancer.ingress if status and status.load_balancer else None) or []
    return (ingress[0].hostname or ingress[0].ip or "") if ingress else ""
