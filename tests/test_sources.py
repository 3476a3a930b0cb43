"""Where charts and images come from: the defaults Istio serves after December 2026, mirrors in the
user's own account (https and OCI), bad values refused with the key named, what the move does to a
deployed stack, and Istio's support windows."""

from __future__ import annotations

import datetime
import json

import pytest
import yaml

from check.cli import main
from components.config.parse import parse_mesh_spec
from components.config.revisions import support_notices
from components.config.sources import image_pull_notices
from components.config.validate import ConfigError
from components.model import versions
from components.model.revisions import RevisionPlan
from tests.harness import Run, cached_run
from tests.helpers import MIXED, PRIMARY_REMOTE, mesh_config
from tests.impact import REPLACED, UNCHANGED, UPDATED, change_impact

RELEASE = "kubernetes:helm.sh/v3:Release"
ISTIO_CHARTS = ("base", "istiod", "gateway")
# What Istio retires in December 2026 (istio.io blog "An update on our move to AWS", 2026-08-21).
RETIRED = ("istio-release.storage.googleapis.com", "registry.istio.io/release", "gcr.io/istio-release")
OLD_CHART_REPOSITORY = "https://istio-release.storage.googleapis.com/charts"
ECR_HUB = "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/istio"
# One run for a mirror of the https kind and for an unpatched version's warning.
HTTPS_MIRROR_ON_1_30_3 = mesh_config(
    1, istioChartRepository="https://charts.example.com:8443/istio", istioVersion="1.30.3"
)
# Every reference model of the URN snapshot, with the samples on.
MODELS = {
    "two-regions": mesh_config(2, deploySamples=True),
    "six-clusters": mesh_config(6),
    "primary-remote": PRIMARY_REMOTE,
    "mixed": {**MIXED, "deploySamples": True},
}


def ok(config: dict) -> Run:
    run = cached_run(config)
    assert run.error is None, run.error
    return run


def istio_releases(run: Run) -> list:
    releases = [r for r in run.of_type(RELEASE) if r.inputs["chart"].rsplit("/", 1)[-1] in ISTIO_CHARTS]
    assert releases, "no Istio release to check"
    return releases


def strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [str(value)]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_no_input_of_any_resource_names_a_retired_source(model):
    run = ok(MODELS[model])
    found = [(r.name, s) for r in run.resources for s in strings(r.inputs) if any(old in s for old in RETIRED)]
    assert found == []
    images = [
        s for r in run.of_type("kubernetes:apps/v1:Deployment") for s in strings(r.inputs) if s.startswith("docker.io/")
    ]
    if MODELS[model].get("deploySamples"):
        assert any("examples-helloworld" in i for i in images) and any("curl" in i for i in images)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_istio_release_names_the_hub_and_the_new_repository(model):
    for r in istio_releases(ok(MODELS[model])):
        assert r.inputs["values"]["global"]["hub"] == "docker.io/istio", r.name
        assert r.inputs["repositoryOpts"] == {"repo": "https://blob.istio.io/istio-release/charts"}, r.name


def test_mirrors_in_the_users_account_are_used_for_every_chart_and_image():
    run = ok(
        mesh_config(
            2,
            istioChartRepository="oci://ghcr.io/istio/release/charts",
            eksChartRepository="oci://public.ecr.aws/eks",
            istioImageHub=ECR_HUB,
        )
    )
    charts = set()
    for r in istio_releases(run):
        # An OCI chart is one reference; a repository next to it would make Helm look for an index.
        assert (
            r.inputs["chart"].startswith("oci://ghcr.io/istio/release/charts/") and "repositoryOpts" not in r.inputs
        ), r.name
        assert r.inputs["values"]["global"]["hub"] == ECR_HUB
        charts.add(r.inputs["chart"].rsplit("/", 1)[-1])
    assert charts == set(ISTIO_CHARTS)
    controller = run.one(RELEASE, "c0-lb-controller-release").inputs
    assert (
        controller["chart"] == "oci://public.ecr.aws/eks/aws-load-balancer-controller"
        and "repositoryOpts" not in controller
    )

    https = ok(HTTPS_MIRROR_ON_1_30_3)
    assert {r.inputs["repositoryOpts"]["repo"] for r in istio_releases(https)} == {
        "https://charts.example.com:8443/istio"
    }
    assert {r.inputs["chart"] for r in istio_releases(https)} == set(ISTIO_CHARTS)


