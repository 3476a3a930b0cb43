"""Istio in one cluster, from the official Helm charts: namespace, `cacerts`, base, istiod (one
release per revision) and the revision tags; on a remote, the remote profile with a local istiod
that injects, validates and signs, while its proxies take xDS from the primary's istiod by the
primary's NLB name. The east-west gateway is a component of its own (`gateway.py`).

Order lives in the dependency graph:
- every release waits for the node group (pods need nodes);
- istiod waits for `cacerts` and `base`: istiod reads a plugged-in CA only when it starts, and
  without it makes a self-signed root of its own (cross-cluster mTLS then fails); and for the load
  balancer controller, whose readiness-gate webhook every pod of the labelled istio-system meets;
- each revision tag's webhook object waits for the istiod it calls; an unrevisioned istiod that
  hands `default` over to a tag waits for that tag's object (`revisions.py`);
- a remote's releases wait for everything through which its primary's istiod serves it.

Helm silently ignores misspelt values keys; the render tier of the tests checks every key written
here against the charts' values.yaml (1.30 and 1.31).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

import pulumi
import pulumi_kubernetes as k8s

from components.istio import revisions
from components.istio.traffic import mesh_config_values
from components.istio.trust import IntermediateCa
from components.model.revisions import DEFAULT_TAG, IstioRevision, RevisionPlan
from components.model.spec import ISTIO_NAMESPACE, ArtifactSources, ClusterSpec, ClusterTopology, TrafficSpec, helm_chart

NAMESPACE = ISTIO_NAMESPACE
CA_CHECKSUM_ANNOTATION = "istio-eks-mesh/ca-checksum"


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


def image_values(sources: ArtifactSources) -> dict[str, Any]:
    """Where every Istio image comes from. istiod's chart names its own image and, through the
    injector, every proxy's (sidecars, and the gateway pods, whose chart leaves `image: auto` for the
    injector). The base and gateway charts take a `global` block too (their `zzz_profile.yaml`
    merges it) but read no hub (base runs no pod); it is set there as well so that every release
    names the one source. The published 1.30.x charts default it to a retired registry."""
    return {"global": {"hub": sources.istio_hub}}


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
    # Pods created in istio-system meet the controller's readiness-gate webhook: istiod waits for it.
    load_balancer_controller: pulumi.Resource
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
    # The base release: the CRDs (and the default validating webhook) Istio config needs.
    crds: pulumi.Resource
    # Every istiod release and tag object: what the east-west gateway and Istio config wait for.
    istiods: list[pulumi.Resource]
    # What every Istio release of this cluster shares (sources, user values, what it waits for).
    release_settings: ReleaseSettings

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
        self.release_settings = ReleaseSettings(
            namespace=self.namespace,
            sources=args.sources,
            extra_values=args.extra_values,
            extra_values_secret=args.extra_values_secret,
            waits_for=(args.node_group, *(args.primary.ready if args.primary else ())),
        )
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
        self.crds, self.istiods = base, [*releases.values(), *self._tags.values()]
        self.register_outputs({"namespace": self.namespace})

    def _istiod_release(self, revision: IstioRevision, depends_on: list) -> k8s.helm.v3.Release:
        """One revision's istiod, highly available (users' `istioValues.istiod` still win)."""
        args = self._args
        values = istiod_values(args.mesh_id, args.cluster, args.topology, args.ca.checksum, args.primary, args.traffic)
        values = merge_values(values, revisions.istiod_ha_values(revision))
        values = merge_values(values, revisions.revision_values(args.revisions, revision, args.topology.is_remote, args.topology.exposes_istiod))
        if not args.topology.is_remote:
            values = merge_values(values, revisions.cluster_local_istiods(args.revisions))
        # Pods created in istio-system go through the controller's readiness-gate webhook (the
        # namespace label), so istiod is made after the controller and removed before it.
        after = [*depends_on, args.load_balancer_controller]
        return self._release(revision.release, "istiod", revision.release, values, after, version=revision.version)

    def _tag(self, tag: str, releases: Mapping[str, k8s.helm.v3.Release]) -> k8s.admissionregistration.v1.MutatingWebhookConfiguration:
        """The tag's webhook object. Moving the tag patches it in place; it waits for the release
        it points at, whose Service its webhooks call (with `failurePolicy: Fail`)."""
        if tag not in self._tags:
            revision = self._args.revisions.target(tag)
            after = pulumi.ResourceOptions(parent=self, depends_on=[self._args.node_group, releases[revision.version]])
            self._tags[tag] = k8s.admissionregistration.v1.MutatingWebhookConfiguration(
                f"{self._name}-tag-{tag}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"istio-revision-tag-{tag}", labels=revisions.tag_labels(tag, revision)),
                webhooks=revisions.tag_webhooks(tag, revision, injection_path(self._args.cluster, self._args.topology.is_remote)),
                opts=after,
            )
            # The tag's other half, as `istioctl tag set` writes it: istiod's tag watcher reads which
            # revision owns `istio.io/rev=<tag>` (gateways, waypoints) from this Service's labels.
            service = revisions.tag_service(tag, revision)
            k8s.core.v1.Service(
                f"{self._name}-tag-{tag}-service",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=service["name"], namespace=self.namespace, labels=service["labels"]),
                spec=service["spec"],
                opts=after,
            )
        return self._tags[tag]

    def _release(self, role: str, chart: str, release_name: str, values: dict, depends_on: list, *, version: str) -> k8s.helm.v3.Release:
        return istio_release(
            f"{self._name}-{role}", chart, release_name, values, self.release_settings, version=version, depends_on=depends_on, parent=self
        )


@dataclass(frozen=True)
class ReleaseSettings:
    """What every Istio Helm release of one cluster shares."""

    namespace: pulumi.Output[str]
    sources: ArtifactSources
    # Extra values per chart (`istioValues`), merged over ours; secret if the key was encrypted.
    extra_values: Mapping[str, Mapping[str, Any]]
    extra_values_secret: bool
    # Every release waits for these: the nodes (pods need them) and, on a remote, everything through
    # which its primary's istiod serves it.
    waits_for: tuple[pulumi.Resource, ...]


def istio_release(
    resource_name: str,
    chart: str,
    release_name: str,
    values: dict,
    settings: ReleaseSettings,
    *,
    version: str,
    depends_on: list,
    parent: pulumi.Resource,
    timeout: int = 600,
    aliases: list[pulumi.Alias] | None = None,
) -> k8s.helm.v3.Release:
    """One release of an Istio chart, with the hub and the user's values over `values`."""
    merged = merge_values(merge_values(values, image_values(settings.sources)), settings.extra_values.get(chart, {}))
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        **helm_chart(settings.sources.istio_charts, chart),
        version=version,
        namespace=settings.namespace,
        values=pulumi.Output.secret(merged) if settings.extra_values_secret else merged,
        timeout=timeout,
        # The release name is fixed, so a replacement must uninstall the old release before it
        # installs the new one (Helm refuses a name still in use).
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[*settings.waits_for, *depends_on], delete_before_replace=True, aliases=aliases
        ),
    )
