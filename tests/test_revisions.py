"""Canary upgrades with revisions and tags, and the HA defaults, on multi-primary and
primary-remote meshes: who injects what at each of the three steps, what each step does to a
deployed stack, and the configs refused.

Which webhooks an istiod release renders is modelled here from the istiod chart's
templates/mutatingwebhook.yaml (1.30.3); the tag objects are evaluated from their real inputs."""

from __future__ import annotations

import base64

import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError, key_path
from components.istio import revisions
from components.plan import istio_values
from tests.harness import Run, cached_run, run_program
from tests.helpers import PRIMARY_REMOTE, mesh_config
from tests.impact import change_impact

RELEASE = "kubernetes:helm.sh/v3:Release"
MWC = "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration"
V1, V2 = "1.30.3", "1.31.0"
ZONE = "topology.kubernetes.io/zone"


MODELS = {"multi-primary": mesh_config(2), "primary-remote": PRIMARY_REMOTE}


def steps(deployed: dict) -> dict[str, dict]:
    """The README's walk-through on a stack deployed before revisions (unrevisioned `istiod`)."""
    return {
        "deployed": {**deployed, "istioVersion": V1},
        "canary added": {
            **deployed,
            "istioVersion": V1,
            "istioRevisions": [V1, V2],
            "istioRevisionTags": {"default": V1, "canary": V2},
        },
        "default moved": {
            **deployed,
            "istioVersion": V1,
            "istioRevisions": [V1, V2],
            "istioRevisionTags": {"default": V2, "canary": V2},
        },
        "old removed": {**deployed, "istioRevisions": [V2], "istioRevisionTags": {"default": V2, "canary": V2}},
    }


def run_of(config: dict) -> Run:
    run = cached_run(config)
    assert run.error is None, run.error
    return run


def clusters(run: Run) -> list[str]:
    return [r.name for r in run.of_type("istio-eks-mesh:cluster:EksCluster")]


def in_cluster(run: Run, cluster: str, type_: str) -> list:
    provider = run.one("pulumi:providers:kubernetes", f"{cluster}-k8s").urn
    return [r for r in run.of_type(type_) if r.provider_urn == provider]


def expected_service(config: dict, version: str) -> str:
    """istiod's Service for a version: the unrevisioned `istiod` while `istioVersion` names it
    (or nothing names revisions), else the chart's `istiod-<revision>`."""
    unrevisioned = (
        config.get("istioVersion", V1) if "istioRevisions" not in config or "istioVersion" in config else None
    )
    return "istiod" if version == unrevisioned else "istiod-" + version.replace(".", "-")


# --- who injects ------------------------------------------------------------------------------

NOT_DISABLED = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}


def _in(key, *values):
    return {"key": key, "operator": "In", "values": list(values)}


def _absent(key):
    return {"key": key, "operator": "DoesNotExist"}


def release_webhooks(values: dict) -> list[tuple[str, list, list]]:
    """(service, namespace selector, object selector) of the webhooks the istiod chart renders."""
    if values.get("global", {}).get("operatorManageWebhooks"):
        return []
    rev = values.get("revision", "")
    service, label = (f"istiod-{rev}", rev) if rev else ("istiod", "default")
    hooks = [
        (service, [_in("istio.io/rev", label), _absent("istio-injection")], [NOT_DISABLED]),
        (service, [_absent("istio.io/rev"), _absent("istio-injection")], [NOT_DISABLED, _in("istio.io/rev", label)]),
    ]
    if not rev:
        hooks += [
            (service, [_in("istio-injection", "enabled")], [NOT_DISABLED]),
            (
                service,
                [_absent("istio-injection"), _absent("istio.io/rev")],
                [_in("sidecar.istio.io/inject", "true"), _absent("istio.io/rev")],
            ),
        ]
    return hooks


def selects(expressions: list[dict], labels: dict[str, str]) -> bool:
    for e in expressions:
        key, op = e["key"], e["operator"]
        if (op == "In" and labels.get(key) not in e["values"]) or (op == "NotIn" and labels.get(key) in e["values"]):
            return False
        if (op == "DoesNotExist" and key in labels) or (op == "Exists" and key not in labels):
            return False
    return True


