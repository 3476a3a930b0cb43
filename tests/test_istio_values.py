"""The pure Istio values module: what each chart is told per cluster, role and revision, and the
guard built from it (`istioValues` may change the defaults, never the wiring)."""

from __future__ import annotations

import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.model.revisions import IstioRevision, RevisionPlan
from components.plan import istio_values as iv
from components.plan.mesh_plan import plan_mesh
from tests.harness import cached_run
from tests.helpers import MIXED, PRIMARY_REMOTE, mesh_config

RELEASE = "kubernetes:helm.sh/v3:Release"
OLD, NEW = IstioRevision("1.30.5", ""), IstioRevision("1.31.1", "1-31-1")
CANARY = {
    **PRIMARY_REMOTE,
    "istioVersion": "1.30.5",
    "istioRevisions": ["1.30.5", "1.31.1"],
    "istioRevisionTags": {"default": "1.31.1"},
}
STATIC_IPS = {
    **PRIMARY_REMOTE,
    "clusters": [{**PRIMARY_REMOTE["clusters"][0], "eastWestStaticIps": True}, PRIMARY_REMOTE["clusters"][1]],
}


def parse(raw: dict):
    return parse_mesh_spec(raw, default_region="us-east-1", stack="dev")


def inputs_for(config: dict, cluster: str, **deploy_time) -> iv.ReleaseInputs:
    spec = parse(config)
    [c] = [c for c in spec.clusters if c.name == cluster]
    return iv.ReleaseInputs(
        spec.mesh_id, c, plan_mesh(spec).topology[cluster], spec.revisions, spec.traffic, spec.sources, **deploy_time
    )


def nested(path: tuple[str, ...], value) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


def refused_at(chart: str, path: tuple[str, ...]) -> str | None:
    """The message `istioValues` gets for setting `path` of `chart`, or None if it is accepted."""
    try:
        parse({"clusters": [{"name": "a"}], "istioValues": {chart: nested(path, "x")}})
    except ConfigError as error:
        return "; ".join(message for _, message in error.problems)
    return None


def test_a_remote_istiod_takes_xds_from_its_primary_by_name_and_signs_locally():
    values = iv.istiod_values(inputs_for(PRIMARY_REMOTE, "r", ca_checksum="sum", primary_address="p-nlb.example"), NEW)
    assert values["profile"] == "remote" and values["global"]["remotePilotAddress"] == "p-nlb.example"
    assert values["meshConfig"]["defaultConfig"]["discoveryAddress"] == "istiod-1-31-1-remote.istio-system.svc:15012"
    assert values["podAnnotations"] == {iv.CA_CHECKSUM_ANNOTATION: "sum"}
    assert "serviceSettings" not in values["meshConfig"] and "env" not in values, "a remote serves no one"


def test_a_primary_with_remotes_names_every_revisions_host_and_serves_them():
    inputs = inputs_for(CANARY, "p")
    old, new = (
        iv.istiod_values(inputs, inputs.plan.revision("1.30.5")),
        iv.istiod_values(inputs, inputs.plan.revision("1.31.1")),
    )
    hosts = ["istiod-1-31-1.istio-system.svc.cluster.local", "istiod.istio-system.svc.cluster.local"]
    for values in (old, new):
        assert values["meshConfig"]["serviceSettings"] == [{"settings": {"clusterLocal": True}, "hosts": hosts}]
    # `default` is the new revision: the unrevisioned release's own webhooks are off.
    assert old["global"]["operatorManageWebhooks"] is True and "revision" not in old
    assert new["revision"] == "1-31-1" and new["env"] == {"ISTIOD_CUSTOM_HOST": "istiod-1-31-1-remote.istio-system.svc"}
    assert "env" not in old
    assert iv.base_values(inputs)["defaultRevision"] == "1-31-1"


def test_gateway_ports_follow_the_topology():
    def ports(config, cluster):
        return [p["port"] for p in iv.gateway_values(inputs_for(config, cluster))["service"]["ports"]]  # noqa: E731

    assert ports(PRIMARY_REMOTE, "p") == [15443, 15012] and ports(PRIMARY_REMOTE, "r") == [15443]
    assert ports(MIXED, "p1") == [15443, 15012] and ports(MIXED, "p2") == [15443]
    one_network = {
        "clusters": [{"name": "p", "network": "n"}, {"name": "r", "network": "n", "role": "remote", "primary": "p"}]
    }
    assert ports(one_network, "p") == [15012]


