"""A cluster's east-west gateway: the `gateway` chart behind an NLB (internet-facing, or internal in
private mode), the
cross-network Gateway (15443) when the mesh has several networks, and on a primary with remotes
istiod's exposure (15012) through it.

Its own component, made by the mesh once the cluster's discovery exists: a remote's gateway pods
take their configuration from the primary's istiod, which must hold the remote secret for this
cluster to authenticate them, so that secret is among what the gateway waits for. It also waits
for every istiod of the cluster (the revision `default` injects its pods) and for the whole load
balancer controller, so that `pulumi destroy` removes the gateway, and with its Service the NLB
(the controller's finalizer), while the controller can still reach AWS.

Its children keep the names (and, through aliases, the URNs) they had as children of the control
plane.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components import migrations
from components.istio import revisions
from components.istio.control_plane import ControlPlaneAccess, IstioControlPlane, istio_release
from components.model.revisions import RevisionPlan
from components.model.spec import CROSS_NETWORK_PORT, ISTIO_NAMESPACE, ISTIOD_PORT, ClusterSpec, ClusterTopology
from components.plan.istio_values import EAST_WEST_SELECTOR, NETWORK_LABEL, gateway_values

EAST_WEST_RELEASE = "istio-eastwestgateway"


class GatewayAddresses(Protocol):
    """Elastic IPs for the gateway's NLB, one per public subnet, with those subnets in zone order
    (what the cluster's network allocates for `eastWestStaticIps`)."""

    allocation_ids: pulumi.Output[list[str]]
    subnet_ids: pulumi.Output[list[str]]


def expose_istiod_resources(plan: RevisionPlan, network: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Gateway and VirtualService specs that pass 15012 (xDS and certificates, TLS end to end)
    through the east-west gateway to istiod, each remote proxy to its own revision. Remotes inject
    and validate locally, so nothing routes to the webhook port 15017, which the Service leaves out.

    The selector names the primary's network too: this istiod also configures the gateways of its
    remotes on other networks, which must not pass 15012 to their own local istiod."""
    gateway = {
        "selector": {**EAST_WEST_SELECTOR, NETWORK_LABEL: network},
        "servers": [
            {
                "port": {"name": "tls-istiod", "number": ISTIOD_PORT, "protocol": "tls"},
                "tls": {"mode": "PASSTHROUGH"},
                "hosts": ["*"],
            },
        ],
    }
    virtual_service = {"hosts": ["*"], "gateways": ["istiod-gateway"], "tls": revisions.xds_routes(plan)}
    return gateway, virtual_service


def cross_network_gateway_spec() -> dict[str, Any]:
    return {
        "selector": dict(EAST_WEST_SELECTOR),
        "servers": [
            {
                "port": {"number": CROSS_NETWORK_PORT, "name": "tls", "protocol": "TLS"},
                "tls": {"mode": "AUTO_PASSTHROUGH"},
                "hosts": ["*.local"],
            }
        ],
    }


@dataclass
class EastWestGatewayArgs:
    cluster: ClusterSpec
    topology: ClusterTopology
    revisions: RevisionPlan
    # The cluster's Istio: its istiods and CRDs, and the settings its releases share.
    control_plane: IstioControlPlane
    # The NLB exists only while the controller runs: the gateway waits for all of it.
    load_balancer_controller: pulumi.Resource
    # Who may reach the NLB (`eastWestAllowedCidrs`, or the mesh's NAT addresses).
    allowed_cidrs: pulumi.Input[list[str]]
    # The prefix of its children's names: the control plane's name, whose children they were.
    child_prefix: str
    # Elastic IPs for the NLB (`eastWestStaticIps`).
    addresses: GatewayAddresses | None = None
    # On a remote: the primary's remote secret for this cluster, without which the primary's istiod
    # cannot authenticate the gateway pods.
    after: list[pulumi.Resource] = field(default_factory=list)
    # Private mode: an internal NLB, which the peers reach over the Transit Gateways.
    internal: bool = False


class EastWestGateway(pulumi.ComponentResource):
    """What other components use of a cluster's east-west gateway."""

    # The NLB's DNS name.
    address: pulumi.Output[str]
    # On a primary with remotes: how they reach its istiod; None elsewhere.
    remote_access: ControlPlaneAccess | None

    def __init__(self, name: str, args: EastWestGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:istio:EastWestGateway", name, None, opts)
        prefix, topology, control_plane = args.child_prefix, args.topology, args.control_plane
        # The URNs they had with the control plane as their parent.
        moved = migrations.gateway_moved_from(control_plane)
        addresses = args.addresses
        inputs = replace(
            control_plane.release_inputs,
            allowed_cidrs=args.allowed_cidrs,
            eip_allocations=addresses.allocation_ids.apply(",".join) if addresses else None,
            eip_subnets=addresses.subnet_ids.apply(",".join) if addresses else None,
            internal=args.internal,
        )
        gateway = istio_release(
            f"{prefix}-eastwest",
            "gateway",
            EAST_WEST_RELEASE,
            gateway_values(inputs),
            control_plane.release_settings,
            # The gateway's chart comes with the revision that injects it.
            version=args.revisions.default.version,
            depends_on=[*control_plane.istiods, args.load_balancer_controller, *args.after],
            parent=self,
            # The NLB must be provisioned before the Service reports an address.
            timeout=900,
            aliases=moved,
        )
        # After base (the CRDs) and istiod (its validating webhook).
        istio_config = pulumi.ResourceOptions(
            parent=self, depends_on=[control_plane.crds, *control_plane.istiods], aliases=moved
        )
        # Istio config is read from a primary's own API server only; a remote's gateway pods take
        # their cross-network server from its primary's Gateway, whose selector matches them too.
        if topology.cross_network and not topology.is_remote:
            _istio_resource(prefix, "cross-network-gateway", "Gateway", cross_network_gateway_spec(), istio_config)
        # The NLB's DNS name, from the status of the chart's Service: the controller writes it there
        # once the NLB exists, and the release waits for it (Helm's ready check of a LoadBalancer
        # Service). The read takes the release's ID: on a preview that creates the gateway that ID
        # is unknown and the engine skips the read (ReadStep.Apply, pkg/resource/deploy/step.go),
        # where a read of a Service not made yet would fail. One object by name: nothing to match.
        service = k8s.core.v1.Service.get(
            f"{prefix}-eastwest-service",
            gateway.id.apply(lambda _: f"{ISTIO_NAMESPACE}/{EAST_WEST_RELEASE}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )
        self.address = service.status.apply(lambda status: load_balancer_name(args.cluster.name, status))
        self.remote_access = None
        if topology.exposes_istiod:
            gateway_spec, virtual_service_spec = expose_istiod_resources(args.revisions, args.cluster.network)
            exposure = [
                _istio_resource(prefix, "istiod-gateway", "Gateway", gateway_spec, istio_config),
                _istio_resource(prefix, "istiod-vs", "VirtualService", virtual_service_spec, istio_config),
            ]
            self.remote_access = ControlPlaneAccess(address=self.address, ready=[gateway, *exposure])
        self.register_outputs({"address": self.address})


def load_balancer_name(cluster: str, status: Any) -> pulumi.Input[str]:
    """The NLB's DNS name in a Service status. None yet: on a preview it is unknown (a release that
    timed out is retried by the update, which waits for the NLB again); on an update the release
    has just waited for it, so the controller could not make the NLB, which its events say."""
    ingress = getattr(getattr(status, "load_balancer", None), "ingress", None) or []
    names = [entry.hostname for entry in ingress if getattr(entry, "hostname", None)]
    if names:
        return names[0]
    if pulumi.runtime.is_dry_run():
        return pulumi.Output(set(), _resolved(None), _resolved(False))
    raise pulumi.RunError(
        f"cluster {cluster}: the Service {ISTIO_NAMESPACE}/{EAST_WEST_RELEASE} has no load balancer address:"
        " the AWS Load "
        f"Balancer Controller has not made its NLB; its reason is in `kubectl -n {ISTIO_NAMESPACE} describe service "
        f"{EAST_WEST_RELEASE}` (Events) and the controller's log (docs/operations/troubleshooting.md)"
    )


def _resolved(value: Any) -> asyncio.Future:
    future = asyncio.get_event_loop().create_future()
    future.set_result(value)
    return future


def _istio_resource(
    prefix: str, object_name: str, kind: str, spec: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        f"{prefix}-{object_name}",
        api_version="networking.istio.io/v1",
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=ISTIO_NAMESPACE),
        spec=spec,
        opts=opts,
    )
