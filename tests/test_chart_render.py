"""The render tier: what the program writes into every Istio Helm release, rendered by a real Helm
with Istio's real charts, and every Istio custom resource checked against its CRD's schema.

Helm ignores unknown values keys without a word and the API server prunes unknown fields of a custom
resource, so a misspelt key passes every graph test. Here each key the program writes must exist in
the chart's `values.yaml`, the rendered objects must carry what the program means (hub, revision,
network, cluster name, HA), and every Gateway, VirtualService, DestinationRule and PeerAuthentication must validate
against the OpenAPI schema in the base chart's `files/crd-all.gen.yaml`, unknown fields refused.
Not checked here: the CRDs' CEL rules (`x-kubernetes-validations`), which only an API server
evaluates, and the load balancer controller's chart (not in `../shared/charts`).

The charts come from `$ISTIO_CHARTS_DIR/<version or minor>/{base,istiod,gateway}` (by default
`../shared/charts/istio`, e.g. charts fetched with `helm pull`), Helm from `$HELM`,
`../shared/tools/helm` or the PATH; without them these tests are skipped with the reason.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.harness import ROOT, Run, cached_run, resolve
from tests.helpers import MIXED, PRIMARY_REMOTE, mesh_config

CHARTS = Path(os.environ.get("ISTIO_CHARTS_DIR") or ROOT.parent / "shared" / "charts" / "istio")
HELM = os.environ.get("HELM") or (
    str(ROOT.parent / "shared" / "tools" / "helm")
    if (ROOT.parent / "shared" / "tools" / "helm").exists()
    else shutil.which("helm")
)
RELEASE = "kubernetes:helm.sh/v3:Release"
ISTIO_CHARTS = ("base", "istiod", "gateway")
HUB = "docker.io/istio"
# libyaml's loader: the base chart renders every CRD, a few MB of YAML.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
OLD, NEW = "1.30.5", "1.31.1"
MODELS = {
    "two-regions-1.30": mesh_config(2, istioVersion=OLD),
    # With the samples' DestinationRule and a failover order, for the CRD check.
    "primary-remote": {**PRIMARY_REMOTE, "trafficPolicy": {"failover": [{"from": "us-east-1", "to": "us-west-2"}]}},
    "mixed": MIXED,
    # A canary from 1.30 to 1.31 on a primary and its remote: both charts, revisioned and not.
    "canary": {
        **PRIMARY_REMOTE,
        "istioVersion": OLD,
        "istioRevisions": [OLD, NEW],
        "istioRevisionTags": {"default": OLD, "canary": NEW},
    },
}
# Keys that are no values.yaml entries but documented pass-throughs:
# - istiod `meshConfig`: "See https://istio.io/docs/reference/config/istio.mesh.v1alpha1/ for all
#   available options" (istiod values.yaml), rendered into the mesh ConfigMap, checked below;
# - `profile` of every chart: "the same profiles are used across each chart, even if they do not
#   impact a given chart" (base README.md; zzz_profile.yaml reads `.Values.profile`);
# - `global.hub` of base and gateway: their zzz_profile.yaml merges a `global` block, but no
#   template of theirs reads the hub (the gateway's image is `auto`, filled in by istiod's
#   injector); the program sets it there so that every release names one source.
# - gateway `labels`: "Labels to apply to all resources" (gateway values.yaml), any key.
PASS_THROUGH = {
    # istiod's `resources` reach the container whole (templates/deployment.yaml, `istiod.resources`).
    # `global.enableReaderRBAC` is read with a default (`dig "global" "enableReaderRBAC" true`,
    # templates/reader-clusterrole*.yaml) and declared only in base's values.yaml.
    "istiod": (("meshConfig",), ("profile",), ("resources",), ("global", "enableReaderRBAC")),
    "base": (("profile",), ("global", "hub")),
    "gateway": (("profile",), ("global", "hub"), ("labels",)),
}


def chart_dir(version: str, chart: str) -> Path | None:
    """The chart of `version`, else of its minor (a release branch), else of another patch of it."""
    minor = ".".join(version.split(".")[:2])
    patches = (
        sorted(CHARTS.glob(f"{minor}.*/{chart}"), key=lambda p: int(p.parent.name.split(".")[-1]), reverse=True)
        if CHARTS.is_dir()
        else []
    )
    for candidate in (CHARTS / version / chart, CHARTS / minor / chart, *patches):
        if (candidate / "Chart.yaml").exists():
            return candidate
    return None


def need(version: str, chart: str) -> Path:
    if HELM is None:
        pytest.skip("no helm: set HELM or put helm on the PATH")
    found = chart_dir(version, chart)
    if found is None:
        pytest.skip(f"no {chart} chart for Istio {version} under {CHARTS} (set ISTIO_CHARTS_DIR)")
    return found


def ok(model: str) -> Run:
    run = cached_run(MODELS[model])
    assert run.error is None, run.error
    return run


def istio_releases(run: Run) -> list:
    found = [r for r in run.of_type(RELEASE) if r.inputs["chart"] in ISTIO_CHARTS]
    assert found
    return found


@functools.cache
def chart_defaults(path: Path) -> dict[str, Any]:
    values = yaml.load((path / "values.yaml").read_text(), Loader=LOADER)
    # Since 1.25 the defaults sit under `_internal_defaults_do_not_set` (the chart's zzz_profile.yaml).
    return values.get("_internal_defaults_do_not_set", values)


def leaf_paths(values: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for key, value in values.items():
        here = (*prefix, key)
        paths += leaf_paths(value, here) if isinstance(value, dict) and value else [here]
    return paths


def unknown_keys(values: dict[str, Any], chart: str, version: str) -> list[str]:
    """Paths of `values` that the chart neither has nor documents as passed through."""
    defaults = chart_defaults(need(version, chart))
    unknown = []
    for path in leaf_paths(values):
        if any(path[: len(prefix)] == prefix for prefix in PASS_THROUGH[chart]):
            continue
        if not _has(defaults, path):
            unknown.append(".".join(path))
    return unknown


def _has(defaults: Any, path: tuple[str, ...]) -> bool:
    node = defaults
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
        # `{}` (e.g. `env`, `podAnnotations`) and an unset scalar (`replicaCount:`) take any value.
        if node is None or node == {}:
            return True
    return True


def render(release, chart: str) -> list[dict[str, Any]]:
    inputs = release.inputs
    return _render(
        str(need(inputs["version"], chart)),
        inputs["name"],
        inputs["namespace"],
        json.dumps(inputs["values"], sort_keys=True),
    )


@functools.cache
def _render(path: str, name: str, namespace: str, values: str) -> list[dict[str, Any]]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        file.write(values)
        file.flush()
        done = subprocess.run(
            [HELM, "template", name, path, "-n", namespace, "-f", file.name, "--kube-version", "1.35"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return [doc for doc in yaml.load_all(done.stdout, Loader=LOADER) if doc]


def find(objects: list[dict], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} rendered"
    return found[0]


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_key_the_program_writes_is_a_key_of_the_chart(model):
    checked = 0
    for r in istio_releases(ok(model)):
        assert unknown_keys(r.inputs["values"], r.inputs["chart"], r.inputs["version"]) == [], r.name
        checked += 1
    assert checked >= 6


def test_the_key_check_finds_a_misspelt_key():
    values = {
        "global": {"multiCluster": {"ClusterName": "east"}, "hub": HUB},
        "pilot": {"env": {"X": "1"}},
        "autoscaleMin": 2,
    }
    # Older charts read istiod's environment from `pilot.env`; these take `env`.
    assert unknown_keys(values, "istiod", NEW) == ["global.multiCluster.ClusterName", "pilot.env.X"]
    assert unknown_keys({"global": {"hub": HUB, "hubb": HUB, "meshID": "m"}}, "gateway", OLD) == [
        "global.hubb",
        "global.meshID",
    ]


def _clusters(run: Run) -> dict[str, dict]:
    clusters, _ = resolve(run.exports["clusters"])
    return clusters


def primaries(model: str) -> dict[str, str]:
    """remote -> its primary, as the model's config says."""
    return {c["name"]: c["primary"] for c in MODELS[model]["clusters"] if c.get("role") == "remote"}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_istiod_renders_the_hub_identity_revision_and_ha_the_program_means(model):
    run = ok(model)
    clusters = _clusters(run)
    for r in (r for r in istio_releases(run) if r.inputs["chart"] == "istiod"):
        values, objects = r.inputs["values"], render(r, "istiod")
        cluster = r.name.split("-istio-")[0]
        revision = values.get("revision", "")
        deployment = find(objects, "Deployment", r.inputs["name"])
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert container["image"].startswith(f"{HUB}/pilot:"), container["image"]
        assert env_of(container)["CLUSTER_ID"] == cluster
        assert pod["metadata"]["labels"]["istio.io/rev"] == (revision or "default")
        assert pod["spec"]["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
        assert find(objects, "HorizontalPodAutoscaler", r.inputs["name"])["spec"]["minReplicas"] == 2
        assert find(objects, "PodDisruptionBudget", r.inputs["name"])["spec"]["minAvailable"] == 1
        # The injector's values name the hub every proxy image (sidecars, gateways) comes from.
        suffix = f"-{revision}" if revision else ""
        injector = find(objects, "ConfigMap", f"istio-sidecar-injector{suffix}")
        injected = json.loads(injector["data"]["values"])["global"]
        assert (injected["hub"], injected["network"], injected["meshID"]) == (
            HUB,
            clusters[cluster]["network"],
            "mesh1",
        )
        # The CA address every injected proxy (sidecar or gateway) gets: the local istiod of its
        # revision, the model of tests/test_revisions.py.
        assert injected["caAddress"] == "" and json.loads(injector["data"]["values"])["revision"] == revision
        templates = yaml.load(injector["data"]["config"], Loader=LOADER)["templates"]
        for kind in ("sidecar", "gateway"):
            assert "{{- if .Values.global.caAddress }}" in templates[kind]
            assert (
                'value: istiod{{- if not (eq .Values.revision "") }}-{{ .Values.revision }}{{- end }}'
                ".{{ .Values.global.istioNamespace }}.svc:15012" in templates[kind]
            )
        mesh = yaml.load(find(objects, "ConfigMap", f"istio{suffix}")["data"]["mesh"], Loader=LOADER)
        assert mesh["defaultConfig"]["proxyMetadata"]["ISTIO_META_DNS_CAPTURE"] == "true"
        if clusters[cluster]["role"] == "remote":
            # Sized as the injector it is (the chart's 2048Mi is for serving xDS).
            assert container["resources"] == {
                "requests": {"cpu": "100m", "memory": "512Mi"},
                "limits": {"memory": "1024Mi"},
            }
            remote_service = find(objects, "Service", f"istiod{suffix}-remote")
            assert remote_service["spec"]["type"] == "ExternalName"
            assert remote_service["spec"]["externalName"] == clusters[primaries(model)[cluster]]["eastWestAddress"]
            assert mesh["defaultConfig"]["discoveryAddress"] == f"istiod{suffix}-remote.istio-system.svc:15012"
        else:
            # Exactly the istiod Services of the cluster's revisions, as their releases render them.
            services = {
                o["metadata"]["name"]
                for other in istio_releases(run)
                if other.inputs["chart"] == "istiod" and other.name.startswith(f"{cluster}-istio-")
                for o in render(other, "istiod")
                if o["kind"] == "Service"
            }
            local = [
                h for entry in mesh["serviceSettings"] if entry["settings"].get("clusterLocal") for h in entry["hosts"]
            ]
            assert sorted(local) == sorted(f"{name}.istio-system.svc.cluster.local" for name in services), cluster
            # No istiod leads another cluster's istio-system: each remote's local istiod is the one
            # writer of its webhooks' caBundle and its root ConfigMaps.
            assert "EXTERNAL_ISTIOD" not in env_of(container)
            # The readiness the NLB's health checks mirror: gateway pods are probed on 15021.
            gateway_template = yaml.load(
                find(objects, "ConfigMap", f"istio-sidecar-injector{suffix}")["data"]["config"], Loader=LOADER
            )["templates"]["gateway"]
            assert "httpGet:\n        path: /healthz/ready\n        port: 15021" in gateway_template


@pytest.mark.parametrize("model", sorted(MODELS))
def test_gateways_render_the_network_revision_and_ha_the_program_means(model):
    run = ok(model)
    clusters = _clusters(run)
    gateways = [r for r in istio_releases(run) if r.inputs["chart"] == "gateway"]
    assert gateways
    for r in gateways:
        values, objects = r.inputs["values"], render(r, "gateway")
        cluster = r.name.split("-istio-")[0]
        deployment = find(objects, "Deployment", "istio-eastwestgateway")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert (
            labels["istio"] == "eastwestgateway" and labels["topology.istio.io/network"] == clusters[cluster]["network"]
        )
        assert labels.get("istio.io/rev") == values.get("revision")
        # `auto`: the injector of the revision fills in the image, from its hub.
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "auto"
        assert find(objects, "HorizontalPodAutoscaler", "istio-eastwestgateway")["spec"]["minReplicas"] == 2
        assert find(objects, "PodDisruptionBudget", "istio-eastwestgateway")["spec"]["minAvailable"] == 1
        service = find(objects, "Service", "istio-eastwestgateway")
        assert service["spec"]["type"] == "LoadBalancer"
        assert service["spec"]["loadBalancerSourceRanges"] == values["service"]["loadBalancerSourceRanges"]
        annotations = service["metadata"]["annotations"]
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
        # istiod finds a network's gateway by the Service's network label and its 15443 port.
        assert service["metadata"]["labels"]["topology.istio.io/network"] == clusters[cluster]["network"]
        assert (
            env_of(deployment["spec"]["template"]["spec"]["containers"][0])["ISTIO_META_REQUESTED_NETWORK_VIEW"]
            == clusters[cluster]["network"]
        )
        # Every listener has a Gateway server selecting these pods in their istiod's cluster, and
        # every target group checks Envoy's readiness endpoint.
        config_cluster = primaries(model).get(cluster, cluster)
        listening = {
            s["port"]["number"]
            for g in run.of_type("kubernetes:networking.istio.io/v1:Gateway")
            if g.name.startswith(f"{config_cluster}-istio-")
            and all(labels.get(k) == v for k, v in g.inputs["spec"]["selector"].items())
            for s in g.inputs["spec"]["servers"]
        }
        assert sorted(p["port"] for p in service["spec"]["ports"]) == sorted(listening), cluster
        check = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-"
        assert (annotations[check + "port"], annotations[check + "protocol"], annotations[check + "path"]) == (
            "15021",
            "http",
            "/healthz/ready",
        )


def test_leaving_network_gateway_changes_no_gateway_pod():
    """A stack deployed with `networkGateway` gets the same pod template from the values that replace
    it, so the upgrade to served ports and health checks rolls no gateway pod."""
    run = ok("primary-remote")
    for r in (r for r in istio_releases(run) if r.inputs["chart"] == "gateway"):
        values = r.inputs["values"]
        network = values["labels"]["topology.istio.io/network"]
        before = {k: v for k, v in values.items() if k not in ("labels", "env")}
        before = {
            **before,
            "networkGateway": network,
            "service": {k: v for k, v in values["service"].items() if k != "ports"},
        }
        old, new = (
            find(
                _render(
                    str(need(r.inputs["version"], "gateway")),
                    r.inputs["name"],
                    r.inputs["namespace"],
                    json.dumps(v, sort_keys=True),
                ),
                "Deployment",
                "istio-eastwestgateway",
            )
            for v in (before, values)
        )
        assert old["spec"]["template"] == new["spec"]["template"], r.name


@pytest.mark.parametrize("model", sorted(MODELS))
def test_base_validates_config_through_the_revision_default_points_at(model):
    run = ok(model)
    for r in (r for r in istio_releases(run) if r.inputs["chart"] == "base"):
        objects = render(r, "base")
        validator = find(objects, "ValidatingWebhookConfiguration", "istiod-default-validator")
        service = validator["webhooks"][0]["clientConfig"]["service"]["name"]
        default = r.inputs["values"].get("defaultRevision")
        assert service == (f"istiod-{default}" if default else "istiod")
        cluster = r.name.split("-istio-")[0]
        istiods = {
            o.inputs["name"]
            for o in istio_releases(run)
            if o.inputs["chart"] == "istiod" and o.name.startswith(f"{cluster}-istio-")
        }
        assert service in istiods, cluster


# --- custom resources against their CRDs ---------------------------------------------------------


@functools.cache
def crd_schemas(version: str) -> dict[tuple[str, str, str], dict]:
    """(group/version, kind) -> the spec schema, strict: an object with listed properties takes no others."""
    schemas = {}
    for doc in yaml.load_all((need(version, "base") / "files" / "crd-all.gen.yaml").read_text(), Loader=LOADER):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
        for served in doc["spec"]["versions"]:
            schema = served["schema"]["openAPIV3Schema"]["properties"]["spec"]
            schemas[(f"{group}/{served['name']}", kind)] = _strict(copy.deepcopy(schema))
    return schemas


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        for value in schema.values():
            _strict(value)
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema.setdefault("additionalProperties", False)
    elif isinstance(schema, list):
        for value in schema:
            _strict(value)
    return schema


def schema_errors(api_version: str, kind: str, spec: dict, version: str) -> list[str]:
    schema = crd_schemas(version)[(api_version, kind)]
    return sorted(e.message for e in jsonschema.Draft7Validator(schema).iter_errors(spec))


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_istio_resource_validates_against_its_crd(model):
    run = ok(model)
    newest = max((r.inputs["version"] for r in istio_releases(run)), key=lambda v: tuple(map(int, v.split("."))))
    checked = set()
    for r in run.resources:
        if not r.custom or ".istio.io/" not in r.type:
            continue
        inputs = r.inputs
        assert schema_errors(inputs["apiVersion"], inputs["kind"], inputs["spec"], newest) == [], r.name
        checked.add(inputs["kind"])
    assert "Gateway" in checked and "DestinationRule" in checked and "PeerAuthentication" in checked
    if model in ("primary-remote", "canary", "mixed"):
        assert "VirtualService" in checked


def test_the_crd_check_finds_a_misspelt_field_and_a_bad_value():
    spec = {
        "selectr": {"istio": "eastwestgateway"},
        "servers": [
            {
                "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                "tls": {"mode": "PASSTHRU"},
                "hosts": ["*.local"],
            }
        ],
    }
    errors = schema_errors("networking.istio.io/v1", "Gateway", spec, NEW)
    assert any("selectr" in e for e in errors) and any("PASSTHRU" in e for e in errors)


def _requests(deployment: dict) -> tuple[float, float]:
    from components.config.node_group import cpu_millicores, quantity_mib

    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "discovery"]
    requests = container["resources"]["requests"]
    return quantity_mib(requests["memory"]), cpu_millicores(requests["cpu"])