def _as_deployed_before(run: Run) -> Run:
    """The stack as the program deployed it until now: the same graph, with the retired chart
    repository, no hub, Istio 1.30.3 and helloworld from registry.istio.io. A model of the old
    state, made from the new graph: it shows what the provider's rules do with these differences
    (the review of this change also ran the program as it was against the new one, with the same
    result), not that nothing else differs."""
    before = Run(resources=[], exports=run.exports, error=None, warnings=[])
    for r in run.resources:
        inputs = json.loads(json.dumps(r.raw_inputs))
        if r.type == RELEASE and r.inputs["chart"] in ISTIO_CHARTS:
            inputs["repositoryOpts"] = {"repo": OLD_CHART_REPOSITORY}
            inputs["version"] = "1.30.3"
            inputs["values"]["global"].pop("hub")
        text = json.dumps(inputs).replace(
            "docker.io/istio/examples-helloworld", "registry.istio.io/release/examples-helloworld"
        )
        before.resources.append(type(r)(**{**r.__dict__, "raw_inputs": json.loads(text)}))
    return before


@pytest.mark.parametrize("model", ["primary-remote"])
def test_moving_a_deployed_stack_to_the_new_sources_replaces_nothing(model):
    now = ok(MODELS[model])
    impact = change_impact(_as_deployed_before(now), now)
    assert {k for k, what in impact.items() if what not in (UNCHANGED, UPDATED)} == set()
    moved = {name for (type_, name), what in impact.items() if type_ == RELEASE and what == UPDATED}
    assert moved == {r.name for r in istio_releases(now)}
    # Only what names an image or a chart changes: no AWS resource, no certificate, no secret.
    assert {type_ for (type_, _), what in impact.items() if what == UPDATED} <= {
        RELEASE,
        "kubernetes:apps/v1:Deployment",
    }

    oci = ok(
        {
            **MODELS[model],
            "istioChartRepository": "oci://ghcr.io/istio/release/charts",
            "eksChartRepository": "oci://public.ecr.aws/eks",
        }
    )
    to_oci = change_impact(now, oci)
    assert REPLACED not in to_oci.values()
    controllers = {r.name for r in now.of_type(RELEASE) if r.inputs["chart"] == "aws-load-balancer-controller"}
    assert {name for (type_, name), what in to_oci.items() if what == UPDATED} == moved | controllers


GOOD = [
    ("istioChartRepository", "oci://ghcr.io/istio/release/charts"),
    ("istioChartRepository", "oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/istio-charts"),
    ("istioChartRepository", "https://charts.example.com:8443/mirror/istio"),
    ("eksChartRepository", "oci://public.ecr.aws/eks"),
    ("istioImageHub", ECR_HUB),
    ("istioImageHub", "localhost:5000/istio"),
    ("istioImageHub", "istio"),
    ("istioImageHub", "registry.example.com/team_a/istio-mirror"),
    # Images at a registry's root.
    ("istioImageHub", "registry.example.com:5000"),
    ("istioImageHub", "localhost:5000"),
]


@pytest.mark.parametrize(("key", "value"), GOOD, ids=[f"{k}={v}" for k, v in GOOD])
def test_good_sources_are_kept_as_given(key, value):
    spec = parse_mesh_spec({"clusters": [{"name": "a"}], key: value}, default_region="us-east-1", stack="dev")
    kept = {
        "istioChartRepository": spec.sources.istio_charts,
        "eksChartRepository": spec.sources.eks_charts,
        "istioImageHub": spec.sources.istio_hub,
    }
    assert kept[key] == value


