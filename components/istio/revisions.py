"""The objects of Istio revision tags and of the primary's routes to each revision (the plan is
`components/model/revisions.py`; the revisions' Helm values are in `components/plan/istio_values.py`).
Pure values: `control_plane.py` and `gateway.py` turn them into Kubernetes objects.

A tag is a name namespaces select with `istio.io/rev=<tag>`; the tag `default` also serves
`istio-injection=enabled`, pods labelled `sidecar.istio.io/inject=true`, and the gateways. Each tag
is one MutatingWebhookConfiguration `istio-revision-tag-<tag>` and one Service
`istiod-revision-tag-<tag>` (what `istioctl tag set` writes, from the chart's
revision-tags-mwc.yaml and revision-tags-svc.yaml), Pulumi objects of their own rather than the
`revisionTags` of a release: moving a tag then patches them in place (the webhooks call the new
revision's Service at once), where two releases would both claim them during the move. The
unrevisioned release serves `default` through its own webhooks; while `default` is elsewhere they
are off (`global.operatorManageWebhooks`), so exactly one control plane injects every tag.
"""

from __future__ import annotations

from typing import Any

from components.model.revisions import DEFAULT_TAG, IstioRevision, RevisionPlan
from components.model.spec import ISTIO_NAMESPACE

NAMESPACE = ISTIO_NAMESPACE
# The load balancer controller adds a readiness gate to pods in a namespace with this label: a
# rolling gateway pod is replaced only once the NLB target of its successor is healthy.
READINESS_GATE_LABEL = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}


def _webhook(prefix: str, client: dict[str, Any], namespace: list[dict], pod: list[dict]) -> dict[str, Any]:
    return {
        "name": f"{prefix}sidecar-injector.istio.io",
        "clientConfig": client,
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


def tag_webhooks(tag: str, revision: IstioRevision, injection_path: str, ca_bundle: Any) -> list[dict[str, Any]]:
    """The webhooks of `istio-revision-tag-<tag>`, as the istiod chart's revision-tags-mwc.yaml
    renders them (1.30), with `ca_bundle` (base64 PEM): the bundle the istiod whose revision the
    object's `istio.io/rev` label names would patch in, so the API server trusts istiod from the start."""
    service = {
        "service": {"name": revision.release, "namespace": NAMESPACE, "path": injection_path, "port": 443},
        "caBundle": ca_bundle,
    }
    not_disabled = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
    hooks = [
        _webhook("rev.namespace.", service, [_is("istio.io/rev", tag), _absent("istio-injection")], [not_disabled]),
        _webhook(
            "rev.object.",
            service,
            [_absent("istio.io/rev"), _absent("istio-injection")],
            [not_disabled, _is("istio.io/rev", tag)],
        ),
    ]
    if tag == DEFAULT_TAG:
        hooks += [
            _webhook("namespace.", service, [_is("istio-injection", "enabled")], [not_disabled]),
            _webhook(
                "object.",
                service,
                [_absent("istio-injection"), _absent("istio.io/rev")],
                [_is("sidecar.istio.io/inject", "true"), _absent("istio.io/rev")],
            ),
        ]
    return hooks


def tag_labels(tag: str, revision: IstioRevision) -> dict[str, str]:
    return {
        "istio.io/tag": tag,
        "istio.io/rev": revision.label,
        "app": "sidecar-injector",
        "app.kubernetes.io/name": "istiod",
    }


def tag_service(tag: str, revision: IstioRevision) -> dict[str, Any]:
    """The Service `istiod-revision-tag-<tag>` that `istioctl tag set` and the istiod chart's
    revision-tags-svc.yaml (1.30, 1.31) write beside the tag's webhooks: its `istio.io/rev` label
    maps the tag to a revision for istiod's tag watcher, its selector and ports are istiod's."""
    selector = (
        {"app": "istiod", "istio.io/rev": revision.name} if revision.name else {"app": "istiod", "istio": "pilot"}
    )
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
        return {
            "match": [{"port": 15012, "sniHosts": [sni]}],
            "route": [{"destination": {"host": host, "port": {"number": 15012}}}],
        }

    revisioned = [r for r in plan.revisions if not r.unrevisioned]
    fallback = next((r for r in plan.revisions if r.unrevisioned), plan.default)
    return [
        *(route(f"{r.remote_service}.{NAMESPACE}.svc", r.release) for r in revisioned),
        route("*", fallback.release),
    ]