def injectors(run: Run, cluster: str, namespace: dict[str, str], pod: dict[str, str]) -> list[str]:
    """The Services called to inject a pod with `pod` labels in a namespace with `namespace` labels,
    one entry per webhook configuration that matches (two configurations inject twice)."""
    configurations = {
        r.name: release_webhooks(r.inputs["values"])
        for r in in_cluster(run, cluster, RELEASE)
        if r.inputs["chart"] == "istiod"
    }
    for mwc in in_cluster(run, cluster, MWC):
        configurations[mwc.name] = [
            (
                w["clientConfig"]["service"]["name"],
                w["namespaceSelector"]["matchExpressions"],
                w["objectSelector"]["matchExpressions"],
            )
            for w in mwc.inputs["webhooks"]
        ]
    called = [
        {service for service, ns, obj in hooks if selects(ns, namespace) and selects(obj, pod)}
        for hooks in configurations.values()
    ]
    return sorted(service for services in called for service in services)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_exactly_one_control_plane_injects_each_tag_at_every_step(model):
    for step, config in steps(MODELS[model]).items():
        run = run_of(config)
        tags = config.get("istioRevisionTags", {"default": V1})
        for c in clusters(run):
            cases = {
                "istio-injection=enabled": ({"istio-injection": "enabled"}, {}),
                "no label, pod opts in": ({}, {"sidecar.istio.io/inject": "true"}),
            }
            cases |= {f"istio.io/rev={t}": ({"istio.io/rev": t}, {}) for t in tags}
            for label, (namespace, pod) in cases.items():
                tag = label.split("=")[1] if label.startswith("istio.io/rev=") else "default"
                assert injectors(run, c, namespace, pod) == [expected_service(config, tags[tag])], (
                    f"{model}/{step}/{c}: {label}"
                )
            for version in config.get("istioRevisions", []):
                if expected_service(config, version) != "istiod":
                    rev = version.replace(".", "-")
                    assert injectors(run, c, {"istio.io/rev": rev}, {}) == [f"istiod-{rev}"]
            # The gateway pods (labels from the gateway chart's helpers) follow `default`.
            for gateway in in_cluster(run, c, RELEASE):
                if gateway.inputs["chart"] == "gateway":
                    values = gateway.inputs["values"]
                    pod = {
                        "sidecar.istio.io/inject": "true",
                        **({"istio.io/rev": values["revision"]} if values.get("revision") else {}),
                    }
                    system = run.one("kubernetes:core/v1:Namespace", f"{c}-istio-namespace").inputs["metadata"][
                        "labels"
                    ]
                    assert injectors(run, c, system, pod) == [expected_service(config, tags["default"])], (
                        f"{model}/{step}/{c}: gateway"
                    )


def test_the_unrevisioned_release_hands_default_over_only_once_the_tag_serves_it():
    run = run_of(steps(mesh_config(2))["default moved"])
    for c in clusters(run):
        assert run.depends_on(run.one(RELEASE, f"{c}-istio-istiod"), run.one(MWC, f"{c}-istio-tag-default"))
        # A tag waits for the istiod its webhooks call.
        assert run.depends_on(run.one(MWC, f"{c}-istio-tag-default"), run.one(RELEASE, f"{c}-istio-istiod-1-31-0"))


@pytest.mark.parametrize("model", sorted(MODELS))
def test_a_tag_webhook_exists_only_with_the_ca_bundle_its_istiod_would_patch_in(model):
    """The API server verifies istiod's serving certificate with the webhook's caBundle: a tag made
    without one refuses every pod it selects until istiod patches it. Each tag carries, from its
    creation, what istiod writes (the `root-cert.pem` of its `cacerts`), and is made after that istiod."""
    run = run_of(steps(MODELS[model])["default moved"])
    assert clusters(run)
    for c in clusters(run):
        roots = run.one("kubernetes:core/v1:Secret", f"{c}-istio-cacerts").inputs["stringData"]["root-cert.pem"]
        assert "BEGIN CERTIFICATE" in roots
        for tag in ("default", "canary"):
            mwc = run.one(MWC, f"{c}-istio-tag-{tag}")
            assert run.depends_on(mwc, run.one(RELEASE, f"{c}-istio-istiod-1-31-0"))
            assert mwc.inputs["webhooks"], (c, tag)
            for hook in mwc.inputs["webhooks"]:
                assert base64.b64decode(hook["clientConfig"]["caBundle"]).decode() == roots, (c, tag)