def test_istiods_pod_requests_what_the_fit_check_counts_for_its_role():
    """The config check sizes nodes for istiod by role (a primary's by the clusters it watches, a
    remote's injector); the rendered pod must request exactly that, and under a user's `resources`
    the chart must fill in the request the check assumes (values.yaml: 500m, 2048Mi)."""
    from components.config.node_group import istiod_request, user_istiod_request
    from components.config.parse import parse_mesh_spec
    from components.config.validate import Problems
    from components.plan.istio_values import merge_user_values
    from components.plan.mesh_plan import plan_mesh

    run = ok("primary-remote")
    spec = parse_mesh_spec(MODELS["primary-remote"], default_region="us-east-1", stack="dev")
    topology = plan_mesh(spec).topology
    releases = {r.name.removesuffix("-istio-istiod"): r for r in istio_releases(run) if r.inputs["chart"] == "istiod"}
    assert {topology[n].is_remote for n in releases} == {True, False}
    for name, release in releases.items():
        deployment = find(render(release, "istiod"), "Deployment", "istiod")
        assert _requests(deployment) == istiod_request(topology[name], None)[:2], name
    user = {"istiod": {"resources": {"requests": {"memory": "3Gi"}}}}
    primary = next(r for n, r in releases.items() if not topology[n].is_remote)
    values = merge_user_values(primary.inputs["values"], user["istiod"])
    inputs = primary.inputs
    objects = _render(str(need(inputs["version"], "istiod")), inputs["name"], inputs["namespace"], json.dumps(values))
    assert _requests(find(objects, "Deployment", "istiod")) == user_istiod_request(user, Problems()) == (3072, 500)