BAD = [
    ("istioChartRepository", 42, "must be a string"),
    ("istioChartRepository", ["https://charts.example.com"], "must be a string"),
    ("istioChartRepository", "", "is empty"),
    ("istioChartRepository", OLD_CHART_REPOSITORY, "retired"),
    ("istioChartRepository", "http://charts.example.com", "unencrypted"),
    ("istioChartRepository", "ftp://charts.example.com", "https:// or oci://"),
    ("istioChartRepository", "charts.example.com", "https:// or oci://"),
    ("istioChartRepository", "https://deploy:hunter2@charts.example.com", "credentials"),
    ("istioChartRepository", "https://charts.example.com/istio?token=x", "credentials, a query"),
    ("istioChartRepository", "https://charts.example.com/", "ends with '/'"),
    ("istioChartRepository", "https://charts.example.com\n", "line breaks"),
    ("istioChartRepository", "https://chärts.example.com", "non-ASCII"),
    ("istioChartRepository", "https://charts .example.com", "spaces"),
    ("istioChartRepository", "https://-charts.example.com", "does not name a host"),
    ("istioChartRepository", "oci://ghcr.io/Istio/Release/charts", "lowercase"),
    ("istioChartRepository", "https://charts.example.com:99999/istio", "up to 65535"),
    ("istioImageHub", "docker.io", "no namespace on it"),
    ("istioImageHub", "registry.example.com:99999/istio", "registry host"),
    ("istioImageHub", "registry.example.com/" + "a" * 240, "at most 230"),
    ("istioChartRepository", "oci://ghcr.io/" + "a" * 240, "at most 230"),
    ("istioChartRepository", "https://storage.googleapis.com/istio-release/charts", "retired"),
    ("istioChartRepository", "oci://ghcr.io/istio//charts", "path component"),
    ("istioChartRepository", "https://" + "a" * 600 + ".com", "at most 512"),
    ("eksChartRepository", "http://aws.github.io/eks-charts", "unencrypted"),
    ("eksChartRepository", {"repo": "https://aws.github.io/eks-charts"}, "must be a string"),
    ("istioImageHub", "gcr.io/istio-release", "retired"),
    ("istioImageHub", "registry.istio.io/release", "retired"),
    ("istioImageHub", "registry.istio.io/testing", "retired"),
    ("istioImageHub", "gcr.io/istio-testing", "retired"),
    ("istioImageHub", "https://docker.io/istio", "is a URL"),
    ("istioImageHub", "docker.io/istio:1.31.1", "tag or digest"),
    ("istioImageHub", "docker.io/istio@sha256:abc", "tag or digest"),
    ("istioImageHub", "docker.io/Istio", "lowercase"),
    ("istioImageHub", "docker.io/istio/", "trailing"),
    ("istioImageHub", "docker.io/istio\n", "line breaks"),
    ("istioImageHub", "ｄocker.io/istio", "non-ASCII"),
    ("istioImageHub", "bad_host.example.com/istio", "registry host"),
    ("istioImageHub", True, "must be a string"),
]