# --- what each step does to a deployed stack --------------------------------------------------


def impact_of(before: dict, after: dict) -> dict[str, set[str]]:
    impact = change_impact(run_of(before), run_of(after))
    return {
        kind: {name for (_, name), what in impact.items() if what == kind}
        for kind in ("replaced", "updated", "created", "deleted", "unchanged")
    }


def changed_paths(before: dict, after: dict, prefix: str = "") -> set[str]:
    """The dotted paths where two values trees differ."""
    paths = set()
    for key in before.keys() | after.keys():
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            paths |= changed_paths(a, b, f"{prefix}{key}.")
        elif a != b:
            paths.add(f"{prefix}{key}")
    return paths


@pytest.mark.parametrize("model", sorted(MODELS))
def test_each_step_replaces_nothing_and_moves_no_istiod(model):
    walk = steps(MODELS[model])
    cs = clusters(run_of(walk["deployed"]))
    releases = lambda role: {f"{c}-istio-{role}" for c in cs}  # noqa: E731
    untouched_always = {n for c in cs for n in (f"{c}-istio-cacerts", f"{c}-eks", f"{c}-nodes")}
    untouched_always |= {
        r.name for r in run_of(walk["deployed"]).of_type("kubernetes:core/v1:Secret") if "remote-secret" in r.name
    }

    added = impact_of(walk["deployed"], walk["canary added"])
    assert added["created"] == releases("istiod-1-31-0") | releases("tag-canary") | releases("tag-canary-service")
    assert releases("eastwest") & added["updated"] == set()
    assert releases("base") <= added["updated"], "the CRDs move to the newest version"
    # A primary's running istiod learns only that the new revision's istiod is cluster-local: its
    # mesh ConfigMap, which istiod reloads, rolling nothing (the render tier checks the objects).
    for name in releases("istiod"):
        before, after = (
            run_of(walk[step]).one(RELEASE, name).inputs["values"] for step in ("deployed", "canary added")
        )
        assert changed_paths(before, after) <= {"meshConfig.serviceSettings"}, name

    moved = impact_of(walk["canary added"], walk["default moved"])
    assert moved["created"] == releases("tag-default") | releases("tag-default-service") and moved["deleted"] == set()
    assert releases("istiod-1-31-0") | releases("tag-canary") <= moved["unchanged"], "moving a tag reinstalls no istiod"
    assert releases("istiod") <= moved["updated"], "its own webhooks go off"

    removed = impact_of(walk["default moved"], walk["old removed"])
    assert removed["deleted"] == releases("istiod") and removed["created"] == set()
    assert (
        releases("tag-canary") | releases("tag-default") | releases("base") | releases("eastwest")
        <= removed["unchanged"]
    )
    for name in releases("istiod-1-31-0"):
        before, after = (
            run_of(walk[step]).one(RELEASE, name).inputs["values"] for step in ("default moved", "old removed")
        )
        assert changed_paths(before, after) <= {"meshConfig.serviceSettings"}, name

    back = impact_of(walk["default moved"], walk["canary added"])
    assert (
        back["deleted"] == releases("tag-default") | releases("tag-default-service")
        and releases("istiod-1-31-0") <= back["unchanged"]
    )

    for change in (added, moved, removed, back):
        assert change["replaced"] == set()
        assert untouched_always <= change["unchanged"]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_one_base_release_per_cluster_at_the_newest_version(model):
    for step, config in steps(MODELS[model]).items():
        run = run_of(config)
        newest = max(config.get("istioRevisions", [V1]), key=lambda v: tuple(map(int, v.split("."))))
        for c in clusters(run):
            bases = [r for r in in_cluster(run, c, RELEASE) if r.inputs["chart"] == "base"]
            assert [(b.name, b.inputs["version"]) for b in bases] == [(f"{c}-istio-base", newest)], step
            istiods = {
                r.inputs["name"]: r.inputs["version"]
                for r in in_cluster(run, c, RELEASE)
                if r.inputs["chart"] == "istiod"
            }
            assert istiods == {expected_service(config, v): v for v in config.get("istioRevisions", [V1])}
            # The default validator calls the Service of the revision `default` points at.
            default = config.get("istioRevisionTags", {"default": V1})["default"]
            revision = bases[0].inputs["values"].get("defaultRevision", "default")
            assert (f"istiod-{revision}" if revision != "default" else "istiod") == expected_service(config, default)


