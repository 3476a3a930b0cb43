"""`imageCache`: a pull-through cache of Docker Hub per region, the nodes' rights to pull through
it, and every Istio release and sample pulling from its own region's cache."""

from __future__ import annotations

import json

import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from tests.harness import cached_run
from tests.helpers import mesh_config
from tests.impact import change_impact, of_kind

RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
RELEASE = "kubernetes:helm.sh/v3:Release"


def arn(region: str, account: str = "123456789012", name: str = "ecr-pullthroughcache/docker-hub-AbCdEf") -> str:
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"


CREDENTIALS = {"us-east-1": arn("us-east-1"), "us-west-2": arn("us-west-2")}
CACHED = mesh_config(2, deploySamples=True, imageCache={"dockerHubCredentials": CREDENTIALS})


def test_each_region_caches_docker_hub_and_its_clusters_pull_istio_and_the_samples_from_it():
    run = cached_run(CACHED)
    assert run.error is None, run.error
    rules = {run._by_urn[r.provider_urn].inputs["region"]: r for r in run.of_type(RULE)}
    assert set(rules) == {"us-east-1", "us-west-2"}
    for region, rule in rules.items():
        assert rule.inputs["upstreamRegistryUrl"] == "registry-1.docker.io"
        assert rule.inputs["ecrRepositoryPrefix"] == "docker-hub"
        assert rule.inputs["credentialArn"] == CREDENTIALS[region]
    for cluster, region in (("c0", "us-east-1"), ("c1", "us-west-2")):
        hub = f"123456789012.dkr.ecr.{region}.amazonaws.com/docker-hub/istio"
        policy = run.one("aws:iam/rolePolicy:RolePolicy", f"{cluster}-image-pull-policy")
        assert policy.inputs["role"] == run.one("aws:iam/role:Role", f"{cluster}-node-role").outputs["name"]
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert statement["Action"] == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
        assert statement["Resource"] == f"arn:aws:ecr:{region}:123456789012:repository/docker-hub/*"
        releases = [r for r in run.of_type(RELEASE) if r.name.startswith(f"{cluster}-istio-")]
        assert len(releases) == 3
        for release in releases:
            assert release.inputs["values"]["global"]["hub"] == hub, release.name
            # A node pulls only once it may: every release waits for the rights.
            assert run.depends_on(release, policy)
        images = {
            c["name"]: c["image"]
            for d in run.of_type("kubernetes:apps/v1:Deployment")
            if d.name.startswith(f"{cluster}-samples-")
            for c in d.inputs["spec"]["template"]["spec"]["containers"]
        }
        assert images == {
            "helloworld": f"123456789012.dkr.ecr.{region}.amazonaws.com/docker-hub/istio/examples-helloworld-v1:1.0",
            "sleep": f"123456789012.dkr.ecr.{region}.amazonaws.com/docker-hub/curlimages/curl:8.16.0",
        }


def test_without_it_nothing_is_cached():
    run = cached_run(mesh_config(2))
    assert run.of_type(RULE) == [] and run.of_type("aws:iam/rolePolicy:RolePolicy") == []


def _problems(value, **extra) -> dict[str, str]:
    with pytest.raises(ConfigError) as err:
        parse_mesh_spec({**mesh_config(2), "imageCache": value, **extra}, default_region="us-east-1", stack="dev")
    return dict(err.value.problems)


@pytest.mark.parametrize(
    "value, extra, path, message",
    [
        ("yes", {}, "imageCache", "must be an object"),
        ({"dockerHub": {}}, {}, "imageCache.dockerHub", "unknown"),
        ({"dockerHubCredentials": ["x"]}, {}, "imageCache.dockerHubCredentials", "must be an object"),
        (
            {"dockerHubCredentials": {"us-east-1": arn("us-east-1")}},
            {},
            "imageCache.dockerHubCredentials",
            "no secret for us-west-2",
        ),
        (
            {"dockerHubCredentials": {**CREDENTIALS, "eu-west-1": arn("eu-west-1")}},
            {},
            "imageCache.dockerHubCredentials.eu-west-1",
            "no cluster of the mesh",
        ),
        (
            {"dockerHubCredentials": {**CREDENTIALS, "us-west-2": arn("us-east-1")}},
            {},
            "imageCache.dockerHubCredentials.us-west-2",
            "the secret is in us-east-1",
        ),
        (
            {"dockerHubCredentials": {**CREDENTIALS, "us-west-2": arn("us-west-2", name="docker-hub")}},
            {},
            "imageCache.dockerHubCredentials.us-west-2",
            "named ecr-pullthroughcache/",
        ),
        (
            {"dockerHubCredentials": {**CREDENTIALS, "us-west-2": 7}},
            {},
            "imageCache.dockerHubCredentials.us-west-2",
            "is not the ARN",
        ),
        (
            {"dockerHubCredentials": {**CREDENTIALS, "us-west-2": arn("us-west-2") + "\n"}},
            {},
            "imageCache.dockerHubCredentials.us-west-2",
            "is not the ARN",
        ),
        (
            {"dockerHubCredentials": {**CREDENTIALS, "us-west-2": arn("us-west-2", account="210987654321")}},
            {},
            "imageCache.dockerHubCredentials",
            "several accounts",
        ),
        ({"dockerHubCredentials": CREDENTIALS}, {"istioImageHub": "docker.io/istio"}, "imageCache", "keep one"),
    ],
)
def test_a_bad_cache_is_refused_naming_the_key(value, extra, path, message):
    problems = _problems(value, **extra)
    assert path in problems, problems
    assert message in problems[path]


def test_a_cache_silences_the_docker_hub_warning():
    from components.config.sources import image_pull_notices

    big = {**CACHED, "clusters": [{**c, "nodeGroup": {"maxSize": 20}} for c in CACHED["clusters"]]}
    spec = parse_mesh_spec(big, default_region="us-east-1", stack="dev")
    assert image_pull_notices(spec) == []


def test_turning_the_cache_on_replaces_nothing_and_upgrades_the_releases_in_place():
    impact = change_impact(cached_run(mesh_config(2, deploySamples=True)), cached_run(CACHED))
    assert of_kind(impact, "replaced") == of_kind(impact, "deleted") == of_kind(impact, "refused") == set()
    created = {t for t, _ in of_kind(impact, "created")}
    assert created == {RULE, "aws:iam/rolePolicy:RolePolicy"}
    updated = of_kind(impact, "updated")
    assert {n for t, n in updated if t == RELEASE} == {
        f"c{i}-istio-{role}" for i in range(2) for role in ("base", "istiod", "eastwest")
    }
    assert {n for t, n in updated if t == "kubernetes:apps/v1:Deployment"} == {
        f"c{i}-samples-{d}" for i in range(2) for d in ("helloworld", "sleep")
    }