@pytest.mark.parametrize(("key", "value", "fragment"), BAD, ids=[f"{k}:{f}:{i}" for i, (k, _, f) in enumerate(BAD)])
def test_bad_sources_are_refused_with_the_key_named(key, value, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec({"clusters": [{"name": "a"}], key: value}, default_region="us-east-1", stack="dev")
    problems = dict(caught.value.problems)
    assert list(problems) == [key]
    assert fragment in problems[key]
    assert len(problems[key]) < 400


@pytest.mark.parametrize(
    ("values", "path"),
    [
        *(
            ({chart: {"global": {"hub": "docker.io/other"}}}, f"istioValues.{chart}.global.hub")
            for chart in ISTIO_CHARTS
        ),
        ({"istiod": {"hub": "docker.io/other"}}, "istioValues.istiod.hub"),
    ],
)
def test_the_hub_cannot_be_overridden_through_istio_values(values, path):
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec({"clusters": [{"name": "a"}], "istioValues": values}, default_region="us-east-1", stack="dev")
    assert "istioImageHub" in dict(caught.value.problems)[path]


def test_istio_values_may_not_name_a_retired_source():
    values = {
        "istiod": {"global": {"proxy": {"image": "registry.istio.io/release/proxyv2:1.30.3"}}},
        "gateway": {"env": {"X": "gcr.io/istio-release/x"}},
        "base": {"global": {"hub2": "REGISTRY.istio.io/Testing/pilot"}},
    }
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec({"clusters": [{"name": "a"}], "istioValues": values}, default_region="us-east-1", stack="dev")
    assert set(dict(caught.value.problems)) == {
        "istioValues.istiod.global.proxy.image",
        "istioValues.gateway.env.X",
        "istioValues.base.global.hub2",
    }


def test_support_windows_warn_before_and_after_the_end_of_life(monkeypatch):
    monkeypatch.setattr(
        versions,
        "ISTIO_MINORS",
        {
            "1.30": {"released": "2026-05-18", "end_of_life": "2027-01-10"},
            "1.31": {"released": "2026-08-20", "end_of_life": None},
        },
    )
    patched = RevisionPlan.single("1.30.5")
    assert support_notices(patched, datetime.date(2026, 11, 28)) == []
    soon = support_notices(patched, datetime.date(2026, 11, 29))
    assert len(soon) == 1 and "reaches its end of life on 2027-01-10" in soon[0]
    past = support_notices(patched, datetime.date(2027, 1, 10))
    assert len(past) == 1 and "reached its end of life" in past[0]
    assert support_notices(RevisionPlan.single("1.31.1"), datetime.date(2027, 4, 1)) == []
    # A minor whose end was never recorded warns once it is old enough to be near it.
    stale = support_notices(RevisionPlan.single("1.31.1"), datetime.date(2027, 4, 30))
    assert len(stale) == 1 and "end of life is not recorded" in stale[0]


def test_a_release_without_the_2026_006_fixes_is_a_warning():
    today = datetime.date(2026, 12, 2)
    for patch in range(4):
        notices = support_notices(RevisionPlan.single(f"1.30.{patch}"), today)
        assert any("ISTIO-SECURITY-2026-006" in n and "1.30.4" in n for n in notices), patch
    assert not any("SECURITY" in n for n in support_notices(RevisionPlan.single("1.30.4"), today))
    (notice,) = support_notices(RevisionPlan.single("1.31.0"), today)
    assert "Istio 1.31.0 lacks the fixes of GHSA-qm8v-g4f9-qhjx (in 1.31.1 and later)" in notice
    assert support_notices(RevisionPlan.single("1.31.1"), today) == []


def test_a_minor_newer_than_the_checked_charts_is_a_warning():
    notices = support_notices(RevisionPlan.single("1.32.0"), datetime.date(2026, 12, 2))
    assert len(notices) == 1 and "checked against the 1.30 and 1.31 charts" in notices[0]


def test_the_program_warns_about_an_unpatched_istio_version():
    assert any(
        w.startswith("istio-eks-mesh:istioVersion: Istio 1.30.3 lacks") for w in ok(HTTPS_MIRROR_ON_1_30_3).warnings
    )
    assert not any("Istio" in w for w in ok(MODELS["two-regions"]).warnings)


def _nodes(max_size: int, nat: str = "single", **top) -> dict:
    group = {"minSize": 2, "desiredSize": 2, "maxSize": max_size}
    return {"clusters": [{"name": "a", "nodeGroup": group, "natGateways": nat}], **top}


@pytest.mark.parametrize(
    "config, warned",
    [
        (_nodes(5), False),  # 5 nodes, 2 pulls each: the 10 an hour of one address
        (_nodes(6), True),
        # One NAT per zone (3): 15 nodes fit, 16 do not.
        (_nodes(15, "perAz"), False),
        (_nodes(16, "perAz"), True),
        # A mirror, or Docker Hub named by its other host names.
        (_nodes(50, istioImageHub="123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/istio"), False),
        (_nodes(6, istioImageHub="index.docker.io/istio"), True),
        (_nodes(6, istioImageHub="mirror-team"), True),
    ],
)
def test_many_nodes_behind_one_nat_address_pulling_from_docker_hub_warn(config, warned):
    spec = parse_mesh_spec(config, default_region="us-east-1", stack="dev")
    notices = image_pull_notices(spec)
    assert bool(notices) is warned
    if warned:
        assert "10 pulls an hour per address" in notices[0] and "a (up to" in notices[0]


def test_check_prints_the_pull_warning(capsys, tmp_path):
    path = tmp_path / "Pulumi.x.yaml"
    config = {"aws:region": "us-east-1", **{f"istio-eks-mesh:{k}": v for k, v in _nodes(8).items()}}
    path.write_text(yaml.safe_dump({"config": config}))
    assert main([str(path)], today=datetime.date(2026, 12, 3)) == 0
    assert "429 Too Many Requests" in capsys.readouterr().out