def test_a_remote_follows_the_revisions_with_its_local_injector():
    run = run_of(steps(PRIMARY_REMOTE)["default moved"])
    remote = run.one(RELEASE, "r-istio-istiod-1-31-0").inputs["values"]
    assert remote["profile"] == "remote" and remote["istiodRemote"]["enabledLocalInjectorIstiod"] is True
    assert remote["revision"] == "1-31-0"
    # The chart renders the remote's xDS Service as `istiod-<rev>-remote` (remote-istiod-service.yaml).
    assert remote["meshConfig"]["defaultConfig"]["discoveryAddress"] == "istiod-1-31-0-remote.istio-system.svc:15012"
    primary = run.one(RELEASE, "p-istio-istiod-1-31-0").inputs["values"]
    assert "istiod-1-31-0-remote.istio-system.svc" in primary["env"]["ISTIOD_CUSTOM_HOST"].split(",")
    routes = run.one("kubernetes:networking.istio.io/v1:VirtualService", "p-istio-istiod-vs").inputs["spec"]["tls"]
    by_sni = {m["sniHosts"][0]: r["route"][0]["destination"]["host"] for r in routes for m in r["match"]}
    assert by_sni == {
        "istiod-1-31-0-remote.istio-system.svc": "istiod-1-31-0.istio-system.svc.cluster.local",
        "*": "istiod.istio-system.svc.cluster.local",
    }
    assert [r["match"][0]["sniHosts"] for r in routes][-1] == ["*"], "the catch-all comes last"
    for tag in ("default", "canary"):
        for hook in run.one(MWC, f"r-istio-tag-{tag}").inputs["webhooks"]:
            assert hook["clientConfig"]["service"] == {
                "name": "istiod-1-31-0",
                "namespace": "istio-system",
                "path": "/inject/cluster/r/net/n2",
                "port": 443,
            }
    # Without the unrevisioned istiod, the catch-all goes to the revision `default` names.
    after = run_of(steps(PRIMARY_REMOTE)["old removed"])
    routes = after.one("kubernetes:networking.istio.io/v1:VirtualService", "p-istio-istiod-vs").inputs["spec"]["tls"]
    assert routes[-1]["route"][0]["destination"]["host"] == "istiod-1-31-0.istio-system.svc.cluster.local"


def test_a_new_stack_may_start_revisioned():
    run = run_of({**mesh_config(1), "istioRevisions": [V2]})
    assert {r.inputs["name"] for r in run.of_type(RELEASE) if r.inputs["chart"] == "istiod"} == {"istiod-1-31-0"}
    tag = run.one(MWC, "c0-istio-tag-default")
    assert tag.inputs["metadata"]["labels"]["istio.io/rev"] == "1-31-0", "so istiod-1-31-0 patches its CA bundle"
    assert run.one(RELEASE, "c0-istio-eastwest").inputs["values"]["revision"] == "1-31-0"


# --- every walk, with the addresses its proxies use ------------------------------------------------

V3 = "1.31.1"


def revisioned_steps(deployed: dict) -> dict[str, dict]:
    """The same three steps on a stack that started revisioned (no `istioVersion` anywhere)."""
    return {
        "deployed": {**deployed, "istioRevisions": [V2]},
        "canary added": {**deployed, "istioRevisions": [V2, V3], "istioRevisionTags": {"default": V2, "canary": V3}},
        "default moved": {**deployed, "istioRevisions": [V2, V3], "istioRevisionTags": {"default": V3, "canary": V3}},
        "old removed": {**deployed, "istioRevisions": [V3], "istioRevisionTags": {"default": V3, "canary": V3}},
    }


def walks(deployed: dict) -> dict[str, list[dict]]:
    """Each documented path through the steps, rollbacks included (README, Upgrading Istio)."""
    walked = {}
    for start, of in (("unrevisioned", steps), ("revisioned", revisioned_steps)):
        s = of(deployed)
        walked[f"{start}: forward"] = [s["deployed"], s["canary added"], s["default moved"], s["old removed"]]
        walked[f"{start}: back after step 1"] = [s["deployed"], s["canary added"], s["deployed"]]
        walked[f"{start}: back after step 2"] = [
            s["deployed"],
            s["canary added"],
            s["default moved"],
            s["canary added"],
            s["deployed"],
        ]
    return walked