def test_the_tier_renders_both_supported_minors():
    rendered = {".".join(r.inputs["version"].split(".")[:2]) for model in MODELS for r in istio_releases(ok(model))}
    assert rendered == {"1.30", "1.31"}
    for minor in sorted(rendered):
        for chart in ISTIO_CHARTS:
            need(f"{minor}.0", chart)


# --- the reader's rights -------------------------------------------------------------------------


def _grants(rules: list[dict]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_a_remotes_reader_keeps_what_istiod_reads_and_loses_the_charts_webhook_writes():
    run = ok("primary-remote")
    (remote,) = [r for r in istio_releases(run) if r.name == "r-istio-istiod"]
    (primary,) = [r for r in istio_releases(run) if r.name == "p-istio-istiod"]
    # The remote's istiod renders no reader role of the chart's; with the chart's default it would
    # grant the token's holder writes on the remote's webhooks.
    assert not [o for o in render(remote, "istiod") if "istio-reader" in o["metadata"]["name"]]
    charts_default = json.loads(json.dumps(remote.inputs["values"]))
    del charts_default["global"]["enableReaderRBAC"]
    chart_role = find(
        _render(str(need(remote.inputs["version"], "istiod")), "istiod", "istio-system", json.dumps(charts_default)),
        "ClusterRole",
        "istio-reader-clusterrole-istio-system",
    )
    primary_role = find(render(primary, "istiod"), "ClusterRole", "istio-reader-clusterrole-istio-system")
    ours = _grants(
        run.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "r-istio-reader-role").inputs["rules"]
    )
    admission = "admissionregistration.k8s.io"
    assert (admission, "mutatingwebhookconfigurations", "patch") in _grants(chart_role["rules"])
    # Nothing the chart does not grant a primary's reader; of that, only MCS exports' writes go.
    assert ours <= _grants(primary_role["rules"])
    assert _grants(primary_role["rules"]) - ours == {
        ("multicluster.x-k8s.io", "serviceexports", "create"),
        ("multicluster.x-k8s.io", "serviceexports", "delete"),
    }
    writes = {(g, r, v) for g, r, v in ours if v not in ("get", "list", "watch")}
    assert writes == {
        ("authentication.k8s.io", "tokenreviews", "create"),
        ("authorization.k8s.io", "subjectaccessreviews", "create"),
    }