def test_every_key_the_program_writes_is_guarded_or_a_default_for_every_chart_and_role():
    """Read from real program runs of each role, so a value added anywhere in the istio layer is
    caught too: each path is either one of the documented defaults (HA) or refused, with a message
    that says where its value comes from."""
    defaults = {
        "istiod": iv.leaf_paths(iv.istiod_defaults(NEW)),
        "gateway": iv.leaf_paths(iv.gateway_defaults()),
        "base": set(),
    }
    roles = set()
    for config in (mesh_config(2), PRIMARY_REMOTE, MIXED, CANARY, STATIC_IPS):
        run = cached_run(config)
        assert run.error is None, run.error
        for release in run.of_type(RELEASE):
            chart = release.inputs["chart"]
            if chart not in defaults:
                continue
            values = release.inputs["values"]
            roles.add((chart, values.get("profile", "primary"), bool(values.get("revision"))))
            for path in sorted(iv.leaf_paths(values) - defaults[chart]):
                message = refused_at(chart, path)
                assert message is not None, f"{release.name}: istioValues.{chart}.{'.'.join(path)} is accepted"
                assert iv.GUARDED[chart][path], path
    assert {(c, p) for c, p, _ in roles} == {
        (c, p) for c in ("base", "istiod", "gateway") for p in ("primary", "remote")
    } - {("gateway", "remote")} | {("gateway", "primary")}
    assert ("istiod", "primary", True) in roles and ("istiod", "remote", True) in roles


def test_the_defaults_stay_the_users():
    for chart, path in (
        ("istiod", ("autoscaleMin",)),
        ("istiod", ("topologySpreadConstraints",)),
        ("gateway", ("podDisruptionBudget", "minAvailable")),
    ):
        assert refused_at(chart, path) is None, path


@pytest.mark.parametrize(
    ("chart", "override", "fragment"),
    [
        # The holes of the hand-kept list this guard replaces.
        ("istiod", {"meshConfig": {"serviceSettings": []}}, "cluster-local"),
        (
            "istiod",
            {"meshConfig": {"defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "false"}}}},
            "trafficPolicy.dnsProxy",
        ),
        ("istiod", {"meshConfig": {"localityLbSetting": {"enabled": False}}}, "trafficPolicy.failover"),
        ("istiod", {"podAnnotations": None}, "restarts istiod"),
        ("gateway", {"labels": {"istio": "ingress"}}, "fixed name"),
        (
            "gateway",
            {"service": {"annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}}},
            "NLB",
        ),
        ("gateway", {"service": {"annotations": None}}, "would replace the whole `annotations` object"),
    ],
)
def test_what_used_to_slip_through_is_refused(chart, override, fragment):
    with pytest.raises(ConfigError) as caught:
        parse({"clusters": [{"name": "a"}], "istioValues": {chart: override}})
    assert fragment in "; ".join(message for _, message in caught.value.problems)


def test_guarded_paths_come_from_every_role_and_plan():
    # A path only one role or plan writes is guarded still: a remote's, a canary's, static IPs'.
    for chart, path in (
        ("istiod", ("global", "remotePilotAddress")),
        ("istiod", ("env", "ISTIOD_CUSTOM_HOST")),
        ("istiod", ("global", "operatorManageWebhooks")),
        ("gateway", ("service", "annotations", iv.EIP_ANNOTATION)),
        ("base", ("defaultRevision",)),
    ):
        assert path in iv.GUARDED[chart] and iv.GUARDED[chart][path], (chart, path)
    assert all(source for paths in iv.GUARDED.values() for source in paths.values())


def test_a_single_unrevisioned_plan_writes_no_revision_keys():
    inputs = inputs_for(mesh_config(1), "c0")
    assert inputs.plan == RevisionPlan.single(inputs.plan.default.version)
    values = iv.istiod_values(inputs, inputs.plan.default)
    assert "revision" not in values and "operatorManageWebhooks" not in values["global"]
    assert "defaultRevision" not in iv.base_values(inputs) and "revision" not in iv.gateway_values(inputs)


def test_istiod_is_sized_by_the_clusters_it_watches_and_a_user_value_wins():
    # 180 MiB and 10 millicores per watched cluster over the chart's 2048Mi and 500m (Istio's
    # multicluster performance figures); memory limited at twice the request, CPU not limited.
    run = cached_run(mesh_config(4))
    for release in (r for r in run.of_type(RELEASE) if r.inputs["chart"] == "istiod"):
        assert release.inputs["values"]["resources"] == {
            "requests": {"cpu": "530m", "memory": "2588Mi"},
            "limits": {"memory": "5176Mi"},
        }
    remote = cached_run(PRIMARY_REMOTE)
    sizes = {
        r.name: r.inputs["values"]["resources"]["requests"]["memory"]
        for r in remote.of_type(RELEASE)
        if r.inputs["chart"] == "istiod"
    }
    # The remote's local istiod only injects, validates and signs: no xDS clients, none of their memory.
    assert sizes == {"p-istio-istiod": "2228Mi", "r-istio-istiod": "512Mi"}
    override = {"requests": {"cpu": "2", "memory": "16Gi"}}
    tuned = cached_run({**mesh_config(2), "istioValues": {"istiod": {"resources": override}}})
    for release in (r for r in tuned.of_type(RELEASE) if r.inputs["chart"] == "istiod"):
        # Replaced whole: a limit of ours under their request would be refused by Kubernetes.
        assert release.inputs["values"]["resources"] == override