def istiod_service(revision: str) -> str:
    # istiod chart templates/service.yaml: `istiod{{- if not (eq .Values.revision "") }}-{{ .Values.revision }}`.
    return f"istiod-{revision}" if revision else "istiod"


def proxy_addresses(run: Run, cluster: str) -> dict[str, tuple[str, str]]:
    """version -> (discovery, CA) address of the proxies each revision injects, as the istiod chart
    (1.30, 1.31) computes them: templates/configmap.yaml `discoveryAddress` (the remote profile with a
    local injector: `istiod-remote`), overridden by `meshConfig.defaultConfig.discoveryAddress`;
    files/injection-template.yaml CA_ADDR: `global.caAddress`, else the local `istiod[-<rev>]`."""
    addresses = {}
    for r in in_cluster(run, cluster, RELEASE):
        if r.inputs["chart"] != "istiod":
            continue
        values, revision = r.inputs["values"], r.inputs["values"].get("revision", "")
        own = f"{istiod_service(revision)}.istio-system.svc:15012"
        chart_default = "istiod-remote.istio-system.svc:15012" if values.get("profile") == "remote" else own
        discovery = values.get("meshConfig", {}).get("defaultConfig", {}).get("discoveryAddress") or chart_default
        addresses[r.inputs["version"]] = (discovery, values.get("global", {}).get("caAddress") or own)
    return addresses


def services(run: Run, cluster: str) -> set[str]:
    """The Services of istio-system the releases render: istiod's, and on a remote the xDS Service
    for the primary (templates/remote-istiod-service.yaml: `istiod[-<rev>]-remote`)."""
    names = set()
    for r in in_cluster(run, cluster, RELEASE):
        if r.inputs["chart"] == "istiod":
            own = istiod_service(r.inputs["values"].get("revision", ""))
            names |= {own, f"{own}-remote"} if r.inputs["values"].get("profile") == "remote" else {own}
    return names


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_walk_keeps_each_proxys_discovery_and_ca_addresses_until_its_revision_goes(model):
    for walk, configs in walks(MODELS[model]).items():
        before: dict[str, dict[str, tuple[str, str]]] = {}
        for step, config in enumerate(configs):
            run = run_of(config)
            for c in clusters(run):
                now, present = proxy_addresses(run, c), services(run, c)
                assert now, (walk, step, c)
                for version, (discovery, ca) in now.items():
                    for address in (discovery, ca):
                        assert address.split(".")[0] in present, (
                            f"{walk}, step {step}, {c}: {version}'s proxies dial {address}"
                        )
                    # A proxy injected at an earlier step keeps the addresses it was given.
                    if version in before.get(c, {}):
                        assert before[c][version] == (discovery, ca), f"{walk}, step {step}, {c}: {version} moved"
                before[c] = now


def test_a_revision_keeps_its_name_from_install_to_removal():
    for model in MODELS.values():
        for walk, configs in walks(model).items():
            names: dict[str, str] = {}
            for config in configs:
                for r in run_of(config).of_type(RELEASE):
                    if r.inputs["chart"] == "istiod":
                        assert names.setdefault(r.inputs["version"], r.inputs["name"]) == r.inputs["name"], walk


def test_a_stack_without_istio_version_is_revisioned_and_warned_where_an_old_default_was_unrevisioned():
    run = run_of({**mesh_config(1), "istioRevisions": [V3]})
    assert {r.inputs["name"] for r in run.of_type(RELEASE) if r.inputs["chart"] == "istiod"} == {"istiod-1-31-1"}
    assert [w for w in run.warnings if "set istioVersion 1.31.1 to keep that release" in w]
    assert not [w for w in run_of({**mesh_config(1), "istioRevisions": [V2]}).warnings if "istioVersion is unset" in w]


# --- HA ---------------------------------------------------------------------------------------