# --- gateway drains: a rollout model on the rendered objects --------------------------------------

# How long the platform lets a pod's termination run, per procedure of the README: a rollout and an
# HPA scale-in wait out the grace period; EKS gives a node of a managed node group being deleted
# 5 minutes to drain before the instance goes anyway (user guide, delete-managed-node-group.html;
# an update gives 15), the strictest of the node drains.
PROCEDURES = {
    "canary step 2 (tag moved, gateways roll)": None,
    "patch upgrade (gateways roll)": None,
    "node drain (managed node group update or scale-down)": 300,
    "scale-in (HPA)": None,
}
# Worst case from the endpoint turning terminating to the NLB opening no more connections to it
# (components/model/drain.py says why it is a margin, not a documented figure).
REACTION = 15
# Istio's default terminationDrainDuration (istio pkg/config/mesh/mesh.go, 1.30.3).
ENVOY_DRAIN = 5


def _attributes(service: dict) -> dict[str, str]:
    raw = service["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"]
    return dict(item.split("=", 1) for item in raw.split(","))


def drain_problems(pre_stop: int, grace: int, attributes: dict[str, str], deadline: int | None) -> list[str]:
    """What goes wrong when a gateway pod is deleted at second 0. The NLB opens new connections to it
    until REACTION and forwards existing ones until the deregistration delay ends (300 s unless set),
    then closes them itself only with connection termination. Envoy serves unchanged through the
    preStop delay; SIGTERM then starts its drain; the kubelet (or the node's end) kills it after
    the grace period (or the deadline)."""
    problems = []
    sends_until = REACTION + int(attributes.get("deregistration_delay.timeout_seconds", "300"))
    if attributes.get("deregistration_delay.connection_termination.enabled") != "true":
        problems.append("connections left open after the delay meet a pod that is gone")
    if pre_stop < sends_until:
        problems.append(f"the NLB still sends until {sends_until} s, the pod drains from {pre_stop} s")
    killed_at = grace if deadline is None else min(grace, deadline)
    if pre_stop + ENVOY_DRAIN > killed_at:
        problems.append(f"killed at {killed_at} s, before Envoy's drain ends at {pre_stop + ENVOY_DRAIN} s")
    return problems


