"""Istio in one cluster, from the official Helm charts: namespace, `cacerts`, base, istiod, and
(where the topology has one) the east-west gateway on an internet-facing NLB with the
cross-network Gateway; on a primary with remotes, istiod's xDS (15012) exposed through that
gateway; on a remote, the remote profile with a local istiod that injects, validates and signs,
while its proxies take xDS from the primary's istiod by the primary's NLB name.

Order lives in the dependency graph:
- every release waits for the node group (pods need nodes);
- istiod waits for `cacerts` and `base`: istiod reads a plugged-in CA only when it starts, and
  without it makes a self-signed root of its own (cross-cluster mTLS then fails); and for the load
  balancer controller, whose readiness-gate webhook every pod of the labelled istio-system meets;
- each revision tag's webhook object waits for the istiod it calls; an unrevisioned istiod that
  hands `default` over to a tag waits for that tag's object (revisions.py);
- the gateway waits for istiod, and for the load balancer controller, so that `pulumi destroy`
  removes the gateway first and waits until its Service, and with it the NLB (the controller's
  finalizer), is gone before the controller, the nodes and the VPC go;
- the cross-network Gateway waits for base (its CRD) and istiod (its validating webhook);
- a remote's releases wait for everything through which its primary's istiod serves it, and its
  gateway (added by `add_east_west_gateway` once the mesh has made the primary's remote secret for
  it) for that secret as well.

Helm silently ignores misspelt values keys; the keys below are those of the charts' values.yaml
(1.30): `global.meshID`, `global.multiCluster.clusterName`, `global.network`, `podAnnotations`,
`configMap`, `global.remotePilotAddress`, `global.configCluster`, `global.omitSidecarInjectorConfigMap`,
`istiodRemote.enabledLocalInjectorIstiod`, `istiodRemote.injectionPath`, `networkGateway`,
`service.annotations`, `service.loadBalancerSourceRanges`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.istio import revisions
from components.istio.trust import IntermediateCa
from components.model.revisions import DEFAULT_TAG, IstioRevision, RevisionPlan
from components.istio.traffic import mesh_config_values
from components.model.spec import CLUSTER_TAG, ISTIO_NAMESPACE, ArtifactSources, ClusterSpec, ClusterTopology, TrafficSpec, helm_chart

NAMESPACE = ISTIO_NAMESPACE
EAST_WEST_RELEASE = "istio-eastwestgateway"
# The gateway chart labels pods `istio: <release name without the istio- prefix>`.
EAST_WEST_SELECTOR = {"istio": "eastwestgateway"}
CA_CHECKSUM_ANNOTATION = "istio-eks-mesh/ca-checksum"
EIP_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-eip-allocations"
SUBNETS_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-subnets"
# The tag the load balancer controller puts on the NLB it makes for a Service, with its cluster's.
LOAD_BALANCER_SERVICE_TAG = "service.k8s.aws/stack"
NLB_ANNOTATIONS = {
    # Handled by the AWS Load Balancer Controller, not the legacy in-tree cloud provider.
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    # Targets are pod IPs: no extra hop through a NodePort.
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    # Each zone's gateway pods serve traffic arriving in any zone.
    "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
}


class GatewayAddresses(Protocol):
    """Elastic IPs for the gateway's NLB, one per public subnet, with those subnets in zone order
    (what the cluster's network allocates for `eastWestStaticIps`)."""

    allocation_ids: pulumi.Output[list[str]]
    subnet_ids: pulumi.Output[list[str]]


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


@dataclass(frozen=True)
class ControlPlaneAccess:
    """How a remote reaches the istiod of its primary."""

    # The DNS name of the primary's east-west NLB, which passes 15012 (xDS) to istiod. A name,
    # not one of its addresses: it resolves to the NLB's nodes in every zone that is healthy.
    address: pulumi.Output[str]
    # What must exist before the remote's Istio is installed: everything through which the
    # primary's istiod serves remotes.
    ready: list[pulumi.Resource]


def istiod_values(
    mesh_id: str,
    cluster: ClusterSpec,
    topology: ClusterTopology,
    ca_checksum: pulumi.Input[str],
    primary: ControlPlaneAccess | None = None,
    traffic: TrafficSpec = TrafficSpec(),
) -> dict[str, Any]:
    identity = {
        "meshID": mesh_id,
        "multiCluster": {"clusterName": cluster.name},
        "network": cluster.network,
    }
    if topology.is_remote:
        assert primary is not None, "a remote needs its primary's address"
        return {**remote_istiod_values(cluster, identity, ca_checksum, primary), **mesh_config_values(traffic, serves_xds=False)}
    values: dict[str, Any] = {
        "global": identity,
        # A new intermediate or trust bundle changes this annotation and so rolls istiod: it
        # reloads a new intermediate by itself, but ignores a changed root bundle until it restarts.
        "podAnnotations": {CA_CHECKSUM_ANNOTATION: ca_checksum},
        # Mesh-wide traffic defaults; this istiod also configures its remotes' proxies.
        **mesh_config_values(traffic),
    }
    if topology.exposes_istiod:
        # Lets istiod serve remote clusters (their injection and discovery) besides its own.
        # The chart reads istiod's environment from `env` (or `global.externalIstiod`); a `pilot`
        # section, as older charts had, is ignored without a word.
        values["env"] = {"EXTERNAL_ISTIOD": "true"}
    return values


def remote_istiod_values(
    cluster: ClusterSpec, identity: dict[str, Any], ca_checksum: pulumi.Input[str], primary: ControlPlaneAccess
) -> dict[str, Any]:
    """A remote with a local istiod that injects sidecars and validates Istio config inside the
    remote, while its proxies take xDS from the primary (the remote profile with
    `istiodRemote.enabledLocalInjectorIstiod`, Istio 1.27+).

    - `remotePilotAddress`, a hostname, renders `istiod-remote` as an ExternalName Service for it;
      the mesh config (`configMap`, which the remote profile turns off) then gives injected proxies
      `discoveryAddress: istiod-remote.istio-system.svc:15012`, a name istiod's serving
      certificate carries. No API server ever calls the primary: the webhooks point at the local
      `istiod` Service.
    - Proxies' CA address stays the local `istiod`: it signs workload certificates (and its own
      webhook certificate) with this cluster's intermediate from `cacerts`, so they chain to the
      mesh root, and the root it publishes in every namespace's `istio-ca-root-cert` is the mesh
      root, the same the primary writes there.
    - The injector needs its ConfigMap (`omitSidecarInjectorConfigMap: false`), as in Istio's own
      test of this mode.
    """
    return {
        "profile": "remote",
        "configMap": True,
        "global": {
            **identity,
            "remotePilotAddress": primary.address,
            "configCluster": True,
            "omitSidecarInjectorConfigMap": False,
        },
        "istiodRemote": {
            "enabledLocalInjectorIstiod": True,
            "injectionPath": injection_path(cluster, is_remote=True),
        },
        # The local istiod signs with `cacerts`: a new intermediate rolls it like a primary's.
        "podAnnotations": {CA_CHECKSUM_ANNOTATION: ca_checksum},
    }


def injection_path(cluster: ClusterSpec, is_remote: bool) -> str:
    """The path the injection webhooks call: a remote's names its cluster and network."""
    return f"/inject/cluster/{cluster.name}/net/{cluster.network}" if is_remote else "/inject"


def east_west_gateway_values(
    cluster: ClusterSpec, allowed_cidrs: pulumi.Input[list[str]], addresses: GatewayAddresses | None = None
) -> dict[str, Any]:
    annotations: dict[str, Any] = dict(NLB_ANNOTATIONS)
    if addresses is not None:
        # One allocation per subnet, so the subnets are pinned too.
        annotations[EIP_ANNOTATION] = addresses.allocation_ids.apply(",".join)
        annotations[SUBNETS_ANNOTATION] = addresses.subnet_ids.apply(",".join)
    # The controller turns these into the NLB's security group rules, for every port.
    service: dict[str, Any] = {"type": "LoadBalancer", "annotations": annotations, "loadBalancerSourceRanges": allowed_cidrs}
    return {
        # Sets the network label and env var, and the ports 15021/15443/15012/15017.
        "networkGateway": cluster.network,
        "service": service,
    }


def expose_istiod_resources(plan: RevisionPlan, network: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Gateway and VirtualService specs that pass 15012 (xDS and certificates, TLS end to end)
    through the east-west gateway to istiod, each remote proxy to its own revision. Remotes inject
    and validate locally, so nothing routes to the webhook port (the gateway chart still opens a
    listener on 15017 for a network gateway; with no server behind it, it accepts nothing).

    The selector names the primary's network too: this istiod also configures the gateways of its
    remotes on other networks, which must not pass 15012 to their own local istiod."""
    gateway = {
        "selector": {**EAST_WEST_SELECTOR, "topology.istio.io/network": network},
        "servers": [
            {"port": {"name": "tls-istiod", "number": 15012, "protocol": "tls"}, "tls": {"mode": "PASSTHROUGH"}, "hosts": ["*"]},
        ],
    }
    virtual_service = {"hosts": ["*"], "gateways": ["istiod-gateway"], "tls": revisions.xds_routes(plan)}
    return gateway, virtual_service


def image_values(sources: ArtifactSources) -> dict[str, Any]:
    """Where every Istio image comes from. istiod's chart names its own image and, through the
    injector, every proxy's (sidecars, and the gateway pods, whose chart leaves `image: auto` for the
    injector); base and gateway share the `global` block (their `zzz_profile.yaml` merges it), so the
    hub is one value on every release. The published 1.30.x charts default it to a retired registry."""
    return {"global": {"hub": sources.istio_hub}}


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
    topology: ClusterTopology
    mesh_id: str
    # The Istio versions installed side by side, and the tags pointing at them.
    revisions: RevisionPlan
    ca: IntermediateCa
    # Pods need nodes: every release waits for them.
    node_group: pulumi.Resource
    # The gateway's NLB exists only while the controller runs: the gateway waits for all of it.
    load_balancer_controller: pulumi.Resource
    east_west_allowed_cidrs: pulumi.Input[list[str]]
    # Elastic IPs for the gateway's NLB (`eastWestStaticIps`).
    gateway_addresses: GatewayAddresses | None = None
    # A remote: how it reaches its primary's istiod.
    primary: ControlPlaneAccess | None = None
    # Extra values per chart (`base`, `istiod`, `gateway`), merged over ours.
    extra_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The extra values came from an encrypted config key: keep the releases' values secret.
    extra_values_secret: bool = False
    traffic: TrafficSpec = TrafficSpec()
    sources: ArtifactSources = ArtifactSources()


class IstioControlPlane(pulumi.ComponentResource):
    """What other components use of a cluster's Istio."""

    # The istio-system namespace's name, known once the namespace exists.
    namespace: pulumi.Output[str]
    # The release that creates `istio-reader-service-account` (the base chart).
    reader_account: pulumi.Resource
    # What injects sidecars into this cluster's `istio-injection=enabled` pods: the istiod release
    # the `default` tag points at, or the tag's webhook object (which waits for that release).
    injector: pulumi.Resource
    # The east-west gateway's load balancer address (a DNS name); None without a gateway.
    east_west_address: pulumi.Output[str] | None
    # A primary with remotes: how they reach its istiod.
    remote_access: ControlPlaneAccess | None

    def __init__(self, name: str, args: IstioControlPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:istio:IstioControlPlane", name, None, opts)
        spec, topology = args.cluster, args.topology
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                # Tells istiod which network this cluster's workloads are on.
                labels={"topology.istio.io/network": spec.network, **revisions.READINESS_GATE_LABEL},
                # Tells a remote's webhook and the primary which istiod manages this cluster.
                annotations={"topology.istio.io/controlPlaneClusters": topology.control_plane} if topology.is_remote else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = namespace.metadata.name
        cacerts = k8s.core.v1.Secret(
            f"{name}-cacerts",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="cacerts", namespace=self.namespace),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value) for key, value in args.ca.cacerts_data().items()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._name, self._args = name, args
        plan = args.revisions
        base_values = merge_values({"profile": "remote"} if topology.is_remote else {}, revisions.base_values(plan))
        # One base (the CRDs, which stay backward compatible) for every revision: the newest.
        base = self._release("base", "base", "istio-base", base_values, [namespace], version=plan.newest)
        self._tags: dict[str, k8s.admissionregistration.v1.MutatingWebhookConfiguration] = {}
        releases: dict[str, k8s.helm.v3.Release] = {}
        # Revisioned first: the unrevisioned release turns its webhooks off only after the tag
        # object serving `default` in its stead exists, so no pod is ever created without one.
        for revision in sorted(plan.revisions, key=lambda r: r.unrevisioned):
            taken_over = [self._tag(DEFAULT_TAG, releases)] if revision.unrevisioned and plan.default is not revision else []
            releases[revision.version] = self._istiod_release(revision, [base, cacerts, *taken_over])
        for tag in plan.webhook_tags():
            self._tag(tag, releases)
        self.reader_account = base
        self.injector = releases[plan.default.version] if plan.default.unrevisioned else self._tags[DEFAULT_TAG]
        self._base, self._istiods = base, [*releases.values(), *self._tags.values()]
        self.east_west_address = None
        self.remote_access = None
        self.register_outputs({"namespace": self.namespace})

    def _istiod_release(self, revision: IstioRevision, depends_on: list) -> k8s.helm.v3.Release:
        """One revision's istiod, highly available (users' `istioValues.istiod` still win)."""
        args = self._args
        values = istiod_values(args.mesh_id, args.cluster, args.topology, args.ca.checksum, args.primary, args.traffic)
        values = merge_values(values, revisions.istiod_ha_values(revision))
        values = merge_values(values, revisions.revision_values(args.revisions, revision, args.topology.is_remote, args.topology.exposes_istiod))
        if not args.topology.is_remote:
            values = merge_values(values, revisions.cluster_local_istiods())
        # Pods created in istio-system go through the controller's readiness-gate webhook (the
        # namespace label), so istiod is made after the controller and removed before it.
        after = [*depends_on, args.load_balancer_controller]
        return self._release(revision.release, "istiod", revision.release, values, after, version=revision.version)

    def _tag(self, tag: str, releases: Mapping[str, k8s.helm.v3.Release]) -> k8s.admissionregistration.v1.MutatingWebhookConfiguration:
        """The tag's webhook object. Moving the tag patches it in place; it waits for the release
        it points at, whose Service its webhooks call (with `failurePolicy: Fail`)."""
        if tag not in self._tags:
            revision = self._args.revisions.target(tag)
            self._tags[tag] = k8s.admissionregistration.v1.MutatingWebhookConfiguration(
                f"{self._name}-tag-{tag}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"istio-revision-tag-{tag}", labels=revisions.tag_labels(tag, revision)),
                webhooks=revisions.tag_webhooks(tag, revision, injection_path(self._args.cluster, self._args.topology.is_remote)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self._args.node_group, releases[revision.version]]),
            )
        return self._tags[tag]

    def _release(
        self, role: str, chart: str, release_name: str, values: dict, depends_on: list, *, version: str, timeout: int = 600
    ) -> k8s.helm.v3.Release:
        args = self._args
        # A remote's Istio waits for everything through which its primary's istiod serves it.
        after_primary = list(args.primary.ready) if args.primary else []
        return k8s.helm.v3.Release(
            f"{self._name}-{role}",
            name=release_name,
            **helm_chart(args.sources.istio_charts, chart),
            version=version,
            namespace=self.namespace,
            values=_maybe_secret(merge_values(merge_values(values, image_values(args.sources)), args.extra_values.get(chart, {})), args.extra_values_secret),
            timeout=timeout,
            # The release name is fixed, so a replacement must uninstall the old release before it
            # installs the new one (Helm refuses a name still in use).
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.node_group, *after_primary, *depends_on], delete_before_replace=True
            ),
        )

    def add_east_west_gateway(self, after: list[pulumi.Resource] | None = None) -> None:
        """The gateway release, its Istio Gateway objects, and (a primary with remotes) istiod's
        exposure. Separate from the constructor because a remote's gateway pods must wait for what
        is made after its Istio: the primary's remote secret for this cluster, without which the
        primary's istiod cannot authenticate their requests for configuration."""
        name, args, topology = self._name, self._args, self._args.topology
        assert topology.east_west_gateway and self.east_west_address is None, f"{name} gets one gateway, if its topology has one"
        gateway = self._release(
            "eastwest",
            "gateway",
            EAST_WEST_RELEASE,
            merge_values(
                east_west_gateway_values(args.cluster, args.east_west_allowed_cidrs, args.gateway_addresses),
                _gateway_revision_values(args.revisions),
            ),
            [*self._istiods, args.load_balancer_controller, *(after or [])],
            # The gateway's chart comes with the revision that injects it.
            version=args.revisions.default.version,
            # The NLB must be provisioned before the Service reports an address.
            timeout=900,
        )
        # After base (the CRDs) and istiod (its validating webhook).
        istio_config = pulumi.ResourceOptions(parent=self, depends_on=[self._base, *self._istiods])
        if topology.cross_network:
            _istio_resource(name, "cross-network-gateway", "Gateway", cross_network_gateway_spec(), istio_config)
        # The NLB's DNS name, looked up by the tags the controller gives it. An invoke that waits for
        # the release: on a preview that adds the gateway it stays unknown, where a read of the
        # Service would fail because the Service does not exist yet.
        balancer = aws.lb.get_load_balancer_output(
            tags={CLUSTER_TAG: args.cluster.eks_name, LOAD_BALANCER_SERVICE_TAG: f"{NAMESPACE}/{EAST_WEST_RELEASE}"},
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[gateway]),
        )
        self.east_west_address = balancer.dns_name
        if topology.exposes_istiod:
            gateway_spec, virtual_service_spec = expose_istiod_resources(args.revisions, args.cluster.network)
            exposure = [
                _istio_resource(name, "istiod-gateway", "Gateway", gateway_spec, istio_config),
                _istio_resource(name, "istiod-vs", "VirtualService", virtual_service_spec, istio_config),
            ]
            self.remote_access = ControlPlaneAccess(address=self.east_west_address, ready=[gateway, *exposure])


def _gateway_revision_values(plan: RevisionPlan) -> dict[str, Any]:
    """HA, and injection by the revision `default` points at: a move of the tag relabels the pods
    (`istio.io/rev`), which rolls them onto it. An unrevisioned `default` needs no label."""
    values = revisions.gateway_ha_values(EAST_WEST_SELECTOR)
    if not plan.default.unrevisioned:
        values["revision"] = plan.default.name
    return values


def _istio_resource(
    component: str, object_name: str, kind: str, spec: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        f"{component}-{object_name}",
        api_version="networking.istio.io/v1",
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=NAMESPACE),
        spec=spec,
        opts=opts,
    )


def _maybe_secret(values: dict[str, Any], secret: bool) -> Any:
    return pulumi.Output.secret(values) if secret else values