def _spread(values: dict) -> dict:
    [constraint] = values["topologySpreadConstraints"]
    assert (constraint["topologyKey"], constraint["whenUnsatisfiable"], constraint["maxSkew"]) == (
        ZONE,
        "ScheduleAnyway",
        1,
    )
    return constraint["labelSelector"]["matchLabels"]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_istiod_and_gateways_are_highly_available(model):
    run = run_of(steps(MODELS[model])["canary added"])
    for c in clusters(run):
        for r in in_cluster(run, c, RELEASE):
            values = r.inputs["values"]
            if r.inputs["chart"] == "istiod":
                # The chart's PDB (on by default, minAvailable 1) renders once the minimum exceeds one.
                assert values["autoscaleMin"] >= 2 and values["replicaCount"] >= 2
                # The chart's pod labels: app istiod and istio.io/rev (`default` if unrevisioned).
                assert _spread(values) == {"app": "istiod", "istio.io/rev": values.get("revision") or "default"}
            elif r.inputs["chart"] == "gateway":
                assert values["autoscaling"]["minReplicas"] >= 2 and values["replicaCount"] >= 2
                assert values["podDisruptionBudget"], "the gateway chart renders no PDB without it"
                # The gateway chart labels pods `istio: <release name without istio->`.
                assert _spread(values) == {"istio": r.inputs["name"].removeprefix("istio-")}
        labels = run.one("kubernetes:core/v1:Namespace", f"{c}-istio-namespace").inputs["metadata"]["labels"]
        assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


def test_every_pod_of_istio_system_is_made_while_the_readiness_gate_webhook_runs():
    """The label sends istio-system's pod creations through the controller's webhook."""
    run = run_of(steps(PRIMARY_REMOTE)["canary added"])
    for c in clusters(run):
        controller = run.one("istio-eks-mesh:load_balancer:LoadBalancerController", f"{c}-lb-controller")
        for r in in_cluster(run, c, RELEASE):
            if r.inputs["chart"] in ("istiod", "gateway"):
                assert all(run.depends_on(r, part) for part in run.descendants(controller)), r.name


def test_users_still_override_ha():
    run = run_of(
        mesh_config(1, istioValues={"istiod": {"autoscaleMin": 3}, "gateway": {"autoscaling": {"minReplicas": 1}}})
    )
    assert run.one(RELEASE, "c0-istio-istiod").inputs["values"]["autoscaleMin"] == 3
    assert run.one(RELEASE, "c0-istio-eastwest").inputs["values"]["autoscaling"] == {"minReplicas": 1}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_a_stack_deployed_from_todays_main_sees_no_replacement(model, monkeypatch):
    """Today's main is this program without the HA values and the namespace label (the only
    difference for a config without revisions, as the URN snapshot and the other tests show)."""
    with monkeypatch.context() as patch:
        patch.setattr(istio_values, "istiod_defaults", lambda revision, watched_clusters=0, injector_only=False: {})
        patch.setattr(istio_values, "gateway_defaults", lambda: {})
        patch.setattr(revisions, "READINESS_GATE_LABEL", {})
        main = run_program(MODELS[model])
    assert main.error is None, main.error
    impact = change_impact(main, run_of(MODELS[model]))
    changed = {name: what for (_, name), what in impact.items() if what != "unchanged"}
    cs = clusters(main)
    gateways = {r.name for r in main.of_type(RELEASE) if r.inputs["chart"] == "gateway"}
    assert changed == {n: "updated" for c in cs for n in (f"{c}-istio-istiod", f"{c}-istio-namespace")} | dict.fromkeys(
        gateways, "updated"
    )


# --- bad configs ------------------------------------------------------------------------------

