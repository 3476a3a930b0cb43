"""The Helm values and webhook objects of Istio canary revisions and revision tags (the plan is
`components/model/revisions.py`), and the high-availability values of the control plane and the
gateways. Pure values: `control_plane.py` turns them into releases and webhook objects. Changing a
deployed unrevisioned release's `revision` in place would rename its Deployment and the Service its
proxies connect to, which is why such a release stays unrevisioned.

A tag is a name namespaces select with `istio.io/rev=<tag>`; the tag `default` also serves
`istio-injection=enabled`, pods labelled `sidecar.istio.io/inject=true`, and the gateways. Each tag
is one MutatingWebhookConfiguration `istio-revision-tag-<tag>` (what `istioctl tag set` writes,
from the chart's revision-tags-mwc.yaml), a Pulumi object of its own rather than the `revisionTags`
of a release: moving a tag then patches the one object in place (its webhooks call the new
revision's Service at once), where two releases would both claim the object during the move. The
unrevisioned release serves `default` through its own webhooks; while `default` is elsewhere they
are off (`global.operatorManageWebhooks`), so exactly one control plane injects every tag.

Chart keys (1.30.3 values.yaml): istiod `revision`, `global.operatorManageWebhooks`,
`meshConfig.defaultConfig.discoveryAddress`, `env` (the Deployment reads `env`, not `pilot.env`),
`autoscaleMin`, `replicaCount`, `topologySpreadConstraints`; gateway `revision`, `replicaCount`,
`autoscaling.minReplicas`, `podDisruptionBudget`, `topologySpreadConstraints`; base `defaultRevision`.
"""

from __future__ import annotations

from typing import Any, Mapping

from components.model.revisions import DEFAULT_TAG, IstioRevision, RevisionPlan
from components.model.spec import ISTIO_NAMESPACE

NAMESPACE = ISTIO_NAMESPACE
ZONE_KEY = "topology.kubernetes.io/zone"
# The load balancer controller adds a readiness gate to pods in a namespace with this label: a
# rolling gateway pod is replaced only once the NLB target of its successor is healthy.
READINESS_GATE_LABEL = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}
# At least two pods, so a drain or a rollout never leaves none; the charts' PDB renders only then.
MIN_REPLICAS = 2


def zone_spread(selector: Mapping[str, str]) -> dict[str, Any]:
    # ScheduleAnyway: a zone without room delays nothing, the scheduler only prefers the spread.
    return {"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": dict(selector)}}


def istiod_ha_values(revision: IstioRevision) -> dict[str, Any]:
    # replicaCount counts only when a user turns autoscaling off; the chart's PDB (minAvailable 1,
    # on by default) renders once the minimum exceeds one.
    return {
        "autoscaleMin": MIN_REPLICAS,
        "replicaCount": MIN_REPLICAS,
        "topologySpreadConstraints": [zone_spread({"app": "istiod", "istio.io/rev": revision.label})],
    }


def gateway_ha_values(selector: Mapping[str, str]) -> dict[str, Any]:
    # The gateway chart renders its PDB only when `podDisruptionBudget` is set and the minimum exceeds one.
    return {
        "replicaCount": MIN_REPLICAS,
        "autoscaling": {"minReplicas": MIN_REPLICAS},
        "podDisruptionBudget": {"minAvailable": 1},
        "topologySpreadConstraints": [zone_spread(selector)],
    }


def revision_values(plan: RevisionPlan, revision: IstioRevision, is_remote: bool, serves_remotes: bool) -> dict[str, Any]:
    """What a revision adds to its istiod's values."""
    values: dict[str, Any] = {}
    if revision.unrevisioned:
        if plan.default is not revision:
            # Its own webhooks serve `default`; the tag's object serves it now.
            values["global"] = {"operatorManageWebhooks": True}
        return values
    values["revision"] = revision.name
    if is_remote:
        # The chart names the remote's xDS Service `istiod-<rev>-remote` but points the mesh config
        # at `istiod-remote`, which only an unrevisioned release renders.
        values["meshConfig"] = {"defaultConfig": {"discoveryAddress": f"{revision.remote_service}.{NAMESPACE}.svc:15012"}}
    if serves_remotes:
        # The remotes' proxies of this revision dial `istiod-<rev>-remote`: istiod's serving
        # certificate must name it (it names `istiod-<rev>` and `istiod-remote` by itself).
        values["env"] = {"ISTIOD_CUSTOM_HOST": f"{revision.remote_service}.{NAMESPACE}.svc"}
    return values


def base_values(plan: RevisionPlan) -> dict[str, Any]:
    """The base chart's `istiod-default-validator` calls the revision `default` points at (by
    default the unrevisioned `istiod`, which a stack without one lacks)."""
    return {} if plan.default.unrevisioned else {"defaultRevision": plan.default.name}


