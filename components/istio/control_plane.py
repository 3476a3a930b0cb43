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

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.istio import revisions
from components.istio.trust import IntermediateCa
from components.model.credentials import READER_ROLE, READER_RULES, READER_SERVICE_ACCOUNT
from components.model.revisions import DEFAULT_TAG, IstioRevision, RevisionPlan
from components.model.spec import (
    ISTIO_NAMESPACE,
    ArtifactSources,
    ClusterSpec,
    ClusterTopology,
    TrafficSpec,
    helm_chart,
)
from components.plan.istio_values import ReleaseInputs, base_values, injection_path, istiod_values, merge_user_values

NAMESPACE = ISTIO_NAMESPACE


@dataclass(frozen=True)
class ControlPlaneAccess:
    """How a remote reaches the istiod of its primary."""

    # The DNS name of the primary's east-west NLB, which passes 15012 (xDS) to istiod. A name,
    # not one of its addresses: it resolves to the NLB's nodes in every zone that is healthy.
    address: pulumi.Output[str]
    # What must exist before the remote's Istio is installed: everything through which the
    # primary's istiod serves remotes.
    ready: list[pulumi.Resource]


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
    # What lets the nodes pull Istio's images (an image cache's pull-through rights), if anything.
    image_pull: pulumi.Resource | None = None


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
    # What the values of this cluster's releases are made from (components/plan/istio_values.py).
    release_inputs: ReleaseInputs

    def __init__(self, name: str, args: IstioControlPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:istio:IstioControlPlane", name, None, opts)
        spec, topology = args.cluster, args.topology
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                # Tells istiod which network this cluster's workloads are on.
                labels={"topology.istio.io/network": spec.network, **revisions.READINESS_GATE_LABEL},
                # Names the primary serving this remote. Only an istiod with EXTERNAL_ISTIOD reads it
                # (`checkShouldLead`, to write here), and none has it; kept so a deployed namespace stays.
                annotations={"topology.istio.io/controlPlaneClusters": topology.control_plane}
                if topology.is_remote
                else None,
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
            waits_for=(
                args.node_group,
                *([args.image_pull] if args.image_pull else []),
                *(args.primary.ready if args.primary else ()),
            ),
        )
        plan = args.revisions
        self.release_inputs = ReleaseInputs(
            mesh_id=args.mesh_id,
            cluster=spec,
            topology=topology,
            plan=plan,
            traffic=args.traffic,
            sources=args.sources,
            ca_checksum=args.ca.checksum,
            primary_address=args.primary.address if args.primary else None,
        )
        # One base (the CRDs, which stay backward compatible) for every revision: the newest.
        base = self._release(
            "base", "base", "istio-base", base_values(self.release_inputs), [namespace], version=plan.newest
        )
        # A remote's reader gets the program's role, in place before its istiod drops the chart's.
        reader = self._remote_reader_role(base) if topology.is_remote else None
        self._tags: dict[str, k8s.admissionregistration.v1.MutatingWebhookConfiguration] = {}
        releases: dict[str, k8s.helm.v3.Release] = {}
        # Revisioned first: the unrevisioned release turns its webhooks off only after the tag
        # object serving `default` in its stead exists, so no pod is ever created without one.
        for revision in sorted(plan.revisions, key=lambda r: r.unrevisioned):
            taken_over = (
                [self._tag(DEFAULT_TAG, releases)] if revision.unrevisioned and plan.default is not revision else []
            )
            after = [base, cacerts, *taken_over, *([reader] if reader else [])]
            releases[revision.version] = self._istiod_release(revision, after)
        for tag in plan.webhook_tags():
            self._tag(tag, releases)
        self.reader_account = reader or base
        self.injector = releases[plan.default.version] if plan.default.unrevisioned else self._tags[DEFAULT_TAG]
        self.crds, self.istiods = base, [*releases.values(), *self._tags.values()]
        self.register_outputs({"namespace": self.namespace})

    def _remote_reader_role(self, base: k8s.helm.v3.Release) -> k8s.rbac.v1.ClusterRoleBinding:
        """The remote reader's rights (components/model/credentials.py, `READER_RULES`) in place of
        the chart's, which on a remote also let the token's holder rewrite its webhooks."""
        role = k8s.rbac.v1.ClusterRole(
            f"{self._name}-reader-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=READER_ROLE, labels={"app": "istio-reader"}),
            rules=[dict(rule) for rule in READER_RULES],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return k8s.rbac.v1.ClusterRoleBinding(
            f"{self._name}-reader-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=READER_ROLE, labels={"app": "istio-reader"}),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=READER_ROLE
            ),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=READER_SERVICE_ACCOUNT, namespace=NAMESPACE)],
            # The account comes from the base chart.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, base]),
        )

    def _istiod_release(self, revision: IstioRevision, depends_on: list) -> k8s.helm.v3.Release:
        """One revision's istiod. Pods created in istio-system go through the controller's
        readiness-gate webhook (the namespace label), so istiod is made after the controller and
        removed before it."""
        values = istiod_values(self.release_inputs, revision)
        after = [*depends_on, self._args.load_balancer_controller]
        return self._release(revision.release, "istiod", revision.release, values, after, version=revision.version)

    def _tag(
        self, tag: str, releases: Mapping[str, k8s.helm.v3.Release]
    ) -> k8s.admissionregistration.v1.MutatingWebhookConfiguration:
        """The tag's webhook object. Moving the tag patches it in place; it waits for the release
        it points at, whose Service its webhooks call (with `failurePolicy: Fail`).

        It is created with the CA bundle istiod would patch in: istiod's webhook patcher writes its
        `GetRootCertPem()`, which with a plugged-in CA is `cacerts`' `root-cert.pem`
        (pilot/pkg/bootstrap/certcontroller.go, pkg/webhooks/webhookpatch.go, 1.30.3), and only
        rewrites a bundle that differs. Without one, the API server cannot verify istiod's serving
        certificate and refuses every pod the tag selects until istiod has patched it. Both write the
        same bytes, so the provider's server-side apply never conflicts with istiod's update of the
        field (pulumi-kubernetes forces only with `pulumi.com/patchForce`, provider/pkg/await/await.go
        v4.32.0): on a root rotation the tag is applied after its istiod rolled onto the new bundle."""
        if tag not in self._tags:
            revision = self._args.revisions.target(tag)
            after = pulumi.ResourceOptions(parent=self, depends_on=[self._args.node_group, releases[revision.version]])
            ca_bundle = self._args.ca.root_cert_pem.apply(lambda pem: base64.b64encode(pem.encode()).decode())
            self._tags[tag] = k8s.admissionregistration.v1.MutatingWebhookConfiguration(
                f"{self._name}-tag-{tag}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"istio-revision-tag-{tag}", labels=revisions.tag_labels(tag, revision)
                ),
                webhooks=revisions.tag_webhooks(
                    tag, revision, injection_path(self._args.cluster, self._args.topology.is_remote), ca_bundle
                ),
                opts=after,
            )
            # The tag's other half, as `istioctl tag set` writes it: istiod's tag watcher reads which
            # revision owns `istio.io/rev=<tag>` (gateways, waypoints) from this Service's labels.
            service = revisions.tag_service(tag, revision)
            k8s.core.v1.Service(
                f"{self._name}-tag-{tag}-service",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=service["name"], namespace=self.namespace, labels=service["labels"]
                ),
                spec=service["spec"],
                opts=after,
            )
        return self._tags[tag]

    def _release(
        self, role: str, chart: str, release_name: str, values: dict, depends_on: list, *, version: str
    ) -> k8s.helm.v3.Release:
        return istio_release(
            f"{self._name}-{role}",
            chart,
            release_name,
            values,
            self.release_settings,
            version=version,
            depends_on=depends_on,
            parent=self,
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
    """One release of an Istio chart, with the user's values over `values`."""
    merged = merge_user_values(values, settings.extra_values.get(chart, {}))
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