@pytest.mark.parametrize("model", ["primary-remote", "two-regions-1.30"])
def test_no_gateway_target_is_removed_while_the_nlb_still_sends_to_it(model):
    run = ok(model)
    gateways = [r for r in istio_releases(run) if r.inputs["chart"] == "gateway"]
    assert gateways
    for release in gateways:
        objects = render(release, "gateway")
        pod = find(objects, "Deployment", release.inputs["name"])["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        # Kubernetes' own sleep action: no shell needed in the proxy image.
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        service = find(objects, "Service", release.inputs["name"])
        # Every listener of the NLB (15443, and 15012 on a primary with remotes) is a target group
        # of this Service and takes these attributes.
        assert {p["port"] for p in service["spec"]["ports"]} <= {15443, 15012}
        for procedure, deadline in PROCEDURES.items():
            grace = pod["terminationGracePeriodSeconds"]
            assert drain_problems(pre_stop, grace, _attributes(service), deadline) == [], (release.name, procedure)
        # Rollouts and drains keep a registered, healthy target per NLB while one deregisters: two
        # replicas at least, one of them available through any voluntary disruption, and new pods
        # counted Ready only once healthy in the NLB (the controller's readiness gate, istio-system).
        hpa = find(objects, "HorizontalPodAutoscaler", release.inputs["name"])
        pdb = find(objects, "PodDisruptionBudget", release.inputs["name"])
        assert hpa["spec"]["minReplicas"] >= 2 and pdb["spec"]["minAvailable"] == 1
        cluster = release.name.split("-istio-")[0]
        labels = run.one("kubernetes:core/v1:Namespace", f"{cluster}-istio-namespace").inputs["metadata"]["labels"]
        assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


def test_the_drain_model_refuses_the_charts_defaults_and_a_drain_past_the_nodes_end():
    # The gateway chart's defaults: no preStop, 30 s grace, the NLB's 300 s delay, no termination.
    assert len(drain_problems(0, 30, {}, None)) == 2
    attributes = {
        "deregistration_delay.timeout_seconds": "300",
        "deregistration_delay.connection_termination.enabled": "true",
    }
    # Covering the default 300 s delay would outlast a managed node group's 5-minute drain.
    (problem,) = drain_problems(
        315, 330, attributes, PROCEDURES["node drain (managed node group update or scale-down)"]
    )
    assert "killed at 300 s" in problem


def test_istio_images_render_from_the_clusters_regional_cache():
    arn = "arn:aws:secretsmanager:{0}:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
    config = mesh_config(2, imageCache={"dockerHubCredentials": {r: arn.format(r) for r in ("us-east-1", "us-west-2")}})
    run = cached_run(config)
    for cluster, region in (("c0", "us-east-1"), ("c1", "us-west-2")):
        (istiod,) = [r for r in istio_releases(run) if r.name == f"{cluster}-istio-istiod"]
        objects = render(istiod, "istiod")
        image = find(objects, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["image"]
        hub = f"123456789012.dkr.ecr.{region}.amazonaws.com/docker-hub/istio"
        assert image.startswith(f"{hub}/pilot:")
        # What the injector gives every proxy, the gateways' too.
        injected = json.loads(find(objects, "ConfigMap", "istio-sidecar-injector")["data"]["values"])["global"]
        assert injected["hub"] == hub