def _webhook(prefix: str, service: dict[str, Any], namespace: list[dict], pod: list[dict]) -> dict[str, Any]:
    return {
        "name": f"{prefix}sidecar-injector.istio.io",
        "clientConfig": {"service": service},
        "sideEffects": "None",
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "failurePolicy": "Fail",
        "reinvocationPolicy": "Never",
        "admissionReviewVersions": ["v1"],
        "namespaceSelector": {"matchExpressions": namespace},
        "objectSelector": {"matchExpressions": pod},
    }


def _is(key: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def _absent(key: str) -> dict[str, Any]:
    return {"key": key, "operator": "DoesNotExist"}


def tag_webhooks(tag: str, revision: IstioRevision, injection_path: str) -> list[dict[str, Any]]:
    """The webhooks of `istio-revision-tag-<tag>`, as the istiod chart's revision-tags-mwc.yaml
    renders them (1.30). The istiod whose revision the object's `istio.io/rev` label names patches
    in its CA bundle."""
    service = {"name": revision.release, "namespace": NAMESPACE, "path": injection_path, "port": 443}
    not_disabled = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
    hooks = [
        _webhook("rev.namespace.", service, [_is("istio.io/rev", tag), _absent("istio-injection")], [not_disabled]),
        _webhook("rev.object.", service, [_absent("istio.io/rev"), _absent("istio-injection")], [not_disabled, _is("istio.io/rev", tag)]),
    ]
    if tag == DEFAULT_TAG:
        hooks += [
            _webhook("namespace.", service, [_is("istio-injection", "enabled")], [not_disabled]),
            _webhook("object.", service, [_absent("istio-injection"), _absent("istio.io/rev")], [_is("sidecar.istio.io/inject", "true"), _absent("istio.io/rev")]),
        ]
    return hooks


def tag_labels(tag: str, revision: IstioRevision) -> dict[str, str]:
    return {"istio.io/tag": tag, "istio.io/rev": revision.label, "app": "sidecar-injector", "app.kubernetes.io/name": "istiod"}


def tag_service(tag: str, revision: IstioRevision) -> dict[str, Any]:
    """The Service `istiod-revision-tag-<tag>` that `istioctl tag set` and the istiod chart's
    revision-tags-svc.yaml (1.30, 1.31) write beside the tag's webhooks: its `istio.io/rev` label
    maps the tag to a revision for istiod's tag watcher, its selector and ports are istiod's."""
    selector = {"app": "istiod", "istio.io/rev": revision.name} if revision.name else {"app": "istiod", "istio": "pilot"}
    labels = {
        "istio.io/rev": revision.label,
        "istio.io/tag": tag,
        "operator.istio.io/component": "Pilot",
        "app": "istiod",
        "istio": "pilot",
        "release": revision.release,
        "app.kubernetes.io/name": "istiod",
    }
    ports = [
        {"port": 15010, "name": "grpc-xds", "protocol": "TCP"},
        {"port": 15012, "name": "https-dns", "protocol": "TCP"},
        {"port": 443, "name": "https-webhook", "targetPort": 15017, "protocol": "TCP"},
        {"port": 15014, "name": "http-monitoring", "protocol": "TCP"},
    ]
    return {"name": f"istiod-revision-tag-{tag}", "labels": labels, "spec": {"ports": ports, "selector": selector}}


def xds_routes(plan: RevisionPlan) -> list[dict[str, Any]]:
    """The primary's east-west routes to istiod on 15012, by the name (SNI) the remotes' proxies
    dial: `istiod-<rev>-remote` to that revision; anything else (`istiod-remote`, the unrevisioned
    remote's proxies) to the unrevisioned istiod, or without one to the revision `default` names."""
    def route(sni: str, release: str) -> dict[str, Any]:
        host = f"{release}.{NAMESPACE}.svc.cluster.local"
        return {"match": [{"port": 15012, "sniHosts": [sni]}], "route": [{"destination": {"host": host, "port": {"number": 15012}}}]}

    revisioned = [r for r in plan.revisions if not r.unrevisioned]
    fallback = next((r for r in plan.revisions if r.unrevisioned), plan.default)
    return [*(route(f"{r.remote_service}.{NAMESPACE}.svc", r.release) for r in revisioned), route("*", fallback.release)]


def cluster_local_istiods(plan: RevisionPlan) -> dict[str, Any]:
    """meshConfig for a primary: every revision's istiod Service is served by this cluster's pods
    only. istiod keeps only its own discovery address cluster-local by itself; without this, a
    route to another revision's istiod through the east-west gateway would also reach the
    same-named local injectors of the remotes it discovers. Only these hosts: a whole-namespace
    wildcard would also cut an ingress gateway's or a user's Service in istio-system off from the
    other clusters. Adding or removing a revision rewrites the mesh ConfigMaps (istiod reloads
    them), rolling no pod."""
    hosts = sorted(f"{r.release}.{NAMESPACE}.svc.cluster.local" for r in plan.revisions)
    return {"meshConfig": {"serviceSettings": [{"settings": {"clusterLocal": True}, "hosts": hosts}]}}