BAD = [
    ({"istioRevisions": ["1.30.3", "1.31.0", "1.32.0"]}, "istioRevisions", "lists 3 versions"),
    ({"istioRevisions": []}, "istioRevisions", "lists 0 versions"),
    ({"istioRevisions": "1.31.0"}, "istioRevisions", "list"),
    ({"istioRevisions": ["1.31"]}, "istioRevisions[0]", "MAJOR.MINOR.PATCH"),
    ({"istioRevisions": ["1.31.0\n"]}, "istioRevisions[0]", "MAJOR.MINOR.PATCH"),
    ({"istioRevisions": [1.31]}, "istioRevisions[0]", "version string"),
    ({"istioRevisions": ["1.29.9"]}, "istioRevisions[0]", "older than 1.30.0"),
    ({"istioRevisions": ["1.31.0", "1.31.0"]}, "istioRevisions[1]", "listed twice"),
    ({"istioVersion": "1.30.3", "istioRevisions": ["1.31.0"]}, "istioVersion", "not one of istioRevisions"),
    (
        {"istioRevisions": ["1.30.3", "1.31.0"], "istioRevisionTags": {"default": "1.32.0"}},
        "istioRevisionTags.default",
        "not one of istioRevisions",
    ),
    (
        {"istioRevisionTags": {"default": "1.30.3", "canary": "1.31.0"}},
        "istioRevisionTags.canary",
        "not one of istioRevisions",
    ),
    (
        {"istioRevisions": ["1.30.3", "1.31.0"], "istioRevisionTags": {"canary": "1.31.0"}},
        "istioRevisionTags",
        "no `default` tag",
    ),
    (
        {"istioRevisions": ["1.31.0"], "istioRevisionTags": {"default": "1.31.0", "Canary": "1.31.0"}},
        "istioRevisionTags.Canary",
        "DNS label",
    ),
    (
        {"istioRevisions": ["1.31.0"], "istioRevisionTags": {"default": "1.31.0", "x" * 64: "1.31.0"}},
        key_path("istioRevisionTags", "x" * 64),
        "DNS label",
    ),
    # Long input is never echoed whole, not even in the key path.
    (
        {"istioRevisions": ["1.31.0"], "istioRevisionTags": {"default": "1.31.0", "y" * 10000: "1.31.0"}},
        key_path("istioRevisionTags", "y" * 10000),
        "DNS label",
    ),
    ({"istioRevisions": ["1.030.3"]}, "istioRevisions[0]", "not a released Istio version"),
    ({"istioRevisions": ["1." + "9" * 5000 + ".0"]}, "istioRevisions[0]", "not a released Istio version"),
    (
        {"istioRevisions": ["1.31.0"], "istioRevisionTags": {"default": "1.31.0", "1-31-0": "1.31.0"}},
        "istioRevisionTags.1-31-0",
        "name of a revision",
    ),
    (
        {"istioRevisions": ["1.31.0"], "istioRevisionTags": {"default": ["1.31.0"]}},
        "istioRevisionTags.default",
        "not one of istioRevisions",
    ),
    ({"istioRevisions": ["1.31.0"], "istioRevisionTags": ["default"]}, "istioRevisionTags", "must be"),
]


@pytest.mark.parametrize(("extra", "path", "fragment"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_bad_revision_config_names_the_key(extra, path, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec({"clusters": [{"name": "a"}], **extra}, default_region="us-east-1", stack="dev")
    assert any(p == path and fragment in message for p, message in caught.value.problems), caught.value.problems
    assert all(len(p) + len(message) < 600 for p, message in caught.value.problems)


def test_revisions_default_to_the_unrevisioned_istio_version():
    spec = parse_mesh_spec(
        {"clusters": [{"name": "a"}], "istioVersion": "1.30.4"}, default_region="us-east-1", stack="dev"
    )
    assert [(r.version, r.release) for r in spec.revisions.revisions] == [("1.30.4", "istiod")]
    assert dict(spec.revisions.tags) == {"default": "1.30.4"}


def test_verify_checks_the_istiod_of_every_installed_revision():
    from tests.harness import resolve
    from tests.helpers import FakeCluster
    from verify.checks import check_cluster
    from verify.cli import targets_from_outputs

    walk = steps(mesh_config(2))
    for step, expected in (
        ("deployed", ["istiod"]),
        ("canary added", ["istiod", "istiod-1-31-0"]),
        ("old removed", ["istiod-1-31-0"]),
    ):
        outputs, _ = resolve(run_of(walk[step]).exports["clusters"])
        assert outputs["c0"]["istiodDeployments"] == expected, step
    target = next(t for t in targets_from_outputs({"clusters": outputs}) if t.name == "c0")
    cluster = FakeCluster("c0", ["c1"], ["v0"])
    results = {r.check: r.passed for r in check_cluster(target, cluster, {"c0": None, "c1": None}, 1, 1)}
    assert results["istiod-1-31-0"] is False, "the old Deployment name is not what is checked"
    cluster.deployments[("istio-system", "istiod-1-31-0")] = (2, 2)
    assert {r.check: r.passed for r in check_cluster(target, cluster, {"c0": None, "c1": None}, 1, 1)}["istiod-1-31-0"]
